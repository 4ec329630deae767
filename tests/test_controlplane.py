"""The control plane through the one way in (``FakeRekognition.call``): projects, training, copies and
deletion, with every error the model lists for them that the fake can give, and bad input."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import cv2
import numpy as np
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.fake.core import FakeRekognition, ReplaySource
from rclsim.fake.declarations import Declarations
from rclsim.fake.recordings import RecordingStore
from rclsim.fake.state import StateStore
from rclsim.fake.training import training_seconds
from rclsim.service.apimodel import operation_model

from .test_describe_versions import shape_problems

REGION = "us-east-1"


class DictObjects:
    """An S3 of dicts: ``{bucket: {key: bytes}}``; a missing bucket refuses writes, as S3 does."""

    def __init__(self, *buckets: str) -> None:
        self.buckets: dict[str, dict[str, bytes]] = {b: {} for b in buckets}

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        return self.buckets[bucket][key]

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        self.buckets[bucket][key] = data

    def describe(self) -> str:
        return "a dict of buckets"


def _image(i: int) -> bytes:
    rng = np.random.default_rng(i)
    pixels = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    cv2.rectangle(pixels, (40, 40), (140, 120), (0, 0, 255), -1)
    return cv2.imencode(".jpg", pixels)[1].tobytes()


def _line(i: int, labels: list[str]) -> str:
    annotations = [
        {"class_id": k, "left": 40 + 10 * k, "top": 40, "width": 100, "height": 80}
        for k in range(len(labels))
    ]
    return json.dumps(
        {
            "source-ref": f"s3://data/imgs/{i}.jpg",
            "bb": {"image_size": [{"width": 320, "height": 240, "depth": 3}], "annotations": annotations},
            "bb-metadata": {
                "objects": [{"confidence": 1}] * len(annotations),
                "class-map": {str(k): name for k, name in enumerate(labels)},
                "type": "groundtruth/object-detection",
                "human-annotated": "yes",
                "creation-date": "2024-01-01T00:00:00",
                "job-name": "labeling-job/lot",
            },
        }
    )


@pytest.fixture
def s3() -> DictObjects:
    store = DictObjects("data", "out")
    lines = []
    for i in range(30):
        store.put("data", f"imgs/{i}.jpg", _image(i))
        lines.append(_line(i, ["car"] if i % 2 else ["car", "plate"]))
    store.put("data", "train.manifest", "\n".join(lines[:24]).encode())
    store.put("data", "test.manifest", "\n".join(lines[24:]).encode())
    store.put("data", "all.manifest", "\n".join(lines).encode())
    return store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1_800_000_000.0)


def _core(
    s3: DictObjects | None, clock: ManualClock, time_scale: float = 1.0, state: Any = None
) -> FakeRekognition:
    return FakeRekognition(
        ReplaySource(RecordingStore()),
        declarations=Declarations.load([]),
        state=state or StateStore(),
        clock=clock,
        time_scale=time_scale,
        objects=s3,
    )


@pytest.fixture
def core(s3: DictObjects, clock: ManualClock) -> FakeRekognition:
    return _core(s3, clock)


def _call(core: FakeRekognition, op: str, region: str | None = REGION, **params: Any) -> dict[str, Any]:
    answer = core.call(op, params, region=region)
    problems = (
        shape_problems(answer, operation_model(op).output_shape) if operation_model(op).output_shape else []
    )
    assert problems == [], problems
    return answer


def _error(core: FakeRekognition, op: str, region: str | None = REGION, **params: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        core.call(op, params, region=region)
    error = info.value.response["Error"]
    return error["Code"], error["Message"]


MANIFEST = {"GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": "train.manifest"}}}
OUTPUT = {"S3Bucket": "out", "S3KeyPrefix": "lot/"}


def _assets(name: str) -> dict[str, Any]:
    return {"Assets": [{"GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": name}}}]}


def _project_with_datasets(core: FakeRekognition, clock: ManualClock) -> str:
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    for kind in ("TRAIN", "TEST"):
        source = {"GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": f"{kind.lower()}.manifest"}}}
        _call(core, "CreateDataset", ProjectArn=project, DatasetType=kind, DatasetSource=source)
    clock.advance(3600)  # the datasets are imported
    return project


def _training_hours(core: FakeRekognition) -> float:
    return sum(line.quantity for line in core.bill().lines if line.item == "training")


def _describe(core: FakeRekognition, project: str, name: str) -> dict[str, Any]:
    rows = _call(core, "DescribeProjectVersions", ProjectArn=project, VersionNames=[name])
    (row,) = rows["ProjectVersionDescriptions"]
    return row


# -- projects ----------------------------------------------------------------------------------------
def test_create_project_in_the_clients_region_and_list_it(core, clock):
    arn = _call(core, "CreateProject", region="eu-west-1", ProjectName="lot")["ProjectArn"]
    assert arn.startswith("arn:aws:rekognition:eu-west-1:123456789012:project/lot/")
    listed = _call(core, "DescribeProjects", region="eu-west-1")["ProjectDescriptions"]
    mine = [p for p in listed if p["ProjectArn"] == arn]
    assert mine and mine[0]["Status"] == "CREATED" and mine[0]["Feature"] == "CUSTOM_LABELS"
    assert mine[0]["Datasets"] == []
    assert mine[0]["CreationTimestamp"] == dt.datetime.fromtimestamp(clock.now(), dt.timezone.utc)
    # another region's client does not see it
    assert arn not in [p["ProjectArn"] for p in _call(core, "DescribeProjects")["ProjectDescriptions"]]


def test_create_project_twice_is_resource_in_use(core):
    _call(core, "CreateProject", ProjectName="lot")
    code, message = _error(core, "CreateProject", ProjectName="lot")
    assert code == "ResourceInUseException" and "lot" in message
    _call(core, "CreateProject", region="eu-west-1", ProjectName="lot")  # another region: fine


@pytest.mark.parametrize(
    "params, code",
    [
        ({"ProjectName": "bad name"}, "ValidationException"),
        ({"ProjectName": ""}, "ValidationException"),
        ({"ProjectName": "x" * 256}, "ValidationException"),
        ({"ProjectName": 7}, "SerializationException"),
        ({}, "ValidationException"),
        ({"ProjectName": "lot", "Feature": "FACES"}, "ValidationException"),
        ({"ProjectName": "lot", "AutoUpdate": "ENABLED"}, "InvalidParameterException"),
        ({"ProjectName": "lot", "Tags": {"aws:owner": "me"}}, "ValidationException"),
    ],
)
def test_create_project_bad_input(core, params, code):
    assert _error(core, "CreateProject", **params)[0] == code
    assert "lot" not in json.dumps(_call(core, "DescribeProjects"), default=str).split("project/")[-1][:4]


def test_features_filter(core):
    cm = _call(core, "CreateProject", ProjectName="mod", Feature="CONTENT_MODERATION", AutoUpdate="ENABLED")
    cl = _call(core, "CreateProject", ProjectName="lot")
    default = [p["ProjectArn"] for p in _call(core, "DescribeProjects")["ProjectDescriptions"]]
    assert cl["ProjectArn"] in default and cm["ProjectArn"] not in default
    moderation = _call(core, "DescribeProjects", Features=["CONTENT_MODERATION"])["ProjectDescriptions"]
    assert [p["ProjectArn"] for p in moderation] == [cm["ProjectArn"]]
    assert moderation[0]["AutoUpdate"] == "ENABLED" and "Datasets" not in moderation[0]
    both = _call(core, "DescribeProjects", Features=["CONTENT_MODERATION", "CUSTOM_LABELS"])[
        "ProjectDescriptions"
    ]
    assert {cm["ProjectArn"], cl["ProjectArn"]} <= {p["ProjectArn"] for p in both}


def test_describe_projects_pages(core):
    made = [_call(core, "CreateProject", ProjectName=f"p{i}")["ProjectArn"] for i in range(5)]
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"MaxResults": 2}
        if token:
            params["NextToken"] = token
        answer = _call(core, "DescribeProjects", **params)
        seen += [p["ProjectArn"] for p in answer["ProjectDescriptions"]]
        token = answer.get("NextToken")
        if not token:
            break
    assert [a for a in seen if a in made] == made  # oldest first, each once
    assert _error(core, "DescribeProjects", NextToken="garbage")[0] == "InvalidPaginationTokenException"


def test_delete_project(core, clock):
    project = _project_with_datasets(core, clock)
    _call(core, "TagResource", ResourceArn=project, Tags={"team": "cv"})
    assert _call(core, "DeleteProject", ProjectArn=project) == {"Status": "DELETING"}
    assert project not in [p["ProjectArn"] for p in _call(core, "DescribeProjects")["ProjectDescriptions"]]
    assert _error(core, "DeleteProject", ProjectArn=project)[0] == "ResourceNotFoundException"
    assert _error(core, "ListTagsForResource", ResourceArn=project)[0] == "ResourceNotFoundException"
    # a new project of the same name starts empty
    again = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    assert _call(core, "DescribeProjects", ProjectNames=["lot"])["ProjectDescriptions"][0]["Datasets"] == []
    assert again != project


def test_delete_project_with_a_version_is_in_use(core, clock):
    project = _project_with_datasets(core, clock)
    _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)
    code, message = _error(core, "DeleteProject", ProjectArn=project)
    assert code == "ResourceInUseException" and "DeleteProjectVersion" in message


def _article_core() -> FakeRekognition:
    """The replay fake with the built-in article model declared (as ``rclsim.get_backend()`` makes it)."""
    from rclsim.backends import get_backend

    return get_backend("replay").core  # type: ignore[attr-defined,no-any-return]


def test_declared_project_cannot_be_deleted():
    core = _article_core()
    code, message = _error(core, "DeleteProject", region=None, ProjectArn=rclsim.ARTICLE_PROJECT_ARN)
    assert code == "InvalidParameterException" and "models.json" in message


# -- training ----------------------------------------------------------------------------------------
def test_training_takes_the_simulated_time_then_completes_with_an_evaluation(core, clock, s3):
    project = _project_with_datasets(core, clock)
    start = clock.now()
    arn = _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]
    assert arn.startswith(project.rsplit("/", 1)[0] + "/version/v1/")
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_IN_PROGRESS"
    assert "EvaluationResult" not in row and "BillableTrainingTimeInSeconds" not in row
    expected = training_seconds(30)
    clock.advance(expected - 1)
    assert _describe(core, project, "v1")["Status"] == "TRAINING_IN_PROGRESS"
    assert _error(core, "StartProjectVersion", ProjectVersionArn=arn, MinInferenceUnits=1)[0] == (
        "ResourceInUseException"
    )
    clock.advance(2)
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_COMPLETED"
    assert row["BillableTrainingTimeInSeconds"] == round(expected)
    assert row["CreationTimestamp"] == dt.datetime.fromtimestamp(start, dt.timezone.utc)
    assert 0.0 <= row["EvaluationResult"]["F1Score"] <= 1.0
    summary_at = row["EvaluationResult"]["Summary"]["S3Object"]
    assert summary_at == {"Bucket": "out", "Name": "lot/EvaluationResultSummary-lot-v1.json"}
    summary = json.loads(s3.get(summary_at["Bucket"], summary_at["Name"]))
    assert summary["AggregatedEvaluationResults"]["Metrics"]["F1Score"] == pytest.approx(
        row["EvaluationResult"]["F1Score"]
    )
    assert {r["Label"] for r in summary["LabelEvaluationResults"]} == {"car", "plate"}
    assert "EvaluationEndTimestamp" in summary["EvaluationDetails"]
    for kind in ("TrainingGroundTruth", "TestingGroundTruth"):
        lines = s3.get("out", f"lot/{kind}-lot-v1.json").decode().splitlines()
        assert lines and all(json.loads(line)["source-ref"].startswith("s3://data/") for line in lines)
    # the meter bills the training hours once it has succeeded
    assert _training_hours(core) == pytest.approx(expected / 3600, rel=1e-3)


def test_trained_version_serves_detect_through_start_and_stop(core, clock, s3):
    project = _project_with_datasets(core, clock)
    arn = _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]
    clock.advance(48 * 3600)
    image = {"S3Object": {"Bucket": "data", "Name": "imgs/2.jpg"}}
    assert (
        _error(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=image)[0]
        == "ResourceNotReadyException"
    )
    assert _call(core, "StartProjectVersion", ProjectVersionArn=arn, MinInferenceUnits=1) == {
        "Status": "STARTING"
    }
    clock.advance(3600)
    by_key = _call(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=image, MinConfidence=0)
    by_bytes = _call(
        core,
        "DetectCustomLabels",
        ProjectVersionArn=arn,
        Image={"Bytes": s3.get("data", "imgs/2.jpg")},
        MinConfidence=0,
    )
    assert by_key == by_bytes and by_key["CustomLabels"]
    assert {label["Name"] for label in by_key["CustomLabels"]} <= {"car", "plate"}
    unknown = {"Bytes": _image(999)}
    code, message = _error(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=unknown)
    assert code == "RecordingNotFoundException" and "dataset" in message
    assert _call(core, "StopProjectVersion", ProjectVersionArn=arn) == {"Status": "STOPPING"}
    clock.advance(3600)
    assert _describe(core, project, "v1")["Status"] == "STOPPED"


def test_training_from_training_data_with_auto_created_test_data(core, clock):
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    _call(
        core,
        "CreateProjectVersion",
        ProjectArn=project,
        VersionName="v1",
        OutputConfig=OUTPUT,
        TrainingData=_assets("all.manifest"),
        TestingData={"AutoCreate": True},
    )
    clock.advance(48 * 3600)
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_COMPLETED"
    assert row["TrainingDataResult"]["Input"] == _assets("all.manifest")
    assert row["TestingDataResult"]["Input"] == {"AutoCreate": True}


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"TrainingData": _assets("all.manifest")}, "both TrainingData and TestingData"),
        ({}, "no TRAIN and no TEST dataset"),
        (
            {
                "TrainingData": _assets("all.manifest"),
                "TestingData": {"AutoCreate": True, **_assets("test.manifest")},
            },
            "both Assets and AutoCreate",
        ),
    ],
)
def test_create_version_bad_data_is_invalid_parameter(core, extra, message):
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    code, text = _error(
        core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT, **extra
    )
    assert code == "InvalidParameterException" and message in text


def test_create_version_data_given_to_a_project_with_datasets(core, clock):
    project = _project_with_datasets(core, clock)
    code, text = _error(
        core,
        "CreateProjectVersion",
        ProjectArn=project,
        VersionName="v1",
        OutputConfig=OUTPUT,
        TrainingData=_assets("all.manifest"),
        TestingData={"AutoCreate": True},
    )
    assert code == "InvalidParameterException" and "has datasets" in text


def test_create_version_while_a_dataset_is_importing_is_in_use(core, clock):
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    for kind in ("TRAIN", "TEST"):
        source = {"GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": f"{kind.lower()}.manifest"}}}
        _call(core, "CreateDataset", ProjectArn=project, DatasetType=kind, DatasetSource=source)
    code, text = _error(
        core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT
    )
    assert code == "ResourceInUseException" and "CREATE_IN_PROGRESS" in text


def test_create_version_unknown_project_and_used_name(core, clock):
    project = _project_with_datasets(core, clock)
    missing = project.rsplit("/", 1)[0] + "x/1"
    assert _error(core, "CreateProjectVersion", ProjectArn=missing, VersionName="v1", OutputConfig=OUTPUT)[
        0
    ] == ("ResourceNotFoundException")
    _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)
    assert _error(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)[
        0
    ] == ("ResourceInUseException")


def test_unreadable_training_manifest_fails_the_training_not_the_call(core, clock):
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    arn = _call(
        core,
        "CreateProjectVersion",
        ProjectArn=project,
        VersionName="v1",
        OutputConfig=OUTPUT,
        TrainingData=_assets("nope.manifest"),
        TestingData={"AutoCreate": True},
    )["ProjectVersionArn"]
    clock.advance(48 * 3600)
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_FAILED"
    assert "s3://data/nope.manifest" in row["StatusMessage"]
    assert "EvaluationResult" not in row
    assert _training_hours(core) == 0
    code, _ = _error(core, "StartProjectVersion", ProjectVersionArn=arn, MinInferenceUnits=1)
    assert code == "InvalidParameterException"


def test_no_s3_store_says_how_to_give_one(clock):
    core = _core(None, clock)
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    _call(
        core,
        "CreateProjectVersion",
        ProjectArn=project,
        VersionName="v1",
        OutputConfig=OUTPUT,
        TrainingData=_assets("all.manifest"),
        TestingData={"AutoCreate": True},
    )
    clock.advance(48 * 3600)
    assert "--s3-dir" in _describe(core, project, "v1")["StatusMessage"]


def test_stop_while_training_fails_it_and_bills_nothing(core, clock):
    project = _project_with_datasets(core, clock)
    arn = _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]
    assert _call(core, "StopProjectVersion", ProjectVersionArn=arn) == {"Status": "TRAINING_FAILED"}
    clock.advance(48 * 3600)
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_FAILED" and "stopped" in row["StatusMessage"]
    assert _training_hours(core) == 0


def test_training_state_is_shared_through_the_state_file(s3, clock, tmp_path):
    first = _core(s3, clock, state=StateStore(tmp_path))
    project = _project_with_datasets(first, clock)
    _call(first, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)
    second = _core(s3, clock, state=StateStore(tmp_path))  # another process, say
    assert _describe(second, project, "v1")["Status"] == "TRAINING_IN_PROGRESS"
    clock.advance(48 * 3600)
    assert _describe(second, project, "v1")["Status"] == "TRAINING_COMPLETED"
    assert (
        _describe(first, project, "v1")["EvaluationResult"]
        == _describe(second, project, "v1")["EvaluationResult"]
    )


# -- deleting and copying versions ---------------------------------------------------------------------
def _trained(core: FakeRekognition, clock: ManualClock) -> tuple[str, str]:
    project = _project_with_datasets(core, clock)
    arn = _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]
    clock.advance(48 * 3600)
    return project, arn


def test_delete_version(core, clock):
    project, arn = _trained(core, clock)
    _call(core, "StartProjectVersion", ProjectVersionArn=arn, MinInferenceUnits=1)
    for status in ("STARTING", "RUNNING"):
        assert _describe(core, project, "v1")["Status"] == status
        assert _error(core, "DeleteProjectVersion", ProjectVersionArn=arn)[0] == "ResourceInUseException"
        clock.advance(3600)
    _call(core, "StopProjectVersion", ProjectVersionArn=arn)
    clock.advance(3600)
    assert _call(core, "DeleteProjectVersion", ProjectVersionArn=arn) == {"Status": "DELETING"}
    assert _call(core, "DescribeProjectVersions", ProjectArn=project)["ProjectVersionDescriptions"] == []
    assert _error(core, "DeleteProjectVersion", ProjectVersionArn=arn)[0] == "ResourceNotFoundException"
    image = {"S3Object": {"Bucket": "data", "Name": "imgs/2.jpg"}}
    assert (
        _error(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=image)[0]
        == "ResourceNotFoundException"
    )
    _call(core, "DeleteProject", ProjectArn=project)  # now empty


def test_delete_version_while_training_is_in_use(core, clock):
    project = _project_with_datasets(core, clock)
    arn = _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)[
        "ProjectVersionArn"
    ]
    assert _error(core, "DeleteProjectVersion", ProjectVersionArn=arn)[0] == "ResourceInUseException"


def test_declared_version_cannot_be_deleted():
    core = _article_core()
    code, message = _error(
        core, "DeleteProjectVersion", region=None, ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN
    )
    assert code == "InvalidParameterException" and "models.json" in message


def test_copy_version(core, clock):
    project, arn = _trained(core, clock)
    other = _call(core, "CreateProject", ProjectName="shared")["ProjectArn"]
    copy = _call(
        core,
        "CopyProjectVersion",
        SourceProjectArn=project,
        SourceProjectVersionArn=arn,
        DestinationProjectArn=other,
        VersionName="copied",
        OutputConfig={"S3Bucket": "out", "S3KeyPrefix": "copies/"},
        Tags={"from": "lot"},
    )["ProjectVersionArn"]
    assert ":project/shared/version/copied/" in copy
    assert _describe(core, other, "copied")["Status"] == "COPYING_IN_PROGRESS"
    clock.advance(3600)
    row = _describe(core, other, "copied")
    assert row["Status"] == "COPYING_COMPLETED"
    assert row["EvaluationResult"]["F1Score"] == _describe(core, project, "v1")["EvaluationResult"]["F1Score"]
    assert _call(core, "ListTagsForResource", ResourceArn=copy)["Tags"] == {"from": "lot"}
    for version in (arn, copy):
        _call(core, "StartProjectVersion", ProjectVersionArn=version, MinInferenceUnits=1)
    clock.advance(3600)
    image = {"S3Object": {"Bucket": "data", "Name": "imgs/5.jpg"}}
    assert _call(core, "DetectCustomLabels", ProjectVersionArn=copy, Image=image) == _call(
        core, "DetectCustomLabels", ProjectVersionArn=arn, Image=image
    )
    # copying is not training: billed once
    assert _training_hours(core) == pytest.approx(training_seconds(30) / 3600, rel=1e-3)


def test_copy_version_errors(core, clock):
    project, arn = _trained(core, clock)
    base = {
        "SourceProjectArn": project,
        "SourceProjectVersionArn": arn,
        "DestinationProjectArn": project,
        "VersionName": "v1",
        "OutputConfig": OUTPUT,
    }
    assert _error(core, "CopyProjectVersion", **base)[0] == "ResourceInUseException"  # name used
    missing = {**base, "VersionName": "v2", "SourceProjectVersionArn": arn.rsplit("/", 1)[0] + "/1"}
    assert _error(core, "CopyProjectVersion", **missing)[0] == "ResourceNotFoundException"
    nowhere = {**base, "VersionName": "v2", "DestinationProjectArn": project.rsplit("/", 1)[0] + "x/1"}
    assert _error(core, "CopyProjectVersion", **nowhere)[0] == "ResourceNotFoundException"
    training = _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v3", OutputConfig=OUTPUT)
    busy = {**base, "VersionName": "v4", "SourceProjectVersionArn": training["ProjectVersionArn"]}
    assert _error(core, "CopyProjectVersion", **busy)[0] == "ResourceInUseException"


def test_another_regions_arn_is_not_found(core, clock):
    project, arn = _trained(core, clock)
    for op, params in [
        ("DeleteProject", {"ProjectArn": project}),
        ("DeleteProjectVersion", {"ProjectVersionArn": arn}),
        ("CreateProjectVersion", {"ProjectArn": project, "VersionName": "v9", "OutputConfig": OUTPUT}),
        ("ListTagsForResource", {"ResourceArn": project}),
    ]:
        assert _error(core, op, region="eu-west-1", **params)[0] == "ResourceNotFoundException"


def test_waiter_and_paginator_through_the_drop_in(s3, clock):
    """boto3's own waiter and paginator against the fake (instant training at time scale 0)."""
    import boto3

    core = _core(s3, clock, time_scale=0.0)
    from rclsim.backends.fake import FakeBackend

    with rclsim.mock(FakeBackend(core, region=REGION)):
        client = boto3.client("rekognition", region_name=REGION)
        project = client.create_project(ProjectName="lot")["ProjectArn"]
        for kind in ("train", "test"):
            client.create_dataset(
                ProjectArn=project,
                DatasetType=kind.upper(),
                DatasetSource={
                    "GroundTruthManifest": {"S3Object": {"Bucket": "data", "Name": f"{kind}.manifest"}}
                },
            )
        client.create_project_version(ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)
        client.get_waiter("project_version_training_completed").wait(
            ProjectArn=project, VersionNames=["v1"], WaiterConfig={"Delay": 0, "MaxAttempts": 2}
        )
        pages = client.get_paginator("describe_projects").paginate(PaginationConfig={"PageSize": 1})
        assert project in [p["ProjectArn"] for page in pages for p in page["ProjectDescriptions"]]


