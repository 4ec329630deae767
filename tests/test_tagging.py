"""TagResource, UntagResource, ListTagsForResource and the Tags given to the Create operations
(rclsim.fake.tagging): happy paths, each error the model lists that applies, and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from rclsim.fake.clock import ManualClock
from rclsim.fake.state import StateStore
from rclsim.fake.tagging import MAX_TAGS_PER_RESOURCE, Tags, tag_key_matches, tag_value_matches
from rclsim.service.apimodel import operation_model, service_model
from tests.test_describe_versions import shape_problems

PROJECT = "arn:aws:rekognition:us-east-1:123456789012:project/shoes/1700000000000"
VERSION = f"{PROJECT.rsplit('/', 1)[0]}/version/v1/1700000000001"
MISSING = "arn:aws:rekognition:us-east-1:123456789012:project/nothing/1700000000002"


def code_of(info: pytest.ExceptionInfo[BaseException]) -> str:
    return info.value.response["Error"]["Code"]  # type: ignore[attr-defined,no-any-return]


def message_of(info: pytest.ExceptionInfo[BaseException]) -> str:
    return info.value.response["Error"]["Message"]  # type: ignore[attr-defined,no-any-return]


def output_problems(op: str, response: dict[str, Any]) -> list[str]:
    """botocore's output shape check (the describe tests' checker), plus the one thing it has no case
    for: a map of tags (string keys and values within the model's lengths)."""
    shape = operation_model(op).output_shape
    problems: list[str] = []
    for name, value in response.items():
        if name not in shape.members:
            problems.append(f"$: {name} is not a member of {shape.name}")
            continue
        member = shape.members[name]
        if member.type_name != "map":
            problems += shape_problems(value, member, f"$.{name}")
            continue
        if not isinstance(value, dict):
            problems.append(f"$.{name}: not a map")
            continue
        if not member.metadata.get("min", 0) <= len(value) <= member.metadata.get("max", 10**9):
            problems.append(f"$.{name}: {len(value)} entries")
        for key, item in value.items():
            for text, sub in ((key, member.key), (item, member.value)):
                if not isinstance(text, str):
                    problems.append(f"$.{name}: {text!r} is not a string")
                elif not sub.metadata.get("min", 0) <= len(text) <= sub.metadata["max"]:
                    problems.append(f"$.{name}: {text!r} has the wrong length")
    return problems


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    s = StateStore(None if request.param == "memory" else tmp_path / "state")
    yield s
    s.close()


@pytest.fixture
def tags(store: StateStore) -> Tags:
    known = {PROJECT, VERSION}
    return Tags(store, ManualClock(), exists=known.__contains__)


def listed(tags: Tags, arn: str = PROJECT) -> dict[str, str]:
    response = tags.list({"ResourceArn": arn})
    assert not output_problems("ListTagsForResource", response)
    return response["Tags"]  # type: ignore[no-any-return]


# -- happy paths ------------------------------------------------------------------------------------------
def test_tag_list_untag(tags: Tags) -> None:
    assert listed(tags) == {}
    response = tags.tag({"ResourceArn": PROJECT, "Tags": {"team": "vision", "env": "test"}})
    assert response == {} and not output_problems("TagResource", response)
    assert listed(tags) == {"team": "vision", "env": "test"}
    assert listed(tags, VERSION) == {}  # tags belong to one resource
    response = tags.untag({"ResourceArn": PROJECT, "TagKeys": ["team"]})
    assert response == {} and not output_problems("UntagResource", response)
    assert listed(tags) == {"env": "test"}


def test_insertion_order_kept_and_retagging_replaces_the_value_in_place(tags: Tags) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"b": "1", "a": "2", "c": "3"}})
    tags.tag({"ResourceArn": PROJECT, "Tags": {"a": "new", "d": "4"}})
    assert list(listed(tags).items()) == [("b", "1"), ("a", "new"), ("c", "3"), ("d", "4")]


