"""Score DetectCustomLabels responses against ground truth, the way the Custom Labels console does.

After training, the console shows per-label precision, recall and F1 on the test set, and each label's
*assumed threshold*: the confidence at which its F1 is best. DetectCustomLabels without
``MinConfidence`` filters each label at that threshold. This module recomputes all of it offline from
plain data (one :class:`Truth` and one :class:`Prediction` per image), so a test suite can check that a
model, a fake or a post-processing step still scores what it used to. The inputs are plain data on
purpose: a manifest reader, a recording, or a live backend can all produce them.

Choices, in one place. AWS's documentation does not pin these down; each follows common practice
(PASCAL VOC / COCO) and is checked against an independent brute-force oracle in the tests:

* **Image kind.** A truth with ``boxes`` is scored as object detection; ``labels`` is then ignored. A
  truth with ``labels`` and no ``boxes`` is scored as classification. A truth with neither is a
  detection image with no objects: every predicted label on it is a false positive.
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
* **Classification.** The unit is (image, label). A predicted name in the truth's labels is a TP,
  one not in them an FP, a truth label not predicted an FN. A name predicted twice on one image
  counts once, at its highest confidence; ``Geometry`` is ignored.
* **IoU** is computed on the float ratio boxes (:func:`ratio_iou`), not on pixels: the inputs carry no
  image size, IoU does not change when both axes are scaled, and :func:`rclsim.geometry.to_pixels`
  truncates to whole pixels, which would move boxes by up to a pixel and flip matches that sit on
  the threshold. Boxes are clipped to the image (``[0, 1]``) first, as ``to_pixels`` clips.
* **Operating point.** ``tp``/``fp``/``fn``/``precision``/``recall``/``f1`` count the detections
  with ``Confidence >= min_confidence`` when it is given, else ``>= thresholds[name]`` where the label
  has one, else all of them. Both are on the response's 0-100 scale (the summary file's ``Threshold``
  is 0-1; :meth:`Report.to_summary` converts). ``>=``, as the fake keeps labels at MinConfidence.
* **Undefined ratios are None** (JSON ``null``, an empty CSV cell, ``-`` in the table), never 0:
  precision when nothing was predicted (``tp + fp == 0``), recall and AP when the label has no
  ground truth (``tp + fn == 0``). F1 is ``2tp / (2tp + fp + fn)``, which equals the harmonic mean
  when both are defined and is 0 when precision or recall is 0 or undefined but something was
  counted; it is None only when ``tp + fp + fn == 0``.
* **Averages.** Micro: precision/recall/F1 of the summed tp/fp/fn. Macro: the mean of the labels'
  defined values (None ones are left out); its ``ap`` is the mean AP of the labels with ground
  truth (mAP).
* **Threshold sweep.** For each label, precision/recall/F1 at every distinct confidence ``t``
  (keeping detections with ``Confidence >= t``), highest first. Because matching is greedy in
  confidence order, the matches above ``t`` are the same whether or not lower detections exist, so
  one matching pass serves every threshold.
* **Best threshold** (the console's assumed threshold): the sweep threshold with the highest F1;
  ties go to the highest threshold (fewest detections for the same F1). A label whose detections are
  all false positives therefore gets its highest confidence. None when the label has no detections.
* **AP**, all-point interpolated (PASCAL VOC 2010 and later): with ``P_k``, ``R_k`` at the sweep
  thresholds ``t_1 > t_2 > ... > t_m`` and ``R_0 = 0``,
  ``AP = sum_k (R_k - R_{k-1}) * max_{j >= k} P_j``: the precision envelope made non-increasing in
  recall, its area summed wherever recall changes. Taking whole thresholds rather than single
  detections makes tied confidences enter together, so AP does not depend on their order; without
  ties it equals the devkit's number. AP is 0.0 for a label with ground truth and no true positive.

One image's matching is available on its own as :func:`match_detections`, so other modules count
hits and misses exactly as the scores do.

Streaming: :func:`evaluate` reads truths one at a time and keeps, per label, only a compact array of
(confidence, is true positive) and a few counters, never the images. Unknown to it: duplicate image
ids (each truth is scored as given) and predictions for images that have no truth (never asked for).
"""

from __future__ import annotations

import csv
import io
import math
import os
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RclsimError
from .files import write_atomically

__all__ = [
    "Truth",
    "Prediction",
    "SweepPoint",
    "LabelMetrics",
    "Average",
    "Report",
    "evaluate",
    "ratio_iou",
    "match_detections",
    "write_pr_plot",
]