def test_manifest_summary_is_written_where_describe_says(core, clock, s3):
    project = _project_with_datasets(core, clock)
    _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)
    clock.advance(48 * 3600)
    where = _describe(core, project, "v1")["ManifestSummary"]["S3Object"]
    summary = json.loads(s3.get(where["Bucket"], where["Name"]))
    assert summary["errors"] == []
    assert set(summary["statistics"]) == {"training", "testing"}
    assert summary["statistics"]["training"]["use_case"] == "OBJECT_LOCALIZATION"


def test_a_refused_manifest_fails_training_and_its_summary_says_why(core, clock, s3):
    s3.put("data", "garbage.manifest", b"\x00\x01 not json at all\n")
    project = _call(core, "CreateProject", ProjectName="lot")["ProjectArn"]
    params = {"ProjectArn": project, "VersionName": "v1", "OutputConfig": OUTPUT}
    _call(
        core,
        "CreateProjectVersion",
        **params,
        TrainingData=_assets("garbage.manifest"),
        TestingData={"AutoCreate": True},
    )
    clock.advance(48 * 3600)
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_FAILED"
    assert "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT" in row["StatusMessage"]
    where = row["ManifestSummary"]["S3Object"]
    summary = json.loads(s3.get(where["Bucket"], where["Name"]))
    assert summary["errors"][0]["code"] == "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT"
    with pytest.raises(KeyError):  # nothing else was written for a failed training
        s3.get("out", "lot/EvaluationResultSummary-lot-v1.json")


