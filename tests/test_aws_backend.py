"""The aws backend, offline: botocore's Stubber for Rekognition, moto for the HTTP path and S3."""

from __future__ import annotations

import warnings

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

import rclsim
from rclsim.backends.aws import AwsBackend, ResponseSchemaWarning
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN, ARTICLE_S3

LIVE_RESPONSE = {
    "CustomLabels": [
        {
            "Name": "car",
            "Confidence": 88.64099884033203,
            "Geometry": {"BoundingBox": {"Width": 0.5, "Height": 0.5, "Left": 0.1, "Top": 0.2}},
        },
    ]
}


@pytest.fixture
def stubbed() -> tuple[AwsBackend, Stubber]:
    client = boto3.client("rekognition", region_name="ap-northeast-1")
    backend = rclsim.get_backend("aws", client=client)
    assert isinstance(backend, AwsBackend)
    with Stubber(client) as stubber:
        yield backend, stubber
        stubber.assert_no_pending_responses()


def test_detect_passes_the_real_parameters_and_drops_response_metadata(stubbed) -> None:
    backend, stubber = stubbed
    stubber.add_response(
        "detect_custom_labels",
        {**LIVE_RESPONSE, "ResponseMetadata": {"RequestId": "abc", "HTTPStatusCode": 200}},
        {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 75},
    )
    response = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    assert response == LIVE_RESPONSE


def test_service_errors_pass_through_unchanged(stubbed) -> None:
    backend, stubber = stubbed
    stubber.add_client_error(
        "detect_custom_labels",
        "ResourceNotReadyException",
        "not running",
        expected_params={"ProjectVersionArn": ARTICLE_ARN, "Image": ANY},
    )
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    assert info.value.response["Error"]["Code"] == "ResourceNotReadyException"


def test_lifecycle_calls_go_to_the_service(stubbed) -> None:
    backend, stubber = stubbed
    stubber.add_response(
        "start_project_version",
        {"Status": "STARTING"},
        {"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": 1},
    )
    stubber.add_response("stop_project_version", {"Status": "STOPPING"}, {"ProjectVersionArn": ARTICLE_ARN})
    assert backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1) == {
        "Status": "STARTING"
    }
    assert backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN) == {"Status": "STOPPING"}


def test_a_live_response_that_breaks_the_schema_warns_or_fails_under_strict() -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    bad = {"CustomLabels": [{"Name": "car"}]}  # no Confidence: botocore's parser accepts it
    with Stubber(client) as stubber:
        stubber.add_response("detect_custom_labels", bad)
        stubber.add_response("detect_custom_labels", bad)
        with pytest.warns(ResponseSchemaWarning, match="Confidence"):
            rclsim.get_backend("aws", client=client).detect_custom_labels(
                ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3
            )
        with pytest.raises(ClientError) as info:
            rclsim.get_backend("aws", client=client, strict=True).detect_custom_labels(
                ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3
            )
    assert info.value.response["Error"]["Code"] == "ResponseSchemaException"


def test_local_files_go_as_bytes_and_s3_uris_as_s3_objects(tmp_path, monkeypatch, capsys) -> None:
    """Through the CLI: the file's bytes and the parsed S3 URI reach boto3 unchanged."""
    image = tmp_path / "photo.jpg"
    image.write_bytes(b"\xff\xd8\xff\xe0 any bytes: the service judges them")
    client = boto3.client("rekognition", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "detect_custom_labels",
        LIVE_RESPONSE,
        {"ProjectVersionArn": ARTICLE_ARN, "Image": {"Bytes": image.read_bytes()}},
    )
    stubber.add_response(
        "detect_custom_labels",
        LIVE_RESPONSE,
        {"ProjectVersionArn": ARTICLE_ARN, "Image": {"S3Object": {"Bucket": "b-1", "Name": "dir/photo.jpg"}}},
    )
    stubber.activate()
    monkeypatch.setattr(boto3.Session, "client", lambda self, *args, **kwargs: client)
    assert (
        main(["--backend", "aws", "detect", "--project-version-arn", ARTICLE_ARN, "--image", str(image)]) == 0
    )
    assert (
        main(
            [
                "detect",
                "--backend",
                "aws",
                "--project-version-arn",
                ARTICLE_ARN,
                "--image",
                "s3://b-1/dir/photo.jpg",
            ]
        )
        == 0
    )
    stubber.assert_no_pending_responses()
    assert capsys.readouterr().out.count('"car"') == 2


def test_region_profile_and_endpoint_reach_boto3(monkeypatch) -> None:
    backend = rclsim.get_backend("aws", region="eu-west-1", endpoint_url="http://127.0.0.1:9")
    assert backend.client.meta.region_name == "eu-west-1"
    assert backend.client.meta.endpoint_url == "http://127.0.0.1:9"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")  # what Lambda sets; boto3 itself reads only the other
    assert rclsim.get_backend("aws").client.meta.region_name == "eu-central-1"
    monkeypatch.setenv("RCLSIM_REGION", "ap-northeast-1")
    assert rclsim.get_backend("aws").client.meta.region_name == "ap-northeast-1"
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:10")  # boto3's own variable works too
    assert rclsim.get_backend("aws").client.meta.endpoint_url == "http://127.0.0.1:10"


def test_through_moto_over_botocores_http_path() -> None:
    """moto answers DetectCustomLabels with its one hard-coded label; the aws backend parses it and the
    response passes rclsim's schema. S3 is mocked in the same run (nothing leaves the process)."""
    from moto import mock_aws

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="my-bucket")
        s3.put_object(Bucket="my-bucket", Key="test-qiita/9c5f2a31335627a0.jpg", Body=b"\xff\xd8\xff")
        backend = rclsim.get_backend("aws", region="us-east-1")
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResponseSchemaWarning)
            response = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    assert "ResponseMetadata" not in response
    assert [label["Name"] for label in response["CustomLabels"]] == ["MyLogo"]
