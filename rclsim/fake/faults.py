"""Fault rules: make the fake fail (or answer slowly) the way the real service does under load, so that
retry and backoff code can be tested offline.

A rules file is JSON (schema: ``rclsim/service/schemadata/faults.schema.json``; docs/faults.md): a list
of rules, or ``{"seed": 7, "rules": [...]}``. A rule says *which calls* (``operation``: a name or
``"*"``; ``model``: an ARN or a glob such as ``"*/version/plates.*"``), *which of them* (``rate``: a
share from 0 to 1, drawn from the seeded generator; or ``calls``: ``[2, 3]``, the 2nd and 3rd matching
call, 1-based; neither: every one; ``times``: at most that many faults) and *what happens*
(``error``: a code, with an optional ``message``; and/or ``latency``: ``{"seconds": 0.5}``,
``{"distribution": "uniform", "low": a, "high": b}`` or ``{"distribution": "normal", "mean": m,
"stdev": s}``, clipped at 0).

The rules are one :data:`~rclsim.fake.core.Layer` (:attr:`FaultRules.layer`) around the core's one way
in, so every front-end sees the same faults: the Backend API and the CLI (which do not retry), the
boto3 drop-in and ``rclsim serve`` (where botocore's retry handler retries them as it would AWS's).

Choices (the service's behaviour is not documented at this level) [U]:

* An ``error`` must be a code botocore's model lists for the operation (every faked operation lists
  ``InternalServerError``, ``ThrottlingException``, ``ProvisionedThroughputExceededException``,
  ``AccessDeniedException`` and ``InvalidParameterException``; ``LimitExceededException`` only some).
  Anything else is refused when the rules are read: a client would never see it from AWS. A rule for
  ``"*"`` applies its error only to the operations that list it, and is refused if none does.
* Faults come before the fake's own checks (throttling happens in front of the service's validation).
* Each rule counts the calls that match its ``operation`` and ``model`` (whether or not an earlier rule
  failed them): ``calls: [2, 3]`` means that rule's 2nd and 3rd match. Every matching rule draws its
  latency (added up and slept before the answer); the first matching rule with an error that fires
  fails the call.
* ``rate`` draws from one generator per rule, seeded by ``(seed, rule index)``: the same seed and the
  same sequence of matching calls give the same faults, whatever other rules do. Seed: the
  ``from_data``/``load`` argument, else the file's ``seed``, else 0.
* ``model`` matches ``ProjectVersionArn``, else ``ProjectArn``, else the other ARN members of the
  request (``DatasetArn``, ``ResourceArn``...), as ``fnmatch`` globs (case-sensitive); a call naming
  no ARN never matches a rule with a ``model``.
* Latency sleeps on the core's clock (:class:`~rclsim.fake.clock.ManualClock`: no real wait).
* The default message names the rule: ``"Rate exceeded (rclsim fault rule 2 of faults.json)"``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rclsim.service.apimodel import OPERATIONS, operation_model
from rclsim.service.errors import RclsimError, service_error

__all__ = ["FaultRules", "FaultRule", "Latency", "FAULT_CODES", "allowed_errors"]

#: The fault codes the issue names; each is allowed only where botocore's model lists it.
FAULT_CODES = (
    "ThrottlingException",
    "InternalServerError",
    "ProvisionedThroughputExceededException",
    "LimitExceededException",
)

#: The members a ``model`` pattern is matched against, in this order (the first present wins).
_ARN_MEMBERS = (
    "ProjectVersionArn",
    "ProjectArn",
    "SourceProjectVersionArn",
    "DatasetArn",
    "ResourceArn",
    "SourceProjectArn",
    "DestinationProjectArn",
)

#: Messages close to the service's for the fault codes (the rule is named after them).
_DEFAULT_MESSAGES = {
    "ThrottlingException": "Rate exceeded",
    "ProvisionedThroughputExceededException": "Provisioned rate exceeded",
    "InternalServerError": "Internal server error",
    "LimitExceededException": "Limit exceeded",
}


def allowed_errors(operation: str) -> frozenset[str]:
    """The error codes botocore's model lists for ``operation`` (what a rule may inject)."""
    return frozenset(shape.name for shape in operation_model(operation).error_shapes)


