"""PutProjectPolicy, ListProjectPolicies and DeleteProjectPolicy (rclsim.fake.policies): happy paths,
each error the model lists that applies, and bad input."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rclsim.fake.clock import ManualClock
from rclsim.fake.policies import MAX_POLICIES_PER_PROJECT, Policies
from rclsim.fake.state import StateStore
from rclsim.service.apimodel import operation_model
from rclsim.service.constraints import require_valid
from tests.test_describe_versions import shape_problems

PROJECT = "arn:aws:rekognition:us-east-1:123456789012:project/shoes/1700000000000"
OTHER = "arn:aws:rekognition:us-east-1:123456789012:project/hats/1700000000001"
MISSING = "arn:aws:rekognition:us-east-1:123456789012:project/nothing/1700000000002"
VERSION = f"{PROJECT.rsplit('/', 1)[0]}/version/v1/1700000000003"


def statement(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111111111111:role/Admin"},
        "Action": "rekognition:CopyProjectVersion",
        "Resource": VERSION,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def document(*statements: dict[str, Any], **top: Any) -> str:
    """The developer guide's example project policy (Creating a project policy document)."""
    doc: dict[str, Any] = {"Version": "2012-10-17", "Statement": list(statements) or [statement()]}
    doc.update(top)
    return json.dumps({k: v for k, v in doc.items() if v is not None})


DOC = document()


def code_of(info: pytest.ExceptionInfo[BaseException]) -> str:
    return info.value.response["Error"]["Code"]  # type: ignore[attr-defined,no-any-return]


def assert_shape(op: str, response: dict[str, Any]) -> None:
    problems = shape_problems(response, operation_model(op).output_shape)
    assert not problems, "\n".join(problems)


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    s = StateStore(None if request.param == "memory" else tmp_path / "state")
    yield s
    s.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def policies(store: StateStore, clock: ManualClock) -> Policies:
    return Policies(store, clock, project_exists={PROJECT, OTHER}.__contains__)


def put(policies: Policies, name: str = "p1", doc: str = DOC, revision: str | None = None) -> str:
    params: dict[str, Any] = {"ProjectArn": PROJECT, "PolicyName": name, "PolicyDocument": doc}
    if revision is not None:
        params["PolicyRevisionId"] = revision
    require_valid("PutProjectPolicy", params)  # what the core checks first: the tests' input is valid
    response = policies.put(params)
    assert_shape("PutProjectPolicy", response)
    assert set(response) == {"PolicyRevisionId"}
    return response["PolicyRevisionId"]  # type: ignore[no-any-return]


def listed(policies: Policies, project: str = PROJECT, **params: Any) -> dict[str, Any]:
    response = policies.list({"ProjectArn": project, **params})
    assert_shape("ListProjectPolicies", response)
    return response


# -- happy paths ------------------------------------------------------------------------------------------
def test_put_list_update_delete(policies: Policies, clock: ManualClock) -> None:
    assert listed(policies) == {"ProjectPolicies": []}
    created = clock.now()
    rev1 = put(policies)
    assert re.fullmatch(r"[0-9a-f]{32}", rev1)
    (item,) = listed(policies)["ProjectPolicies"]
    when = dt.datetime.fromtimestamp(created, tz=dt.timezone.utc)
    assert item == {
        "ProjectArn": PROJECT,
        "PolicyName": "p1",
        "PolicyRevisionId": rev1,
        "PolicyDocument": DOC,
        "CreationTimestamp": when,
        "LastUpdatedTimestamp": when,
    }
    clock.advance(60)
    new_doc = document(statement(Effect="Deny"))
    rev2 = put(policies, doc=new_doc, revision=rev1)
    assert rev2 != rev1 and re.fullmatch(r"[0-9a-f]{32}", rev2)
    (item,) = listed(policies)["ProjectPolicies"]
    assert item["PolicyRevisionId"] == rev2 and item["PolicyDocument"] == new_doc
    assert item["CreationTimestamp"] == when
    assert item["LastUpdatedTimestamp"] == when + dt.timedelta(seconds=60)
    response = policies.delete({"ProjectArn": PROJECT, "PolicyName": "p1", "PolicyRevisionId": rev2})
    assert response == {}
    assert_shape("DeleteProjectPolicy", response)
    assert listed(policies) == {"ProjectPolicies": []}


