"""Invariants of rclsim.reports.drawing.

No test looks at text pixels: OpenCV 5 renders FONT_HERSHEY_* with a different font than 4.x, so
only where tags go (inside/above the box, inside the image) is checked, never what they look like.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rclsim.geometry import to_pixels
from rclsim.reports.drawing import (
    DEFAULT_MIN_CONFIDENCE,
    annotate,
    default_output_path,
    draw_files,
    label_color,
    read_image,
    side_by_side,
    write_image,
)
from rclsim.service.errors import RclsimError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ratios = st.floats(min_value=-0.6, max_value=1.6, allow_nan=False) | st.sampled_from([0.0, 1.0, -0.0])
boxes = st.fixed_dictionaries({"Left": ratios, "Top": ratios, "Width": ratios, "Height": ratios})
names = st.sampled_from(["car", "vehicle", "vehicle_registration_plate", "猫"])


def _label(name: str, confidence: float, box: dict | None = None) -> dict:
    label: dict = {"Name": name, "Confidence": confidence}
    if box is not None:
        label["Geometry"] = {"BoundingBox": box}
    return label


box_labels = st.builds(_label, names, st.floats(min_value=0, max_value=100), boxes)


def _changed(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Boolean (H, W) mask of pixels that differ in any channel."""
    diff = before != after
    return diff if diff.ndim == 2 else diff.any(axis=2)


def _band(size: tuple[int, int], labels: list[dict], min_confidence: float, thickness: int) -> np.ndarray:
    """Pixels of each drawn, non-empty pixel box that lie within ``thickness`` of its edges."""
    width, height = size
    allowed = np.zeros((height, width), bool)
    ys, xs = np.mgrid[0:height, 0:width]
    for label in labels:
        if label["Confidence"] < min_confidence:
            continue
        pb = to_pixels(label["Geometry"]["BoundingBox"], size)
        if pb.is_empty:
            continue
        x0, y0, x1, y1 = pb.x_min, pb.y_min, pb.x_max - 1, pb.y_max - 1
        outer = (xs >= x0) & (xs <= x1) & (ys >= y0) & (ys <= y1)
        inner = (
            (xs >= x0 + thickness) & (xs <= x1 - thickness) & (ys >= y0 + thickness) & (ys <= y1 - thickness)
        )
        allowed |= outer & ~inner
    return allowed


