"""Stateful (hypothesis) test of the model lifecycle against an independent reference model.

The machine drives the fake's public Backend API (start, stop, detect, describe, bill, and a manual
clock) in random orders, and checks every answer against :class:`Reference`, a small model written
here from the fact sheet (``shared/reference/rekognition-custom-labels-api.md`` sections 1, 3, 4, 7)
and the [U] choices documented in :mod:`rclsim.fake.lifecycle`'s docstring. Nothing is imported from
``rclsim.fake.lifecycle`` or ``rclsim.fake.core``: the reference must not share the fake's transition table.

What the reference encodes:

* StartProjectVersion from TRAINING_COMPLETED or STOPPED -> STARTING, RUNNING after the start duration
  (fact sheet section 4 [D]); StopProjectVersion from RUNNING -> STOPPING, STOPPED after the stop
  duration [D]. Durations are the declared ones (600 s, 60 s) times the time scale; a pending transition
  has happened once ``now >= ready_at``.
* Only RUNNING serves DetectCustomLabels; any other status gives ResourceNotReadyException [M].
* [U], as lifecycle.py chose: start while STARTING/RUNNING/STOPPING and stop in any status but RUNNING
  raise ResourceInUseException; MaxInferenceUnits < MinInferenceUnits raises InvalidParameterException
  (a parameter check, so it wins over the status check); billing counts RUNNING time only, times
  MinInferenceUnits (fact sheet section 8: IU-hours = hours RUNNING x IUs).
* MinInferenceUnits < 1 is rejected client-side with ParamValidationError [P] and changes nothing.
* An unknown (well-formed) version ARN gives ResourceNotFoundException for start, stop and detect [M].
* Describe's Min/MaxInferenceUnits reflect the last accepted StartProjectVersion (section 5, [U] for
  "last"); before any start they are absent.

Each machine runs twice: over the in-memory store (the Python API's default) and over the SQLite file
the CLI and ``rclsim serve`` use (``state_dir``). The file machines add two rules: another process's
view of the same file (a second backend on it) agrees with the reference, and ``rclsim reset`` deleting
the file under the running backend puts every model back in its declared status and the cost meter at
zero (the store notices and opens a fresh file).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.fake.state import StateStore

ARN = rclsim.ARTICLE_MODEL_ARN
PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION_NAME = "licence-plates.2021-01-01T00.00.00"
#: The project's second declared version (same defaults, no recordings): it must not be disturbed by
#: what happens to the first, and vice versa.
SECOND_ARN = ARN.replace("2021-01-01T00.00.00/1609459200000", "2021-01-02T00.00.00/1609545600000")
SECOND_NAME = "licence-plates.2021-01-02T00.00.00"
MODELS = {ARN: VERSION_NAME, SECOND_ARN: SECOND_NAME}
UNKNOWN_ARN = (
    "arn:aws:rekognition:ap-northeast-1:999999999999:project/nope/version/nope.2021-01-01/1609459200000"
)
IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}

START_SECONDS = 600.0
STOP_SECONDS = 60.0
OK = "OK"  # the outcome of a call that succeeded


# -- the reference model ----------------------------------------------------------------------------
@dataclass
class Reference:
    """One model version as the fact sheet describes it."""

    scale: float
    status: str = "TRAINING_COMPLETED"
    next_status: str | None = None
    ready_at: float | None = None
    units: int | None = None  # MinInferenceUnits of the last accepted start
    max_units: int | None = None  # MaxInferenceUnits of the last accepted start
    running_since: float | None = None
    closed_iu_seconds: float = 0.0  # RUNNING stretches already stopped
    history: list[str] = field(default_factory=list)

    def settle(self, now: float) -> None:
        if self.next_status is not None and self.ready_at is not None and now >= self.ready_at:
            self.status = self.next_status
            if self.status == "RUNNING":
                self.running_since = self.ready_at
            self.next_status = None
            self.ready_at = None

    def start(self, now: float, min_iu: int, max_iu: int | None) -> str:
        self.settle(now)
        if max_iu is not None and max_iu < min_iu:
            return "InvalidParameterException"
        if self.status not in ("TRAINING_COMPLETED", "STOPPED", "FAILED"):
            return "ResourceInUseException"
        self.status = "STARTING"
        self.next_status = "RUNNING"
        self.ready_at = now + START_SECONDS * self.scale
        self.units, self.max_units = min_iu, max_iu
        return OK

    def stop(self, now: float) -> str:
        self.settle(now)
        if self.status != "RUNNING":
            return "ResourceInUseException"
        assert self.running_since is not None and self.units is not None
        self.closed_iu_seconds += (now - self.running_since) * self.units
        self.running_since = None
        self.status = "STOPPING"
        self.next_status = "STOPPED"
        self.ready_at = now + STOP_SECONDS * self.scale
        return OK

    def detect(self, now: float) -> str:
        self.settle(now)
        return OK if self.status == "RUNNING" else "ResourceNotReadyException"

    def iu_hours(self, now: float) -> float:
        self.settle(now)
        seconds = self.closed_iu_seconds
        if self.status == "RUNNING":
            assert self.running_since is not None and self.units is not None
            seconds += (now - self.running_since) * self.units
        return seconds / 3600


# -- helpers ------------------------------------------------------------------------------------------
def outcome(call: Any, *args: Any, **kwargs: Any) -> tuple[str, Any]:
    try:
        return OK, call(*args, **kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], None


def start_params(arn: str, min_iu: int, max_iu: int | None) -> dict[str, Any]:
    params: dict[str, Any] = {"ProjectVersionArn": arn, "MinInferenceUnits": min_iu}
    if max_iu is not None:
        params["MaxInferenceUnits"] = max_iu
    return params


advances = st.one_of(
    st.sampled_from([0, 1, 59, 60, 61, 599, 600, 601]),
    st.integers(min_value=0, max_value=1000),
    st.floats(min_value=0, max_value=1000, allow_nan=False, allow_infinity=False),
)
models = st.sampled_from([ARN, ARN, ARN, SECOND_ARN])  # mostly the article's model
min_units = st.integers(min_value=1, max_value=3)
max_units = st.one_of(st.none(), st.integers(min_value=1, max_value=4))


class LifecycleMachine(RuleBasedStateMachine):
    """Random walks over start/stop/detect/describe/advance; see the module docstring."""

    scale: float = 1.0
    in_file: bool = False  # state in a SQLite file (state_dir) rather than in memory

    @initialize()
    def fresh_backend(self) -> None:
        self.clock = ManualClock()
        self.state_dir = tempfile.mkdtemp(prefix="rclsim-stateful-") if self.in_file else None
        self.backend = self.open_backend()
        self.refs = {arn: Reference(self.scale) for arn in MODELS}
        self.last_billed = {arn: 0.0 for arn in MODELS}

    def open_backend(self) -> rclsim.Backend:
        # RCLSIM_STATE_DIR (conftest sets one per test) would put the in-memory machines in a file
        # shared by every walk: they leave it out.
        with mock.patch.dict(os.environ):
            os.environ.pop("RCLSIM_STATE_DIR", None)
            return rclsim.get_backend(
                "replay", clock=self.clock, time_scale=self.scale, state_dir=self.state_dir
            )

    def now(self) -> float:
        return self.clock.now()

    def log(self, arn: str, text: str) -> None:
        self.refs[arn].history.append(f"t+{self.now() - 1_700_000_000.0:g}: {text}")

    def context(self, arn: str) -> str:
        return "history: " + "; ".join(self.refs[arn].history[-12:])

    # -- rules ---------------------------------------------------------------------------------------
    @rule(arn=models, min_iu=min_units, max_iu=max_units)
    def start(self, arn: str, min_iu: int, max_iu: int | None) -> None:
        expected = self.refs[arn].start(self.now(), min_iu, max_iu)
        got, response = outcome(self.backend.start_project_version, **start_params(arn, min_iu, max_iu))
        self.log(arn, f"start({min_iu},{max_iu}) -> {got}")
        assert got == expected, self.context(arn)
        if got == OK:
            assert response["Status"] == "STARTING"

    @rule(min_iu=st.integers(min_value=-2, max_value=0), max_iu=max_units)
    def start_with_too_few_units(self, min_iu: int, max_iu: int | None) -> None:
        with pytest.raises(ParamValidationError):
            self.backend.start_project_version(**start_params(ARN, min_iu, max_iu))
        self.log(ARN, f"start({min_iu},{max_iu}) -> ParamValidationError")

    @rule(arn=models)
    def stop(self, arn: str) -> None:
        expected = self.refs[arn].stop(self.now())
        got, response = outcome(self.backend.stop_project_version, ProjectVersionArn=arn)
        self.log(arn, f"stop -> {got}")
        assert got == expected, self.context(arn)
        if got == OK:
            assert response["Status"] == "STOPPING"

    @rule(min_confidence=st.sampled_from([None, 75]))
    def detect(self, min_confidence: int | None) -> None:
        expected = self.refs[ARN].detect(self.now())
        params: dict[str, Any] = {"ProjectVersionArn": ARN, "Image": IMAGE}
        if min_confidence is not None:
            params["MinConfidence"] = min_confidence
        got, response = outcome(self.backend.detect_custom_labels, **params)
        self.log(ARN, f"detect -> {got}")
        assert got == expected, self.context(ARN)
        if got == OK and min_confidence == 75:
            assert len(response["CustomLabels"]) == 2

    @rule(arn=models)
    def describe(self, arn: str) -> None:
        self.check_describe(arn)

    @rule(seconds=advances)
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        for arn in MODELS:
            self.log(arn, f"advance({seconds:g})")

    @rule(arn=models, min_iu=min_units)
    def start_then_wait_exactly_the_start_duration(self, arn: str, min_iu: int) -> None:
        self.start(arn, min_iu, None)
        self.advance(START_SECONDS * self.scale)
        self.check_describe(arn)

    @precondition(lambda self: self.refs[ARN].status in ("RUNNING", "STARTING"))
    @rule()
    def stop_then_wait_exactly_the_stop_duration(self) -> None:
        self.stop(ARN)
        self.advance(STOP_SECONDS * self.scale)
        self.check_describe(ARN)

    @rule(op=st.sampled_from(["start", "stop", "detect"]))
    def unknown_version(self, op: str) -> None:
        if op == "start":
            got, _ = outcome(
                self.backend.start_project_version, ProjectVersionArn=UNKNOWN_ARN, MinInferenceUnits=1
            )
        elif op == "stop":
            got, _ = outcome(self.backend.stop_project_version, ProjectVersionArn=UNKNOWN_ARN)
        else:
            got, _ = outcome(self.backend.detect_custom_labels, ProjectVersionArn=UNKNOWN_ARN, Image=IMAGE)
        assert got == "ResourceNotFoundException"

    @precondition(lambda self: self.in_file)
    @rule()
    def another_process_reads_the_same_file(self) -> None:
        other = self.open_backend()
        try:
            for arn in MODELS:
                self.check_describe(arn, other)
            assert other.bill().lines == self.backend.bill().lines
        finally:
            other.close()

    @precondition(lambda self: self.in_file)
    @rule()
    def rclsim_reset_under_the_backend(self) -> None:
        assert self.state_dir is not None
        StateStore.reset(self.state_dir)  # what 'rclsim reset' does, while this backend runs
        self.refs = {arn: Reference(self.scale, history=["reset"]) for arn in MODELS}
        self.last_billed = {arn: 0.0 for arn in MODELS}

    # -- checks ----------------------------------------------------------------------------------------
    def check_describe(self, arn: str, backend: rclsim.Backend | None = None) -> None:
        ref = self.refs[arn]
        ref.settle(self.now())
        backend = backend or self.backend
        found = backend.describe_project_versions(ProjectArn=PROJECT, VersionNames=[MODELS[arn]])
        rows = found["ProjectVersionDescriptions"]
        assert len(rows) == 1 and rows[0]["ProjectVersionArn"] == arn
        row = rows[0]
        assert row["Status"] == ref.status, self.context(arn)
        assert row.get("MinInferenceUnits") == ref.units, self.context(arn)
        assert row.get("MaxInferenceUnits") == ref.max_units, self.context(arn)

    @invariant()
    def statuses_match(self) -> None:
        for arn in MODELS:
            self.check_describe(arn)

    @invariant()
    def detect_succeeds_iff_running(self) -> None:
        got, _ = outcome(
            self.backend.detect_custom_labels, ProjectVersionArn=ARN, Image=IMAGE, MinConfidence=75
        )
        assert got == self.refs[ARN].detect(self.now()), self.context(ARN)

    @invariant()
    def billed_inference_matches_and_never_decreases(self) -> None:
        billed = {arn: 0.0 for arn in MODELS}
        for line in self.backend.bill().lines:
            if line.item == "inference":
                assert line.project_version_arn in billed
                billed[line.project_version_arn] += line.quantity
        for arn in MODELS:
            expected = self.refs[arn].iu_hours(self.now())
            assert billed[arn] == pytest.approx(expected, rel=1e-9, abs=1e-9), self.context(arn)
            assert billed[arn] >= self.last_billed[arn] - 1e-12, self.context(arn)
            self.last_billed[arn] = billed[arn]

    def teardown(self) -> None:
        backend = getattr(self, "backend", None)
        if backend is not None:
            backend.close()
        if getattr(self, "state_dir", None):
            shutil.rmtree(self.state_dir, ignore_errors=True)


class InstantLifecycleMachine(LifecycleMachine):
    """time_scale=0: STARTING and STOPPING resolve at once (at the next read)."""

    scale = 0.0


class FileLifecycleMachine(LifecycleMachine):
    """The same walks over the SQLite state file, with its two extra rules."""

    in_file = True


class InstantFileLifecycleMachine(InstantLifecycleMachine):
    in_file = True


_settings = settings(max_examples=60, stateful_step_count=30, deadline=None)
# Each step in a file commits to disk: fewer, shorter walks keep CI's time modest.
_file_settings = settings(max_examples=20, stateful_step_count=25, deadline=None)
TestLifecycleRealDurations = LifecycleMachine.TestCase
TestLifecycleRealDurations.settings = _settings
TestLifecycleInstant = InstantLifecycleMachine.TestCase
TestLifecycleInstant.settings = _settings
TestLifecycleRealDurationsInFile = FileLifecycleMachine.TestCase
TestLifecycleRealDurationsInFile.settings = _file_settings
TestLifecycleInstantInFile = InstantFileLifecycleMachine.TestCase
TestLifecycleInstantInFile.settings = _file_settings
