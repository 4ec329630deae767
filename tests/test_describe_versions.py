"""DescribeProjectVersions: the members the service returns for a trained version, shaped as botocore's
model says, AWS's describe-a-model sample (our own equivalent) running unchanged, and pagination."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.service.apimodel import operation_model
from rclsim.service.constraints import compile_pattern

PROJECT = rclsim.ARTICLE_PROJECT_ARN
ARTICLE = rclsim.ARTICLE_MODEL_ARN
ARTICLE_VERSION = "licence-plates.2021-01-01T00.00.00"
SECOND = ARTICLE.replace("2021-01-01T00.00.00/1609459200000", "2021-01-02T00.00.00/1609545600000")
OP = "DescribeProjectVersions"
#: What the model says a description of a trained version holds (derived from the model, not retyped:
#: every member but the ones for copied versions, KMS keys and adapters).
TRAINED_MEMBERS = set(
    operation_model(OP).output_shape.members["ProjectVersionDescriptions"].member.members
) - {"KmsKeyId", "SourceProjectVersionArn", "Feature", "BaseModelVersion", "FeatureConfig"}
#: The statuses a models.json may declare (rclsim's schema).
DECLARABLE = ["TRAINING_IN_PROGRESS", "TRAINING_COMPLETED", "TRAINING_FAILED", "RUNNING", "FAILED", "STOPPED"]
NEVER_TRAINED = {"TRAINING_IN_PROGRESS", "TRAINING_FAILED"}
SHOP_PROJECT = "arn:aws:rekognition:us-east-1:111122223333:project/shop/1700000000000"
SHOP = "arn:aws:rekognition:us-east-1:111122223333:project/shop"


def code_of(info: pytest.ExceptionInfo[BaseException]) -> str:
    return info.value.response["Error"]["Code"]  # type: ignore[attr-defined,no-any-return]


# -- a recursive check against botocore's output shape ---------------------------------------------------
def shape_problems(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Every way ``value`` breaks botocore's ``shape``: unknown or missing required members, wrong types,
    values outside an enum, a length or range, or (anchored in full) a pattern."""
    kind = shape.type_name
    meta = shape.metadata
    problems: list[str] = []
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not a structure ({shape.name})"]
        for name in shape.required_members:
            if name not in value:
                problems.append(f"{path}: required member {name} missing")
        for name, member in value.items():
            if name not in shape.members:
                problems.append(f"{path}: {name} is not a member of {shape.name}")
            else:
                problems += shape_problems(member, shape.members[name], f"{path}.{name}")
        return problems
    if kind == "list":
        if not isinstance(value, list):
            return [f"{path}: {type(value).__name__}, not a list ({shape.name})"]
        problems += _range(len(value), meta, path, "length")
        for i, item in enumerate(value):
            problems += shape_problems(item, shape.member, f"{path}[{i}]")
        return problems
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__}, not a map ({shape.name})"]
        problems += _range(len(value), meta, path, "length")
        for key, item in value.items():
            problems += shape_problems(key, shape.key, f"{path} key")
            problems += shape_problems(item, shape.value, f"{path}[{key!r}]")
        return problems
    if kind == "blob":
        return [] if isinstance(value, (bytes, bytearray)) else [f"{path}: {type(value).__name__}, not bytes"]
    if kind == "string":
        if not isinstance(value, str):
            return [f"{path}: {type(value).__name__}, not a string ({shape.name})"]
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.enum}")
        problems += _range(len(value), meta, path, "length")
        pattern = meta.get("pattern")
        if pattern and not compile_pattern(pattern).fullmatch(value):
            problems.append(f"{path}: {value!r} does not match {pattern}")
        return problems
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{path}: {value!r} is not an integer ({shape.name})"]
        return _range(value, meta, path, "value")
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f"{path}: {value!r} is not a number ({shape.name})"]
        return _range(value, meta, path, "value")
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if kind == "timestamp":
        if not isinstance(value, dt.datetime) or value.tzinfo is None:
            return [f"{path}: {value!r} is not a time-zone-aware datetime"]
        return []
    return [f"{path}: no check for shape type {kind}"]


