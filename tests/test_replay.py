"""The replay backend answers like the service: filtering, ordering, errors, check order."""

from __future__ import annotations

import json
import os
import shutil
import struct
import warnings
import zlib
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

import rclsim
from rclsim.fake.core import RecordingMismatchWarning

from .conftest import ARTICLE_ARN, ARTICLE_S3, DATA, running_article_backend

FULL = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
FILTERED_75 = json.loads((DATA / "article_filtered_min_confidence_75.json").read_text())
OTHER_ARN = "arn:aws:rekognition:us-east-1:111122223333:project/other/version/other.1/1700000000000"


def code_of(exc_info: pytest.ExceptionInfo[BaseException]) -> str:
    return exc_info.value.response["Error"]["Code"]  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def backend() -> rclsim.Backend:
    return running_article_backend()  # type: ignore[return-value]


def png_bytes(width: int, height: int) -> bytes:
    """A real, minimal PNG of the given size (one grey channel)."""
    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


# -- the article ---------------------------------------------------------------------------------
def test_article_min_confidence_75_gives_exactly_the_two_labels(backend: rclsim.Backend) -> None:
    response = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    assert response == FILTERED_75


def test_article_without_min_confidence_gives_the_whole_recording(backend: rclsim.Backend) -> None:
    response = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    assert response == FULL
    assert len(response["CustomLabels"]) == 31


def test_same_recording_answers_the_stand_in_image_bytes(
    backend: rclsim.Backend, article_image_bytes: bytes
) -> None:
    response = backend.detect_custom_labels(
        ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": article_image_bytes}, MinConfidence=75
    )
    assert response == FILTERED_75


def test_mutating_a_response_cannot_change_the_recording(backend: rclsim.Backend) -> None:
    first = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    first["CustomLabels"][0]["Name"] = "mutated"
    first["CustomLabels"][0]["Geometry"]["BoundingBox"]["Left"] = 9.0
    first["CustomLabels"].clear()
    again = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    assert again == FILTERED_75


# -- MinConfidence and MaxResults ----------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    m=st.floats(min_value=FULL["CustomLabels"][-1]["Confidence"], max_value=100),
    k=st.one_of(st.none(), st.integers(min_value=0, max_value=40)),
)
def test_filter_and_cut_match_the_service_rules(m: float, k: int | None) -> None:
    backend = running_article_backend()
    params = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": m}
    if k is not None:
        params["MaxResults"] = k
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the recording covers every m >= its lowest confidence exactly
        labels = backend.detect_custom_labels(**params)["CustomLabels"]
    expected = sorted(
        (lab for lab in FULL["CustomLabels"] if lab["Confidence"] >= m), key=lambda lab: -lab["Confidence"]
    )
    if k is not None:
        expected = expected[:k]
    assert labels == expected
    confidences = [lab["Confidence"] for lab in labels]
    assert confidences == sorted(confidences, reverse=True)
    assert all(c >= m for c in confidences)


def test_min_confidence_equal_to_a_label_keeps_it(backend: rclsim.Backend) -> None:
    exact = FULL["CustomLabels"][1]["Confidence"]  # car, 88.64099884033203
    names = [
        lab["Name"]
        for lab in backend.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=exact
        )["CustomLabels"]
    ]
    assert names == ["vehicle_registration_plate", "car"]


def test_max_results_zero_returns_an_empty_list(backend: rclsim.Backend) -> None:
    response = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MaxResults=0)
    assert response == {"CustomLabels": []}


def test_min_confidence_100_keeps_no_article_label(backend: rclsim.Backend) -> None:
    assert backend.detect_custom_labels(
        ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=100
    ) == {"CustomLabels": []}


