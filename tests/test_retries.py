"""Retrying clients against fault rules, in every front-end.

* A retrying function written as a user would (exponential backoff on ThrottlingException and
  ProvisionedThroughputExceededException, a cap on attempts) passes against the drop-in, ``rclsim
  serve`` (in-process and as the command) and the Backend API.
* botocore's own retry modes behave as against AWS through the drop-in and through serve: legacy 5
  attempts (HTTP 500s and 400 throttling codes, not LimitExceededException), standard and adaptive 3
  (LimitExceededException counts as throttling), ``total_max_attempts``/``max_attempts``. The attempts
  are those the fake saw (the rules' counters) and botocore's ``RetryAttempts``.
* The Backend API and the CLI do not retry: one call, one attempt.

botocore's backoff sleeps (``time.sleep`` in ``botocore.endpoint``) are replaced by a spy, so no test
waits for real seconds; the spy also counts them (one sleep per retry).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.endpoint
import botocore.retries.bucket
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

import rclsim
from rclsim.backends import get_backend
from rclsim.fake.faults import FaultRules
from rclsim.frontends.cli import main
from rclsim.frontends.server import FakeServer

from .conftest import ARTICLE_ARN, ARTICLE_S3
from .processes import stop

REGION = "ap-northeast-1"
DETECT = {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3, "MinConfidence": 75}


# -- the user's own retrying client ------------------------------------------------------------------
RETRYABLE = {"ThrottlingException", "ProvisionedThroughputExceededException"}


def detect_with_backoff(
    client: Any,
    *,
    max_attempts: int = 5,
    base_delay: float = 0.1,
    sleep: Callable[[float], None] = time.sleep,
    **params: Any,
) -> dict[str, Any]:
    """DetectCustomLabels, retried with exponential backoff while the service is throttling."""
    for attempt in range(1, max_attempts + 1):
        try:
            return client.detect_custom_labels(**params)  # type: ignore[no-any-return]
        except ClientError as exc:
            if exc.response["Error"]["Code"] not in RETRYABLE or attempt == max_attempts:
                raise
            sleep(base_delay * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


# -- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture
def backoffs(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry sleeps, recorded instead of slept."""
    slept: list[float] = []
    fake_time = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time) if not k.startswith("__")})
    fake_time.sleep = slept.append
    monkeypatch.setattr(botocore.endpoint, "time", fake_time)
    # adaptive mode's client-side rate limiter waits for its token bucket to refill on a clock of its
    # own: one that runs 10 s per reading refills it at once
    monkeypatch.setattr(botocore.retries.bucket, "Clock", _HurriedClock)
    return slept


class _HurriedClock:
    def __init__(self) -> None:
        self.now = time.time()

    def current_time(self) -> float:
        self.now += 10.0
        return self.now

    def sleep(self, amount: float) -> None:
        self.now += amount


def _started_backend(rules: Any) -> Any:
    backend = get_backend("replay", region=REGION)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    backend.add_faults(rules if isinstance(rules, FaultRules) else FaultRules.from_data(rules))  # type: ignore[attr-defined]
    return backend