def _range(n: float, meta: dict[str, Any], path: str, what: str) -> list[str]:
    out = []
    if "min" in meta and n < meta["min"]:
        out.append(f"{path}: {what} {n} below the model's minimum {meta['min']}")
    if "max" in meta and n > meta["max"]:
        out.append(f"{path}: {what} {n} above the model's maximum {meta['max']}")
    return out


def assert_valid(response: dict[str, Any]) -> None:
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    problems = shape_problems(body, operation_model(OP).output_shape)
    assert not problems, "\n".join(problems)


def test_the_shape_check_catches_what_it_should() -> None:
    """The checker above is not a test that cannot fail."""
    shape = operation_model(OP).output_shape
    bad = {
        "ProjectVersionDescriptions": [
            {
                "Status": "SLEEPING",
                "EvaluationResult": {"F1Score": "high", "Summary": {"S3Object": {"Bucket": "a b"}}},
                "BillableTrainingTimeInSeconds": -1,
                "CreationTimestamp": dt.datetime(2021, 1, 1),
                "OutputConfig": {"Bucket": "x"},
                "TestingDataResult": {"Input": {"AutoCreate": "yes"}},
            }
        ],
        "NextToken": "x" * 1025,
    }
    text = "\n".join(shape_problems(bad, shape))
    for expected in (
        "SLEEPING",
        "'high'",
        "'a b'",
        "-1",
        "time-zone-aware",
        "Bucket is not a member",
        "'yes'",
        "length 1025",
    ):
        assert expected in text


# -- helpers ---------------------------------------------------------------------------------------------
def declare(folder: Path, versions: list[dict[str, Any]], project: str = SHOP_PROJECT) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    data = {
        "format": "rclsim.models",
        "format_version": 1,
        "projects": [
            {"ProjectArn": project, "CreationTimestamp": "2023-11-14T00:00:00Z", "versions": versions}
        ],
    }
    (folder / "models.json").write_text(json.dumps(data))
    return project


def shop_version(n: int, status: str = "TRAINING_COMPLETED", **extra: object) -> dict[str, Any]:
    return {
        "ProjectVersionArn": f"{SHOP}/version/shop.v{n}/17000000{n:05d}",
        "Status": status,
        "CreationTimestamp": f"2023-11-{14 + n:02d}T00:00:00Z",
        **extra,
    }


def by_arn(response: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["ProjectVersionArn"]: d for d in response["ProjectVersionDescriptions"]}


def every_status_of(backend: rclsim.Backend, clock: ManualClock, arn: str, project: str) -> Iterator[str]:
    """Walk a startable version through STARTING, RUNNING, STOPPING and STOPPED (time scale 1), yielding
    each status while the version is in it."""
    backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=2, MaxInferenceUnits=3)
    yield "STARTING"
    clock.advance(600)
    yield "RUNNING"
    backend.stop_project_version(ProjectVersionArn=arn)
    yield "STOPPING"
    clock.advance(60)
    yield "STOPPED"


