"""Starting and stopping safely: running_model, the CLI's start/stop/status/cost, going live offline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

import rclsim
import rclsim.fake.core
from rclsim.backends.aws import AwsBackend
from rclsim.fake.clock import ManualClock
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN, ARTICLE_S3

PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION = "licence-plates.2021-01-01T00.00.00"


def status(backend: rclsim.Backend) -> str:
    found = backend.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
    return found["ProjectVersionDescriptions"][0]["Status"]  # type: ignore[no-any-return]


def test_running_model_starts_waits_and_stops() -> None:
    backend = rclsim.get_backend("replay")
    said: list[str] = []
    with rclsim.running_model(backend, ARTICLE_ARN, say=said.append):
        assert status(backend) == "RUNNING"
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3, MinConfidence=75)
    assert status(backend) == "STOPPED"
    assert "per hour" in said[0]  # the price comes first


def test_running_model_stops_on_an_exception() -> None:
    backend = rclsim.get_backend("replay")
    with pytest.raises(ZeroDivisionError), rclsim.running_model(backend, ARTICLE_ARN, say=lambda _: None):
        1 / 0  # noqa: B018
    assert status(backend) == "STOPPED"


def test_running_model_leaves_a_model_it_did_not_start() -> None:
    backend = rclsim.get_backend("replay")
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    said: list[str] = []
    with rclsim.running_model(backend, ARTICLE_ARN, say=said.append):
        pass
    assert status(backend) == "RUNNING"
    assert any("left running" in line for line in said)


def test_running_model_waits_through_starting_in_scaled_time() -> None:
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock, time_scale=1)  # ManualClock.sleep advances time
    with rclsim.running_model(backend, ARTICLE_ARN, say=lambda _: None):
        assert status(backend) == "RUNNING"
        clock.advance(3600)
    assert status(backend) in ("STOPPING", "STOPPED")
    inference = [line for line in backend.bill().lines if line.item == "inference"][0]
    assert inference.quantity == pytest.approx(1.0)  # an hour inside the block, one IU


def test_running_model_reports_a_failed_stop() -> None:
    backend = rclsim.get_backend("replay")
    said: list[str] = []

    def broken_stop(**_: object) -> dict:
        raise RuntimeError("network down")

    with pytest.raises(RuntimeError), rclsim.running_model(backend, ARTICLE_ARN, say=said.append):
        backend.stop_project_version = broken_stop  # type: ignore[method-assign]
    assert any("FAILED TO STOP" in line and "rclsim stop" in line for line in said)


CHILD = """
import sys, rclsim
from rclsim.fake.clock import ManualClock

class ParentPacedClock(ManualClock):
    # No real waiting: each sleep blocks until the parent closes stdin, then moves the manual time on.
    def sleep(self, seconds):
        sys.stdin.readline()
        super().sleep(seconds)

backend = rclsim.get_backend("replay", state_dir=sys.argv[1], time_scale=1, clock=ParentPacedClock())
with rclsim.running_model(backend, rclsim.ARTICLE_MODEL_ARN):
    print("inside", flush=True)
"""


def read_until(stream: Any, text: str) -> str:
    seen = ""
    while text not in seen:
        line = stream.readline()
        if not line:
            break
        seen += line
    return seen


def test_ctrl_c_while_starting_still_stops_the_model(tmp_path: Path) -> None:
    """A child process is interrupted (SIGINT) while the model is STARTING: it waits for a stoppable
    status, stops the model, and the state shared on disk shows it stopped. The child's clock is a
    ManualClock whose sleep waits on the parent (stdin), so every step happens in a known order."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=tmp_path,  # the installed rclsim, not the source folder 'python -c' puts first on sys.path
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, child.kill)  # a hang fails the test instead of blocking the run
    watchdog.start()
    try:
        assert child.stdin is not None and child.stderr is not None and child.stdout is not None
        assert "waiting for" in read_until(child.stderr, "waiting for")  # blocked in its first sleep
        clock = ManualClock()  # the child's time, which has not moved yet
        parent = rclsim.get_backend("replay", state_dir=tmp_path, time_scale=1, clock=clock)
        assert status(parent) == "STARTING"
        child.send_signal(signal.SIGINT)
        seen = read_until(child.stderr, "waiting until it can be stopped")
        assert "is STARTING; waiting until it can be stopped" in seen, seen
        child.stdin.close()  # now its sleeps return: the start completes, then the stop
        err = seen + child.stderr.read()
        out = child.stdout.read()
        child.wait()
    finally:
        watchdog.cancel()
        if child.poll() is None:
            child.kill()
    assert "inside" not in out
    assert "StopProjectVersion accepted" in err and "KeyboardInterrupt" in err, err
    assert child.returncode != 0  # the KeyboardInterrupt still ends the program
    clock.advance(600)  # the child stopped it once RUNNING, at the end of the start's 600 s
    assert status(parent) == "STOPPING"
    clock.advance(61)
    assert status(parent) == "STOPPED"
    parent.close()


# -- the CLI across processes --------------------------------------------------------------------
def rclsim_cmd(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "rclsim"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120, env=env)


