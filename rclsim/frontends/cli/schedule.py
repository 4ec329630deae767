"""``rclsim schedule``: what an off-hours start/stop schedule would cost in a month beside always-on.

A model left running is billed every hour, used or not (about USD 4 per inference unit per hour in the
built-in table: USD 2,880 for a 30-day month). This prints the month of a schedule such as
``--on 09:00-18:00 --days mon-fri`` beside that, priced by :func:`rclsim.fake.cost.hourly_price` from
the one price table (``--prices FILE`` / ``RCLSIM_PRICES``), whose date and source it states.

Choices ([U]: the service's billing granularity is not documented at this level; docs/guardrails.md):

* The model is RUNNING (billed) from the window's start to its end on every listed day; the window is
  local time in ``--timezone`` (default UTC), so daylight saving shortens or lengthens a window that
  spans the change, and always-on is the month's real length in that zone (743 hours in New York's
  March).
* Starting takes time (about ten minutes; ``--start-minutes``, default 10): the start is called that
  long before the window opens so that the model serves from its start. STARTING is not billed (the fact
  sheet: billing counts RUNNING time; the fake's meter does the same); ``--bill-starting`` counts it, for
  a pessimistic figure. STOPPING is not billed.
* A window whose end is not after its start (``22:00-06:00``) ends the next day; ``00:00-24:00`` is the
  whole day. Windows are counted by the day they start on and clipped to the month; windows that touch
  (every day ``00:00-24:00``) are one run: one start.
* Billing is by the second, not rounded up to hours (the granularity is [U]; a guide says minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import dataclass
from typing import Any

from rclsim.service.errors import RclsimError

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``schedule`` command's parser."""
    p = sub.add_parser(
        "schedule",
        parents=[common],
        allow_abbrev=False,
        help="the monthly cost of an off-hours start/stop schedule beside always-on",
        description="Simulate starting a model every listed day before --on's window and stopping it "
        "at the window's end, over a month, and print its cost beside leaving it running (prices from "
        "the price table, with their date and source). --region picks the price (default: the table's "
        "fallback region).",
    )
    p.add_argument(
        "--on", default="09:00-18:00", metavar="HH:MM-HH:MM", help="when it runs (default 09:00-18:00)"
    )
    p.add_argument(
        "--days",
        default="mon-fri",
        help="days it runs: mon-fri, sat,sun, mon,wed,fri, mon-sun (default mon-fri)",
    )
    p.add_argument("--units", default="1", metavar="N", help="inference units (MinInferenceUnits; default 1)")
    p.add_argument(
        "--timezone", default="UTC", metavar="TZ", help="time zone of --on (IANA name; default UTC)"
    )
    p.add_argument("--month", default=None, metavar="YYYY-MM", help="the month (default: this month)")
    p.add_argument(
        "--start-minutes",
        default="10",
        metavar="M",
        help="how long a start takes: it is called this long before the window (default 10)",
    )
    p.add_argument(
        "--bill-starting",
        action="store_true",
        help="bill the starting minutes too (default: only RUNNING is billed)",
    )


@dataclass(frozen=True)
class ScheduleResult:
    days: int  # days with a window in the month
    starts: int  # runs (touching windows are one)
    running_hours: float  # billed hours
    always_on_hours: float  # the month's hours
    start_call_at: str  # HH:MM, local


def _hhmm(text: str, option: str, *, end: bool = False) -> int:
    """Minutes after midnight of ``HH:MM`` (24:00 allowed as an end)."""
    try:
        hours, minutes = text.split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        h, m = -1, -1
    if len(text) != 5 or not (0 <= m < 60 and (0 <= h < 24 or (end and h == 24 and m == 0))):
        raise RclsimError(f"{option} wants HH:MM-HH:MM in 24-hour time, such as 09:00-18:00; got {text!r}")
    return h * 60 + m