# -- recordings made at a threshold --------------------------------------------------------------
def write_recording(
    folder: Path, *, min_confidence: float | None, max_results: int | None, labels: list
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    recording = {
        "format": "rclsim.recording",
        "format_version": 1,
        "operation": "DetectCustomLabels",
        "recorded_at": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "request": {
            "ProjectVersionArn": OTHER_ARN,
            "MinConfidence": min_confidence,
            "MaxResults": max_results,
        },
        "image": {"S3Object": {"Bucket": "bucket-a", "Name": "img/one.png"}, "Width": 640, "Height": 480},
        "response": {"CustomLabels": labels},
    }
    path = folder / "one.json"
    path.write_text(json.dumps(recording))
    return path


def lab(name: str, conf: float) -> dict:
    return {"Name": name, "Confidence": conf}


IMG = {"S3Object": {"Bucket": "bucket-a", "Name": "img/one.png"}}


def test_below_the_recorded_threshold_warns_and_answers_what_it_holds(tmp_path: Path) -> None:
    write_recording(tmp_path, min_confidence=50, max_results=None, labels=[lab("a", 90), lab("b", 60)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    with pytest.warns(RecordingMismatchWarning, match="MinConfidence 50"):
        response = backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=30)
    assert [x["Name"] for x in response["CustomLabels"]] == ["a", "b"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        at_or_above = backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=55)
    assert [x["Name"] for x in at_or_above["CustomLabels"]] == ["a", "b"]


def test_strict_turns_the_inexact_answer_into_an_error(tmp_path: Path) -> None:
    write_recording(tmp_path, min_confidence=50, max_results=None, labels=[lab("a", 90)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False, strict=True)
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=10)
    assert code_of(info) == "RecordingMismatchException"


def test_a_recording_cut_at_max_results_is_exact_only_inside_the_cut(tmp_path: Path) -> None:
    write_recording(tmp_path, min_confidence=0, max_results=2, labels=[lab("a", 90), lab("b", 60)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False, strict=True)
    # Inside what was recorded: exact.
    assert (
        len(
            backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MaxResults=1)["CustomLabels"]
        )
        == 1
    )
    assert [
        x["Name"]
        for x in backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=70)[
            "CustomLabels"
        ]
    ] == ["a"]
    # Past the cut: labels beyond the second are unknown.
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MaxResults=5)
    assert code_of(info) == "RecordingMismatchException"


def test_the_recording_that_answers_exactly_is_preferred(tmp_path: Path) -> None:
    write_recording(tmp_path / "high", min_confidence=80, max_results=None, labels=[lab("a", 90)])
    write_recording(tmp_path / "low", min_confidence=0, max_results=None, labels=[lab("a", 90), lab("z", 5)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False, strict=True)
    names = [
        x["Name"]
        for x in backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=1)[
            "CustomLabels"
        ]
    ]
    assert names == ["a", "z"]


# -- the article's habit: NAME.json beside NAME.jpg ----------------------------------------------
def test_plain_response_beside_an_image_answers_for_any_model(tmp_path: Path) -> None:
    folder = tmp_path / "test-qiita"
    folder.mkdir()
    image = png_bytes(100, 80)
    (folder / "shot.png").write_bytes(image)
    (folder / "shot.json").write_text(json.dumps({"CustomLabels": [lab("x", 70.5), lab("y", 99.0)]}))
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    by_bytes = backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image={"Bytes": image})
    assert [x["Name"] for x in by_bytes["CustomLabels"]] == ["y", "x"]
    by_key = backend.detect_custom_labels(
        ProjectVersionArn=ARTICLE_ARN.replace("1609459200000", "1"),
        Image={"S3Object": {"Bucket": "any-bucket", "Name": "photos/test-qiita/shot.png"}},
        MinConfidence=80,
    )
    assert [x["Name"] for x in by_key["CustomLabels"]] == ["y"]


def test_wild_response_with_response_metadata_replays_without_it(tmp_path: Path) -> None:
    shutil.copy(DATA / "wild" / "responses" / "11-jp-yellow-target-two-boxes.json", tmp_path / "t.json")
    (tmp_path / "t.png").write_bytes(png_bytes(64, 64))
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    out = backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image={"Bytes": png_bytes(64, 64)})
    assert set(out) == {"CustomLabels"} and len(out["CustomLabels"]) == 2


# -- errors, in the service's order --------------------------------------------------------------
def test_unknown_model_is_resource_not_found(backend: rclsim.Backend) -> None:
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=ARTICLE_S3)
    assert code_of(info) == "ResourceNotFoundException"
    assert isinstance(info.value, backend.exceptions.ResourceNotFoundException)


def test_unrecorded_image_names_the_key_and_how_to_record(backend: rclsim.Backend) -> None:
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image={"S3Object": {"Bucket": "my-bucket", "Name": "nope.jpg"}}
        )
    assert code_of(info) == "RecordingNotFoundException"
    message = info.value.response["Error"]["Message"]  # type: ignore[attr-defined]
    assert "s3://my-bucket/nope.jpg" in message and ARTICLE_ARN in message and "NAME.json" in message


