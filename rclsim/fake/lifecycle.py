"""The model lifecycle: statuses, transitions, the errors of a wrong state, and Describe* output.

Statuses and transitions follow botocore's model and the fact sheet::

    StartProjectVersion  TRAINING_COMPLETED | STOPPED | FAILED -> STARTING -> RUNNING (or FAILED)
    StopProjectVersion   RUNNING -> STOPPING -> STOPPED
    DetectCustomLabels   only RUNNING answers; any other status: ResourceNotReadyException

Transitions are stored as "status X, becoming Y at time T" and resolved when read, so several
processes sharing a state file agree on a model's status without any of them running a timer. Each
duration is the declared one (start 600 s, stop 60 s by default) times the time scale.

Choices where the service's behaviour is unverified ([U]), documented in the README:

* start while STARTING, RUNNING or STOPPING, and stop in any status but RUNNING (STARTING included)
  raise ``ResourceInUseException``; start of a version whose training failed raises
  ``InvalidParameterException``;
* ``MaxInferenceUnits`` below ``MinInferenceUnits`` raises ``InvalidParameterException``;
* billing counts RUNNING time only (not STARTING or STOPPING), for versions started through rclsim.

Capacity (opt-in, :mod:`rclsim.fake.capacity`): :meth:`Lifecycle.admit` counts a DetectCustomLabels call
against the version's meter and refuses it with ``ProvisionedThroughputExceededException`` over what
its units serve. Auto-scaling changes are written to the cost meter's usage rows as they fall due (the
open row is closed at the change and a new one opened with the new unit count), so the bill is the
integral of the units in service over time; ``MinInferenceUnits``/``MaxInferenceUnits`` stay as
started. A version with no open usage row (declared RUNNING, never started here) is not billed, and
its scaling changes only its meter.

What DescribeProjectVersions says about a version's training
------------------------------------------------------------

A version that trained (``TRAINING_COMPLETED`` and every later status: ``STARTING``, ``RUNNING``,
``STOPPING``, ``STOPPED``, ``FAILED``, ...) is described with the members the service returns and
botocore's model shapes: ``CreationTimestamp``, ``TrainingEndTimestamp``,
``BillableTrainingTimeInSeconds``, ``OutputConfig``, ``TrainingDataResult`` and ``TestingDataResult``
(``Input``, ``Output``, ``Validation``), ``ManifestSummary``, ``EvaluationResult`` (``F1Score``,
``Summary.S3Object``) and, once started, ``MinInferenceUnits``/``MaxInferenceUnits``. A version that
never trained (``TRAINING_IN_PROGRESS``, ``TRAINING_FAILED``) has no ``EvaluationResult``, no
``BillableTrainingTimeInSeconds``, no ``TrainingEndTimestamp`` and no training output; it keeps
``OutputConfig`` and the ``Input`` of its data, and a failed one its ``ManifestSummary`` (the validation
summary) [U].

Values come from the version's ``models.json`` declaration (keys in :mod:`rclsim.fake.declarations`, named
as the API names them). Whatever is not declared is INVENTED by rclsim from the version ARN
``arn:aws:rekognition:<region>:<account>:project/<project>/version/<version>/<ms>``:

* ``OutputConfig``: bucket ``rclsim-output-<account>``, prefix ``<project>/``;
* files the service writes under the output location (``<prefix>`` joined with ``/`` when it does not
  end in one), named as in AWS's own DescribeProjectVersions example:
  ``EvaluationResultSummary-<project>-<version>.json`` (``EvaluationResult.Summary``),
  ``ManifestSummary-…``, ``TrainingGroundTruth-…``, ``TrainingManifestWithValidation-…``,
  ``TestingGroundTruth-…``, ``TestingManifestWithValidation-…``;
* the training and testing ``Input`` manifests: bucket ``rclsim-datasets-<account>``, keys
  ``<project>/train.manifest`` and ``<project>/test.manifest`` (testing ``AutoCreate`` false);
* ``F1Score`` 0.0: a placeholder, not a measurement (declare the real one in models.json);
* ``BillableTrainingTimeInSeconds`` 0 when ``TrainingSeconds`` is not declared (the cost meter bills
  no training for it either), and ``TrainingEndTimestamp`` = ``CreationTimestamp`` + that time;
* ``CreationTimestamp``: the ARN's trailing number read as epoch milliseconds;
* ``MinInferenceUnits`` 1 for a version declared ``RUNNING`` without it.

None of these buckets or objects exists anywhere; they only let code that reads the members run.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from rclsim.fake.capacity import (
    DEFAULT_SCALE_DOWN_SECONDS,
    DEFAULT_SCALE_UP_SECONDS,
    DEFAULT_TPS_PER_INFERENCE_UNIT,
    THROTTLED_MESSAGE,
    Meter,
    Meters,
    Scaling,
)
from rclsim.fake.clock import Clock, utc
from rclsim.fake.declarations import Declarations, VersionDecl
from rclsim.fake.state import StateStore, Transaction, Usage, VersionState
from rclsim.service.apimodel import parse_version_arn
from rclsim.service.errors import service_error

__all__ = ["Lifecycle", "Catalog", "OutputFiles", "START_FROM", "STATUS_MESSAGES", "page"]

#: Statuses from which StartProjectVersion is accepted.
START_FROM = frozenset({"TRAINING_COMPLETED", "STOPPED", "FAILED", "COPYING_COMPLETED"})
#: Status messages the fake reports ([U]: the service's exact wording is not documented).
STATUS_MESSAGES = {
    "STARTING": "The model is being started.",
    "RUNNING": "The model is running.",
    "FAILED": "The model failed to start (rclsim: simulated failure).",
    "STOPPING": "The model is being stopped.",
    "STOPPED": "The model is stopped.",
    "TRAINING_IN_PROGRESS": "The model is being trained.",
    "TRAINING_COMPLETED": "The model is trained.",
    "COPYING_IN_PROGRESS": "The model is being copied.",
    "COPYING_COMPLETED": "The model is copied.",
}
#: Statuses of a version that has not (or not successfully) trained: no evaluation, nothing billed.
NEVER_TRAINED = frozenset({"TRAINING_IN_PROGRESS", "TRAINING_FAILED"})
_DEFAULT_PAGE = 100
#: The most inference units one start may ask for ([U]: the service's quota is per account and not in the
#: model; rclsim picks 100 and answers more with InvalidParameterException).
MAX_INFERENCE_UNITS = 100


class Catalog(Protocol):
    """Versions and projects made through the API (:mod:`rclsim.fake.controlplane`), which the
    lifecycle knows besides the declared ones and those recordings imply."""

    def version(self, arn: str) -> VersionDecl | None: ...

    def projects(self) -> dict[str, dt.datetime | None]: ...

    def settled(self, decl: VersionDecl, state: VersionState) -> VersionState: ...

    def stop_training(self, arn: str, op: str) -> dict[str, Any] | None:
        """StopProjectVersion of a version that is training: its answer, or None (not training)."""
        ...


class _NoCatalog:
    def version(self, arn: str) -> VersionDecl | None:
        return None

    def projects(self) -> dict[str, dt.datetime | None]:
        return {}

    def settled(self, decl: VersionDecl, state: VersionState) -> VersionState:
        return state

    def stop_training(self, arn: str, op: str) -> dict[str, Any] | None:
        return None


def _created(decl: VersionDecl) -> dt.datetime | None:
    if decl.created is not None:
        return decl.created
    parsed = parse_version_arn(decl.arn)
    if parsed and len(parsed.created_ms) >= 10:  # the ARN's trailing number looks like epoch ms
        try:
            return utc(int(parsed.created_ms) / 1000)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _arn_time(arn: str) -> dt.datetime:
    """[invented] A creation time for a version that declares none and whose ARN's number does not
    read as a plausible epoch-ms: that number anyway, or the epoch when it cannot be a time at all."""
    parsed = parse_version_arn(arn)
    try:
        return utc(int(parsed.created_ms) / 1000) if parsed else utc(0)
    except (OverflowError, OSError, ValueError):
        return utc(0)


def _copy(value: Any) -> Any:
    """A caller-safe copy of declared JSON data (None stays None)."""
    return None if value is None else json.loads(json.dumps(value))


class OutputFiles:
    """Where the service would have written a version's training output: the declared OutputConfig or
    rclsim's invented one, and the files named as in AWS's DescribeProjectVersions example."""

    def __init__(self, decl: VersionDecl) -> None:
        parsed = parse_version_arn(decl.arn)
        account = parsed.account if parsed else "000000000000"
        self.project = parsed.project if parsed else "project"
        self.version = decl.version_name
        self.account = account
        config = {"S3Bucket": f"rclsim-output-{account}", "S3KeyPrefix": f"{self.project}/"}  # [invented]
        config.update(_copy(decl.output_config) or {})
        self.config = config

    def s3_object(self, kind: str) -> dict[str, str]:
        prefix = self.config.get("S3KeyPrefix", "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return {
            "Bucket": self.config["S3Bucket"],
            "Name": f"{prefix}{kind}-{self.project}-{self.version}.json",
        }

    def asset(self, kind: str) -> dict[str, Any]:
        return {"S3Object": self.s3_object(kind)}

    def assets(self, kind: str) -> dict[str, Any]:
        return {"Assets": [{"GroundTruthManifest": self.asset(kind)}]}

    def data_result(self, declared: Mapping[str, Any] | None, which: str, trained: bool) -> dict[str, Any]:
        """``TrainingDataResult`` (which="Training") or ``TestingDataResult`` ("Testing"): the declared
        parts, the others invented; Output and Validation only once training has succeeded."""
        given = _copy(declared) or {}
        testing = which == "Testing"
        if "Input" in given:
            data_input = given["Input"]
        else:
            manifest = {  # [invented] the caller's manifest
                "Bucket": f"rclsim-datasets-{self.account}",
                "Name": f"{self.project}/{'test' if testing else 'train'}.manifest",
            }
            data_input = {"Assets": [{"GroundTruthManifest": {"S3Object": manifest}}]}
            if testing:
                data_input["AutoCreate"] = False
        out: dict[str, Any] = {"Input": data_input}
        if trained:
            output = given.get("Output") or self.assets(f"{which}GroundTruth")
            if testing and "Output" not in given:
                output["AutoCreate"] = bool(data_input.get("AutoCreate", False))
            out["Output"] = output
            out["Validation"] = given.get("Validation") or self.assets(f"{which}ManifestWithValidation")
        return out

    def evaluation(self, declared: Mapping[str, Any] | None) -> dict[str, Any]:
        """The declared EvaluationResult with any missing part filled in: the service always gives both
        the F1 score and the summary file's location for a trained version."""
        given = _copy(declared) or {}
        return {
            "F1Score": float(given.get("F1Score", 0.0)),  # [invented] 0.0 placeholder when not declared
            "Summary": given.get("Summary") or self.asset("EvaluationResultSummary"),
        }


