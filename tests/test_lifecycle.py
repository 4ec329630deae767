"""The model lifecycle: statuses, transitions in (scaled) time, errors, Describe*, cost, shared state."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from botocore.exceptions import ClientError, ParamValidationError
from botocore.validate import ParamValidator

import rclsim
from rclsim.fake.clock import ManualClock
from rclsim.fake.state import StateError
from rclsim.service.apimodel import operation_model

from .conftest import ARTICLE_ARN, ARTICLE_S3

PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION = "licence-plates.2021-01-01T00.00.00"
SECOND_ARN = ARTICLE_ARN.replace("2021-01-01T00.00.00/1609459200000", "2021-01-02T00.00.00/1609545600000")


def code_of(info: pytest.ExceptionInfo[BaseException]) -> str:
    return info.value.response["Error"]["Code"]  # type: ignore[attr-defined,no-any-return]


def status(backend: rclsim.Backend, arn: str = ARTICLE_ARN, project: str = PROJECT) -> str:
    name = arn.split("/version/")[1].rsplit("/", 1)[0]
    found = backend.describe_project_versions(ProjectArn=project, VersionNames=[name])
    return found["ProjectVersionDescriptions"][0]["Status"]  # type: ignore[no-any-return]


def detect(backend: rclsim.Backend, arn: str = ARTICLE_ARN) -> dict:
    return backend.detect_custom_labels(ProjectVersionArn=arn, Image=ARTICLE_S3, MinConfidence=75)


def test_the_articles_order_start_detect_stop() -> None:
    backend = rclsim.get_backend("replay")
    assert status(backend) == "TRAINING_COMPLETED"
    with pytest.raises(ClientError) as info:
        detect(backend)
    assert code_of(info) == "ResourceNotReadyException"
    assert backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1) == {
        "Status": "STARTING"
    }
    assert status(backend) == "RUNNING"  # time scale 0: instant
    assert [x["Name"] for x in detect(backend)["CustomLabels"]] == ["vehicle_registration_plate", "car"]
    assert backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN) == {"Status": "STOPPING"}
    assert status(backend) == "STOPPED"
    with pytest.raises(ClientError) as info:
        detect(backend)
    assert code_of(info) == "ResourceNotReadyException"


def test_transitions_take_the_scaled_durations() -> None:
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock, time_scale=1)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    clock.advance(599)
    assert status(backend) == "STARTING"
    with pytest.raises(ClientError) as info:
        detect(backend)
    assert code_of(info) == "ResourceNotReadyException"
    clock.advance(1)
    assert status(backend) == "RUNNING"
    backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    clock.advance(59)
    assert status(backend) == "STOPPING"
    clock.advance(1)
    assert status(backend) == "STOPPED"

    fast = rclsim.get_backend("replay", clock=(c := ManualClock()), time_scale=0.01)
    fast.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    c.advance(5.9)
    assert status(fast) == "STARTING"
    c.advance(0.1)
    assert status(fast) == "RUNNING"


def test_time_scale_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RCLSIM_TIME_SCALE", "1")
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert status(backend) == "STARTING"
    monkeypatch.setenv("RCLSIM_TIME_SCALE", "fast")
    with pytest.raises(rclsim.RclsimError, match="RCLSIM_TIME_SCALE"):
        rclsim.get_backend("replay")


@pytest.mark.parametrize(
    ("setup", "call", "code"),
    [
        (["start"], "start", "ResourceInUseException"),
        ([], "stop", "ResourceInUseException"),
        (["start", "stop"], "stop", "ResourceInUseException"),
    ],
)
def test_wrong_state_errors(setup: list[str], call: str, code: str) -> None:
    backend = rclsim.get_backend("replay")
    ops = {
        "start": lambda: backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1),
        "stop": lambda: backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN),
    }
    for step in setup:
        ops[step]()
    with pytest.raises(ClientError) as info:
        ops[call]()
    assert code_of(info) == code


def test_stop_while_starting_is_resource_in_use() -> None:
    backend = rclsim.get_backend("replay", clock=ManualClock(), time_scale=1)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    with pytest.raises(ClientError) as info:
        backend.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    assert code_of(info) == "ResourceInUseException"


def test_inference_unit_checks() -> None:
    backend = rclsim.get_backend("replay")
    with pytest.raises(ParamValidationError):
        backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=0)
    with pytest.raises(ClientError) as info:
        backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=3, MaxInferenceUnits=2)
    assert code_of(info) == "InvalidParameterException"
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=2, MaxInferenceUnits=4)
    desc = backend.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
    row = desc["ProjectVersionDescriptions"][0]
    assert (row["MinInferenceUnits"], row["MaxInferenceUnits"]) == (2, 4)


def test_unknown_versions_and_projects_are_not_found() -> None:
    backend = rclsim.get_backend("replay")
    other = ARTICLE_ARN.replace("1609459200000", "1")
    for call in (
        lambda: backend.start_project_version(ProjectVersionArn=other, MinInferenceUnits=1),
        lambda: backend.stop_project_version(ProjectVersionArn=other),
        lambda: backend.describe_project_versions(ProjectArn=PROJECT.replace("1609459100000", "2")),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert code_of(info) == "ResourceNotFoundException"


def test_describe_project_versions_matches_botocores_output_shape() -> None:
    backend = rclsim.get_backend("replay")
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    response = backend.describe_project_versions(ProjectArn=PROJECT)
    report = ParamValidator().validate(response, operation_model("DescribeProjectVersions").output_shape)
    assert not report.has_errors(), report.generate_report()
    rows = response["ProjectVersionDescriptions"]
    assert [r["ProjectVersionArn"] for r in rows] == [SECOND_ARN, ARTICLE_ARN]  # newest first
    assert rows[1]["BillableTrainingTimeInSeconds"] == 8 * 3600 + 45 * 60  # the article: 8 h 45 min
    assert rows[0]["BillableTrainingTimeInSeconds"] == 7 * 3600 + 12 * 60  # 7 h 12 min
    assert rows[1]["CreationTimestamp"].tzinfo is not None
    projects = backend.describe_projects()
    assert (
        not ParamValidator().validate(projects, operation_model("DescribeProjects").output_shape).has_errors()
    )
    assert [p["ProjectArn"] for p in projects["ProjectDescriptions"]] == [PROJECT]
    assert backend.describe_projects(ProjectNames=["nope"])["ProjectDescriptions"] == []
    if "Features" in operation_model("DescribeProjects").input_shape.members:  # botocore 1.31 has none
        assert backend.describe_projects(Features=["CONTENT_MODERATION"])["ProjectDescriptions"] == []


def declare(
    folder: Path,
    versions: list[dict],
    project: str = "arn:aws:rekognition:us-east-1:111122223333:project/shop/1700000000000",
) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "models.json").write_text(
        json.dumps(
            {
                "format": "rclsim.models",
                "format_version": 1,
                "projects": [
                    {"ProjectArn": project, "CreationTimestamp": "2023-11-14T00:00:00Z", "versions": versions}
                ],
            }
        )
    )
    return project


SHOP = "arn:aws:rekognition:us-east-1:111122223333:project/shop"


def shop_version(n: int, **extra: object) -> dict:
    return {
        "ProjectVersionArn": f"{SHOP}/version/shop.v{n}/17000000{n:05d}",
        "Status": "TRAINING_COMPLETED",
        "CreationTimestamp": f"2023-11-{14 + n:02d}T00:00:00Z",
        **extra,
    }


def test_pagination_works_with_botocores_paginator(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(n) for n in range(1, 6)])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    first = backend.describe_project_versions(ProjectArn=project, MaxResults=2)
    assert len(first["ProjectVersionDescriptions"]) == 2 and "NextToken" in first
    pages = list(
        backend.get_paginator("describe_project_versions").paginate(
            ProjectArn=project, PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["ProjectVersionDescriptions"]) for p in pages] == [2, 2, 1]
    names = [d["ProjectVersionArn"].split("/")[-2] for p in pages for d in p["ProjectVersionDescriptions"]]
    assert names == ["shop.v5", "shop.v4", "shop.v3", "shop.v2", "shop.v1"]
    with pytest.raises(ClientError) as info:
        backend.describe_project_versions(ProjectArn=project, NextToken="garbage")
    assert code_of(info) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as info:  # a token from another query is not accepted either
        backend.describe_project_versions(
            ProjectArn=project, VersionNames=["shop.v1"], NextToken=first["NextToken"]
        )
    assert code_of(info) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as info:
        backend.describe_project_versions(ProjectArn=project, MaxResults=101)
    assert code_of(info) == "ValidationException"


def test_botocores_running_waiter_succeeds_at_once_on_scale_zero() -> None:
    backend = rclsim.get_backend("replay")
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    backend.get_waiter("project_version_running").wait(ProjectArn=PROJECT, VersionNames=[VERSION])


def test_failed_start_path_and_restart(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(1, StartOutcome="FAILED")])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    arn = shop_version(1)["ProjectVersionArn"]
    backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    assert status(backend, arn, project) == "FAILED"
    from botocore.exceptions import WaiterError

    with pytest.raises(WaiterError):
        backend.get_waiter("project_version_running").wait(ProjectArn=project, VersionNames=["shop.v1"])
    assert backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1) == {"Status": "STARTING"}


def test_training_failed_cannot_start(tmp_path: Path) -> None:
    declare(tmp_path, [shop_version(1, Status="TRAINING_FAILED")])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    with pytest.raises(ClientError) as info:
        backend.start_project_version(
            ProjectVersionArn=shop_version(1)["ProjectVersionArn"], MinInferenceUnits=1
        )
    assert code_of(info) == "InvalidParameterException"


def test_assumed_thresholds_apply_when_min_confidence_is_omitted(tmp_path: Path) -> None:
    arn = shop_version(1)["ProjectVersionArn"]
    declare(tmp_path, [shop_version(1, Status="RUNNING", AssumedThresholds={"car": 0.5, "plate": 0.9})])
    (tmp_path / "r.json").write_text(
        json.dumps(
            {
                "format": "rclsim.recording",
                "format_version": 1,
                "operation": "DetectCustomLabels",
                "recorded_at": "2024-01-01T00:00:00Z",
                "region": "us-east-1",
                "request": {"ProjectVersionArn": arn, "MinConfidence": 0, "MaxResults": None},
                "image": {"S3Object": {"Bucket": "shop", "Name": "a.jpg"}, "Width": 100, "Height": 100},
                "response": {
                    "CustomLabels": [
                        {"Name": "plate", "Confidence": 95.0},
                        {"Name": "car", "Confidence": 60.0},
                        {"Name": "plate", "Confidence": 80.0},
                        {"Name": "car", "Confidence": 40.0},
                        {"Name": "tree", "Confidence": 10.0},
                    ]
                },
            }
        )
    )
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False, strict=True)
    image = {"S3Object": {"Bucket": "shop", "Name": "a.jpg"}}
    got = backend.detect_custom_labels(ProjectVersionArn=arn, Image=image)["CustomLabels"]
    assert [(x["Name"], x["Confidence"]) for x in got] == [("plate", 95.0), ("car", 60.0), ("tree", 10.0)]
    explicit = backend.detect_custom_labels(ProjectVersionArn=arn, Image=image, MinConfidence=30)[
        "CustomLabels"
    ]
    assert len(explicit) == 4  # an explicit MinConfidence ignores assumed thresholds


def write_pets_recording(path: Path, arn: str, image: dict, labels: list) -> None:
    """A recording of a model no models.json declares (so recordings imply it), for a 100x100 image."""
    recording = {
        "format": "rclsim.recording",
        "format_version": 1,
        "operation": "DetectCustomLabels",
        "recorded_at": "2024-01-01T00:00:00Z",
        "region": "eu-west-1",
        "request": {"ProjectVersionArn": arn, "MinConfidence": None, "MaxResults": None},
        "image": {**image, "Width": 100, "Height": 100},
        "response": {"CustomLabels": labels},
    }
    path.write_text(json.dumps(recording))


def test_a_model_implied_by_recordings_runs_and_can_be_stopped(tmp_path: Path) -> None:
    arn = "arn:aws:rekognition:eu-west-1:111122223333:project/pets/version/pets.1/1700000000000"
    write_pets_recording(tmp_path / "r.json", arn, {"Sha256": "0" * 64}, [])
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False)
    with pytest.raises(ClientError) as info:
        backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    assert code_of(info) == "ResourceInUseException"  # already running
    backend.stop_project_version(ProjectVersionArn=arn)
    project = "arn:aws:rekognition:eu-west-1:111122223333:project/pets/1700000000000"
    assert status(backend, arn, project) == "STOPPED"


def test_state_is_shared_between_backends_on_one_state_dir(tmp_path: Path) -> None:
    first = rclsim.get_backend("replay", state_dir=tmp_path)
    second = rclsim.get_backend("replay", state_dir=tmp_path)
    first.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert detect(second)["CustomLabels"]
    second.stop_project_version(ProjectVersionArn=ARTICLE_ARN)
    assert status(first) == "STOPPED"
    assert (tmp_path / "state.sqlite3").is_file()


def test_in_process_state_is_fresh_and_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    one = rclsim.get_backend("replay")
    one.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert status(rclsim.get_backend("replay")) == "TRAINING_COMPLETED"
    assert list(tmp_path.iterdir()) == []


def test_corrupt_or_foreign_state_is_reported_not_reset(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StateError, match="rclsim reset"):
        rclsim.get_backend("replay", state_dir=tmp_path)
    assert path.read_bytes() == b"this is not a database" * 100
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StateError, match="not rclsim's state"):
        rclsim.get_backend("replay", state_dir=tmp_path)


# -- cost ----------------------------------------------------------------------------------------
def test_an_hour_running_costs_an_hour(tmp_path: Path) -> None:
    project = declare(tmp_path, [shop_version(1, TrainingSeconds=1800)])
    arn = shop_version(1)["ProjectVersionArn"]
    clock = ManualClock()
    backend = rclsim.get_backend("replay", recordings=[tmp_path], include_builtin=False, clock=clock)
    backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=2)
    clock.advance(3600)
    bill = backend.bill()
    lines = {line.item: line for line in bill.lines}
    assert lines["inference"].quantity == pytest.approx(2.0)  # 2 IUs for one hour
    assert lines["inference"].amount == pytest.approx(8.0)
    assert lines["training"].amount == pytest.approx(0.5)
    assert lines["inference"].note is None  # us-east-1 has a price
    backend.stop_project_version(ProjectVersionArn=arn)
    clock.advance(7200)  # stopped: no more charges
    assert backend.bill().total == pytest.approx(8.5)
    assert status(backend, arn, project) == "STOPPED"


def test_regions_without_a_price_use_us_east_1_and_say_so() -> None:
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    clock.advance(1800)
    bill = backend.bill()
    inference = [line for line in bill.lines if line.item == "inference"][0]
    assert inference.amount == pytest.approx(2.0)
    assert "ap-northeast-1" in (inference.note or "") and "us-east-1" in (inference.note or "")
    trainings = sorted(line.amount for line in bill.lines if line.item == "training")
    assert trainings == pytest.approx([7.2, 8.75])  # the article's two trainings at $1/hour


def test_price_table_can_be_overridden(tmp_path: Path) -> None:
    from rclsim.fake.cost import PriceTable

    table = tmp_path / "prices.json"
    table.write_text(
        json.dumps(
            {
                "currency": "USD",
                "as_of": "2026-01",
                "source": "mine",
                "fallback_region": "us-east-1",
                "regions": {
                    "us-east-1": {"InferenceUnitHour": 4, "TrainingHour": 1},
                    "ap-northeast-1": {"InferenceUnitHour": 5, "TrainingHour": 1.5},
                },
            }
        )
    )
    clock = ManualClock()
    backend = rclsim.get_backend("replay", clock=clock, prices=PriceTable.load(table))
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    clock.advance(3600)
    inference = [line for line in backend.bill().lines if line.item == "inference"][0]
    assert (inference.amount, inference.note) == (pytest.approx(5.0), None)
    table.write_text("{}")
    with pytest.raises(rclsim.RclsimError, match="not a price table"):
        PriceTable.load(table)


def test_a_transaction_cut_short_does_not_block_the_state(tmp_path: Path) -> None:
    """Ctrl-C can land between BEGIN and ROLLBACK; the next change must still work (it once failed
    with 'cannot start a transaction within a transaction' while stopping after a SIGINT)."""
    backend = rclsim.get_backend("replay", state_dir=tmp_path)
    store = backend.core.lifecycle.state  # type: ignore[attr-defined]
    store._conn.execute("BEGIN IMMEDIATE")  # as if interrupted right after BEGIN
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert status(backend) == "RUNNING"


@pytest.mark.parametrize("on_disk", [False, True])
def test_detect_on_an_implied_model_follows_its_state(tmp_path: Path, on_disk: bool) -> None:
    arn = "arn:aws:rekognition:eu-west-1:111122223333:project/pets/version/pets.1/1700000000000"
    image = {"S3Object": {"Bucket": "pets", "Name": "cat.jpg"}}
    (tmp_path / "rec").mkdir()
    write_pets_recording(tmp_path / "rec" / "r.json", arn, image, [{"Name": "cat", "Confidence": 91.5}])
    backend = rclsim.get_backend(
        "replay",
        recordings=[tmp_path / "rec"],
        include_builtin=False,
        state_dir=tmp_path / "state" if on_disk else None,
    )
    for _ in range(2):  # never started or stopped: RUNNING, as recordings imply
        assert (
            backend.detect_custom_labels(ProjectVersionArn=arn, Image=image)["CustomLabels"][0]["Name"]
            == "cat"
        )
    backend.stop_project_version(ProjectVersionArn=arn)
    for _ in range(2):
        with pytest.raises(ClientError) as info:
            backend.detect_custom_labels(ProjectVersionArn=arn, Image=image)
        assert code_of(info) == "ResourceNotReadyException"
    backend.start_project_version(ProjectVersionArn=arn, MinInferenceUnits=1)
    assert (
        backend.detect_custom_labels(ProjectVersionArn=arn, Image=image)["CustomLabels"][0]["Name"] == "cat"
    )
