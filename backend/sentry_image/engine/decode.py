"""Decode untrusted image bytes safely: known formats only, pixel cap, EXIF orientation, first frame."""

from __future__ import annotations

import contextlib
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

from sentry_image.engine.jpeg_data import check_jpeg_data
from sentry_image.errors import ImageDecodeError, ImageTooLargeError, plain_message

DEFAULT_MAX_PIXELS = 50_000_000  # 50 MP: larger than any phone photo, far below a decompression bomb
ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO", "HEIF", "AVIF")

try:  # HEIC/AVIF support when the optional plugin is installed
    import pillow_heif  # type: ignore[import-not-found]

    pillow_heif.register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass

Image.init()
OPENABLE_FORMATS = tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)


def decode_image(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Return the image in ``data`` as an RGB PIL image, upright per its EXIF orientation.

    Raises ``ImageTooLargeError`` when it has more than ``max_pixels`` pixels (checked from the header,
    before any pixel is decoded) and ``ImageDecodeError`` for anything unreadable, truncated or not
    an image.
    """
    if not data:
        raise ImageDecodeError("empty file: no image data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=OPENABLE_FORMATS)
            width, height = img.size
            if width * height > max_pixels:
                raise ImageTooLargeError(
                    f"image is {width}x{height} = {width * height:,} pixels; the limit is {max_pixels:,}"
                )
            if width < 1 or height < 1:
                raise ImageDecodeError("image has no pixels")
            if img.format in ("JPEG", "MPO"):
                _refuse_short_jpeg(data)
            img.seek(0)  # first frame of animations
            img.load()
    except (ImageTooLargeError, ImageDecodeError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError(f"image refused as a decompression bomb: {plain_message(exc)}") from exc
    except UnidentifiedImageError as exc:
        raise ImageDecodeError("not a supported image (JPEG, PNG, WebP, GIF, BMP, TIFF, HEIC/AVIF)") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageDecodeError(f"corrupt or truncated image: {plain_message(exc)}") from exc
    with contextlib.suppress(Exception):  # a broken EXIF block must not lose the image
        # In place: without an orientation tag the copying form copies every pixel (15 ms for 12 MP).
        ImageOps.exif_transpose(img, in_place=True)
    if img.mode != "RGB":
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            background = Image.new("RGB", rgba.size, (255, 255, 255))
            background.paste(rgba, mask=rgba.getchannel("A"))
            img = background
        else:
            img = img.convert("RGB")
    return img


def _refuse_short_jpeg(data: bytes) -> None:
    """A JPEG holding less coded data than its header's pixels need is refused before decoding:
    libjpeg would fill the missing rows silently, and those invented pixels would cost CPU downstream."""
    check = check_jpeg_data(data)
    if check is not None and check.short:
        raise ImageDecodeError(
            f"truncated JPEG: its header promises {check.width}x{check.height} pixels, which take at least "
            f"{check.needed_bytes:,} bytes of coded data; the file holds {check.coded_bytes:,}"
        )


def sniff_format(data: bytes) -> str | None:
    """The image format named by the first bytes of ``data`` (``'JPEG'``, ``'PNG'``...), else None."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:2] == b"BM":
        return "BMP"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis", b"hevc"):
        return "HEIF"
    return None
