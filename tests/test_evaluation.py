"""rclsim.data.evaluation: hand-computed cases, an independent oracle, streaming memory, and the outputs."""

from __future__ import annotations

import csv
import json
import sys
import tracemalloc
from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rclsim.data.evaluation import (
    Prediction,
    Report,
    Truth,
    evaluate,
    match_detections,
    ratio_iou,
)
from rclsim.reports.drawing import label_color
from rclsim.reports.prplot import write_pr_plot
from rclsim.service.errors import RclsimError

from . import evaluation_oracle as oracle


def box(left: float, top: float, width: float, height: float) -> dict[str, float]:
    return {"Left": left, "Top": top, "Width": width, "Height": height}


def det(name: str, confidence: float, bb: dict[str, float] | None = None) -> dict:
    label: dict = {"Name": name, "Confidence": confidence}
    if bb is not None:
        label["Geometry"] = {"BoundingBox": bb}
    return label


def exact(value: float | None, expected: Fraction | float | None) -> bool:
    """True when a float result is the hand-computed fraction (to the last few bits) or both are None."""
    if value is None or expected is None:
        return value is None and expected is None
    return value == pytest.approx(float(expected), rel=1e-12, abs=1e-15)


# ------------------------------------------------------------------------------- hand-computed case
#
# Three images, two labels. All boxes are multiples of 1/4, so every IoU below is exact in floats.
#
#   img1  truth: car A (0, 0, .5, .5), plate P1 (.5, .5, .25, .25)
#         car 95 on A exactly                       -> car TP (IoU 1)
#         plate 90 on P1 exactly                    -> plate TP
#         car 60 at (.5, .5, .5, .5), touches no car -> car FP
#   img2  truth: car B (.25, .25, .5, .5), car C (0, 0, .25, .25)
#         car 80 on the top half of B               -> IoU .125/.25 = 0.5 exactly -> car TP (B)
#         car 70 on B exactly, B already taken, C does not overlap -> car FP (duplicate)
#         plate 85, no plate here                   -> plate FP
#   img3  truth: plate P2 (0, 0, .5, .25)
#         plate 50 on P2 exactly                    -> plate TP
#         car 40 on P2 exactly: wrong label         -> car FP (and never matches the plate)
#
# car, support 3 (A, B, C); scored detections 95 TP, 80 TP, 70 FP, 60 FP, 40 FP
#   t   tp fp   P     R     F1 = 2tp/(2tp+fp+fn)
#   95   1  0   1     1/3   2/4 = 1/2
#   80   2  0   1     2/3   4/5          <- best: threshold 80, F1 0.8
#   70   2  1   2/3   2/3   4/6 = 2/3
#   60   2  2   1/2   2/3   4/7
#   40   2  3   2/5   2/3   4/8 = 1/2    <- operating point 0: tp 2, fp 3, fn 1
#   AP: recall rises at 95 (to 1/3, envelope max(1, 1, 2/3, 1/2, 2/5) = 1) and at 80 (to 2/3, envelope 1)
#       = 1/3 * 1 + 1/3 * 1 = 2/3
#
# plate, support 2 (P1, P2); scored detections 90 TP, 85 FP, 50 TP
#   90   1  0   1     1/2   2/3
#   85   1  1   1/2   1/2   2/4 = 1/2
#   50   2  1   2/3   1     4/5          <- best: threshold 50, F1 0.8; operating point 0: tp 2, fp 1, fn 0
#   AP: recall 1/2 at 90 (envelope max(1, 1/2, 2/3) = 1), recall 1 at 50 (envelope 2/3)
#       = 1/2 * 1 + 1/2 * 2/3 = 5/6
#
# micro: tp 4, fp 4, fn 1 -> P 1/2, R 4/5, F1 8/13
# macro: P (2/5 + 2/3)/2 = 8/15, R (2/3 + 1)/2 = 5/6, F1 (1/2 + 4/5)/2 = 13/20, mAP (2/3 + 5/6)/2 = 3/4

