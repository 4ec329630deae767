"""Training in the fake: the duration model, the evaluation from sim + evaluate, the failure rules."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rclsim.data.manifest import Box, ManifestEntry
from rclsim.fake.simulation import NoiseModel
from rclsim.fake.training import (
    FAILURE_SECONDS,
    MAX_TRAINING_SECONDS,
    MIN_TRAINING_SECONDS,
    READY_MESSAGE,
    TrainingOutcome,
    train,
    training_seconds,
)

ARN = "arn:aws:rekognition:us-east-1:111122223333:project/lot/version/lot.v1/1700000000000"
PERFECT = NoiseModel(miss_rate=0.0, jitter=0.0, clutter_per_image=0.0)


# -- the duration model --------------------------------------------------------------------------------
def test_the_articles_two_trainings_take_what_the_article_says() -> None:
    assert training_seconds(500) == 7 * 3600 + 12 * 60
    assert training_seconds(8157) == 8 * 3600 + 45 * 60


def test_duration_is_not_proportional_to_images() -> None:
    # 16 times the images took only about a fifth longer in the article.
    assert training_seconds(1000) < 1.1 * training_seconds(500)
    assert training_seconds(0) > 0.9 * training_seconds(500)


def test_duration_is_clamped_to_the_documented_range() -> None:
    assert MIN_TRAINING_SECONDS == 30 * 60 and MAX_TRAINING_SECONDS == 24 * 3600
    assert training_seconds(10_000_000) == MAX_TRAINING_SECONDS
    assert training_seconds(0) >= MIN_TRAINING_SECONDS


@given(st.integers(min_value=0, max_value=2_000_000), st.integers(min_value=0, max_value=2_000_000))
def test_duration_is_monotone(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    assert training_seconds(lo) <= training_seconds(hi)


@given(st.integers(min_value=0, max_value=10**12))
def test_duration_is_always_in_range(images: int) -> None:
    seconds = training_seconds(images)
    assert isinstance(seconds, float) and math.isfinite(seconds)
    assert MIN_TRAINING_SECONDS <= seconds <= MAX_TRAINING_SECONDS


@pytest.mark.parametrize("bad", [-1, 2.5, True, "500", None])
def test_duration_refuses_what_is_not_a_count_of_images(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="images"):
        training_seconds(bad)  # type: ignore[arg-type]


# -- datasets ------------------------------------------------------------------------------------------
def _det(name: str, *labels: str, bucket: str = "lot") -> ManifestEntry:
    boxes = [Box(label, 40 + 30 * i, 50 + 20 * i, 200, 120) for i, label in enumerate(labels)]
    return ManifestEntry.detection(f"s3://{bucket}/{name}.jpg", 1280, 720, boxes)


def _cls(name: str, *labels: str) -> ManifestEntry:
    return ManifestEntry.classification(f"s3://pets/{name}.jpg", labels)


TRAIN = [_det(f"train-{i}", "car", "plate") for i in range(12)]
TEST = [_det(f"test-{i}", "car", "plate") for i in range(8)] + [_det("test-empty")]


def test_a_detection_model_trains_and_is_evaluated_on_the_test_set() -> None:
    outcome = train(TRAIN, TEST, version_arn=ARN)
    assert isinstance(outcome, TrainingOutcome)
    assert outcome.status == "TRAINING_COMPLETED"
    assert outcome.status_message == READY_MESSAGE == "The model is ready to run."
    assert outcome.seconds == training_seconds(len(TRAIN) + len(TEST))
    assert outcome.labels == ("car", "plate")
    summary = outcome.summary
    assert summary is not None
    details = summary["EvaluationDetails"]
    assert details["ProjectVersionArn"] == ARN
    assert details["NumberOfTrainingImages"] == len(TRAIN)
    assert details["NumberOfTestingImages"] == len(TEST)
    assert sorted(details["Labels"]) == ["car", "plate"]
    metrics = summary["AggregatedEvaluationResults"]["Metrics"]
    assert outcome.f1 == metrics["F1Score"]
    assert outcome.f1 is not None and 0.0 <= outcome.f1 <= 1.0
    assert "AveragePrecision" in metrics  # object detection
    per_label = {r["Label"]: r for r in summary["LabelEvaluationResults"]}
    assert set(per_label) == {"car", "plate"}
    assert outcome.thresholds == {name: r["Metrics"]["Threshold"] for name, r in per_label.items()}
    assert all(0.0 <= t <= 1.0 for t in outcome.thresholds.values())
    assert per_label["car"]["NumberOfTestingImages"] == 8


def test_a_perfect_model_scores_one_and_a_noisy_one_less() -> None:
    perfect = train(TRAIN, TEST, version_arn=ARN, noise=PERFECT)
    assert perfect.f1 == 1.0
    for result in perfect.summary["LabelEvaluationResults"]:  # type: ignore[index]
        assert result["Metrics"]["Precision"] == result["Metrics"]["Recall"] == 1.0
    noisy = train(TRAIN, TEST, version_arn=ARN, noise=NoiseModel(miss_rate=0.5, clutter_per_image=6))
    assert noisy.f1 is not None and noisy.f1 < 1.0


def test_training_is_deterministic_and_follows_the_seed() -> None:
    first = train(TRAIN, TEST, version_arn=ARN)
    assert train(list(TRAIN), list(TEST), version_arn=ARN) == first
    other = train(TRAIN, TEST, version_arn=ARN, noise=NoiseModel(seed=7))
    assert other.summary != first.summary


def test_a_classification_model_trains_without_average_precision() -> None:
    train_set = [_cls(f"a{i}", "cat") for i in range(4)] + [_cls(f"b{i}", "dog") for i in range(4)]
    test_set = [_cls("t1", "cat"), _cls("t2", "dog"), _cls("t3", "cat", "dog")]
    outcome = train(train_set, test_set, version_arn=ARN)
    assert outcome.status == "TRAINING_COMPLETED", outcome.status_message
    metrics = outcome.summary["AggregatedEvaluationResults"]["Metrics"]  # type: ignore[index]
    assert "AveragePrecision" not in metrics
    assert outcome.labels == ("cat", "dog")
    assert set(outcome.thresholds) <= {"cat", "dog"}


# -- failure rules -------------------------------------------------------------------------------------
def _failed(outcome: TrainingOutcome, message_start: str) -> None:
    assert outcome.status == "TRAINING_FAILED"
    assert outcome.status_message.startswith(message_start), outcome.status_message
    assert outcome.f1 is None and outcome.summary is None and outcome.thresholds == {}
    assert outcome.seconds == FAILURE_SECONDS


def test_an_empty_training_dataset_fails_naming_it() -> None:
    outcome = train([], TEST, version_arn=ARN)
    _failed(outcome, "The manifest file is empty.")
    assert "training dataset" in outcome.status_message


def test_an_empty_testing_dataset_fails_naming_it() -> None:
    outcome = train(TRAIN, [], version_arn=ARN)
    _failed(outcome, "The manifest file is empty.")
    assert "testing dataset" in outcome.status_message


def test_a_dataset_without_labels_has_too_few_labels() -> None:
    no_boxes = [_det(f"e{i}") for i in range(3)]
    _failed(train(no_boxes, TEST, version_arn=ARN), "The manifest file has too few labels.")
    outcome = train(TRAIN, no_boxes, version_arn=ARN)
    _failed(outcome, "The manifest file has too few labels.")
    assert "testing dataset" in outcome.status_message


def test_one_label_is_enough_for_detection_but_classification_needs_two() -> None:
    cars = [_det(f"c{i}", "car") for i in range(3)]
    assert train(cars, cars, version_arn=ARN).status == "TRAINING_COMPLETED"
    cats = [_cls(f"c{i}", "cat") for i in range(3)]
    outcome = train(cats, cats, version_arn=ARN)
    _failed(outcome, "The manifest file has too few labels.")
    assert "2" in outcome.status_message


def test_too_many_labels_fail() -> None:
    many = [_det(f"m{i}", f"label{i}") for i in range(251)]
    _failed(train(many, many, version_arn=ARN), "The manifest file has too many labels.")
    exactly = many[:250]
    assert train(exactly, exactly, version_arn=ARN).status == "TRAINING_COMPLETED"


def test_test_labels_must_overlap_training_labels_by_half() -> None:
    train_set = [_det("a", "car"), _det("b", "plate")]
    half = [_det("x", "car"), _det("y", "bus")]  # 1 of 2 test labels known: 50%, enough
    assert train(train_set, half, version_arn=ARN).status == "TRAINING_COMPLETED"
    under = [_det("x", "car"), _det("y", "bus"), _det("z", "truck")]  # 1 of 3
    _failed(
        train(train_set, under, version_arn=ARN),
        "Less than 50% label overlap between the training and testing manifest files.",
    )


def test_mixed_kinds_keep_the_training_sets_use_case_and_say_usable() -> None:
    # Mostly detection: the model locates objects; classification lines are not used.
    train_set = [*TRAIN, _cls("p1", "cat"), _cls("p2", "dog")]
    outcome = train(train_set, TEST, version_arn=ARN)
    assert outcome.status == "TRAINING_COMPLETED"
    assert outcome.labels == ("car", "plate")
    assert outcome.summary["EvaluationDetails"]["NumberOfTrainingImages"] == len(TRAIN)  # type: ignore[index]
    assert outcome.training_entries == tuple(TRAIN) and outcome.testing_entries == tuple(TEST)
    # With lines left out, a short overlap is of the *usable* labels.
    test_set = [_det("t", "car"), *[_det(f"u{i}", f"x{i}") for i in range(3)]]  # 1 of 4 known
    _failed(
        train(train_set, test_set, version_arn=ARN),
        "Less than 50% usable label overlap between the training and testing manifest files.",
    )
    # Only classification lines in the testing set: none usable by a detection model.
    pets = [_cls("q1", "cat"), _cls("q2", "dog")]
    _failed(train(TRAIN, pets, version_arn=ARN), "The manifest file has too few usable labels.")


def test_more_classification_lines_make_a_classification_model() -> None:
    train_set = [_det("d", "car"), *[_cls(f"p{i}", ("cat", "dog")[i % 2]) for i in range(4)]]
    outcome = train(train_set, [_cls("t1", "cat"), _cls("t2", "dog")], version_arn=ARN)
    assert outcome.status == "TRAINING_COMPLETED", outcome.status_message
    assert outcome.labels == ("cat", "dog")


def test_the_outcome_is_frozen() -> None:
    outcome = train(TRAIN, TEST, version_arn=ARN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        outcome.status = "TRAINING_FAILED"  # type: ignore[misc]


def test_bad_input_is_refused_clearly() -> None:
    with pytest.raises(TypeError, match="ManifestEntry"):
        train([{"source-ref": "s3://b/k"}], TEST, version_arn=ARN)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="version_arn"):
        train(TRAIN, TEST, version_arn="")


def test_more_rows_than_the_limit_fail_the_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over MAX_ROWS lines in a dataset is "too many rows" (the limit lowered here: building 250,001
    entries would only make the test slow; the rule is the comparison)."""
    import rclsim.fake.training as training

    monkeypatch.setattr(training, "MAX_ROWS", len(TRAIN) - 1)
    outcome = train(TRAIN, TEST, version_arn=ARN)
    assert outcome.status == "TRAINING_FAILED"
    assert outcome.status_message.startswith("The manifest file has too many rows.")
    assert f"the limit is {len(TRAIN) - 1}" in outcome.status_message
    monkeypatch.setattr(training, "MAX_ROWS", len(TRAIN))
    assert train(TRAIN, TEST, version_arn=ARN).status == "TRAINING_COMPLETED"


def test_a_label_without_testing_images_has_no_assumed_threshold() -> None:
    """The summary has no entry for a label the testing set lacks, so the version declares no threshold
    for it: DetectCustomLabels without MinConfidence then keeps its detections (the core keeps labels
    without a declared threshold)."""
    train_entries = [_det(f"train-{i}", "car", "plate", "wheel") for i in range(12)]
    outcome = train(train_entries, TEST, version_arn=ARN, noise=PERFECT)
    assert outcome.status == "TRAINING_COMPLETED"
    assert "wheel" in outcome.labels
    assert set(outcome.thresholds) == {"car", "plate"}
    assert "wheel" not in {r["Label"] for r in outcome.summary["LabelEvaluationResults"]}