@pytest.mark.parametrize(
    ("params", "code", "fragment"),
    [
        (
            {"MinConfidence": 101},
            "ValidationException",
            "1 validation error detected: Value '101' at 'minConfidence' failed to satisfy constraint: "
            "Member must have value less than or equal to 100",
        ),
        (
            {"ProjectVersionArn": "arn:aws:rekognition:xx"},
            "ValidationException",
            "at 'projectVersionArn' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern",
        ),
        (
            {"Image": {"S3Object": {"Bucket": "bad bucket!", "Name": "k"}}},
            "ValidationException",
            "at 'image.s3Object.bucket'",
        ),
        ({"Image": {}}, "InvalidParameterException", "exactly one of Bytes or S3Object"),
        (
            {"Image": {"Bytes": b"\x89PNG", "S3Object": {"Bucket": "abc", "Name": "k"}}},
            "InvalidParameterException",
            "exactly one",
        ),
        ({"Image": {"Bytes": b"GIF89a not an image"}}, "InvalidImageFormatException", "neither PNG nor JPEG"),
        ({"Image": {"Bytes": b"\x89PNG\r\n\x1a\n-truncated"}}, "InvalidImageFormatException", "truncated"),
        ({"Image": {"Bytes": png_bytes(32, 100)}}, "InvalidParameterException", "between 64 and 4096"),
        ({"Image": {"Bytes": png_bytes(64, 2000)}}, "InvalidParameterException", "aspect ratio"),
        (
            {"Image": {"Bytes": b"\xff\xd8\xff" + b"\x00" * (4 * 1024 * 1024)}},
            "ImageTooLargeException",
            "4 MiB",
        ),
    ],
)
def test_bad_parameters_get_the_service_codes(
    backend: rclsim.Backend, params: dict, code: str, fragment: str
) -> None:
    call = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, **params}
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(**call)
    assert code_of(info) == code
    assert fragment in info.value.response["Error"]["Message"]  # type: ignore[attr-defined]


def test_two_violations_are_counted_in_one_message(backend: rclsim.Backend) -> None:
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn="arn:aws:x" * 300, Image=ARTICLE_S3, MinConfidence=200)
    message = info.value.response["Error"]["Message"]  # type: ignore[attr-defined]
    assert message.startswith("3 validation errors detected: ")
    assert "length less than or equal to 2048" in message and "minConfidence" in message


def test_check_order_parameters_then_model_then_image(backend: rclsim.Backend) -> None:
    # A bad parameter wins over an unknown model and a bad image.
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image={"Bytes": b"junk"}, MinConfidence=150)
    assert code_of(info) == "ValidationException"
    # An unknown model wins over a bad image.
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image={"Bytes": b"junk"})
    assert code_of(info) == "ResourceNotFoundException"
    # A bad image wins over a missing recording.
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": b"junk"})
    assert code_of(info) == "InvalidImageFormatException"