@dataclass(frozen=True)
class Truth:
    """One image's ground truth.

    ``boxes`` holds ``(label name, BoundingBox ratios)`` pairs for object detection; ``labels`` the
    image's class names for classification (ignored when there are boxes).
    """

    image: str
    boxes: Sequence[tuple[str, Mapping[str, float]]] = ()
    labels: Sequence[str] = ()


@dataclass(frozen=True)
class Prediction:
    """One image's DetectCustomLabels answer: its ``CustomLabels`` list, as the service returns it."""

    image: str
    custom_labels: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class SweepPoint:
    """Precision, recall and F1 when keeping a label's detections with ``Confidence >= threshold``."""

    threshold: float
    precision: float
    recall: float | None
    f1: float


@dataclass(frozen=True)
class LabelMetrics:
    """One label's scores. Counts and P/R/F1 are at ``threshold`` (the operating point).

    ``support`` is the number of ground-truth objects (detection) or images (classification);
    ``images`` the number of images whose truth has the label.
    """

    name: str
    support: int
    images: int
    threshold: float
    tp: int
    fp: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    ap: float | None
    best_threshold: float | None
    best_f1: float | None


@dataclass(frozen=True)
class Average:
    """Micro (summed counts) or macro (mean of the labels' defined values) averages over labels."""

    name: str
    support: int
    tp: int | None
    fp: int | None
    fn: int | None
    precision: float | None
    recall: float | None
    f1: float | None
    ap: float | None