HAND_TRUTHS = [
    Truth("img1", [("car", box(0, 0, 0.5, 0.5)), ("plate", box(0.5, 0.5, 0.25, 0.25))]),
    Truth("img2", [("car", box(0.25, 0.25, 0.5, 0.5)), ("car", box(0, 0, 0.25, 0.25))]),
    Truth("img3", [("plate", box(0, 0, 0.5, 0.25))]),
]
HAND_PREDICTIONS = {
    "img1": Prediction(
        "img1",
        [
            det("car", 95, box(0, 0, 0.5, 0.5)),
            det("plate", 90, box(0.5, 0.5, 0.25, 0.25)),
            det("car", 60, box(0.5, 0.5, 0.5, 0.5)),
        ],
    ),
    "img2": Prediction(
        "img2",
        [
            det("plate", 85, box(0.6, 0.0, 0.1, 0.1)),
            det("car", 80, box(0.25, 0.25, 0.5, 0.25)),
            det("car", 70, box(0.25, 0.25, 0.5, 0.5)),
        ],
    ),
    "img3": Prediction(
        "img3", [det("plate", 50, box(0, 0, 0.5, 0.25)), det("car", 40, box(0, 0, 0.5, 0.25))]
    ),
}


@pytest.fixture(scope="module")
def hand() -> Report:
    return evaluate(HAND_TRUTHS, HAND_PREDICTIONS)


def test_hand_computed_per_label(hand: Report) -> None:
    car, plate = hand.label("car"), hand.label("plate")
    assert [m.name for m in hand.labels] == ["car", "plate"]
    assert (car.support, car.images, car.tp, car.fp, car.fn) == (3, 2, 2, 3, 1)
    assert exact(car.precision, Fraction(2, 5)) and exact(car.recall, Fraction(2, 3))
    assert exact(car.f1, Fraction(1, 2)) and exact(car.ap, Fraction(2, 3))
    assert car.best_threshold == 80.0 and exact(car.best_f1, Fraction(4, 5))
    assert (plate.support, plate.images, plate.tp, plate.fp, plate.fn) == (2, 2, 2, 1, 0)
    assert exact(plate.precision, Fraction(2, 3)) and plate.recall == 1.0
    assert exact(plate.f1, Fraction(4, 5)) and exact(plate.ap, Fraction(5, 6))
    assert plate.best_threshold == 50.0 and exact(plate.best_f1, Fraction(4, 5))
    assert hand.assumed_thresholds() == {"car": 80.0, "plate": 50.0}
    assert (hand.images, hand.detection_images, hand.classification_images) == (3, 3, 0)


def test_hand_computed_sweep(hand: Report) -> None:
    rows = [(p.threshold, p.precision, p.recall, p.f1) for p in hand.sweep("car")]
    expected = [
        (95, 1, Fraction(1, 3), Fraction(1, 2)),
        (80, 1, Fraction(2, 3), Fraction(4, 5)),
        (70, Fraction(2, 3), Fraction(2, 3), Fraction(2, 3)),
        (60, Fraction(1, 2), Fraction(2, 3), Fraction(4, 7)),
        (40, Fraction(2, 5), Fraction(2, 3), Fraction(1, 2)),
    ]
    assert len(rows) == len(expected)
    for got, want in zip(rows, expected, strict=True):
        assert got[0] == want[0] and all(exact(g, w) for g, w in zip(got[1:], want[1:], strict=True))
    assert [p.threshold for p in hand.sweep("plate")] == [90.0, 85.0, 50.0]


def test_hand_computed_averages(hand: Report) -> None:
    micro, macro = hand.micro, hand.macro
    assert (micro.tp, micro.fp, micro.fn, micro.support) == (4, 4, 1, 5)
    assert micro.precision == 0.5 and micro.recall == 0.8 and exact(micro.f1, Fraction(8, 13))
    assert micro.ap is None
    assert (macro.tp, macro.fp, macro.fn) == (None, None, None)
    assert exact(macro.precision, Fraction(8, 15)) and exact(macro.recall, Fraction(5, 6))
    assert exact(macro.f1, Fraction(13, 20)) and exact(macro.ap, Fraction(3, 4))