def _image(width: int, height: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    shape = (height, width) if channels == 1 else (height, width, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


# --- annotate -------------------------------------------------------------------------------------


@FAST
@given(
    width=st.integers(1, 200),
    height=st.integers(1, 200),
    channels=st.sampled_from([1, 3, 4]),
    labels=st.lists(box_labels, max_size=5),
    min_confidence=st.floats(0, 100),
    thickness=st.none() | st.integers(1, 6),
)
def test_borders_only_change_pixels_near_box_edges(
    width, height, channels, labels, min_confidence, thickness
):
    image = _image(width, height, channels)
    before = image.copy()
    out = annotate(image, labels, min_confidence=min_confidence, show_labels=False, thickness=thickness)
    assert np.array_equal(image, before), "input mutated"
    assert out.shape == image.shape and out.dtype == image.dtype
    t = thickness if thickness is not None else max(2, round(min(width, height) / 300))
    stray = _changed(image, out) & ~_band((width, height), labels, min_confidence, t)
    assert not stray.any(), f"pixels changed off the box borders at {np.argwhere(stray)[:5].tolist()}"


@FAST
@given(
    width=st.integers(1, 120),
    height=st.integers(1, 120),
    channels=st.sampled_from([1, 3, 4]),
    box=boxes,
    thickness=st.integers(1, 8),
)
def test_a_single_border_is_exactly_its_band_in_the_label_colour(width, height, channels, box, thickness):
    image = np.zeros((height, width) if channels == 1 else (height, width, channels), np.uint8)
    label = _label("car", 90.0, box)
    out = annotate(image, [label], show_labels=False, thickness=thickness)
    band = _band((width, height), [label], 0, thickness)
    assert np.array_equal(_changed(image, out), band)
    b, g, r = label_color("car")
    expected = {1: [round(0.114 * b + 0.587 * g + 0.299 * r)], 3: [b, g, r], 4: [b, g, r, 255]}[channels]
    assert (out[band].reshape(-1, channels) == expected).all()


@FAST
@given(
    width=st.integers(1, 120),
    height=st.integers(1, 120),
    labels=st.lists(box_labels, max_size=4),
    show_labels=st.booleans(),
    nan_box=st.booleans(),
)
def test_degenerate_boxes_never_raise_and_input_is_not_mutated(width, height, labels, show_labels, nan_box):
    if nan_box:
        labels = labels + [
            _label("car", 99.0, {"Left": float("nan"), "Top": 0.1, "Width": 0.5, "Height": float("inf")})
        ]
    image = _image(width, height)
    before = image.copy()
    out = annotate(image, labels, min_confidence=0, show_labels=show_labels)
    assert out is not image and out.shape == image.shape
    assert np.array_equal(image, before)


@pytest.mark.parametrize("channels", [1, 3, 4])
def test_empty_response_gives_an_identical_copy(channels):
    image = _image(64, 48, channels)
    out = annotate(image, [])
    assert out is not image and np.array_equal(out, image)


def test_labels_below_threshold_change_nothing():
    image = _image(200, 100)
    labels = [
        _label("vehicle", 74.99, {"Left": 0.1, "Top": 0.1, "Width": 0.5, "Height": 0.5}),
        _label("cat", 10.0),
    ]
    assert DEFAULT_MIN_CONFIDENCE == 75.0
    assert np.array_equal(annotate(image, labels), image)
    assert not np.array_equal(annotate(image, labels, min_confidence=74.99), image)


def test_classification_labels_draw_only_a_top_left_caption():
    image = np.zeros((300, 400, 3), np.uint8)
    labels = [_label("cat", 83.4), _label("dog", 91.0), _label("bird", 20.0)]
    assert np.array_equal(annotate(image, labels, show_labels=False), image)
    changed = _changed(image, annotate(image, labels))
    ys, xs = np.nonzero(changed)
    assert changed[0, 0], "caption block starts at the top-left corner"
    assert ys.max() < 300 // 3 and xs.max() < 400 // 2
    one = _changed(image, annotate(image, labels[:1]))
    assert np.nonzero(one)[0].max() < ys.max(), "two captions stack downwards"


def _tag_pixels(image: np.ndarray, labels: list[dict]) -> np.ndarray:
    """Pixels the tags change: with labels minus without."""
    return _changed(annotate(image, labels, show_labels=False), annotate(image, labels, show_labels=True))


def test_tag_sits_above_the_box_when_there_is_room():
    image = np.zeros((200, 300, 3), np.uint8)
    box = {"Left": 0.2, "Top": 0.5, "Width": 0.5, "Height": 0.4}
    ys, xs = np.nonzero(_tag_pixels(image, [_label("car", 90.0, box)]))
    assert ys.size and ys.max() < to_pixels(box, (300, 200)).y_min


def test_tag_goes_inside_the_box_when_the_box_touches_the_top_edge():
    image = np.zeros((200, 300, 3), np.uint8)
    box = {"Left": 0.2, "Top": 0.0, "Width": 0.6, "Height": 0.8}
    pb = to_pixels(box, (300, 200))
    ys, xs = np.nonzero(_tag_pixels(image, [_label("car", 90.0, box)]))
    assert ys.size
    assert ys.min() >= pb.y_min and ys.max() < pb.y_max and xs.min() >= pb.x_min and xs.max() < pb.x_max


def test_tag_is_shifted_left_to_stay_inside_the_image_at_the_right_edge():
    image = np.zeros((200, 300, 3), np.uint8)
    box = {"Left": 0.95, "Top": 0.5, "Width": 0.2, "Height": 0.3}
    ys, xs = np.nonzero(_tag_pixels(image, [_label("vehicle_registration_plate", 97.6, box)]))
    assert xs.max() == 299, "tag ends at the right edge"
    assert xs.min() < to_pixels(box, (300, 200)).x_min, "tag starts left of the box"


def test_annotate_rejects_non_images():
    with pytest.raises(ValueError):
        annotate(np.zeros((10, 10, 3), np.float32), [])
    with pytest.raises(ValueError):
        annotate(np.zeros((10, 10, 2), np.uint8), [])


# --- label_color ----------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_label_color_is_deterministic_and_vivid(name):
    color = label_color(name)
    assert color == label_color(name)
    assert all(isinstance(c, int) and 0 <= c <= 255 for c in color)
    assert max(color) >= 200 and max(color) - min(color) >= 100


def test_label_color_is_fixed_across_processes():
    code = "from rclsim.reports.drawing import label_color; print(label_color('car'), label_color('vehicle'))"
    env = dict(os.environ, PYTHONHASHSEED="12345", PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert result.stdout.strip() == f"{label_color('car')} {label_color('vehicle')}"
    assert label_color("car") == (37, 241, 239)  # pinned: changing it changes every committed picture


# --- side_by_side ---------------------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("gap", [0, 7])
def test_side_by_side_places_both_images_and_pads(channels, gap):
    left, right = _image(30, 20, channels, seed=1), _image(25, 33, channels, seed=2)
    out = side_by_side(left, right, gap=gap)
    assert (
        out.shape[:2] == (33, 30 + gap + 25) and out.dtype == left.dtype and out.shape[2:] == left.shape[2:]
    )
    assert np.array_equal(out[:20, :30], left) and np.array_equal(out[:, 30 + gap :], right)
    assert not out[20:, :30].any() and not out[:, 30 : 30 + gap].any()


def test_side_by_side_rejects_mismatched_images():
    with pytest.raises(ValueError):
        side_by_side(_image(10, 10, 3), _image(10, 10, 1))


# --- read_image / write_image ---------------------------------------------------------------------


def _jpeg(width: int = 40, height: int = 20) -> bytes:
    return cv2.imencode(".jpg", _image(width, height))[1].tobytes()


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_read_image_round_trips_and_handles_non_ascii_paths(tmp_path):
    image = _image(40, 20)
    path = write_image(tmp_path / "写真.png", image)
    assert np.array_equal(read_image(path), image)


def test_read_image_ignores_exif_orientation(tmp_path):
    """Rekognition's boxes refer to the stored pixels, so a rotate-90 EXIF tag must not rotate."""
    jpeg = _jpeg(40, 20)
    tiff = (
        b"II*\x00" + struct.pack("<IH", 8, 1) + struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<I", 0)
    )
    app1 = b"Exif\x00\x00" + tiff
    path = tmp_path / "rotated.jpg"
    path.write_bytes(jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:])
    assert cv2.imdecode(np.frombuffer(path.read_bytes(), np.uint8), cv2.IMREAD_COLOR).shape[:2] == (40, 20)
    assert read_image(path).shape == (20, 40, 3)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "no such image file"),
        (b"", "not a decodable image"),
        (b"hello, not a picture", "not a decodable image"),
    ],
)
def test_read_image_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / "x.jpg"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(RclsimError, match=message) as info:
        read_image(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_read_image_rejects_a_directory(tmp_path):
    with pytest.raises(RclsimError, match="directory"):
        read_image(tmp_path)


@pytest.mark.parametrize("cut", [2, 100])
def test_read_image_rejects_a_jpeg_cut_before_its_pixels(tmp_path, cut):
    path = tmp_path / "cut.jpg"
    path.write_bytes(_jpeg(120, 80)[:cut])
    with pytest.raises(RclsimError, match="not a decodable image"):
        read_image(path)


def test_read_image_on_a_jpeg_cut_mid_scan_errors_cleanly_or_decodes_full_size(tmp_path):
    data = _jpeg(120, 80)
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])
    try:
        image = read_image(path)
    except RclsimError:
        return  # OpenCV 5.0
    assert image.shape == (80, 120, 3)  # builds that fill in the missing part


