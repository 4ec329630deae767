"""The call history: a layer around the core's one way in that keeps what each call asked and got."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.backends import get_backend
from rclsim.fake.history import Call, CallHistory
from rclsim.service.errors import RclsimError, service_error

REGION = "ap-northeast-1"
ARN = rclsim.ARTICLE_MODEL_ARN
IMAGE = rclsim.ARTICLE_IMAGE


def _answer(op: str, params: Any, region: Any) -> dict[str, Any]:
    return {"Status": "STARTING", "Nested": {"List": [1, 2]}}


def test_every_front_end_is_seen_with_params_answer_error_and_region() -> None:
    backend = get_backend("replay", region=REGION)
    history = CallHistory()
    backend.core.add_layer(history.layer)  # type: ignore[attr-defined]
    with rclsim.mock(backend):
        client = boto3.client("rekognition", region_name=REGION)
        client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
        for _ in range(2):
            client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE, MinConfidence=75)
        client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE, MinConfidence=50)
        with pytest.raises(ClientError):
            client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    backend.stop_project_version(ProjectVersionArn=ARN)  # the Backend API: the same core

    assert [c.operation for c in history.calls] == [
        "StartProjectVersion",
        "DetectCustomLabels",
        "DetectCustomLabels",
        "DetectCustomLabels",
        "StartProjectVersion",
        "StopProjectVersion",
    ]
    assert history.count("DetectCustomLabels", MinConfidence=75) == 2
    assert history.count("DetectCustomLabels") == 3
    assert history.count(MinInferenceUnits=1) == 2
    assert history.count("DetectCustomLabels", Image={"S3Object": {"Bucket": "my-bucket"}}) == 3  # a subset
    assert history.count("DetectCustomLabels", Image={"S3Object": {"Bucket": "other"}}) == 0
    first = history.of("DetectCustomLabels")[0]
    assert first.region == REGION and first.error_code is None
    assert first.response is not None
    assert [x["Name"] for x in first.response["CustomLabels"]] == ["vehicle_registration_plate", "car"]
    refused = history.calls[4]
    assert refused.response is None and refused.error_code == "ResourceInUseException"
    assert refused.error_message and "RUNNING" in refused.error_message
    assert history.calls[5].response == {"Status": "STOPPING"}


def test_stored_copies_do_not_change_when_the_caller_mutates_its_own() -> None:
    history = CallHistory()
    params: dict[str, Any] = {"ProjectVersionArn": ARN, "Image": {"S3Object": {"Bucket": "b", "Name": "k"}}}
    got = history.layer("StartProjectVersion", params, None, answer=_answer)
    got["Nested"]["List"].append(3)
    params["Image"]["S3Object"]["Bucket"] = "changed"
    call = history.calls[0]
    assert call.response == {"Status": "STARTING", "Nested": {"List": [1, 2]}}
    assert call.params["Image"]["S3Object"]["Bucket"] == "b"
    call.params["Image"]["S3Object"]["Bucket"] = "mutated"  # a copy handed out: history keeps its own
    assert history.calls[0].params["Image"]["S3Object"]["Bucket"] == "b"


def test_image_bytes_are_kept_as_size_and_hash_yet_match_the_same_bytes() -> None:
    history = CallHistory()
    data = bytes(range(256)) * 1000
    params = {"ProjectVersionArn": ARN, "Image": {"Bytes": data}}
    history.layer("DetectCustomLabels", params, None, answer=_answer)
    stored = history.calls[0].params["Image"]["Bytes"]
    assert not isinstance(stored, bytes)
    assert stored.size == len(data) and stored.sha256 == hashlib.sha256(data).hexdigest()
    assert "256000 bytes" in repr(stored) and hashlib.sha256(data).hexdigest()[:12] in repr(stored)
    assert stored == data and stored != data[:-1]
    assert history.count("DetectCustomLabels", Image={"Bytes": data}) == 1
    assert history.count("DetectCustomLabels", Image={"Bytes": b"other"}) == 0


def test_a_layer_error_that_is_not_the_services_is_kept_by_its_class_and_raised() -> None:
    history = CallHistory()

    def broken(op: str, params: Any, region: Any) -> dict[str, Any]:
        raise ValueError("bad")

    def throttled(op: str, params: Any, region: Any) -> dict[str, Any]:
        raise service_error("ThrottlingException", "Rate exceeded", op)

    with pytest.raises(ValueError):
        history.layer("DescribeProjects", {}, "us-east-1", answer=broken)
    with pytest.raises(ClientError):
        history.layer("DescribeProjects", {}, "us-east-1", answer=throttled)
    assert [(c.error_code, c.response) for c in history.calls] == [
        ("ValueError", None),
        ("ThrottlingException", None),
    ]


def test_bounded_oldest_dropped_and_counted_clear_resets() -> None:
    history = CallHistory(max_calls=3)
    for n in range(5):
        history.layer("DescribeProjects", {"MaxResults": n + 1}, None, answer=_answer)
    assert [c.params["MaxResults"] for c in history.calls] == [3, 4, 5]
    assert history.dropped == 2 and len(history) == 3
    history.clear()
    assert history.calls == [] and history.dropped == 0 and history.count() == 0
    with pytest.raises(ValueError):
        CallHistory(max_calls=0)
    assert CallHistory().max_calls == CallHistory.DEFAULT_MAX_CALLS == 10_000


def test_thread_safe_under_concurrent_calls() -> None:
    history = CallHistory()

    def worker() -> None:
        for _ in range(500):
            history.layer("DescribeProjects", {}, None, answer=_answer)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert history.count("DescribeProjects") == 2000


def test_an_operation_name_that_cannot_be_is_an_error_not_a_silent_zero() -> None:
    history = CallHistory()
    with pytest.raises(RclsimError, match="DetectCustomLabel.*DetectCustomLabels"):
        history.count("DetectCustomLabel")
    assert history.count("detect_custom_labels") == 0  # boto3's method name is the same operation
    history.layer("DetectCustomLabels", {"MinConfidence": 75}, None, answer=_answer)
    assert history.count("detect_custom_labels", MinConfidence=75) == 1
    assert history.of("detect_custom_labels")[0].operation == "DetectCustomLabels"
    assert isinstance(history.calls[0], Call)


def test_exported_lazily_from_rclsim() -> None:
    assert rclsim.CallHistory is CallHistory
    assert "CallHistory" in rclsim.__all__