def test_operating_point_min_confidence_and_per_label_thresholds() -> None:
    # min_confidence 75 keeps car 95, 80 (both TP) and plate 90 (TP), 85 (FP).
    report = evaluate(HAND_TRUTHS, HAND_PREDICTIONS, min_confidence=75)
    car, plate = report.label("car"), report.label("plate")
    assert (car.threshold, car.tp, car.fp, car.fn) == (75.0, 2, 0, 1)
    assert (plate.tp, plate.fp, plate.fn) == (1, 1, 1)
    assert exact(car.f1, Fraction(4, 5)) and plate.f1 == 0.5
    # The sweep, AP and best threshold do not depend on the operating point.
    assert car.ap == evaluate(HAND_TRUTHS, HAND_PREDICTIONS).label("car").ap and car.best_threshold == 80.0
    # Per-label thresholds; a label missing from the mapping keeps everything (threshold 0).
    report = evaluate(HAND_TRUTHS, HAND_PREDICTIONS, thresholds={"car": 80})
    assert (report.label("car").tp, report.label("car").fp) == (2, 0)
    assert (report.label("plate").threshold, report.label("plate").fp) == (0.0, 1)
    # min_confidence wins over thresholds; >= keeps a label exactly at the cut-off.
    report = evaluate(HAND_TRUTHS, HAND_PREDICTIONS, min_confidence=50, thresholds={"plate": 95})
    assert (report.label("plate").tp, report.label("plate").fp) == (2, 1)


# ------------------------------------------------------------------------------ matching rules


def test_iou_exactly_at_threshold_counts() -> None:
    truth = box(0, 0, 0.5, 0.5)
    half = box(0, 0, 0.5, 0.25)  # intersection .125, union .25
    assert ratio_iou(truth, half) == 0.5
    one = [Truth("i", [("car", truth)])]
    assert evaluate(one, {"i": Prediction("i", [det("car", 90, half)])}).label("car").tp == 1
    below = box(0, 0, 0.5, 0.25 - 1e-9)
    assert ratio_iou(truth, below) < 0.5
    assert evaluate(one, {"i": Prediction("i", [det("car", 90, below)])}).label("car").fp == 1
    stricter = evaluate(one, {"i": Prediction("i", [det("car", 90, half)])}, iou_threshold=0.5000001)
    assert (stricter.label("car").tp, stricter.label("car").fn) == (0, 1)


def test_iou_uses_floats_and_clips_to_the_image() -> None:
    # 1 pixel of a 3-pixel image: the article's truncation would make these boxes differ; ratios do not.
    a = box(1 / 3, 0, 1 / 3, 1)
    assert ratio_iou(a, dict(a)) == 1.0
    # A box hanging out of the image is compared by its part inside it.
    assert ratio_iou(box(-0.5, 0, 1.0, 1.0), box(0, 0, 0.5, 1.0)) == 1.0
    assert ratio_iou(box(0.2, 0.2, -0.1, 0.3), box(0, 0, 1, 1)) == 0.0  # negative width: empty


def test_duplicate_detections_on_one_box_are_one_tp_and_fps() -> None:
    truths = [Truth("i", [("car", box(0.1, 0.1, 0.4, 0.4))])]
    labels = [det("car", c, box(0.1, 0.1, 0.4, 0.4)) for c in (70, 90, 80)]
    report = evaluate(truths, {"i": Prediction("i", labels)})
    car = report.label("car")
    assert (car.tp, car.fp, car.fn) == (1, 2, 0)
    # The most confident one is the match: at threshold 90 precision is 1.
    assert [(p.threshold, p.precision) for p in report.sweep("car")][0] == (90.0, 1.0)
    assert car.best_threshold == 90.0 and car.ap == 1.0