def test_write_image_refuses_existing_file_without_overwrite(tmp_path):
    target = tmp_path / "out.jpg"
    target.write_bytes(b"keep me")
    with pytest.raises(RclsimError, match="--overwrite"):
        write_image(target, _image(10, 10))
    assert target.read_bytes() == b"keep me"
    assert write_image(target, _image(10, 10), overwrite=True) == target
    assert read_image(target).shape == (10, 10, 3)
    assert _leftovers(tmp_path) == []


def test_write_image_never_overwrites_the_protected_input(tmp_path):
    source = tmp_path / "in.jpg"
    source.write_bytes(_jpeg())
    before = source.read_bytes()
    for alias in (source, tmp_path / "." / "in.jpg"):
        with pytest.raises(RclsimError, match="input image"):
            write_image(alias, _image(10, 10), overwrite=True, protect=[source])
    assert source.read_bytes() == before


@pytest.mark.parametrize("name", ["out.bmp", "out", "out.JPG.txt"])
def test_write_image_rejects_unknown_extensions(tmp_path, name):
    with pytest.raises(RclsimError, match="extension"):
        write_image(tmp_path / name, _image(10, 10))
    assert list(tmp_path.iterdir()) == []


def test_write_image_needs_an_existing_directory(tmp_path):
    with pytest.raises(RclsimError, match="does not exist"):
        write_image(tmp_path / "missing" / "out.png", _image(10, 10))