def _reencoded(data: bytes) -> bytes:
    """What AWS's local-image sample does to an image before sending it (a decode and a re-save)."""
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 85])[1].tobytes()


@pytest.mark.parametrize("match_pixels", [False, True])
def test_a_re_saved_image_matches_a_trained_version_only_with_the_pixel_match(s3, clock, match_pixels):
    from rclsim.data.phash import PHASH

    core = FakeRekognition(
        ReplaySource(RecordingStore()),
        declarations=Declarations.load([]),
        clock=clock,
        time_scale=1.0,
        objects=s3,
        pixels=PHASH if match_pixels else None,
    )
    _, arn = _trained(core, clock)
    _call(core, "StartProjectVersion", ProjectVersionArn=arn, MinInferenceUnits=1)
    clock.advance(3600)
    original = s3.get("data", "imgs/7.jpg")
    resaved = _reencoded(original)
    assert resaved != original
    if not match_pixels:
        code, _ = _error(core, "DetectCustomLabels", ProjectVersionArn=arn, Image={"Bytes": resaved})
        assert code == "RecordingNotFoundException"
        return
    answer = _call(
        core, "DetectCustomLabels", ProjectVersionArn=arn, Image={"Bytes": resaved}, MinConfidence=0
    )
    assert answer == _call(
        core, "DetectCustomLabels", ProjectVersionArn=arn, Image={"Bytes": original}, MinConfidence=0
    )
    picture = np.zeros((240, 320, 3), np.uint8)
    cv2.circle(picture, (230, 150), 70, (255, 128, 0), -1)
    other = cv2.imencode(".jpg", picture)[1].tobytes()  # same size, another picture: still not found
    code, _ = _error(core, "DetectCustomLabels", ProjectVersionArn=arn, Image={"Bytes": other})
    assert code == "RecordingNotFoundException"