def test_detection_goes_to_the_free_box_with_highest_iou() -> None:
    # Two car boxes side by side; the first detection overlaps the right one more.
    left_box, right_box = box(0, 0, 0.5, 0.5), box(0.25, 0, 0.5, 0.5)
    d1 = box(0.2, 0, 0.5, 0.5)  # IoU .45/.55 with right, .3/.7 with left -> right
    d2 = box(0, 0, 0.5, 0.5)  # exact on left
    truths = [Truth("i", [("car", left_box), ("car", right_box)])]
    report = evaluate(truths, {"i": Prediction("i", [det("car", 90, d1), det("car", 80, d2)])})
    assert (report.label("car").tp, report.label("car").fp) == (2, 0)


def test_wrong_label_never_matches() -> None:
    truths = [Truth("i", [("car", box(0, 0, 0.5, 0.5))])]
    report = evaluate(truths, {"i": Prediction("i", [det("plate", 99, box(0, 0, 0.5, 0.5))])})
    car, plate = report.label("car"), report.label("plate")
    assert (car.tp, car.fp, car.fn, car.precision, car.recall, car.f1, car.ap) == (
        0,
        0,
        1,
        None,
        0.0,
        0.0,
        0.0,
    )
    assert car.best_threshold is None and car.best_f1 is None
    assert (plate.support, plate.tp, plate.fp, plate.fn) == (0, 0, 1, 0)
    assert (plate.precision, plate.recall, plate.f1, plate.ap) == (0.0, None, 0.0, None)
    # All its detections are false positives: the "best" threshold is its highest confidence.
    assert plate.best_threshold == 99.0 and plate.best_f1 == 0.0


def test_detection_without_geometry_is_a_false_positive_and_empty_truth_scores_fps() -> None:
    truths = [Truth("i", [("car", box(0, 0, 0.5, 0.5))]), Truth("empty")]
    predictions = {
        "i": Prediction("i", [det("car", 90)]),
        "empty": Prediction("empty", [det("car", 80, box(0, 0, 1, 1)), det("car", 70)]),
    }
    car = evaluate(truths, predictions).label("car")
    assert (car.support, car.tp, car.fp, car.fn) == (1, 0, 3, 1)


def test_classification() -> None:
    # img1 [cat]: cat 90 TP, dog 30 FP.
    # img2 [dog]: cat 80 FP, dog 20 TP, dog 10 (the same name again: counted once, at 20).
    # img3 [cat, dog]: cat 70 TP, dog not predicted -> FN.
    # cat: support 2, sweep 90 (1,0) P1 R1/2 F1 2/3; 80 (1,1) P1/2 R1/2 F1 1/2; 70 (2,1) P2/3 R1 F1 4/5
    #      AP = 1/2*1 + 1/2*2/3 = 5/6; best 70.
    # dog: support 2, sweep 30 (0,1) P0 R0 F1 0; 20 (1,1) P1/2 R1/2 F1 1/2; AP = 1/2 * 1/2 = 1/4; best 20.
    truths = [
        Truth("img1", labels=["cat"]),
        Truth("img2", labels=["dog"]),
        Truth("img3", labels=["cat", "dog"]),
    ]
    geometry = box(0.9, 0.9, 0.1, 0.1)  # ignored for classification
    predictions = {
        "img1": Prediction("img1", [det("cat", 90, geometry), det("dog", 30)]),
        "img2": Prediction("img2", [det("cat", 80), det("dog", 20), det("dog", 10)]),
        "img3": Prediction("img3", [det("cat", 70)]),
    }
    report = evaluate(truths, predictions)
    cat, dog = report.label("cat"), report.label("dog")
    assert (report.detection_images, report.classification_images) == (0, 3)
    assert (cat.support, cat.tp, cat.fp, cat.fn) == (2, 2, 1, 0)
    assert exact(cat.ap, Fraction(5, 6)) and cat.best_threshold == 70.0 and exact(cat.best_f1, Fraction(4, 5))
    assert (dog.support, dog.tp, dog.fp, dog.fn) == (2, 1, 1, 1)
    assert dog.ap == 0.25 and dog.best_threshold == 20.0 and dog.best_f1 == 0.5
    assert [p.threshold for p in report.sweep("dog")] == [30.0, 20.0]
    summary = report.to_summary()
    assert "AveragePrecision" not in summary["AggregatedEvaluationResults"]["Metrics"]


