"""rclsim.mock: unchanged boto3 code answers from the fake, with botocore's machinery intact."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

import rclsim

from .conftest import ARTICLE_ARN, ARTICLE_S3, DATA

PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION = "licence-plates.2021-01-01T00.00.00"


def article_sequence(client) -> list[str]:  # type: ignore[no-untyped-def]
    """The article's start, wait, detect at 75, stop, written against a plain boto3 client."""
    client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    client.get_waiter("project_version_running").wait(ProjectArn=PROJECT, VersionNames=[VERSION])
    response = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    client.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    return [label["Name"] for label in response["CustomLabels"]]


def test_clients_made_before_and_inside_the_block_answer_from_the_fake() -> None:
    before = boto3.client("rekognition", region_name="ap-northeast-1")
    with rclsim.mock():
        assert article_sequence(before) == ["vehicle_registration_plate", "car"]
    with rclsim.mock():
        inside = boto3.client("rekognition", region_name="ap-northeast-1")
        assert article_sequence(inside) == ["vehicle_registration_plate", "car"]


def test_as_a_decorator() -> None:
    @rclsim.mock()
    def count_labels() -> int:
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        return len(
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)["CustomLabels"]
        )

    assert count_labels() == 31
    assert count_labels() == 31  # fresh state each call: the model starts again


def test_botocores_machinery_still_runs() -> None:
    with rclsim.mock():
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        with pytest.raises(client.exceptions.ResourceNotReadyException) as info:
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert info.value.response["ResponseMetadata"]["RetryAttempts"] == 0
        with pytest.raises(ParamValidationError):
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=-1)
        with pytest.raises(ClientError) as info:
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=101)
        assert info.value.response["Error"]["Code"] == "ValidationException"
        pages = client.get_paginator("describe_project_versions").paginate(
            ProjectArn=PROJECT, PaginationConfig={"PageSize": 1}
        )
        assert [len(p["ProjectVersionDescriptions"]) for p in pages] == [1, 1]
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        ok = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        assert ok["ResponseMetadata"]["HTTPStatusCode"] == 200 and "RequestId" in ok["ResponseMetadata"]
        desc = client.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
        assert desc["ProjectVersionDescriptions"][0]["CreationTimestamp"].year == 2021  # parsed to datetime


def test_other_rekognition_operations_get_a_clear_error() -> None:
    with rclsim.mock():
        client = boto3.client("rekognition", region_name="us-east-1")
        with pytest.raises(ClientError) as info:
            client.detect_labels(Image=ARTICLE_S3)
    assert info.value.response["Error"]["Code"] == "UnsupportedOperationException"
    assert "DetectCustomLabels" in info.value.response["Error"]["Message"]


def _without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_EC2_METADATA_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)


def test_credentials_and_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_credentials(monkeypatch)
    with rclsim.mock():
        assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
        assert os.environ["AWS_ACCESS_KEY_ID"] == "rclsim"
    assert "AWS_ACCESS_KEY_ID" not in os.environ and "AWS_EC2_METADATA_DISABLED" not in os.environ
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "mine")
    with rclsim.mock():
        assert os.environ["AWS_ACCESS_KEY_ID"] == "mine"  # the user's own are kept for other services


