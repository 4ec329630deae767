"""Layers around the one way in (fault rules and the call history are built on them): each sees every
call from every front-end, the last added outermost, and a removed layer sees nothing more."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.backends import get_backend
from rclsim.service.errors import service_error

REGION = "ap-northeast-1"


def test_layers_see_every_call_in_order_and_can_answer_or_raise() -> None:
    backend = get_backend("replay", region=REGION)
    seen: list[str] = []

    def spy(op: str, params: Any, region: Any, *, answer: Any) -> Any:
        seen.append(f"spy {op} {region}")
        return answer(op, params, region)

    def refuse_stop(op: str, params: Any, region: Any, *, answer: Any) -> Any:
        seen.append(f"outer {op}")
        if op == "StopProjectVersion":
            raise service_error("ThrottlingException", "Rate exceeded", op)
        return answer(op, params, region)

    backend.core.add_layer(spy)  # type: ignore[attr-defined]
    backend.core.add_layer(refuse_stop)  # type: ignore[attr-defined]
    with rclsim.mock(backend):
        client = boto3.client("rekognition", region_name=REGION)
        client.start_project_version(ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN, MinInferenceUnits=1)
        with pytest.raises(ClientError) as info:
            client.stop_project_version(ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN)
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    expected = ["outer StartProjectVersion", f"spy StartProjectVersion {REGION}", "outer StopProjectVersion"]
    assert seen == expected
    backend.core.remove_layer(refuse_stop)  # type: ignore[attr-defined]
    backend.core.remove_layer(spy)  # type: ignore[attr-defined]
    assert backend.stop_project_version(ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN)["Status"] == "STOPPING"
    assert len(seen) == 3
