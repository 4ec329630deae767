"""The precision-recall plot of an evaluation: every label's curve, drawn with OpenCV.

It lives in the drawing layer, beside :mod:`rclsim.reports.drawing` (whose label colours it uses), so that
:mod:`rclsim.data.evaluation` stays free of OpenCV. OpenCV is imported only when a plot is drawn.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from rclsim.data.evaluation import Report

__all__ = ["write_pr_plot"]


def write_pr_plot(
    report: Report,
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (800, 600),
    overwrite: bool = False,
) -> Path:
    """Draw every label's precision-recall curve (labels with ground truth) to a PNG or JPEG.

    OpenCV only, so it needs nothing beyond rclsim's own dependencies. Each label uses its
    :func:`rclsim.reports.drawing.label_color`, the colour its boxes get when drawn, with its AP in the
    legend. ``size`` is ``(width, height)``, at least 320 x 240. Refuses an existing file unless
    ``overwrite`` (:class:`RclsimError`), like every file rclsim writes.
    """
    import cv2

    from rclsim.reports.drawing import label_color, write_image

    width, height = size
    if int(width) != width or int(height) != height or width < 320 or height < 240:
        raise ValueError(f"size must be whole (width, height) of at least (320, 240), got {size!r}")
    width, height = int(width), int(height)
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, 0.45
    black, grey = (0, 0, 0), (215, 215, 215)
    image = np.full((height, width, 3), 255, dtype=np.uint8)

    legend_width = max(110, min(220, width // 4))
    x0, x1 = 62, width - legend_width - 18
    y0, y1 = 34, height - 50

    def at(recall: float, precision: float) -> tuple[int, int]:
        return round(x0 + recall * (x1 - x0)), round(y1 - precision * (y1 - y0))

    def text(s: str, x: int, y: int, anchor: str = "left") -> None:
        (tw, th), _ = cv2.getTextSize(s, font, scale, 1)
        if anchor == "center":
            x -= tw // 2
        elif anchor == "right":
            x -= tw
        cv2.putText(image, s, (x, y + th // 2), font, scale, black, 1, cv2.LINE_AA)

    for i in range(6):
        v = i / 5
        gx, gy = at(v, v)
        cv2.line(image, (gx, y0), (gx, y1), grey, 1)
        cv2.line(image, (x0, gy), (x1, gy), grey, 1)
        cv2.line(image, (gx, y1), (gx, y1 + 5), black, 1)
        cv2.line(image, (x0 - 5, gy), (x0, gy), black, 1)
        text(f"{v:.1f}", gx, y1 + 16, "center")
        text(f"{v:.1f}", x0 - 8, gy, "right")
    cv2.rectangle(image, (x0, y0), (x1, y1), black, 1)
    text("recall", (x0 + x1) // 2, height - 14, "center")
    # "precision" up the y axis: drawn level on a patch, turned a quarter, pasted.
    (tw, th), base = cv2.getTextSize("precision", font, scale, 1)
    patch = np.full((th + base + 4, tw + 4, 3), 255, dtype=np.uint8)
    cv2.putText(patch, "precision", (2, th + 2), font, scale, black, 1, cv2.LINE_AA)
    patch = np.ascontiguousarray(np.rot90(patch))
    top = max(0, (y0 + y1 - patch.shape[0]) // 2)
    image[top : top + patch.shape[0], 6 : 6 + patch.shape[1]] = patch
    title = f"precision-recall, IoU >= {report.iou_threshold:g}, {report.images} images"
    title_width = cv2.getTextSize(title, font, scale, 1)[0][0]
    if title_width <= x1 - x0:
        text(title, (x0 + x1) // 2, 16, "center")
    else:
        text(title, x0, 16)

    # Each curve as steps: precision P_k holds over recall (R_{k-1}, R_k], starting at recall 0, so the
    # area under what is drawn is the uninterpolated AP. Axis-aligned lines need no anti-aliasing, so
    # every label's exact colour is on the image; a darker edge keeps light colours visible on white.
    entries = []
    for metrics in report.labels:
        points = report.sweep(metrics.name)
        if metrics.support == 0 or not points:
            continue
        color = label_color(metrics.name)
        edge = tuple(int(c * 0.55) for c in color)
        steps, previous = [], 0.0
        for point in points:
            recall = point.recall or 0.0
            steps += [at(previous, point.precision), at(recall, point.precision)]
            previous = recall
        polyline = np.array(steps, dtype=np.int32).reshape(-1, 1, 2)
        cv2.polylines(image, [polyline], False, edge, 4, cv2.LINE_8)
        cv2.polylines(image, [polyline], False, color, 2, cv2.LINE_8)
        ap = "-" if metrics.ap is None else f"{metrics.ap:.3f}"
        entries.append((metrics.name, ap, color, edge))

    lx, ly, step = x1 + 14, y0 + 8, 20
    room = max(1, (y1 - y0) // step)
    more = 0
    if len(entries) > room:
        entries, more = entries[: room - 1], len(entries) - (room - 1)
    for k, (name, ap, color, edge) in enumerate(entries):
        y = ly + k * step
        cv2.rectangle(image, (lx, y - 5), (lx + 18, y + 5), color, -1)
        cv2.rectangle(image, (lx, y - 5), (lx + 18, y + 5), edge, 1)
        caption = f"{name} AP {ap}"
        while len(name) > 1 and cv2.getTextSize(caption, font, scale, 1)[0][0] > width - lx - 30:
            name = name[:-1]
            caption = f"{name}~ AP {ap}"
        text(caption, lx + 24, y)
    if more:
        text(f"+{more} more", lx + 24, ly + len(entries) * step)
    if not entries:
        text("no label with", lx, ly)
        text("ground truth", lx, ly + step)
    return write_image(path, image, overwrite=overwrite)
