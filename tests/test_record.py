"""Record mode: live responses (botocore's Stubber here, moto for S3) become recordings that replay
identically; each mode calls AWS only when it should; recordings hold no secrets."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

import rclsim
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN, DATA, ROOT

LIVE = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
IMAGE = (ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
LIVE_ARN = ARTICLE_ARN.replace(
    "licence-plates.2021-01-01T00.00.00/1609459200000", "plates.live/1700000000000"
)
PROJECT_LIVE = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/1609459100000"


@pytest.fixture
def live() -> tuple[object, Stubber]:
    client = boto3.client("rekognition", region_name="ap-northeast-1")
    stubber = Stubber(client)
    stubber.activate()
    yield client, stubber
    stubber.deactivate()


def queue(stubber: Stubber, image: dict, times: int = 1) -> None:
    for _ in range(times):
        stubber.add_response(
            "detect_custom_labels",
            {
                **LIVE,
                "ResponseMetadata": {
                    "RequestId": "req-secret-id",
                    "HTTPStatusCode": 200,
                    "HTTPHeaders": {"x-amzn-requestid": "req-secret-id"},
                },
            },
            {"ProjectVersionArn": LIVE_ARN, "Image": image, "MinConfidence": 0},
        )


def recorder(client: object, folder: Path, mode: str, **kw: object) -> rclsim.Backend:
    return rclsim.get_backend("aws", client=client, record_mode=mode, recordings=[folder], **kw)  # type: ignore[arg-type]


def detect(backend: rclsim.Backend, image: dict, **kw: object) -> list[tuple[str, float]]:
    out = backend.detect_custom_labels(ProjectVersionArn=LIVE_ARN, Image=image, **kw)
    return [(x["Name"], x["Confidence"]) for x in out["CustomLabels"]]


@pytest.mark.parametrize("mode", ["once", "new"])
def test_once_and_new_call_aws_only_for_a_missing_key(live, tmp_path: Path, mode: str) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    image = {"Bytes": IMAGE}
    queue(stubber, image, times=1)
    backend = recorder(client, tmp_path, mode)
    first = detect(backend, image, MinConfidence=75)
    stubber.assert_no_pending_responses()  # exactly one live call, made at MinConfidence 0
    assert first == [("vehicle_registration_plate", 97.59200286865234), ("car", 88.64099884033203)]
    assert len(detect(backend, image)) == 31  # replayed: no call queued, none made
    assert (
        detect(backend, image, MinConfidence=30, MaxResults=3) == detect(backend, image, MinConfidence=30)[:3]
    )
    assert len(list(tmp_path.rglob("*.json"))) == 1


def test_all_re_records_every_time(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    image = {"Bytes": IMAGE}
    queue(stubber, image, times=3)
    backend = recorder(client, tmp_path, "all")
    for _ in range(3):
        detect(backend, image, MinConfidence=75)
    stubber.assert_no_pending_responses()
    assert len(list(tmp_path.rglob("*.json"))) == 1  # the key's recording is replaced, not duplicated


def test_none_never_calls_aws(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    backend = recorder(client, tmp_path, "none")
    with pytest.raises(ClientError) as info:
        detect(backend, {"Bytes": IMAGE})
    assert info.value.response["Error"]["Code"] == "RecordingNotFoundException"
    queue(stubber, {"Bytes": IMAGE})
    detect(recorder(client, tmp_path, "once"), {"Bytes": IMAGE})
    stubber.assert_no_pending_responses()
    assert len(detect(backend, {"Bytes": IMAGE})) == 31  # now replayed, still without a call


def test_a_recording_replays_identically_through_the_replay_backend(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    image = {"Bytes": IMAGE}
    queue(stubber, image)
    backend = recorder(client, tmp_path, "once")
    recorded = {m: detect(backend, image, MinConfidence=m) for m in (0, 10, 25.5, 75, 99)}
    replay = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False, strict=True)
    for m, answer in recorded.items():
        assert detect(replay, image, MinConfidence=m) == answer


def test_recordings_hold_no_secrets_and_mask_the_account(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    queue(stubber, {"Bytes": IMAGE})
    detect(recorder(client, tmp_path, "once"), {"Bytes": IMAGE})
    (path,) = tmp_path.rglob("*.json")
    text = path.read_text()
    for secret in (
        "testing",
        "Authorization",
        "req-secret-id",
        "RequestId",
        "ResponseMetadata",
        "x-amzn",
        "Signature",
        "123456789012",
        "SessionToken",
    ):
        assert secret not in text, secret
    assert "arn:aws:rekognition:ap-northeast-1:000000000000:" in text
    assert rclsim.service.schemas.recording_problems(json.loads(text)) == []  # type: ignore[attr-defined]


def test_account_masking_can_be_turned_off(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    queue(stubber, {"Bytes": IMAGE})
    detect(recorder(client, tmp_path, "once", mask_account=False), {"Bytes": IMAGE})
    assert "123456789012" in next(tmp_path.rglob("*.json")).read_text()


def test_s3_images_are_read_from_s3_for_their_size_and_hash(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from moto import mock_aws

    client, stubber = live
    image = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}
    with mock_aws():
        s3 = boto3.client("s3", region_name="ap-northeast-1")
        s3.create_bucket(
            Bucket="my-bucket", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        s3.put_object(Bucket="my-bucket", Key="test-qiita/9c5f2a31335627a0.jpg", Body=IMAGE)
        queue(stubber, image)
        detect(recorder(client, tmp_path, "once"), image, MinConfidence=75)
    stubber.assert_no_pending_responses()
    recording = json.loads(next(tmp_path.rglob("*.json")).read_text())
    assert recording["image"]["S3Object"] == image["S3Object"]
    assert (recording["image"]["Width"], recording["image"]["Height"]) == (1024, 683)
    replay = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    assert len(detect(replay, {"Bytes": IMAGE}, MinConfidence=75)) == 2  # found by the bytes too


def test_record_mode_from_the_cli(
    live,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
    capsys: pytest.CaptureFixture[str],
) -> None:
    client, stubber = live
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: client)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(IMAGE)
    store = tmp_path / "recs"
    store.mkdir()
    queue(stubber, {"Bytes": IMAGE})
    argv = [
        "detect",
        "--backend",
        "aws",
        "--record-mode",
        "once",
        "--recordings",
        str(store),
        "--project-version-arn",
        LIVE_ARN,
        "--image-bytes",
        f"fileb://{photo}",
        "--min-confidence",
        "75",
    ]
    assert main(argv) == 0
    assert main(argv) == 0  # the second time from the recording
    stubber.assert_no_pending_responses()
    outs = capsys.readouterr().out
    assert outs.count('"vehicle_registration_plate"') == 2
    assert (
        main(
            [
                "detect",
                "--record-mode",
                "once",
                "--backend",
                "aws",
                "--project-version-arn",
                LIVE_ARN,
                "--image-bytes",
                f"fileb://{photo}",
            ]
        )
        == 1
    )
    assert "needs a recordings folder" in capsys.readouterr().err


def test_unchanged_boto3_code_records_through_mock(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    client, stubber = live
    queue(stubber, {"Bytes": IMAGE})
    with rclsim.mock(recorder(client, tmp_path, "once")):
        user_client = boto3.client("rekognition", region_name="ap-northeast-1")
        got = user_client.detect_custom_labels(
            ProjectVersionArn=LIVE_ARN, Image={"Bytes": IMAGE}, MinConfidence=75
        )
    stubber.assert_no_pending_responses()
    assert [x["Name"] for x in got["CustomLabels"]] == ["vehicle_registration_plate", "car"]
    assert len(list(tmp_path.rglob("*.json"))) == 1


def test_an_image_the_service_would_refuse_costs_no_live_call(live, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Record mode runs the service's own image checks (the core's) before calling AWS: a 32x32 PNG
    is under the minimum size; nothing was queued on the Stubber, so a live call would fail it."""
    import cv2
    import numpy as np
    from botocore.exceptions import ClientError

    client, stubber = live
    ok, png = cv2.imencode(".png", np.zeros((32, 32, 3), dtype=np.uint8))
    assert ok
    backend = recorder(client, tmp_path / "recs", "once")
    with pytest.raises(ClientError) as info:
        detect(backend, {"Bytes": png.tobytes()})
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "between 64 and 4096" in info.value.response["Error"]["Message"]
    stubber.assert_no_pending_responses()
