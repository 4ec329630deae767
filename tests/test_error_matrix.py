"""Every error botocore's model lists for a faked operation is accounted for: produced through the one
way in (``FakeRekognition.call``) by a request a user could make, or named in NOT_GIVEN with the reason
the fake does not give it. A new botocore that lists a new error, or a fake that stops giving one,
fails here."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.service.apimodel import OPERATIONS, operation_model

from .test_controlplane import OUTPUT, DictObjects, _article_core, _assets, _core, _line, s3  # noqa: F401

#: Errors of the service's own faults and quotas, which need fault rules (issue 13) to appear.
FAULTS = {
    "AccessDeniedException": "the fake has no IAM: every caller may do everything",
    "InternalServerError": "a service fault: fault rules (issue 13)",
    "ThrottlingException": "a service fault: fault rules (issue 13)",
    "ProvisionedThroughputExceededException": "capacity per inference unit: issue 13",
}
#: Errors the fake does not give, operation by operation, and why.
NOT_GIVEN: dict[tuple[str, str], str] = {
    ("CreateProject", "LimitExceededException"): "no project quota in the fake",
    ("CreateDataset", "LimitExceededException"): "no dataset quota in the fake",
    ("UpdateDatasetEntries", "LimitExceededException"): "no quota on updates in the fake",
    ("DeleteDataset", "LimitExceededException"): "no quota on deletions in the fake",
    ("CreateProjectVersion", "LimitExceededException"): "no concurrent-training quota in the fake",
    ("CopyProjectVersion", "LimitExceededException"): "no concurrent-copy quota in the fake",
    ("StartProjectVersion", "LimitExceededException"): "inference-unit quota: issue 13",
    ("DetectCustomLabels", "LimitExceededException"): "request-rate quota: issue 13",
    ("DescribeProjects", "InvalidParameterException"): "every bad value is a ValidationException first",
    (
        "DescribeProjectVersions",
        "InvalidParameterException",
    ): "every bad value is a ValidationException first",
    ("DescribeDataset", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("ListDatasetEntries", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("ListDatasetLabels", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("DeleteDataset", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("ListProjectPolicies", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("UntagResource", "InvalidParameterException"): "keys are checked by the model's pattern first",
    ("ListTagsForResource", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("StopProjectVersion", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("PutProjectPolicy", "ResourceAlreadyExistsException"): "no document says when (rclsim.fake.policies)",
    ("PutProjectPolicy", "InvalidParameterException"): "bad values are Validation or MalformedPolicyDocument",
    ("DeleteProjectPolicy", "InvalidParameterException"): "every bad value is a ValidationException first",
    ("UpdateDatasetEntries", "InvalidParameterException"): "bad lines end the update in UPDATE_FAILED [U]",
    ("PutProjectPolicy", "ServiceQuotaExceededException"): "the 5-policy limit is LimitExceeded (guide)",
}


@dataclass
class World:
    core: Any
    clock: ManualClock
    s3: DictObjects
    project: str = ""
    train: str = ""
    test: str = ""
    version: str = ""

    def call(self, op: str, **params: Any) -> dict[str, Any]:
        return self.core.call(op, params, region="us-east-1")  # type: ignore[no-any-return]


@pytest.fixture
def world(s3: DictObjects) -> World:  # noqa: F811 - the fixture
    clock = ManualClock(1_800_000_000.0)
    w = World(_core(s3, clock), clock, s3)
    w.project = w.call("CreateProject", ProjectName="lot")["ProjectArn"]
    for kind in ("TRAIN", "TEST"):
        source = {"GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": f"{kind.lower()}.manifest"}}}
        arn = w.call("CreateDataset", ProjectArn=w.project, DatasetType=kind, DatasetSource=source)[
            "DatasetArn"
        ]
        setattr(w, kind.lower(), arn)
    clock.advance(3600)
    w.version = w.call("CreateProjectVersion", ProjectArn=w.project, VersionName="v1", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]
    clock.advance(48 * 3600)
    return w


def _other_project(w: World) -> str:
    return w.call("CreateProject", ProjectName=f"other{len(w.s3.buckets)}")["ProjectArn"]


def _importing_dataset(w: World) -> str:
    project = _other_project(w)
    source = {"GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": "train.manifest"}}}
    return w.call("CreateDataset", ProjectArn=project, DatasetType="TRAIN", DatasetSource=source)[
        "DatasetArn"
    ]


def _updating(w: World) -> str:
    w.call(
        "UpdateDatasetEntries",
        DatasetArn=w.train,
        Changes={"GroundTruth": (_line(0, ["car"]) + "\n").encode()},
    )
    return w.train


def _running(w: World) -> str:
    w.call("StartProjectVersion", ProjectVersionArn=w.version, MinInferenceUnits=1)
    w.clock.advance(3600)
    return w.version


def _training(w: World) -> str:
    return w.call("CreateProjectVersion", ProjectArn=w.project, VersionName="v2", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]


POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "rekognition:CopyProjectVersion",
                "Resource": "*",
            }
        ],
    }
)
TAGS_51 = {f"k{i}": "v" for i in range(51)}
MISSING_PROJECT = "arn:aws:rekognition:us-east-1:123456789012:project/nowhere/1"
MISSING_VERSION = "arn:aws:rekognition:us-east-1:123456789012:project/nowhere/version/v/1"
IMAGE = {"S3Object": {"Bucket": "data", "Name": "imgs/2.jpg"}}

#: (operation, error) -> a call that gives it.
PRODUCERS: dict[tuple[str, str], Callable[[World], Any]] = {
    ("CreateProject", "ResourceInUseException"): lambda w: w.call("CreateProject", ProjectName="lot"),
    ("CreateProject", "InvalidParameterException"): lambda w: w.call(
        "CreateProject", ProjectName="x", AutoUpdate="ENABLED"
    ),
    ("DescribeProjects", "InvalidPaginationTokenException"): lambda w: w.call(
        "DescribeProjects", NextToken="x"
    ),
    ("DeleteProject", "ResourceInUseException"): lambda w: w.call("DeleteProject", ProjectArn=w.project),
    ("DeleteProject", "ResourceNotFoundException"): lambda w: w.call(
        "DeleteProject", ProjectArn=MISSING_PROJECT
    ),
    ("DeleteProject", "InvalidParameterException"): lambda w: _article_core().call(
        "DeleteProject", {"ProjectArn": rclsim.ARTICLE_PROJECT_ARN}
    ),
    ("CreateDataset", "InvalidParameterException"): lambda w: w.call(
        "CreateDataset",
        ProjectArn=_other_project(w),
        DatasetType="TRAIN",
        DatasetSource={"DatasetArn": w.train, **_assets("train.manifest")["Assets"][0]},
    ),
    ("CreateDataset", "InvalidS3ObjectException"): lambda w: w.call(
        "CreateDataset",
        ProjectArn=_other_project(w),
        DatasetType="TRAIN",
        DatasetSource=_assets("nope.manifest")["Assets"][0],
    ),
    ("CreateDataset", "ResourceAlreadyExistsException"): lambda w: w.call(
        "CreateDataset", ProjectArn=w.project, DatasetType="TRAIN"
    ),
    ("CreateDataset", "ResourceNotFoundException"): lambda w: w.call(
        "CreateDataset", ProjectArn=MISSING_PROJECT, DatasetType="TRAIN"
    ),
    ("DescribeDataset", "ResourceNotFoundException"): lambda w: w.call(
        "DescribeDataset", DatasetArn=w.train[:-1] + "9"
    ),
    ("ListDatasetEntries", "ResourceInUseException"): lambda w: w.call(
        "ListDatasetEntries", DatasetArn=_updating(w)
    ),
    ("ListDatasetEntries", "ResourceNotFoundException"): lambda w: w.call(
        "ListDatasetEntries", DatasetArn=w.train[:-1] + "9"
    ),
    ("ListDatasetEntries", "InvalidPaginationTokenException"): lambda w: w.call(
        "ListDatasetEntries", DatasetArn=w.train, NextToken="x"
    ),
    ("ListDatasetEntries", "ResourceNotReadyException"): lambda w: w.call(
        "ListDatasetEntries", DatasetArn=_importing_dataset(w)
    ),
    ("ListDatasetLabels", "ResourceInUseException"): lambda w: w.call(
        "ListDatasetLabels", DatasetArn=_updating(w)
    ),
    ("ListDatasetLabels", "ResourceNotFoundException"): lambda w: w.call(
        "ListDatasetLabels", DatasetArn=w.train[:-1] + "9"
    ),
    ("ListDatasetLabels", "InvalidPaginationTokenException"): lambda w: w.call(
        "ListDatasetLabels", DatasetArn=w.train, NextToken="x"
    ),
    ("ListDatasetLabels", "ResourceNotReadyException"): lambda w: w.call(
        "ListDatasetLabels", DatasetArn=_importing_dataset(w)
    ),
    ("UpdateDatasetEntries", "ResourceInUseException"): lambda w: w.call(
        "UpdateDatasetEntries", DatasetArn=_updating(w), Changes={"GroundTruth": b"{}"}
    ),
    ("UpdateDatasetEntries", "ResourceNotFoundException"): lambda w: w.call(
        "UpdateDatasetEntries", DatasetArn=w.train[:-1] + "9", Changes={"GroundTruth": b"{}"}
    ),
    ("DistributeDatasetEntries", "ResourceNotFoundException"): lambda w: w.call(
        "DistributeDatasetEntries", Datasets=[{"Arn": w.train}, {"Arn": w.test[:-1] + "9"}]
    ),
    ("DistributeDatasetEntries", "InvalidParameterException"): lambda w: w.call(
        "DistributeDatasetEntries", Datasets=[{"Arn": w.train}, {"Arn": w.test}]
    ),
    ("DistributeDatasetEntries", "ResourceNotReadyException"): lambda w: w.call(
        "DistributeDatasetEntries", Datasets=[{"Arn": _updating(w)}, {"Arn": w.test}]
    ),
    ("DeleteDataset", "ResourceInUseException"): lambda w: w.call("DeleteDataset", DatasetArn=_updating(w)),
    ("DeleteDataset", "ResourceNotFoundException"): lambda w: w.call(
        "DeleteDataset", DatasetArn=w.train[:-1] + "9"
    ),
    ("CreateProjectVersion", "ResourceInUseException"): lambda w: w.call(
        "CreateProjectVersion", ProjectArn=w.project, VersionName="v1", OutputConfig=OUTPUT
    ),
    ("CreateProjectVersion", "ResourceNotFoundException"): lambda w: w.call(
        "CreateProjectVersion", ProjectArn=MISSING_PROJECT, VersionName="v1", OutputConfig=OUTPUT
    ),
    ("CreateProjectVersion", "InvalidParameterException"): lambda w: w.call(
        "CreateProjectVersion",
        ProjectArn=w.project,
        VersionName="v9",
        OutputConfig=OUTPUT,
        TrainingData=_assets("all.manifest"),
        TestingData={"AutoCreate": True},
    ),
    ("CreateProjectVersion", "ServiceQuotaExceededException"): lambda w: w.call(
        "CreateProjectVersion", ProjectArn=w.project, VersionName="v9", OutputConfig=OUTPUT, Tags=TAGS_51
    ),
    ("DescribeProjectVersions", "ResourceNotFoundException"): lambda w: w.call(
        "DescribeProjectVersions", ProjectArn=MISSING_PROJECT
    ),
    ("DescribeProjectVersions", "InvalidPaginationTokenException"): lambda w: w.call(
        "DescribeProjectVersions", ProjectArn=w.project, NextToken="x"
    ),
    ("DeleteProjectVersion", "ResourceNotFoundException"): lambda w: w.call(
        "DeleteProjectVersion", ProjectVersionArn=MISSING_VERSION
    ),
    ("DeleteProjectVersion", "ResourceInUseException"): lambda w: w.call(
        "DeleteProjectVersion", ProjectVersionArn=_training(w)
    ),
    ("DeleteProjectVersion", "InvalidParameterException"): lambda w: _article_core().call(
        "DeleteProjectVersion", {"ProjectVersionArn": rclsim.ARTICLE_MODEL_ARN}
    ),
    ("StartProjectVersion", "ResourceNotFoundException"): lambda w: w.call(
        "StartProjectVersion", ProjectVersionArn=MISSING_VERSION, MinInferenceUnits=1
    ),
    ("StartProjectVersion", "ResourceInUseException"): lambda w: w.call(
        "StartProjectVersion", ProjectVersionArn=_running(w), MinInferenceUnits=1
    ),
    ("StartProjectVersion", "InvalidParameterException"): lambda w: w.call(
        "StartProjectVersion", ProjectVersionArn=w.version, MinInferenceUnits=2, MaxInferenceUnits=1
    ),
    ("StopProjectVersion", "ResourceNotFoundException"): lambda w: w.call(
        "StopProjectVersion", ProjectVersionArn=MISSING_VERSION
    ),
    ("StopProjectVersion", "ResourceInUseException"): lambda w: w.call(
        "StopProjectVersion", ProjectVersionArn=w.version
    ),
    ("CopyProjectVersion", "InvalidParameterException"): lambda w: w.call(
        "CopyProjectVersion",
        SourceProjectArn=w.project,
        SourceProjectVersionArn=w.version,
        DestinationProjectArn=w.project,
        VersionName="c",
        OutputConfig=OUTPUT,
        Tags={"AWS:reserved": "x"},
    ),
    ("CopyProjectVersion", "ResourceNotFoundException"): lambda w: w.call(
        "CopyProjectVersion",
        SourceProjectArn=w.project,
        SourceProjectVersionArn=w.version,
        DestinationProjectArn=MISSING_PROJECT,
        VersionName="c",
        OutputConfig=OUTPUT,
    ),
    ("CopyProjectVersion", "ServiceQuotaExceededException"): lambda w: w.call(
        "CopyProjectVersion",
        SourceProjectArn=w.project,
        SourceProjectVersionArn=w.version,
        DestinationProjectArn=w.project,
        VersionName="c",
        OutputConfig=OUTPUT,
        Tags=TAGS_51,
    ),
    ("CopyProjectVersion", "ResourceInUseException"): lambda w: w.call(
        "CopyProjectVersion",
        SourceProjectArn=w.project,
        SourceProjectVersionArn=_training(w),
        DestinationProjectArn=w.project,
        VersionName="c",
        OutputConfig=OUTPUT,
    ),
    ("PutProjectPolicy", "InvalidPolicyRevisionIdException"): lambda w: w.call(
        "PutProjectPolicy",
        ProjectArn=w.project,
        PolicyName="p",
        PolicyDocument=POLICY,
        PolicyRevisionId="0" * 32,
    ),
    ("PutProjectPolicy", "MalformedPolicyDocumentException"): lambda w: w.call(
        "PutProjectPolicy", ProjectArn=w.project, PolicyName="p", PolicyDocument="{not json"
    ),
    ("PutProjectPolicy", "ResourceNotFoundException"): lambda w: w.call(
        "PutProjectPolicy", ProjectArn=MISSING_PROJECT, PolicyName="p", PolicyDocument=POLICY
    ),
    ("PutProjectPolicy", "LimitExceededException"): lambda w: [
        w.call("PutProjectPolicy", ProjectArn=w.project, PolicyName=f"p{i}", PolicyDocument=POLICY)
        for i in range(6)
    ],
    ("ListProjectPolicies", "ResourceNotFoundException"): lambda w: w.call(
        "ListProjectPolicies", ProjectArn=MISSING_PROJECT
    ),
    ("ListProjectPolicies", "InvalidPaginationTokenException"): lambda w: w.call(
        "ListProjectPolicies", ProjectArn=w.project, NextToken="x"
    ),
    ("DeleteProjectPolicy", "ResourceNotFoundException"): lambda w: w.call(
        "DeleteProjectPolicy", ProjectArn=w.project, PolicyName="nope"
    ),
    ("DeleteProjectPolicy", "InvalidPolicyRevisionIdException"): lambda w: (
        w.call("PutProjectPolicy", ProjectArn=w.project, PolicyName="p", PolicyDocument=POLICY),
        w.call("DeleteProjectPolicy", ProjectArn=w.project, PolicyName="p", PolicyRevisionId="0" * 32),
    ),
    ("TagResource", "ResourceNotFoundException"): lambda w: w.call(
        "TagResource", ResourceArn=MISSING_PROJECT, Tags={"a": "b"}
    ),
    ("TagResource", "InvalidParameterException"): lambda w: w.call(
        "TagResource", ResourceArn=w.project, Tags={"AWS:x": "y"}
    ),
    ("TagResource", "ServiceQuotaExceededException"): lambda w: w.call(
        "TagResource", ResourceArn=w.project, Tags=TAGS_51
    ),
    ("UntagResource", "ResourceNotFoundException"): lambda w: w.call(
        "UntagResource", ResourceArn=MISSING_PROJECT, TagKeys=["a"]
    ),
    ("ListTagsForResource", "ResourceNotFoundException"): lambda w: w.call(
        "ListTagsForResource", ResourceArn=MISSING_PROJECT
    ),
    ("DetectCustomLabels", "ResourceNotFoundException"): lambda w: w.call(
        "DetectCustomLabels", ProjectVersionArn=MISSING_VERSION, Image=IMAGE
    ),
    ("DetectCustomLabels", "ResourceNotReadyException"): lambda w: w.call(
        "DetectCustomLabels", ProjectVersionArn=w.version, Image=IMAGE
    ),
    ("DetectCustomLabels", "InvalidS3ObjectException"): lambda w: w.call(
        "DetectCustomLabels",
        ProjectVersionArn=_running(w),
        Image={"S3Object": {"Bucket": "data", "Name": "no.jpg"}},
    ),
    ("DetectCustomLabels", "InvalidParameterException"): lambda w: w.call(
        "DetectCustomLabels", ProjectVersionArn=w.version, Image={"Bytes": b"x", **IMAGE}
    ),
    ("DetectCustomLabels", "ImageTooLargeException"): lambda w: w.call(
        "DetectCustomLabels", ProjectVersionArn=_running(w), Image={"Bytes": b"\xff" * (5 * 1024 * 1024)}
    ),
    ("DetectCustomLabels", "ProvisionedThroughputExceededException"): lambda w: _over_capacity(w),
    ("DetectCustomLabels", "InvalidImageFormatException"): lambda w: w.call(
        "DetectCustomLabels", ProjectVersionArn=_running(w), Image={"Bytes": b"GIF89a not an image"}
    ),
}


def _over_capacity(w: World) -> None:
    """More calls in one second than a unit serves, with capacity on (it is opt-in)."""
    w.core.capacity = True
    arn = _running(w)
    for _ in range(100):
        w.call("DetectCustomLabels", ProjectVersionArn=arn, Image=IMAGE)


def _listed() -> list[tuple[str, str]]:
    return sorted(
        (op, error.name)
        for op in OPERATIONS
        for error in operation_model(op).error_shapes
        if error.name not in FAULTS or (op, error.name) in PRODUCERS
    )


def test_every_listed_error_is_produced_or_named():
    listed = set(_listed())
    accounted = set(PRODUCERS) | set(NOT_GIVEN)
    assert listed - accounted == set(), "errors the model lists that no test produces or names"
    assert set(PRODUCERS) - listed == set(), "produced errors the model does not list for the operation"
    assert set(NOT_GIVEN) & set(PRODUCERS) == set()


@pytest.mark.parametrize("op, error", sorted(PRODUCERS))
def test_the_fake_gives_it(world: World, op: str, error: str) -> None:
    with pytest.raises(ClientError) as info:
        PRODUCERS[(op, error)](world)
    assert info.value.response["Error"]["Code"] == error
    assert info.value.response["Error"]["Message"]
