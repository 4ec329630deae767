"""The Backend interface: the Custom Labels operations with the real API's keyword arguments.

Code written against a Backend runs unchanged against a boto3 Rekognition client (and the other way
round): the same method names, the same keyword arguments, the same return shape (minus botocore's
``ResponseMetadata``), and the same exceptions: botocore's ``ParamValidationError`` for what botocore
checks on the client, ``ClientError`` with the service's code for everything else.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Collection
from typing import Any

from rclsim.service.errors import RclsimError

__all__ = ["Backend", "WaitFailed", "Progress"]

#: Called while waiting: ``(status, seconds waited)``.
Progress = Callable[[str, float], None]


class WaitFailed(RclsimError):
    """A wait ended in a failure status, or ran out of attempts."""

    def __init__(self, message: str, status: str | None):
        super().__init__(message)
        self.status = status


class Backend(abc.ABC):
    """One way of answering Custom Labels calls: a local fake, or real AWS."""

    #: The name :func:`rclsim.get_backend` knows this backend by.
    name: str = ""

    @abc.abstractmethod
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """Run one operation by its API name (``"DetectCustomLabels"``) with AWS-shaped params."""

    def detect_custom_labels(self, **kwargs: Any) -> dict[str, Any]:
        """DetectCustomLabels: ``ProjectVersionArn``, ``Image``; optional ``MinConfidence``,
        ``MaxResults``."""
        return self.call("DetectCustomLabels", kwargs)

    def start_project_version(self, **kwargs: Any) -> dict[str, Any]:
        """StartProjectVersion: ``ProjectVersionArn``, ``MinInferenceUnits``, optional ``MaxInferenceUnits``.
        On real AWS this starts billing per inference-unit hour until the model is stopped."""
        return self.call("StartProjectVersion", kwargs)

    def stop_project_version(self, **kwargs: Any) -> dict[str, Any]:
        """StopProjectVersion: ``ProjectVersionArn``."""
        return self.call("StopProjectVersion", kwargs)

    def describe_project_versions(self, **kwargs: Any) -> dict[str, Any]:
        """DescribeProjectVersions: ``ProjectArn``; optional ``VersionNames``, ``NextToken``,
        ``MaxResults``."""
        return self.call("DescribeProjectVersions", kwargs)

    def describe_projects(self, **kwargs: Any) -> dict[str, Any]:
        """DescribeProjects: optional ``ProjectNames``, ``Features``, ``NextToken``, ``MaxResults``."""
        return self.call("DescribeProjects", kwargs)

    # -- waiting ----------------------------------------------------------------------------------
    #: Seconds between polls and how many polls, as botocore's ProjectVersionRunning waiter.
    poll_delay: float = 30.0
    max_attempts: int = 40

    def _sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def _now(self) -> float:
        return time.time()

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
        """Poll DescribeProjectVersions until the version's status is in ``until`` (returned), or in
        ``fail`` (``WaitFailed``), or attempts run out (``WaitFailed``), as botocore's waiters do."""
        started = self._now()
        status = None
        for attempt in range(max_attempts or self.max_attempts):
            status = self._poll(project_arn, version_name, until, fail, progress, started)
            if status in until:
                return str(status)
            if attempt + 1 < (max_attempts or self.max_attempts):
                self._sleep(self.poll_delay)
        raise WaitFailed(
            f"{version_name} is still {status} after {max_attempts or self.max_attempts} checks", status
        )

    def _poll(
        self,
        project_arn: str,
        version_name: str,
        until: Collection[str],
        fail: Collection[str],
        progress: Progress | None,
        started: float,
    ) -> str | None:
        """One DescribeProjectVersions: the version's status, reported to ``progress``;
        ``WaitFailed`` when it is a ``fail`` status."""
        found = self.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
        descriptions = found.get("ProjectVersionDescriptions", [])
        status = descriptions[0]["Status"] if descriptions else None
        if progress is not None and status is not None:
            progress(status, self._now() - started)
        if status is not None and status in fail:
            raise WaitFailed(f"{version_name} reached {status} while waiting for {'/'.join(until)}", status)
        return None if status is None else str(status)

    def wait_until_running(
        self, project_arn: str, version_name: str, *, progress: Progress | None = None
    ) -> str:
        """Wait for RUNNING (botocore's ``project_version_running`` rules: FAILED ends the wait)."""
        return self.wait_for_status(
            project_arn, version_name, {"RUNNING"}, fail={"FAILED"}, progress=progress
        )

    def get_waiter(self, waiter_name: str) -> Any:
        """botocore's own waiter (``"project_version_running"``, ``"project_version_training_completed"``)
        driving this backend, as ``client.get_waiter`` does. Its delays are botocore's (30 s between
        polls unless ``WaiterConfig`` says otherwise)."""
        import botocore.waiter
        from botocore import xform_name

        from rclsim.service.apimodel import load_service_data

        config = botocore.waiter.WaiterModel(load_service_data("waiters-2"))
        names = {xform_name(name): name for name in config.waiter_names}
        if waiter_name not in names:
            raise ValueError(f"waiter does not exist: {waiter_name} (choose from {', '.join(sorted(names))})")
        single = config.get_waiter(names[waiter_name])
        method = botocore.waiter.NormalizedOperationMethod(getattr(self, xform_name(single.operation)))
        return botocore.waiter.Waiter(names[waiter_name], single, method)

    def get_paginator(self, operation_name: str) -> Any:
        """botocore's own paginator (``"describe_projects"``, ``"describe_project_versions"``) over
        this backend, as ``client.get_paginator`` does."""
        import botocore.paginate
        from botocore import xform_name

        from rclsim.service.apimodel import load_service_data, operation_model

        configs = load_service_data("paginators-1")["pagination"]
        names = {xform_name(name): name for name in configs}
        if operation_name not in names:
            raise ValueError(f"operation cannot be paginated: {operation_name}")
        api_name = names[operation_name]
        return botocore.paginate.Paginator(
            getattr(self, operation_name), configs[api_name], operation_model(api_name)
        )

    @property
    def exceptions(self) -> Any:
        """The modeled exception classes, as on a boto3 client:
        ``backend.exceptions.ResourceNotFoundException``."""
        from rclsim.service.errors import _exception_classes

        return _exception_classes()

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for backends that hold nothing
        """Release what the backend holds (connections). Safe to call twice."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