def _query_key(query: Any) -> str:
    return hashlib.sha256(json.dumps(query, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _token(offset: int, query: Any) -> str:
    payload = json.dumps({"o": offset, "k": _query_key(query)})
    return base64.urlsafe_b64encode(payload.encode()).decode()


def page(items: list[Any], params: Mapping[str, Any], query: Any, op: str) -> tuple[list[Any], str | None]:
    """One page of ``items`` for ``MaxResults``/``NextToken``; tokens are tied to the query."""
    offset = 0
    token = params.get("NextToken")
    if token:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            offset = data["o"]
            valid = type(offset) is int and data["k"] == _query_key(query)
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid or not 0 <= offset <= len(items):
            raise service_error("InvalidPaginationTokenException", "Invalid pagination token.", op)
    size = params.get("MaxResults") or _DEFAULT_PAGE
    page = items[offset : offset + size]
    more = offset + size < len(items)
    return page, (_token(offset + size, query) if more else None)


def check_start(params: Mapping[str, Any], op: str = "StartProjectVersion") -> None:
    """StartProjectVersion's own rule on its numbers, which needs no model state: Max not below Min
    (``InvalidParameterException``). Also asked by a dry run before it quotes a price, whatever the
    backend (the service has this rule too; rclsim's unit limit is the fake's and stays in
    :meth:`Lifecycle.start`)."""
    min_iu = params.get("MinInferenceUnits")
    max_iu = params.get("MaxInferenceUnits")
    if max_iu is not None and min_iu is not None and max_iu < min_iu:
        raise service_error(
            "InvalidParameterException",
            f"Request has invalid parameters: MaxInferenceUnits ({max_iu}) must be greater than or "
            f"equal to MinInferenceUnits ({min_iu})",
            op,
        )


def _check_unit_limit(params: Mapping[str, Any], op: str) -> None:
    """rclsim's own limit on inference units ([U]: the service's quota is per account)."""
    for name in ("MinInferenceUnits", "MaxInferenceUnits"):
        units = params.get(name)
        if units is not None and units > MAX_INFERENCE_UNITS:
            raise service_error(
                "InvalidParameterException",
                f"Request has invalid parameters: {name} ({units}) is over rclsim's limit of "
                f"{MAX_INFERENCE_UNITS} inference units",
                op,
            )


class Lifecycle:
    """Model versions' statuses over a :class:`~rclsim.fake.state.StateStore`."""

    def __init__(
        self,
        declarations: Declarations,
        state: StateStore,
        *,
        clock: Clock,
        time_scale: float = 0.0,
        implied: Callable[[str], bool] = lambda arn: False,
    ) -> None:
        self.declarations = declarations
        self.state = state
        self.clock = clock
        self.time_scale = time_scale
        self._implied = implied
        # Versions that recordings imply, made once each (the detect path asks on every call).
        self._implied_decls: dict[str, VersionDecl] = {}
        #: Versions and projects made through the API (the control plane sets itself here).
        self.catalog: Catalog = _NoCatalog()
        #: Capacity for every version (``FakeRekognition(capacity=True)``), not only declared ones.
        self.capacity_all = False
        #: The capacity meters of versions whose capacity is on (:mod:`rclsim.fake.capacity`).
        self.meters = Meters()

    # -- which versions exist ----------------------------------------------------------------------
    def known(self, arn: str) -> VersionDecl | None:
        """The declaration of ``arn``, one implied by recordings, or None (ResourceNotFound)."""
        decl = self.declarations.versions.get(arn) or self._implied_decls.get(arn)
        if decl is not None:
            return decl
        decl = self.catalog.version(arn)
        if decl is not None:
            return decl
        if self._implied(arn):
            decl = self._implied_decls[arn] = self.declarations.implied(arn)
            return decl
        return None

    def _require(self, arn: str, op: str) -> VersionDecl:
        decl = self.known(arn)
        if decl is None:
            raise service_error(
                "ResourceNotFoundException",
                f"The project version {arn} does not exist. (rclsim: no models.json declares it and no "
                f"recording answers for it.)",
                op,
            )
        return decl

    # -- state ------------------------------------------------------------------------------------
    def _initial(self, decl: VersionDecl) -> VersionState:
        created = _created(decl)
        return VersionState(
            arn=decl.arn,
            status=decl.status,
            changed_at=created.timestamp() if created else self.clock.now(),
            status_message=decl.status_message,
            # [invented] 1 unit for a version declared RUNNING without MinInferenceUnits
            min_iu=(decl.min_inference_units or 1) if decl.status == "RUNNING" else None,
            max_iu=decl.max_inference_units if decl.status == "RUNNING" else None,
        )

    def _current(self, txn: Transaction, decl: VersionDecl) -> VersionState:
        """The version's state now, with due transitions applied (and saved)."""
        stored = txn.get(decl.arn)
        state = stored or self._initial(decl)
        now = self.clock.now()
        changed = False
        while state.next_status is not None and state.ready_at is not None and state.ready_at <= now:
            at = state.ready_at
            message = STATUS_MESSAGES.get(state.next_status)
            if state.next_status == "TRAINING_FAILED":
                message = decl.status_message or "The model failed to train."
            elif state.next_status == "TRAINING_COMPLETED" and decl.status_message:
                message = decl.status_message  # the training's own words ("The model is ready to run.")
            state = state.evolve(
                status=state.next_status,
                changed_at=at,
                next_status=None,
                ready_at=None,
                status_message=message,
            )
            if state.status == "RUNNING":
                txn.open_usage(decl.arn, at, state.min_iu or 1)
            state = self.catalog.settled(decl, state)
            changed = True
        if changed:
            txn.put(state)
        return state

    def current(self, txn: Transaction, decl: VersionDecl) -> VersionState:
        """The version's state now, inside the caller's transaction (due transitions applied)."""
        return self._current(txn, decl)

    def status(self, arn: str, op: str = "DescribeProjectVersions") -> VersionState:
        decl = self._require(arn, op)
        with self.state.transaction() as txn:
            return self._current(txn, decl)

    # -- operations -------------------------------------------------------------------------------
    def start(self, params: Mapping[str, Any], op: str = "StartProjectVersion") -> dict[str, Any]:
        _check_unit_limit(params, op)
        check_start(params, op)
        arn = params["ProjectVersionArn"]
        min_iu = params["MinInferenceUnits"]
        max_iu = params.get("MaxInferenceUnits")
        decl = self._require(arn, op)
        with self.state.transaction() as txn:
            state = self._current(txn, decl)
            if state.status == "TRAINING_FAILED":
                raise service_error(
                    "InvalidParameterException",
                    f"The project version {arn} failed to train and cannot be started.",
                    op,
                )
            if state.status not in START_FROM:
                raise service_error(
                    "ResourceInUseException",
                    f"The project version {arn} is {state.status} and cannot be started now.",
                    op,
                )
            now = self.clock.now()
            txn.put(
                state.evolve(
                    status="STARTING",
                    changed_at=now,
                    status_message=STATUS_MESSAGES["STARTING"],
                    next_status=decl.start_outcome,
                    ready_at=now + decl.start_seconds * self.time_scale,
                    min_iu=min_iu,
                    max_iu=max_iu,
                )
            )
        return {"Status": "STARTING"}

    def stop(self, params: Mapping[str, Any], op: str = "StopProjectVersion") -> dict[str, Any]:
        arn = params["ProjectVersionArn"]
        decl = self._require(arn, op)
        stopped = self.catalog.stop_training(arn, op)
        if stopped is not None:
            return stopped
        self._flush_meter(arn)  # scale changes due before the stop are billed first
        with self.state.transaction() as txn:
            state = self._current(txn, decl)
            if state.status != "RUNNING":
                raise service_error(
                    "ResourceInUseException",
                    f"The project version {arn} is {state.status}; only a RUNNING version can be stopped.",
                    op,
                )
            now = self.clock.now()
            txn.close_usage(arn, now)
            txn.put(
                state.evolve(
                    status="STOPPING",
                    changed_at=now,
                    status_message=STATUS_MESSAGES["STOPPING"],
                    next_status="STOPPED",
                    ready_at=now + decl.stop_seconds * self.time_scale,
                )
            )
        self.meters.forget(arn)
        return {"Status": "STOPPING"}

    def require_running(self, arn: str, op: str = "DetectCustomLabels") -> VersionDecl:
        decl = self._require(arn, op)
        state = self.state.settled(decl.arn)
        if state is not None:
            status = state.status
        elif self.state.never_stored(decl.arn):  # still as declared (a model recordings imply, say)
            status = decl.status
        else:
            with self.state.transaction() as txn:
                status = self._current(txn, decl).status
        if status != "RUNNING":
            raise service_error(
                "ResourceNotReadyException",
                f"The project version {arn} is not ready: its status is {status}. Start it with "
                f"StartProjectVersion and wait until it is RUNNING.",
                op,
            )
        return decl

    # -- capacity ---------------------------------------------------------------------------------
    def admit(self, decl: VersionDecl, op: str = "DetectCustomLabels") -> None:
        """Count one call on the RUNNING version ``decl``; over what its units serve in the last
        second, ``ProvisionedThroughputExceededException``."""
        meter = self._meter(decl)
        now = self.clock.now()
        served = meter.admit(now)
        if meter.changes:
            meter.flush(now, lambda changes: self._write_changes(decl.arn, changes))
        if not served:
            units = meter.units
            raise service_error(
                "ProvisionedThroughputExceededException",
                f"{THROTTLED_MESSAGE} (rclsim: {decl.arn} serves {meter.capacity} calls per second: "
                f"{units} inference unit{'' if units == 1 else 's'} in service x "
                f"{meter.scaling.tps_per_unit} per unit, over a one-second sliding window)",
                op,
            )

    def scaling(self, decl: VersionDecl) -> Scaling:
        """The version's declared capacity figures, with rclsim's defaults for what is not declared."""
        auto = decl.auto_scaling or {}
        return Scaling(
            tps_per_unit=decl.transactions_per_second or DEFAULT_TPS_PER_INFERENCE_UNIT,
            scale_up_seconds=int(auto.get("ScaleUpSeconds", DEFAULT_SCALE_UP_SECONDS)),
            scale_down_seconds=int(auto.get("ScaleDownSeconds", DEFAULT_SCALE_DOWN_SECONDS)),
        )

    def _meter(self, decl: VersionDecl) -> Meter:
        """The meter of the version's current run (a new one after a restart)."""
        arn = decl.arn
        state = self.state.settled(arn)
        if state is None:
            if self.state.never_stored(arn):
                state = None
            else:
                with self.state.transaction() as txn:
                    state = self._current(txn, decl)
        run: object = state.changed_at if state is not None else "declared"
        meter = self.meters.get(arn)
        if meter is not None and meter.run == run:
            return meter
        running = state if state is not None else self._initial(decl)

        def make() -> Meter:
            with self.state.transaction() as txn:
                open_rows = [u for u in txn.usage() if u.arn == arn and u.stopped_at is None]
            min_units = running.min_iu or 1
            units = open_rows[-1].inference_units if open_rows else min_units
            return Meter(
                run, units=units, min_units=min_units, max_units=running.max_iu, scaling=self.scaling(decl)
            )

        return self.meters.get_or_make(arn, run, make)

    def _write_changes(self, arn: str, changes: list[tuple[float, int]]) -> None:
        """Bill each scale change: close the open usage row at its time, open one with the new units."""
        with self.state.transaction() as txn:
            if not any(u.arn == arn and u.stopped_at is None for u in txn.usage()):
                return  # not billed here (declared RUNNING, never started through rclsim)
            for at, units in changes:
                txn.close_usage(arn, at)
                txn.open_usage(arn, at, units)

    def _flush_meter(self, arn: str) -> None:
        meter = self.meters.get(arn)
        if meter is not None:
            meter.flush(self.clock.now(), lambda changes: self._write_changes(arn, changes))

    def units_in_service(self, arn: str) -> int | None:
        """rclsim's figure (not an API member): the inference units serving the version now, None when
        it is not RUNNING. From the cost meter's open usage row (so a state folder shares it), else
        ``MinInferenceUnits``."""
        decl = self.known(arn)
        if decl is None:
            return None
        self._flush_meter(arn)
        with self.state.transaction() as txn:
            state = self._current(txn, decl)
            if state.status != "RUNNING":
                return None
            open_rows = [u for u in txn.usage() if u.arn == arn and u.stopped_at is None]
        return open_rows[-1].inference_units if open_rows else (state.min_iu or 1)

    # -- describe ---------------------------------------------------------------------------------
    def project_versions(self, project_arn: str) -> list[VersionDecl]:
        """Every version of the project: declared, made through the API, or touched via recordings."""
        return self._project_versions(project_arn)

    def project_arns(self) -> dict[str, dt.datetime | None]:
        """Every project (declared, made through the API, implied) with its creation time if known."""
        return self._project_arns()

    def _project_versions(self, project_arn: str) -> list[VersionDecl]:
        decls = {d.arn: d for d in self.declarations.versions_in(project_arn)}
        with self.state.transaction() as txn:
            stored = [s.arn for s in txn.all()]
        for arn in stored:
            if arn not in decls and Declarations.belongs(arn, project_arn):
                decl = self.known(arn)
                if decl is not None:
                    decls[arn] = decl
        return list(decls.values())

    def _project_arns(self) -> dict[str, dt.datetime | None]:
        projects: dict[str, dt.datetime | None] = {
            a: p.created for a, p in self.declarations.projects.items()
        }
        projects.update(self.catalog.projects())
        with self.state.transaction() as txn:
            stored = [s.arn for s in txn.all()]
        for arn in stored:
            if arn in self.declarations.versions:
                continue
            decl = self.known(arn)
            if decl is not None and not any(Declarations.belongs(arn, p) for p in projects):
                projects.setdefault(decl.project_arn, _created(decl))
        return projects

    def _describe(self, decl: VersionDecl, state: VersionState) -> dict[str, Any]:
        out: dict[str, Any] = {"ProjectVersionArn": decl.arn}
        created = _created(decl) or _arn_time(decl.arn)
        out["CreationTimestamp"] = created
        if state.min_iu is not None:
            out["MinInferenceUnits"] = state.min_iu
        if state.max_iu is not None:
            out["MaxInferenceUnits"] = state.max_iu
        out["Status"] = state.status
        if state.status_message:
            out["StatusMessage"] = state.status_message
        trained = state.status not in NEVER_TRAINED
        files = OutputFiles(decl)
        if trained:
            seconds = decl.training_seconds or 0  # [invented] 0: nothing declared, nothing billed
            out["BillableTrainingTimeInSeconds"] = int(round(seconds))
            out["TrainingEndTimestamp"] = created + dt.timedelta(seconds=seconds)
        out["OutputConfig"] = files.config
        out["TrainingDataResult"] = files.data_result(decl.training_data, "Training", trained)
        out["TestingDataResult"] = files.data_result(decl.testing_data, "Testing", trained)
        if trained or state.status == "TRAINING_FAILED":
            out["ManifestSummary"] = _copy(decl.manifest_summary) or files.asset("ManifestSummary")
        if trained:
            out["EvaluationResult"] = files.evaluation(decl.evaluation)
        if decl.description:
            out["VersionDescription"] = decl.description
        return out

    def describe_versions(
        self, params: Mapping[str, Any], op: str = "DescribeProjectVersions"
    ) -> dict[str, Any]:
        project_arn = params["ProjectArn"]
        if project_arn not in self._project_arns():
            raise service_error("ResourceNotFoundException", f"The project {project_arn} does not exist.", op)
        names: Sequence[str] | None = params.get("VersionNames")
        decls = [d for d in self._project_versions(project_arn) if names is None or d.version_name in names]
        rows = []
        with self.state.transaction() as txn:
            for decl in decls:
                rows.append(self._describe(decl, self._current(txn, decl)))
        epoch = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
        rows.sort(key=lambda r: (r.get("CreationTimestamp") or epoch, r["ProjectVersionArn"]), reverse=True)
        page_rows, token = page(rows, params, {"p": project_arn, "n": names}, op)
        out: dict[str, Any] = {"ProjectVersionDescriptions": page_rows}
        if token:
            out["NextToken"] = token
        return out

    def touched(self, arn: str) -> bool:
        """True when the version has state of its own (it was started, stopped or described)."""
        with self.state.transaction() as txn:
            return txn.get(arn) is not None

    def ready_at(self, arn: str) -> float | None:
        """When the version's pending transition completes (clock seconds), or None if none is pending."""
        decl = self.known(arn)
        if decl is None:
            return None
        with self.state.transaction() as txn:
            state = self._current(txn, decl)
        return state.ready_at if state.next_status is not None else None

    # -- for the cost meter and listings ----------------------------------------------------------
    def usage(self) -> list[Usage]:
        """Every stretch of RUNNING time so far (open ones have ``stopped_at`` None), a new stretch at
        each auto-scaling change."""
        for arn, _meter in self.meters.all():
            self._flush_meter(arn)
        with self.state.transaction() as txn:
            for stored in txn.all():
                decl = self.known(stored.arn)
                if decl is not None:
                    self._current(txn, decl)
            return txn.usage()

    def versions(self) -> list[tuple[VersionDecl, VersionState]]:
        """Every version the fake knows (declared, or touched through recordings) with its state."""
        with self.state.transaction() as txn:
            arns = list(self.declarations.versions) + [
                s.arn for s in txn.all() if s.arn not in self.declarations.versions
            ]
            out = []
            for arn in arns:
                decl = self.known(arn)
                if decl is not None:
                    out.append((decl, self._current(txn, decl)))
        return out
