"""Capacity per inference unit and auto-scaling (rclsim.fake.capacity): the limit on the core's clock,
opt-in, per-IU scaling, the sliding window, auto-scaling timings and what the cost meter bills."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.capacity import (
    DEFAULT_SCALE_DOWN_SECONDS,
    DEFAULT_SCALE_UP_SECONDS,
    DEFAULT_TPS_PER_INFERENCE_UNIT,
    Meter,
    Scaling,
)
from rclsim.fake.clock import ManualClock
from rclsim.fake.core import FakeRekognition
from rclsim.fake.cost import PriceTable

from .conftest import ARTICLE_ARN, ARTICLE_S3

T0 = 1_700_000_000.0
PROJECT_ARN = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/1609459100000"
PRICES = {
    "format_version": 1,
    "currency": "USD",
    "as_of": "2026-01",
    "source": "a test's table",
    "fallback_region": "ap-northeast-1",
    "regions": {"ap-northeast-1": {"InferenceUnitHour": 3.6, "TrainingHour": 1.0}},
}


def declare(folder: Path, **extra: Any) -> Path:
    """A models.json declaring the article's version with ``extra`` keys (its recording still answers)."""
    folder.mkdir(parents=True, exist_ok=True)
    version = {"ProjectVersionArn": ARTICLE_ARN, "Status": "TRAINING_COMPLETED", **extra}
    data = {
        "format": "rclsim.models",
        "format_version": 1,
        "projects": [{"ProjectArn": PROJECT_ARN, "versions": [version]}],
    }
    (folder / "models.json").write_text(json.dumps(data), encoding="utf-8")
    return folder


def backend_for(
    tmp_path: Path, clock: ManualClock, *, min_iu: int = 1, max_iu: int | None = None, **extra: Any
) -> Any:
    recordings = [declare(tmp_path / "decl", **extra)] if extra else None
    backend = rclsim.get_backend(
        "replay", clock=clock, recordings=recordings, prices=PriceTable(PRICES, "test")
    )
    start: dict[str, Any] = {"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": min_iu}
    if max_iu is not None:
        start["MaxInferenceUnits"] = max_iu
    backend.start_project_version(**start)
    return backend


def detect(backend: Any) -> str | None:
    """One call: None when served, else the error code."""
    try:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def burst(backend: Any, n: int) -> int:
    """``n`` calls at this instant; how many were served (the others must be throttled)."""
    codes = [detect(backend) for _ in range(n)]
    assert set(codes) <= {None, "ProvisionedThroughputExceededException"}, codes
    return codes.count(None)


# -- the limit --------------------------------------------------------------------------------------
def test_default_is_five_per_unit_documented() -> None:
    assert DEFAULT_TPS_PER_INFERENCE_UNIT == 5
    import rclsim.fake.capacity as capacity

    assert "[D, dated]" in (capacity.__doc__ or "") and "5 transactions per second" in (
        capacity.__doc__ or ""
    )


def test_limit_is_exact_at_the_boundary_when_declared(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, TransactionsPerSecondPerInferenceUnit=7)
    assert [detect(backend) for _ in range(7)] == [None] * 7
    assert detect(backend) == "ProvisionedThroughputExceededException"
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
    message = info.value.response["Error"]["Message"]
    assert "exceeded your throughput limit" in message and "7 calls per second" in message


def test_default_tps_applies_when_only_auto_scaling_is_declared(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, AutoScaling={"ScaleUpSeconds": 60})
    assert burst(backend, 8) == DEFAULT_TPS_PER_INFERENCE_UNIT


@pytest.mark.parametrize("units", [1, 2, 4])
def test_limit_scales_with_the_inference_units(tmp_path: Path, units: int) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, min_iu=units, TransactionsPerSecondPerInferenceUnit=5)
    assert burst(backend, 5 * units + 3) == 5 * units


def test_the_window_slides_one_second(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, TransactionsPerSecondPerInferenceUnit=5)
    assert burst(backend, 3) == 3  # at 0.0
    clock.advance(0.5)
    assert burst(backend, 3) == 2  # 5 in (−0.5, 0.5]
    clock.advance(0.499)
    assert burst(backend, 1) == 0  # 0.999: the first three are still inside
    clock.advance(0.001)
    assert burst(backend, 4) == 3  # 1.0: the three of 0.0 have left; the two of 0.5 have not
    clock.advance(0.5)
    assert burst(backend, 3) == 2  # 1.5: the two of 0.5 have left


def test_refused_calls_take_no_capacity(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, TransactionsPerSecondPerInferenceUnit=2)
    assert burst(backend, 50) == 2
    clock.advance(1.0)
    assert burst(backend, 3) == 2