def test_match_detections_is_the_evaluation_rule() -> None:
    truth = [
        ("car", box(0, 0, 0.5, 0.5)),
        ("plate", box(0.5, 0.5, 0.25, 0.25)),
        ("car", box(0.5, 0, 0.5, 0.5)),
    ]
    detections = [
        det("car", 70, box(0, 0, 0.5, 0.5)),  # duplicate of the next, less confident: left over
        det("car", 90, box(0, 0, 0.5, 0.5)),  # truth 0
        det("plate", 80, box(0.5, 0.5, 0.25, 0.25)),  # truth 1
        det("car", 60),  # no box: left over
    ]
    assert match_detections(truth, detections) == ([(1, 0), (2, 1)], [2], [0, 3])
    assert match_detections(truth, detections, iou_threshold=1.0)[0] == [(1, 0), (2, 1)]
    assert match_detections([], []) == ([], [], [])


def test_bad_input() -> None:
    truths = [Truth("i", [("car", box(0, 0, 0.5, 0.5))])]
    with pytest.raises(RclsimError, match="no prediction for image 'i'"):
        evaluate(truths, {})
    with pytest.raises(RclsimError, match="given for 'i'"):
        evaluate(truths, lambda image: Prediction("other", []))
    with pytest.raises(RclsimError, match="Confidence"):
        evaluate(truths, {"i": Prediction("i", [{"Name": "car"}])})
    with pytest.raises(RclsimError, match="finite"):
        evaluate(truths, {"i": Prediction("i", [det("car", 50, box(float("nan"), 0, 1, 1))])})
    with pytest.raises(RclsimError, match="BoundingBox"):
        evaluate([Truth("i", [("car", {"Left": 0})])], {"i": Prediction("i", [])})
    for kwargs in ({"min_confidence": 101}, {"thresholds": {"car": -1}}, {"iou_threshold": 0}):
        with pytest.raises(ValueError):
            evaluate(truths, {"i": Prediction("i", [])}, **kwargs)


def test_empty_evaluation() -> None:
    report = evaluate([], {})
    assert report.labels == () and report.images == 0
    assert report.micro.precision is None and report.macro.ap is None
    assert "(micro)" in report.table()


# ------------------------------------------------------------------------------------- oracle

NAMES = ("a", "b", "c")
grid = st.integers(min_value=0, max_value=56)
size = st.integers(min_value=1, max_value=32)
confidences = st.integers(min_value=0, max_value=20).map(lambda i: i * 5.0) | st.sampled_from(
    [97.59200286865234, 55.5, 0.001, 100.0]
)


def grid_box(left: int, top: int, width: int, height: int) -> dict[str, float]:
    return box(left / 64, top / 64, width / 64, height / 64)


@st.composite
def images(draw: st.DrawFn, index: int) -> tuple[tuple, list[dict]]:
    image = f"img{index}"
    if draw(st.integers(0, 4)) == 0:  # classification
        labels = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
        found = draw(st.lists(st.tuples(st.sampled_from(NAMES), confidences), max_size=4))
        return (image, [], labels), [det(n, c) for n, c in found]
    cells = draw(st.lists(st.tuples(st.sampled_from(NAMES), grid, grid, size, size), max_size=4))
    if draw(st.booleans()) and cells:  # now and then a box hanging out of the image
        n, x, y, w, h = cells[0]
        cells[0] = (n, x - 16, y, w + 32, h)
    boxes = [(n, grid_box(*rest)) for n, *rest in cells]
    found = []
    for n, x, y, w, h in cells:  # near-copies of the truth: overlaps around every IoU threshold
        for _ in range(draw(st.integers(0, 2))):
            dx, dy, dw, dh = (draw(st.integers(-6, 6)) for _ in range(4))
            name = n if draw(st.integers(0, 5)) else draw(st.sampled_from(NAMES))
            found.append(
                det(name, draw(confidences), grid_box(x + dx, y + dy, max(w + dw, 1), max(h + dh, 1)))
            )
    for n, x, y, w, h in draw(
        st.lists(st.tuples(st.sampled_from(NAMES), grid, grid, size, size), max_size=2)
    ):
        found.append(det(n, draw(confidences), grid_box(x, y, w, h)))
    if draw(st.integers(0, 9)) == 0:
        found.append(det(draw(st.sampled_from(NAMES)), draw(confidences)))  # no Geometry
    order = draw(st.permutations(range(len(found))))
    return (image, boxes, []), [found[i] for i in order]


