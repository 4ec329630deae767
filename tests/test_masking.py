"""The account id is masked by one rule on both sides: record mode saves a recording with the model's
account id replaced by ``000000000000`` wherever it appears as a whole number (ARN, project and version
names, S3 bucket, key and version), and the replay backend, asked with the real (unmasked) ARN and S3
object, masks them the same way to find it. A masked recording answers for any account (the documented
choice: docs/recordings.md). The live side is a fake Rekognition client and a fake S3 client."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.service.apimodel import (
    MASKED_ACCOUNT,
    account_of,
    mask_account,
    mask_account_everywhere,
    mask_arn,
)

from .conftest import DATA, ROOT

LIVE = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
IMAGE = (ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
ACCOUNT = "123456789012"
OTHER = "210987654321"
TOP2 = ["vehicle_registration_plate", "car"]  # the article's labels at MinConfidence 75


def version_arn(version: str, project: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:rekognition:ap-northeast-1:{account}:project/{project}/version/{version}/1700000000000"


class FakeLive:
    """A Rekognition client that answers DetectCustomLabels with the article's response."""

    def __init__(self) -> None:
        self.meta = SimpleNamespace(
            region_name="ap-northeast-1", endpoint_url="https://rekognition.ap-northeast-1.amazonaws.com"
        )
        self.calls: list[dict[str, Any]] = []

    def detect_custom_labels(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        return copy.deepcopy(LIVE)

    def close(self) -> None:
        pass


class FakeS3:
    """An S3 client whose every object holds the article's image."""

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        return {"Body": SimpleNamespace(read=lambda: IMAGE)}


def record(folder: Path, arn: str, image: dict[str, Any]) -> dict[str, Any]:
    """Record one live answer for ``arn`` and ``image`` (masking on, the default); the saved file."""
    backend = rclsim.get_backend("aws", client=FakeLive(), record_mode="once", recordings=[folder])
    backend._s3 = FakeS3()  # type: ignore[attr-defined]
    backend.detect_custom_labels(ProjectVersionArn=arn, Image=image)
    (path,) = folder.rglob("*.json")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def replay(folder: Path) -> rclsim.Backend:
    return rclsim.get_backend("replay", recordings=[folder], include_builtin=False)


def names(response: dict[str, Any]) -> list[str]:
    return [label["Name"] for label in response["CustomLabels"]]


def s3_image(bucket: str, key: str, version: str | None = None) -> dict[str, Any]:
    s3 = {"Bucket": bucket, "Name": key}
    if version is not None:
        s3["Version"] = version
    return {"S3Object": s3}


# -- record, then replay with the real names ---------------------------------------------------------
CASES = {
    "project-and-bucket": (version_arn("v1", f"proj-{ACCOUNT}"), s3_image(f"data-{ACCOUNT}", "photo.jpg")),
    "version-name": (version_arn(f"v-{ACCOUNT}", "proj"), s3_image("my-bucket", "photo.jpg")),
    "key-and-s3-version": (
        version_arn("v1", "proj"),
        s3_image("my-bucket", f"{ACCOUNT}/photo.jpg", version=f"ver-{ACCOUNT}"),
    ),
    "everywhere": (
        version_arn(f"v-{ACCOUNT}", f"proj-{ACCOUNT}"),
        s3_image(f"data-{ACCOUNT}", f"{ACCOUNT}/{ACCOUNT}.jpg", version=ACCOUNT),
    ),
}


@pytest.mark.parametrize("arn, image", CASES.values(), ids=CASES.keys())
def test_a_recording_masked_in_names_replays_for_the_real_arn_and_s3_object(
    tmp_path: Path, arn: str, image: dict[str, Any]
) -> None:
    data = record(tmp_path, arn, image)
    assert ACCOUNT not in json.dumps(data)  # it was saved masked...
    assert data["request"]["ProjectVersionArn"] == arn.replace(ACCOUNT, MASKED_ACCOUNT)
    # ...and the replay backend, asked exactly as the live service was, finds it by the S3 object
    answer = replay(tmp_path).detect_custom_labels(ProjectVersionArn=arn, Image=image, MinConfidence=75)
    assert names(answer) == TOP2


def test_a_recording_masked_in_names_replays_for_the_image_bytes_too(tmp_path: Path) -> None:
    arn, image = CASES["everywhere"]
    record(tmp_path, arn, image)
    answer = replay(tmp_path).detect_custom_labels(ProjectVersionArn=arn, Image={"Bytes": IMAGE})
    assert names(answer)[:2] == TOP2


def test_unmasked_recordings_are_still_found(tmp_path: Path) -> None:
    arn, image = CASES["everywhere"]
    backend = rclsim.get_backend(
        "aws", client=FakeLive(), record_mode="once", recordings=[tmp_path], mask_account=False
    )
    backend._s3 = FakeS3()  # type: ignore[attr-defined]
    backend.detect_custom_labels(ProjectVersionArn=arn, Image=image)
    assert ACCOUNT in next(tmp_path.rglob("*.json")).read_text()
    answer = replay(tmp_path).detect_custom_labels(ProjectVersionArn=arn, Image=image, MinConfidence=75)
    assert names(answer) == TOP2


# -- any account --------------------------------------------------------------------------------------
def test_a_masked_recording_answers_for_another_account(tmp_path: Path) -> None:
    """Documented choice: a recording masked for one account answers the same names for any account
    (the id is gone from it, so rclsim cannot tell whose it was)."""
    record(tmp_path, version_arn(f"v-{ACCOUNT}", f"proj-{ACCOUNT}"), s3_image(f"data-{ACCOUNT}", "a.jpg"))
    other_arn = version_arn(f"v-{OTHER}", f"proj-{OTHER}", account=OTHER)
    answer = replay(tmp_path).detect_custom_labels(
        ProjectVersionArn=other_arn, Image=s3_image(f"data-{OTHER}", "a.jpg"), MinConfidence=75
    )
    assert names(answer) == TOP2


def test_an_unmasked_recording_does_not_answer_for_another_account_in_its_names(tmp_path: Path) -> None:
    """Only the masked id stands for any account: a recording that kept its own id in a bucket name
    does not answer for a bucket named after another account."""
    arn, _ = CASES["project-and-bucket"]
    backend = rclsim.get_backend(
        "aws", client=FakeLive(), record_mode="once", recordings=[tmp_path], mask_account=False
    )
    backend._s3 = FakeS3()  # type: ignore[attr-defined]
    backend.detect_custom_labels(ProjectVersionArn=arn, Image=s3_image(f"data-{ACCOUNT}", "a.jpg"))
    with pytest.raises(ClientError) as info:
        replay(tmp_path).detect_custom_labels(
            ProjectVersionArn=arn.replace(ACCOUNT, OTHER), Image=s3_image(f"data-{OTHER}", "a.jpg")
        )
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"  # type: ignore[attr-defined]


# -- whole numbers only --------------------------------------------------------------------------------
def test_the_shared_rule_masks_the_account_id_as_a_whole_number_only() -> None:
    arn = version_arn(f"v-{ACCOUNT}-1{ACCOUNT}", f"p{ACCOUNT}9")
    assert account_of(arn) == ACCOUNT
    assert mask_arn(arn) == version_arn(
        f"v-{MASKED_ACCOUNT}-1{ACCOUNT}", f"p{ACCOUNT}9", account=MASKED_ACCOUNT
    )
    assert mask_account(arn) == version_arn(f"v-{ACCOUNT}-1{ACCOUNT}", f"p{ACCOUNT}9", account=MASKED_ACCOUNT)
    assert mask_account_everywhere(
        {"Bucket": f"b-{ACCOUNT}", "Name": [f"{ACCOUNT}0/x", f"x/{ACCOUNT}"]}, ACCOUNT
    ) == {"Bucket": f"b-{MASKED_ACCOUNT}", "Name": [f"{ACCOUNT}0/x", f"x/{MASKED_ACCOUNT}"]}
    assert mask_account_everywhere(f"b-{ACCOUNT}", None) == f"b-{ACCOUNT}"
    # an ARN already masked, or one that is not a Rekognition ARN, has no account to mask
    assert account_of(mask_arn(arn)) is None
    assert mask_arn("not an arn 123456789012") == "not an arn 123456789012"


def test_a_number_that_merely_contains_the_account_id_is_not_masked_on_replay(tmp_path: Path) -> None:
    """A key ``1123456789012/x.jpg`` is not the account id: masking it digit by digit would turn it
    into ``1000000000000/x.jpg`` and wrongly find a recording of that key."""
    arn = version_arn("v1", "proj")
    record(tmp_path, arn.replace(ACCOUNT, MASKED_ACCOUNT), s3_image("bkt", f"1{MASKED_ACCOUNT}/x.jpg"))
    backend = replay(tmp_path)
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=arn, Image=s3_image("bkt", f"1{ACCOUNT}/x.jpg"))
    assert info.value.response["Error"]["Code"] == "RecordingNotFoundException"  # type: ignore[attr-defined]
    # the key it does hold is still found
    image = s3_image("bkt", f"1{MASKED_ACCOUNT}/x.jpg")
    assert names(backend.detect_custom_labels(ProjectVersionArn=arn, Image=image, MinConfidence=75)) == TOP2


def test_a_longer_number_in_a_recorded_name_is_kept_and_found(tmp_path: Path) -> None:
    arn = version_arn(f"v{ACCOUNT}9", "proj")
    image = s3_image(f"b-{ACCOUNT}0", f"{ACCOUNT}1.jpg")
    data = record(tmp_path, arn, image)
    assert data["request"]["ProjectVersionArn"] == version_arn(f"v{ACCOUNT}9", "proj", account=MASKED_ACCOUNT)
    assert data["image"]["S3Object"] == image["S3Object"]
    answer = replay(tmp_path).detect_custom_labels(ProjectVersionArn=arn, Image=image, MinConfidence=75)
    assert names(answer) == TOP2