def test_every_output_file_describe_names_exists(core, clock, s3):
    """Code that follows DescribeProjectVersions' S3 locations finds an object at each."""
    project = _project_with_datasets(core, clock)
    _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=OUTPUT)
    clock.advance(48 * 3600)
    row = _describe(core, project, "v1")
    named = [row["EvaluationResult"]["Summary"]["S3Object"], row["ManifestSummary"]["S3Object"]]
    for result in (row["TrainingDataResult"], row["TestingDataResult"]):
        for part in ("Output", "Validation"):
            named += [a["GroundTruthManifest"]["S3Object"] for a in result[part]["Assets"]]
    assert len(named) == 6
    for where in named:
        assert s3.get(where["Bucket"], where["Name"]), where


def test_output_that_cannot_be_written_leaves_the_version_trained_and_says_so(core, clock, s3):
    project = _project_with_datasets(core, clock)
    nowhere = {"S3Bucket": "no-such-bucket", "S3KeyPrefix": "x/"}
    _call(core, "CreateProjectVersion", ProjectArn=project, VersionName="v1", OutputConfig=nowhere)
    clock.advance(48 * 3600)
    row = _describe(core, project, "v1")
    assert row["Status"] == "TRAINING_COMPLETED"
    assert "(rclsim: the training output could not be written" in row["StatusMessage"]
    assert "has no bucket 'no-such-bucket' (OutputConfig.S3Bucket" in row["StatusMessage"]
    assert "no-such-bucket" not in s3.buckets  # nothing was created behind the user's back


def test_an_image_a_trained_model_never_saw_answers_no_labels_with_the_default_opt_in(s3, clock):
    core = _core(s3, clock)
    _, arn = _trained(core, clock)
    _call(core, "StartProjectVersion", ProjectVersionArn=arn, MinInferenceUnits=1)
    clock.advance(3600)
    unseen = {"Bytes": _reencoded(_image(4242))}
    assert (
        _error(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=unseen)[0]
        == "RecordingNotFoundException"
    )
    core.control.source.default_answer = True  # what --match default sets (the backend passes it)
    assert _call(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=unseen) == {"CustomLabels": []}
    seen = {"S3Object": {"Bucket": "data", "Name": "imgs/2.jpg"}}
    assert _call(core, "DetectCustomLabels", ProjectVersionArn=arn, Image=seen, MinConfidence=0)[
        "CustomLabels"
    ]


def test_match_default_reaches_trained_models_through_the_backend():
    import rclsim

    assert rclsim.get_backend("replay", match="default").core.control.default_answer is True
    assert rclsim.get_backend("replay").core.control.default_answer is False