# -- item 1: the members of a trained version ------------------------------------------------------------
def test_a_trained_version_has_every_member_the_service_returns() -> None:
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock, time_scale=1)
    seen = []

    def check(expected_status: str) -> None:
        row = by_arn(backend.describe_project_versions(ProjectArn=PROJECT, VersionNames=[ARTICLE_VERSION]))[
            ARTICLE
        ]
        assert row["Status"] == expected_status
        missing = (
            TRAINED_MEMBERS - set(row) - {"MinInferenceUnits", "MaxInferenceUnits", "VersionDescription"}
        )
        assert not missing, f"{expected_status}: {sorted(missing)} missing"
        evaluation = row["EvaluationResult"]
        assert isinstance(evaluation["F1Score"], float) and 0 <= evaluation["F1Score"] <= 1
        summary = evaluation["Summary"]["S3Object"]
        # Invented defaults, derived from the ARN (account 123456789012, project licence-plates).
        assert row["OutputConfig"] == {
            "S3Bucket": "rclsim-output-123456789012",
            "S3KeyPrefix": "licence-plates/",
        }
        assert summary == {
            "Bucket": "rclsim-output-123456789012",
            "Name": f"licence-plates/EvaluationResultSummary-licence-plates-{ARTICLE_VERSION}.json",
        }
        assert row["ManifestSummary"]["S3Object"]["Name"].startswith("licence-plates/ManifestSummary-")
        for result in ("TrainingDataResult", "TestingDataResult"):
            for part in ("Input", "Output", "Validation"):
                asset = row[result][part]["Assets"][0]["GroundTruthManifest"]["S3Object"]
                assert asset["Bucket"] and asset["Name"], (result, part)
        assert row["BillableTrainingTimeInSeconds"] == 8 * 3600 + 45 * 60  # the article: 8 h 45 min
        assert row["CreationTimestamp"] == dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc)
        assert row["TrainingEndTimestamp"] == dt.datetime(2021, 1, 1, 8, 45, tzinfo=dt.timezone.utc)
        if expected_status != "TRAINING_COMPLETED":
            assert (row["MinInferenceUnits"], row["MaxInferenceUnits"]) == (2, 3)
        assert_valid({"ProjectVersionDescriptions": [row]})
        seen.append(expected_status)

    check("TRAINING_COMPLETED")
    for status in every_status_of(backend, clock, ARTICLE, PROJECT):
        check(status)
    assert seen == ["TRAINING_COMPLETED", "STARTING", "RUNNING", "STOPPING", "STOPPED"]