def test_untagging_a_missing_key_is_not_an_error(tags: Tags) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"a": "1"}})
    assert tags.untag({"ResourceArn": PROJECT, "TagKeys": ["nope", "a", "a"]}) == {}
    assert listed(tags) == {}
    assert tags.untag({"ResourceArn": PROJECT, "TagKeys": []}) == {}


def test_empty_tag_map_and_empty_value_are_allowed(tags: Tags) -> None:
    assert tags.tag({"ResourceArn": PROJECT, "Tags": {}}) == {}
    tags.tag({"ResourceArn": PROJECT, "Tags": {"flag": ""}})
    assert listed(tags) == {"flag": ""}


def test_unicode_keys_and_values(tags: Tags) -> None:
    """\\p{L}, \\p{Z} and \\p{N} are Unicode classes: letters, spaces and digits of any script."""
    given = {"Ünïcode clé": "値 ٣ ⅷ", "Пример": "z_.:/=+-@", "数据": "\u00a0 nbsp"}
    tags.tag({"ResourceArn": PROJECT, "Tags": given})
    assert listed(tags) == given


def test_keys_are_case_sensitive(tags: Tags) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"Env": "a", "env": "b"}})
    assert listed(tags) == {"Env": "a", "env": "b"}


def test_limits_at_the_model_maxima(tags: Tags) -> None:
    key, value = "k" * 128, "v" * 256
    tags.tag({"ResourceArn": PROJECT, "Tags": {key: value}})
    assert listed(tags) == {key: value}


def test_set_initial_forget_and_the_sqlite_file(tmp_path: Any) -> None:
    """Tags given to CreateProject live in the state file: another store on it sees them."""
    clock = ManualClock()
    first = StateStore(tmp_path / "state")
    t1 = Tags(first, clock, exists={PROJECT}.__contains__)
    with first.transaction() as txn:
        t1.set_initial(txn, PROJECT, {"owner": "me", "cost": "42"})
    second = StateStore(tmp_path / "state")
    t2 = Tags(second, clock, exists={PROJECT}.__contains__)
    assert list(listed(t2).items()) == [("owner", "me"), ("cost", "42")]
    with second.transaction() as txn:
        t2.forget(txn, PROJECT)
    assert listed(t1) == {}
    first.close()
    second.close()


def test_set_initial_with_no_tags_writes_nothing(tags: Tags, store: StateStore) -> None:
    with store.transaction() as txn:
        tags.set_initial(txn, PROJECT, None)
        tags.set_initial(txn, VERSION, {})
        assert txn.resources("tags") == []


def test_set_initial_is_undone_with_the_callers_transaction(tags: Tags, store: StateStore) -> None:
    with pytest.raises(RuntimeError), store.transaction() as txn:
        tags.set_initial(txn, PROJECT, {"a": "1"})
        raise RuntimeError("the create failed later")
    assert listed(tags) == {}


def test_forget_drops_only_that_resources_tags(tags: Tags, store: StateStore) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"a": "1"}})
    tags.tag({"ResourceArn": VERSION, "Tags": {"b": "2"}})
    with store.transaction() as txn:
        tags.forget(txn, VERSION)
        tags.forget(txn, MISSING)  # nothing there: fine
    assert listed(tags) == {"a": "1"} and listed(tags, VERSION) == {}


def test_untagging_everything_leaves_no_record(tags: Tags, store: StateStore) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"a": "1"}})
    tags.untag({"ResourceArn": PROJECT, "TagKeys": ["a"]})
    with store.transaction() as txn:
        assert txn.resources("tags") == []


# -- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda t: t.tag({"ResourceArn": MISSING, "Tags": {"a": "1"}}),
        lambda t: t.untag({"ResourceArn": MISSING, "TagKeys": ["a"]}),
        lambda t: t.list({"ResourceArn": MISSING}),
    ],
    ids=["tag", "untag", "list"],
)
def test_unknown_arn_is_resource_not_found(tags: Tags, call: Any) -> None:
    with pytest.raises(ClientError) as info:
        call(tags)
    assert code_of(info) == "ResourceNotFoundException"
    assert MISSING in message_of(info)


