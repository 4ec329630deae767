"""Ratio BoundingBox <-> pixel boxes.

Rekognition returns boxes as ratios of the image's width and height (origin top-left), and the ratios
may fall below 0 or above 1 when an object touches the edge of the image. Everything that draws, crops
or compares boxes needs pixels; this module is the one place that converts.

The default conversion reproduces the article's pixels exactly, so a user moving from the article's
notebook sees the same rectangles::

    x_min = int(W * Left);  x_max = x_min + int(W * Width)
    y_min = int(H * Top);   y_max = y_min + int(H * Height)

and then clips to [0, W] x [0, H]. ``int`` truncates toward zero, as in the article. A box with a
negative width or height, or one lying wholly outside the image, becomes an empty box (zero width or
height) on the image's edge instead of raising: a detection pipeline should never crash on one odd
box. Sizes are always given as ``(width, height)``, never NumPy's ``(rows, cols)``.

Any finite ratio converts without overflow: ratios beyond :data:`RATIO_LIMIT` (a million image sizes)
(three for a width or height) are first clamped to it, which changes no box whose values lie within
it (``extent * ratio`` of ``1e308`` would otherwise overflow to infinity and ``int`` would raise). The
response schema refuses such values anyway (see :mod:`rclsim.service.schemas`: box values lie within -1..2);
this only keeps code that draws unvalidated boxes from crashing.

Pure Python: no OpenCV, no NumPy, so the detect path can use it for free.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PixelBox", "to_pixels", "to_ratio", "iou", "RATIO_LIMIT"]

#: Ratios are clamped to +-this before they are multiplied by an image size (see the module docstring).
RATIO_LIMIT = 1e6


@dataclass(frozen=True)
class PixelBox:
    """A box in whole pixels: ``x_min <= x_max`` and ``y_min <= y_max``, max edges exclusive."""

    x_min: int
    y_min: int
    x_max: int
    y_max: int

    @property
    def width(self) -> int:
        return self.x_max - self.x_min

    @property
    def height(self) -> int:
        return self.y_max - self.y_min

    @property
    def is_empty(self) -> bool:
        return self.width == 0 or self.height == 0

    def as_tuple(self) -> tuple[int, int, int, int]:
        return (self.x_min, self.y_min, self.x_max, self.y_max)


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    width, height = size
    if int(width) != width or int(height) != height or width <= 0 or height <= 0:
        raise ValueError(f"image size must be two positive whole numbers (width, height), got {size!r}")
    return int(width), int(height)


def _span(start_ratio: float, length_ratio: float, extent: int, name: str) -> tuple[int, int]:
    if not (math.isfinite(start_ratio) and math.isfinite(length_ratio)):
        raise ValueError(f"BoundingBox {name} values must be finite numbers")
    # Clamped so that extent * ratio stays finite (a start beyond the limit lies wholly outside the
    # image either way, and a length beyond it covers the image from any start within the limit).
    start_ratio = -RATIO_LIMIT if start_ratio < -RATIO_LIMIT else min(start_ratio, RATIO_LIMIT)
    length_ratio = -RATIO_LIMIT if length_ratio < -RATIO_LIMIT else min(length_ratio, 3 * RATIO_LIMIT)
    lo = int(extent * start_ratio)
    hi = lo + int(extent * length_ratio)
    lo_c = min(max(lo, 0), extent)
    hi_c = min(max(hi, 0), extent)
    return lo_c, max(hi_c, lo_c)


def to_pixels(box: Mapping[str, float], size: tuple[int, int]) -> PixelBox:
    """Convert a Rekognition ``BoundingBox`` (ratios) to a clipped pixel box.

    ``size`` is ``(width, height)`` of the image the box refers to. Raises ``ValueError`` only for
    a bad size or non-finite ratios (which the response schema rejects anyway).
    """
    width, height = _check_size(size)
    x_min, x_max = _span(float(box["Left"]), float(box["Width"]), width, "Left/Width")
    y_min, y_max = _span(float(box["Top"]), float(box["Height"]), height, "Top/Height")
    return PixelBox(x_min, y_min, x_max, y_max)


#: Added to each ratio by :func:`to_ratio`. ``x / W * W`` can come out just below ``x`` in floating
#: point, and the article's formula truncates, so a plain division could map back one pixel short on
#: each of two steps (two pixels on the far edge). A billionth more keeps every pixel where it was
#: while changing the ratio far below anything Rekognition reports (5 decimals).
_NUDGE = 1e-9


def to_ratio(box: PixelBox, size: tuple[int, int]) -> dict[str, float]:
    """Inverse of :func:`to_pixels`: a pixel box as a ``BoundingBox`` dict of ratios.

    Round trip: ``to_pixels(to_ratio(b, s), s) == b`` for every box inside the image.
    """
    width, height = _check_size(size)
    return {
        "Width": box.width / width + _NUDGE,
        "Height": box.height / height + _NUDGE,
        "Left": box.x_min / width + _NUDGE,
        "Top": box.y_min / height + _NUDGE,
    }


def iou(a: PixelBox, b: PixelBox) -> float:
    """Intersection over union of two pixel boxes; 0.0 when both are empty."""
    ix = max(0, min(a.x_max, b.x_max) - max(a.x_min, b.x_min))
    iy = max(0, min(a.y_max, b.y_max) - max(a.y_min, b.y_min))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0
