"""The cost meter: what the models you ran would have cost, from a price table that is data.

Custom Labels bills inference in inference-unit hours (hours RUNNING x inference units), used or not,
and training per hour of successful training (``BillableTrainingTimeInSeconds``). The price table
(``rclsim/pricing.json``) is dated and names its source; prices are per region, and a region without a
price uses the table's fallback region (us-east-1) and says so. ``--prices FILE`` (env
``RCLSIM_PRICES``) replaces it with your own table of the same form; a table of the wrong form is
refused on load with one line naming the file, the key and what it must be.

Which units are billed (source: the fact sheet, ``rekognition-custom-labels-api.md`` sections 1 and
8): the inference units *in service*. Without ``MaxInferenceUnits`` (or with Max equal to Min) that is
``MinInferenceUnits`` for as long as the model runs. With auto-scaling (Min < Max) the service starts
with ``MinInferenceUnits`` and may add units up to ``MaxInferenceUnits`` under load, each billed while
it serves. :func:`hourly_price` is the one place this is computed: ``rclsim start`` quotes it ("USD
4.00/hour for 1 inference unit, up to USD 20.00/hour if it scales to 5"), ``find-running`` lists it per
model, and the meter bills with it. The fake scales only when capacity is modelled (opt-in:
:mod:`rclsim.fake.capacity`): then each auto-scaling change closes the version's usage row and opens
one with the new unit count, and the bill is the integral of the units in service over time; without
it the meter bills ``MinInferenceUnits`` and says so.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from rclsim.config import setting, variables
from rclsim.service.apimodel import parse_version_arn
from rclsim.service.errors import RclsimError
from rclsim.service.files import read_json_file

__all__ = [
    "PriceTable",
    "HourlyPrice",
    "hourly_price",
    "BillLine",
    "Bill",
    "compute_bill",
    "hourly_cost_text",
]

#: The variable of the ``prices`` setting (rclsim.config's table), named in messages about its file.
_PRICES_VARIABLE = next(variable for variable, name in variables().items() if name == "prices")

#: What the meter says about the units it bills (the fake auto-scales only with capacity on).
METER_UNITS_NOTE = (
    "inference is billed for the inference units in service: MinInferenceUnits, plus the units "
    "auto-scaling added while they served when capacity is modelled (models.json "
    "TransactionsPerSecondPerInferenceUnit or AutoScaling, or capacity on); without it the fake does not "
    "scale up to MaxInferenceUnits (the service may, and bills each unit added while it serves)"
)


@dataclass(frozen=True)
class RegionPrices:
    region: str  # the region whose prices these are
    inference_unit_hour: float
    training_hour: float
    note: str | None  # set when a fallback region's prices stand in


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class PriceTable:
    """Prices per region, with the date and source they came from.

    The form is checked key by key on load: a wrong one raises :class:`RclsimError` with one line that
    names the table (its file), the key and what it must be."""

    def __init__(self, data: Any, origin: str):
        def wrong(key: str, expected: str, value: Any = KeyError) -> RclsimError:
            got = "missing" if value is KeyError else f"got {_show(value)}"
            return RclsimError(
                f"{origin}: not a price table: {key} must be {expected}, {got} "
                "(the form of rclsim/pricing.json)"
            )

        if not isinstance(data, Mapping):
            raise wrong("the price table", "a JSON object", data)
        version = data.get("format_version", 1)
        if isinstance(version, bool) or version != 1:
            raise wrong("format_version", "1 (the only form rclsim reads)", version)
        texts: dict[str, str] = {}
        for key in ("currency", "as_of", "source"):
            value = data.get(key, KeyError)
            if not isinstance(value, str) or not value.strip():
                raise wrong(key, "a string", value)
            texts[key] = value
        raw_regions = data.get("regions", KeyError)
        if not isinstance(raw_regions, Mapping) or not raw_regions:
            raise wrong(
                "regions", "an object of region name -> prices, with at least one region", raw_regions
            )
        regions: dict[str, dict[str, float]] = {}
        for region, p in raw_regions.items():
            if not isinstance(p, Mapping):
                raise wrong(f"regions.{region}", "an object with InferenceUnitHour and TrainingHour", p)
            regions[region] = {}
            for key in ("InferenceUnitHour", "TrainingHour"):
                value = p.get(key, KeyError)
                if (
                    isinstance(value, bool)
                    or not isinstance(value, (int, float))
                    or not (math.isfinite(value) and value >= 0)
                ):
                    raise wrong(
                        f"regions.{region}.{key}", f"a number >= 0 ({texts['currency']} per hour)", value
                    )
                regions[region][key] = float(value)
        fallback = data.get("fallback_region", KeyError)
        if not isinstance(fallback, str):
            raise wrong("fallback_region", "a region name (string) listed in regions", fallback)
        if fallback not in regions:
            raise wrong("fallback_region", f"a region listed in regions ({', '.join(regions)})", fallback)
        self.currency: str = texts["currency"]
        self.as_of: str = texts["as_of"]
        self.source: str = texts["source"]
        self.fallback: str = fallback
        self.regions: dict[str, dict[str, float]] = regions
        self.origin = origin

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *, given_by: str | None = None) -> PriceTable:
        """The table in ``path``, else the ``prices`` setting's (``RCLSIM_PRICES``), else the built-in one.

        ``given_by`` is where ``path`` came from (a resolved setting's origin, such as
        ``settings.origin["prices"]``): when that is an environment variable, every message about the
        file names it (``RCLSIM_PRICES=/old/prices.json: no such file``), since the user did not type
        the path. The file is read by :func:`rclsim.service.files.read_json_file` (one line for a file nested
        too deeply, with ``NaN`` or not UTF-8), then its form is checked key by key."""
        if not path:
            path = setting("prices")
            given_by = _PRICES_VARIABLE if path is not None else None
        if path is None:
            text = resources.files("rclsim").joinpath("pricing.json").read_text(encoding="utf-8")
            return cls(json.loads(text), "built-in price table")
        where = f"{given_by}={path}" if given_by in variables() else str(path)
        return cls(read_json_file(path, where=where), where)

    def for_region(self, region: str | None) -> RegionPrices:
        if region is not None and region in self.regions:
            p = self.regions[region]
            return RegionPrices(region, p["InferenceUnitHour"], p["TrainingHour"], None)
        p = self.regions[self.fallback]
        note = f"no price for {region or 'an unknown region'}; using {self.fallback}'s"
        return RegionPrices(self.fallback, p["InferenceUnitHour"], p["TrainingHour"], note)

    def for_arn(self, arn: str | None) -> RegionPrices:
        parsed = parse_version_arn(arn) if arn else None
        return self.for_region(parsed.region if parsed else None)


def _units(n: int) -> str:
    return f"{n} inference unit{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class HourlyPrice:
    """What a started model costs per hour: ``units`` in service (``MinInferenceUnits``), and, with
    auto-scaling, what it costs if the service scales to ``max_units`` (``MaxInferenceUnits``)."""

    currency: str
    unit_price: float  # per inference unit per hour
    units: int
    max_units: int | None  # None: no auto-scaling (no Max, or Max == Min)
    as_of: str
    note: str | None  # a fallback region's prices stand in

    @property
    def hourly(self) -> float:
        return self.units * self.unit_price

    @property
    def max_hourly(self) -> float | None:
        return None if self.max_units is None else self.max_units * self.unit_price

    def text(self) -> str:
        """``USD 4.00/hour for 1 inference unit, up to USD 20.00/hour if it scales to 5``."""
        text = f"{self.currency} {self.hourly:.2f}/hour for {_units(self.units)}"
        if self.max_units is not None:
            text += f", up to {self.currency} {self.max_hourly:.2f}/hour if it scales to {self.max_units}"
        return text


def hourly_price(
    units: int,
    max_units: int | None = None,
    *,
    arn: str | None = None,
    prices: PriceTable | None = None,
    region: str | None = None,
) -> HourlyPrice:
    """The hourly price of a model with ``units`` inference units in service (``MinInferenceUnits``)
    and, when ``max_units`` (``MaxInferenceUnits``) is above it, the most auto-scaling can make it.
    ``arn`` (or ``region``, for a model that does not exist yet) picks the region's price (the
    fallback region's, with a note, when it has none); ``prices`` defaults to :meth:`PriceTable.load`.
    ``start``, ``find-running``, ``schedule`` and the meter all use this."""
    prices = prices or PriceTable.load()
    p = prices.for_arn(arn) if arn is not None or region is None else prices.for_region(region)
    scales_to = max_units if max_units is not None and max_units > units else None
    return HourlyPrice(prices.currency, p.inference_unit_hour, units, scales_to, prices.as_of, p.note)


def hourly_cost_text(
    prices: PriceTable, arn: str, inference_units: int, max_inference_units: int | None = None
) -> str:
    """One line a user reads before anything billable starts."""
    price = hourly_price(inference_units, max_inference_units, arn=arn, prices=prices)
    note = f"; {price.note}" if price.note else ""
    return (
        f"A running model is billed about {price.text()} "
        f"({price.currency} {price.unit_price:.2f} per inference unit per hour, prices as of {price.as_of}, "
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
        """What the figures rest on: a fallback region's prices, and which inference units are billed."""
        notes = sorted({line.note for line in self.lines if line.note})
        if any(line.item == "inference" for line in self.lines):
            notes.append(METER_UNITS_NOTE)
        return notes


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
    # Per version: inference-unit hours and their cost, each RUNNING stretch priced by hourly_price
    # for the units it had in service (a new stretch at each auto-scaling change).
    inference: dict[str, tuple[float, float, float]] = {}  # arn -> (IU hours, amount, unit price)
    for u in usage:
        end = u.stopped_at if u.stopped_at is not None else now
        hours = max(0.0, end - u.started_at) / 3600
        price = hourly_price(u.inference_units, arn=u.arn, prices=prices)
        iu_hours, amount, _ = inference.get(u.arn, (0.0, 0.0, 0.0))
        inference[u.arn] = (iu_hours + hours * price.units, amount + hours * price.hourly, price.unit_price)
    lines: list[BillLine] = []
    for arn, seconds in trainings:
        p = prices.for_arn(arn)
        hours = seconds / 3600
        lines.append(
            BillLine(arn, "training", hours, "hours", p.training_hour, hours * p.training_hour, p.note)
        )
    for arn, (iu_hours, amount, unit_price) in inference.items():
        lines.append(
            BillLine(
                arn,
                "inference",
                iu_hours,
                "inference-unit hours",
                unit_price,
                amount,
                prices.for_arn(arn).note,
            )
        )
    return Bill(tuple(lines), prices.currency, prices.as_of, prices.source)
