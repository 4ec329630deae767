"""The committed stand-in for the article's photo: right size, plain JFIF, reproducible by its script."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from rclsim.geometry import to_pixels

ROOT = Path(__file__).resolve().parent.parent
IMAGE = ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg"
SCRIPT = ROOT / "scripts" / "make_article_image.py"
WIDTH, HEIGHT = 1024, 683
# vehicle_registration_plate, Confidence 97.59, in the article's DetectCustomLabels response.
PLATE_BOX = {
    "Width": 0.09474000334739685,
    "Height": 0.05618999898433685,
    "Left": 0.43296000361442566,
    "Top": 0.6481099724769592,
}

# Markers without a length field: SOI, EOI, RSTn, TEM.
_STANDALONE = {0xD8, 0xD9, 0x01} | set(range(0xD0, 0xD8))


def jpeg_markers(data: bytes) -> list[tuple[int, bytes]]:
    """(marker, payload) of every segment up to and including SOS, parsed by hand (no libjpeg)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG (no SOI)"
    markers: list[tuple[int, bytes]] = [(0xD8, b"")]
    pos = 2
    while pos < len(data):
        assert data[pos] == 0xFF, f"expected a marker at byte {pos}"
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            markers.append((marker, b""))
            continue
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        markers.append((marker, data[pos + 2 : pos + length]))
        pos += length
        if marker == 0xDA:  # entropy-coded data follows; nothing else of interest before EOI
            break
    return markers


def _decode(path: Path) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, f"{path} does not decode"
    return image


def test_committed_image_decodes_to_article_size():
    assert _decode(IMAGE).shape == (HEIGHT, WIDTH, 3)


def test_committed_image_is_baseline_jfif_without_exif():
    data = IMAGE.read_bytes()
    markers = jpeg_markers(data)
    codes = [m for m, _ in markers]
    assert codes[1] == 0xE0 and markers[1][1].startswith(b"JFIF\x00"), "APP0 JFIF right after SOI"
    assert 0xE1 not in codes, "no APP1 (Exif/XMP) segment"
    assert 0xC0 in codes and not {0xC1, 0xC2, 0xC3} & set(codes), "baseline DCT only"
    sof = dict(markers)[0xC0]
    precision, height, width, components = struct.unpack(">BHHB", sof[:6])
    assert (precision, width, height, components) == (8, WIDTH, HEIGHT, 3)
    assert data.rstrip(b"\x00")[-2:] == b"\xff\xd9", "ends with EOI"


def test_plate_region_is_light_where_the_response_puts_the_plate():
    """The fixture must agree with the article's response, or drawn boxes land on nothing."""
    pb = to_pixels(PLATE_BOX, (WIDTH, HEIGHT))
    gray = cv2.cvtColor(_decode(IMAGE), cv2.COLOR_BGR2GRAY)
    plate = gray[pb.y_min : pb.y_max, pb.x_min : pb.x_max]
    assert np.median(plate) > 180 and plate.min() < 90, "light plate with dark characters"


def test_script_regenerates_the_committed_pixels(tmp_path):
    out = tmp_path / "regen.jpg"
    subprocess.run([sys.executable, str(SCRIPT), "--output", str(out)], check=True, capture_output=True)
    regenerated, committed = _decode(out), _decode(IMAGE)
    assert regenerated.shape == committed.shape
    assert np.abs(regenerated.astype(np.int16) - committed.astype(np.int16)).mean() < 1.0


def test_script_refuses_to_overwrite_without_flag(tmp_path):
    out = tmp_path / "exists.jpg"
    out.write_bytes(b"keep")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(out)], capture_output=True, text=True
    )
    assert result.returncode != 0 and "--overwrite" in result.stderr
    assert out.read_bytes() == b"keep"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--output", str(out), "--overwrite"], check=True, capture_output=True
    )
    assert out.read_bytes()[:2] == b"\xff\xd8"
