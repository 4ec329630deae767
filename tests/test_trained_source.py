"""TrainedSource: a trained version answers DetectCustomLabels for the images of its datasets."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from rclsim.data.manifest import Box, ManifestEntry
from rclsim.fake.core import FakeRekognition
from rclsim.fake.recordings import ImageRef
from rclsim.fake.simulation import NoiseModel, simulate_entry
from rclsim.fake.training import EntryMatcher, TrainedSource

ARN = "arn:aws:rekognition:us-east-1:111122223333:project/lot/version/lot.v1/1700000000000"
OTHER = "arn:aws:rekognition:us-east-1:111122223333:project/lot/version/lot.v2/1700000000001"


class DictStore:
    """A dict-backed object store (get/put/describe), counting reads."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.reads = 0

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        self.reads += 1
        return self.objects[(bucket, key)]  # KeyError when missing, as the protocol says

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        self.objects[(bucket, key)] = bytes(data)

    def describe(self) -> str:
        return "a test dict"


def _jpeg(seed: int, size: tuple[int, int] = (80, 96)) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, size=(*size, 3), dtype=np.uint8)
    ok, encoded = cv2.imencode(".jpg", pixels)
    assert ok
    return encoded.tobytes()


def _entry(i: int, *labels: str) -> ManifestEntry:
    boxes = [Box(name, 10 + 5 * j, 12, 40, 30) for j, name in enumerate(labels)]
    return ManifestEntry.detection(f"s3://lot/img/{i}.jpg", 96, 80, boxes)


ENTRIES = [_entry(0, "car", "plate"), _entry(1, "car"), _entry(2, "plate"), _entry(3)]


@pytest.fixture
def store() -> DictStore:
    store = DictStore()
    for i in range(len(ENTRIES)):
        store.put("lot", f"img/{i}.jpg", _jpeg(i))
    return store


def _source(
    store: DictStore | None, entries: Sequence[ManifestEntry] = ENTRIES, **kw: object
) -> TrainedSource:
    calls: list[str] = []

    def versions(arn: str) -> Sequence[ManifestEntry] | None:
        calls.append(arn)
        return entries if arn == ARN else None

    source = TrainedSource(versions, lambda: store, **kw)  # type: ignore[arg-type]
    source.version_calls = calls  # type: ignore[attr-defined]
    return source


def _s3(i: int) -> ImageRef:
    return ImageRef(bucket="lot", key=f"img/{i}.jpg")


def _bytes(data: bytes) -> ImageRef:
    return ImageRef(sha256=hashlib.sha256(data).hexdigest())


def test_it_knows_the_trained_versions_only(store: DictStore) -> None:
    source = _source(store)
    assert source.knows_model(ARN)
    assert not source.knows_model(OTHER)
    assert source.candidates(OTHER, _s3(0)) == []


def test_whether_a_version_exists_is_asked_every_time(store: DictStore) -> None:
    trained = {ARN: ENTRIES}
    source = TrainedSource(trained.get, lambda: store)
    assert source.candidates(ARN, _s3(0))
    del trained[ARN]  # DeleteProjectVersion
    assert not source.knows_model(ARN)


def test_an_s3_image_of_the_datasets_gets_the_simulated_answer_at_min_confidence_0(store: DictStore) -> None:
    source = _source(store)
    (rec,) = source.candidates(ARN, _s3(0))
    assert rec.min_confidence == 0.0 and rec.max_results is None
    assert rec.project_version_arn == ARN
    assert (rec.width, rec.height) == (96, 80)
    expected = simulate_entry(ENTRIES[0], ARN, NoiseModel(), ["car", "plate"])
    assert list(rec.labels) == expected
    assert store.reads == 0  # an S3 request is matched by its key; no image is read


def test_the_noise_model_is_the_sources(store: DictStore) -> None:
    perfect = NoiseModel(miss_rate=0.0, jitter=0.0, clutter_per_image=0.0)
    (rec,) = _source(store, noise=perfect).candidates(ARN, _s3(0))
    assert sorted(label["Name"] for label in rec.labels) == ["car", "plate"]


def test_bytes_are_matched_by_the_sha256_of_the_dataset_images(store: DictStore) -> None:
    source = _source(store)
    (rec,) = source.candidates(ARN, _bytes(_jpeg(2)))
    assert list(rec.labels) == simulate_entry(ENTRIES[2], ARN, NoiseModel(), ["car", "plate"])
    assert store.reads == len(ENTRIES)
    # The index is built once per version.
    (again,) = source.candidates(ARN, _bytes(_jpeg(1)))
    assert list(again.labels) == simulate_entry(ENTRIES[1], ARN, NoiseModel(), ["car", "plate"])
    assert source.candidates(ARN, _bytes(_jpeg(99))) == []
    assert store.reads == len(ENTRIES)


def test_images_that_cannot_be_read_are_skipped_and_said(store: DictStore) -> None:
    del store.objects[("lot", "img/1.jpg")]
    source = _source(store)
    assert source.candidates(ARN, _bytes(_jpeg(1))) == []
    assert len(source.candidates(ARN, _bytes(_jpeg(3)))) == 1
    message = source.not_found_message(ARN, _bytes(_jpeg(1)))
    assert "1 of its 4 dataset images could not be read" in message
    assert "a test dict" in message


