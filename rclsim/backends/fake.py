"""Local fake backends: the fake core behind the Backend interface.

The backend plays the part of botocore's client: it runs botocore's own client-side parameter
validation (so ``MinConfidence=-1`` raises ``ParamValidationError`` exactly as with boto3), then hands
the call to the core, which plays the service.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from rclsim.backends.base import Backend, Progress, WaitFailed
from rclsim.fake.clock import Clock
from rclsim.fake.core import FakeRekognition, ReplaySource
from rclsim.fake.cost import Bill, PriceTable
from rclsim.fake.declarations import Declarations
from rclsim.fake.faults import FaultRules
from rclsim.fake.objects import ObjectStore
from rclsim.fake.recordings import PixelHasher, RecordingStore, parse_match
from rclsim.fake.state import StateStore
from rclsim.service.apimodel import OPERATIONS
from rclsim.service.constraints import client_side_check, parameters_ok
from rclsim.service.errors import RecordingError

__all__ = ["FakeBackend", "ReplayBackend"]


def fake_core(
    source: Any,
    declaration_dirs: Iterable[Path],
    *,
    state_dir: str | os.PathLike[str] | None,
    clock: Clock | None,
    time_scale: float,
    strict: bool,
    prices: PriceTable | None,
    objects: ObjectStore | None = None,
    pixels: PixelHasher | None = None,
    match_hint: Callable[[str], str] | None = None,
    default_answer: bool = False,
) -> FakeRekognition:
    """The fake core over ``source``, knowing the models declared in ``declaration_dirs``, reading
    and writing S3 objects through ``objects`` (see :mod:`rclsim.fake.objects`; None: no S3), with
    ``pixels`` the opt-in pixel match's hasher for the versions it trains."""
    return FakeRekognition(
        source,
        declarations=Declarations.load(declaration_dirs),
        state=StateStore(state_dir),
        clock=clock,
        time_scale=time_scale,
        strict=strict,
        prices=prices,
        objects=objects,
        pixels=pixels,
        match_hint=match_hint,
        default_answer=default_answer,
    )


class FakeBackend(Backend):
    """A Backend over a :class:`~rclsim.fake.core.FakeRekognition`."""

    name = "fake"

    def __init__(self, core: FakeRekognition, *, region: str | None = None):
        self.core = core
        #: The region this backend asks as, like a boto3 client's; None answers every region's models.
        self.region = region
        #: Fault rules in force (:meth:`add_faults`). While any are, the boto3 drop-in answers at
        #: botocore's ``before-send`` so its retry handler sees every attempt (rclsim.frontends.dropin).
        self.fault_rules: tuple[FaultRules, ...] = ()

    def add_faults(self, rules: FaultRules) -> FaultRules:
        """Apply fault rules to every call into this fake (a layer around its core), sleeping their
        latency on the core's clock unless they were given a clock of their own. Returns ``rules``."""
        if not rules.has_clock:
            rules.use_clock(self.core.clock)
        if rules not in self.fault_rules:
            self.core.add_layer(rules.layer)
            self.fault_rules = (*self.fault_rules, rules)
        return rules

    def remove_faults(self, rules: FaultRules) -> None:
        """Stop applying ``rules`` (their counters keep what they counted)."""
        self.core.remove_layer(rules.layer)
        self.fault_rules = tuple(r for r in self.fault_rules if r is not rules)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Encode as botocore's client would (its client-side check; a text or file ``Bytes`` as the
        bytes it sends), then hand the call to the core, the one way into the fake."""
        sent = _as_sent(params)
        if operation in OPERATIONS and not parameters_ok(operation, sent):
            client_side_check(operation, params)
        try:
            return self.core.call(operation, sent, region=self.region)
        except ClientError as exc:
            # The service read a null member as absent; botocore's client refuses None before sending.
            if exc.response.get("Error", {}).get("Code") in _PARAMETER_ERRORS and operation in OPERATIONS:
                client_side_check(operation, params)
            raise

    @property
    def clock(self) -> Clock:
        return self.core.clock

    @property
    def time_scale(self) -> float:
        return self.core.lifecycle.time_scale

    def _sleep(self, seconds: float) -> None:
        self.core.clock.sleep(seconds)

    def _now(self) -> float:
        return self.core.clock.now()

    def wait_for_status(
        self,
        project_arn: str,
        version_name: str,
        until: Collection[str],
        *,
        fail: Collection[str] = (),
        progress: Progress | None = None,
        max_attempts: int | None = None,
    ) -> str:
        """Wait as long as the version's pending transition takes, whatever time scale it was started
        at (the state says when it completes), reporting at least every 30 s; a version with nothing
        pending that is not in ``until`` will never get there: ``WaitFailed`` at once."""
        started = self._now()
        while True:
            status = self._poll(project_arn, version_name, until, fail, progress, started)
            if status in until:
                return str(status)
            ready_at = self.core.lifecycle.ready_at(self._arn_of(project_arn, version_name))
            if not ready_at:
                raise WaitFailed(
                    f"{version_name} is {status} and will not become {'/'.join(until)} by itself", status
                )
            self._sleep(min(max(ready_at - self._now(), 0.0) + 0.001, 30.0))

    def _arn_of(self, project_arn: str, version_name: str) -> str:
        found = self.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
        return str(found["ProjectVersionDescriptions"][0]["ProjectVersionArn"])

    @property
    def prices(self) -> PriceTable:
        return self.core.prices

    def bill(self) -> Bill:
        """What the fake's models would have cost so far (see :mod:`rclsim.fake.cost`)."""
        return self.core.bill()

    def close(self) -> None:
        self.core.lifecycle.state.close()