@pytest.mark.parametrize(
    "params",
    [
        {"MinConfidence": -1},
        {"MaxResults": -1},
        {"MinConfidence": "75"},
        {"Image": {"S3Object": {"Bucket": "ab", "Name": "k"}}},
        {"Unknown": 1},
    ],
)
def test_what_botocore_checks_on_the_client_raises_param_validation_error(
    backend: rclsim.Backend, params: dict
) -> None:
    with pytest.raises(ParamValidationError):
        backend.detect_custom_labels(**{"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, **params})


def test_missing_required_parameter_raises_param_validation_error(backend: rclsim.Backend) -> None:
    with pytest.raises(ParamValidationError, match="ProjectVersionArn"):
        backend.detect_custom_labels(Image=ARTICLE_S3)


def test_core_rejects_wrong_types_without_crashing() -> None:
    """The core also serves wire front-ends that skip botocore's client-side checks."""
    from rclsim.fake.core import FakeRekognition, ReplaySource
    from rclsim.fake.recordings import RecordingStore

    core = FakeRekognition(ReplaySource(RecordingStore()))
    for bad in (
        {"ProjectVersionArn": 5, "Image": ARTICLE_S3},
        {"ProjectVersionArn": ARTICLE_ARN, "Image": "x"},
        {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": float("nan")},
        {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MaxResults": True},
    ):
        with pytest.raises(ClientError) as info:
            core.call("DetectCustomLabels", bad)
        assert code_of(info) == "SerializationException"
    with pytest.raises(ClientError) as info:
        core.call("DetectCustomLabels", {"Image": ARTICLE_S3})
    assert "Value null at 'projectVersionArn'" in info.value.response["Error"]["Message"]  # type: ignore[attr-defined]


# -- broken recordings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"format": "rclsim.recording", ', "malformed JSON"),
        ('{"CustomLabels": [{"Name": "a", "Confidence": NaN}]}', "malformed JSON"),
        ('{"CustomLabels": [{"Name": "a", "Confidence": 150}]}', "$.CustomLabels[0].Confidence"),
    ],
)
def test_broken_recordings_are_reported_with_their_path(tmp_path: Path, content: str, fragment: str) -> None:
    (tmp_path / "bad.json").write_text(content)
    (tmp_path / "bad.png").write_bytes(png_bytes(64, 64))
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    with pytest.raises(rclsim.RecordingError) as info:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    assert str(tmp_path / "bad.json") in str(info.value) and fragment in str(info.value)
    assert (tmp_path / "bad.json").read_text() == content  # nothing changed


def test_missing_recordings_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(rclsim.RclsimError, match="does not exist"):
        rclsim.get_backend("replay", recordings=[tmp_path / "nope"])


def test_validation_verdict_is_cached_outside_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rclsim.caches.kept import forget_all

    monkeypatch.setenv("RCLSIM_CACHE_DIR", str(tmp_path / "cache"))
    forget_all()  # as in a new process: files read earlier in this one are not read again
    running_article_backend().detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    verdicts = list((tmp_path / "cache" / "validated").iterdir())
    assert len(verdicts) == 2  # the article's recording and its models.json
    # A cached verdict is keyed by content: a changed file is validated again and fails.
    folder = tmp_path / "rec"
    path = write_recording(folder, min_confidence=None, max_results=None, labels=[lab("a", 50)])
    rclsim.get_backend("replay", recordings=[folder]).detect_custom_labels(
        ProjectVersionArn=OTHER_ARN, Image=IMG
    )
    path.write_text(path.read_text().replace('"Confidence": 50', '"Confidence": 500'))
    with pytest.raises(rclsim.RecordingError, match="maximum"):
        rclsim.get_backend("replay", recordings=[folder]).detect_custom_labels(
            ProjectVersionArn=OTHER_ARN, Image=IMG
        )


def test_bytes_as_text_or_file_object_are_sent_as_botocore_sends_them(
    backend: rclsim.Backend, article_image_bytes: bytes, tmp_path: Path
) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(article_image_bytes)
    with path.open("rb") as handle:
        from_file = backend.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": handle}, MinConfidence=75
        )
    assert from_file == FILTERED_75
    with pytest.raises(ClientError) as info:  # text is sent as its UTF-8 bytes: not an image
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": "aGVsbG8="})
    assert code_of(info) == "InvalidImageFormatException"


def test_truncated_images_and_incomplete_s3_objects(
    backend: rclsim.Backend, article_image_bytes: bytes
) -> None:
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": article_image_bytes[:200]}
        )
    assert code_of(info) == "InvalidImageFormatException"
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image={"S3Object": {"Bucket": "my-bucket"}}
        )
    assert code_of(info) == "InvalidParameterException"


def test_max_results_beyond_32_bits_is_a_serialization_error(backend: rclsim.Backend) -> None:
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MaxResults=2**31)
    assert code_of(info) == "SerializationException"


def test_the_index_is_reused_across_stores_and_follows_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rclsim.fake.recordings.answer_files as answer_files  # the one reader of every answer file

    monkeypatch.setenv("RCLSIM_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "rec"
    path = write_recording(folder, min_confidence=None, max_results=None, labels=[lab("a", 90), lab("b", 20)])
    first = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert len(first.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"]) == 2
    reads: list[Path] = []
    real = answer_files._read_json
    monkeypatch.setattr(answer_files, "_read_json", lambda p: (reads.append(p), real(p))[1])
    from rclsim.caches.kept import forget_all

    forget_all()  # as in a new process: only the index on disk is left
    second = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert second.store.models() == {OTHER_ARN}  # type: ignore[attr-defined]
    assert reads == []  # the key came from the index: no recording was read
    with pytest.raises(ClientError):  # the floor (20) is known without the labels
        rclsim.get_backend(
            "replay", recordings=[folder], include_builtin=False, strict=True
        ).detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=10)
    answer = second.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=50)
    assert [x["Name"] for x in answer["CustomLabels"]] == ["a"] and reads == [path]  # labels read on demand
    path.write_text(path.read_text().replace('"Name": "a"', '"Name": "changed"'))
    third = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert (
        third.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"]
        == "changed"
    )
    for index in (tmp_path / "cache" / "index").iterdir():
        index.write_text("{not json")  # a broken index is only a cache: the folder is read again
    fourth = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert (
        fourth.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"]
        == "changed"
    )


