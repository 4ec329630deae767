"""The pytest plugin's guardrails: the call-history fixture, the fault-rules marker and fixture, and the
session that fails (naming the model and the test) when a test leaves a model running."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

import rclsim
from rclsim.frontends.server import FakeServer

pytest_plugins = ["pytester"]

HEADER = """
import pytest
ARN = ("arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/"
       "licence-plates.2021-01-01T00.00.00/1609459200000")
PROJECT = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/1609459100000"
IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}
"""

#: Fault rules as helper B's rclsim.fake.faults builds them; a stand-in with the same API (operation,
#: error, calls) where that module is not there yet, so the plugin's wiring is tested either way.
STAND_IN = """
import sys, types
try:
    import rclsim.fake.faults  # noqa: F401
except ImportError:
    from rclsim.service.errors import service_error

    class FaultRules:
        def __init__(self, rules, seed):
            self.rules, self.seed, self.seen = rules, seed, {}
            self.layer = self._layer

        @classmethod
        def from_data(cls, data, *, origin="fault rules", seed=None, clock=None):
            return cls(data if isinstance(data, list) else data["rules"], seed)

        @classmethod
        def load(cls, path):
            import json
            return cls.from_data(json.load(open(path)))

        def _layer(self, operation, params, region, *, answer):
            for i, rule in enumerate(self.rules):
                if rule["operation"] in (operation, "*"):
                    n = self.seen[i] = self.seen.get(i, 0) + 1
                    if n in rule.get("calls", [n]):
                        raise service_error(rule["error"], rule.get("message", "injected"), operation)
            return answer(operation, params, region)

    module = types.ModuleType("rclsim.fake.faults")
    module.FaultRules = FaultRules
    sys.modules["rclsim.fake.faults"] = module
"""


@pytest.fixture
def user(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")  # the article model's region
    monkeypatch.delenv("RCLSIM_STATE_DIR", raising=False)  # fresh in-memory state per test
    pytester.makeconftest(STAND_IN)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", "addopts=", *args)


def test_rcl_calls_counts_what_the_code_under_test_called(user: pytest.Pytester) -> None:
    user.makepyfile(
        test_user=HEADER
        + """
def detect_twice(client):
    for _ in range(2):
        client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE, MinConfidence=75)

def test_detect_was_called_twice_with_75(rcl_client, rcl_calls):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    detect_twice(rcl_client)
    rcl_client.stop_project_version(ProjectVersionArn=ARN)
    assert rcl_calls.count("DetectCustomLabels", MinConfidence=75) == 2
    assert rcl_calls.count("DetectCustomLabels", MinConfidence=50) == 0
    assert [c.operation for c in rcl_calls.calls] == [
        "StartProjectVersion", "DetectCustomLabels", "DetectCustomLabels", "StopProjectVersion"]

def test_fresh_history_for_every_test(rcl_backend, rcl_calls):
    assert rcl_calls.count() == 0
    rcl_backend.describe_projects()
    assert rcl_calls.of("DescribeProjects")[0].response["ProjectDescriptions"]
"""
    )
    run(user).assert_outcomes(passed=2)


def test_a_model_left_running_fails_the_session_naming_model_and_test(user: pytest.Pytester) -> None:
    user.makepyfile(
        test_user=HEADER
        + """
def test_forgets_to_stop(rcl_client):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert rcl_client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE)["CustomLabels"]

def test_stops(rcl_client):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=2)
    rcl_client.stop_project_version(ProjectVersionArn=ARN)

def test_never_starts(rcl_backend):
    rcl_backend.describe_projects()
"""
    )
    result = run(user)
    result.assert_outcomes(passed=3, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    assert "ERROR at teardown of test_forgets_to_stop" in out
    assert "rclsim: models left running" in out
    # the summary names the model, its status and the test that left it, and what it would cost
    summary = out[out.index("rclsim: models left running") :]
    assert rclsim.ARTICLE_MODEL_ARN in summary and "RUNNING" in summary
    assert "test_user.py::test_forgets_to_stop" in summary and "test_stops" not in summary
    assert "USD 4.00/hour" in summary and "rcl_leaves_running" in summary  # how to opt out


def test_starting_counts_too_and_the_opt_out_marker_is_reported_not_failed(
    user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCLSIM_TIME_SCALE", "1")  # starting takes 10 simulated minutes: still STARTING
    user.makepyfile(
        test_user=HEADER
        + """
def test_starting(rcl_backend):
    started = rcl_backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert started["Status"] == "STARTING"

@pytest.mark.rcl_leaves_running(reason="the next stage uses it")
def test_on_purpose(rcl_backend):
    rcl_backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
"""
    )
    result = run(user)
    result.assert_outcomes(passed=2, errors=1)
    out = result.stdout.str()
    assert "ERROR at teardown of test_starting" in out and "STARTING" in out
    assert "test_on_purpose" not in out.split("short test summary")[-1]
    assert "left running on purpose" in out and "the next stage uses it" in out


def test_the_marker_is_registered_and_documented_in_markers(user: pytest.Pytester) -> None:
    result = user.runpytest_subprocess("--markers")
    result.stdout.fnmatch_lines(["*rcl_faults(rules*", "*rcl_leaves_running(*"])


def test_faults_marker_and_fixture_put_rules_on_the_tests_fake(user: pytest.Pytester) -> None:
    user.makepyfile(
        test_user=HEADER
        + """