def test_twenty_concurrent_starts_start_the_model_once(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "rclsim"
    env = {**os.environ, "RCLSIM_STATE_DIR": str(tmp_path)}
    procs = [
        subprocess.Popen(
            [str(exe), "start", "--project-version-arn", ARTICLE_ARN],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(20)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 20, [err for _, err in results]
    accepted = sum("StartProjectVersion accepted" in err for _, err in results)
    already = sum("is already" in err for _, err in results)
    assert (accepted, already) == (1, 19)
    assert all(json.loads(out) == {"Status": "RUNNING"} for out, _ in results)


def test_start_detect_stop_cost_as_separate_commands(tmp_path: Path) -> None:
    env = {**os.environ, "RCLSIM_STATE_DIR": str(tmp_path)}
    image = '{"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}'
    detect = ["detect", "--project-version-arn", ARTICLE_ARN, "--image", image, "--min-confidence", "75"]
    before = rclsim_cmd(*detect, env=env)
    assert before.returncode == 255 and "ResourceNotReadyException" in before.stderr
    assert rclsim_cmd("start", "--project-version-arn", ARTICLE_ARN, env=env).returncode == 0
    during = rclsim_cmd(*detect, env=env)
    assert during.returncode == 0 and len(json.loads(during.stdout)["CustomLabels"]) == 2
    stopped = rclsim_cmd("stop", "--project-version-arn", ARTICLE_ARN, env=env)
    assert (stopped.returncode, json.loads(stopped.stdout)) == (0, {"Status": "STOPPING"})
    again = rclsim_cmd("stop", "--project-version-arn", ARTICLE_ARN, env=env)
    assert again.returncode == 0 and "already STOPPED" in again.stderr
    status_out = rclsim_cmd("status", "--project-version-arn", ARTICLE_ARN, env=env)
    assert json.loads(status_out.stdout)["ProjectVersionDescriptions"][0]["Status"] == "STOPPED"
    cost = rclsim_cmd("cost", env=env)
    bill = json.loads(cost.stdout)
    assert {line["Item"] for line in bill["Lines"]} == {"training", "inference"}
    assert bill["Total"] >= 15.95  # the article's two trainings: 8.75 + 7.20 hours at $1
    assert "using us-east-1's" in cost.stderr


def test_reset_and_a_corrupt_state_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state.sqlite3"
    state.write_text("garbage")
    code = main(["--state-dir", str(tmp_path), "status", "--project-version-arn", ARTICLE_ARN])
    err = capsys.readouterr().err
    assert code == 1 and f"{state} is damaged" in err and state.read_text() == "garbage"
    assert f"rclsim reset --state-dir {tmp_path}" in err
    assert main(["reset", "--state-dir", str(tmp_path)]) == 0
    assert not state.exists()
    assert main(["status", "--state-dir", str(tmp_path), "--project-version-arn", ARTICLE_ARN]) == 0


def test_find_running_and_stop_all(capsys: pytest.CaptureFixture[str]) -> None:
    second = ARTICLE_ARN.replace("2021-01-01T00.00.00/1609459200000", "2021-01-02T00.00.00/1609545600000")
    for arn in (ARTICLE_ARN, second):
        assert main(["start", "--project-version-arn", arn, "--min-inference-units", "2"]) == 0
    capsys.readouterr()
    assert main(["find-running"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)["RunningVersions"]
    assert sorted(r["ProjectVersionArn"] for r in rows) == sorted([ARTICLE_ARN, second])
    assert all(r["HourlyCost"] == 8.0 for r in rows) and "16.00 per hour" in err
    assert main(["stop", "--all", "--project-arn", PROJECT, "--dry-run"]) == 0
    assert "would call StopProjectVersion" in capsys.readouterr().err
    assert main(["stop", "--all", "--project-arn", PROJECT]) == 0
    assert [s["Status"] for s in json.loads(capsys.readouterr().out)["Stopped"]] == ["STOPPING", "STOPPING"]
    assert main(["find-running"]) == 0
    assert json.loads(capsys.readouterr().out)["RunningVersions"] == []


# -- going live, offline -------------------------------------------------------------------------
def test_live_start_refuses_without_yes_and_dry_run_calls_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("rekognition", region_name="us-east-1")
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: client)
    with Stubber(client) as stubber:  # no responses queued: any call would fail the test
        code = main(["start", "--backend", "aws", "--project-version-arn", ARTICLE_ARN])
        err = capsys.readouterr().err
        assert code == 1 and "refusing to start a billable model without --yes" in err and "per hour" in err
        assert main(["start", "--backend", "aws", "--project-version-arn", ARTICLE_ARN, "--dry-run"]) == 0
        err = capsys.readouterr().err
        assert "dry run: would call StartProjectVersion" in err and "nothing was called" in err
        stubber.assert_no_pending_responses()


def test_live_start_waits_with_botocores_waiter_and_shows_progress(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("rekognition", region_name="ap-northeast-1")
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: client)
    monkeypatch.setattr(AwsBackend, "poll_delay", 0)
    desc = {"ProjectVersionArn": ARTICLE_ARN, "Status": "STARTING"}
    with Stubber(client) as stubber:
        stubber.add_response(
            "describe_projects",
            {"ProjectDescriptions": [{"ProjectArn": PROJECT}]},
            {"ProjectNames": ["licence-plates"]},
        )
        stubber.add_response(  # the version exists (before any price is quoted)
            "describe_project_versions",
            {"ProjectVersionDescriptions": [{**desc, "Status": "TRAINING_COMPLETED"}]},
            {"ProjectArn": PROJECT, "VersionNames": [VERSION]},
        )
        stubber.add_response(
            "start_project_version",
            {"Status": "STARTING"},
            {"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": 1},
        )
        for state in ("STARTING", "STARTING", "RUNNING"):
            stubber.add_response(
                "describe_project_versions",
                {"ProjectVersionDescriptions": [{**desc, "Status": state}]},
                {"ProjectArn": PROJECT, "VersionNames": [VERSION]},
            )
        assert main(["start", "--backend", "aws", "--yes", "--project-version-arn", ARTICLE_ARN]) == 0
        stubber.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert json.loads(out) == {"Status": "RUNNING"}
    assert "per hour" in err.splitlines()[0] or "per hour" in err
    assert err.count("STARTING after") == 1 and "RUNNING after" in err  # repeats at most every 30 s


def test_live_stop_of_a_stopped_model_is_reported_not_an_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("rekognition", region_name="ap-northeast-1")
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: client)
    with Stubber(client) as stubber:
        stubber.add_response("describe_projects", {"ProjectDescriptions": [{"ProjectArn": PROJECT}]})
        for _ in range(2):  # the version exists; then its status
            stubber.add_response(
                "describe_project_versions",
                {"ProjectVersionDescriptions": [{"ProjectVersionArn": ARTICLE_ARN, "Status": "STOPPED"}]},
            )
        assert main(["stop", "--backend", "aws", "--project-version-arn", ARTICLE_ARN]) == 0
    assert "already STOPPED" in capsys.readouterr().err


def test_the_article_scripts_run_start_detect_stop_on_the_fake(tmp_path: Path) -> None:
    scripts = Path(__file__).resolve().parent.parent / "scripts"
    env = {
        **os.environ,
        "RCLSIM_STATE_DIR": str(tmp_path),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }

    def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(scripts / name), *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=tmp_path,
        )

    started = script("start_model.sh")
    assert started.returncode == 0 and "per hour" in started.stderr, started.stderr
    found = script(
        "detect.sh", "--min-confidence", "75", "--query", "CustomLabels[].Name", "--output", "text"
    )
    assert found.stdout == "vehicle_registration_plate\tcar\n", found.stderr
    other = script("detect.sh", "--query", "length(CustomLabels)")
    assert other.stdout == "31\n"
    assert json.loads(script("stop_model.sh").stdout) == {"Status": "STOPPING"}
    stopped = script("detect.sh")
    assert stopped.returncode == 255 and "ResourceNotReadyException" in stopped.stderr


def test_stop_waits_for_a_transition_started_at_another_time_scale() -> None:
    """A model started at one time scale and stopped by a command at another: the wait follows the
    transition's own end, and the stop happens (it never says 'nothing to stop' while STARTING)."""
    from rclsim.frontends.control import resolve, stop_model

    clock = ManualClock()
    slow = rclsim.get_backend("replay", clock=clock, time_scale=1)
    slow.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    said: list[str] = []
    outcome = stop_model(slow, resolve(slow, ARTICLE_ARN), say=said.append)
    assert outcome.changed and outcome.status == "STOPPING"
    assert any("waiting until it can be stopped" in line for line in said)
    assert clock.now() - 1_700_000_000 == pytest.approx(600, abs=1)  # waited exactly the start


def test_cli_stop_while_starting_waits_for_running_then_stops(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """'rclsim stop' (time scale 0) of a model another command started at time scale 1 finds it
    STARTING, waits out that start's own 600 s, and stops it. Each command is its own backend over the
    state file; their clock is one ManualClock, so the model is STARTING for sure when stop runs."""
    clock = ManualClock()
    monkeypatch.setattr(rclsim.fake.core, "SystemClock", lambda: clock)
    monkeypatch.delenv("RCLSIM_TIME_SCALE", raising=False)
    base = ["--state-dir", str(tmp_path)]
    start = [*base, "start", "--project-version-arn", ARTICLE_ARN, "--no-wait", "--time-scale", "1"]
    assert main(start) == 0
    assert json.loads(capsys.readouterr().out) == {"Status": "STARTING"}
    clock.advance(200)
    assert main([*base, "stop", "--project-version-arn", ARTICLE_ARN]) == 0
    out, err = capsys.readouterr()
    assert "is STARTING; waiting until it can be stopped" in err, err
    assert "StopProjectVersion accepted" in err and json.loads(out) == {"Status": "STOPPING"}
    assert clock.now() - 1_700_000_000 == pytest.approx(600, abs=1)  # the start's end, not 200 s
    assert main([*base, "status", "--project-version-arn", ARTICLE_ARN]) == 0
    assert json.loads(capsys.readouterr().out)["ProjectVersionDescriptions"][0]["Status"] == "STOPPED"