def test_constraints_come_from_a_cached_derivation_of_botocores_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks are derived from botocore's model once per botocore version and cached, so a CLI
    process need not load the model; a broken cache is rebuilt from the model."""
    import rclsim.service.constraints as constraints

    monkeypatch.setenv("RCLSIM_CACHE_DIR", str(tmp_path))
    built = constraints._derived_inputs()
    (cached,) = (tmp_path / "model").iterdir()
    assert json.loads(cached.read_text()) == built
    shape = built["shapes"][built["operations"]["DetectCustomLabels"]]
    assert shape["required"] == ["ProjectVersionArn", "Image"]
    cached.write_text("{broken")
    assert constraints._derived_inputs() == built


def test_an_image_checked_once_is_answered_from_memory_and_bad_ones_never_are(
    backend: rclsim.Backend, article_image_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rclsim.fake.core as core

    hashed: list[int] = []
    real = core.sha256_hex
    monkeypatch.setattr(core, "sha256_hex", lambda data: (hashed.append(len(data)), real(data))[1])
    for image in (article_image_bytes, bytes(article_image_bytes), bytearray(article_image_bytes)):
        found = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": image})
        assert len(found["CustomLabels"]) == 31
    assert hashed == [len(article_image_bytes)]  # equal bytes, another object: still hashed once
    broken = article_image_bytes[:200]
    for _ in range(2):  # a refused image is refused every time, not remembered
        with pytest.raises(ClientError) as info:
            backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": broken})
        assert code_of(info) == "InvalidImageFormatException"
    for n in range(6):  # only a few images are kept: the oldest goes first
        other = article_image_bytes + b"\0" * (n + 1)  # trailing bytes after the end of image
        with pytest.raises(ClientError):  # no recording has these bytes
            backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": other})
    assert len(backend.core._checked_images) <= core._CHECKED_IMAGES  # type: ignore[attr-defined]


def test_a_question_asked_again_gets_a_fresh_answer_and_still_the_models_state(
    backend: rclsim.Backend,
) -> None:
    """Answers to repeated S3-image questions are kept, so these guard what keeping must not change."""
    for _ in range(2):
        first = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        first["CustomLabels"][0]["Geometry"]["BoundingBox"]["Width"] = -1.0  # the caller's to change
        first["CustomLabels"][0]["Name"] = "changed"
        first["CustomLabels"].pop()
    again = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    assert len(again["CustomLabels"]) == 31 and again["CustomLabels"][0]["Name"] != "changed"
    assert again["CustomLabels"][0]["Geometry"]["BoundingBox"]["Width"] > 0
    assert again["CustomLabels"] is not first["CustomLabels"]
    at_75 = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    assert at_75["CustomLabels"] == FILTERED_75["CustomLabels"]
    backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MaxResults=1)
    true_one = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MaxResults": True}
    with pytest.raises(ClientError) as info:  # equal to 1 in Python, still not an integer on the wire
        backend.call("DetectCustomLabels", true_one)
    assert code_of(info) == "SerializationException"
    with pytest.raises(ParamValidationError):  # botocore refuses a member the model does not know
        backend.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image={"S3Object": {**ARTICLE_S3["S3Object"], "Extra": "x"}}
        )
    backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    assert code_of(info) == "ResourceNotReadyException"


def test_an_inexact_answer_warns_every_time(tmp_path: Path) -> None:
    write_recording(tmp_path, min_confidence=50, max_results=None, labels=[lab("a", 90), lab("b", 60)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    for _ in range(3):
        with pytest.warns(RecordingMismatchWarning, match="MinConfidence 50"):
            backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG, MinConfidence=30)


def test_a_source_whose_answers_change_gets_no_kept_answers() -> None:
    from rclsim.fake.core import FakeRekognition, ReplaySource
    from rclsim.fake.recordings import RecordingStore

    class Forgetful(ReplaySource):
        """Answers once, then has nothing: its answers change over time."""

        asked = 0

        def candidates(self, project_version_arn, image):  # type: ignore[no-untyped-def]
            self.asked += 1
            return super().candidates(project_version_arn, image) if self.asked == 1 else []

    store = RecordingStore()
    for source in (Forgetful(store), ReplaySource(store)):
        core = FakeRekognition(source)  # no declarations: a model recordings name is RUNNING
        params = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3}
        assert len(core.call("DetectCustomLabels", params)["CustomLabels"]) == 31
        if isinstance(source, Forgetful):
            with pytest.raises(ClientError) as info:
                core.call("DetectCustomLabels", params)
            assert code_of(info) == "RecordingNotFoundException"
            core.source = ReplaySource(store)  # a new source: answers kept from now on
        for _ in range(2):
            assert len(core.call("DetectCustomLabels", params)["CustomLabels"]) == 31


def test_a_number_past_floats_range_is_a_serialization_error(backend: rclsim.Backend) -> None:
    with pytest.raises(ClientError) as info:
        backend.call(
            "DetectCustomLabels",
            {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 10**400},
        )
    assert code_of(info) == "SerializationException"  # as for inf or NaN: no float holds it


def test_a_process_reads_an_unchanged_folder_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A fresh backend per test must not pay for reading the same files again; a changed file is
    read again, however it changed."""
    import rclsim.fake.recordings.answer_files as answer_files  # the one reader of every answer file

    folder = tmp_path / "rec"
    path = write_recording(folder, min_confidence=None, max_results=None, labels=[lab("a", 90)])
    first = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert (
        first.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"] == "a"
    )
    reads: list[Path] = []
    real = answer_files._read_json
    monkeypatch.setattr(answer_files, "_read_json", lambda p: (reads.append(p), real(p))[1])
    again = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert (
        again.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"] == "a"
    )
    assert reads == []
    # The same size and the same modification time, written beside it and renamed over it (as
    # rsync -a or an editor's safe save do): still a change.
    before = path.stat()
    replacement = folder / "one.json.new"
    replacement.write_text(path.read_text().replace('"Name": "a"', '"Name": "b"'))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    changed = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    assert (
        changed.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"] == "b"
    )
    assert reads == [path, path]  # indexed again, then its labels read


