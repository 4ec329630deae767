"""Fault rules (rclsim.fake.faults): checked when read (one line naming the file, the rule and the field),
matched by operation and model, fired by seeded rate or by call number, with latency slept on the
core's clock; and the ``faults`` setting (RCLSIM_FAULTS, --faults, get_backend/mock) that applies them."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.backends import get_backend
from rclsim.config import resolve
from rclsim.fake.clock import ManualClock
from rclsim.fake.faults import FaultRules
from rclsim.frontends.cli import main
from rclsim.frontends.wire import error_response
from rclsim.service.errors import RclsimError

from .conftest import ARTICLE_ARN, ARTICLE_S3

PROJECT = rclsim.ARTICLE_PROJECT_ARN
OTHER_ARN = "arn:aws:rekognition:ap-northeast-1:123456789012:project/other/version/other.1/1700000000000"


def _code(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def _describe(backend: Any) -> str:
    return _code(lambda: backend.describe_projects())


# -- reading and checking ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        (
            [
                {"operation": "*", "latency": {"seconds": 1}},
                {"operation": "StopProjectVersion", "rate": 1.5, "error": "ThrottlingException"},
            ],
            "bad.json: rule 2, field 'rate': 1.5 is greater than the maximum of 1",
        ),
        (
            [{"operation": "StopProjectVersion", "error": "LimitExceededException"}],
            "bad.json: rule 1, field 'error': StopProjectVersion cannot raise 'LimitExceededException'",
        ),
        (
            [{"operation": "*", "error": "ServiceUnavailable"}],
            "bad.json: rule 1, field 'error': no operation rclsim fakes can raise 'ServiceUnavailable'",
        ),
        (
            [{"operation": "DetectLabels", "error": "ThrottlingException"}],
            "bad.json: rule 1, field 'operation'",
        ),
        ([{"operation": "*"}], "bad.json: rule 1: give an 'error' (a code) or a 'latency'"),
        (
            [{"operation": "*", "error": "ThrottlingException", "rate": 0.5, "calls": [1]}],
            "bad.json: rule 1: give 'rate' or 'calls', not both",
        ),
        (
            [{"operation": "*", "error": "ThrottlingException", "calls": [0]}],
            "bad.json: rule 1, field 'calls.0': 0 is less than the minimum of 1",
        ),
        (
            [{"operation": "*", "latency": {"distribution": "uniform", "low": 2, "high": 1}}],
            "bad.json: rule 1, field 'latency': low 2 is above high 1",
        ),
        (
            [{"operation": "*", "latency": {"distribution": "normal", "mean": 1}}],
            "bad.json: rule 1, field 'latency': distribution 'normal' takes 'mean', 'stdev'",
        ),
        (
            [{"operation": "*", "error": "ThrottlingException", "retries": 3}],
            "bad.json: rule 1: Additional properties are not allowed ('retries' was unexpected)",
        ),
        ({"seed": "seven", "rules": []}, "bad.json: field 'seed': 'seven' is not of type 'integer'"),
        ("throttle please", "bad.json: fault rules must be a list of rules"),
    ],
)
def test_a_bad_rules_file_is_one_line_naming_the_file_rule_and_field(rules: Any, expected: str) -> None:
    Path("bad.json").write_text(json.dumps(rules), encoding="utf-8")
    with pytest.raises(RclsimError) as info:
        FaultRules.load("bad.json")
    message = str(info.value)
    assert message.startswith(expected), message
    assert "\n" not in message


def test_a_file_that_is_missing_or_not_json_is_named() -> None:
    with pytest.raises(RclsimError, match="fault rules file nowhere.json does not exist"):
        FaultRules.load("nowhere.json")
    Path("broken.json").write_text("[{", encoding="utf-8")
    with pytest.raises(RclsimError, match="fault rules file broken.json is not valid JSON"):
        FaultRules.load("broken.json")


def test_every_front_end_refuses_a_bad_file_before_making_the_backend(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("bad.json").write_text(json.dumps([{"operation": "*", "error": "Nope"}]), encoding="utf-8")
    with pytest.raises(RclsimError, match="bad.json: rule 1, field 'error'"):
        get_backend(faults="bad.json")
    with pytest.raises(RclsimError, match="bad.json: rule 1, field 'error'"):
        with rclsim.mock(faults="bad.json"):
            pass
    assert main(["--faults", "bad.json", "find-running"]) == 1
    err = capsys.readouterr().err
    assert "bad.json: rule 1, field 'error'" in err and err.count("\n") == 1
    monkeypatch.setenv("RCLSIM_FAULTS", "bad.json")
    with pytest.raises(RclsimError, match="bad.json: rule 1"):
        get_backend()


def test_faults_need_a_fake_backend() -> None:
    with pytest.raises(
        RclsimError, match="faults makes the fake fail on purpose: it needs backend replay or sim"
    ):
        resolve("api", backend="aws", faults="f.json")
    with pytest.raises(RclsimError, match="--faults makes the fake fail"):
        resolve("cli", backend="aws", faults="f.json")
    # the variable is for the fakes: a suite that also runs against AWS keeps it set
    assert resolve("api", backend="aws", environ={"RCLSIM_FAULTS": "f.json"}).faults is None
    assert resolve("api", environ={"RCLSIM_FAULTS": "f.json"}).faults == Path("f.json")


# -- which calls ---------------------------------------------------------------------------------
def test_sequence_fails_exactly_the_numbered_matching_calls() -> None:
    rules = [{"operation": "DescribeProjects", "error": "InternalServerError", "calls": [2, 3]}]
    backend = get_backend(faults=rules)
    outcomes = [_describe(backend) for _ in range(5)]
    assert outcomes == ["ok", "InternalServerError", "InternalServerError", "ok", "ok"]
    # other operations neither fail nor count
    assert _code(lambda: backend.describe_project_versions(ProjectArn=PROJECT)) == "ok"
    (fault,) = backend.fault_rules  # type: ignore[attr-defined]
    assert (fault.matched(1), fault.fired(1)) == (5, 2)


def test_times_caps_a_rule() -> None:
    backend = get_backend(faults=[{"operation": "*", "error": "ThrottlingException", "times": 2}])
    assert [_describe(backend) for _ in range(4)] == ["ThrottlingException"] * 2 + ["ok"] * 2


def _pattern(seed: int, n: int = 60, rate: float = 0.3) -> list[str]:
    rules = FaultRules.from_data(
        [{"operation": "*", "error": "ThrottlingException", "rate": rate}], seed=seed
    )
    backend = get_backend(faults=rules)
    return [_describe(backend) for _ in range(n)]


def test_rate_is_seeded_same_seed_same_faults() -> None:
    first, again, other = _pattern(7), _pattern(7), _pattern(8)
    assert first == again
    assert first != other
    share = first.count("ThrottlingException") / len(first)
    assert 0.1 < share < 0.5  # about 0.3 (60 draws)
    assert set(_pattern(1, rate=0.0)) == {"ok"} and set(_pattern(1, rate=1.0)) == {"ThrottlingException"}


def test_the_files_seed_is_used_and_reset_starts_again() -> None:
    data = {"seed": 7, "rules": [{"operation": "*", "error": "ThrottlingException", "rate": 0.3}]}
    rules = FaultRules.from_data(data)
    assert rules.seed == 7
    backend = get_backend(faults=rules)
    first = [_describe(backend) for _ in range(60)]
    assert first == _pattern(7)
    rules.reset()
    assert [_describe(backend) for _ in range(60)] == first
    assert FaultRules.from_data(data, seed=3).seed == 3  # the argument wins


def test_model_globs_pick_the_versions_they_name() -> None:
    rules = [
        {
            "operation": "StopProjectVersion",
            "model": "*/version/licence-plates.*",
            "error": "ThrottlingException",
        }
    ]
    backend = get_backend(faults=rules)
    assert _code(lambda: backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)) == "ThrottlingException"
    # a model the rule does not name gets the fake's own answer
    assert (
        _code(lambda: backend.stop_project_version(ProjectVersionArn=OTHER_ARN))
        == "ResourceNotFoundException"
    )
    # a call with no ARN never matches a rule with a model
    assert _describe(backend) == "ok"


def test_any_operation_applies_an_error_only_where_the_model_lists_it() -> None:
    backend = get_backend(faults=[{"operation": "*", "error": "LimitExceededException"}])
    start = lambda: backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)  # noqa: E731
    assert _code(start) == "LimitExceededException"
    assert (
        _code(lambda: backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)) != "LimitExceededException"
    )


def test_the_default_message_names_the_rule_and_a_message_can_be_given() -> None:
    Path("f.json").write_text(
        json.dumps(
            [
                {"operation": "DescribeProjects", "error": "ThrottlingException", "calls": [1]},
                {
                    "operation": "DescribeProjects",
                    "error": "InternalServerError",
                    "calls": [2],
                    "message": "boom",
                },
            ]
        ),
        encoding="utf-8",
    )
    backend = get_backend(faults="f.json")
    with pytest.raises(ClientError) as info:
        backend.describe_projects()
    assert info.value.response["Error"]["Message"] == "Rate exceeded (rclsim fault rule 1 of f.json)"
    assert type(info.value).__name__ == "ThrottlingException"  # botocore's modeled class
    with pytest.raises(ClientError, match="boom"):
        backend.describe_projects()


def test_faults_come_before_the_fakes_own_checks() -> None:
    backend = get_backend(
        faults=[{"operation": "DetectCustomLabels", "error": "ProvisionedThroughputExceededException"}]
    )
    detect = lambda: backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)  # noqa: E731
    assert _code(detect) == "ProvisionedThroughputExceededException"  # though the model is not running


def test_removed_rules_stop_failing_calls() -> None:
    backend = get_backend()
    rules = backend.add_faults(FaultRules.from_data([{"operation": "*", "error": "ThrottlingException"}]))  # type: ignore[attr-defined]
    assert _describe(backend) == "ThrottlingException"
    backend.remove_faults(rules)  # type: ignore[attr-defined]
    assert _describe(backend) == "ok" and backend.fault_rules == ()  # type: ignore[attr-defined]


# -- latency -------------------------------------------------------------------------------------
def test_latency_sleeps_on_the_cores_clock() -> None:
    clock = ManualClock()
    backend = get_backend(
        clock=clock, faults=[{"operation": "DescribeProjects", "latency": {"seconds": 2.5}}]
    )
    started, wall = clock.now(), time.perf_counter()
    assert _describe(backend) == "ok"
    assert clock.now() - started == 2.5
    assert time.perf_counter() - wall < 1.0  # no real wait
    assert _code(lambda: backend.describe_project_versions(ProjectArn=PROJECT)) == "ok"
    assert clock.now() - started == 2.5  # another operation: no latency


def test_latency_distributions_are_seeded_and_bounded() -> None:
    def delays(seed: int, latency: dict[str, Any]) -> list[float]:
        clock = ManualClock()
        rules = FaultRules.from_data([{"operation": "*", "latency": latency}], seed=seed)
        backend = get_backend(clock=clock, faults=rules)
        out = []
        for _ in range(30):
            before = clock.now()
            _describe(backend)
            out.append(clock.now() - before)
        return out

    uniform = {"distribution": "uniform", "low": 0.2, "high": 0.8}
    first = delays(1, uniform)
    assert first == delays(1, uniform) and first != delays(2, uniform)
    assert all(0.2 <= d <= 0.8 for d in first)
    normal = delays(1, {"distribution": "normal", "mean": 1.0, "stdev": 2.0})
    assert min(normal) == 0.0 and max(normal) > 1.0  # clipped at 0


def test_latency_and_an_error_together() -> None:
    clock = ManualClock()
    rules = [{"operation": "*", "latency": {"seconds": 1}, "error": "InternalServerError", "calls": [1]}]
    backend = get_backend(clock=clock, faults=rules)
    started = clock.now()
    assert [_describe(backend), _describe(backend)] == ["InternalServerError", "ok"]
    assert clock.now() - started == 1.0  # only the fired call was slowed


# -- wire status ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 500),
        ("InternalServerError", 500),
        ("ProvisionedThroughputExceededException", 400),
        ("LimitExceededException", 400),
    ],
)
def test_fault_codes_go_out_with_the_services_http_status(code: str, status: int) -> None:
    answer = error_response(code, "x")
    assert answer.status == status
    assert json.loads(answer.body)["__type"] == code


def test_the_cli_applies_faults_and_does_not_retry(capsys: pytest.CaptureFixture[str]) -> None:
    Path("f.json").write_text(
        json.dumps([{"operation": "*", "error": "ThrottlingException"}]), encoding="utf-8"
    )
    code = main(["--faults", "f.json", "status", "--project-version-arn", ARTICLE_ARN])
    err = capsys.readouterr().err
    assert code == 255
    assert "An error occurred (ThrottlingException)" in err and "rclsim fault rule 1 of f.json" in err
