"""Draw the extension's icons (a shield with an eye) at the sizes the manifest names."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parents[1] / "extension" / "src" / "icons"


def icon(size: int) -> Image.Image:
    """One icon, drawn at 4x and downsampled for smooth edges."""
    s = size * 4
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.polygon(
        [
            (s * 0.5, s * 0.04),
            (s * 0.92, s * 0.2),
            (s * 0.86, s * 0.62),
            (s * 0.5, s * 0.96),
            (s * 0.14, s * 0.62),
            (s * 0.08, s * 0.2),
        ],
        fill=(26, 115, 232, 255),
    )
    d.ellipse([s * 0.22, s * 0.34, s * 0.78, s * 0.66], fill=(255, 255, 255, 255))
    d.ellipse([s * 0.38, s * 0.36, s * 0.62, s * 0.64], fill=(179, 38, 30, 255))
    d.ellipse([s * 0.46, s * 0.44, s * 0.54, s * 0.56], fill=(32, 33, 36, 255))
    return img.resize((size, size), Image.Resampling.LANCZOS)


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for size in (16, 32, 48, 128):
        icon(size).save(OUT / f"icon{size}.png")