#: The core's answers to parameters that botocore's client may have refused before sending.
_PARAMETER_ERRORS = frozenset({"InvalidParameterException", "ValidationException", "SerializationException"})


def _as_sent(params: dict[str, Any]) -> dict[str, Any]:
    """The parameters as botocore's serializer would send them: an ``Image.Bytes`` given as text is
    sent as its UTF-8 bytes, one given as a file object as what ``read()`` returns."""
    image = params.get("Image")
    if not isinstance(image, dict) or "Bytes" not in image:
        return params
    blob = image["Bytes"]
    if isinstance(blob, str):
        blob = blob.encode("utf-8")
    elif hasattr(blob, "read"):
        blob = blob.read()
    return {**params, "Image": {**image, "Bytes": blob}}


class ReplayBackend(FakeBackend):
    """Answers from recorded responses (see :mod:`rclsim.fake.recordings`); knows the models declared in
    ``models.json`` beside them, and keeps their state in ``state_dir`` (default: in memory); reads
    and writes S3 objects through ``objects`` (see :mod:`rclsim.fake.objects`).

    ``match`` is how a request finds its recording (``"sha256"``, the default; ``"pixels"``,
    ``"default"`` or ``"pixels,default"`` switch on the fallbacks for re-encoded images: see
    :mod:`rclsim.fake.recordings.store`). The pixel match gets its perceptual hasher
    (:data:`rclsim.data.phash.PHASH`) from here, as the fake may not import OpenCV; it is imported
    only when ``match`` names ``pixels``, so the default costs no OpenCV import. ``match_hint(value)``
    says how the user sets ``match`` to ``value`` in the front-end they used (the not-found message
    suggests it; :func:`rclsim.config.example`)."""

    name = "replay"

    def __init__(
        self,
        recordings: Iterable[str | os.PathLike[str]] = (),
        *,
        include_builtin: bool = True,
        strict: bool = False,
        time_scale: float = 0.0,
        state_dir: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        prices: PriceTable | None = None,
        region: str | None = None,
        objects: ObjectStore | None = None,
        match: str = "sha256",
        match_hint: Callable[[str], str] | None = None,
    ) -> None:
        pixels = _pixel_hasher(match)
        self.store = RecordingStore(
            recordings,
            include_builtin=include_builtin,
            match=match,
            pixels=pixels,
            match_hint=match_hint,
        )
        super().__init__(
            fake_core(
                ReplaySource(self.store),
                self.store.dirs,
                state_dir=state_dir,
                clock=clock,
                time_scale=time_scale,
                strict=strict,
                prices=prices,
                objects=objects,
                pixels=pixels,
                match_hint=match_hint,
                default_answer="default" in self.store.match,
            ),
            region=region,
        )


def _pixel_hasher(match: str) -> PixelHasher | None:
    """The perceptual hasher when ``match`` names the pixel match (a bad ``match`` is the store's
    error), else None: OpenCV is imported only by those who match pixels."""
    try:
        wanted = "pixels" in parse_match(match)
    except RecordingError:  # the store says what is wrong with it
        return None
    if not wanted:
        return None
    from rclsim.data.phash import PHASH

    return PHASH