@dataclass(frozen=True)
class _Curve:
    """A label's sweep, compactly: distinct confidences (descending) and cumulative tp/fp at each."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    support: int

    def count_at(self, threshold: float) -> tuple[int, int]:
        """(tp, fp) among detections with ``Confidence >= threshold``."""
        kept = int(np.searchsorted(-self.thresholds, -threshold, side="right"))
        if kept == 0:
            return 0, 0
        return int(self.tp[kept - 1]), int(self.fp[kept - 1])

    def f1s(self) -> np.ndarray:
        return 2.0 * self.tp / (self.tp + self.fp + self.support)


_FIELDS = ("support", "tp", "fp", "fn", "precision", "recall", "f1", "ap")


@dataclass(frozen=True)
class Report:
    """What :func:`evaluate` found: per-label metrics (sorted by name), averages and the sweeps."""

    labels: tuple[LabelMetrics, ...]
    micro: Average
    macro: Average
    images: int
    detection_images: int
    classification_images: int
    iou_threshold: float
    min_confidence: float | None
    thresholds: Mapping[str, float] | None
    _curves: Mapping[str, _Curve] = field(repr=False, compare=False)

    def label(self, name: str) -> LabelMetrics:
        """The metrics of label ``name``; ``KeyError`` if no truth or prediction had it."""
        for metrics in self.labels:
            if metrics.name == name:
                return metrics
        raise KeyError(name)

    def sweep(self, name: str) -> list[SweepPoint]:
        """The label's precision/recall/F1 at each distinct confidence, highest threshold first.

        Built on request from the compact per-label arrays, so a large evaluation holds no per-point
        objects until someone asks for them.
        """
        curve = self._curves[name]
        f1s = curve.f1s()
        return [
            SweepPoint(
                threshold=float(t),
                precision=float(tp) / float(tp + fp),
                recall=float(tp) / curve.support if curve.support else None,
                f1=float(f1),
            )
            for t, tp, fp, f1 in zip(curve.thresholds, curve.tp, curve.fp, f1s, strict=True)
        ]

    def assumed_thresholds(self) -> dict[str, float]:
        """Each label's best threshold (0-100), ready for ``evaluate(thresholds=...)`` or a fake model."""
        return {m.name: m.best_threshold for m in self.labels if m.best_threshold is not None}

    def to_dict(self, *, sweep: bool = True) -> dict[str, Any]:
        """JSON-ready: settings, one entry per label (with its sweep unless ``sweep=False``), averages."""
        labels = []
        for metrics in self.labels:
            entry: dict[str, Any] = dict(vars(metrics))
            if sweep:
                entry["sweep"] = [dict(vars(point)) for point in self.sweep(metrics.name)]
            labels.append(entry)
        return {
            "images": self.images,
            "detection_images": self.detection_images,
            "classification_images": self.classification_images,
            "iou_threshold": self.iou_threshold,
            "min_confidence": self.min_confidence,
            "thresholds": dict(self.thresholds) if self.thresholds is not None else None,
            "labels": labels,
            "micro": dict(vars(self.micro)),
            "macro": dict(vars(self.macro)),
        }

    def to_summary(self) -> dict[str, Any]:
        """The evaluation in the shape of the console's ``EvaluationSummary-<project>-<version>.json``.

        As the console reports it: each label (those with ground truth, sorted by F1, best first) at its
        assumed threshold, given 0-1 like the service's ``Threshold``; aggregated metrics are the mean
        of the labels' (this reproduces the documented sample's numbers), plus ``AveragePrecision``
        (mAP) when any image was a detection image. ``AverageRecall`` and ``ConfusionMatrix`` are not
        computed. Undefined values are ``None`` as everywhere here.
        """
        results: list[dict[str, Any]] = []
        for metrics in self.labels:
            if metrics.support == 0:
                continue
            # A label with ground truth but no detection has recall 0, F1 0, precision undefined.
            precision, recall, f1, threshold = None, 0.0, 0.0, None
            if metrics.best_threshold is not None and metrics.best_f1 is not None:
                tp, fp = self._curves[metrics.name].count_at(metrics.best_threshold)
                precision, recall, f1 = tp / (tp + fp), tp / metrics.support, metrics.best_f1
                threshold = metrics.best_threshold / 100.0
            results.append(
                {
                    "Label": metrics.name,
                    "NumberOfTestingImages": metrics.images,
                    "Metrics": {
                        "Threshold": threshold,
                        "Precision": precision,
                        "Recall": recall,
                        "F1Score": f1,
                    },
                }
            )
        results.sort(key=lambda r: -r["Metrics"]["F1Score"])  # stable: equal F1 stay in name order
        aggregated: dict[str, Any] = {
            key: _mean([r["Metrics"][key] for r in results]) for key in ("Precision", "Recall", "F1Score")
        }
        if self.detection_images:
            aggregated["AveragePrecision"] = self.macro.ap
        return {
            "Version": 1,
            "EvaluationDetails": {
                "Labels": [r["Label"] for r in results],
                "NumberOfTestingImages": self.images,
            },
            "AggregatedEvaluationResults": {"Metrics": aggregated},
            "LabelEvaluationResults": results,
        }

    def _rows(self) -> list[tuple[str, str, Mapping[str, Any]]]:
        rows: list[tuple[str, str, Mapping[str, Any]]] = [("label", m.name, vars(m)) for m in self.labels]
        rows.append(("micro", "", vars(self.micro)))
        rows.append(("macro", "", vars(self.macro)))
        return rows

    def to_csv(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """One row per label, then ``micro`` and ``macro`` rows (column ``scope`` tells them apart, so a
        label called "micro" cannot be mistaken for the average). Full float precision; None is an
        empty cell. Refuses an existing file unless ``overwrite``.
        """
        columns = ("scope", "label", *_FIELDS, "best_threshold", "best_f1", "threshold", "images")
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for scope, name, values in self._rows():
            writer.writerow([scope, name, *(_csv_cell(values.get(c)) for c in columns[2:])])
        return _write_text(Path(path), buffer.getvalue(), overwrite)

    def table(self) -> str:
        """An aligned plain-text table: one line per label, then the micro and macro averages."""
        header = ["label", "support", "tp", "fp", "fn", "precision", "recall", "F1", "AP", "best thr"]
        lines = []
        for scope, name, values in self._rows():
            shown = name if scope == "label" else f"({scope})"
            lines.append(
                [shown]
                + [_cell(values.get(key), 4) for key in _FIELDS]
                + [_cell(values.get("best_threshold"), 3)]
            )
        widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]

        def fmt(row: list[str]) -> str:
            cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
            return "  ".join(cells).rstrip()

        rule = "-" * len(fmt(["-" * w for w in widths]))
        out = [fmt(header), rule]
        out += [fmt(row) for row in lines[: len(self.labels)]]
        out += [rule] + [fmt(row) for row in lines[len(self.labels) :]]
        return "\n".join(out) + "\n"


def _cell(value: Any, decimals: int) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def _csv_cell(value: Any) -> Any:
    return "" if value is None else value


def _mean(values: Iterable[float | None]) -> float | None:
    defined = [v for v in values if v is not None]
    return math.fsum(defined) / len(defined) if defined else None


def _write_text(path: Path, text: str, overwrite: bool) -> Path:
    return write_atomically(path, text.encode("utf-8"), overwrite=overwrite)


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