@pytest.mark.parametrize("name", ["a.jpg", "a.JPEG", "a.png"])
def test_write_image_encodes_by_extension(tmp_path, name):
    image = _image(16, 12)
    path = write_image(tmp_path / name, image)
    magic = path.read_bytes()[:4]
    assert magic == (b"\x89PNG" if name.endswith("png") else b"\xff\xd8\xff\xe0")
    assert _leftovers(tmp_path) == []


def test_write_image_accepts_gray_and_bgra(tmp_path):
    assert read_image(write_image(tmp_path / "g.png", _image(8, 6, 1))).shape == (6, 8, 3)
    assert read_image(write_image(tmp_path / "a.jpg", _image(8, 6, 4))).shape == (6, 8, 3)


# --- draw_files -----------------------------------------------------------------------------------

PLATE = _label("vehicle_registration_plate", 97.6, {"Left": 0.43, "Top": 0.65, "Width": 0.1, "Height": 0.06})


def test_default_output_path_follows_the_article():
    assert default_output_path("photos/9c5f2a31335627a0.jpg") == Path("photos/9c5f2a31335627a0-detect.jpg")
    assert default_output_path("a.b.png") == Path("a.b-detect.jpg")


def test_draw_files_writes_stem_detect_jpg_beside_the_input(tmp_path):
    source = tmp_path / "9c5f2a31335627a0.jpg"
    source.write_bytes(_jpeg(120, 80))
    written = draw_files([PLATE], source)
    assert written == [tmp_path / "9c5f2a31335627a0-detect.jpg"]
    assert read_image(written[0]).shape == (80, 120, 3)


def test_draw_files_side_by_side_output(tmp_path):
    source = tmp_path / "in.png"
    write_image(source, _image(120, 80))
    out, sbs = draw_files([PLATE], source, output=tmp_path / "o.png", side_by_side_output=tmp_path / "s.png")
    assert read_image(sbs).shape[0] == 80 and read_image(sbs).shape[1] > 240
    assert np.array_equal(read_image(sbs)[:, :120], read_image(source))
    assert np.array_equal(read_image(sbs)[:, -120:], read_image(out))


def test_draw_files_empty_side_by_side_path_means_default_name_and_show_labels_is_passed(tmp_path):
    source = tmp_path / "9c5f2a31335627a0.jpg"
    write_image(source, np.zeros((80, 120, 3), np.uint8))
    written = draw_files(
        [PLATE], source, output=tmp_path / "o.png", side_by_side_output="", show_labels=False
    )
    assert [p.name for p in written] == ["o.png", "9c5f2a31335627a0-side-by-side.jpg"]
    assert np.array_equal(read_image(written[0]), annotate(read_image(source), [PLATE], show_labels=False))


def test_draw_files_writes_nothing_when_the_side_by_side_target_exists(tmp_path):
    source = tmp_path / "in.jpg"
    source.write_bytes(_jpeg())
    sbs = tmp_path / "sbs.jpg"
    sbs.write_bytes(b"old")
    with pytest.raises(RclsimError, match="exists"):
        draw_files([PLATE], source, side_by_side_output=sbs)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg", "sbs.jpg"]
    assert sbs.read_bytes() == b"old"


def test_draw_files_refuses_to_write_over_its_input(tmp_path):
    source = tmp_path / "in.jpg"
    source.write_bytes(_jpeg())
    before = source.read_bytes()
    with pytest.raises(RclsimError, match="input image"):
        draw_files([PLATE], source, output=source, overwrite=True)
    with pytest.raises(RclsimError, match="input image"):
        draw_files([PLATE], source, side_by_side_output=source, overwrite=True)
    with pytest.raises(RclsimError, match="same file"):
        draw_files([PLATE], source, output=tmp_path / "o.jpg", side_by_side_output=tmp_path / "o.jpg")
    assert source.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]
