"""Draw DetectCustomLabels results on images, and read/write the image files involved.

This reproduces the article's notebook step (box every label above a confidence threshold, show the
original and the annotated image side by side, save ``<name>-detect.jpg``) as a library and as the
back end of ``rclsim draw``.

It is the only module that needs OpenCV and NumPy. Nothing on the detect path imports it, so
``rclsim detect`` (and every test that only fakes the service) starts without paying for ``cv2``.

Conventions:

* Images are NumPy ``uint8`` arrays in OpenCV's layout: ``(H, W)`` grayscale, ``(H, W, 3)`` BGR or
  ``(H, W, 4)`` BGRA. :func:`annotate` keeps the input's shape: a grayscale image is drawn on in
  gray (the luma of each label colour), a BGRA image with opaque colours. Files read by
  :func:`read_image` are always BGR.
* Ratio boxes become pixels only through :func:`rclsim.geometry.to_pixels`, so what is drawn is
  exactly what the article's formula gives, clipped to the image.
* Borders are exact: a border of thickness ``t`` covers exactly the pixels of the box that lie
  within ``t`` of its edges (filled ``cv2.LINE_8`` rectangles, no anti-aliasing). A plain
  ``cv2.rectangle(..., t)`` would not do: it centres the line on the edge and draws it
  ``t + 1`` or ``t + 2`` pixels wide, half of it outside the detection.
"""

from __future__ import annotations

import colorsys
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np

from rclsim.geometry import PixelBox, to_pixels
from rclsim.service.errors import RclsimError
from rclsim.service.files import check_target, read_file_bytes, write_atomically

__all__ = [
    "DEFAULT_MIN_CONFIDENCE",
    "label_color",
    "annotate",
    "side_by_side",
    "read_image",
    "default_output_path",
    "write_image",
    "draw_files",
]

#: The article keeps labels with ``Confidence >= 75`` (2 of the 31 it got back).
DEFAULT_MIN_CONFIDENCE = 75.0

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_ENCODINGS: dict[str, list[int]] = {
    ".jpg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, 95],
    ".png": [cv2.IMWRITE_PNG_COMPRESSION, 3],
}


def label_color(name: str) -> tuple[int, int, int]:
    """A BGR colour for ``name``, the same in every process and on every machine.

    The hue comes from SHA-256 of the name (``hash()`` is salted per process); saturation and value
    stay high so borders stand out and black tag text stays readable.
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    hue = int.from_bytes(digest[:2], "big") / 65536.0
    saturation = 0.75 + 0.25 * digest[2] / 255.0
    value = 0.85 + 0.15 * digest[3] / 255.0
    r, g, b = colorsys.hsv_to_rgb(hue, saturation, value)
    return (round(b * 255), round(g * 255), round(r * 255))


def _check_image(image: np.ndarray) -> tuple[int, int, int]:
    """Return ``(width, height, channels)``; channels is 1 for a 2-D grayscale image."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise ValueError("image must be a uint8 NumPy array")
    if image.ndim == 2:
        channels = 1
    elif image.ndim == 3 and image.shape[2] in (3, 4):
        channels = image.shape[2]
    else:
        raise ValueError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {image.shape}")
    height, width = image.shape[:2]
    if width == 0 or height == 0:
        raise ValueError("image is empty")
    return width, height, channels


def _as_channels(bgr: tuple[int, int, int], channels: int) -> tuple[int, ...]:
    """A BGR colour in the image's channel layout (gray = Rec. 601 luma, BGRA = opaque)."""
    if channels == 1:
        b, g, r = bgr
        return (round(0.114 * b + 0.587 * g + 0.299 * r),)
    return bgr + (255,) if channels == 4 else bgr