@dataclass(frozen=True)
class Latency:
    """How long a rule delays a call: fixed ``seconds``, or drawn from a distribution."""

    seconds: float | None = None
    distribution: str | None = None
    low: float = 0.0
    high: float = 0.0
    mean: float = 0.0
    stdev: float = 0.0

    def draw(self, rng: random.Random) -> float:
        if self.distribution == "uniform":
            return rng.uniform(self.low, self.high)
        if self.distribution == "normal":
            return max(0.0, rng.gauss(self.mean, self.stdev))
        return float(self.seconds or 0.0)


@dataclass(frozen=True)
class FaultRule:
    """One rule, checked (see the module docstring). ``index`` is 1-based, as messages name it."""

    index: int
    operation: str
    model: str | None = None
    error: str | None = None
    message: str | None = None
    latency: Latency | None = None
    rate: float | None = None
    calls: frozenset[int] | None = None
    times: int | None = None

    def matches(self, operation: str, params: Mapping[str, Any]) -> bool:
        if self.operation != "*" and self.operation != operation:
            return False
        if self.model is None:
            return True
        arn = _arn_of(params)
        return arn is not None and fnmatch.fnmatchcase(arn, self.model)


def _arn_of(params: Any) -> str | None:
    if not isinstance(params, Mapping):
        return None
    for name in _ARN_MEMBERS:
        value = params.get(name)
        if isinstance(value, str):
            return value
    return None


@dataclass
class _Counter:
    matched: int = 0
    fired: int = 0


