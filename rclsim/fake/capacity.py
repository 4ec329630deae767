"""Capacity: how many DetectCustomLabels calls a RUNNING version serves, and auto-scaling.

What the service documents, and what rclsim chooses where it does not:

* **Transactions per second per inference unit**: 5 by default. Source: an older API reference of
  StartProjectVersion, "1 inference unit ≈ up to 5 transactions per second" [D, dated] (fact sheet,
  ``rekognition-custom-labels-api.md`` StartProjectVersion). The real figure depends on the model and
  the image; declare it per version in ``models.json`` as ``TransactionsPerSecondPerInferenceUnit``
  (an integer >= 1).
* **Over capacity**: DetectCustomLabels answers ``ProvisionedThroughputExceededException`` [D]. Its
  message is the model's documentation of the error ("The number of requests exceeded your throughput
  limit...") with rclsim's figures after it; the service's exact wording is [U].
* **How the rate is measured** ([U], rclsim's choice): a **one-second sliding window** per version, on
  the core's clock. A call at time ``t`` is served when fewer than ``units x TPS`` calls were served in
  ``(t - 1, t]``; so N calls at one instant pass, the N+1st is refused, and a call served at ``t``
  leaves the window at exactly ``t + 1``. Refused calls take no capacity. Kept as the times of the last
  ``units x TPS`` served calls (a bounded deque), so each check is O(1).
* **Auto-scaling** (a version started with ``MaxInferenceUnits`` above ``MinInferenceUnits``) [U]: load
  is the calls *offered* (served and refused) in each whole second of the clock. When every second for
  ``ScaleUpSeconds`` (default 300: five minutes) offered more than the units in service serve, one unit
  is added (up to Max); when every second for ``ScaleDownSeconds`` (default 600: ten minutes) offered no
  more than one unit fewer would serve, one unit is removed (down to Min). A quiet second (or a second
  that fits between the two) starts the count again; each change starts it again too. A unit is in
  service (and billed) from the moment it is added: the service's warm-up is not modelled. Seconds with
  no call at all count as quiet: they are settled when the version is next used, described, billed or
  stopped, at the times they would have happened. Delays are clock seconds, not multiplied by the
  time scale (they are load windows, not transitions).
* **Opt-in**: a default limit of 5 TPS per unit would throttle every tight test loop, ``rclsim
  evaluate`` over a dataset and the benchmarks, so capacity (the limit and auto-scaling) applies only
  to a version whose ``models.json`` declares ``TransactionsPerSecondPerInferenceUnit`` or
  ``AutoScaling``, or to every version when the core is made with ``FakeRekognition(..., capacity=True)``.
* **Per process** [U]: the load is measured where the calls are answered (one Python process, or
  ``rclsim serve``). The units in service are kept in the state (the cost meter's open usage row), so
  another process sharing a state folder sees them as last settled there.

This module holds the arithmetic only (no state store, no errors): :mod:`rclsim.fake.lifecycle` writes
the changes it reports into the usage rows, and :mod:`rclsim.fake.core` refuses the call.
"""

from __future__ import annotations

import collections
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "DEFAULT_TPS_PER_INFERENCE_UNIT",
    "DEFAULT_SCALE_UP_SECONDS",
    "DEFAULT_SCALE_DOWN_SECONDS",
    "THROTTLED_MESSAGE",
    "Scaling",
    "Meter",
    "Meters",
]

#: [D, dated] older StartProjectVersion API reference: "1 IU ≈ up to 5 TPS".
DEFAULT_TPS_PER_INFERENCE_UNIT = 5
#: [U] How long load must stay over the units in service before one is added (clock seconds).
DEFAULT_SCALE_UP_SECONDS = 300
#: [U] How long load must stay within one unit fewer before one is removed (clock seconds).
DEFAULT_SCALE_DOWN_SECONDS = 600
#: The model's documentation of the error; the service's own message is [U].
THROTTLED_MESSAGE = (
    "The number of requests exceeded your throughput limit. If you want to increase this limit, "
    "contact Amazon Rekognition."
)


@dataclass(frozen=True)
class Scaling:
    """A version's capacity figures: TPS per unit, and the auto-scaling delays in clock seconds."""

    tps_per_unit: int = DEFAULT_TPS_PER_INFERENCE_UNIT
    scale_up_seconds: int = DEFAULT_SCALE_UP_SECONDS
    scale_down_seconds: int = DEFAULT_SCALE_DOWN_SECONDS


