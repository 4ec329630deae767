"""The Backend interface: the Custom Labels operations with the real API's keyword arguments.

Code written against a Backend runs unchanged against a boto3 Rekognition client (and the other way
round): the same method names, the same keyword arguments, the same return shape (minus botocore's
``ResponseMetadata``), and the same exceptions: botocore's ``ParamValidationError`` for what botocore
checks on the client, ``ClientError`` with the service's code for everything else.
"""

from __future__ import annotations

import abc
from typing import Any

__all__ = ["Backend"]


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

    @property
    def exceptions(self) -> Any:
        """The modeled exception classes, as on a boto3 client:
        ``backend.exceptions.ResourceNotFoundException``."""
        from ..errors import _exception_classes

        return _exception_classes()

    def close(self) -> None:  # noqa: B027 - optional hook, a no-op for backends that hold nothing
        """Release what the backend holds (connections). Safe to call twice."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