def test_what_one_backend_does_to_its_recordings_stays_with_it(tmp_path: Path) -> None:
    write_recording(tmp_path, min_confidence=None, max_results=None, labels=[lab("a", 90)])
    first = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    first.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)
    for rec in first.store:  # type: ignore[attr-defined]
        rec.labels[0]["Name"] = "changed by the first"
    second = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    assert (
        second.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"] == "a"
    )


def test_the_same_relative_folder_name_in_two_places_is_two_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for place, name in (("one", "cat"), ("two", "dog")):
        path = write_recording(
            tmp_path / place / "rec", min_confidence=None, max_results=None, labels=[lab(name, 90)]
        )
        os.utime(path, ns=(0, 1_700_000_000_000_000_000))  # same name, size and time in both places
    answers = []
    for place in ("one", "two"):
        monkeypatch.chdir(tmp_path / place)
        backend = rclsim.get_backend("replay", recordings=["rec"], include_builtin=False)
        answers.append(
            backend.detect_custom_labels(ProjectVersionArn=OTHER_ARN, Image=IMG)["CustomLabels"][0]["Name"]
        )
    assert answers == ["cat", "dog"]


def test_a_models_file_changed_in_place_at_the_same_size_and_time_is_read_again(tmp_path: Path) -> None:
    source = builtin_models()
    folder = tmp_path / "models"
    folder.mkdir()
    path = folder / "models.json"
    path.write_text(source)
    first = rclsim.get_backend("replay", recordings=[folder])
    assert first.core.declarations.versions[ARTICLE_ARN].status == "TRAINING_COMPLETED"  # type: ignore[attr-defined]
    before = path.stat()
    with path.open("r+") as handle:  # in place, same length
        handle.write(source.replace('"TRAINING_COMPLETED"', '"TRAINING_FAILED!!!"', 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(rclsim.RecordingError):  # not a status the schema knows: read, checked, refused
        rclsim.get_backend("replay", recordings=[folder])


def builtin_models() -> str:
    from rclsim.fake.recordings import builtin_recordings_dir

    return (builtin_recordings_dir() / "models.json").read_text()