def test_document_is_returned_exactly_as_given(policies: Policies) -> None:
    spaced = '{ "Version" : "2012-10-17",\n\t"Statement" : [ ' + json.dumps(statement()) + " ] }"
    put(policies, doc=spaced)
    assert listed(policies)["ProjectPolicies"][0]["PolicyDocument"] == spaced


def test_every_change_gets_a_new_revision_even_with_the_same_document(policies: Policies) -> None:
    revision = put(policies)
    seen = {revision}
    for _ in range(5):
        revision = put(policies, revision=revision)
        seen.add(revision)
    assert len(seen) == 6
    assert listed(policies)["ProjectPolicies"][0]["PolicyRevisionId"] == revision


def test_revision_ids_are_unique_across_policies_and_projects(policies: Policies) -> None:
    revisions = [put(policies, f"p{i}") for i in range(5)]
    revisions.append(
        policies.put({"ProjectArn": OTHER, "PolicyName": "p0", "PolicyDocument": DOC})["PolicyRevisionId"]
    )
    assert len(set(revisions)) == 6


def test_delete_without_a_revision_id(policies: Policies) -> None:
    put(policies)
    assert policies.delete({"ProjectArn": PROJECT, "PolicyName": "p1"}) == {}
    assert listed(policies)["ProjectPolicies"] == []


def test_revision_ids_compare_without_case(policies: Policies) -> None:
    rev = put(policies)
    rev2 = put(policies, revision=rev.upper())
    policies.delete({"ProjectArn": PROJECT, "PolicyName": "p1", "PolicyRevisionId": rev2.upper()})


def test_policies_belong_to_their_project(policies: Policies) -> None:
    put(policies, "shared")
    assert listed(policies, OTHER)["ProjectPolicies"] == []
    with pytest.raises(ClientError) as info:
        policies.delete({"ProjectArn": OTHER, "PolicyName": "shared"})
    assert code_of(info) == "ResourceNotFoundException"


def test_policy_names_are_case_sensitive(policies: Policies) -> None:
    put(policies, "Policy")
    put(policies, "policy")
    assert [p["PolicyName"] for p in listed(policies)["ProjectPolicies"]] == ["Policy", "policy"]


def test_listed_oldest_first_and_paged(policies: Policies, clock: ManualClock) -> None:
    names = ["e", "a", "d", "b", "c"]
    for name in names:
        put(policies, name)
        clock.advance(1)
    assert [p["PolicyName"] for p in listed(policies)["ProjectPolicies"]] == names
    assert "NextToken" not in listed(policies)  # default page size 5 holds them all
    got, token, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"MaxResults": 2}
        if token:
            params["NextToken"] = token
        page = listed(policies, **params)
        pages += 1
        assert len(page["ProjectPolicies"]) <= 2
        got += [p["PolicyName"] for p in page["ProjectPolicies"]]
        token = page.get("NextToken")
        if not token:
            break
    assert got == names and pages == 3


def test_forget_project_drops_its_policies_only(policies: Policies, store: StateStore) -> None:
    put(policies, "a")
    policies.put({"ProjectArn": OTHER, "PolicyName": "a", "PolicyDocument": DOC})
    with store.transaction() as txn:
        policies.forget_project(txn, PROJECT)
    assert listed(policies)["ProjectPolicies"] == []
    assert len(listed(policies, OTHER)["ProjectPolicies"]) == 1


