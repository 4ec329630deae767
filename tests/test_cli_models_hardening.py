"""start/stop from the command line under pressure: concurrent runs on one state, bad parameters in a
dry run, and a bare ``rclsim``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import rclsim
from rclsim.backends.fake import FakeBackend
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN

PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION = "licence-plates.2021-01-01T00.00.00"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def status_in(state: str) -> str:
    backend = rclsim.get_backend("replay", state_dir=state)
    found = backend.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
    return str(found["ProjectVersionDescriptions"][0]["Status"])


def other_run_while_waiting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> dict[str, Any]:
    """While the first CLI run waits for RUNNING, a second CLI run on the same state does ``argv`` to
    the end; then the first one's wait goes on. The interleaving two terminals can produce, made exact."""
    real_wait = FakeBackend.wait_until_running
    other: dict[str, Any] = {}

    def wait(self: FakeBackend, *args: Any, **kwargs: Any) -> str:
        if not other:
            other["first_err"] = capsys.readouterr().err
            other["code"], other["out"], other["err"] = (None, None, None)
            other["code"], other["out"], other["err"] = run(capsys, *argv)
        return real_wait(self, *args, **kwargs)

    monkeypatch.setattr(FakeBackend, "wait_until_running", wait)
    return other


# -- 3. concurrent stops and starts ------------------------------------------------------------------
def test_two_concurrent_stops_both_succeed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both stops find the model STARTING and wait; the other one stops it first. The slower one finds
    it STOPPED after its wait: that is what it wanted, not 'could not be stopped'."""
    state = str(tmp_path)
    stop = ["stop", "--state-dir", state, "--project-version-arn", ARTICLE_ARN]
    code, _, err = run(
        capsys, "start", "--state-dir", state, "--project-version-arn", ARTICLE_ARN,
        "--no-wait", "--time-scale", "0.001",
    )  # fmt: skip  # starting takes 0.6 s
    assert code == 0, err
    other = other_run_while_waiting(monkeypatch, capsys, stop)
    code, out, err = run(capsys, *stop)
    assert other["code"] == 0 and "StopProjectVersion accepted" in other["err"], other["err"]
    assert code == 0, err
    assert "could not be stopped" not in err
    assert "already STOPPED" in err or "already STOPPING" in err, err
    assert json.loads(out)["Status"] in ("STOPPING", "STOPPED")
    assert status_in(state) == "STOPPED"


def test_stop_model_after_another_backend_stopped_it_meanwhile(tmp_path: Path) -> None:
    """The same with two backends on one state folder, through rclsim.frontends.control."""
    from rclsim.frontends.control import resolve, stop_model

    first = rclsim.get_backend("replay", state_dir=tmp_path, time_scale=0.001)
    second = rclsim.get_backend("replay", state_dir=tmp_path, time_scale=0.001)
    first.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    real_wait = second.wait_until_running

    def wait_while_the_first_stops_it(*args: Any, **kwargs: Any) -> str:
        stop_model(first, resolve(first, ARTICLE_ARN), say=lambda _: None)
        return real_wait(*args, **kwargs)

    second.wait_until_running = wait_while_the_first_stops_it  # type: ignore[method-assign]
    said: list[str] = []
    outcome = stop_model(second, resolve(second, ARTICLE_ARN), say=said.append)
    assert not outcome.changed and outcome.status in ("STOPPING", "STOPPED")
    assert "already" in outcome.message


def test_a_concurrent_start_that_finds_it_starting_succeeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    state = str(tmp_path)
    start = ["start", "--state-dir", state, "--project-version-arn", ARTICLE_ARN, "--time-scale", "0.001"]
    other = other_run_while_waiting(monkeypatch, capsys, start)
    code, out, err = run(capsys, *start)
    assert (code, json.loads(out)) == (0, {"Status": "RUNNING"}), err
    assert other["code"] == 0 and "is already STARTING" in other["err"], other["err"]
    assert json.loads(other["out"]) == {"Status": "RUNNING"}
    assert "per hour" in other["err"]  # it could have started a billable model: the price came first


def test_a_start_that_finds_it_running_succeeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path)
    start = ["start", "--state-dir", state, "--project-version-arn", ARTICLE_ARN]
    assert run(capsys, *start)[0] == 0
    code, out, err = run(capsys, *start)
    assert (code, json.loads(out)) == (0, {"Status": "RUNNING"}) and "already RUNNING" in err


# -- 4. validation before the price and before "would call" ------------------------------------------
NO_NUMBER = "arn:aws:rekognition:us-east-1:123456789012:project/pets/version/pets.1"  # long enough, bad form


@pytest.mark.parametrize(
    ("extra", "code", "says"),
    [
        (["--project-version-arn", ARTICLE_ARN, "--min-inference-units", "0"], 255, "MinInferenceUnits"),
        (["--project-version-arn", ARTICLE_ARN, "--max-inference-units", "0"], 255, "MaxInferenceUnits"),
        (["--project-version-arn", "arn:bad"], 255, "ProjectVersionArn"),
        (["--project-version-arn", NO_NUMBER], 255, "ValidationException"),
        (
            [
                "--project-version-arn",
                ARTICLE_ARN,
                "--min-inference-units",
                "3",
                "--max-inference-units",
                "2",
            ],
            255,
            "InvalidParameterException",
        ),
    ],
)
def test_start_validates_before_the_price_and_the_dry_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], code: int, says: str
) -> None:
    state = ["--state-dir", str(tmp_path)]
    dry_code, dry_out, dry_err = run(capsys, *state, "start", "--dry-run", *extra)
    assert (dry_code, dry_out) == (code, ""), dry_err
    assert says in dry_err and "would call" not in dry_err
    assert "USD" not in dry_err and "per hour" not in dry_err  # no price for a call that cannot happen
    real_code, real_out, real_err = run(capsys, *state, "start", *extra)
    assert (real_code, real_out) == (code, "")
    assert real_err == dry_err  # the very error the call itself gets: one line, nothing before it
    assert len(real_err.splitlines()) == 1
    assert status_in(str(tmp_path)) == "TRAINING_COMPLETED"


def test_the_fakes_unit_limit_does_not_refuse_a_dry_run_on_aws(capsys: pytest.CaptureFixture[str]) -> None:
    """rclsim's limit of 100 inference units is the fake's ([U]); real AWS decides its own quota."""
    code, out, err = run(
        capsys,
        "--backend",
        "aws",
        "--region",
        "ap-northeast-1",
        "start",
        "--dry-run",
        "--project-version-arn",
        ARTICLE_ARN,
        "--min-inference-units",
        "150",
    )
    assert code == 0 and "would call StartProjectVersion" in err, err


def test_a_dry_run_of_a_valid_start_says_price_then_would_call(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "start", "--dry-run", "--project-version-arn", ARTICLE_ARN)
    assert (code, out) == (0, "")
    assert err.index("per hour") < err.index("would call StartProjectVersion")


def test_running_model_validates_before_the_price() -> None:
    backend = rclsim.get_backend("replay")
    said: list[str] = []
    with pytest.raises(Exception, match="MinInferenceUnits"):
        with rclsim.running_model(backend, ARTICLE_ARN, min_inference_units=0, say=said.append):
            pass
    assert not any("per hour" in line for line in said), said


# -- 5. bare rclsim ----------------------------------------------------------------------------------
def test_bare_rclsim_points_at_help_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and "rclsim --help" in err, err


def test_running_model_gives_the_calls_own_error_for_a_malformed_arn() -> None:
    from botocore.exceptions import ParamValidationError

    backend = rclsim.get_backend("replay")
    said: list[str] = []
    with pytest.raises(ParamValidationError, match="ProjectVersionArn"):
        with rclsim.running_model(backend, "arn:bad", say=said.append):
            pass
    assert said == []


def test_a_start_of_a_version_that_is_not_there_quotes_no_price(capsys: pytest.CaptureFixture[str]) -> None:
    typo = ARTICLE_ARN.replace("licence-plates.2021", "licence-plate.2021")
    code, out, err = run(capsys, "start", "--project-version-arn", typo)
    assert (code, out) == (1, "")
    assert "per hour" not in err and "USD" not in err, err
    assert "check the version's name and number" in err
