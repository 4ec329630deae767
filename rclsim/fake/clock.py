"""Clocks and the time scale: how long the fake's transitions take, in which time.

The service's transitions take minutes (starting a model: about ten). The fake multiplies each duration
by a **time scale**: 0 makes every transition instant (the default for the fake), 1 takes the real
durations, 0.01 runs a hundred times faster. The clock itself always tells real time, so a model left
running for an hour is billed for an hour; :class:`ManualClock` lets tests move time by hand.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from typing import Protocol

# The bound is the time_scale setting's (RCLSIM_TIME_SCALE and --time-scale are resolved, and checked,
# by rclsim.config): slower than real time is allowed, a test of a user's patience, but not without bound.
from rclsim.config import MAX_TIME_SCALE
from rclsim.service.errors import RclsimError

__all__ = ["Clock", "SystemClock", "ManualClock", "check_time_scale", "utc"]


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real time."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))


class ManualClock:
    """Time that moves only when told to: ``advance`` (and ``sleep``, which advances instead of waiting)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock cannot go back")
        self._now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))


def check_time_scale(value: float, source: str = "--time-scale") -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= MAX_TIME_SCALE):
        raise RclsimError(
            f"{source} must be a number from 0 to {MAX_TIME_SCALE:g} (0 = instant, 1 = real durations), "
            f"got {value!r}"
        )
    return float(value)


def utc(seconds: float) -> dt.datetime:
    """Clock seconds as the time-zone-aware UTC datetime the API's timestamps are."""
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