def test_nested_mocks_answer_from_the_innermost(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.copy(DATA / "wild" / "responses" / "06-flowers-rose.json", tmp_path / "rose.json")
    (tmp_path / "rose.jpg").write_bytes(
        (DATA.parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
    )
    other = "arn:aws:rekognition:us-east-1:111122223333:project/flowers/version/flowers.1/1700000000000"
    image = {"S3Object": {"Bucket": "b-1", "Name": "rose.jpg"}}
    client = boto3.client("rekognition", region_name="us-east-1")
    with rclsim.mock():
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.detect_custom_labels(ProjectVersionArn=other, Image=image)
        with rclsim.mock(recordings=[tmp_path]):
            got = client.detect_custom_labels(ProjectVersionArn=other, Image=image)
            assert [x["Name"] for x in got["CustomLabels"]] == ["rose"]
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.detect_custom_labels(ProjectVersionArn=other, Image=image)


@pytest.mark.parametrize("order", ["rclsim-outside", "moto-outside"])
def test_works_with_motos_mock_aws_in_either_order(order: str) -> None:
    from moto import mock_aws

    outer, inner = (rclsim.mock(), mock_aws()) if order == "rclsim-outside" else (mock_aws(), rclsim.mock())
    with outer, inner:
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="my-bucket")
        image = (DATA.parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
        s3.put_object(Bucket="my-bucket", Key="test-qiita/9c5f2a31335627a0.jpg", Body=image)
        stored = s3.get_object(Bucket="my-bucket", Key="test-qiita/9c5f2a31335627a0.jpg")["Body"].read()
        assert stored == image
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        assert article_sequence(client) == ["vehicle_registration_plate", "car"]  # rclsim, not moto's MyLogo


def test_mock_refuses_the_aws_backend() -> None:
    with pytest.raises(TypeError, match="fake backend"):
        rclsim.mock(rclsim.get_backend("aws", region="us-east-1"))


def test_an_s3_image_is_read_from_motos_bucket_when_no_recording_has_its_key() -> None:
    from moto import mock_aws

    image = (DATA.parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
    moved = {"S3Object": {"Bucket": "bkt", "Name": "elsewhere/photo.jpg"}}  # not the recorded key
    with mock_aws(), rclsim.mock():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="bkt")
        s3.put_object(Bucket="bkt", Key="elsewhere/photo.jpg", Body=image)
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        got = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=moved, MinConfidence=75)
        assert [x["Name"] for x in got["CustomLabels"]] == [
            "vehicle_registration_plate",
            "car",
        ]  # by its bytes
        with pytest.raises(client.exceptions.InvalidS3ObjectException):
            client.detect_custom_labels(
                ProjectVersionArn=ARTICLE_ARN, Image={"S3Object": {"Bucket": "bkt", "Name": "missing.jpg"}}
            )
    with rclsim.mock():  # without moto nothing is read from S3: the key alone decides
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        with pytest.raises(ClientError) as info:
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=moved)
        assert info.value.response["Error"]["Code"] == "RecordingNotFoundException"


def test_request_ids_look_like_the_services_and_never_repeat() -> None:
    import uuid

    from rclsim.service.errors import new_request_id

    ids = [new_request_id() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 4 and str(uuid.UUID(i)) == i for i in ids)
    if hasattr(os, "fork"):  # a forked child (a pytest-xdist worker, a server process) starts afresh
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child
            os.write(write, new_request_id().encode())
            os._exit(0)
        os.waitpid(pid, 0)
        child = os.read(read, 100).decode()
        os.close(read)
        os.close(write)
        assert child[:24] != ids[0][:24] and child not in ids


def test_after_call_handlers_see_a_whole_http_response_of_their_own() -> None:
    """botocore's own HTTP response of the fake's wire answer, as after-call handlers expect."""
    import copy
    import pickle

    from botocore.awsrequest import AWSResponse

    seen: list[tuple[object, str]] = []

    def rewrite(parsed, **kwargs):  # type: ignore[no-untyped-def]
        parsed["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] = "rewritten"

    def read(http_response, parsed, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((http_response, parsed["ResponseMetadata"]["RequestId"]))

    with rclsim.mock():
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.meta.events.register("after-call.rekognition.DescribeProjects", rewrite)
        client.meta.events.register("after-call.rekognition.DescribeProjects", read)
        client.describe_projects()
    http, request_id = seen[0]
    assert isinstance(http, AWSResponse) and http.status_code == 200
    assert http.content.startswith(b'{"ProjectDescriptions":')  # the wire answer the parser read
    assert http.headers["X-Amzn-RequestId"] == request_id  # case-insensitive, and not the rewrite
    plain = vars(AWSResponse("https://x.invalid/", 200, {}, None))
    assert set(plain) - {"headers"} <= set(vars(http)), "botocore's AWSResponse sets more than rclsim's"
    for again in (pickle.loads(pickle.dumps(http)), copy.deepcopy(http)):
        assert again.status_code == 200 and again.headers["x-amzn-requestid"] == request_id


def test_the_mock_undoes_only_its_own_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    _without_credentials(monkeypatch)
    monkeypatch.delenv("RCLSIM_TEST_SETTING", raising=False)
    with rclsim.mock():
        os.environ["RCLSIM_TEST_SETTING"] = "kept"  # the code under test sets its own
        os.environ["AWS_ACCESS_KEY_ID"] = "set-inside"  # and replaces one the mock set
    assert os.environ.pop("RCLSIM_TEST_SETTING") == "kept"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "set-inside"
    assert "AWS_SECRET_ACCESS_KEY" not in os.environ and "AWS_EC2_METADATA_DISABLED" not in os.environ