def test_off_by_default_a_tight_loop_passes(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock)  # no capacity declared, capacity not switched on
    assert backend.core.capacity is False
    assert burst(backend, 1000) == 1000
    assert backend.core.lifecycle.meters.all() == []  # nothing was even counted


def test_capacity_true_meters_every_version(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    made = backend_for(tmp_path, clock, min_iu=2)
    core = FakeRekognition(made.core.source, declarations=made.core.declarations, clock=clock, capacity=True)
    core.call("StartProjectVersion", {"ProjectVersionArn": ARTICLE_ARN, "MinInferenceUnits": 2})
    served = 0
    for _ in range(15):
        try:
            core.call("DetectCustomLabels", {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3})
            served += 1
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert served == 10
    # The setting can be switched at any time (how a front-end's setting is wired to it).
    core.capacity = False
    core.call("DetectCustomLabels", {"ProjectVersionArn": ARTICLE_ARN, "Image": ARTICLE_S3})
    made.core.capacity = True
    assert burst(made, 12) == 10


def test_a_restart_gets_a_fresh_meter_with_its_own_units(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, TransactionsPerSecondPerInferenceUnit=5)
    assert burst(backend, 6) == 5
    backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=3)
    assert burst(backend, 20) == 15


def test_threads_never_serve_more_than_the_limit(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, min_iu=2, TransactionsPerSecondPerInferenceUnit=25)
    results: list[str | None] = []
    lock = threading.Lock()

    def worker() -> None:
        got = [detect(backend) for _ in range(40)]
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 50 and len(results) == 240


def test_the_drop_in_gets_the_modeled_error(tmp_path: Path) -> None:
    import boto3

    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, TransactionsPerSecondPerInferenceUnit=1)
    with rclsim.mock(backend):
        client = boto3.client("rekognition", region_name="ap-northeast-1", config=_no_retries())
        client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        with pytest.raises(client.exceptions.ProvisionedThroughputExceededException) as info:
            client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)
        assert info.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
        clock.advance(1)
        client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)


def _no_retries() -> Any:
    from botocore.config import Config

    return Config(retries={"total_max_attempts": 1})


def test_models_json_refuses_a_bad_capacity(tmp_path: Path) -> None:
    from rclsim.service.errors import RclsimError

    for bad in (
        {"TransactionsPerSecondPerInferenceUnit": 0},
        {"TransactionsPerSecondPerInferenceUnit": 2.5},
        {"AutoScaling": {"ScaleUpSeconds": 0}},
        {"AutoScaling": {"ScaleUp": 60}},
    ):
        folder = declare(tmp_path / f"bad{len(str(bad))}{list(bad)[0]}", **bad)
        with pytest.raises(RclsimError, match="models.json"):
            rclsim.get_backend("replay", recordings=[folder])


# -- auto-scaling and the bill ------------------------------------------------------------------------
def offer(backend: Any, clock: ManualClock, per_second: int, seconds: int) -> list[int]:
    """``per_second`` calls at the start of each of ``seconds`` seconds; served counts per second."""
    served = []
    for _ in range(seconds):
        served.append(burst(backend, per_second))
        clock.advance(1)
    return served


