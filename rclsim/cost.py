"""The cost meter: what the models you ran would have cost, from a price table that is data.

Custom Labels bills inference in inference-unit hours (hours RUNNING x inference units), used or not,
and training per hour of successful training (``BillableTrainingTimeInSeconds``). The price table
(``rclsim/pricing.json``) is dated and names its source; prices are per region, and a region without a
price uses the table's fallback region (us-east-1) and says so. ``--prices FILE`` (env
``RCLSIM_PRICES``) replaces it with your own table of the same form.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .apimodel import parse_version_arn
from .errors import RclsimError

__all__ = ["PriceTable", "BillLine", "Bill", "compute_bill", "hourly_cost_text"]


@dataclass(frozen=True)
class RegionPrices:
    region: str  # the region whose prices these are
    inference_unit_hour: float
    training_hour: float
    note: str | None  # set when a fallback region's prices stand in


class PriceTable:
    """Prices per region, with the date and source they came from."""

    def __init__(self, data: Mapping[str, Any], origin: str):
        try:
            self.currency: str = data["currency"]
            self.as_of: str = str(data["as_of"])
            self.source: str = data["source"]
            self.fallback: str = data["fallback_region"]
            self.regions: dict[str, dict[str, float]] = {
                region: {
                    "InferenceUnitHour": float(p["InferenceUnitHour"]),
                    "TrainingHour": float(p["TrainingHour"]),
                }
                for region, p in data["regions"].items()
            }
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise RclsimError(
                f"{origin}: not a price table (needs currency, as_of, source, fallback_region and "
                f"regions.<region>.InferenceUnitHour/TrainingHour): {exc}"
            ) from None
        if self.fallback not in self.regions:
            raise RclsimError(f"{origin}: fallback_region {self.fallback!r} has no prices")
        for region, p in data["regions"].items():
            for key in ("InferenceUnitHour", "TrainingHour"):
                value = p[key]
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or not (math.isfinite(value) and value >= 0)
                ):
                    raise RclsimError(
                        f"{origin}: regions.{region}.{key} must be a number >= 0, got {value!r}"
                    )
        if data.get("format_version", 1) != 1:
            raise RclsimError(
                f"{origin}: format_version {data.get('format_version')!r} is not one rclsim reads (1)"
            )
        self.origin = origin

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> PriceTable:
        """The table in ``path``, else ``RCLSIM_PRICES``, else the built-in one."""
        path = path or os.environ.get("RCLSIM_PRICES") or None
        if path is None:
            text = resources.files("rclsim").joinpath("pricing.json").read_text(encoding="utf-8")
            return cls(json.loads(text), "built-in price table")
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise RclsimError(f"{path}: cannot read price table: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise RclsimError(f"{path}: malformed JSON: {exc}") from None
        return cls(data, str(path))

    def for_region(self, region: str | None) -> RegionPrices:
        if region in self.regions:
            p = self.regions[region]  # type: ignore[index]
            return RegionPrices(region, p["InferenceUnitHour"], p["TrainingHour"], None)  # type: ignore[arg-type]
        p = self.regions[self.fallback]
        note = f"no price for {region or 'an unknown region'}; using {self.fallback}'s"
        return RegionPrices(self.fallback, p["InferenceUnitHour"], p["TrainingHour"], note)

    def for_arn(self, arn: str) -> RegionPrices:
        parsed = parse_version_arn(arn)
        return self.for_region(parsed.region if parsed else None)


def hourly_cost_text(prices: PriceTable, arn: str, inference_units: int) -> str:
    """One line a user reads before anything billable starts."""
    p = prices.for_arn(arn)
    hourly = p.inference_unit_hour * inference_units
    note = f"; {p.note}" if p.note else ""
    return (
        f"A running model is billed about {prices.currency} {hourly:.2f} per hour "
        f"({inference_units} inference unit(s) x {p.inference_unit_hour:.2f}, prices as of {prices.as_of}, "
        f"unverified{note}) until it is stopped."
    )


@dataclass(frozen=True)
class BillLine:
    project_version_arn: str
    item: str  # "inference" or "training"
    quantity: float  # inference-unit hours, or training hours
    unit: str
    unit_price: float
    amount: float
    note: str | None = None


@dataclass(frozen=True)
class Bill:
    lines: tuple[BillLine, ...]
    currency: str
    as_of: str
    source: str

    @property
    def total(self) -> float:
        return sum(line.amount for line in self.lines)

    def as_dict(self) -> dict[str, Any]:
        """The bill as an AWS-style response, for --output and --query."""
        return {
            "Lines": [
                {
                    "Project": _names(line.project_version_arn)[0],
                    "Version": _names(line.project_version_arn)[1],
                    "Item": line.item,
                    "Quantity": round(line.quantity, 6),
                    "Unit": line.unit,
                    "UnitPrice": line.unit_price,
                    "Amount": round(line.amount, 4),
                }
                for line in self.lines
            ],
            "Total": round(self.total, 4),
            "Currency": self.currency,
            "PricesAsOf": self.as_of,
        }

    @property
    def notes(self) -> list[str]:
        return sorted({line.note for line in self.lines if line.note})


def _names(arn: str) -> tuple[str, str]:
    parsed = parse_version_arn(arn)
    return (parsed.project, parsed.version_name) if parsed else ("?", arn)


def compute_bill(
    prices: PriceTable,
    usage: Iterable[Any],
    trainings: Sequence[tuple[str, float]],
    now: float,
) -> Bill:
    """Inference from ``usage`` (stretches of RUNNING time; open ones run until ``now``) plus training
    from ``trainings`` (``(arn, seconds)`` of successful trainings)."""
    iu_seconds: dict[str, float] = {}
    for u in usage:
        end = u.stopped_at if u.stopped_at is not None else now
        iu_seconds[u.arn] = iu_seconds.get(u.arn, 0.0) + max(0.0, end - u.started_at) * u.inference_units
    lines: list[BillLine] = []
    for arn, seconds in trainings:
        p = prices.for_arn(arn)
        hours = seconds / 3600
        lines.append(
            BillLine(arn, "training", hours, "hours", p.training_hour, hours * p.training_hour, p.note)
        )
    for arn, seconds in iu_seconds.items():
        p = prices.for_arn(arn)
        hours = seconds / 3600
        lines.append(
            BillLine(
                arn,
                "inference",
                hours,
                "inference-unit hours",
                p.inference_unit_hour,
                hours * p.inference_unit_hour,
                p.note,
            )
        )
    return Bill(tuple(lines), prices.currency, prices.as_of, prices.source)