@pytest.mark.parametrize("status", sorted(NEVER_TRAINED))
def test_a_version_that_never_trained_has_no_evaluation_or_billed_training(
    tmp_path: Path, status: str
) -> None:
    project = declare(tmp_path, [shop_version(1, status, TrainingSeconds=100)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    (row,) = backend.describe_project_versions(ProjectArn=project)["ProjectVersionDescriptions"]
    assert row["Status"] == status
    for absent in ("EvaluationResult", "BillableTrainingTimeInSeconds", "TrainingEndTimestamp"):
        assert absent not in row
    # What the caller asked for when training was requested is still described.
    assert row["OutputConfig"] == {"S3Bucket": "rclsim-output-111122223333", "S3KeyPrefix": "shop/"}
    assert row["TrainingDataResult"]["Input"]["Assets"]
    assert "Output" not in row["TrainingDataResult"]
    assert_valid({"ProjectVersionDescriptions": [row]})


def test_a_declared_f1_score_gets_the_summary_location_the_service_always_gives(tmp_path: Path) -> None:
    """A models.json that declares only the F1 score (the schema allows it) used to be answered with an
    EvaluationResult without Summary: AWS's sample then failed with KeyError: 'Summary'."""
    project = declare(tmp_path, [shop_version(1, EvaluationResult={"F1Score": 0.83})])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    (row,) = backend.describe_project_versions(ProjectArn=project)["ProjectVersionDescriptions"]
    assert row["EvaluationResult"] == {
        "F1Score": 0.83,
        "Summary": {
            "S3Object": {
                "Bucket": "rclsim-output-111122223333",
                "Name": "shop/EvaluationResultSummary-shop-shop.v1.json",
            }
        },
    }
    summary_only = {"Summary": {"S3Object": {"Bucket": "my-results", "Name": "eval/summary.json"}}}
    declare(tmp_path, [shop_version(1, EvaluationResult=summary_only)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    (row,) = backend.describe_project_versions(ProjectArn=project)["ProjectVersionDescriptions"]
    assert row["EvaluationResult"]["Summary"] == summary_only["Summary"]
    assert isinstance(row["EvaluationResult"]["F1Score"], float)


DECLARED_DATA = {
    "OutputConfig": {"S3Bucket": "shop-models", "S3KeyPrefix": "runs/v1"},
    "ManifestSummary": {"S3Object": {"Bucket": "shop-models", "Name": "runs/v1/summary.json"}},
    "TrainingDataResult": {
        "Input": {
            "Assets": [
                {"GroundTruthManifest": {"S3Object": {"Bucket": "shop-data", "Name": "train.manifest"}}}
            ]
        }
    },
    "TestingDataResult": {"Input": {"AutoCreate": True}},
    "MaxInferenceUnits": 4,
    "MinInferenceUnits": 2,
}


def check_declared(row: dict[str, Any]) -> None:
    assert row["OutputConfig"] == DECLARED_DATA["OutputConfig"]
    assert row["ManifestSummary"] == DECLARED_DATA["ManifestSummary"]
    assert row["TrainingDataResult"]["Input"] == DECLARED_DATA["TrainingDataResult"]["Input"]
    # Parts not declared follow the declared OutputConfig (S3KeyPrefix joined with "/").
    output = row["TrainingDataResult"]["Output"]["Assets"][0]["GroundTruthManifest"]["S3Object"]
    assert output == {"Bucket": "shop-models", "Name": "runs/v1/TrainingGroundTruth-shop-shop.v1.json"}
    assert row["TestingDataResult"]["Input"] == {"AutoCreate": True}
    assert row["TestingDataResult"]["Output"]["AutoCreate"] is True
    assert row["EvaluationResult"]["Summary"]["S3Object"] == {
        "Bucket": "shop-models",
        "Name": "runs/v1/EvaluationResultSummary-shop-shop.v1.json",
    }
    assert (row["MinInferenceUnits"], row["MaxInferenceUnits"]) == (2, 4)
    assert_valid({"ProjectVersionDescriptions": [row]})


def test_declared_training_data_and_output_config_are_described() -> None:
    """The keys a models.json may give (named as the API names them) replace the invented defaults.
    Loaded here through Declarations' own reader of one project (the file's schema is checked apart)."""
    backend = rclsim.get_backend("replay", include_builtin=False)
    backend.core.lifecycle.declarations.add_project(  # type: ignore[attr-defined]
        {"ProjectArn": SHOP_PROJECT, "versions": [shop_version(1, "RUNNING", **DECLARED_DATA)]}
    )
    (row,) = backend.describe_project_versions(ProjectArn=SHOP_PROJECT)["ProjectVersionDescriptions"]
    check_declared(row)


def test_declared_training_data_and_output_config_load_from_models_json(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(1, "RUNNING", **DECLARED_DATA)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    (row,) = backend.describe_project_versions(ProjectArn=project)["ProjectVersionDescriptions"]
    check_declared(row)


# -- item 2: an equivalent of AWS's describe-a-model sample -----------------------------------------------
def describe_model(client: Any, project_arn: str, version_name: str, out: io.StringIO) -> None:
    """What AWS's Custom Labels guide sample does (written afresh): describe one version and print its
    status, evaluation and billing, reading the members without .get()."""
    response = client.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    for model in response["ProjectVersionDescriptions"]:
        print("Status:", model["Status"], file=out)
        print("Message:", model["StatusMessage"], file=out)
        print("Model ARN:", model["ProjectVersionArn"], file=out)
        print("Created:", model["CreationTimestamp"].isoformat(), file=out)
        print("Billed training seconds:", model["BillableTrainingTimeInSeconds"], file=out)
        evaluation = model["EvaluationResult"]
        print("F1 score:", evaluation["F1Score"], file=out)
        location = evaluation["Summary"]["S3Object"]
        print(f"Summary: s3://{location['Bucket']}/{location['Name']}", file=out)


def sample_output(client: Any) -> str:
    out = io.StringIO()
    describe_model(client, PROJECT, ARTICLE_VERSION, out)
    return out.getvalue()


def expected_sample_lines() -> list[str]:
    return [
        "Status: TRAINING_COMPLETED",
        f"Model ARN: {ARTICLE}",
        "Created: 2021-01-01T00:00:00+00:00",
        "Billed training seconds: 31500",
        "Summary: s3://rclsim-output-123456789012/licence-plates/EvaluationResultSummary-licence-plates-"
        f"{ARTICLE_VERSION}.json",
    ]


def test_aws_describe_sample_runs_on_the_backend_api() -> None:
    text = sample_output(rclsim.get_backend("replay"))
    for line in expected_sample_lines():
        assert line in text.splitlines()
    assert "F1 score: " in text


def test_aws_describe_sample_runs_on_a_boto3_client_under_the_mock() -> None:
    with rclsim.mock():
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        text = sample_output(client)
        response = client.describe_project_versions(ProjectArn=PROJECT)
    for line in expected_sample_lines():
        assert line in text.splitlines()
    assert_valid(response)
    assert len(response["ProjectVersionDescriptions"]) == 2


# -- item 3: every response validates against botocore's output shape ------------------------------------
def test_every_builtin_version_in_every_status_validates() -> None:
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock, time_scale=1)
    versions = backend.describe_project_versions(ProjectArn=PROJECT)["ProjectVersionDescriptions"]
    assert {v["ProjectVersionArn"] for v in versions} == {ARTICLE, SECOND}
    checked = 0
    for version in (ARTICLE, SECOND):
        for _status in every_status_of(backend, clock, version, PROJECT):
            response = backend.describe_project_versions(ProjectArn=PROJECT)
            assert_valid(response)
            for page in backend.get_paginator("describe_project_versions").paginate(
                ProjectArn=PROJECT, PaginationConfig={"PageSize": 1}
            ):
                assert_valid(page)
            checked += 1
    assert checked == 8


def test_every_declarable_status_validates(tmp_path: Path) -> None:
    versions = [
        shop_version(i + 1, status, TrainingSeconds=3600 + i, VersionDescription="shop (v1): test;")
        for i, status in enumerate(DECLARABLE)
    ]
    versions.append(shop_version(9, "TRAINING_COMPLETED"))  # nothing but the required keys
    versions.append(shop_version(8, "RUNNING", MinInferenceUnits=3, EvaluationResult={"F1Score": 1}))
    project = declare(tmp_path, versions)
    clock = ManualClock()
    backend = rclsim.get_backend(
        "replay", recordings=[tmp_path], include_builtin=False, clock=clock, time_scale=1
    )
    response = backend.describe_project_versions(ProjectArn=project)
    assert_valid(response)
    rows = by_arn(response)
    assert sorted(r["Status"] for r in rows.values()) == sorted(
        [*DECLARABLE, "TRAINING_COMPLETED", "RUNNING"]
    )
    for arn, row in rows.items():
        trained = row["Status"] not in NEVER_TRAINED
        assert ("EvaluationResult" in row) is trained, arn
        assert ("BillableTrainingTimeInSeconds" in row) is trained, arn
        assert "CreationTimestamp" in row and "OutputConfig" in row
    assert rows[f"{SHOP}/version/shop.v8/1700000000008"]["MinInferenceUnits"] == 3
    assert rows[f"{SHOP}/version/shop.v4/1700000000004"]["MinInferenceUnits"] == 1  # RUNNING, none declared
    # The integer F1 the file gave is described as the model's Float.
    assert rows[f"{SHOP}/version/shop.v8/1700000000008"]["EvaluationResult"]["F1Score"] == 1.0
    for _status in every_status_of(backend, clock, f"{SHOP}/version/shop.v2/1700000000002", project):
        assert_valid(backend.describe_project_versions(ProjectArn=project))
    with rclsim.mock(recordings=[tmp_path], include_builtin=False):
        client = boto3.client("rekognition", region_name="us-east-1")
        assert_valid(client.describe_project_versions(ProjectArn=project))


def test_a_version_implied_by_recordings_validates(tmp_path: Path) -> None:
    from .test_lifecycle import write_pets_recording

    arn = "arn:aws:rekognition:eu-west-1:111122223333:project/pets/version/pets.1/1700000000000"
    write_pets_recording(tmp_path / "r.json", arn, {"Sha256": "0" * 64}, [])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    backend.stop_project_version(ProjectVersionArn=arn)  # now the fake knows its project
    project = "arn:aws:rekognition:eu-west-1:111122223333:project/pets/1700000000000"
    response = backend.describe_project_versions(ProjectArn=project)
    assert_valid(response)
    (row,) = response["ProjectVersionDescriptions"]
    assert row["Status"] == "STOPPED"
    assert {"EvaluationResult", "CreationTimestamp", "BillableTrainingTimeInSeconds", "OutputConfig"} <= set(
        row
    )


# -- item 4: pagination ----------------------------------------------------------------------------------
def test_boto3_paginator_walks_every_page_under_the_mock(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(n) for n in range(1, 8)])
    with rclsim.mock(recordings=[tmp_path], include_builtin=False):
        client = boto3.client("rekognition", region_name="us-east-1")
        paginator = client.get_paginator("describe_project_versions")
        pages = list(paginator.paginate(ProjectArn=project, PaginationConfig={"PageSize": 3}))
        assert [len(p["ProjectVersionDescriptions"]) for p in pages] == [3, 3, 1]
        assert "NextToken" not in pages[-1]
        names = [
            d["ProjectVersionArn"].split("/")[-2] for p in pages for d in p["ProjectVersionDescriptions"]
        ]
        assert names == [f"shop.v{n}" for n in range(7, 0, -1)]  # newest first, each once
        for page in pages:
            assert_valid(page)
        # MaxItems and a resume token (botocore's own token over the service's) walk the rest.
        first = paginator.paginate(ProjectArn=project, PaginationConfig={"PageSize": 2, "MaxItems": 3})
        head = first.build_full_result()
        rest = paginator.paginate(
            ProjectArn=project, PaginationConfig={"PageSize": 2, "StartingToken": head["NextToken"]}
        ).build_full_result()
        walked = head["ProjectVersionDescriptions"] + rest["ProjectVersionDescriptions"]
        assert [d["ProjectVersionArn"].split("/")[-2] for d in walked] == names
        # The whole article project, as `rclsim status --project-arn` walks it.
        everything = paginator.paginate(ProjectArn=project).build_full_result()
        assert len(everything["ProjectVersionDescriptions"]) == 7


def forged(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "!!!!",
        forged([1, 2]),
        forged({"o": 10**400}),  # a JSON number no offset can be
        '{"o": 1e400}',
        forged({"o": -1, "k": "x"}),
        "x" * 1024,
    ],
)
def test_an_invalid_token_is_invalid_pagination_token(tmp_path: Path, token: str) -> None:
    project = declare(tmp_path, [shop_version(n) for n in range(1, 4)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    with pytest.raises(ClientError) as info:
        backend.describe_project_versions(ProjectArn=project, NextToken=token)
    assert code_of(info) == "InvalidPaginationTokenException"
    assert "\n" not in str(info.value)


def test_a_tampered_offset_in_a_real_token_is_refused(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(n) for n in range(1, 4)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    token = backend.describe_project_versions(ProjectArn=project, MaxResults=1)["NextToken"]
    data = json.loads(base64.urlsafe_b64decode(token))
    for offset in (float("inf"), 10**30, "1", None):
        data["o"] = offset
        with pytest.raises(ClientError) as info:
            backend.describe_project_versions(ProjectArn=project, NextToken=forged(data))
        assert code_of(info) == "InvalidPaginationTokenException"


def test_a_token_belongs_to_its_query_and_works_under_the_mock(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(n) for n in range(1, 4)])
    with rclsim.mock(recordings=[tmp_path], include_builtin=False):
        client = boto3.client("rekognition", region_name="us-east-1")
        first = client.describe_project_versions(ProjectArn=project, MaxResults=2)
        token = first["NextToken"]
        second = client.describe_project_versions(ProjectArn=project, MaxResults=2, NextToken=token)
        assert [d["ProjectVersionArn"].split("/")[-2] for d in second["ProjectVersionDescriptions"]] == [
            "shop.v1"
        ]
        with pytest.raises(ClientError) as info:
            client.describe_project_versions(ProjectArn=project, VersionNames=["shop.v2"], NextToken=token)
        assert code_of(info) == "InvalidPaginationTokenException"
        with pytest.raises(client.exceptions.InvalidPaginationTokenException):
            client.describe_project_versions(ProjectArn=project, NextToken="not-a-token")
