"""Starting and stopping models safely, on any backend: what the CLI and ``running_model`` share.

The service's rules (which status may start, which errors) stay in the core and in AWS; this module is
the user's side of them. For the user, start and stop are idempotent: starting a model that is already
starting or running, or stopping one that is not running, is reported and succeeds, also when another
process's start or stop gets there first while this one waits; the Backend API underneath still raises
the service's exact errors. Parameters of the wrong form get the call's own error before anything else
is said. And whatever starts a billable model says what it costs per hour first
(:func:`rclsim.fake.cost.hourly_price`), and stops what it started.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rclsim.backends.base import Backend, Progress, WaitFailed
from rclsim.fake.cost import PriceTable, hourly_cost_text, hourly_price
from rclsim.fake.declarations import Declarations
from rclsim.service.apimodel import parse_version_arn
from rclsim.service.errors import RclsimError, is_error_code

__all__ = [
    "ModelRef",
    "resolve",
    "start_parameters",
    "check_start_parameters",
    "current_status",
    "start_model",
    "stop_model",
    "find_running",
    "running_model",
    "BILLING_STATUSES",
]

#: Statuses in which a model is (or is about to be) billed.
BILLING_STATUSES = ("STARTING", "RUNNING")

Say = Callable[[str], None]


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class ModelRef:
    """A model version with the project it belongs to (DescribeProjectVersions needs both)."""

    arn: str
    project_arn: str

    @property
    def version_name(self) -> str:
        parsed = parse_version_arn(self.arn)
        return parsed.version_name if parsed else self.arn


def start_parameters(
    arn: str, min_inference_units: int, max_inference_units: int | None = None
) -> dict[str, Any]:
    """StartProjectVersion's parameters, as the CLI and ``running_model`` send them."""
    params: dict[str, Any] = {"ProjectVersionArn": arn, "MinInferenceUnits": min_inference_units}
    if max_inference_units is not None:
        params["MaxInferenceUnits"] = max_inference_units
    return params


def check_start_parameters(params: dict[str, Any]) -> None:
    """Raise the error StartProjectVersion itself would raise for parameters of the wrong form, before
    any price is quoted or anything is called: botocore's client-side check (``ParamValidationError``:
    missing, wrong type, below a minimum), then the service's checks of the model's constraints
    (``ValidationException``: patterns, lengths, maxima), exactly as the fake core makes them
    (:func:`rclsim.service.constraints.require_valid`), and the start's own rules on its numbers (Max below
    Min: :func:`rclsim.fake.lifecycle.check_start`). Rules that need the model's state stay with the
    service."""
    from rclsim.fake.lifecycle import check_start
    from rclsim.service.constraints import client_side_check, require_valid

    client_side_check("StartProjectVersion", params)
    require_valid("StartProjectVersion", params)
    check_start(params)


def _require_version(backend: Backend, arn: str, project_arn: str, version_name: str) -> None:
    """The version exists: a typo in its name or number is told before any price is quoted."""
    found = backend.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    if not any(v.get("ProjectVersionArn") == arn for v in found.get("ProjectVersionDescriptions", [])):
        raise RclsimError(
            f"project {project_arn} has no version {arn} (DescribeProjectVersions found none for "
            f"{version_name!r}); check the version's name and number"
        )


