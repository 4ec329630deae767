"""A deliberately naive, independent re-implementation of rclsim.data.evaluation's scoring, for tests.

It imports nothing from rclsim and shares none of its shortcuts: exact arithmetic (``Fraction``)
throughout, the greedy matching redone from scratch for every threshold instead of one pass, the
sweep found by trying every confidence that occurs, and AP summed over the distinct recall values.
Slow (cubic and worse), which is fine for the handful of images a property test generates.

Data in plain form:

* a truth is ``(image, boxes, labels)`` with ``boxes`` a list of ``(name, {"Left", "Top", "Width",
  "Height"})`` and ``labels`` a list of names;
* predictions map an image to its ``CustomLabels`` list (dicts with ``Name``, ``Confidence`` and an
  optional ``Geometry.BoundingBox``).

The rules (the same as the module under test documents): boxes make a detection image, else labels
make a classification image, else it is a detection image without objects; detections are taken by
descending confidence, ties in response order, each to the free same-label box of highest IoU
(first box on equal IoU) if IoU >= the threshold; a detection without a box is a false positive;
classification counts each (image, name) once at its highest confidence.
"""

from __future__ import annotations

from fractions import Fraction

Box = tuple[Fraction, Fraction, Fraction, Fraction]


def _clip(v: Fraction) -> Fraction:
    return min(max(v, Fraction(0)), Fraction(1))


def to_box(b: dict) -> Box:
    left, top = Fraction(b["Left"]), Fraction(b["Top"])
    right, bottom = left + Fraction(b["Width"]), top + Fraction(b["Height"])
    x0, y0 = _clip(left), _clip(top)
    return (x0, y0, max(_clip(right), x0), max(_clip(bottom), y0))


def iou(a: Box, b: Box) -> Fraction:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = w * h if w > 0 and h > 0 else Fraction(0)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    union = area_a + area_b - inter
    if union == 0:
        return Fraction(0)
    return inter / union


def is_classification(truth) -> bool:
    _, boxes, labels = truth
    return len(boxes) == 0 and len(labels) > 0


def image_counts(truth, custom_labels, name: str, threshold: float, iou_threshold: float) -> tuple[int, int]:
    """(tp, fp) of label ``name`` on one image, keeping detections with confidence >= threshold."""
    _, boxes, labels = truth
    mine = [d for d in custom_labels if d["Name"] == name]
    if is_classification(truth):
        if not mine:
            return 0, 0
        top = max(d["Confidence"] for d in mine)
        if top < threshold:
            return 0, 0
        return (1, 0) if name in labels else (0, 1)
    kept = [d for d in mine if d["Confidence"] >= threshold]
    # Selection sort by descending confidence, taking the earliest on ties: the response order.
    ordered = []
    while kept:
        pick = 0
        for i in range(1, len(kept)):
            if kept[i]["Confidence"] > kept[pick]["Confidence"]:
                pick = i
        ordered.append(kept.pop(pick))
    gt = [to_box(b) for n, b in boxes if n == name]
    taken = [False] * len(gt)
    tp = fp = 0
    for d in ordered:
        bb = (d.get("Geometry") or {}).get("BoundingBox")
        if bb is None:
            fp += 1
            continue
        box = to_box(bb)
        choice = None
        for j in range(len(gt)):
            if taken[j]:
                continue
            v = iou(box, gt[j])
            if v >= Fraction(iou_threshold) and (choice is None or v > iou(box, gt[choice])):
                choice = j
        if choice is None:
            fp += 1
        else:
            taken[choice] = True
            tp += 1
    return tp, fp


def support(truths, name: str) -> int:
    total = 0
    for truth in truths:
        _, boxes, labels = truth
        if is_classification(truth):
            total += 1 if name in set(labels) else 0
        else:
            total += sum(1 for n, _ in boxes if n == name)
    return total


def counts(truths, predictions, name, threshold, iou_threshold) -> tuple[int, int, int]:
    tp = fp = 0
    for truth in truths:
        a, b = image_counts(truth, predictions[truth[0]], name, threshold, iou_threshold)
        tp += a
        fp += b
    return tp, fp, support(truths, name) - tp


def precision(tp, fp):
    return None if tp + fp == 0 else Fraction(tp, tp + fp)


def recall(tp, fn):
    return None if tp + fn == 0 else Fraction(tp, tp + fn)


def f1(tp, fp, fn):
    if tp + fp + fn == 0:
        return None
    if tp == 0:
        return Fraction(0)
    p, r = precision(tp, fp), recall(tp, fn)
    return 2 * p * r / (p + r)


def all_labels(truths, predictions) -> list[str]:
    names = set()
    for image, boxes, labels in truths:
        names.update(n for n, _ in boxes)
        if not boxes:
            names.update(labels)
        names.update(d["Name"] for d in predictions[image])
    return sorted(names)


def sweep(truths, predictions, name, iou_threshold):
    """[(threshold, tp, fp, fn)] at every confidence where some scored detection sits, highest first."""
    candidates = sorted(
        {d["Confidence"] for t in truths for d in predictions[t[0]] if d["Name"] == name}, reverse=True
    )
    points = []
    previous = 0
    for t in candidates:
        tp, fp, fn = counts(truths, predictions, name, t, iou_threshold)
        if tp + fp > previous:
            points.append((t, tp, fp, fn))
            previous = tp + fp
    return points


def average_precision(points, n_support):
    if n_support == 0:
        return None
    pr = [(Fraction(tp, n_support), Fraction(tp, tp + fp)) for _, tp, fp, _ in points]
    total = Fraction(0)
    last = Fraction(0)
    for r in sorted({r for r, _ in pr}):
        best = max(p for rr, p in pr if rr >= r)
        total += (r - last) * best
        last = r
    return total


def label_metrics(truths, predictions, name, operating_threshold, iou_threshold) -> dict:
    tp, fp, fn = counts(truths, predictions, name, operating_threshold, iou_threshold)
    n = support(truths, name)
    points = sweep(truths, predictions, name, iou_threshold)
    best_t = best_f = None
    for t, a, b, c in points:
        value = f1(a, b, c)
        if best_f is None or value > best_f:
            best_t, best_f = t, value
    return {
        "name": name,
        "support": n,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "precision": precision(tp, fp),
        "recall": recall(tp, fn),
        "f1": f1(tp, fp, fn),
        "ap": average_precision(points, n),
        "best_threshold": best_t,
        "best_f1": best_f,
        "sweep": [(t, precision(a, b), recall(a, c), f1(a, b, c)) for t, a, b, c in points],
    }


def evaluate(truths, predictions, *, min_confidence=None, thresholds=None, iou_threshold=0.5) -> dict:
    """Every label's metrics, plus micro and macro averages, all as exact fractions (or None)."""
    per_label = []
    for name in all_labels(truths, predictions):
        if min_confidence is not None:
            op = min_confidence
        elif thresholds and name in thresholds:
            op = thresholds[name]
        else:
            op = 0.0
        per_label.append(label_metrics(truths, predictions, name, op, iou_threshold))
    tp = sum(m["tp"] for m in per_label)
    fp = sum(m["fp"] for m in per_label)
    fn = sum(m["fn"] for m in per_label)

    def mean(key):
        values = [m[key] for m in per_label if m[key] is not None]
        return sum(values) / len(values) if values else None

    return {
        "labels": per_label,
        "micro": {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": precision(tp, fp),
            "recall": recall(tp, fn),
            "f1": f1(tp, fp, fn),
        },
        "macro": {
            "precision": mean("precision"),
            "recall": mean("recall"),
            "f1": mean("f1"),
            "ap": mean("ap"),
        },
    }
