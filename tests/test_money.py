"""What a model costs per hour: one price for start, find-running and the cost meter; price files checked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.fake.cost import PriceTable, hourly_price
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN

#: Odd prices, so that agreeing figures cannot be a coincidence of the built-in table's round numbers.
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


def write_table(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# -- 1. one hourly price -----------------------------------------------------------------------------
def test_hourly_price_bills_the_units_in_service_and_names_the_scaling_range() -> None:
    prices = PriceTable(TABLE, "test")
    fixed = hourly_price(2, arn=ARTICLE_ARN, prices=prices)
    assert (fixed.units, fixed.hourly, fixed.max_units, fixed.max_hourly) == (2, 6.5, None, None)
    assert fixed.text() == "USD 6.50/hour for 2 inference units"
    scaling = hourly_price(1, 5, arn=ARTICLE_ARN, prices=prices)
    assert (scaling.hourly, scaling.max_hourly) == (3.25, 16.25)
    assert scaling.text() == "USD 3.25/hour for 1 inference unit, up to USD 16.25/hour if it scales to 5"
    assert hourly_price(3, 3, arn=ARTICLE_ARN, prices=prices).max_units is None  # Min == Max: no scaling
    elsewhere = "arn:aws:rekognition:eu-west-1:123456789012:project/p/version/v/1"
    other = hourly_price(1, arn=elsewhere, prices=prices)
    assert other.hourly == 4.0 and other.note == "no price for eu-west-1; using us-east-1's"


def test_start_find_running_and_the_meter_quote_the_same_hourly_price(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The review's case: start --max-inference-units 5 was quoted USD 20 by start, USD 4 by
    find-running, and billed at one unit by the meter."""
    table = write_table(tmp_path / "prices.json", TABLE)
    state = str(tmp_path / "state")
    opts = ["--prices", str(table), "--state-dir", state]
    expected = hourly_price(2, 5, arn=ARTICLE_ARN, prices=PriceTable.load(table))
    assert expected.text() == "USD 6.50/hour for 2 inference units, up to USD 16.25/hour if it scales to 5"

    code, _, err = run(
        capsys, *opts, "start", "--project-version-arn", ARTICLE_ARN,
        "--min-inference-units", "2", "--max-inference-units", "5",
    )  # fmt: skip
    assert code == 0, err
    assert expected.text() in err
    assert err.index(expected.text()) < err.index("StartProjectVersion accepted")  # said before it starts
    assert "16.25 per hour" not in err  # not the maximum as if it were the price

    code, out, err = run(capsys, *opts, "find-running")
    assert code == 0, err
    [row] = json.loads(out)["RunningVersions"]
    assert (row["MinInferenceUnits"], row["HourlyCost"]) == (2, expected.hourly)
    assert (row["MaxInferenceUnits"], row["MaxHourlyCost"]) == (5, expected.max_hourly)
    assert expected.text() in err

    # The meter, an hour later, from the same state: the units in service (the fake does not scale).
    started = rclsim.get_backend("replay", state_dir=state).core.lifecycle.usage()[0].started_at  # type: ignore[attr-defined]
    later = rclsim.get_backend(
        "replay", state_dir=state, clock=ManualClock(started + 3600), prices=PriceTable.load(table)
    )
    [inference] = [line for line in later.bill().lines if line.item == "inference"]
    assert inference.amount == pytest.approx(expected.hourly)
    assert inference.quantity == pytest.approx(expected.units)  # inference-unit hours

    code, out, err = run(capsys, *opts, "cost")
    assert code == 0, err
    assert "inference units in service" in err and "MinInferenceUnits" in err and "does not scale" in err


def test_start_dry_run_quotes_the_same_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(
        capsys, "start", "--dry-run", "--project-version-arn", ARTICLE_ARN, "--max-inference-units", "5"
    )
    assert code == 0, err
    expected = hourly_price(1, 5, arn=ARTICLE_ARN, prices=PriceTable.load())
    assert expected.text() == "USD 4.00/hour for 1 inference unit, up to USD 20.00/hour if it scales to 5"
    assert expected.text() in err and "would call StartProjectVersion" in err


def test_running_model_quotes_the_same_range() -> None:
    backend = rclsim.get_backend("replay")
    said: list[str] = []
    with rclsim.running_model(backend, ARTICLE_ARN, max_inference_units=5, say=said.append):
        pass
    assert hourly_price(1, 5, arn=ARTICLE_ARN).text() in said[0]


# -- 2. price files of the wrong form ----------------------------------------------------------------
def _with(**changes: object) -> dict:
    data = json.loads(json.dumps(TABLE))
    for key, value in changes.items():
        if value is KeyError:
            data.pop(key)
        else:
            data[key] = value
    return data


def _region(**changes: object) -> dict:
    data = json.loads(json.dumps(TABLE))
    data["regions"]["us-east-1"].update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "key", "expected"),
    [
        (_with(fallback_region=[]), "fallback_region", "a region name (string)"),
        (_with(fallback_region=KeyError), "fallback_region", "a region name (string)"),
        (_with(fallback_region="eu-west-1"), "fallback_region", "a region listed in regions"),
        (_with(currency=5), "currency", "a string"),
        (_with(currency=KeyError), "currency", "a string"),
        (_with(source=None), "source", "a string"),
        (_with(as_of=[2021]), "as_of", "a string"),
        (_with(regions=[]), "regions", "an object"),
        (_with(regions={}), "regions", "an object"),
        (_with(regions=KeyError), "regions", "an object"),
        (_with(format_version="1"), "format_version", "1"),
        (_region(InferenceUnitHour="4"), "regions.us-east-1.InferenceUnitHour", "a number >= 0"),
        (_region(InferenceUnitHour=-1), "regions.us-east-1.InferenceUnitHour", "a number >= 0"),
        (_region(TrainingHour=True), "regions.us-east-1.TrainingHour", "a number >= 0"),
        (_region(TrainingHour=None), "regions.us-east-1.TrainingHour", "a number >= 0"),
        ({**TABLE, "regions": {"us-east-1": {"TrainingHour": 1}}}, "us-east-1.InferenceUnitHour", "a number"),
        ({**TABLE, "regions": {"us-east-1": 4}}, "regions.us-east-1", "an object"),
        ([TABLE], "the price table", "a JSON object"),
    ],
)  # fmt: skip
def test_a_price_file_of_the_wrong_form_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: object, key: str, expected: str
) -> None:
    table = write_table(tmp_path / "prices.json", data)
    for command in (["cost"], ["find-running"], ["start", "--dry-run", "--project-version-arn", ARTICLE_ARN]):
        code, out, err = run(capsys, "--prices", str(table), *command)
        assert (code, out) == (1, ""), err
        assert len(err.splitlines()) == 1 and err.startswith("rclsim: error: "), err
        assert str(table) in err and key in err and f"must be {expected}" in err, err
        assert "internal error" not in err


def test_a_price_file_through_the_environment_is_checked_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = write_table(tmp_path / "prices.json", _with(fallback_region=[]))
    monkeypatch.setenv("RCLSIM_PRICES", str(table))
    code, _, err = run(capsys, "cost")
    assert code == 1 and str(table) in err and "fallback_region" in err and "internal error" not in err


def test_the_built_in_price_table_is_dated_and_sourced() -> None:
    prices = PriceTable.load()
    assert prices.as_of and "rekognition/pricing" in prices.source and prices.currency == "USD"