def resolve(backend: Backend, arn: str) -> ModelRef:
    """Find the project of ``arn`` with DescribeProjects (a version ARN does not carry the project's
    own creation number), and the version in it with DescribeProjectVersions (both free calls)."""
    parsed = parse_version_arn(arn)
    if parsed is None:
        raise RclsimError(
            f"{arn!r} is not a project version ARN "
            "(arn:aws:rekognition:REGION:ACCOUNT:project/NAME/version/VERSION/NUMBER)"
        )
    pages = backend.get_paginator("describe_projects").paginate(ProjectNames=[parsed.project])
    for page in pages:
        for project in page.get("ProjectDescriptions", []):
            if Declarations.belongs(arn, project["ProjectArn"]):
                _require_version(backend, arn, project["ProjectArn"], parsed.version_name)
                return ModelRef(arn, project["ProjectArn"])
    region = getattr(backend, "region", None)
    if region and parsed.region != region:
        raise RclsimError(
            f"no project {parsed.project!r} holds {arn} in {region} (DescribeProjects found none): the "
            f"model is in {parsed.region}; give that region (--region {parsed.region}, region= in "
            f"Python, RCLSIM_REGION or AWS_DEFAULT_REGION={parsed.region} for the pytest plugin)"
        )
    raise RclsimError(f"no project {parsed.project!r} holds {arn} (DescribeProjects found none)")


def current_status(backend: Backend, model: ModelRef) -> str | None:
    found = backend.describe_project_versions(ProjectArn=model.project_arn, VersionNames=[model.version_name])
    descriptions = found.get("ProjectVersionDescriptions", [])
    return descriptions[0]["Status"] if descriptions else None


def _progress(say: Say) -> Progress:
    """Say each new status, and the same one again at most every 30 s of waiting (one line per poll
    against AWS, a quiet wait against a fast fake)."""
    last: dict[str, Any] = {"status": None, "at": 0.0}

    def report(status: str, waited: float) -> None:
        if status != last["status"] or waited - last["at"] >= 30:
            say(f"  {status} after {waited:.0f} s")
            last.update(status=status, at=waited)

    return report


@dataclass(frozen=True)
class Outcome:
    status: str | None
    changed: bool  # False: it was already in the wanted state (nothing called)
    message: str


def start_model(
    backend: Backend,
    model: ModelRef,
    *,
    min_inference_units: int = 1,
    max_inference_units: int | None = None,
    wait: bool = True,
    say: Say = _stderr,
    prices: PriceTable | None = None,
    announce: bool = True,
) -> Outcome:
    """Start ``model`` (checking the parameters, then saying its hourly cost, unless ``announce=False``
    because the caller has just shown it) and wait for RUNNING. Found already STARTING or RUNNING (a
    concurrent start got there first): said, and a success."""
    params = start_parameters(model.arn, min_inference_units, max_inference_units)
    check_start_parameters(params)  # the call's own error, before a price for a call that cannot happen
    prices = prices or PriceTable.load()
    if announce:
        say(hourly_cost_text(prices, model.arn, min_inference_units, max_inference_units))
    try:
        status = backend.start_project_version(**params).get("Status")
        changed = True
        say(f"StartProjectVersion accepted: {status}")
    except Exception as exc:
        if not is_error_code(exc, "ResourceInUseException"):
            raise
        status = current_status(backend, model)
        if status not in BILLING_STATUSES:
            raise
        changed = False
        say(f"{model.version_name} is already {status}")
    if wait and status != "RUNNING":
        say(f"waiting for {model.version_name} to be RUNNING (the service takes about ten minutes)")
        status = backend.wait_until_running(model.project_arn, model.version_name, progress=_progress(say))
    return Outcome(status, changed, f"{model.version_name} is {status}")


