"""The opt-in capacity limit reaches the fake from every front-end's setting: get_backend(capacity=),
rclsim.mock(capacity=), RCLSIM_CAPACITY, and the CLI's --capacity."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.frontends.cli import build_parser
from rclsim.frontends.cli.common import _backend, _resolve

REGION = "ap-northeast-1"
ARN = rclsim.ARTICLE_MODEL_ARN
IMAGE = rclsim.ARTICLE_IMAGE


def _burst(call: Any, n: int) -> list[str]:
    outcomes = []
    for _ in range(n):
        try:
            call(ProjectVersionArn=ARN, Image=IMAGE, MinConfidence=75)
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])
    return outcomes


def test_get_backend_capacity_limits_a_unit_to_five_calls_a_second() -> None:
    backend = rclsim.get_backend("replay", capacity=True, region=REGION, clock=ManualClock())
    backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    backend.clock.advance(3600)  # type: ignore[attr-defined]
    assert _burst(backend.detect_custom_labels, 6) == ["ok"] * 5 + ["ProvisionedThroughputExceededException"]
    backend.clock.advance(1.0)  # type: ignore[attr-defined]
    assert _burst(backend.detect_custom_labels, 1) == ["ok"]


def test_off_by_default_and_on_with_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = rclsim.get_backend("replay", region=REGION, clock=ManualClock())
    backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    backend.clock.advance(3600)  # type: ignore[attr-defined]
    assert set(_burst(backend.detect_custom_labels, 50)) == {"ok"}
    monkeypatch.setenv("RCLSIM_CAPACITY", "1")
    assert rclsim.get_backend("replay").core.capacity is True  # type: ignore[attr-defined]


def test_the_drop_in_answers_provisioned_throughput_exceeded() -> None:
    clock = ManualClock()
    with rclsim.mock(capacity=True, clock=clock) as fake:
        fake.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
        clock.advance(3600)
        client = boto3.client("rekognition", region_name=REGION)
        outcomes = _burst(client.detect_custom_labels, 6)
    assert outcomes[-1] == "ProvisionedThroughputExceededException" and outcomes[:5] == ["ok"] * 5


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_cli_option_reaches_the_core(where: str) -> None:
    argv = ["--capacity", "cost"] if where == "before" else ["cost", "--capacity"]
    args = _resolve(build_parser().parse_args(argv))
    assert _backend(args).core.capacity is True
    assert _backend(_resolve(build_parser().parse_args(["cost"]))).core.capacity is False
