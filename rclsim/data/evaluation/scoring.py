"""Per-label counts, the threshold sweep, AP and the averages: :func:`evaluate`.

Choices (each follows common practice, PASCAL VOC / COCO; matching is in
:mod:`rclsim.data.evaluation.matching`):

* **Image kind.** A truth with ``boxes`` is scored as object detection; ``labels`` is then ignored. A
  truth with ``labels`` and no ``boxes`` is scored as classification. A truth with neither is a
  detection image with no objects: every predicted label on it is a false positive.
* **Classification.** The unit is (image, label). A predicted name in the truth's labels is a TP,
  one not in them an FP, a truth label not predicted an FN. A name predicted twice on one image
  counts once, at its highest confidence; ``Geometry`` is ignored.
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

Streaming: :func:`evaluate` reads truths one at a time and keeps, per label, only a compact array of
(confidence, is true positive) and a few counters, never the images. Unknown to it: duplicate image
ids (each truth is scored as given) and predictions for images that have no truth (never asked for).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rclsim.data.evaluation.matching import _Detection, _greedy, _parse_labels, _parse_truth
from rclsim.data.evaluation.report import Average, LabelMetrics, Report, _Curve, _mean
from rclsim.service.errors import RclsimError

__all__ = ["Truth", "Prediction", "evaluate"]

if TYPE_CHECKING:  # pragma: no cover
    from rclsim.data.manifest import ManifestEntry


@dataclass(frozen=True)
class Truth:
    """One image's ground truth.

    ``boxes`` holds ``(label name, BoundingBox ratios)`` pairs for object detection; ``labels`` the
    image's class names for classification (ignored when there are boxes).
    """

    image: str
    boxes: Sequence[tuple[str, Mapping[str, float]]] = ()
    labels: Sequence[str] = ()

    @classmethod
    def of_entry(cls, entry: ManifestEntry) -> Truth:
        """A manifest entry's ground truth, keyed by its source-ref: ratio boxes for detection, class
        names for classification (what ``rclsim evaluate`` and the fake's training score against)."""
        boxes = [(b.name, entry.ratio_box(b)) for b in entry.boxes] if entry.width else []
        return cls(entry.source_ref, boxes, () if boxes else tuple(entry.labels))


@dataclass(frozen=True)
class Prediction:
    """One image's DetectCustomLabels answer: its ``CustomLabels`` list, as the service returns it."""

    image: str
    custom_labels: Sequence[Mapping[str, Any]]


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
