"""A perceptual hash of an image's pixels, to match an image that was re-encoded before it was sent.

AWS's local-image sample for Custom Labels re-saves the image with PIL before it sends the bytes
(``image.save(stream, format=image.format)``: a JPEG at PIL's default quality 75), and its video
sample JPEG-encodes each frame with OpenCV (quality 95), so the bytes sent are never the bytes that
were recorded and their sha256 never matches. What survives a re-encode is the picture: its size and
its coarse structure. This module fingerprints that.

**The hash** (the classic DCT "pHash", 64 bits): decode the bytes with ``cv2.imdecode`` as grayscale,
ignoring any EXIF orientation (the service and the header reader see the stored pixels, and a PIL
re-save drops the EXIF), shrink to 32x32 with area averaging, take the 2-D DCT, keep the 8x8 lowest
frequencies, and set one bit per coefficient above their median (the DC term left out of the median,
as it only says how bright the image is). Re-encoding moves the high frequencies, which this ignores.

**The distance** is the Hamming distance between two hashes (bits that differ, 0..64).
:data:`MAX_DISTANCE` is the largest distance still taken for the same picture: 6 bits. Chosen by
``tests/test_pixel_match.py`` on photo-like 640x480 images (gradients, shapes, noise; measured over 30
of them): a JPEG re-encode at quality 75..95 and a PNG<->JPEG conversion stay within 0-2 bits; a
different picture and a mirror image (left-right or upside down) are 26 bits or more away; a crop of
10 % per side scaled back to the same size 8 or more. 6 leaves three times the re-encode noise and
stays under the crop. pHash is built to shrug off small changes, so a crop of under 10 % per side
scaled back to the very same size, or a neighbouring frame of a still video, may match: the caller
also requires the exact same width and height, which a plain crop or resize never keeps.

Bytes that cannot be decoded give None, never an exception: a damaged file in a recordings folder
should not stop the folder from answering by other means. OpenCV is imported here only; the fake core
never imports this module (its layer contract forbids OpenCV) and is handed :data:`PHASH` by the
backend that wants pixel matching.
"""

from __future__ import annotations

from typing import NamedTuple

import cv2
import numpy as np

__all__ = ["Fingerprint", "PerceptualHash", "PHASH", "MAX_DISTANCE", "fingerprint", "distance"]

#: The largest Hamming distance (of 64 bits) between two images taken for the same picture.
MAX_DISTANCE = 6

_SIZE = 32  # the image is shrunk to this square before the DCT
_LOW = 8  # the LOW x LOW lowest frequencies make the 64 bits


class Fingerprint(NamedTuple):
    """What the pixel match compares: the decoded size, and the 64-bit perceptual hash."""

    width: int
    height: int
    bits: int


def fingerprint(data: bytes | bytearray | memoryview) -> Fingerprint | None:
    """The size and perceptual hash of PNG/JPEG bytes; None when they cannot be decoded."""
    try:
        buffer = np.frombuffer(data, dtype=np.uint8)
        if buffer.size == 0:
            return None
        gray = cv2.imdecode(buffer, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
    except (cv2.error, ValueError, TypeError):
        return None
    if gray is None or gray.ndim != 2 or gray.size == 0:
        return None
    height, width = gray.shape
    small = cv2.resize(gray, (_SIZE, _SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = cv2.dct(small)[:_LOW, :_LOW].flatten()
    median = float(np.median(low[1:]))
    bits = 0
    for value in low:
        bits = (bits << 1) | int(value > median)
    return Fingerprint(int(width), int(height), bits)


def distance(a: int, b: int) -> int:
    """The Hamming distance between two hashes: how many of their bits differ."""
    return (a ^ b).bit_count()


class PerceptualHash:
    """The pixel hasher the recordings store is handed (it may not import OpenCV itself): the hash,
    its distance, the limit, and a name that changes whenever the hash would (it names cached hashes)."""

    name = f"phash{_LOW * _LOW}-{_SIZE}-v1"

    def __init__(self, max_distance: int = MAX_DISTANCE) -> None:
        if not 0 <= max_distance <= _LOW * _LOW:
            raise ValueError(f"max_distance must be between 0 and {_LOW * _LOW}, not {max_distance}")
        self.max_distance = max_distance

    def fingerprint(self, data: bytes | bytearray | memoryview) -> Fingerprint | None:
        return fingerprint(data)

    def distance(self, a: int, b: int) -> int:
        return distance(a, b)


#: The hasher with the documented limit.
PHASH = PerceptualHash()