def test_auto_scaling_up_then_down_at_the_documented_delays_and_billed(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(
        tmp_path,
        clock,
        min_iu=1,
        max_iu=3,
        TransactionsPerSecondPerInferenceUnit=5,
        AutoScaling={"ScaleUpSeconds": 300, "ScaleDownSeconds": 600},
    )
    lifecycle = backend.core.lifecycle
    served = offer(backend, clock, 10, 300)  # seconds 0..299 over one unit's 5
    assert served == [5] * 300
    assert lifecycle.units_in_service(ARTICLE_ARN) == 2  # added at 300, once 300 s were over
    assert offer(backend, clock, 10, 1) == [10]  # second 300: 2 units serve the 10
    # Quiet from 301: one unit fewer serves the load (none) for 600 s -> back to 1 at 901.
    clock.advance(900 - 301)  # now 900
    assert lifecycle.units_in_service(ARTICLE_ARN) == 2
    clock.advance(1)  # 901
    assert lifecycle.units_in_service(ARTICLE_ARN) == 1
    rows = backend.describe_project_versions(ProjectArn=PROJECT_ARN)["ProjectVersionDescriptions"]
    (described,) = [r for r in rows if r["ProjectVersionArn"] == ARTICLE_ARN]
    assert (described["MinInferenceUnits"], described["MaxInferenceUnits"]) == (1, 3)
    clock.advance(99)  # 1000
    backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    rows = [(u.started_at - T0, u.stopped_at - T0, u.inference_units) for u in lifecycle.usage()]
    assert rows == [(0, 300, 1), (300, 901, 2), (901, 1000, 1)]
    bill = backend.bill()
    (line,) = [x for x in bill.lines if x.item == "inference"]
    unit_seconds = 300 * 1 + 601 * 2 + 99 * 1  # the integral of the units in service
    assert line.quantity == pytest.approx(unit_seconds / 3600)
    assert line.amount == pytest.approx(unit_seconds / 3600 * 3.6)


def test_scaling_stays_within_min_and_max_and_quiet_time_settles_retroactively(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(
        tmp_path,
        clock,
        min_iu=2,
        max_iu=4,
        TransactionsPerSecondPerInferenceUnit=1,
        AutoScaling={"ScaleUpSeconds": 10, "ScaleDownSeconds": 20},
    )
    lifecycle = backend.core.lifecycle
    served = offer(backend, clock, 100, 60)  # far over: +1 at 10, +1 at 20, then Max
    assert served[:10] == [2] * 10 and served[10:20] == [3] * 10 and served[20:] == [4] * 40
    assert lifecycle.units_in_service(ARTICLE_ARN) == 4
    clock.advance(1000)  # nobody calls; the scale-downs are settled at the times they fell due
    assert lifecycle.units_in_service(ARTICLE_ARN) == 2
    rows = [(u.started_at - T0, u.inference_units) for u in lifecycle.usage()]
    assert rows == [(0, 2), (10, 3), (20, 4), (80, 3), (100, 2)]


def test_load_between_the_two_thresholds_keeps_the_units(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(
        tmp_path,
        clock,
        min_iu=1,
        max_iu=3,
        TransactionsPerSecondPerInferenceUnit=5,
        AutoScaling={"ScaleUpSeconds": 5, "ScaleDownSeconds": 5},
    )
    offer(backend, clock, 6, 5)  # 6 > 5: up to 2 at second 5
    assert backend.core.lifecycle.units_in_service(ARTICLE_ARN) == 2
    offer(backend, clock, 6, 50)  # 6 fits 2 units and not 1: stays
    assert backend.core.lifecycle.units_in_service(ARTICLE_ARN) == 2
    # An over-second broken by one that fits starts the count again.
    offer(backend, clock, 11, 4)
    offer(backend, clock, 6, 1)
    offer(backend, clock, 11, 4)
    assert backend.core.lifecycle.units_in_service(ARTICLE_ARN) == 2


def test_without_max_there_is_no_scaling(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    backend = backend_for(tmp_path, clock, min_iu=1, TransactionsPerSecondPerInferenceUnit=5)
    offer(backend, clock, 50, DEFAULT_SCALE_UP_SECONDS + 5)
    assert backend.core.lifecycle.units_in_service(ARTICLE_ARN) == 1
    assert len(backend.core.lifecycle.usage()) == 1


def test_default_delays() -> None:
    meter = Meter("run", units=1, min_units=1, max_units=2, scaling=Scaling())
    t = T0
    for _ in range(DEFAULT_SCALE_UP_SECONDS - 1):
        for _ in range(6):
            meter.admit(t)
        t += 1
    meter.settle(t)
    assert meter.units == 1
    for _ in range(6):
        meter.admit(t)
    meter.settle(t + 1)
    assert meter.units == 2 and meter.changes == [(t + 1, 2)]
    meter.changes.clear()
    meter.settle(t + 1 + DEFAULT_SCALE_DOWN_SECONDS - 1)
    assert meter.units == 2
    meter.settle(t + 1 + DEFAULT_SCALE_DOWN_SECONDS)
    assert meter.units == 1


def test_status_shows_units_in_service(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rclsim.frontends.cli import main

    state = str(tmp_path / "state")
    decl = declare(tmp_path / "decl", TransactionsPerSecondPerInferenceUnit=5)
    opts = ["--state-dir", state, "--recordings", str(decl)]
    assert (
        main(
            [
                *opts,
                "start",
                "--project-version-arn",
                ARTICLE_ARN,
                "--min-inference-units",
                "2",
                "--max-inference-units",
                "4",
                "--no-wait",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main([*opts, "status", "--project-version-arn", ARTICLE_ARN]) == 0
    out, err = capsys.readouterr()
    assert '"MinInferenceUnits": 2' in out and '"MaxInferenceUnits": 4' in out
    assert "InServiceInferenceUnits" not in out  # rclsim's figure is not an API member
    assert "2 inference units in service" in err
