"""rclsim schedule: what an off-hours start/stop schedule costs in a month beside always-on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rclsim.frontends.cli import main
from rclsim.frontends.cli.schedule import simulate

TABLE = {
    "format": "rclsim.prices",
    "format_version": 1,
    "currency": "USD",
    "as_of": "2026-01",
    "source": "a test's own table",
    "fallback_region": "us-east-1",
    "regions": {
        "us-east-1": {"InferenceUnitHour": 4.0, "TrainingHour": 1.0},
        "ap-northeast-1": {"InferenceUnitHour": 3.25, "TrainingHour": 1.5},
    },
}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_office_hours_in_a_30_day_month_beside_always_on(capsys: pytest.CaptureFixture[str]) -> None:
    # June 2026: 30 days, 22 weekdays (Mon 1st .. Tue 30th)
    code, out, err = run(
        capsys,
        "schedule",
        "--on",
        "09:00-18:00",
        "--days",
        "mon-fri",
        "--month",
        "2026-06",
        "--output",
        "json",
    )
    assert code == 0, err
    got = json.loads(out)
    assert got["Scheduled"]["Days"] == 22 and got["Scheduled"]["RunningHours"] == 22 * 9
    assert got["Scheduled"]["Cost"] == pytest.approx(22 * 9 * 4.0)
    assert got["AlwaysOn"]["RunningHours"] == 720 and got["AlwaysOn"]["Cost"] == pytest.approx(
        2880.0
    )  # $4 x 24 x 30
    assert got["Saved"] == pytest.approx(2880.0 - 792.0)
    assert got["Currency"] == "USD" and got["PricesAsOf"] == "2021" and "UNVERIFIED" in got["PricesSource"]
    assert got["Starts"] == 22 and got["StartCallAt"] == "08:50"
    assert "prices as of 2021" in err and "rekognition/pricing" in err  # the date and source, said


def test_units_region_and_the_price_table_come_from_the_one_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps(TABLE), encoding="utf-8")
    argv = ["--prices", str(prices), "schedule", "--on", "08:00-20:00", "--days", "mon-sun", "--units", "2"]
    code, out, _ = run(capsys, *argv, "--region", "ap-northeast-1", "--month", "2026-02", "--output", "json")
    got = json.loads(out)
    assert code == 0 and got["UnitPrice"] == 3.25 and got["InferenceUnits"] == 2
    assert got["Scheduled"]["RunningHours"] == 28 * 12 and got["Scheduled"]["Cost"] == pytest.approx(
        28 * 12 * 2 * 3.25
    )
    assert got["AlwaysOn"]["Cost"] == pytest.approx(28 * 24 * 2 * 3.25) and got["PricesAsOf"] == "2026-01"
    code, out, err = run(
        capsys, "--prices", str(prices), "schedule", "--region", "eu-west-1", "--output", "json"
    )
    assert code == 0 and json.loads(out)["UnitPrice"] == 4.0 and "using us-east-1's" in err


def test_time_zone_and_daylight_saving() -> None:
    # New York, March 2026: DST starts Sunday 8 March (a 23-hour day): always-on is 743 hours
    result = simulate("09:00-18:00", "mon-fri", units=1, month="2026-03", tz="America/New_York")
    assert result.always_on_hours == 743 and result.running_hours == 22 * 9
    # a window across the change (01:00-04:00 on that Sunday) is 2 hours long, not 3
    night = simulate("01:00-04:00", "sun", units=1, month="2026-03", tz="America/New_York")
    assert night.running_hours == 4 * 3 + 2 + 0 and night.days == 5


def test_windows_across_midnight_and_the_start_lead_billing_choice() -> None:
    late = simulate("22:00-06:00", "fri", units=1, month="2026-06", tz="UTC")  # 4 Fridays
    assert late.days == 4 and late.running_hours == 4 * 8
    billed = simulate(
        "09:00-18:00", "mon-fri", units=1, month="2026-06", tz="UTC", start_minutes=10, bill_starting=True
    )
    assert billed.running_hours == pytest.approx(22 * (9 + 10 / 60))
    always = simulate("00:00-24:00", "mon-sun", units=1, month="2026-06", tz="UTC")
    assert always.running_hours == always.always_on_hours == 720 and always.starts == 1


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--on", "9-18"], "--on"),
        (["--on", "18:00-09:60"], "--on"),
        (["--on", "09:00-09:00"], "--on"),
        (["--days", "mon-funday"], "--days"),
        (["--month", "2026-13"], "--month"),
        (["--timezone", "Mars/Olympus"], "--timezone"),
        (["--units", "0"], "--units"),
        (["--start-minutes", "-1"], "--start-minutes"),
    ],
)
def test_bad_input_is_one_clear_line(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    code, out, err = run(capsys, "schedule", *argv)
    assert (
        code in (1, 2) and out == "" and says in err and "Traceback" not in err and len(err.splitlines()) == 1
    )


def test_text_output_reads_as_a_comparison(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", "--month", "2026-06", "--output", "text")
    assert code == 0 and "2880" in out and "792" in out