def test_operation_name_is_the_callers(tags: Tags) -> None:
    with pytest.raises(ClientError) as info:
        tags.list({"ResourceArn": MISSING}, op="ListTagsForResource")
    assert info.value.operation_name == "ListTagsForResource"


def test_more_than_50_tags_on_one_resource(tags: Tags) -> None:
    assert MAX_TAGS_PER_RESOURCE == 50
    tags.tag({"ResourceArn": PROJECT, "Tags": {f"k{i}": "v" for i in range(49)}})
    tags.tag({"ResourceArn": PROJECT, "Tags": {"k0": "replaced", "k49": "v"}})  # 50: fine
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": {"one-more": "v"}})
    assert code_of(info) == "ServiceQuotaExceededException"
    assert "50" in message_of(info)
    assert len(listed(tags)) == 50 and listed(tags)["k0"] == "replaced"  # nothing lost, nothing added


def test_more_than_50_tags_in_one_request(tags: Tags) -> None:
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": {f"k{i}": "v" for i in range(51)}})
    assert code_of(info) == "ServiceQuotaExceededException"
    assert listed(tags) == {}


@pytest.mark.parametrize(
    ("op", "code"),
    [
        ("CreateProject", "InvalidParameterException"),  # the model lists no quota error for it
        ("CreateDataset", "InvalidParameterException"),
        ("CreateProjectVersion", "ServiceQuotaExceededException"),
        ("CopyProjectVersion", "ServiceQuotaExceededException"),
    ],
)
def test_set_initial_over_50_answers_with_an_error_the_operation_lists(
    tags: Tags, store: StateStore, op: str, code: str
) -> None:
    with pytest.raises(ClientError) as info, store.transaction() as txn:
        tags.set_initial(txn, PROJECT, {f"k{i}": "v" for i in range(51)}, op=op)
    assert code_of(info) == code
    assert code in [e.name for e in operation_model(op).error_shapes]
    assert info.value.operation_name == op


@pytest.mark.parametrize("key", ["aws:team", "aws:"])
def test_aws_prefixed_key_breaks_the_models_pattern(tags: Tags, key: str) -> None:
    """The model's TagKey pattern ^(?!aws:) forbids it: the service's validation error."""
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": {key: "x"}})
    assert code_of(info) == "ValidationException"
    assert "at 'tags' failed to satisfy constraint: Map keys must satisfy constraint" in message_of(info)
    assert listed(tags) == {}


@pytest.mark.parametrize("key", ["AWS:team", "Aws:x", "aWs:y"])
def test_aws_prefix_in_another_case_is_reserved_too(tags: Tags, key: str) -> None:
    """The model's pattern is case-sensitive; AWS's tagging rules reserve aws: in any case."""
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": {key: "x"}})
    assert code_of(info) == "InvalidParameterException"
    assert "aws:" in message_of(info)


def test_aws_prefix_in_a_value_is_fine(tags: Tags) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"source": "aws:cloudformation"}})
    assert listed(tags) == {"source": "aws:cloudformation"}


@pytest.mark.parametrize(
    ("tag_map", "side"),
    [
        ({"": "v"}, "keys"),
        ({"k" * 129: "v"}, "keys"),
        ({"k": "v" * 257}, "values"),
        ({"semi;colon": "v"}, "keys"),
        ({"k": "tab\there"}, "values"),
        ({"emoji😀": "v"}, "keys"),
        ({"k": "quote'"}, "values"),
    ],
)
def test_keys_and_values_outside_the_model(tags: Tags, tag_map: dict[str, str], side: str) -> None:
    """Coral's wording for a map: the side that fails, with every constraint of its shape."""
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": tag_map})
    assert code_of(info) == "ValidationException"
    shape = service_model().shape_for("TagKey" if side == "keys" else "TagValue")
    meta = shape.metadata
    assert message_of(info) == (
        f"1 validation error detected: Value '{{{next(iter(tag_map))}={next(iter(tag_map.values()))}}}' at "
        f"'tags' failed to satisfy constraint: Map {side} must satisfy constraint: [Member must have length "
        f"less than or equal to {meta['max']}, Member must have length greater than or equal to "
        f"{meta.get('min', 0)}, Member must satisfy regular expression pattern: {meta['pattern']}]"
    )
    assert listed(tags) == {}