def test_the_sqlite_file_is_shared(tmp_path: Any, clock: ManualClock) -> None:
    a, b = StateStore(tmp_path / "state"), StateStore(tmp_path / "state")
    pa = Policies(a, clock, project_exists={PROJECT}.__contains__)
    pb = Policies(b, clock, project_exists={PROJECT}.__contains__)
    rev = put(pa)
    assert listed(pb)["ProjectPolicies"][0]["PolicyRevisionId"] == rev
    with pytest.raises(ClientError) as info:  # a stale revision, seen from the other process
        put(pa, revision=rev)
        put(pb, revision=rev)
    assert code_of(info) == "InvalidPolicyRevisionIdException"
    a.close()
    b.close()


# -- errors ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "call",
    [
        lambda p: p.put({"ProjectArn": MISSING, "PolicyName": "p", "PolicyDocument": DOC}),
        lambda p: p.list({"ProjectArn": MISSING}),
        lambda p: p.delete({"ProjectArn": MISSING, "PolicyName": "p"}),
    ],
    ids=["put", "list", "delete"],
)
def test_unknown_project(policies: Policies, call: Any) -> None:
    with pytest.raises(ClientError) as info:
        call(policies)
    assert code_of(info) == "ResourceNotFoundException"
    assert MISSING in info.value.response["Error"]["Message"]  # type: ignore[attr-defined]


def test_new_name_with_a_revision_id(policies: Policies) -> None:
    with pytest.raises(ClientError) as info:
        put(policies, revision="0123456789abcdef0123456789abcdef")
    assert code_of(info) == "InvalidPolicyRevisionIdException"
    assert listed(policies)["ProjectPolicies"] == []


@pytest.mark.parametrize("revision", [None, "0123456789abcdef0123456789abcdef", "ab"])
def test_update_needs_the_current_revision(policies: Policies, revision: str | None) -> None:
    rev = put(policies)
    with pytest.raises(ClientError) as info:
        put(policies, doc=document(statement(Effect="Deny")), revision=revision)
    assert code_of(info) == "InvalidPolicyRevisionIdException"
    (item,) = listed(policies)["ProjectPolicies"]
    assert item["PolicyRevisionId"] == rev and item["PolicyDocument"] == DOC  # nothing lost


def test_a_previous_revision_is_refused(policies: Policies) -> None:
    rev1 = put(policies)
    put(policies, revision=rev1)
    for call in (
        lambda: put(policies, revision=rev1),
        lambda: policies.delete({"ProjectArn": PROJECT, "PolicyName": "p1", "PolicyRevisionId": rev1}),
    ):
        with pytest.raises(ClientError) as info:
            call()
        assert code_of(info) == "InvalidPolicyRevisionIdException"
    assert len(listed(policies)["ProjectPolicies"]) == 1


def test_at_most_five_policies_per_project(policies: Policies) -> None:
    assert MAX_POLICIES_PER_PROJECT == 5
    revisions = [put(policies, f"p{i}") for i in range(5)]
    with pytest.raises(ClientError) as info:
        put(policies, "p5")
    assert code_of(info) == "LimitExceededException"
    assert "5" in info.value.response["Error"]["Message"]  # type: ignore[attr-defined]
    put(policies, "p0", revision=revisions[0])  # updating one of the five is fine
    policies.put({"ProjectArn": OTHER, "PolicyName": "p5", "PolicyDocument": DOC})  # per project
    policies.delete({"ProjectArn": PROJECT, "PolicyName": "p1"})
    put(policies, "p5")  # room again


def test_delete_missing_name(policies: Policies) -> None:
    put(policies, "p1")
    with pytest.raises(ClientError) as info:
        policies.delete({"ProjectArn": PROJECT, "PolicyName": "p2"})
    assert code_of(info) == "ResourceNotFoundException"
    assert "p2" in info.value.response["Error"]["Message"]  # type: ignore[attr-defined]


def test_delete_wrong_revision(policies: Policies) -> None:
    put(policies)
    with pytest.raises(ClientError) as info:
        policies.delete({"ProjectArn": PROJECT, "PolicyName": "p1", "PolicyRevisionId": "ab" * 16})
    assert code_of(info) == "InvalidPolicyRevisionIdException"
    assert len(listed(policies)["ProjectPolicies"]) == 1


