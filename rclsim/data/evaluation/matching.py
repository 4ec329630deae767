"""Boxes, IoU and the matching of one image's detections to its ground-truth boxes.

The rules, shared by :func:`rclsim.data.evaluation.evaluate` and :func:`match_detections`:

* **Detection matching.** Per image and per label, detections are taken by descending ``Confidence``
  (ties keep the response's order) and each is matched to the still-unmatched ground-truth box of the
  same label with the highest IoU, if that IoU is ``>= iou_threshold`` (exactly 0.5 counts). Equal IoUs
  go to the box listed first. A matched detection is a true positive, any other a false positive
  (so a duplicate detection of one object is one TP and one FP); unmatched boxes are false negatives.
  Unlike the VOC devkit, a detection whose best box is taken falls back to the next free box (COCO's
  rule). Labels never match across names.
* **Detections without a box.** On a detection image, a label without ``Geometry.BoundingBox`` cannot
  localize anything: it is a false positive, never silently dropped (it usually means a
  classification model was scored against detection ground truth).
* **IoU** is computed on the float ratio boxes (:func:`ratio_iou`), not on pixels: the inputs carry no
  image size, IoU does not change when both axes are scaled, and :func:`rclsim.geometry.to_pixels`
  truncates to whole pixels, which would move boxes by up to a pixel and flip matches that sit on
  the threshold. Boxes are clipped to the image (``[0, 1]``) first, as ``to_pixels`` clips.

One image's matching is available on its own as :func:`match_detections`, so other modules count
hits and misses exactly as the scores do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from rclsim.service.errors import RclsimError

__all__ = ["ratio_iou", "match_detections"]

# --------------------------------------------------------------------------------------------- boxes

_Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in ratios, clipped to [0, 1]


def _ratio_box(box: Mapping[str, Any]) -> _Box:
    try:
        left, top = float(box["Left"]), float(box["Top"])
        width, height = float(box["Width"]), float(box["Height"])
    except (KeyError, TypeError, ValueError):
        raise RclsimError("a BoundingBox needs numeric Width, Height, Left and Top") from None
    if not all(map(math.isfinite, (left, top, width, height))):
        raise RclsimError("BoundingBox values must be finite numbers")
    # Clip to [0, 1] (conditionals, not min/max: this runs for every box of every image).
    right, bottom = left + width, top + height
    x0 = 0.0 if left < 0.0 else 1.0 if left > 1.0 else left
    y0 = 0.0 if top < 0.0 else 1.0 if top > 1.0 else top
    x1 = x0 if right < x0 else 1.0 if right > 1.0 else right
    y1 = y0 if bottom < y0 else 1.0 if bottom > 1.0 else bottom
    return x0, y0, x1, y1


def _iou(a: _Box, b: _Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def ratio_iou(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """IoU of two ``BoundingBox`` ratio dicts, in floats, after clipping both to the image.

    Evaluation uses this rather than :func:`rclsim.geometry.iou`: pixel boxes are truncated to whole
    pixels and need the image size, which would make a match at exactly the threshold depend on it.
    """
    return _iou(_ratio_box(a), _ratio_box(b))


_Detection = tuple[str, float, "_Box | None"]  # name, confidence, box (None: no Geometry)


def _parse_labels(custom_labels: Sequence[Mapping[str, Any]]) -> list[_Detection]:
    out: list[_Detection] = []
    for label in custom_labels:
        try:
            name, confidence = label["Name"], float(label["Confidence"])
        except (KeyError, TypeError, ValueError):
            raise RclsimError("every custom label needs a Name and a numeric Confidence") from None
        if not isinstance(name, str) or not math.isfinite(confidence):
            raise RclsimError(f"bad custom label {label!r}")
        bounding_box = (label.get("Geometry") or {}).get("BoundingBox")
        out.append((name, confidence, None if bounding_box is None else _ratio_box(bounding_box)))
    return out


def _parse_truth(boxes: Sequence[tuple[str, Mapping[str, float]]]) -> list[tuple[str, _Box]]:
    return [(name, _ratio_box(bounding_box)) for name, bounding_box in boxes]


def _greedy(
    truth: Sequence[tuple[str, _Box]], found: Sequence[_Detection], iou_threshold: float
) -> list[int]:
    """For each detection, the index of the truth box it matches, or -1 (the rule in the module docstring)."""
    by_label: dict[str, list[int]] = {}
    for j, (name, _) in enumerate(truth):
        by_label.setdefault(name, []).append(j)
    taken = [False] * len(truth)
    match = [-1] * len(found)
    # sorted() is stable, with reverse=True too: equal confidences keep the response's order.
    for i in sorted(range(len(found)), key=lambda k: found[k][1], reverse=True):
        name, _, box = found[i]
        if box is None:
            continue
        best, best_iou = -1, -1.0
        for j in by_label.get(name, ()):
            if not taken[j]:
                overlap = _iou(box, truth[j][1])
                if overlap >= iou_threshold and overlap > best_iou:
                    best, best_iou = j, overlap
        if best >= 0:
            taken[best] = True
            match[i] = best
    return match


def match_detections(
    truth: Sequence[tuple[str, Mapping[str, float]]],
    detections: Sequence[Mapping[str, Any]],
    iou_threshold: float = 0.5,
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Match one image's detections to its truth boxes with exactly the rule :func:`evaluate` uses.

    ``truth`` is ``(label name, BoundingBox ratios)`` pairs, ``detections`` a ``CustomLabels`` list.
    Returns ``(matches, unmatched_truth, unmatched_detections)``: ``(detection index, truth index)``
    pairs in detection order, then the indices left over on each side (a detection without a
    BoundingBox is always left over). Shared so that anything else that needs "which detection found
    which object" (fitting a simulation to a real model, say) agrees with the scores.
    """
    boxes = _parse_truth(truth)
    match = _greedy(boxes, _parse_labels(detections), float(iou_threshold))
    matches = [(i, j) for i, j in enumerate(match) if j >= 0]
    taken = {j for _, j in matches}
    return (
        matches,
        [j for j in range(len(boxes)) if j not in taken],
        [i for i, j in enumerate(match) if j < 0],
    )
