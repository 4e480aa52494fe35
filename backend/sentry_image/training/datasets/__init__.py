"""Dataset readers. Each yields :class:`Sample` records; ``open_dataset`` picks the reader by layout."""

from sentry_image.training.datasets.detect import open_dataset
from sentry_image.training.datasets.sample import Sample

__all__ = ["Sample", "open_dataset"]