@st.composite
def datasets(draw: st.DrawFn) -> tuple[list[tuple], dict[str, list[dict]]]:
    count = draw(st.integers(min_value=0, max_value=5))
    pairs = [draw(images(i)) for i in range(count)]
    return [t for t, _ in pairs], {t[0]: p for t, p in pairs}


operating_points = st.one_of(
    st.just({}),
    st.builds(lambda c: {"min_confidence": c}, confidences),
    st.builds(lambda d: {"thresholds": d}, st.dictionaries(st.sampled_from(NAMES), confidences, max_size=3)),
)


def same(value: float | None, expected: Fraction | float | None) -> bool:
    if value is None or expected is None:
        return value is None and expected is None
    return value == pytest.approx(float(expected), rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(datasets(), operating_points, st.sampled_from([0.5, 0.5, 0.25, 0.75]))
def test_matches_the_oracle(data: tuple, operating: dict, iou_threshold: float) -> None:
    truths, predictions = data
    report = evaluate(
        [Truth(image, boxes, labels) for image, boxes, labels in truths],
        {image: Prediction(image, labels) for image, labels in predictions.items()},
        iou_threshold=iou_threshold,
        **operating,
    )
    want = oracle.evaluate(truths, predictions, iou_threshold=iou_threshold, **operating)
    assert [m.name for m in report.labels] == [w["name"] for w in want["labels"]]
    for got, expected in zip(report.labels, want["labels"], strict=True):
        assert (got.support, got.tp, got.fp, got.fn) == tuple(
            expected[k] for k in ("support", "tp", "fp", "fn")
        )
        for key in ("precision", "recall", "f1", "ap", "best_f1"):
            assert same(getattr(got, key), expected[key]), (got.name, key)
        assert got.best_threshold == expected["best_threshold"]
        sweep = [(p.threshold, p.precision, p.recall, p.f1) for p in report.sweep(got.name)]
        assert [s[0] for s in sweep] == [s[0] for s in expected["sweep"]]
        for mine, theirs in zip(sweep, expected["sweep"], strict=True):
            assert all(same(a, b) for a, b in zip(mine[1:], theirs[1:], strict=True))
    micro = report.micro
    assert (micro.tp, micro.fp, micro.fn) == tuple(want["micro"][k] for k in ("tp", "fp", "fn"))
    for key in ("precision", "recall", "f1"):
        assert same(getattr(micro, key), want["micro"][key])
    for key in ("precision", "recall", "f1", "ap"):
        assert same(getattr(report.macro, key), want["macro"][key])


def test_oracle_agrees_with_the_hand_computed_case() -> None:
    """The oracle itself is checked against the numbers worked out by hand above."""
    truths = [(t.image, list(t.boxes), list(t.labels)) for t in HAND_TRUTHS]
    predictions = {k: list(p.custom_labels) for k, p in HAND_PREDICTIONS.items()}
    want = {m["name"]: m for m in oracle.evaluate(truths, predictions)["labels"]}
    assert (want["car"]["ap"], want["car"]["best_threshold"], want["car"]["f1"]) == (
        Fraction(2, 3),
        80,
        Fraction(1, 2),
    )
    assert (want["plate"]["ap"], want["plate"]["best_threshold"]) == (Fraction(5, 6), 50)


# ---------------------------------------------------------------------------------- streaming


# The stream's own objects are shared where they can be, so tracemalloc measures evaluate(), not them.
STREAM_BOXES = [("car", box(0.1, 0.1, 0.4, 0.4)), ("plate", box(0.6, 0.6, 0.2, 0.1))]
CARS = [det("car", 50 + k / 10, box(0.1, 0.1, 0.4, 0.4)) for k in range(500)]  # all TP, 500 confidences
PLATES = [det("plate", 30 + k, box(0.5, 0.0, 0.1, 0.1)) for k in range(7)]  # all FP, 7 confidences


def stream(count: int) -> Iterator[Truth]:
    for i in range(count):
        yield Truth(str(i), STREAM_BOXES)


def predict_nothing(image: str) -> Prediction:
    return Prediction(image, [])


def predict_some(image: str) -> Prediction:
    n = int(image)
    return Prediction(image, [CARS[n % 500], PLATES[n % 7]])


def traced_peak(count: int, predict) -> tuple[int, Report]:
    tracemalloc.start()
    try:
        report = evaluate(stream(count), predict)
        return tracemalloc.get_traced_memory()[1], report
    finally:
        tracemalloc.stop()


def test_streaming_memory_does_not_grow_with_images() -> None:
    small, _ = traced_peak(2_000, predict_nothing)
    large, report = traced_peak(20_000, predict_nothing)
    assert report.images == 20_000 and report.label("car").fn == 20_000
    assert large < small + 16 * 1024, (small, large)


def test_streaming_memory_is_the_score_lists() -> None:
    peak, report = traced_peak(20_000, predict_some)
    car, plate = report.label("car"), report.label("plate")
    assert (car.tp, car.fp, plate.tp, plate.fp, plate.fn) == (20_000, 0, 0, 20_000, 20_000)
    assert len(report.sweep("car")) == 500 and len(report.sweep("plate")) == 7
    # 40,000 detections at 9 bytes each, plus sorting scratch for the largest label (about 30 bytes
    # per detection); holding the 20,000 truths and predictions would take tens of megabytes.
    assert peak < 40_000 * 40 + 256 * 1024, peak


def python_calls(count: int, predict) -> tuple[int, Report]:
    """How many Python and builtin calls evaluate() makes over ``count`` images: a measure of its work
    that the machine's speed and load do not change (a wall clock on a shared CI runner does)."""
    calls = 0

    def profile(frame, event, arg) -> None:  # type: ignore[no-untyped-def]
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        report = evaluate(stream(count), predict)
    finally:
        sys.setprofile(previous)
    return calls, report


def test_streaming_work_is_linear_and_small_per_image() -> None:
    """Each image costs the same few calls, however many came before (~70 today: two detections parsed
    and matched to two boxes); the summary's fixed part follows the distinct confidences (507)."""
    small, _ = python_calls(2_000, predict_some)
    large, report = python_calls(8_000, predict_some)
    assert report.images == 8_000 and report.label("car").tp == 8_000
    per_image = (large - small) / 6_000
    assert per_image < 150, per_image
    assert small - 2_000 * per_image < 20_000, (small, per_image)


# ------------------------------------------------------------------------------------- outputs


def test_json(hand: Report) -> None:
    data = json.loads(json.dumps(hand.to_dict()))
    car = next(entry for entry in data["labels"] if entry["name"] == "car")
    assert (car["tp"], car["fp"], car["fn"], car["best_threshold"]) == (2, 3, 1, 80.0)
    assert exact(car["ap"], Fraction(2, 3))
    assert [p["threshold"] for p in car["sweep"]] == [95.0, 80.0, 70.0, 60.0, 40.0]
    assert data["micro"]["ap"] is None and data["macro"]["tp"] is None
    assert "sweep" not in hand.to_dict(sweep=False)["labels"][0]
    undefined = evaluate([Truth("i", [("car", box(0, 0, 1, 1))])], {"i": Prediction("i", [])}).to_dict()
    assert undefined["labels"][0]["precision"] is None and "null" in json.dumps(undefined)


def test_summary_file_shape(hand: Report) -> None:
    summary = json.loads(json.dumps(hand.to_summary()))
    assert summary["EvaluationDetails"] == {"Labels": ["car", "plate"], "NumberOfTestingImages": 3}
    results = {r["Label"]: r for r in summary["LabelEvaluationResults"]}
    assert results["car"]["Metrics"]["Threshold"] == 0.8 and results["plate"]["Metrics"]["Threshold"] == 0.5
    assert results["car"]["NumberOfTestingImages"] == 2
    # At the assumed threshold: car 80 -> P 1, R 2/3; plate 50 -> P 2/3, R 1.
    assert results["car"]["Metrics"]["Precision"] == 1.0 and exact(
        results["car"]["Metrics"]["Recall"], Fraction(2, 3)
    )
    metrics = summary["AggregatedEvaluationResults"]["Metrics"]
    assert exact(metrics["F1Score"], Fraction(4, 5)) and exact(metrics["AveragePrecision"], Fraction(3, 4))
    assert exact(metrics["Precision"], Fraction(5, 6)) and exact(metrics["Recall"], Fraction(5, 6))


def test_csv(hand: Report, tmp_path) -> None:
    path = hand.to_csv(tmp_path / "report.csv")
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["scope"], r["label"]) for r in rows] == [
        ("label", "car"),
        ("label", "plate"),
        ("micro", ""),
        ("macro", ""),
    ]
    car = rows[0]
    assert (car["support"], car["tp"], car["fp"], car["fn"], car["best_threshold"]) == (
        "3",
        "2",
        "3",
        "1",
        "80.0",
    )
    assert exact(float(car["ap"]), Fraction(2, 3)) and float(car["precision"]) == 0.4
    assert rows[2]["ap"] == "" and float(rows[2]["f1"]) == pytest.approx(8 / 13)
    assert exact(float(rows[3]["ap"]), Fraction(3, 4)) and rows[3]["tp"] == ""
    with pytest.raises(RclsimError, match="exists"):
        hand.to_csv(path)
    hand.to_csv(path, overwrite=True)
    with pytest.raises(RclsimError, match="does not exist"):
        hand.to_csv(tmp_path / "missing" / "report.csv")


