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

import time
import warnings
from typing import Any

from rclsim.backends.base import Backend
from rclsim.service.errors import service_error
from rclsim.service.schemas import response_problems

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
            from botocore.exceptions import BotoCoreError

            try:
                session = boto3.Session(profile_name=profile, region_name=region)
                client = session.client("rekognition", endpoint_url=endpoint_url)
            except (ValueError, BotoCoreError) as exc:
                from rclsim.service.errors import RclsimError

                raise RclsimError(f"cannot make a Rekognition client: {exc}") from None
        self.client = client
        self.strict = strict
        # Kept for record mode's S3 client (rclsim.backends.record), which reads images where the user said.
        self.profile = profile
        self.endpoint_url = endpoint_url

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

    def wait_until_running(self, project_arn: str, version_name: str, *, progress: Any = None) -> str:
        """botocore's own ``project_version_running`` waiter; each poll is reported to ``progress``."""
        from botocore.exceptions import WaiterError

        from rclsim.backends.base import WaitFailed

        started = time.time()

        def report(parsed: Any = None, **_: Any) -> None:
            for desc in (parsed or {}).get("ProjectVersionDescriptions", []):
                if progress is not None:
                    progress(desc.get("Status", "?"), time.time() - started)

        event = "after-call.rekognition.DescribeProjectVersions"
        self.client.meta.events.register(event, report, unique_id="rclsim-wait-progress")
        try:
            self.client.get_waiter("project_version_running").wait(
                ProjectArn=project_arn,
                VersionNames=[version_name],
                WaiterConfig={"Delay": self.poll_delay, "MaxAttempts": self.max_attempts},
            )
        except WaiterError as exc:
            last = (exc.last_response or {}).get("ProjectVersionDescriptions") or [{}]
            raise WaitFailed(f"waiting for {version_name} to run: {exc}", last[0].get("Status")) from None
        finally:
            self.client.meta.events.unregister(event, unique_id="rclsim-wait-progress")
        return "RUNNING"

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()


def _snake(operation: str) -> str:
    from rclsim.service.apimodel import OPERATIONS

    if operation in OPERATIONS:
        return OPERATIONS[operation]
    from botocore import xform_name

    return str(xform_name(operation))