# ---------------------------------------------------------------------------------------- evaluation


class _Scores:
    """Everything kept per label while streaming: 9 bytes per detection plus two counters."""

    __slots__ = ("confidences", "hits", "support", "images")

    def __init__(self) -> None:
        self.confidences = array("d")
        self.hits = bytearray()
        self.support = 0
        self.images = 0

    def add(self, confidence: float, hit: bool) -> None:
        self.confidences.append(confidence)
        self.hits.append(hit)


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


def _entry(scores: dict[str, _Scores], name: str) -> _Scores:
    entry = scores.get(name)
    if entry is None:
        entry = scores[name] = _Scores()
    return entry


def _score_detection(
    truth: Truth, detections: list[_Detection], scores: dict[str, _Scores], iou_threshold: float
) -> None:
    try:
        boxes = _parse_truth(truth.boxes)
    except RclsimError as exc:  # the message is built only on failure: this runs for every image
        raise RclsimError(f"truth for {truth.image!r}: {exc}") from None
    counted: dict[str, int] = {}
    for name, _ in boxes:
        counted[name] = counted.get(name, 0) + 1
    for name, count in counted.items():
        entry = _entry(scores, name)
        entry.support += count
        entry.images += 1
    for (name, confidence, _), matched in zip(
        detections, _greedy(boxes, detections, iou_threshold), strict=True
    ):
        _entry(scores, name).add(confidence, matched >= 0)


def _score_classification(truth: Truth, detections: list[_Detection], scores: dict[str, _Scores]) -> None:
    wanted = dict.fromkeys(truth.labels)
    for name in wanted:
        entry = _entry(scores, name)
        entry.support += 1
        entry.images += 1
    best: dict[str, float] = {}
    for name, confidence, _ in detections:
        if name not in best or confidence > best[name]:
            best[name] = confidence
    for name, confidence in best.items():
        _entry(scores, name).add(confidence, name in wanted)


def _check_percent(value: float, what: str) -> float:
    value = float(value)
    if not (math.isfinite(value) and 0.0 <= value <= 100.0):
        raise ValueError(f"{what} must be a confidence from 0 to 100, got {value!r}")
    return value


def _lookup(
    predictions: Mapping[str, Prediction] | Callable[[str], Prediction],
) -> Callable[[str], Prediction]:
    if isinstance(predictions, Mapping):
        table = predictions

        def get(image: str) -> Prediction:
            try:
                return table[image]
            except KeyError:
                raise RclsimError(f"no prediction for image {image!r}") from None

        return get
    if callable(predictions):
        return predictions
    raise TypeError("predictions must be a mapping of image id to Prediction, or a function of the image id")


def _curve(entry: _Scores) -> _Curve:
    if not entry.confidences:
        empty_int = np.zeros(0, dtype=np.int64)
        return _Curve(np.zeros(0, dtype=np.float64), empty_int, empty_int, entry.support)
    confidences = np.frombuffer(entry.confidences, dtype=np.float64)
    hits = np.frombuffer(entry.hits, dtype=np.uint8)
    order = np.argsort(-confidences, kind="stable")
    ordered = confidences[order]
    tp = np.cumsum(hits[order], dtype=np.int64)
    fp = np.arange(1, len(ordered) + 1, dtype=np.int64) - tp
    last = np.flatnonzero(np.append(ordered[1:] != ordered[:-1], True))  # last detection of each value
    return _Curve(ordered[last].copy(), tp[last], fp[last], entry.support)


def _average_precision(curve: _Curve) -> float | None:
    if curve.support == 0:
        return None
    if len(curve.tp) == 0:
        return 0.0
    precision = curve.tp / (curve.tp + curve.fp)
    recall = curve.tp / curve.support
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    steps = np.diff(recall, prepend=0.0)
    return math.fsum(float(s * p) for s, p in zip(steps, envelope, strict=True) if s > 0)


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _label_metrics(name: str, entry: _Scores, curve: _Curve, threshold: float) -> LabelMetrics:
    tp, fp = curve.count_at(threshold)
    fn = entry.support - tp
    best_threshold = best_f1 = None
    if len(curve.thresholds):
        f1s = curve.f1s()
        best = int(np.argmax(f1s))  # first maximum = highest threshold among ties
        best_threshold, best_f1 = float(curve.thresholds[best]), float(f1s[best])
    return LabelMetrics(
        name=name,
        support=entry.support,
        images=entry.images,
        threshold=threshold,
        tp=tp,
        fp=fp,
        fn=fn,
        precision=_ratio(tp, tp + fp),
        recall=_ratio(tp, tp + fn),
        f1=_ratio(2 * tp, 2 * tp + fp + fn),
        ap=_average_precision(curve),
        best_threshold=best_threshold,
        best_f1=best_f1,
    )


