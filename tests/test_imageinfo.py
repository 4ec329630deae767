"""Format and size from PNG and JPEG headers, without OpenCV; anything else is refused."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rclsim.data.imageinfo import NotAnImage, read_image_info


@settings(max_examples=25, deadline=None)
@given(w=st.integers(1, 300), h=st.integers(1, 300), fmt=st.sampled_from([".png", ".jpg"]))
def test_sizes_agree_with_opencv(w: int, h: int, fmt: str) -> None:
    ok, encoded = cv2.imencode(fmt, np.zeros((h, w, 3), np.uint8))
    assert ok
    info = read_image_info(encoded.tobytes())
    assert (info.width, info.height) == (w, h)
    assert info.format == ("png" if fmt == ".png" else "jpeg")


def test_progressive_jpeg_is_read() -> None:
    ok, encoded = cv2.imencode(".jpg", np.zeros((70, 90, 3), np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert ok
    assert (read_image_info(encoded.tobytes()).width, read_image_info(encoded.tobytes()).height) == (90, 70)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GIF89a....",
        b"\x89PNG\r\n\x1a\n",
        b"\xff\xd8\xff",
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
        b"\xff\xd8\xff\xe0\x00\x01",
        b"BM" + b"\x00" * 60,
    ],
)
def test_non_images_and_truncated_headers_are_refused(data: bytes) -> None:
    with pytest.raises(NotAnImage):
        read_image_info(data)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    try:
        info = read_image_info(data)
    except NotAnImage:
        return
    assert info.width >= 0 and info.height >= 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=120))
def test_arbitrary_bytes_after_a_jpeg_start_never_crash(tail: bytes) -> None:
    try:
        read_image_info(b"\xff\xd8\xff" + tail)
    except NotAnImage:
        pass


def test_a_jpeg_cut_anywhere_in_its_scan_is_refused() -> None:
    data = (
        Path(__file__).resolve().parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg"
    ).read_bytes()
    assert read_image_info(data).width == 1024
    assert read_image_info(data + b"trailing junk").width == 1024  # bytes after the end marker are allowed
    scan = data.find(b"\xff\xda")
    for cut in (scan + 4, (scan + len(data)) // 2, len(data) - 1):
        with pytest.raises(NotAnImage, match="truncated"):
            read_image_info(data[:cut])