def test_table(hand: Report) -> None:
    text = hand.table()
    lines = text.splitlines()
    header = lines[0].split()
    assert header == ["label", "support", "tp", "fp", "fn", "precision", "recall", "F1", "AP", "best", "thr"]
    car = next(line for line in lines if line.startswith("car"))
    assert car.split() == ["car", "3", "2", "3", "1", "0.4000", "0.6667", "0.5000", "0.6667", "80.000"]
    micro = next(line for line in lines if line.startswith("(micro)"))
    assert micro.split() == ["(micro)", "5", "4", "4", "1", "0.5000", "0.8000", "0.6154", "-", "-"]
    macro = next(line for line in lines if line.startswith("(macro)"))
    assert macro.split()[-2:] == ["0.7500", "-"]
    # Right-aligned numeric columns: every row's precision cell ends where the header's does.
    end = lines[0].index("precision") + len("precision")
    for line in (car, micro, macro):
        assert line[end - 6 : end] in ("0.4000", "0.5000", "0.5333")


def test_pr_plot(hand: Report, tmp_path) -> None:
    path = write_pr_plot(hand, tmp_path / "pr.png")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (600, 800, 3)
    assert (image != 255).any(axis=2).mean() > 0.01  # axes, grid, curves and text
    for name in ("car", "plate"):
        assert (image == np.array(label_color(name), dtype=np.uint8)).all(axis=2).sum() > 50, name
    before = path.read_bytes()
    with pytest.raises(RclsimError, match="exists"):
        write_pr_plot(hand, path)
    assert path.read_bytes() == before
    write_pr_plot(hand, path, overwrite=True, size=(400, 300))
    assert cv2.imread(str(path)).shape == (300, 400, 3)
    with pytest.raises(ValueError):
        write_pr_plot(hand, tmp_path / "tiny.png", size=(100, 100))
