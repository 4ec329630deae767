"""Facts about the Rekognition service, no behaviour.

The operation shapes, constraints and error lists come from botocore's own model, loaded through
``botocore.loaders`` (never by file path), so rclsim follows whatever botocore the user has. Limits that
the model does not carry (image size and dimensions) come from the Custom Labels guide; see
``rekognition-custom-labels-api.md`` in the project's reference material.

Importing this module is cheap: botocore is imported the first time the model is needed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from botocore.model import OperationModel, ServiceModel

SERVICE_NAME = "rekognition"
API_VERSION = "2016-06-27"

#: The Custom Labels operations rclsim fakes and its Backend interface speaks (boto3 method names).
OPERATIONS = {
    "DetectCustomLabels": "detect_custom_labels",
    "StartProjectVersion": "start_project_version",
    "StopProjectVersion": "stop_project_version",
    "DescribeProjectVersions": "describe_project_versions",
    "DescribeProjects": "describe_projects",
    "CreateProject": "create_project",
    "DeleteProject": "delete_project",
    "CreateProjectVersion": "create_project_version",
    "DeleteProjectVersion": "delete_project_version",
    "CopyProjectVersion": "copy_project_version",
    "CreateDataset": "create_dataset",
    "DescribeDataset": "describe_dataset",
    "ListDatasetEntries": "list_dataset_entries",
    "ListDatasetLabels": "list_dataset_labels",
    "UpdateDatasetEntries": "update_dataset_entries",
    "DistributeDatasetEntries": "distribute_dataset_entries",
    "DeleteDataset": "delete_dataset",
    "PutProjectPolicy": "put_project_policy",
    "ListProjectPolicies": "list_project_policies",
    "DeleteProjectPolicy": "delete_project_policy",
    "TagResource": "tag_resource",
    "UntagResource": "untag_resource",
    "ListTagsForResource": "list_tags_for_resource",
}

# Image limits for DetectCustomLabels (Custom Labels guide, "limits"; fact sheet section 2).
#: "4 MB" for raw bytes is ambiguous in the docs; rclsim takes 4 MiB and rejects anything larger.
MAX_IMAGE_BYTES = 4 * 1024 * 1024
#: Images read from S3 may be larger: 15 MB.
MAX_S3_IMAGE_BYTES = 15 * 1024 * 1024
MIN_IMAGE_DIMENSION = 64
MAX_IMAGE_DIMENSION = 4096
MAX_ASPECT_RATIO = 20.0


@functools.lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    """botocore's Rekognition model, loaded once per process."""
    import botocore.loaders
    import botocore.model

    loader = botocore.loaders.Loader()
    raw = loader.load_service_model(SERVICE_NAME, "service-2", api_version=API_VERSION)
    return botocore.model.ServiceModel(raw, service_name=SERVICE_NAME)


@functools.cache
def load_service_data(kind: str) -> Any:
    """Another file of botocore's Rekognition data (``"waiters-2"``, ``"paginators-1"``)."""
    import botocore.loaders

    return botocore.loaders.Loader().load_service_model(SERVICE_NAME, kind, api_version=API_VERSION)


def operation_model(name: str) -> OperationModel:
    return service_model().operation_model(name)


@dataclass(frozen=True)
class VersionArn:
    """The parts of a project version ARN."""

    arn: str
    partition: str
    region: str
    account: str
    project: str
    version_name: str
    created_ms: str

    @property
    def project_arn(self) -> str:
        """The project ARN. The project's own creation number is not in the version ARN; rclsim
        reuses the version's (a fake project ARN; real ones differ). Declarations can override."""
        return (
            f"arn:{self.partition}:rekognition:{self.region}:{self.account}:project/"
            f"{self.project}/{self.created_ms}"
        )


_VERSION_ARN = re.compile(
    r"^arn:(?P<partition>[a-z\d-]+):rekognition:(?P<region>[a-z\d-]+):(?P<account>\d{12}):"
    r"project/(?P<project>[a-zA-Z0-9_.\-]{1,255})/version/(?P<version>[a-zA-Z0-9_.\-]{1,255})/"
    r"(?P<created>[0-9]+)$"
)


def parse_version_arn(arn: str) -> VersionArn | None:
    """Split a ProjectVersionArn into its parts, or None if it does not match the API's pattern."""
    m = _VERSION_ARN.match(arn)
    if not m:
        return None
    return VersionArn(
        arn, m["partition"], m["region"], m["account"], m["project"], m["version"], m["created"]
    )


#: What record mode writes instead of the 12-digit account id in ARNs (it still matches the pattern).
MASKED_ACCOUNT = "000000000000"
_ACCOUNT_IN_ARN = re.compile(r"^(arn:[a-z\d-]+:rekognition:[a-z\d-]*:)(\d{12})(:)")


@functools.lru_cache(maxsize=1024)  # on the detect path: the same few ARNs, call after call
def mask_account(arn: str) -> str:
    """``arn`` with its account id replaced by :data:`MASKED_ACCOUNT`; other text unchanged."""
    return _ACCOUNT_IN_ARN.sub(lambda m: m.group(1) + MASKED_ACCOUNT + m.group(3), arn)


def region_of(arn: str) -> str:
    """The region field of an ARN (``arn:aws:rekognition:REGION:ACCOUNT:...``), or "" if it has none:
    the one reading of it for the core's region check and the lifecycle's project list."""
    parts = arn.split(":", 4)
    return parts[3] if len(parts) > 4 else ""


def project_name_of(project_arn: str) -> str:
    """The project name of a project ARN (``...:project/NAME/NUMBER``)."""
    return project_arn.split(":project/", 1)[-1].rsplit("/", 1)[0]


# The one masking rule, shared by record mode (what it saves) and the replay store (what it looks up):
# the account id of the model's ARN is masked wherever it appears as a whole number.
@functools.lru_cache(maxsize=1024)
def account_of(arn: str) -> str | None:
    """The 12-digit account id of a Rekognition ARN, or None: not such an ARN, or already masked."""
    m = _ACCOUNT_IN_ARN.match(arn)
    return m.group(2) if m and m.group(2) != MASKED_ACCOUNT else None


@functools.lru_cache(maxsize=64)
def _whole_number(account: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![0-9]){re.escape(account)}(?![0-9])")


def mask_account_everywhere(value: Any, account: str | None) -> Any:
    """``value`` (text, or dicts and lists of it) with every whole-number occurrence of ``account``
    replaced by :data:`MASKED_ACCOUNT`; numbers that merely contain its digits (``1123456789012``) are
    left alone, as is everything when ``account`` is None."""
    if not account:
        return value
    pattern = _whole_number(account)

    def mask(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(MASKED_ACCOUNT, item) if account in item else item
        if isinstance(item, dict):
            return {mask(k): mask(v) for k, v in item.items()}
        if isinstance(item, list):
            return [mask(v) for v in item]
        return item

    return mask(value)


@functools.lru_cache(maxsize=1024)  # on the replay path: the same few ARNs, call after call
def mask_arn(arn: str) -> str:
    """``arn`` with its own account id masked everywhere in it (account field, project and version
    names) by :func:`mask_account_everywhere`; unchanged when it has no account id to mask."""
    return mask_account_everywhere(arn, account_of(arn))  # type: ignore[no-any-return]