@pytest.fixture(params=["dropin", "serve"])
def front_end(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """``make(rules) -> (client_for(config), backend)`` through the drop-in or serve (in-process)."""
    stack: list[Any] = []

    def make(rules: Any) -> tuple[Callable[[Config | None], Any], Any]:
        backend = _started_backend(rules)
        if request.param == "dropin":
            stack.append(rclsim.mock(backend))
            stack[-1].__enter__()
            return (
                lambda config=None: boto3.client("rekognition", region_name=REGION, config=config)
            ), backend
        server = FakeServer(backend, "127.0.0.1", 0)
        server.start_in_thread()
        stack.append(server)

        def client(config: Config | None = None) -> Any:
            return boto3.client(
                "rekognition",
                endpoint_url=server.url,
                region_name=REGION,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=config,
            )

        return client, backend

    yield make
    for item in reversed(stack):
        if isinstance(item, FakeServer):
            item.stop()
        else:
            item.__exit__(None, None, None)


def _outcome(call: Callable[[], Any]) -> tuple[str, int]:
    """The error code (or "ok") and botocore's RetryAttempts."""
    try:
        response = call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"]), int(exc.response["ResponseMetadata"]["RetryAttempts"])
    return "ok", int(response["ResponseMetadata"]["RetryAttempts"])


# -- the user's retrying client, in every front-end ---------------------------------------------------
def test_the_users_backoff_recovers_after_two_throttles(front_end: Any) -> None:
    rules = FaultRules.from_data(
        [{"operation": "DetectCustomLabels", "error": "ThrottlingException", "calls": [1, 2]}]
    )
    client_for, _ = front_end(rules)
    slept: list[float] = []
    client = client_for(Config(retries={"total_max_attempts": 1}))  # the user retries, not botocore
    response = detect_with_backoff(client, sleep=slept.append, **DETECT)
    assert response["CustomLabels"] and slept == [0.1, 0.2]
    assert rules.matched(1) == 3 and rules.fired(1) == 2


def test_the_users_backoff_gives_up_after_max_attempts(front_end: Any) -> None:
    rules = FaultRules.from_data(
        [{"operation": "DetectCustomLabels", "error": "ProvisionedThroughputExceededException"}]
    )
    client_for, _ = front_end(rules)
    slept: list[float] = []
    client = client_for(Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as info:
        detect_with_backoff(client, max_attempts=4, sleep=slept.append, **DETECT)
    assert info.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert rules.matched(1) == 4 and slept == [0.1, 0.2, 0.4]


def test_the_users_backoff_does_not_retry_what_will_not_pass(front_end: Any) -> None:
    rules = FaultRules.from_data([{"operation": "DetectCustomLabels", "error": "AccessDeniedException"}])
    client_for, _ = front_end(rules)
    slept: list[float] = []
    with pytest.raises(ClientError, match="AccessDenied"):
        detect_with_backoff(
            client_for(Config(retries={"total_max_attempts": 1})), sleep=slept.append, **DETECT
        )
    assert rules.matched(1) == 1 and slept == []


def test_the_users_backoff_against_the_backend_api() -> None:
    rules = FaultRules.from_data(
        [{"operation": "DetectCustomLabels", "error": "ThrottlingException", "calls": [1, 2]}]
    )
    backend = _started_backend(rules)
    slept: list[float] = []
    assert detect_with_backoff(backend, sleep=slept.append, **DETECT)["CustomLabels"]
    assert rules.matched(1) == 3 and slept == [0.1, 0.2]


# -- botocore's retry modes --------------------------------------------------------------------------
# (retries config, injected code, attempts the fake sees): measured, and the table in docs/faults.md
MODES = [
    ({"mode": "legacy"}, "ThrottlingException", 5),
    ({"mode": "legacy"}, "ProvisionedThroughputExceededException", 5),
    ({"mode": "legacy"}, "InternalServerError", 5),
    ({"mode": "legacy"}, "LimitExceededException", 1),
    ({"mode": "legacy"}, "AccessDeniedException", 1),
    ({"mode": "standard"}, "ThrottlingException", 3),
    ({"mode": "standard"}, "ProvisionedThroughputExceededException", 3),
    ({"mode": "standard"}, "InternalServerError", 3),
    ({"mode": "standard"}, "LimitExceededException", 3),
    ({"mode": "standard"}, "AccessDeniedException", 1),
    ({"mode": "adaptive"}, "ThrottlingException", 3),
    ({"mode": "legacy", "total_max_attempts": 2}, "ThrottlingException", 2),
    ({"mode": "standard", "total_max_attempts": 6}, "ThrottlingException", 6),
    ({"mode": "standard", "max_attempts": 1}, "ThrottlingException", 2),  # max_attempts: retries
    ({"mode": "legacy", "max_attempts": 0}, "ThrottlingException", 1),
    ({"total_max_attempts": 1}, "InternalServerError", 1),
]


@pytest.mark.parametrize(("retries", "code", "attempts"), MODES, ids=lambda v: str(v))
def test_botocore_retry_modes(
    front_end: Any, backoffs: list[float], retries: dict[str, Any], code: str, attempts: int
) -> None:
    rules = FaultRules.from_data([{"operation": "DetectCustomLabels", "error": code}])
    client_for, _ = front_end(rules)
    client = client_for(Config(retries=retries))  # type: ignore[arg-type]
    assert _outcome(lambda: client.detect_custom_labels(**DETECT)) == (code, attempts - 1)
    assert rules.matched(1) == attempts
    assert len(backoffs) == attempts - 1  # botocore slept (here: recorded) once per retry


def test_the_default_mode_is_botocores(front_end: Any, backoffs: list[float]) -> None:
    """No Config: the installed botocore's default mode (legacy before botocore 1.40-ish, standard
    since; AWS_RETRY_MODE and the config file's retry_mode change it)."""
    mode = botocore.session.Session().get_config_variable("retry_mode")
    rules = FaultRules.from_data([{"operation": "DetectCustomLabels", "error": "ThrottlingException"}])
    client_for, _ = front_end(rules)
    client = client_for(None)
    _outcome(lambda: client.detect_custom_labels(**DETECT))
    assert rules.matched(1) == {"legacy": 5, "standard": 3, "adaptive": 3}[mode]


def test_botocore_retries_until_the_fault_passes(front_end: Any, backoffs: list[float]) -> None:
    rules = FaultRules.from_data(
        [{"operation": "DetectCustomLabels", "error": "InternalServerError", "calls": [1, 2]}]
    )
    client_for, _ = front_end(rules)
    client = client_for(Config(retries={"mode": "standard"}))
    assert _outcome(lambda: client.detect_custom_labels(**DETECT)) == ("ok", 2)
    rules.reset()
    short = client_for(Config(retries={"mode": "legacy", "total_max_attempts": 2}))
    assert _outcome(lambda: short.detect_custom_labels(**DETECT)) == ("InternalServerError", 1)


def test_a_waiter_sees_a_throttled_describe_retried(front_end: Any, backoffs: list[float]) -> None:
    rules = FaultRules.from_data(
        [{"operation": "DescribeProjectVersions", "error": "ThrottlingException", "calls": [1]}]
    )
    client_for, _ = front_end(rules)
    client = client_for(Config(retries={"mode": "standard"}))
    client.get_waiter("project_version_running").wait(
        ProjectArn=rclsim.ARTICLE_PROJECT_ARN, VersionNames=["licence-plates.2021-01-01T00.00.00"]
    )
    assert rules.matched(1) == 2


# -- the fast path is kept without faults ---------------------------------------------------------
def test_without_faults_the_dropin_answers_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    import rclsim.frontends.dropin as dropin

    def never(**_: Any) -> Any:
        raise AssertionError("before-send reached without fault rules")

    monkeypatch.setattr(dropin, "_before_send", never)
    rules = FaultRules.from_data([{"operation": "DetectCustomLabels", "error": "ThrottlingException"}])
    backend = _started_backend(rules)
    backend.remove_faults(rules)  # on and off again: the fast path is back
    with rclsim.mock(backend):
        client = boto3.client("rekognition", region_name=REGION)
        assert client.detect_custom_labels(**DETECT)["CustomLabels"]


def test_faults_through_the_dropin_keep_moto_out(backoffs: list[float]) -> None:
    """moto answers on before-send too: its hook must not take a Rekognition call answered there."""
    moto = pytest.importorskip("moto")
    rules = FaultRules.from_data(
        [{"operation": "DetectCustomLabels", "error": "ThrottlingException", "calls": [1]}]
    )
    backend = _started_backend(rules)
    with moto.mock_aws(), rclsim.mock(backend):
        client = boto3.client("rekognition", region_name=REGION, config=Config(retries={"mode": "standard"}))
        assert _outcome(lambda: client.detect_custom_labels(**DETECT)) == ("ok", 1)
    assert rules.matched(1) == 2


# -- front-ends that do not retry ---------------------------------------------------------------------
def test_the_backend_api_does_not_retry() -> None:
    rules = FaultRules.from_data([{"operation": "DetectCustomLabels", "error": "ThrottlingException"}])
    backend = _started_backend(rules)
    with pytest.raises(ClientError, match="ThrottlingException"):
        backend.detect_custom_labels(**DETECT)
    assert rules.matched(1) == 1


def test_the_cli_does_not_retry(capsys: pytest.CaptureFixture[str]) -> None:
    Path("f.json").write_text(
        json.dumps([{"operation": "DetectCustomLabels", "error": "ThrottlingException"}])
    )
    assert main(["start", "--project-version-arn", ARTICLE_ARN]) == 0
    capsys.readouterr()
    argv = [
        "--faults",
        "f.json",
        "detect",
        "--project-version-arn",
        ARTICLE_ARN,
        "--image",
        json.dumps(ARTICLE_S3),
    ]
    assert main(argv) == 255
    assert (
        "An error occurred (ThrottlingException) when calling the DetectCustomLabels operation"
        in capsys.readouterr().err
    )


# -- rclsim serve --faults FILE, the command --------------------------------------------------------
@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    rules = [
        {"operation": "DescribeProjects", "error": "ThrottlingException", "calls": [1, 2]},
        {"operation": "DescribeProjectVersions", "error": "InternalServerError"},
    ]
    (tmp_path / "faults.json").write_text(json.dumps(rules), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLSIM_")}
    env["RCLSIM_CACHE_DIR"] = os.environ.get("RCLSIM_CACHE_DIR", str(tmp_path / "cache"))
    argv = [sys.executable, "-m", "rclsim.frontends.cli", "serve", "--port", "0"]
    argv += ["--faults", str(tmp_path / "faults.json"), "--state-dir", str(tmp_path / "state")]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        url = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and url is None:
            line = proc.stderr.readline()
            if not line:
                break
            if "http://" in line:
                url = "http://" + line.split("http://", 1)[1].split()[0].rstrip(".;,")
        assert url, "serve did not start"
        yield url
    finally:
        stop(proc)


def test_serve_with_a_faults_file_and_botocores_retries(served: str, backoffs: list[float]) -> None:
    sent: list[str] = []

    def client(retries: dict[str, Any]) -> Any:
        c = boto3.client(
            "rekognition",
            endpoint_url=served,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries=retries),  # type: ignore[arg-type]
        )
        c.meta.events.register("before-send.rekognition", lambda request, **_: sent.append(request.url))
        return c

    # the 1st and 2nd DescribeProjects are throttled: standard mode's 3rd attempt passes
    assert _outcome(lambda: client({"mode": "standard"}).describe_projects()) == ("ok", 2)
    assert len(sent) == 3
    sent.clear()
    # every DescribeProjectVersions is an InternalServerError (HTTP 500): legacy tries 5 times
    call = lambda: client({"mode": "legacy"}).describe_project_versions(ProjectArn=rclsim.ARTICLE_PROJECT_ARN)  # noqa: E731
    assert _outcome(call) == ("InternalServerError", 4)
    assert len(sent) == 5