class FaultRules:
    """Checked fault rules and their counters; :attr:`layer` applies them around a core's calls
    (``core.add_layer(rules.layer)``). Thread-safe: the endpoint answers from many threads."""

    def __init__(
        self,
        rules: list[FaultRule],
        *,
        origin: str = "fault rules",
        seed: int = 0,
        clock: Any = None,
    ) -> None:
        self.rules = tuple(rules)
        self.origin = origin
        self.seed = seed
        #: Whether a clock was given (else the backend that takes the rules gives its core's).
        self.has_clock = clock is not None
        #: How latency is waited for: the clock's ``sleep`` (a ManualClock's advances, no real wait).
        self.sleep: Callable[[float], None] = clock.sleep if clock is not None else time.sleep
        self._lock = threading.Lock()
        self._counters: list[_Counter] = []
        self._rngs: list[random.Random] = []
        self.reset()
        #: The layer for ``core.add_layer`` (one object, so ``remove_layer(rules.layer)`` finds it).
        self.layer = self._apply

    # -- reading ------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str], *, seed: int | None = None, clock: Any = None) -> FaultRules:
        """The rules in the JSON file ``path``; a bad file is one :class:`RclsimError` naming it."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise RclsimError(f"fault rules file {file} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise RclsimError(f"fault rules file {file} cannot be read: {exc}") from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise RclsimError(f"fault rules file {file} is not valid JSON: {exc}") from None
        return cls.from_data(data, origin=str(file), seed=seed, clock=clock)

    @classmethod
    def from_data(
        cls,
        data: list[dict[str, Any]] | dict[str, Any],
        *,
        origin: str = "fault rules",
        seed: int | None = None,
        clock: Any = None,
    ) -> FaultRules:
        """Rules from parsed JSON (a list of rules, or ``{"seed": N, "rules": [...]}``). A bad rule is
        one :class:`RclsimError`: ``faults.json: rule 2, field 'rate': 1.5 is greater than ...``."""
        _check_schema(data, origin)
        raw_rules = data["rules"] if isinstance(data, dict) else data
        file_seed = data.get("seed") if isinstance(data, dict) else None
        rules = [_rule(i, raw, origin) for i, raw in enumerate(raw_rules, start=1)]
        chosen = seed if seed is not None else file_seed if file_seed is not None else 0
        return cls(rules, origin=origin, seed=int(chosen), clock=clock)

    # -- counters -----------------------------------------------------------------------------------
    def reset(self) -> None:
        """Counters back to zero and the generators back to the seed's start."""
        with self._lock:
            self._counters = [_Counter() for _ in self.rules]
            self._rngs = [random.Random(f"rclsim-faults:{self.seed}:{r.index}") for r in self.rules]

    def matched(self, index: int) -> int:
        """How many calls rule ``index`` (1-based) matched."""
        return self._counters[index - 1].matched

    def fired(self, index: int | None = None) -> int:
        """How many faults rule ``index`` (1-based) caused; all rules' when None."""
        if index is None:
            return sum(c.fired for c in self._counters)
        return self._counters[index - 1].fired

    def use_clock(self, clock: Any) -> None:
        """Sleep latency on ``clock`` (a backend gives its core's clock to rules made without one)."""
        self.sleep = clock.sleep
        self.has_clock = True

    # -- the layer ----------------------------------------------------------------------------------
    def _apply(
        self,
        operation: str,
        params: Mapping[str, Any],
        region: str | None,
        *,
        answer: Callable[[str, Mapping[str, Any], str | None], dict[str, Any]],
    ) -> dict[str, Any]:
        delay, failing = self._decide(operation, params)
        if delay > 0:
            self.sleep(delay)
        if failing is not None:
            raise service_error(failing.error or "InternalServerError", self._message(failing), operation)
        return answer(operation, params, region)

    def _decide(self, operation: str, params: Mapping[str, Any]) -> tuple[float, FaultRule | None]:
        """The latency to add and the rule whose error fails this call (None: answer it)."""
        delay = 0.0
        failing: FaultRule | None = None
        with self._lock:
            for i, rule in enumerate(self.rules):
                if not rule.matches(operation, params):
                    continue
                if rule.error is not None and operation not in _operations_listing(rule.error):
                    continue  # an "*" rule: this operation cannot raise the code
                counter = self._counters[i]
                counter.matched += 1
                if rule.times is not None and counter.fired >= rule.times:
                    continue
                if rule.calls is not None:
                    hit = counter.matched in rule.calls
                elif rule.rate is not None:
                    hit = self._rngs[i].random() < rule.rate
                else:
                    hit = True
                if not hit:
                    continue
                if rule.error is not None and failing is not None:
                    continue  # an earlier rule fails this call already
                counter.fired += 1
                if rule.latency is not None:
                    delay += rule.latency.draw(self._rngs[i])
                if rule.error is not None:
                    failing = rule
        return delay, failing

    def _message(self, rule: FaultRule) -> str:
        if rule.message is not None:
            return rule.message
        base = _DEFAULT_MESSAGES.get(rule.error or "", rule.error or "")
        return f"{base} (rclsim fault rule {rule.index} of {self.origin})"

    def __repr__(self) -> str:
        return f"FaultRules({len(self.rules)} rules from {self.origin}, seed {self.seed})"


# -- checking -------------------------------------------------------------------------------------
def _ordinal_path(path: list[Any], origin: str) -> str:
    """``faults.json: rule 2, field 'rate'`` for a schema error at ``[1, 'rate']`` (or under ``rules``)."""
    parts = list(path)
    if parts and parts[0] == "rules":
        parts = parts[1:]
        if not parts:
            return f"{origin}: field 'rules'"
    if parts and isinstance(parts[0], int):
        where = f"{origin}: rule {parts[0] + 1}"
        rest = ".".join(str(p) for p in parts[1:])
        return f"{where}, field '{rest}'" if rest else where
    if parts:
        return f"{origin}: field '{'.'.join(str(p) for p in parts)}'"
    return origin