@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJvIjogMSwgImsiOiAiMDAwMDAwMDAwMDAwMDAwMCJ9", "eyJvIjogOTksICJrIjogIngifQ==", "%%%"],
)
def test_bad_pagination_token(policies: Policies, token: str) -> None:
    put(policies)
    with pytest.raises(ClientError) as info:
        policies.list({"ProjectArn": PROJECT, "NextToken": token})
    assert code_of(info) == "InvalidPaginationTokenException"


def test_a_token_of_another_project_is_refused(policies: Policies) -> None:
    for i in range(3):
        put(policies, f"p{i}")
        policies.put({"ProjectArn": OTHER, "PolicyName": f"p{i}", "PolicyDocument": DOC})
    token = listed(policies, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as info:
        policies.list({"ProjectArn": OTHER, "NextToken": token})
    assert code_of(info) == "InvalidPaginationTokenException"


def test_the_operation_name_is_the_callers(policies: Policies) -> None:
    with pytest.raises(ClientError) as info:
        policies.list({"ProjectArn": MISSING}, op="ListProjectPolicies")
    assert info.value.operation_name == "ListProjectPolicies"


# -- malformed documents --------------------------------------------------------------------------------
MALFORMED = {
    "not json": "this is not json",
    "truncated": DOC[:-3],
    "a list": json.dumps([json.loads(DOC)]),
    "a string": json.dumps("policy"),
    "a number": "12",
    "null": "null",
    "NaN inside": DOC.replace('"Allow"', "NaN"),
    "no Version": document(Version=None),
    "unknown Version": document(Version="2020-01-01"),
    "Version a number": document(Version=2012),
    "no Statement": json.dumps({"Version": "2012-10-17"}),
    "empty Statement": json.dumps({"Version": "2012-10-17", "Statement": []}),
    "Statement a string": json.dumps({"Version": "2012-10-17", "Statement": "allow all"}),
    "Statement items not objects": json.dumps({"Version": "2012-10-17", "Statement": ["x"]}),
    "unknown top-level key": document(Extra=1),
    "no Effect": document(statement(Effect=None)),
    "bad Effect": document(statement(Effect="Permit")),
    "Effect lower case": document(statement(Effect="allow")),
    "Effect a number": document(statement(Effect=1)),
    "no Principal": document(statement(Principal=None)),
    "Principal a number": document(statement(Principal=7)),
    "Principal empty": document(statement(Principal={})),
    "Principal value a number": document(statement(Principal={"AWS": 111111111111})),
    "Principal list with a number": document(statement(Principal={"AWS": ["arn:aws:iam::1:root", 5]})),
    "no Action": document(statement(Action=None)),
    "another action": document(statement(Action="rekognition:DetectCustomLabels")),
    "wildcard action": document(statement(Action="rekognition:*")),
    "Action list with another": document(
        statement(Action=["rekognition:CopyProjectVersion", "rekognition:DeleteProject"])
    ),
    "Action empty list": document(statement(Action=[])),
    "Action a number": document(statement(Action=3)),
    "Action an object": document(statement(Action={"a": "rekognition:CopyProjectVersion"})),
    "no Resource": document(statement(Resource=None)),
    "Resource a number": document(statement(Resource=1)),
    "Resource list with null": document(statement(Resource=[VERSION, None])),
    "NotAction": document(statement(NotAction="rekognition:DeleteProject")),
    "NotResource": document(statement(NotResource="*")),
    "NotPrincipal": document(statement(NotPrincipal={"AWS": "*"})),
    "unknown statement key": document(statement(Foo="bar")),
    "Sid a number": document(statement(Sid=5)),
    "Condition a string": document(statement(Condition="always")),
}


@pytest.mark.parametrize("doc", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_documents(policies: Policies, doc: str) -> None:
    params = {"ProjectArn": PROJECT, "PolicyName": "p1", "PolicyDocument": doc}
    require_valid("PutProjectPolicy", params)  # the model has nothing against them: the module must
    with pytest.raises(ClientError) as info:
        policies.put(params)
    assert code_of(info) == "MalformedPolicyDocumentException"
    assert listed(policies)["ProjectPolicies"] == []


def test_malformed_update_keeps_the_old_document(policies: Policies) -> None:
    rev = put(policies)
    with pytest.raises(ClientError) as info:
        put(policies, doc="{}", revision=rev)
    assert code_of(info) == "MalformedPolicyDocumentException"
    assert listed(policies)["ProjectPolicies"][0]["PolicyRevisionId"] == rev


WELL_FORMED = {
    "the guide's example": DOC,
    "Statement a single object": json.dumps({"Version": "2012-10-17", "Statement": statement()}),
    "old Version": document(Version="2008-10-17"),
    "Id and Sid": document(statement(Sid="AllowCopy"), Id="policy-1"),
    "Principal star": document(statement(Principal="*")),
    "Principal list": document(statement(Principal={"AWS": ["arn:aws:iam::1:root", "222222222222"]})),
    "Action list": document(statement(Action=["rekognition:CopyProjectVersion"])),
    "Action any case": document(statement(Action="Rekognition:copyprojectversion")),
    "Resource list": document(statement(Resource=[VERSION, PROJECT + "/*"])),
    "Condition": document(statement(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-123"}})),
    "two statements": document(statement(), statement(Effect="Deny", Principal="*")),
    "Latin-1 text": document(statement(Sid="Autorisé à copier ñ ÿ")),
    "escaped unicode": document(statement(Sid="\u20ac sign")),  # json.dumps escapes it: ASCII on the wire
}


@pytest.mark.parametrize("doc", WELL_FORMED.values(), ids=WELL_FORMED.keys())
def test_well_formed_documents(policies: Policies, doc: str) -> None:
    put(policies, doc=doc)
    assert listed(policies)["ProjectPolicies"][0]["PolicyDocument"] == doc


def test_documents_at_the_models_maximum_length(policies: Policies) -> None:
    limit = operation_model("PutProjectPolicy").input_shape.members["PolicyDocument"].metadata["max"]
    base = document(statement(Sid=""))
    doc = document(statement(Sid="x" * (limit - len(base))))
    assert len(doc) == limit
    put(policies, doc=doc)
    assert listed(policies)["ProjectPolicies"][0]["PolicyDocument"] == doc
    longer = document(statement(Sid="x" * (limit - len(base) + 1)))
    with pytest.raises(ClientError) as info:  # the core's model check refuses it before this module
        require_valid(
            "PutProjectPolicy", {"ProjectArn": PROJECT, "PolicyName": "p2", "PolicyDocument": longer}
        )
    assert code_of(info) == "ValidationException"


def test_text_outside_latin_1_is_the_models_pattern(policies: Policies) -> None:
    doc = json.dumps(json.loads(document(statement(Sid="€"))), ensure_ascii=False)
    with pytest.raises(ClientError) as info:
        require_valid("PutProjectPolicy", {"ProjectArn": PROJECT, "PolicyName": "p", "PolicyDocument": doc})
    assert code_of(info) == "ValidationException"


@pytest.mark.parametrize(
    "params",
    [
        {"ProjectArn": PROJECT, "PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17"}},
        {"ProjectArn": PROJECT, "PolicyName": "p", "PolicyDocument": b"{}"},
        {"ProjectArn": PROJECT, "PolicyName": 3, "PolicyDocument": DOC},
        {"ProjectArn": PROJECT, "PolicyName": "p", "PolicyDocument": DOC, "PolicyRevisionId": 12},
    ],
)
def test_wrong_parameter_types_are_serialization_errors(policies: Policies, params: dict[str, Any]) -> None:
    """The core's model check answers these first; the module refuses them too rather than crash."""
    with pytest.raises(ClientError) as info:
        policies.put(params)
    assert code_of(info) == "SerializationException"
