"""Write the fuzzing seed corpus (``tests/fuzz/corpus/``): small images of every accepted format that
carry every kind of metadata the analyzers read. Committed; rerun to rebuild it:

    .venv/bin/python tests/fuzz/make_corpus.py
"""

from __future__ import annotations

import io
import json
import struct
import sys
from pathlib import Path

import numpy as np
from PIL import Image, PngImagePlugin

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from c2pa_fixtures import sign_jpeg  # noqa: E402

CORPUS = HERE / "corpus"
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
    'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def base(size: tuple[int, int] = (48, 40), seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    arr = np.stack([(x * 5) % 256, (y * 7) % 256, (x + y) * 3 % 256], axis=-1) + rng.integers(0, 30, (*size[::-1], 3))
    return Image.fromarray(arr.clip(0, 255).astype(np.uint8))


def exif(**tags: object) -> bytes:
    e = Image.Exif()
    for tag, value in tags.items():
        e[int(tag[1:], 16)] = value
    return e.tobytes()


def save(img: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def iptc_jpeg(jpeg: bytes) -> bytes:
    uri = b"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    iim = b"\x1c\x02\x00\x00\x02\x00\x04" + b"\x1c\x02\x28" + struct.pack(">H", len(uri)) + uri
    block = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + (b"\x00" if len(iim) % 2 else b"")
    app13 = b"Photoshop 3.0\x00" + block
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13 + jpeg[2:]


def png_text(img: Image.Image, text: dict[str, str], itxt: dict[str, str] | None = None) -> bytes:
    meta = PngImagePlugin.PngInfo()
    for k, v in text.items():
        meta.add_text(k, v)
    for k, v in (itxt or {}).items():
        meta.add_itxt(k, v)
    return save(img, "PNG", pnginfo=meta)


def seeds() -> dict[str, bytes]:
    img = base()
    camera = exif(x010F="Canon", x0110="Canon EOS R5", x0112=6, x0131="Firmware 1.0")
    comfy = json.dumps({"3": {"class_type": "KSampler", "inputs": {"seed": 1}}})
    gif = [base(seed=s).convert("P") for s in range(2)]
    gif_buf = io.BytesIO()
    gif[0].save(gif_buf, format="GIF", save_all=True, append_images=gif[1:], duration=50, loop=0)
    return {
        "camera_exif.jpg": save(img, "JPEG", quality=90, exif=camera),
        "generator_exif_xmp.jpg": save(
            img, "JPEG", quality=75, exif=exif(x0131="Adobe Firefly Image 3"), xmp=XMP.encode()
        ),
        "iptc.jpg": iptc_jpeg(save(img, "JPEG", quality=60, subsampling=0)),
        "progressive.jpg": save(img, "JPEG", quality=85, progressive=True),
        "grayscale.jpg": save(img.convert("L"), "JPEG"),
        "c2pa.jpg": sign_jpeg(save(img, "JPEG", quality=90), "trainedAlgorithmicMedia"),
        "a1111.png": png_text(img, {"parameters": "a cat\nNegative prompt: dog\nSteps: 20, Sampler: Euler a"}),
        "comfyui_xmp.png": png_text(img, {"prompt": comfy}, {"XML:com.adobe.xmp": XMP}),
        "exif.png": save(img.convert("RGBA"), "PNG", exif=exif(x0131="Midjourney")),
        "palette.png": save(img.convert("P"), "PNG", transparency=0),
        "lossy.webp": save(img, "WEBP", quality=70, exif=camera, xmp=XMP.encode()),
        "lossless.webp": save(img, "WEBP", lossless=True),
        "animated.gif": gif_buf.getvalue(),
        "plain.bmp": save(img, "BMP"),
        "gray.bmp": save(img.convert("L"), "BMP"),
        "deflate.tif": save(img, "TIFF", compression="tiff_deflate", exif=camera),
        "watermark_size.jpg": save(base((256, 256), seed=3), "JPEG", quality=90),
    }


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    for old in CORPUS.iterdir():
        old.unlink()
    total = 0
    for name, data in seeds().items():
        (CORPUS / name).write_bytes(data)
        total += len(data)
    print(f"{len(list(CORPUS.iterdir()))} seeds, {total:,} bytes in {CORPUS}")


if __name__ == "__main__":
    main()