def _check_schema(data: Any, origin: str) -> None:
    """Judge ``data`` against the schema's branch it is meant for (a list, or the object form), so
    the message is that branch's deepest error, not oneOf's "is not valid under any"."""
    import jsonschema

    from rclsim.service.schemas import _load

    full = _load("faults.schema.json")
    if isinstance(data, list):
        branch = full["oneOf"][0]
    elif isinstance(data, dict):
        branch = full["oneOf"][1]
    else:
        raise RclsimError(f'{origin}: fault rules must be a list of rules or {{"rules": [...]}}')
    schema = {k: v for k, v in full.items() if k != "oneOf"} | branch
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(data))
    if errors:
        leaf = _deepest(errors)
        raise RclsimError(f"{_ordinal_path(list(leaf.absolute_path), origin)}: {leaf.message}")


def _deepest(errors: list[Any]) -> Any:
    best = None
    stack = list(errors)
    while stack:
        err = stack.pop()
        if err.context:
            stack.extend(err.context)
            continue
        if best is None or len(err.absolute_path) > len(best.absolute_path):
            best = err
    return best


def _operations_listing(code: str) -> frozenset[str]:
    return _LISTING.get(code) or _listing(code)


_LISTING: dict[str, frozenset[str]] = {}


def _listing(code: str) -> frozenset[str]:
    ops = frozenset(op for op in OPERATIONS if code in allowed_errors(op))
    _LISTING[code] = ops
    return ops


def _rule(index: int, raw: Mapping[str, Any], origin: str) -> FaultRule:
    where = f"{origin}: rule {index}"
    operation = raw["operation"]
    if operation != "*" and operation not in OPERATIONS:
        raise RclsimError(
            f"{where}, field 'operation': {operation!r} is not an operation rclsim fakes "
            f"(use '*' or one of: {', '.join(OPERATIONS)})"
        )
    error = raw.get("error")
    latency_data = raw.get("latency")
    if error is None and latency_data is None:
        raise RclsimError(f"{where}: give an 'error' (a code) or a 'latency' (or both)")
    if error is not None:
        if operation == "*":
            if not _operations_listing(error):
                raise RclsimError(
                    f"{where}, field 'error': no operation rclsim fakes can raise {error!r} "
                    f"(botocore's model lists it for none); fault codes: {', '.join(FAULT_CODES)}"
                )
        elif error not in allowed_errors(operation):
            raise RclsimError(
                f"{where}, field 'error': {operation} cannot raise {error!r} (botocore's model lists: "
                f"{', '.join(sorted(allowed_errors(operation)))})"
            )
    elif "message" in raw:
        raise RclsimError(f"{where}, field 'message': a message needs an 'error'")
    latency = _latency(latency_data, where) if latency_data is not None else None
    if "rate" in raw and "calls" in raw:
        raise RclsimError(f"{where}: give 'rate' or 'calls', not both")
    calls = raw.get("calls")
    return FaultRule(
        index=index,
        operation=operation,
        model=raw.get("model"),
        error=error,
        message=raw.get("message"),
        latency=latency,
        rate=float(raw["rate"]) if "rate" in raw else None,
        calls=frozenset(calls) if calls is not None else None,
        times=raw.get("times"),
    )


def _latency(data: Mapping[str, Any], where: str) -> Latency:
    distribution = data.get("distribution")
    keys = set(data) - {"distribution"}
    wanted = {None: {"seconds"}, "uniform": {"low", "high"}, "normal": {"mean", "stdev"}}[distribution]
    if keys != wanted:
        shown = "a fixed latency" if distribution is None else f"distribution {distribution!r}"
        need = ", ".join(f"'{k}'" for k in sorted(wanted))
        raise RclsimError(f"{where}, field 'latency': {shown} takes {need} (got {sorted(keys) or 'none'})")
    if distribution == "uniform" and data["low"] > data["high"]:
        raise RclsimError(f"{where}, field 'latency': low {data['low']} is above high {data['high']}")
    return Latency(
        seconds=float(data["seconds"]) if "seconds" in data else None,
        distribution=distribution,
        low=float(data.get("low", 0.0)),
        high=float(data.get("high", 0.0)),
        mean=float(data.get("mean", 0.0)),
        stdev=float(data.get("stdev", 0.0)),
    )