def _window(text: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    if not sep:
        raise RclsimError(f"--on wants HH:MM-HH:MM in 24-hour time, such as 09:00-18:00; got {text!r}")
    a, b = _hhmm(start, "--on"), _hhmm(end, "--on", end=True)
    if a == b:
        raise RclsimError(f"--on {text}: the window is empty (for always-on give 00:00-24:00)")
    return a, b if b > a else b + 24 * 60


def _days(text: str) -> set[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        first, sep, last = part.strip().partition("-")
        if first not in _DAYS or (sep and last not in _DAYS):
            raise RclsimError(
                f"--days wants day names ({', '.join(_DAYS)}) and ranges such as mon-fri; got {text!r}"
            )
        a = _DAYS.index(first)
        b = _DAYS.index(last) if sep else a
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return days


def _month(text: str | None, zone: dt.tzinfo) -> tuple[int, int]:
    if text is None:
        now = dt.datetime.now(zone)
        return now.year, now.month
    try:
        year, month = (int(x) for x in text.split("-"))
        dt.date(year, month, 1)
    except ValueError:
        raise RclsimError(f"--month wants YYYY-MM, such as 2026-06; got {text!r}") from None
    return year, month


def _zone(name: str) -> dt.tzinfo:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise RclsimError(
            f"--timezone {name!r} is not a time zone rclsim knows (an IANA name, such as Europe/Berlin)"
        ) from None


def _whole(text: str, option: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if value < low:
        raise RclsimError(f"{option} must be a whole number of at least {low}; got {text!r}")
    return value


def simulate(
    on: str,
    days: str,
    *,
    units: int = 1,
    month: str | None = None,
    tz: str = "UTC",
    start_minutes: int = 10,
    bill_starting: bool = False,
) -> ScheduleResult:
    """The month of the schedule: how many days, starts and billed hours, beside the month's hours.
    (``units`` does not change hours; it is here so that the result describes one schedule.)"""
    zone = _zone(tz)
    first, last = _window(on)
    weekdays = _days(days)
    year, mon = _month(month, zone)
    begin = dt.datetime(year, mon, 1, tzinfo=zone)
    end = dt.datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=zone)
    utc = dt.timezone.utc
    month_start, month_end = begin.astimezone(utc), end.astimezone(utc)
    runs: list[list[dt.datetime]] = []
    count = 0
    day = begin.date()
    while day < end.date():
        if day.weekday() in weekdays:
            count += 1
            midnight = dt.datetime(day.year, day.month, day.day)
            a = (midnight + dt.timedelta(minutes=first)).replace(tzinfo=zone).astimezone(utc)
            b = (midnight + dt.timedelta(minutes=last)).replace(tzinfo=zone).astimezone(utc)
            a, b = max(a, month_start), min(b, month_end)
            if runs and a <= runs[-1][1]:
                runs[-1][1] = max(runs[-1][1], b)  # touching windows: the model keeps running
            elif a < b:
                runs.append([a, b])
        day += dt.timedelta(days=1)
    seconds = sum((b - a).total_seconds() for a, b in runs)
    if bill_starting:
        seconds += len(runs) * start_minutes * 60
    call = (first - start_minutes) % (24 * 60)
    return ScheduleResult(
        days=count,
        starts=len(runs),
        running_hours=seconds / 3600,
        always_on_hours=(month_end - month_start).total_seconds() / 3600,
        start_call_at=f"{call // 60:02d}:{call % 60:02d}",
    )


def cmd_schedule(args: argparse.Namespace) -> int:
    from rclsim.fake.cost import hourly_price
    from rclsim.frontends.cli.common import _prices, _print, _say

    units = _whole(args.units, "--units", 1)
    start_minutes = _whole(args.start_minutes, "--start-minutes", 0)
    zone = _zone(args.timezone)
    year, month = _month(args.month, zone)
    result = simulate(
        args.on,
        args.days,
        units=units,
        month=f"{year:04d}-{month:02d}",
        tz=args.timezone,
        start_minutes=start_minutes,
        bill_starting=args.bill_starting,
    )
    prices = _prices(args)
    region = args.region or prices.fallback
    price = hourly_price(units, region=region, prices=prices)  # the one place a price is computed
    scheduled = result.running_hours * price.hourly
    always = result.always_on_hours * price.hourly
    data = {
        "Schedule": {
            "On": args.on,
            "Days": args.days,
            "TimeZone": args.timezone,
            "Month": f"{year:04d}-{month:02d}",
            "StartMinutes": start_minutes,
            "StartingBilled": bool(args.bill_starting),
        },
        "Region": region,
        "InferenceUnits": units,
        "UnitPrice": price.unit_price,
        "Currency": price.currency,
        "Scheduled": {
            "Days": result.days,
            "RunningHours": round(result.running_hours, 4),
            "Cost": round(scheduled, 2),
        },
        "AlwaysOn": {"RunningHours": round(result.always_on_hours, 4), "Cost": round(always, 2)},
        "Saved": round(always - scheduled, 2),
        "SavedPercent": round(100 * (always - scheduled) / always, 1) if always else 0.0,
        "Starts": result.starts,
        "StartCallAt": result.start_call_at,
        "PricesAsOf": prices.as_of,
        "PricesSource": prices.source,
    }
    _print(data, args, "Schedule")
    if price.note:
        _say(f"note: {price.note}")
    _say(
        f"{price.currency} {scheduled:,.2f} a month on the schedule ({result.running_hours:g} h x "
        f"{price.text()}) beside {price.currency} {always:,.2f} always on ({result.always_on_hours:g} h); "
        f"start called at {result.start_call_at} {args.timezone}, "
        f"{'its starting minutes billed' if args.bill_starting else 'STARTING not billed [U]'}"
    )
    _say(f"prices as of {prices.as_of}: {prices.source}")
    return 0
