"""Is there enough coded data in a JPEG for the pixels its header promises?

libjpeg does not fail on a JPEG whose scan ends early: it fills the missing rows (grey or the last
colour) and Pillow reports no error. A few kilobytes whose header claims 288 x 45,344 pixels then cost
a full 13-megapixel decode plus every analysis of those pixels. This module reads the marker structure
only (no entropy decoding) and compares the bytes of coded data with a strict lower bound:

- Huffman-coded sequential JPEG (SOF0/SOF1): every 8x8 block of every component carries at least one
  DC code and one AC code (an end-of-block or a coefficient), each at least one bit long: 2 bits/block.
- Huffman-coded progressive JPEG (SOF2): the DC scans code at least one bit per block: 1 bit/block.

A valid file can never fall below the bound, so nothing valid is refused. Arithmetic-coded,
lossless and hierarchical JPEGs (rare) have no such bound and are left to the decoder and to the
pixel budgets of the later stages.
"""

from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

_SOF_BITS_PER_BLOCK = {0xC0: 2, 0xC1: 2, 0xC2: 1}
_OTHER_SOF = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_STANDALONE = {0x01, *range(0xD0, 0xD8)}
# The end of a scan's coded data: 0xFF followed by anything but a stuffed 0x00, a restart marker or fill.
_SCAN_END = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


@dataclass(frozen=True)
class JpegDataCheck:
    """How many coded bytes the frame needs at least (``None``: no bound for this coding) and holds."""

    width: int
    height: int
    needed_bytes: int | None
    coded_bytes: int

    @property
    def short(self) -> bool:
        """True when the file holds less coded data than any valid JPEG of this size must."""
        return self.needed_bytes is not None and self.coded_bytes < self.needed_bytes


def _blocks(width: int, height: int, sampling: list[tuple[int, int]]) -> int:
    hmax = max(h for h, _ in sampling)
    vmax = max(v for _, v in sampling)
    total = 0
    for h, v in sampling:
        total += math.ceil(math.ceil(width * h / hmax) / 8) * math.ceil(math.ceil(height * v / vmax) / 8)
    return total


def check_jpeg_data(data: bytes) -> JpegDataCheck | None:
    """Walk the markers of the first image in ``data``; ``None`` when the structure cannot be read
    (the decoder then reports what is wrong) or the frame's height is left to a DNL marker."""
    pos = 2
    frame: tuple[int, int, int | None] | None = None
    coded = 0
    end = len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xD9:  # end of image
            break
        if marker in _STANDALONE:
            pos += 2
            continue
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        body = pos + 4
        if length < 2 or pos + 2 + length > end:
            break  # a cut-off header: the scans seen so far are all there is
        if (marker in _SOF_BITS_PER_BLOCK or marker in _OTHER_SOF) and frame is None and length >= 8:
            height, width, count = struct.unpack(">HHB", data[body + 1 : body + 6])
            comps = data[body + 6 : body + 6 + 3 * count]
            sampling = [(max(1, b >> 4), max(1, b & 15)) for b in comps[1::3]]
            if not sampling or height == 0 or width == 0:
                return None
            bits = _SOF_BITS_PER_BLOCK.get(marker)
            needed = None if bits is None else math.ceil(_blocks(width, height, sampling) * bits / 8)
            frame = (width, height, needed)
        pos += 2 + length
        if marker == 0xDA:  # start of scan: coded data runs to the next real marker
            found = _SCAN_END.search(data, pos)
            stop = found.start() if found else end
            coded += stop - pos
            pos = stop
    if frame is None:
        return None
    return JpegDataCheck(frame[0], frame[1], frame[2], coded)
