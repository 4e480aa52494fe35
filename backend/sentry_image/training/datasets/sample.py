"""The sample record that every reader produces."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

REAL, AI = 0, 1


@dataclass(frozen=True)
class Sample:
    """One labelled image. ``load`` returns its encoded bytes (file, tar member or generated)."""

    key: str
    label: int  # 0 real, 1 AI
    generator: str = ""
    family: str = ""
    category: str = ""
    source: str = ""
    split: str = ""
    load: Callable[[], bytes] | None = None

    @property
    def group(self) -> str:
        """The name metrics are split by: the generator family for AI images, the category for real."""
        if self.label == AI:
            return self.family or self.generator or "ai"
        return self.category or "real"

    def read(self) -> bytes:
        """The image's encoded bytes."""
        if self.load is None:
            with open(self.key, "rb") as fh:
                return fh.read()
        return self.load()


FOLDER_LABELS = {"real": REAL, "0_real": REAL, "nature": REAL, "fake": AI, "1_fake": AI, "ai": AI}
VALUE_LABELS = {**FOLDER_LABELS, "0": REAL, "1": AI, "natural": REAL, "synthetic": AI, "generated": AI}


def label_from_name(name: str) -> int | None:
    """Map a label folder name (real/fake/ai/nature/0_real/1_fake) to 0/1; None if it is not one."""
    return FOLDER_LABELS.get(name.strip().lower())


def label_from_value(value: str) -> int | None:
    """Map a label value from a CSV or sidecar (folder names plus 0/1, natural, synthetic...) to 0/1."""
    return VALUE_LABELS.get(value.strip().lower())