from botocore.exceptions import ClientError

RULES = [{"operation": "DetectCustomLabels", "error": "ThrottlingException", "calls": [1, 2]}]

def detect_with_retries(client, attempts=3):
    for attempt in range(attempts):
        try:
            return client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ThrottlingException" or attempt == attempts - 1:
                raise

@pytest.mark.rcl_faults(RULES, seed=7)
def test_marker(rcl_backend, rcl_calls):
    rcl_backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert detect_with_retries(rcl_backend)["CustomLabels"]
    # the history sees what the caller saw: the two throttled attempts, then the answer
    assert [c.error_code for c in rcl_calls.of("DetectCustomLabels")] == ["ThrottlingException"] * 2 + [None]
    rcl_backend.stop_project_version(ProjectVersionArn=ARN)

def test_fixture(rcl_client, rcl_faults, rcl_calls):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    rules = rcl_faults([{"operation": "StopProjectVersion", "error": "InternalServerError", "calls": [1]}])
    assert rules.layer is not None
    assert rcl_client.stop_project_version(ProjectVersionArn=ARN)["Status"] == "STOPPING"  # botocore retried
    assert [c.error_code for c in rcl_calls.of("StopProjectVersion")] == ["InternalServerError", None]

@pytest.mark.rcl_faults(RULES[:1] and [dict(RULES[0], calls=[1])])
def test_botocore_retries_through_rcl_client(rcl_client, rcl_calls):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert rcl_client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE)["CustomLabels"]  # retried
    assert [c.error_code for c in rcl_calls.of("DetectCustomLabels")] == ["ThrottlingException", None]
    rcl_client.stop_project_version(ProjectVersionArn=ARN)

def test_no_rules_leak_into_the_next_test(rcl_backend):
    rcl_backend.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert rcl_backend.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE)["CustomLabels"]
    rcl_backend.stop_project_version(ProjectVersionArn=ARN)
"""
    )
    run(user).assert_outcomes(passed=4)


@pytest.fixture
def endpoint() -> Iterator[FakeServer]:
    """A fake Rekognition on loopback standing in for AWS (time scale 0: starts are instant)."""
    with FakeServer(rclsim.get_backend("replay"), "127.0.0.1", 0) as srv:  # type: ignore[arg-type]
        yield srv


def _status(server: FakeServer) -> str:
    client = boto3.client("rekognition", endpoint_url=server.url, region_name="ap-northeast-1")
    found = client.describe_project_versions(
        ProjectArn=rclsim.ARTICLE_PROJECT_ARN, VersionNames=["licence-plates.2021-01-01T00.00.00"]
    )
    return str(found["ProjectVersionDescriptions"][0]["Status"])


def test_aws_backend_stops_what_the_session_started_and_fails(
    user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, endpoint: FakeServer
) -> None:
    monkeypatch.setenv("RCLSIM_ENDPOINT_URL", endpoint.url)
    monkeypatch.setenv("RCLSIM_REGION", "ap-northeast-1")
    user.makepyfile(
        test_user=HEADER
        + """
def test_forgets_to_stop(rcl_client, rcl_calls):
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert rcl_calls.count("StartProjectVersion", MinInferenceUnits=1) == 1  # live calls are recorded too
"""
    )
    result = run(user, "--rcl-backend", "aws", "--rcl-live-aws-may-incur-charges")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    out = result.stdout.str()
    summary = out[out.index("rclsim: models left running") :]
    assert rclsim.ARTICLE_MODEL_ARN in summary and "test_user.py::test_forgets_to_stop" in summary
    assert "StopProjectVersion" in summary and "stopped" in summary.lower()
    assert _status(endpoint) in ("STOPPING", "STOPPED")


def test_aws_backend_leaves_alone_what_it_did_not_start(
    user: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, endpoint: FakeServer
) -> None:
    monkeypatch.setenv("RCLSIM_ENDPOINT_URL", endpoint.url)
    monkeypatch.setenv("RCLSIM_REGION", "ap-northeast-1")
    client = boto3.client("rekognition", endpoint_url=endpoint.url, region_name="ap-northeast-1")
    client.start_project_version(ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN, MinInferenceUnits=1)
    user.makepyfile(
        test_user=HEADER
        + """
from botocore.exceptions import ClientError

def test_uses_a_model_someone_else_runs(rcl_client):
    with pytest.raises(ClientError):  # already running: this session did not start it
        rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    assert rcl_client.detect_custom_labels(ProjectVersionArn=ARN, Image=IMAGE)["CustomLabels"]
"""
    )
    run(user, "--rcl-backend", "aws", "--rcl-live-aws-may-incur-charges").assert_outcomes(passed=1)
    assert _status(endpoint) == "RUNNING"
