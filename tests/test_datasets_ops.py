"""Dataset operations of the fake core (rclsim.fake.datasets.Datasets), driven directly with an
in-memory state store, a manual clock and a dict-backed object store."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rclsim.fake.clock import ManualClock
from rclsim.fake.datasets import CREATE_SECONDS, UPDATE_SECONDS, Datasets, split_for_test
from rclsim.fake.state import StateStore
from rclsim.fake.tagging import Tags
from tests.test_service_manifest_check import _png, cls, det, good, manifest

PROJECT = "arn:aws:rekognition:us-east-1:111122223333:project/lot/1700000000000"
OTHER = "arn:aws:rekognition:us-east-1:111122223333:project/other/1700000000001"


class Objects:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], bytes] = {}

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        return self.data[(bucket, key)]

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        self.data[(bucket, key)] = data

    def describe(self) -> str:
        return "a dict"


def make(
    time_scale: float = 0.0, objects: Objects | None = None, **kw: Any
) -> tuple[Datasets, ManualClock, Objects]:
    store = objects if objects is not None else Objects()
    clock = ManualClock()
    state = StateStore()
    datasets = Datasets(
        state,
        clock,
        time_scale=time_scale,
        objects=lambda: store,
        project_exists=lambda arn: arn in (PROJECT, OTHER),
        **kw,
    )
    return datasets, clock, store


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def source(key: str = "train.manifest") -> dict:
    return {"GroundTruthManifest": {"S3Object": {"Bucket": "b", "Name": key}}}


def create(ds: Datasets, kind: str = "TRAIN", project: str = PROJECT, **params: Any) -> str:
    return str(ds.create({"ProjectArn": project, "DatasetType": kind, **params})["DatasetArn"])


def test_create_from_a_manifest_and_describe() -> None:
    ds, clock, objects = make()
    objects.put("b", "train.manifest", manifest(*good(4), {"source-ref": "s3://b/u.jpg"}))
    arn = create(ds, DatasetSource=source())
    assert arn.startswith("arn:aws:rekognition:us-east-1:111122223333:project/lot/dataset/train/")
    assert arn.rsplit("/", 1)[1] == str(int(clock.now() * 1000))
    desc = ds.describe({"DatasetArn": arn})["DatasetDescription"]
    assert desc["Status"] == "CREATE_COMPLETE" and desc["StatusMessageCode"] == "SUCCESS"
    assert desc["DatasetStats"] == {
        "LabeledEntries": 4,
        "TotalEntries": 5,
        "TotalLabels": 2,
        "ErrorEntries": 0,
    }
    assert desc["CreationTimestamp"].timestamp() == clock.now()
    assert [e.source_ref for e in ds.entries(arn)] == [f"s3://b/g{i}.jpg" for i in range(4)]
    assert ds.exists(arn) and not ds.exists(arn + "1")


def test_creation_takes_time_on_the_clock() -> None:
    ds, clock, objects = make(time_scale=1.0)
    objects.put("b", "train.manifest", manifest(*good(2)))
    arn = create(ds, DatasetSource=source())
    assert ds.describe({"DatasetArn": arn})["DatasetDescription"]["Status"] == "CREATE_IN_PROGRESS"
    with pytest.raises(ClientError) as exc:
        ds.list_entries({"DatasetArn": arn})
    assert code(exc) == "ResourceNotReadyException"
    with pytest.raises(ClientError) as exc:
        ds.list_labels({"DatasetArn": arn})
    assert code(exc) == "ResourceNotReadyException"
    with pytest.raises(ClientError) as exc:
        ds.delete({"DatasetArn": arn})
    assert code(exc) == "ResourceInUseException"
    assert ds.of_project(PROJECT)[0]["Status"] == "CREATE_IN_PROGRESS"
    clock.advance(CREATE_SECONDS)
    desc = ds.describe({"DatasetArn": arn})["DatasetDescription"]
    assert desc["Status"] == "CREATE_COMPLETE" and desc["LastUpdatedTimestamp"].timestamp() == clock.now()
    assert len(ds.list_entries({"DatasetArn": arn})["DatasetEntries"]) == 2


def test_a_terminal_manifest_error_ends_in_create_failed() -> None:
    ds, clock, objects = make(time_scale=1.0)
    objects.put("b", "train.manifest", manifest(*good(2), b"x", b"y"))
    arn = create(ds, DatasetSource=source())
    clock.advance(CREATE_SECONDS)
    desc = ds.describe({"DatasetArn": arn})["DatasetDescription"]
    assert desc["Status"] == "CREATE_FAILED" and desc["StatusMessageCode"] == "CLIENT_ERROR"
    assert desc["StatusMessage"].startswith("ERROR_TOO_MANY_RECORDS_IN_ERROR: ")
    assert desc["DatasetStats"]["TotalEntries"] == 0 and ds.entries(arn) == []
    meta = ds.of_project(PROJECT)[0]
    assert meta["Status"] == "CREATE_FAILED" and meta["DatasetType"] == "TRAIN" and meta["DatasetArn"] == arn


def test_empty_and_binary_manifests_fail_the_import() -> None:
    ds, _, objects = make()
    objects.put("b", "train.manifest", b"")
    arn = create(ds, DatasetSource=source())
    assert "ERROR_EMPTY_MANIFEST" in ds.describe({"DatasetArn": arn})["DatasetDescription"]["StatusMessage"]
    objects.put("b", "test.manifest", bytes(range(256)) * 8)
    arn = create(ds, "TEST", DatasetSource=source("test.manifest"))
    message = ds.describe({"DatasetArn": arn})["DatasetDescription"]["StatusMessage"]
    assert message.startswith("ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT")


def test_create_errors() -> None:
    ds, _, objects = make()
    with pytest.raises(ClientError) as exc:
        create(ds, project=PROJECT.replace("lot", "nope"))
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        create(ds, DatasetSource=source("missing.manifest"))
    assert code(exc) == "InvalidS3ObjectException" and "missing.manifest" in str(exc.value)
    both = {**source(), "DatasetArn": PROJECT + "x"}
    with pytest.raises(ClientError) as exc:
        create(ds, DatasetSource=both)
    assert code(exc) == "InvalidParameterException"
    create(ds)
    with pytest.raises(ClientError) as exc:
        create(ds)
    assert code(exc) == "ResourceAlreadyExistsException"
    create(ds, "TEST")  # one of each type
    with pytest.raises(ClientError) as exc:
        create(
            ds,
            "TEST",
            project=OTHER,
            DatasetSource={"DatasetArn": PROJECT.rsplit("/", 1)[0] + "/dataset/train/1"},
        )
    assert code(exc) == "ResourceNotFoundException"
    assert ds.of_project(OTHER) == []


def test_no_object_store_says_how_to_give_one() -> None:
    clock = ManualClock()
    ds = Datasets(StateStore(), clock, time_scale=0, objects=lambda: None, project_exists=lambda a: True)
    with pytest.raises(ClientError) as exc:
        create(ds, DatasetSource=source())
    assert code(exc) == "InvalidS3ObjectException" and "--s3-dir" in str(exc.value)


def test_an_empty_dataset_then_update_entries() -> None:
    ds, _, _ = make()
    arn = create(ds)
    assert ds.describe({"DatasetArn": arn})["DatasetDescription"]["DatasetStats"]["TotalEntries"] == 0
    ds.update_entries({"DatasetArn": arn, "Changes": {"GroundTruth": manifest(*good(3))}})
    desc = ds.describe({"DatasetArn": arn})["DatasetDescription"]
    assert desc["Status"] == "UPDATE_COMPLETE" and desc["DatasetStats"]["TotalEntries"] == 3
    # same source-ref replaces, a new one is added
    changed = det("s3://b/g1.jpg", [(0, 0, 30, 30, 1), (40, 40, 30, 30, 1)])
    ds.update_entries(
        {"DatasetArn": arn, "Changes": {"GroundTruth": manifest(changed, det("s3://b/new.jpg"))}}
    )
    refs = [json.loads(e)["source-ref"] for e in ds.list_entries({"DatasetArn": arn})["DatasetEntries"]]
    assert refs == ["s3://b/g0.jpg", "s3://b/g1.jpg", "s3://b/g2.jpg", "s3://b/new.jpg"]
    (g1,) = [e for e in ds.entries(arn) if e.source_ref == "s3://b/g1.jpg"]
    assert len(g1.boxes) == 2
    assert ds.describe({"DatasetArn": arn})["DatasetDescription"]["StatusMessageCode"] == "SUCCESS"


def test_update_in_progress_and_update_failed() -> None:
    ds, clock, _ = make(time_scale=1.0)
    arn = create(ds)
    clock.advance(CREATE_SECONDS)
    ds.update_entries({"DatasetArn": arn, "Changes": {"GroundTruth": manifest(*good(2))}})
    assert ds.describe({"DatasetArn": arn})["DatasetDescription"]["Status"] == "UPDATE_IN_PROGRESS"
    for call in (ds.list_entries, ds.delete):
        with pytest.raises(ClientError) as exc:
            call({"DatasetArn": arn})
        assert code(exc) == "ResourceInUseException"
    with pytest.raises(ClientError) as exc:
        ds.update_entries({"DatasetArn": arn, "Changes": {"GroundTruth": manifest(*good(1))}})
    assert code(exc) == "ResourceInUseException"
    clock.advance(UPDATE_SECONDS)
    ds.update_entries({"DatasetArn": arn, "Changes": {"GroundTruth": b"garbage\nmore garbage\n"}})
    clock.advance(UPDATE_SECONDS)
    desc = ds.describe({"DatasetArn": arn})["DatasetDescription"]
    assert desc["Status"] == "UPDATE_FAILED" and desc["StatusMessageCode"] == "CLIENT_ERROR"
    assert desc["DatasetStats"]["TotalEntries"] == 2  # the failed update changed nothing
    with pytest.raises(ClientError) as exc:
        ds.update_entries({"DatasetArn": arn + "9", "Changes": {"GroundTruth": b"{}"}})
    assert code(exc) == "ResourceNotFoundException"


def test_list_entries_filters_and_errors_in_lines() -> None:
    ds, _, objects = make()
    lines = [
        det("s3://b/a.jpg", [(0, 0, 20, 20, 0)]),
        det("s3://b/b.jpg", [(0, 0, 20, 20, 1), (-1, 0, 5, 5, 0)]),
        cls("s3://b/c.jpg", "car"),
        {"source-ref": "s3://b/sub/d.jpg"},
        det("s3://b/e.jpg", [(0, 0, 20, 20, 7)]),
    ] + good(20, "z")
    objects.put("b", "train.manifest", manifest(*lines))
    arn = create(ds, DatasetSource=source())

    def refs(**filters: Any) -> list[str]:
        got = ds.list_entries({"DatasetArn": arn, **filters})["DatasetEntries"]
        return [json.loads(e)["source-ref"] for e in got if "/z" not in e]

    assert refs() == ["s3://b/a.jpg", "s3://b/b.jpg", "s3://b/c.jpg", "s3://b/sub/d.jpg", "s3://b/e.jpg"]
    assert refs(ContainsLabels=["plate"]) == ["s3://b/b.jpg"]
    assert refs(ContainsLabels=["car", "nothing"]) == ["s3://b/a.jpg", "s3://b/c.jpg"]
    assert refs(Labeled=False) == ["s3://b/sub/d.jpg", "s3://b/e.jpg"]
    assert refs(HasErrors=True) == ["s3://b/b.jpg", "s3://b/e.jpg"]
    assert "s3://b/b.jpg" not in refs(HasErrors=False)
    assert refs(SourceRefContains="sub/") == ["s3://b/sub/d.jpg"]
    (b_line,) = ds.list_entries({"DatasetArn": arn, "SourceRefContains": "b.jpg"})["DatasetEntries"]
    assert json.loads(b_line)["bb"]["annotations"][1]["errors"][0]["code"] == "ERROR_INVALID_BOUNDING_BOX"
    assert ds.describe({"DatasetArn": arn})["DatasetDescription"]["DatasetStats"]["ErrorEntries"] == 2


def test_list_entries_pages() -> None:
    ds, _, objects = make()
    objects.put("b", "train.manifest", manifest(*good(7)))
    arn = create(ds, DatasetSource=source())
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"DatasetArn": arn, "MaxResults": 3}
        if token:
            params["NextToken"] = token
        out = ds.list_entries(params)
        seen += out["DatasetEntries"]
        token = out.get("NextToken")
        if not token:
            break
    assert len(seen) == 7 and len(set(seen)) == 7
    first = ds.list_entries({"DatasetArn": arn, "MaxResults": 3})["NextToken"]
    with pytest.raises(ClientError) as exc:  # a token of another query
        ds.list_entries({"DatasetArn": arn, "MaxResults": 3, "NextToken": first, "Labeled": True})
    assert code(exc) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as exc:
        ds.list_entries({"DatasetArn": arn, "NextToken": base64.b64encode(b"junk").decode()})
    assert code(exc) == "InvalidPaginationTokenException"


def test_list_labels() -> None:
    ds, _, objects = make()
    lines = [
        det("s3://b/a.jpg", [(0, 0, 20, 20, 0), (30, 30, 20, 20, 0), (60, 60, 9, 9, 1)]),
        det("s3://b/b.jpg"),
    ]
    objects.put("b", "train.manifest", manifest(*lines))
    arn = create(ds, DatasetSource=source())
    out = ds.list_labels({"DatasetArn": arn})
    assert out == {
        "DatasetLabelDescriptions": [
            {"LabelName": "car", "LabelStats": {"EntryCount": 2, "BoundingBoxCount": 3}},
            {"LabelName": "plate", "LabelStats": {"EntryCount": 1, "BoundingBoxCount": 1}},
        ]
    }
    one = ds.list_labels({"DatasetArn": arn, "MaxResults": 1})
    assert len(one["DatasetLabelDescriptions"]) == 1 and one["NextToken"]
    with pytest.raises(ClientError) as exc:
        ds.list_labels({"DatasetArn": arn.replace("train", "test")})
    assert code(exc) == "ResourceNotFoundException"


def test_distribute_moves_20_percent_deterministically() -> None:
    results = []
    for order in (1, -1):
        ds, _, objects = make()
        objects.put("b", "train.manifest", manifest(*good(20)[::order]))
        train = create(ds, DatasetSource=source())
        test = create(ds, "TEST")
        assert ds.distribute({"Datasets": [{"Arn": train}, {"Arn": test}]}) == {}
        for arn in (train, test):
            assert ds.describe({"DatasetArn": arn})["DatasetDescription"]["Status"] == "UPDATE_COMPLETE"
        moved = sorted(e.source_ref for e in ds.entries(test))
        assert len(moved) == 4 and len(ds.entries(train)) == 16
        results.append(moved)
    assert results[0] == results[1]
    train_entries, test_entries = split_for_test(list(ds.entries(train)) + list(ds.entries(test)))
    assert sorted(e.source_ref for e in test_entries) == results[0] and len(train_entries) == 16


def test_distribute_errors() -> None:
    ds, _, objects = make()
    objects.put("b", "train.manifest", manifest(*good(5)))
    train = create(ds, DatasetSource=source())
    test = create(ds, "TEST", DatasetSource=source())
    other_train = create(ds, project=OTHER)
    with pytest.raises(ClientError) as exc:  # the test dataset is not empty
        ds.distribute({"Datasets": [{"Arn": train}, {"Arn": test}]})
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ds.distribute({"Datasets": [{"Arn": train}, {"Arn": other_train}]})
    assert code(exc) == "InvalidParameterException"
    with pytest.raises(ClientError) as exc:
        ds.distribute({"Datasets": [{"Arn": train}, {"Arn": train[:-1] + "9"}]})
    assert code(exc) == "ResourceNotFoundException"
    # too few labeled images: both end UPDATE_FAILED
    empty_test = create(ds, "TEST", project=OTHER)
    ds.distribute({"Datasets": [{"Arn": empty_test}, {"Arn": other_train}]})
    desc = ds.describe({"DatasetArn": other_train})["DatasetDescription"]
    assert (
        desc["Status"] == "UPDATE_FAILED"
        and "ERROR_INSUFFICIENT_IMAGES_PER_LABEL_FOR_DISTRIBUTE" in desc["StatusMessage"]
    )


def test_distribute_waits_for_settled_datasets() -> None:
    ds, clock, objects = make(time_scale=1.0)
    objects.put("b", "train.manifest", manifest(*good(5)))
    train = create(ds, DatasetSource=source())
    test = create(ds, "TEST")
    with pytest.raises(ClientError) as exc:
        ds.distribute({"Datasets": [{"Arn": train}, {"Arn": test}]})
    assert code(exc) == "ResourceNotReadyException"
    clock.advance(CREATE_SECONDS)
    ds.distribute({"Datasets": [{"Arn": train}, {"Arn": test}]})
    assert ds.describe({"DatasetArn": test})["DatasetDescription"]["Status"] == "UPDATE_IN_PROGRESS"


def test_copy_a_dataset_into_another_project() -> None:
    ds, _, objects = make()
    objects.put("b", "train.manifest", manifest(*good(3)))
    first = create(ds, DatasetSource=source())
    copy = create(ds, project=OTHER, DatasetSource={"DatasetArn": first})
    assert ds.list_entries({"DatasetArn": copy}) == ds.list_entries({"DatasetArn": first})
    assert ":project/other/dataset/train/" in copy


def test_delete_and_delete_all() -> None:
    ds, _, objects = make()
    arn = create(ds)
    assert ds.delete({"DatasetArn": arn}) == {}
    with pytest.raises(ClientError) as exc:
        ds.describe({"DatasetArn": arn})
    assert code(exc) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ds.delete({"DatasetArn": arn})
    assert code(exc) == "ResourceNotFoundException"
    create(ds)
    create(ds, "TEST")
    keep = create(ds, project=OTHER)
    with ds.state.transaction() as txn:
        assert ds.delete_all(txn, PROJECT) == 2
    assert ds.of_project(PROJECT) == [] and ds.exists(keep)


def test_tags_given_at_creation_and_forgotten_on_delete() -> None:
    state, clock = StateStore(), ManualClock()
    holder: dict[str, Datasets] = {}
    tags = Tags(state, clock, exists=lambda arn: holder["ds"].exists(arn))
    ds = Datasets(state, clock, time_scale=0, objects=lambda: None, project_exists=lambda a: True, tags=tags)
    holder["ds"] = ds
    arn = create(ds, Tags={"team": "lot"})
    assert tags.list({"ResourceArn": arn})["Tags"] == {"team": "lot"}
    with pytest.raises(ClientError):
        create(ds, "TEST", Tags={"aws:x": "y"})
    assert ds.of_project(PROJECT)[0]["DatasetArn"] == arn  # the refused create made nothing
    ds.delete({"DatasetArn": arn})
    with state.transaction() as txn:
        assert txn.get_resource("tags", arn) is None


def test_images_are_checked_when_the_store_has_them() -> None:
    ds, _, objects = make()
    for i in range(9):
        objects.put("b", f"g{i}.jpg", _png(640, 480))
    objects.put("b", "g9.jpg", b"not an image")
    objects.put("b", "train.manifest", manifest(*good(10)))
    arn = create(ds, DatasetSource=source())
    (bad,) = ds.list_entries({"DatasetArn": arn, "HasErrors": True})["DatasetEntries"]
    assert json.loads(bad)["errors"][0]["code"] == "ERROR_INVALID_IMAGE"
    assert len(ds.entries(arn)) == 9
    # a store without the images: they are trusted (not uploaded), not all invalid
    ds2, _, objects2 = make()
    objects2.put("b", "train.manifest", manifest(*good(10)))
    arn2 = create(ds2, DatasetSource=source())
    assert len(ds2.entries(arn2)) == 10


def test_state_in_a_shared_file(tmp_path: Any) -> None:
    objects = Objects()
    objects.put("b", "train.manifest", manifest(*good(3)))
    clock = ManualClock()
    kw: dict[str, Any] = {"time_scale": 0, "objects": lambda: objects, "project_exists": lambda a: True}
    one = Datasets(StateStore(tmp_path), clock, **kw)
    arn = create(one, DatasetSource=source())
    two = Datasets(StateStore(tmp_path), clock, **kw)
    assert (
        len(two.entries(arn)) == 3
        and two.describe({"DatasetArn": arn})["DatasetDescription"]["Status"] == "CREATE_COMPLETE"
    )
