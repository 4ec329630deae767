"""The call history: every call the core answered, with what it asked and what it got.

A :class:`CallHistory` is a layer around the core's one way in (``core.add_layer(history.layer)``),
so it sees the calls of every front-end (the Backend API, the boto3 drop-in, ``rclsim serve``, the CLI,
the pytest plugin's ``rcl_calls`` fixture). Tests then assert on them as aws-sdk-client-mock's users do
in JavaScript::

    assert history.count("DetectCustomLabels", MinConfidence=75) == 2

Choices (documented in docs/guardrails.md):

* Parameters and responses are stored as deep copies, taken when the call returns: a caller that
  mutates its request or its answer afterwards does not change the history, and ``calls`` hands out
  copies again, so an assertion cannot change it either.
* Image bytes (``Image.Bytes``, up to 4 MiB a call) are not kept: each is stored as an
  :class:`ImageBytes` (its size and SHA-256), which compares equal to the same bytes, so
  ``count(Image={"Bytes": data})`` still works.
* ``count``/``of`` match a parameter subset: every given member must be present and equal; a dict
  given matches a dict holding at least its members (recursively); a list must be equal.
* A service error is kept by its code (``error_code``, ``error_message``), anything else a layer or the
  core raised by its class name; either way the call is recorded and the exception goes on unchanged.
* Bounded: at most ``max_calls`` (default :attr:`CallHistory.DEFAULT_MAX_CALLS`, 10,000); past it the
  oldest calls are dropped and counted in ``dropped``. Thread-safe (``rclsim serve`` answers
  concurrent clients).
* The history records what the caller saw: added as the outermost layer (the pytest plugin keeps it
  outermost), it sees the errors of fault rules too.
* An operation name no call can have (``"DetectCustomLabel"``) is an error rather than a silent zero;
  boto3's method names (``"detect_custom_labels"``) name the same operation.
"""

from __future__ import annotations

import collections
import copy
import hashlib
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rclsim.service.apimodel import OPERATIONS
from rclsim.service.errors import RclsimError

__all__ = ["Call", "CallHistory", "ImageBytes"]

Answer = Callable[[str, Mapping[str, Any], "str | None"], dict[str, Any]]


@dataclass(frozen=True)
class ImageBytes:
    """Image bytes as the history keeps them: their size and SHA-256 (the bytes are not kept).
    Equal to bytes with the same hash."""

    size: int
    sha256: str

    @classmethod
    def of(cls, data: bytes | bytearray | memoryview) -> ImageBytes:
        raw = bytes(data)
        return cls(len(raw), hashlib.sha256(raw).hexdigest())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (bytes, bytearray, memoryview)):
            other = ImageBytes.of(other)
        if isinstance(other, ImageBytes):
            return (self.size, self.sha256) == (other.size, other.sha256)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.sha256)

    def __repr__(self) -> str:
        return f"<image bytes: {self.size} bytes, sha256 {self.sha256[:12]}...>"


@dataclass(frozen=True)
class Call:
    """One call: the operation (its API name), the parameters, and either the response or the error."""

    operation: str
    params: dict[str, Any]
    response: dict[str, Any] | None
    error_code: str | None
    region: str | None
    error_message: str | None = None


def _stored(value: Any) -> Any:
    """A deep copy with every bytes value replaced by its :class:`ImageBytes`."""
    if isinstance(value, Mapping):
        return {k: _stored(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_stored(v) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return ImageBytes.of(value)
    if isinstance(value, (str, int, float, bool, type(None), ImageBytes)):
        return value
    return copy.deepcopy(value)  # datetimes and whatever else a response holds


def _matches(got: Any, wanted: Any) -> bool:
    if isinstance(wanted, Mapping):
        return isinstance(got, Mapping) and all(k in got and _matches(got[k], v) for k, v in wanted.items())
    if isinstance(wanted, (bytes, bytearray, memoryview)) and isinstance(got, ImageBytes):
        return got == wanted
    return bool(got == wanted)


_BY_METHOD = {method: name for name, method in OPERATIONS.items()}


class CallHistory:
    """The calls a core answered (add ``history.layer`` to it with ``core.add_layer``)."""

    DEFAULT_MAX_CALLS = 10_000

    def __init__(self, max_calls: int = DEFAULT_MAX_CALLS) -> None:
        if max_calls < 1:
            raise ValueError("max_calls must be at least 1")
        self.max_calls = max_calls
        self._calls: collections.deque[Call] = collections.deque(maxlen=max_calls)
        self._dropped = 0
        self._lock = threading.Lock()
        #: The layer to add to a core; one object, so that ``core.remove_layer(history.layer)`` finds it.
        self.layer = self._layer

    # -- recording ---------------------------------------------------------------------------------
    def _layer(
        self, operation: str, params: Mapping[str, Any], region: str | None, *, answer: Answer
    ) -> dict[str, Any]:
        try:
            response = answer(operation, params, region)
        except Exception as exc:
            error = getattr(exc, "response", None)
            info = error.get("Error", {}) if isinstance(error, dict) else {}
            code = info.get("Code") or type(exc).__name__
            self.record(operation, params, None, code, region, info.get("Message") or str(exc))
            raise
        self.record(operation, params, response, None, region)
        return response

    def record(
        self,
        operation: str,
        params: Mapping[str, Any],
        response: Mapping[str, Any] | None,
        error_code: str | None,
        region: str | None,
        error_message: str | None = None,
    ) -> None:
        """Keep one call (copies of ``params`` and ``response``). The layer calls this; so does the
        pytest plugin for calls to live AWS, where there is no core."""
        call = Call(
            operation,
            _stored(params),
            None if response is None else _stored(response),
            error_code,
            region,
            error_message,
        )
        with self._lock:
            if len(self._calls) == self.max_calls:
                self._dropped += 1
            self._calls.append(call)

    # -- reading ----------------------------------------------------------------------------------
    @property
    def calls(self) -> list[Call]:
        """The calls kept, oldest first (copies: changing them changes nothing here)."""
        with self._lock:
            kept = list(self._calls)
        return [copy.deepcopy(c) for c in kept]

    @property
    def dropped(self) -> int:
        """How many of the oldest calls were dropped to stay within ``max_calls``."""
        return self._dropped

    def _name(self, operation: str) -> str:
        if operation in OPERATIONS:
            return operation
        if operation in _BY_METHOD:
            return _BY_METHOD[operation]
        with self._lock:
            if any(c.operation == operation for c in self._calls):
                return operation
        import difflib

        close = difflib.get_close_matches(operation, list(OPERATIONS) + list(_BY_METHOD), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        raise RclsimError(f"no Rekognition Custom Labels operation is called {operation!r}{hint}")

    def of(self, operation: str) -> list[Call]:
        """The calls of ``operation`` (``"DetectCustomLabels"`` or ``"detect_custom_labels"``)."""
        name = self._name(operation)
        return [c for c in self.calls if c.operation == name]

    def count(self, operation: str | None = None, **params_subset: Any) -> int:
        """How many calls (of ``operation``, if given) had every parameter in ``params_subset``."""
        name = self._name(operation) if operation is not None else None
        with self._lock:
            kept = list(self._calls)
        return sum(
            1 for c in kept if (name is None or c.operation == name) and _matches(c.params, params_subset)
        )

    def clear(self) -> None:
        """Forget every call (and the dropped count)."""
        with self._lock:
            self._calls.clear()
            self._dropped = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def __repr__(self) -> str:
        return f"<CallHistory: {len(self)} calls, {self._dropped} dropped>"
