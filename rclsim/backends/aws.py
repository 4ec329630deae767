"""The aws backend: real Amazon Rekognition through boto3.

Runs only when picked (``--backend aws`` / ``get_backend("aws")``): nothing else in rclsim opens a
connection to AWS. Credentials come from boto3's standard chain (environment, ``--profile``, SSO,
instance roles); ``endpoint_url`` (or boto3's own ``AWS_ENDPOINT_URL``) points it elsewhere, for
example at a local rclsim endpoint or at moto.

Responses come back in the same shape as the fakes' (no ``ResponseMetadata``) and every
DetectCustomLabels response is checked against rclsim's schema: a failure is a warning, or under
``strict`` a ``ResponseSchemaException``, because a live response that breaks the schema means either
the service changed or the schema is wrong, and both need a human.
"""

from __future__ import annotations

import warnings
from typing import Any

from ..errors import service_error
from ..schemas import response_problems
from .base import Backend

__all__ = ["AwsBackend", "ResponseSchemaWarning"]


class ResponseSchemaWarning(UserWarning):
    """A live response failed rclsim's response schema."""


class AwsBackend(Backend):
    name = "aws"

    def __init__(
        self,
        *,
        region: str | None = None,
        profile: str | None = None,
        endpoint_url: str | None = None,
        strict: bool = False,
        client: Any = None,
    ) -> None:
        if client is None:
            import boto3

            session = boto3.Session(profile_name=profile, region_name=region)
            client = session.client("rekognition", endpoint_url=endpoint_url)
        self.client = client
        self.strict = strict

    @property
    def region(self) -> str | None:
        return self.client.meta.region_name  # type: ignore[no-any-return]

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        method = getattr(self.client, _snake(operation))
        response = dict(method(**params))
        response.pop("ResponseMetadata", None)
        if operation == "DetectCustomLabels":
            problems = response_problems(response)
            if problems:
                text = "; ".join(str(p) for p in problems[:3])
                if self.strict:
                    raise service_error(
                        "ResponseSchemaException",
                        f"the live response fails rclsim's schema: {text}",
                        operation,
                    )
                warnings.warn(
                    f"live response fails rclsim's schema: {text}", ResponseSchemaWarning, stacklevel=3
                )
        return response

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


def _snake(operation: str) -> str:
    from ..apimodel import OPERATIONS

    if operation in OPERATIONS:
        return OPERATIONS[operation]
    from botocore import xform_name

    return str(xform_name(operation))
