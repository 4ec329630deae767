#!/usr/bin/env python3
"""Generate ``fixtures/article/9c5f2a31335627a0.jpg``, a synthetic stand-in for the article's photo.

The article runs DetectCustomLabels on an Open Images photo (``9c5f2a31335627a0.jpg``) and draws the
two labels above 75 % confidence on it. That photo cannot be downloaded here and its licence would
have to travel with the repository, so rclsim ships a drawn scene instead: same file name, same size
(1024 x 683), and objects placed where the recorded response's boxes are (ratios of W/H):

* ``car``  Left .370 Top .294 Width .595 Height .529: a car seen from the front three-quarters, with
  windows, headlights and wheels (its wheels sit where two low-confidence ``vehicle`` boxes are);
* ``vehicle_registration_plate``  Left .433 Top .648 Width .095 Height .056: a light plate with dark
  seven-segment characters;
* a few small distant car-like shapes near other low-confidence ``vehicle`` boxes, on a road under
  a sky.

The recorded response then reads naturally against the fixture: ``rclsim draw`` boxes the car and the
plate. The script is deterministic (fixed coordinates, cv2 primitives, a seeded NumPy generator for
the texture) and writes a plain JFIF JPEG (quality 90, baseline, no EXIF), so regenerating it gives
the same pixels up to libjpeg differences.

Usage: ``python scripts/make_article_image.py [--output PATH] [--overwrite]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import cv2
import numpy as np

WIDTH, HEIGHT = 1024, 683
SEED = 9_5_2_31  # any fixed value; changing it changes the committed fixture
HORIZON = 132
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg"

# Seven-segment layout: segment -> ((x0, y0), (x1, y1)) in a unit cell 0..1 x 0..2.
_SEGMENTS = {
    "a": ((0, 0), (1, 0)),
    "b": ((1, 0), (1, 1)),
    "c": ((1, 1), (1, 2)),
    "d": ((0, 2), (1, 2)),
    "e": ((0, 1), (0, 2)),
    "f": ((0, 0), (0, 1)),
    "g": ((0, 1), (1, 1)),
}
_DIGITS = {
    "0": "abcdef",
    "1": "bc",
    "2": "abged",
    "3": "abgcd",
    "4": "fgbc",
    "5": "afgcd",
    "6": "afgedc",
    "7": "abc",
    "8": "abcdefg",
    "9": "abcdfg",
}


def _poly(img: np.ndarray, points: list[tuple[int, int]], color: tuple[int, int, int]) -> None:
    cv2.fillPoly(img, [np.array(points, dtype=np.int32)], color, cv2.LINE_AA)


def _background(img: np.ndarray) -> None:
    """Sky gradient, a skyline of buildings and trees, an asphalt road with perspective markings."""
    for y in range(HORIZON):
        t = y / HORIZON
        img[y, :] = (int(235 + 15 * t), int(195 + 30 * t), int(150 + 60 * t))
    for y in range(HORIZON, HEIGHT):
        t = (y - HORIZON) / (HEIGHT - HORIZON)
        img[y, :] = (int(118 - 28 * t), int(116 - 28 * t), int(112 - 26 * t))
    buildings = [
        (0, 70, 90, (150, 150, 160)),
        (90, 48, 170, (120, 125, 135)),
        (170, 82, 260, (165, 160, 150)),
        (640, 60, 720, (140, 140, 150)),
        (720, 40, 780, (110, 115, 125)),
        (850, 66, 960, (155, 150, 145)),
        (960, 30, 1024, (125, 130, 140)),
    ]
    for x0, top, x1, color in buildings:
        cv2.rectangle(img, (x0, top), (x1 - 1, HORIZON), color, -1)
        for wx in range(x0 + 8, x1 - 12, 18):
            for wy in range(top + 8, HORIZON - 12, 20):
                cv2.rectangle(img, (wx, wy), (wx + 8, wy + 10), (90, 85, 80), -1)
    for cx, r in [(300, 40), (345, 30), (390, 45), (440, 35), (800, 38), (835, 28)]:
        cv2.circle(img, (cx, HORIZON - r // 2), r, (50, 105, 60), -1, cv2.LINE_AA)
    cv2.rectangle(img, (0, HORIZON), (WIDTH - 1, HORIZON + 10), (150, 150, 150), -1)  # far kerb
    vanish = (300, HORIZON)
    for bottom_x in (-700, 80, 1400):
        cv2.line(img, vanish, (bottom_x, HEIGHT), (210, 210, 210), 3, cv2.LINE_AA)
    for i in range(6):  # dashed centre line, dashes growing towards the viewer
        t0, t1 = (i / 6) ** 1.6, ((i + 0.5) / 6) ** 1.6
        p0 = (int(300 + (650 - 300) * t0), int(HORIZON + (HEIGHT - HORIZON) * t0))
        p1 = (int(300 + (650 - 300) * t1), int(HORIZON + (HEIGHT - HORIZON) * t1))
        cv2.line(img, p0, p1, (200, 230, 240), 2 + 2 * i, cv2.LINE_AA)


def _distant_car(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, color: tuple[int, int, int]) -> None:
    """A small car seen from behind filling the box (x0, y0)-(x1, y1)."""
    w, h = x1 - x0, y1 - y0
    cabin_top, body_top = y0, y0 + int(h * 0.4)
    _poly(
        img,
        [
            (x0 + int(w * 0.18), cabin_top),
            (x1 - int(w * 0.18), cabin_top),
            (x1 - int(w * 0.05), body_top),
            (x0 + int(w * 0.05), body_top),
        ],
        color,
    )
    _poly(
        img,
        [
            (x0 + int(w * 0.24), cabin_top + int(h * 0.06)),
            (x1 - int(w * 0.24), cabin_top + int(h * 0.06)),
            (x1 - int(w * 0.12), body_top - 2),
            (x0 + int(w * 0.12), body_top - 2),
        ],
        (70, 60, 50),
    )
    cv2.rectangle(img, (x0, body_top), (x1, y1 - int(h * 0.12)), color, -1)
    for wx in (x0 + int(w * 0.06), x1 - int(w * 0.22)):
        cv2.rectangle(img, (wx, y1 - int(h * 0.16)), (wx + int(w * 0.16), y1), (25, 25, 25), -1)
    for lx in (x0 + int(w * 0.05), x1 - int(w * 0.17)):
        cv2.rectangle(
            img,
            (lx, body_top + int(h * 0.1)),
            (lx + int(w * 0.12), body_top + int(h * 0.2)),
            (40, 40, 200),
            -1,
        )


def _plate(img: np.ndarray, x0: int, y0: int, x1: int, y1: int, text: str) -> None:
    """A light plate with dark seven-segment characters (no font: identical in every OpenCV)."""
    cv2.rectangle(img, (x0, y0), (x1, y1), (232, 236, 236), -1)
    cv2.rectangle(img, (x0, y0), (x1, y1), (60, 60, 60), 2)
    cell_w, cell_h = (x1 - x0 - 12) / len(text), (y1 - y0 - 12)
    for i, ch in enumerate(text):
        cx, cy = x0 + 6 + i * cell_w + cell_w * 0.15, y0 + 6
        sx, sy = cell_w * 0.6, cell_h / 2
        for seg in _DIGITS.get(ch, "g"):
            (ax, ay), (bx, by) = _SEGMENTS[seg]
            cv2.line(
                img,
                (int(cx + ax * sx), int(cy + ay * sy)),
                (int(cx + bx * sx), int(cy + by * sy)),
                (35, 35, 35),
                2,
                cv2.LINE_8,
            )


def _wheel(img: np.ndarray, center: tuple[int, int], axes: tuple[int, int]) -> None:
    cv2.ellipse(img, center, axes, 0, 0, 360, (22, 22, 22), -1, cv2.LINE_AA)
    cv2.ellipse(
        img, center, (int(axes[0] * 0.6), int(axes[1] * 0.6)), 0, 0, 360, (165, 165, 170), -1, cv2.LINE_AA
    )
    cv2.ellipse(
        img, center, (int(axes[0] * 0.2), int(axes[1] * 0.2)), 0, 0, 360, (90, 90, 95), -1, cv2.LINE_AA
    )


def _car(img: np.ndarray) -> None:
    """The main car, front three-quarter view, inside the ``car`` box x 379..988, y 200..561."""
    body, shade, light = (45, 40, 165), (35, 30, 125), (70, 65, 200)
    glass = (85, 65, 50)
    cv2.ellipse(img, (690, 556), (330, 20), 0, 0, 360, (45, 45, 45), -1, cv2.LINE_AA)  # shadow
    _poly(img, [(650, 330), (985, 300), (987, 500), (660, 548)], body)  # side
    _poly(img, [(385, 352), (650, 330), (660, 548), (390, 552)], shade)  # front face
    _poly(img, [(395, 352), (478, 300), (700, 296), (650, 330)], light)  # hood
    _poly(img, [(478, 300), (538, 212), (770, 210), (700, 296)], glass)  # windshield
    _poly(img, [(520, 300), (560, 240), (590, 240), (560, 300)], (135, 120, 110))  # reflection
    _poly(img, [(538, 212), (560, 201), (800, 200), (770, 210)], shade)  # roof edge
    _poly(img, [(770, 210), (800, 200), (965, 206), (985, 300), (700, 296)], body)  # roof side / pillars
    _poly(img, [(720, 290), (780, 218), (860, 216), (860, 290)], glass)  # front side window
    _poly(img, [(875, 290), (875, 216), (950, 214), (970, 290)], glass)  # rear side window
    _poly(img, [(680, 302), (705, 300), (705, 320), (680, 322)], shade)  # mirror
    cv2.line(img, (867, 300), (870, 505), shade, 2, cv2.LINE_AA)  # door seam
    cv2.line(img, (700, 330), (980, 308), light, 3, cv2.LINE_AA)  # shoulder line
    # Front: headlights, grille, plate, bumper.
    _poly(img, [(396, 382), (446, 376), (446, 405), (399, 411)], (225, 240, 245))
    _poly(img, [(556, 370), (636, 363), (638, 393), (556, 400)], (225, 240, 245))
    cv2.rectangle(img, (456, 384), (548, 430), (30, 30, 30), -1)
    for y in range(390, 430, 8):
        cv2.line(img, (458, y), (546, y), (95, 95, 95), 2)
    _poly(img, [(388, 490), (658, 480), (660, 548), (392, 552)], (40, 40, 40))  # bumper
    _plate(img, 443, 442, 539, 479, "5821")
    # Wheels: the near-side pair sits where the response has two `vehicle` boxes.
    _wheel(img, (722, 505), (33, 56))
    _wheel(img, (933, 462), (30, 57))
    cv2.ellipse(img, (418, 549), (26, 12), 0, 0, 360, (22, 22, 22), -1, cv2.LINE_AA)  # far front tyre


def make_image() -> np.ndarray:
    """Return the scene as a 683 x 1024 BGR array (deterministic)."""
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    _background(img)
    _distant_car(img, 486, 91, 612, 236, (150, 120, 60))  # vehicle Left .475 Top .133
    _distant_car(img, 35, 186, 108, 348, (180, 180, 175))  # vehicle Left .034 Top .272
    _distant_car(img, 784, 94, 813, 148, (60, 140, 200))  # vehicles near Left .78 Top .14
    _car(img)
    noise = np.random.default_rng(SEED).normal(0.0, 3.0, img.shape)
    return np.clip(img.astype(np.float64) + noise, 0, 255).astype(np.uint8)


def encode_jpeg(img: np.ndarray) -> bytes:
    """Plain baseline JFIF at quality 90; OpenCV writes no EXIF segment."""
    ok, buffer = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90, cv2.IMWRITE_JPEG_PROGRESSIVE, 0])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return buffer.tobytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help=f"default: {DEFAULT_OUTPUT}")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    args = parser.parse_args(argv)
    output: Path = args.output
    if output.exists() and not args.overwrite:
        print(f"error: {output} exists (use --overwrite to replace it)", file=sys.stderr)
        return 1
    if not output.parent.is_dir():
        print(f"error: directory {output.parent} does not exist", file=sys.stderr)
        return 1
    tmp = output.with_name(f".{output.name}.tmp")
    try:
        tmp.write_bytes(encode_jpeg(make_image()))
        os.replace(tmp, output)
    finally:
        tmp.unlink(missing_ok=True)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