class Meter:
    """One RUNNING version's window of served calls and its auto-scaling, for one run (``run``: what
    identifies that run, so a restart gets a fresh meter). Thread-safe: one lock per meter.

    ``units`` is the number in service; ``changes`` the (time, units) of scale changes not yet written
    to the usage rows (handed out by :meth:`flush`)."""

    def __init__(
        self,
        run: object,
        *,
        units: int,
        min_units: int,
        max_units: int | None,
        scaling: Scaling,
    ) -> None:
        self.run = run
        self.scaling = scaling
        self.min_units = min_units
        self.max_units = max(max_units or min_units, min_units)
        self.units = min(max(units, min_units), self.max_units)
        self.lock = threading.Lock()
        self.changes: list[tuple[float, int]] = []
        self._served: collections.deque[float] = collections.deque(maxlen=self.capacity)
        self._second: int | None = None  # the clock second being counted
        self._offered = 0  # calls offered in that second
        self._over_since: int | None = None
        self._under_since: int | None = None

    @property
    def capacity(self) -> int:
        """Calls per second the units in service serve."""
        return self.units * self.scaling.tps_per_unit

    @property
    def scales(self) -> bool:
        return self.max_units > self.min_units

    def admit(self, now: float) -> bool:
        """Count a call at ``now`` (clock seconds): True when it is served, False when over capacity."""
        with self.lock:
            second = math.floor(now)
            if second != self._second:
                self._settle(second)
            self._offered += 1
            served = self._served
            if len(served) < self.capacity or now - served[0] >= 1.0:
                served.append(now)
                return True
            return False

    def served_in_window(self, now: float) -> int:
        """Calls served in ``(now - 1, now]``."""
        with self.lock:
            return sum(1 for t in self._served if now - t < 1.0)

    def settle(self, now: float) -> None:
        """Account for the whole seconds before ``now`` (quiet ones included): scale changes due by then
        are made, at the times they were due."""
        with self.lock:
            self._settle(math.floor(now))

    def flush(self, now: float, write: Callable[[list[tuple[float, int]]], None]) -> None:
        """Settle up to ``now`` and hand the scale changes not yet written to ``write`` (oldest first),
        inside the meter's lock so that two threads never write them out of order."""
        with self.lock:
            self._settle(math.floor(now))
            if self.changes:
                changes, self.changes = self.changes, []
                write(changes)

    # -- inside the lock ---------------------------------------------------------------------------
    def _settle(self, second: int) -> None:
        if self._second is None:
            self._second, self._offered = second, 0
            return
        if second <= self._second:  # the same second, or a clock that went back: nothing to close
            return
        if self.scales:
            self._finish(self._second, self._offered)
            self._quiet(self._second + 1, second)
        self._second, self._offered = second, 0

    def _change(self, at: float, units: int) -> None:
        self.units = units
        self._served = collections.deque(self._served, maxlen=self.capacity)
        self.changes.append((float(at), units))

    def _finish(self, second: int, offered: int) -> None:
        """Close ``second``, in which ``offered`` calls came."""
        tps = self.scaling.tps_per_unit
        if offered > self.units * tps and self.units < self.max_units:
            self._under_since = None
            if self._over_since is None:
                self._over_since = second
            if second + 1 - self._over_since >= self.scaling.scale_up_seconds:
                self._change(second + 1, self.units + 1)
                self._over_since = None
        elif offered <= (self.units - 1) * tps and self.units > self.min_units:
            self._over_since = None
            if self._under_since is None:
                self._under_since = second
            if second + 1 - self._under_since >= self.scaling.scale_down_seconds:
                self._change(second + 1, self.units - 1)
                self._under_since = None
        else:
            self._over_since = self._under_since = None

    def _quiet(self, first: int, end: int) -> None:
        """Seconds ``first`` .. ``end - 1`` had no call: units come down one per delay, to Min."""
        if first >= end:
            return
        self._over_since = None
        if self.units <= self.min_units:
            self._under_since = None
            return
        if self._under_since is None:
            self._under_since = first
        delay = self.scaling.scale_down_seconds
        while self.units > self.min_units and self._under_since + delay <= end:
            at = self._under_since + delay
            self._change(at, self.units - 1)
            self._under_since = at
        if self.units <= self.min_units:
            self._under_since = None


class Meters:
    """The meters of one core's versions, by ARN (a lock guards the table; each meter has its own)."""

    def __init__(self) -> None:
        self._meters: dict[str, Meter] = {}
        self._lock = threading.Lock()

    def get(self, arn: str) -> Meter | None:
        return self._meters.get(arn)

    def get_or_make(self, arn: str, run: object, make: Callable[[], Meter]) -> Meter:
        """The meter of ``arn``'s run ``run``, made once by ``make`` even when threads ask together
        (a meter of an earlier run is replaced)."""
        with self._lock:
            meter = self._meters.get(arn)
            if meter is None or meter.run != run:
                meter = self._meters[arn] = make()
            return meter

    def forget(self, arn: str) -> Meter | None:
        with self._lock:
            return self._meters.pop(arn, None)

    def all(self) -> list[tuple[str, Meter]]:
        with self._lock:
            return list(self._meters.items())