def test_every_violation_is_reported(tags: Tags) -> None:
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": {"": "v" * 300, "ok": "fine"}})
    assert message_of(info).startswith("2 validation errors detected: ")


@pytest.mark.parametrize(
    "tag_map", [{"k": 1}, {"k": None}, {"k": ["v"]}, {1: "v"}, {"k": b"v"}, ["k", "v"], "k=v"]
)
def test_wrong_types_are_serialization_errors(tags: Tags, tag_map: Any) -> None:
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": PROJECT, "Tags": tag_map})
    assert code_of(info) == "SerializationException"
    assert listed(tags) == {}


@pytest.mark.parametrize("keys", [["aws:team"], ["k" * 129], [""], ["bad;key"], [1], "team", None])
def test_untag_keys_outside_the_model(tags: Tags, keys: Any) -> None:
    tags.tag({"ResourceArn": PROJECT, "Tags": {"team": "a"}})
    with pytest.raises(ClientError) as info:
        tags.untag({"ResourceArn": PROJECT, "TagKeys": keys})
    assert code_of(info) in ("ValidationException", "SerializationException")
    if code_of(info) == "ValidationException":
        assert "at 'tagKeys' failed to satisfy constraint: Member must satisfy constraint" in message_of(info)
    assert listed(tags) == {"team": "a"}  # nothing lost


def test_validation_comes_before_the_lookup(tags: Tags) -> None:
    with pytest.raises(ClientError) as info:
        tags.tag({"ResourceArn": MISSING, "Tags": {"aws:x": "v"}})
    assert code_of(info) == "ValidationException"


def test_set_initial_checks_the_same_rules(tags: Tags, store: StateStore) -> None:
    with pytest.raises(ClientError) as info, store.transaction() as txn:
        tags.set_initial(txn, PROJECT, {"aws:x": "v"}, op="CreateProject")
    assert code_of(info) == "ValidationException" and info.value.operation_name == "CreateProject"
    with pytest.raises(ClientError) as info, store.transaction() as txn:
        tags.set_initial(txn, PROJECT, {"k": 3}, op="CreateDataset")
    assert code_of(info) == "SerializationException"
    tags.validate({"fine": "yes"}, "CreateProject")  # the same check, before any work


# -- the model's patterns, read from the model ---------------------------------------------------------
def test_the_model_patterns_are_the_ones_this_module_reads() -> None:
    model = service_model()
    assert model.shape_for("TagKey").metadata["pattern"] == r"^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"
    assert model.shape_for("TagValue").metadata["pattern"] == r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$"


SAMPLES = [
    "team", "aws:x", "AWS:x", "", "a b", "a\tb", "a\nb", "Ünï", "値", "٣", "ⅷ", "½", "\u00a0", "\u2028",
    "emoji😀", "x;y", "quote'", "_.:/=+-@", "a\\b", "ǅ", "ʰ", "ª", "\u0301", "x" * 200, "aws", "aws:",
]  # fmt: skip


@pytest.mark.parametrize("text", SAMPLES)
def test_pattern_matching_agrees_with_a_real_unicode_regex_engine(text: str) -> None:
    regex = pytest.importorskip("regex")
    model = service_model()
    for shape_name, ok in (("TagKey", tag_key_matches), ("TagValue", tag_value_matches)):
        expected = regex.fullmatch(model.shape_for(shape_name).metadata["pattern"], text) is not None
        assert ok(text) == expected, (shape_name, text)