def test_without_an_object_store_bytes_cannot_match_and_the_message_says_how(store: DictStore) -> None:
    holder: dict[str, DictStore | None] = {"store": None}
    source = TrainedSource(lambda arn: ENTRIES if arn == ARN else None, lambda: holder["store"])
    assert source.candidates(ARN, _bytes(_jpeg(0))) == []
    message = source.not_found_message(ARN, _bytes(_jpeg(0)))
    assert "--s3-dir" in message and "RCLSIM_S3_DIR" in message
    # The store may come later (moto started after the fake): the index is built then.
    holder["store"] = store
    assert len(source.candidates(ARN, _bytes(_jpeg(0)))) == 1


def test_the_not_found_message_says_what_the_model_knows_and_how_to_ask(store: DictStore) -> None:
    source = _source(store)
    message = source.not_found_message(ARN, ImageRef(bucket="lot", key="elsewhere.jpg"))
    assert ARN in message
    assert "s3://lot/elsewhere.jpg" in message
    assert "4 images" in message and "s3://lot/img/0.jpg" in message
    assert "S3Object" in message and "bytes" in message
    assert OTHER in source.not_found_message(OTHER, _s3(0))


def test_an_s3_request_whose_key_differs_matches_by_its_bytes(store: DictStore) -> None:
    # The core reads an S3 object when it can, and hands its sha256 along with the key.
    source = _source(store)
    ref = ImageRef(bucket="copies", key="same.jpg", sha256=hashlib.sha256(_jpeg(0)).hexdigest())
    assert len(source.candidates(ARN, ref)) == 1


def test_the_entries_are_read_once_per_version(store: DictStore) -> None:
    source = _source(store)
    for _ in range(3):
        source.candidates(ARN, _s3(0))
    assert source.version_calls.count(ARN) == 1  # type: ignore[attr-defined]
    source.forget(ARN)
    source.candidates(ARN, _s3(0))
    assert source.version_calls.count(ARN) == 2  # type: ignore[attr-defined]


def test_the_matcher_matches_bare_file_names_as_the_sim_backend_does() -> None:
    bare = ManifestEntry.classification("photo.jpg", ["cat"])
    matcher = EntryMatcher([bare, *ENTRIES], read=lambda ref: None)
    assert matcher.find(ImageRef(bucket="any", key="dir/photo.jpg")) is bare
    assert matcher.find(ImageRef(bucket="lot", key="img/2.jpg")) is ENTRIES[2]
    assert matcher.label_names == ("car", "cat", "plate")


# -- through the core ----------------------------------------------------------------------------------
def test_detect_through_the_core_filters_the_simulated_answer(store: DictStore) -> None:
    fake = FakeRekognition(_source(store), objects=store)
    everything = fake.call(
        "DetectCustomLabels",
        {
            "ProjectVersionArn": ARN,
            "Image": {"S3Object": {"Bucket": "lot", "Name": "img/0.jpg"}},
            "MinConfidence": 0,
        },
    )["CustomLabels"]
    assert everything == simulate_entry(ENTRIES[0], ARN, NoiseModel(), ["car", "plate"])
    confident = fake.call(
        "DetectCustomLabels",
        {"ProjectVersionArn": ARN, "Image": {"Bytes": _jpeg(0)}, "MinConfidence": 50, "MaxResults": 1},
    )["CustomLabels"]
    assert confident == [label for label in everything if label["Confidence"] >= 50][:1]


def test_an_unknown_image_through_the_core_says_what_the_model_knows(store: DictStore) -> None:
    from botocore.exceptions import ClientError

    fake = FakeRekognition(_source(store), objects=store)
    with pytest.raises(ClientError) as caught:
        fake.call("DetectCustomLabels", {"ProjectVersionArn": ARN, "Image": {"Bytes": _jpeg(42)}})
    assert caught.value.response["Error"]["Code"] == "RecordingNotFoundException"
    assert "dataset images" in caught.value.response["Error"]["Message"]


def test_the_served_answers_are_the_evaluated_ones(store: DictStore) -> None:
    """The trained model serves what training scored: a test image's answer, filtered at the assumed
    thresholds, is the simulation train() evaluated (same label names, same seed)."""
    from rclsim.fake.training import train

    cat = ManifestEntry.classification("s3://lot/img/9.jpg", ["cat"])  # another kind: left out
    outcome = train(ENTRIES[:2], [*ENTRIES[2:], cat], version_arn=ARN)
    assert outcome.completed, outcome.status_message
    served = _source(store, entries=[*outcome.training_entries, *outcome.testing_entries])
    for entry in outcome.testing_entries:
        (rec,) = served.candidates(ARN, ImageRef(bucket="lot", key=entry.source_ref[len("s3://lot/") :]))
        assert list(rec.labels) == simulate_entry(entry, ARN, NoiseModel(), outcome.labels)
    assert served.candidates(ARN, _s3(9)) == []