def evaluate(
    truths: Iterable[Truth],
    predictions: Mapping[str, Prediction] | Callable[[str], Prediction],
    *,
    min_confidence: float | None = None,
    thresholds: Mapping[str, float] | None = None,
    iou_threshold: float = 0.5,
) -> Report:
    """Score each truth against its prediction and summarize per label (see the module docstring).

    ``predictions`` maps an image id to its :class:`Prediction`, or is a function called once per
    truth (e.g. one that calls DetectCustomLabels with ``MinConfidence=0``), so the images are never
    all in memory. A missing prediction, or one whose ``image`` differs from the truth's, raises
    :class:`RclsimError` rather than scoring the image as "nothing found". ``min_confidence`` and
    ``thresholds`` (per label) set the operating point, on the 0-100 Confidence scale; the sweep, AP
    and best thresholds always use every detection.
    """
    if min_confidence is not None:
        min_confidence = _check_percent(min_confidence, "min_confidence")
    if thresholds is not None:
        thresholds = {
            name: _check_percent(value, f"threshold of {name!r}") for name, value in thresholds.items()
        }
    iou_threshold = float(iou_threshold)
    if not (0.0 < iou_threshold <= 1.0):
        raise ValueError(f"iou_threshold must be in (0, 1], got {iou_threshold!r}")
    lookup = _lookup(predictions)

    scores: dict[str, _Scores] = {}
    images = detection_images = 0
    for truth in truths:
        prediction = lookup(truth.image)
        if prediction.image != truth.image:
            raise RclsimError(f"prediction for image {prediction.image!r} given for {truth.image!r}")
        try:
            detections = _parse_labels(prediction.custom_labels)
        except RclsimError as exc:
            raise RclsimError(f"prediction for {truth.image!r}: {exc}") from None
        if truth.boxes or not truth.labels:
            _score_detection(truth, detections, scores, iou_threshold)
            detection_images += 1
        else:
            _score_classification(truth, detections, scores)
        images += 1

    curves: dict[str, _Curve] = {}
    labels = []
    for name in sorted(scores):
        entry = scores[name]
        curves[name] = curve = _curve(entry)
        if min_confidence is not None:
            threshold = min_confidence
        else:
            threshold = thresholds.get(name, 0.0) if thresholds else 0.0
        labels.append(_label_metrics(name, entry, curve, threshold))

    tp, fp, fn = (sum(getattr(m, key) for m in labels) for key in ("tp", "fp", "fn"))
    support = sum(m.support for m in labels)
    micro = Average(
        "micro",
        support,
        tp,
        fp,
        fn,
        _ratio(tp, tp + fp),
        _ratio(tp, tp + fn),
        _ratio(2 * tp, 2 * tp + fp + fn),
        None,
    )
    macro = Average(
        "macro",
        support,
        None,
        None,
        None,
        _mean(m.precision for m in labels),
        _mean(m.recall for m in labels),
        _mean(m.f1 for m in labels),
        _mean(m.ap for m in labels),
    )
    return Report(
        labels=tuple(labels),
        micro=micro,
        macro=macro,
        images=images,
        detection_images=detection_images,
        classification_images=images - detection_images,
        iou_threshold=iou_threshold,
        min_confidence=min_confidence,
        thresholds=thresholds,
        _curves=curves,
    )


# ---------------------------------------------------------------------------------------------- plot


def write_pr_plot(
    report: Report,
    path: str | os.PathLike[str],
    *,
    size: tuple[int, int] = (800, 600),
    overwrite: bool = False,
) -> Path:
    """Draw every label's precision-recall curve (labels with ground truth) to a PNG or JPEG.

    OpenCV only, so it needs nothing beyond rclsim's own dependencies. Each label uses its
    :func:`rclsim.drawing.label_color`, the colour its boxes get when drawn, with its AP in the legend.
    ``size`` is ``(width, height)``, at least 320 x 240. Refuses an existing file unless
    ``overwrite`` (:class:`RclsimError`), like every file rclsim writes.
    """
    import cv2

    from .drawing import label_color, write_image

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
