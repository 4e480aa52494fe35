"""The detector engine: safe decoding, tiling at native resolution, and batched CPU/GPU inference."""
