"""The core answers every AWS-shaped request it is given with the service's error, never a crash: the
front-ends that skip botocore's client checks (the endpoint, any direct caller) rely on it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

import rclsim
from rclsim.core import FakeRekognition, ReplaySource
from rclsim.recordings import RecordingStore

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
def test_an_image_with_null_members_is_the_services_invalid_parameter(core: FakeRekognition, image: Any) -> None:
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
