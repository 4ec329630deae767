"""The core answers every AWS-shaped request it is given with the service's error, never a crash: the
front-ends that skip botocore's client checks (the endpoint, any direct caller) rely on it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

import rclsim
from rclsim.fake.core import FakeRekognition, ReplaySource
from rclsim.fake.recordings import RecordingStore

from .conftest import ARTICLE_ARN, ARTICLE_S3


@pytest.fixture
def core() -> FakeRekognition:
    return FakeRekognition(ReplaySource(RecordingStore()))  # the recordings' model: RUNNING


@pytest.mark.parametrize(
    "image",
    [
        {"Bytes": None},
        {"S3Object": None},
        {"Bytes": None, "S3Object": None},
        {},
    ],
)
def test_an_image_with_null_members_is_the_services_invalid_parameter(
    core: FakeRekognition, image: Any
) -> None:
    with pytest.raises(ClientError) as info:
        core.call("DetectCustomLabels", {"ProjectVersionArn": ARTICLE_ARN, "Image": image})
    assert info.value.response["Error"]["Code"] == "InvalidParameterException"


def test_null_members_beside_a_real_image_are_absent(core: FakeRekognition) -> None:
    answer = core.call(
        "DetectCustomLabels",
        {"ProjectVersionArn": ARTICLE_ARN, "Image": {**ARTICLE_S3, "Bytes": None}, "MinConfidence": None},
    )
    assert len(answer["CustomLabels"]) == 31


def test_the_backend_api_refuses_null_bytes_as_boto3_does() -> None:
    backend = rclsim.get_backend("replay")
    with pytest.raises(ParamValidationError):
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": None})


@pytest.mark.parametrize("key", ["test-qiita/9c5f2a31335627a0.jpg", "elsewhere/notes.jpg"])
def test_an_s3_image_in_motos_bucket_is_format_checked_like_bytes(key: str) -> None:
    """With moto on, the fake reads the S3 object as the service would, even where a recording has its
    key: bytes that are not an image are InvalidImageFormatException."""
    import boto3
    from moto import mock_aws

    with mock_aws(), rclsim.mock():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="my-bucket")
        s3.put_object(Bucket="my-bucket", Key=key, Body=b"this is not an image")
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        with pytest.raises(client.exceptions.InvalidImageFormatException):
            client.detect_custom_labels(
                ProjectVersionArn=ARTICLE_ARN, Image={"S3Object": {"Bucket": "my-bucket", "Name": key}}
            )


def test_a_recorded_key_missing_from_motos_bucket_still_answers_from_the_recording() -> None:
    """[U] choice: moto on for other reasons, the article's bucket not created there: the recording's key
    answers (a user replaying recordings need not mirror every image into moto)."""
    import boto3
    from moto import mock_aws

    with mock_aws(), rclsim.mock():
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        got = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
        assert len(got["CustomLabels"]) == 2


def test_a_broken_state_file_is_named_as_such_over_the_wire() -> None:
    """Behind `rclsim serve`, a damaged state file is the fake's StateFileException, not a "broken
    recording" and not an internal error."""
    from rclsim.fake.state import StateError
    from rclsim.frontends.wire import run

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        raise StateError("/x/state.sqlite3 is damaged; run 'rclsim reset --state-dir /x'")

    ok, error = run(call, "DescribeProjects", {})
    assert not ok and error["Code"] == "StateFileException" and "rclsim reset" in error["Message"]


@pytest.mark.parametrize(
    "extra",
    [{"MinConfidence": None}, {"MaxResults": None}, {"Image": {**ARTICLE_S3, "Bytes": None}}],
    ids=["MinConfidence", "MaxResults", "Image.Bytes"],
)
def test_the_backend_api_refuses_any_none_member_as_boto3_does(extra: dict[str, Any]) -> None:
    backend = rclsim.get_backend("replay")
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    params = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, **extra}
    with pytest.raises(ParamValidationError):
        backend.detect_custom_labels(**params)


def test_a_start_in_the_wrong_region_says_which_region(capsys: pytest.CaptureFixture[str]) -> None:
    from rclsim.frontends.cli import main

    code = main(["start", "--project-version-arn", ARTICLE_ARN, "--region", "us-east-1"])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("rclsim: error")]
    assert code != 0 and len(errors) == 1 and "--region ap-northeast-1" in errors[0]