def stop_model(backend: Backend, model: ModelRef, *, say: Say = _stderr) -> Outcome:
    """Stop ``model``; while it is STARTING, wait for a stoppable status first. Found (or, after the
    wait, left by a concurrent stop) STOPPING or STOPPED, or not running: said, and a success."""
    status = current_status(backend, model)
    if status == "STARTING":
        say(f"{model.version_name} is STARTING; waiting until it can be stopped")
        try:
            status = backend.wait_until_running(
                model.project_arn, model.version_name, progress=_progress(say)
            )
        except WaitFailed as exc:
            status = exc.status or current_status(backend, model)
            if status in ("STOPPING", "STOPPED"):  # someone else stopped it while we waited: done
                return Outcome(
                    status,
                    False,
                    f"{model.version_name} is already {status} (stopped meanwhile by another "
                    "call): nothing to stop",
                )
            if status != "FAILED":  # still starting: it will be billed once it runs
                raise RclsimError(
                    f"{model.version_name} is still {status} after waiting and could not be stopped; it "
                    f"will be billed once RUNNING: stop it with "
                    f"'rclsim stop --project-version-arn {model.arn}'"
                ) from None
    if status != "RUNNING":
        return Outcome(status, False, f"{model.version_name} is already {status}: nothing to stop")
    try:
        status = backend.stop_project_version(ProjectVersionArn=model.arn).get("Status")
    except Exception as exc:
        if not is_error_code(exc, "ResourceInUseException"):
            raise
        status = current_status(backend, model)  # someone else stopped it meanwhile
        return Outcome(status, False, f"{model.version_name} is already {status}: nothing to stop")
    return Outcome(status, True, f"StopProjectVersion accepted: {model.version_name} is {status}")


def find_running(backend: Backend, prices: PriceTable | None = None) -> list[dict[str, Any]]:
    """Every version the backend can see that is STARTING or RUNNING (billed), with its hourly cost
    (:func:`~rclsim.fake.cost.hourly_price`: the units in service, and with auto-scaling the most it can
    reach)."""
    prices = prices or PriceTable.load()
    found = []
    projects = backend.get_paginator("describe_projects").paginate().build_full_result()
    for project in projects.get("ProjectDescriptions", []):
        versions = backend.get_paginator("describe_project_versions").paginate(
            ProjectArn=project["ProjectArn"]
        )
        for desc in versions.build_full_result().get("ProjectVersionDescriptions", []):
            if desc["Status"] not in BILLING_STATUSES:
                continue
            units = desc.get("MinInferenceUnits") or 1
            price = hourly_price(
                units, desc.get("MaxInferenceUnits"), arn=desc["ProjectVersionArn"], prices=prices
            )
            row = {
                "ProjectVersionArn": desc["ProjectVersionArn"],
                "Status": desc["Status"],
                "MinInferenceUnits": units,
                "HourlyCost": round(price.hourly, 4),
                "Currency": prices.currency,
            }
            if price.max_units is not None and price.max_hourly is not None:
                row["MaxInferenceUnits"] = price.max_units
                row["MaxHourlyCost"] = round(price.max_hourly, 4)
            if price.note:
                row["PriceNote"] = price.note
            found.append(row)
    return found


@contextlib.contextmanager
def running_model(
    backend: Backend,
    arn: str,
    *,
    min_inference_units: int = 1,
    max_inference_units: int | None = None,
    say: Say = _stderr,
    prices: PriceTable | None = None,
) -> Iterator[ModelRef]:
    """Start ``arn``, wait until it is RUNNING, and always stop what was started.

    The stop runs on normal exit, on exceptions and on Ctrl-C, also when the model is still STARTING
    (it waits for a stoppable status first). A model that was already running when the block began is
    left running, and that is said. If stopping fails, that is said too, loudly: it may still be billed.
    """
    check_start_parameters(start_parameters(arn, min_inference_units, max_inference_units))
    model = resolve(backend, arn)
    started = False
    try:
        outcome = start_model(
            backend,
            model,
            min_inference_units=min_inference_units,
            max_inference_units=max_inference_units,
            wait=False,
            say=say,
            prices=prices,
        )
        started = outcome.changed
        if not started:
            say(f"{model.version_name} was already {outcome.status}; it will be left running")
        if outcome.status != "RUNNING":
            say(f"waiting for {model.version_name} to be RUNNING")
            backend.wait_until_running(model.project_arn, model.version_name, progress=_progress(say))
        yield model
    finally:
        if started:
            try:
                result = stop_model(backend, model, say=say)
                say(result.message)
            except BaseException as exc:
                say(
                    f"rclsim: FAILED TO STOP {model.arn}: {exc}. It may still be billed: stop it with "
                    f"'rclsim stop --project-version-arn {model.arn}'"
                )
                raise