def _text_color(bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    b, g, r = bgr
    return (0, 0, 0) if 0.114 * b + 0.587 * g + 0.299 * r >= 128 else (255, 255, 255)


def _box_of(label: Mapping) -> Mapping | None:
    """A label's ratio ``BoundingBox``, or ``None`` when it has no geometry (classification)."""
    geometry = label.get("Geometry") or {}
    return geometry.get("BoundingBox")


def _draw_border(image: np.ndarray, box: PixelBox, color: tuple[int, ...], thickness: int) -> None:
    """Paint the pixels of ``box`` within ``thickness`` of its edges, and nothing else."""
    x0, y0, x1, y1 = box.x_min, box.y_min, box.x_max - 1, box.y_max - 1
    inner_x0, inner_y0 = min(x0 + thickness - 1, x1), min(y0 + thickness - 1, y1)
    inner_x1, inner_y1 = max(x1 - thickness + 1, x0), max(y1 - thickness + 1, y0)
    for corner_a, corner_b in (
        ((x0, y0), (x1, inner_y0)),  # top
        ((x0, inner_y1), (x1, y1)),  # bottom
        ((x0, y0), (inner_x0, y1)),  # left
        ((inner_x1, y0), (x1, y1)),  # right
    ):
        cv2.rectangle(image, corner_a, corner_b, color, -1, cv2.LINE_8)


def _draw_tag(
    image: np.ndarray,
    text: str,
    x: int,
    y: int,
    color: tuple[int, int, int],
    channels: int,
    font_scale: float,
    font_thickness: int,
) -> int:
    """Draw a filled tag whose top-left corner is (x, y), clamped into the image; return its height."""
    height, width = image.shape[:2]
    (text_w, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, font_thickness)
    pad = max(2, font_thickness + 1)
    tag_w, tag_h = text_w + 2 * pad, text_h + baseline + 2 * pad
    x = max(0, min(x, width - tag_w))
    y = max(0, min(y, height - tag_h))
    cv2.rectangle(
        image, (x, y), (x + tag_w - 1, y + tag_h - 1), _as_channels(color, channels), -1, cv2.LINE_8
    )
    cv2.putText(
        image,
        text,
        (x + pad, y + pad + text_h),
        _FONT,
        font_scale,
        _as_channels(_text_color(color), channels),
        font_thickness,
        cv2.LINE_AA,
    )
    return tag_h


def annotate(
    image: np.ndarray,
    labels: Sequence[Mapping],
    *,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    show_labels: bool = True,
    thickness: int | None = None,
) -> np.ndarray:
    """Return a new image with every label of ``Confidence >= min_confidence`` drawn on it.

    ``labels`` is the ``CustomLabels`` list of a DetectCustomLabels response. A label with a
    ``BoundingBox`` gets a border, drawn just inside its pixel box, in :func:`label_color` of its
    name and, when ``show_labels``,
    a filled tag ``"name 97.6"`` above the box (inside it when there is no room above), kept inside
    the image. Labels without geometry (image classification models) are listed as tags in a block
    at the top-left corner, only when ``show_labels``.

    Odd boxes never raise: a box partly outside the image is clipped, one with no area left (zero or
    negative size, wholly outside, non-finite ratios) is skipped. Labels are drawn in increasing
    confidence, all borders before all tags, so the most confident tag ends up on top.

    The input is never modified. ``thickness`` defaults to ``max(2, round(min(W, H) / 300))``.
    """
    _check_image(image)
    return _draw_on(
        image.copy(), labels, min_confidence=min_confidence, show_labels=show_labels, thickness=thickness
    )


def _draw_on(
    out: np.ndarray,
    labels: Sequence[Mapping],
    *,
    min_confidence: float,
    show_labels: bool,
    thickness: int | None,
) -> np.ndarray:
    """:func:`annotate`, drawing on ``out`` itself (an image nobody else holds: no copy of ~6 MB
    for a 1080p frame)."""
    width, height, channels = _check_image(out)
    if thickness is None:
        thickness = max(2, round(min(width, height) / 300))
    if thickness < 1:
        raise ValueError("thickness must be at least 1")
    font_scale = max(0.35, min(width, height) / 1100)
    font_thickness = max(1, round(font_scale * 1.6))

    kept = sorted(
        (label for label in labels if float(label["Confidence"]) >= min_confidence),
        key=lambda label: float(label["Confidence"]),
    )
    boxed: list[tuple[Mapping, PixelBox]] = []
    captions: list[Mapping] = []
    for label in kept:
        ratio_box = _box_of(label)
        if ratio_box is None:
            captions.append(label)
            continue
        try:
            box = to_pixels(ratio_box, (width, height))
        except ValueError:  # non-finite ratios: nothing sensible to draw
            continue
        if not box.is_empty:
            boxed.append((label, box))

    for label, box in boxed:
        _draw_border(out, box, _as_channels(label_color(label["Name"]), channels), thickness)
    if not show_labels:
        return out

    for label, box in boxed:
        text = f"{label['Name']} {float(label['Confidence']):.1f}"
        (_, text_h), baseline = cv2.getTextSize(text, _FONT, font_scale, font_thickness)
        tag_h = text_h + baseline + 2 * max(2, font_thickness + 1)
        top = box.y_min - tag_h if box.y_min - tag_h >= 0 else box.y_min
        _draw_tag(out, text, box.x_min, top, label_color(label["Name"]), channels, font_scale, font_thickness)
    y = 0
    for label in reversed(captions):  # most confident first, as the service sorts them
        text = f"{label['Name']} {float(label['Confidence']):.1f}"
        y += _draw_tag(out, text, 0, y, label_color(label["Name"]), channels, font_scale, font_thickness)
    return out


def side_by_side(original: np.ndarray, annotated: np.ndarray, gap: int = 0) -> np.ndarray:
    """``original | gap | annotated`` in one image, as the article shows them with matplotlib.

    Both images must have the same dtype and channel count. The shorter one is padded with black at
    the bottom; the gap is black too.
    """
    if original.dtype != annotated.dtype or original.shape[2:] != annotated.shape[2:]:
        raise ValueError(
            f"images differ in dtype or channels: {original.dtype}{original.shape} vs "
            f"{annotated.dtype}{annotated.shape}"
        )
    if gap < 0:
        raise ValueError("gap must not be negative")
    (h1, w1), (h2, w2) = original.shape[:2], annotated.shape[:2]
    out = np.zeros((max(h1, h2), w1 + gap + w2) + original.shape[2:], dtype=original.dtype)
    out[:h1, :w1] = original
    out[:h2, w1 + gap :] = annotated
    return out


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as a BGR ``uint8`` array, or raise :class:`RclsimError` in one line.

    The bytes are read by Python and decoded with ``cv2.imdecode`` (``cv2.imread`` cannot open
    non-ASCII paths on Windows and says nothing about why it failed). EXIF orientation is ignored
    on purpose: Rekognition's boxes refer to the pixels as stored, so the image must not be rotated
    before boxes are drawn on it. Whether a JPEG truncated inside its scan data fails or decodes
    with the missing part filled in depends on the OpenCV/libjpeg build (OpenCV 5.0 fails).
    """
    path = Path(path)
    data = read_file_bytes(path, what="image file")
    image = None
    if data:
        try:
            image = cv2.imdecode(
                np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
            )
        except cv2.error:
            image = None
    if image is None:
        raise RclsimError(f"not a decodable image: {path}")
    return image


def default_output_path(image_path: str | os.PathLike[str]) -> Path:
    """``<stem>-detect.jpg`` beside the input, the article's naming (``abc.jpg`` -> ``abc-detect.jpg``)."""
    path = Path(image_path)
    return path.with_name(f"{path.stem}-detect.jpg")


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def _check_target(path: Path, overwrite: bool, protect: Sequence[str | os.PathLike[str]]) -> str:
    """Raise :class:`RclsimError` if ``path`` cannot or must not be written; return its extension."""
    ext = path.suffix.lower()
    if ext not in _ENCODINGS:
        raise RclsimError(
            f"cannot write {path}: unsupported extension {ext or '(none)'!r} (use .jpg, .jpeg or .png)"
        )
    for protected in protect:
        if _same_file(path, Path(protected)):
            raise RclsimError(f"refusing to write over the input image {path}")
    check_target(path, overwrite)
    return ext


def _encode(path: Path, image: np.ndarray, ext: str) -> bytes:
    try:
        ok, buffer = cv2.imencode(ext, image, _ENCODINGS[ext])
    except cv2.error as exc:
        raise RclsimError(f"cannot encode {path}: {str(exc).strip().splitlines()[-1]}") from None
    if not ok:
        raise RclsimError(f"cannot encode {path} as {ext}")
    return buffer.tobytes()


def _commit(path: Path, data: bytes, overwrite: bool) -> None:
    """Write ``data`` to ``path`` atomically (see :mod:`rclsim.service.files`)."""
    write_atomically(path, data, overwrite=overwrite)


def write_image(
    path: str | os.PathLike[str],
    image: np.ndarray,
    *,
    overwrite: bool = False,
    protect: Sequence[str | os.PathLike[str]] = (),
) -> Path:
    """Encode ``image`` by the extension of ``path`` (.jpg, .jpeg, .png) and write it atomically.

    Refuses, with a one-line :class:`RclsimError`: an unknown extension, a path that is one of
    ``protect`` (the input image; even with ``overwrite``), a missing parent directory, and an
    existing file unless ``overwrite``. A failed write leaves no partial file behind.
    """
    path = Path(path)
    ext = _check_target(path, overwrite, protect)
    _commit(path, _encode(path, image, ext), overwrite)
    return path


def draw_files(
    labels: Sequence[Mapping],
    image_path: str | os.PathLike[str],
    *,
    output: str | os.PathLike[str] | None = None,
    side_by_side_output: str | os.PathLike[str] | None = None,
    min_confidence: float = DEFAULT_MIN_CONFIDENCE,
    overwrite: bool = False,
    show_labels: bool = True,
) -> list[Path]:
    """Annotate ``image_path`` with ``labels`` and save it (and optionally the side-by-side view).

    ``output`` defaults to :func:`default_output_path`. ``side_by_side_output`` is ``None`` for no
    side-by-side image, or its path; the empty string means ``<stem>-side-by-side.jpg`` beside the
    input (what a bare ``--side-by-side`` asks for). Every target is checked, and every image
    encoded, before anything is written, so a conflict on either output writes nothing.
    Returns the written paths, annotated image first.
    """
    source = Path(image_path)
    image = read_image(source)
    targets = [Path(output) if output is not None else default_output_path(source)]
    if side_by_side_output is not None:
        if os.fspath(side_by_side_output) == "":
            targets.append(source.with_name(f"{source.stem}-side-by-side.jpg"))
        else:
            targets.append(Path(side_by_side_output))
        if _same_file(targets[0], targets[1]):
            raise RclsimError(f"the annotated and side-by-side outputs are the same file: {targets[0]}")
    extensions = [_check_target(target, overwrite, (source,)) for target in targets]

    # The decoded image is this function's own: drawn on directly unless the side-by-side view
    # still needs the original.
    canvas = image.copy() if len(targets) == 2 else image
    annotated = _draw_on(
        canvas, labels, min_confidence=min_confidence, show_labels=show_labels, thickness=None
    )
    images = [annotated]
    if len(targets) == 2:
        images.append(side_by_side(image, annotated, gap=max(4, image.shape[1] // 100)))
    payloads = [_encode(t, img, ext) for t, img, ext in zip(targets, images, extensions, strict=True)]
    for target, payload in zip(targets, payloads, strict=True):
        _commit(target, payload, overwrite)
    return targets
