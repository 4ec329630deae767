"""Project policies: PutProjectPolicy, ListProjectPolicies, DeleteProjectPolicy.

A project policy lets another account copy a model version (CopyProjectVersion). Each policy is one
``"policy"`` resource in the state store: ARN ``{project_arn}#policy/{name}``, parent the project, doc
``{PolicyName, PolicyDocument, PolicyRevisionId, LastUpdated}`` (``created_at`` is its creation time), so
policies live in memory or in the shared SQLite file, and go with their project
(:meth:`Policies.forget_project`, inside the deleting transaction).

What the model and the Custom Labels guide say ([M] model, [D] docs):

* a new name is attached without a ``PolicyRevisionId``; the response is the new revision id; updating
  a policy needs the revision id of its latest revision, and a previous one answers
  ``InvalidPolicyRevisionIdException``; every change makes a new revision id and the old revision is
  gone [M][D] ("Attaching a project policy (SDK)");
* up to five project policies per project, a limit that can be raised [D];
* the document is a JSON policy in IAM's syntax; ``Action``, ``Resource``, ``Principal`` and ``Effect``
  are required in a statement; the only supported action is ``rekognition:CopyProjectVersion``;
  ``NotAction``, ``NotResource`` and ``NotPrincipal`` are prohibited [D] ("Creating a project policy
  document"); a document that breaks this is ``MalformedPolicyDocumentException`` [M-doc];
* its length (1-2000) and characters (tab, newline, carriage return, U+0020-U+00FF) are the model's,
  checked by the core (``require_valid``) before this module runs [M];
* ``ListProjectPolicies`` pages with ``MaxResults`` (1-5, default 5) and ``NextToken`` (a bad token is
  ``InvalidPaginationTokenException``) [M]; items carry ``ProjectArn``, ``PolicyName``,
  ``PolicyRevisionId``, ``PolicyDocument`` (exactly as given), ``CreationTimestamp`` and
  ``LastUpdatedTimestamp`` (UTC datetimes, as the lifecycle module returns timestamps).

Choices where the service is unverified [U]:

* a new name given with a ``PolicyRevisionId``, and an existing name given without one or with one that
  is not its latest: ``InvalidPolicyRevisionIdException`` (the model also lists
  ``ResourceAlreadyExistsException``; no document says when it is sent, so rclsim never sends it);
* a sixth policy: ``LimitExceededException`` (the guide calls it a limit; the model lists
  ``ServiceQuotaExceededException`` too);
* revision ids are 32 random lowercase hex digits and compare without case; policy names compare with
  case; ``DeleteProjectPolicy`` without a revision id deletes the latest revision;
* the document's checks beyond the guide: ``Version`` is required and is ``2012-10-17`` or
  ``2008-10-17``; ``Statement`` is a non-empty list of objects or one object; the only top-level keys
  are ``Version``, ``Id``, ``Statement`` and the only statement keys ``Sid``, ``Effect``, ``Principal``,
  ``Action``, ``Resource``, ``Condition``; ``Effect`` is ``Allow`` or ``Deny``; ``Principal`` is ``"*"``
  or a non-empty object of strings or lists of strings; ``Action`` and ``Resource`` are a string or a
  non-empty list of strings; actions compare without case (as IAM's do) and wildcards are refused;
* policies are listed oldest first (by creation; an update keeps the place).

``project_exists`` is called outside this module's transaction (it may open its own).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from typing import Any

from rclsim.fake.clock import Clock, utc
from rclsim.fake.lifecycle import page as _page
from rclsim.fake.state import Resource, StateStore
from rclsim.service.errors import service_error

__all__ = ["Policies", "MAX_POLICIES_PER_PROJECT", "policy_document_problem"]

#: Project policies one project may have (the Custom Labels guide: "up to five").
MAX_POLICIES_PER_PROJECT = 5
#: ListProjectPolicies' page size when MaxResults is not given (the model's documentation).
DEFAULT_PAGE_SIZE = 5
_KIND = "policy"
_VERSIONS = ("2012-10-17", "2008-10-17")
_TOP_KEYS = {"Version", "Id", "Statement"}
_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Resource", "Condition"}
_PROHIBITED = ("NotAction", "NotResource", "NotPrincipal")
_ACTION = "rekognition:copyprojectversion"


# -- the document -------------------------------------------------------------------------------------------
def _strings(value: Any) -> bool:
    """A string, or a non-empty list of strings (IAM's form for Action, Resource and principals)."""
    if isinstance(value, str):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _statement_problem(i: int, st: Any) -> str | None:
    where = f"Statement[{i}]"
    if not isinstance(st, dict):
        return f"{where} is not a JSON object"
    for key in _PROHIBITED:
        if key in st:
            return f"{where} has {key}, which project policies do not allow"
    for key in ("Effect", "Principal", "Action", "Resource"):
        if key not in st:
            return f"{where} has no {key}"
    unknown = sorted(set(st) - _STATEMENT_KEYS)
    if unknown:
        return f"{where} has unknown key(s) {', '.join(unknown)}"
    if st["Effect"] not in ("Allow", "Deny"):
        return f"{where}.Effect must be Allow or Deny"
    principal = st["Principal"]
    if principal != "*" and not (
        isinstance(principal, dict) and principal and all(_strings(v) for v in principal.values())
    ):
        return f'{where}.Principal must be "*" or an object of strings or lists of strings'
    action = st["Action"]
    if not _strings(action):
        return f"{where}.Action must be a string or a non-empty list of strings"
    for name in [action] if isinstance(action, str) else action:
        if name.lower() != _ACTION:
            return (
                f"{where}.Action {name!r} is not supported: the only action is rekognition:CopyProjectVersion"
            )
    if not _strings(st["Resource"]):
        return f"{where}.Resource must be a string or a non-empty list of strings"
    if "Sid" in st and not isinstance(st["Sid"], str):
        return f"{where}.Sid must be a string"
    if "Condition" in st and not isinstance(st["Condition"], dict):
        return f"{where}.Condition must be a JSON object"
    return None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def policy_document_problem(text: str) -> str | None:
    """What is wrong with a project policy document (see the module's rules), or None when it is fine."""
    try:
        doc = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        return f"it is not JSON ({exc})"
    if not isinstance(doc, dict):
        return "it is not a JSON object"
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        return f"unknown top-level key(s) {', '.join(unknown)}"
    if "Version" not in doc:
        return "it has no Version"
    if doc["Version"] not in _VERSIONS:
        return f"Version must be one of {', '.join(_VERSIONS)}"
    if "Id" in doc and not isinstance(doc["Id"], str):
        return "Id must be a string"
    statements = doc.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "Statement must be a non-empty list of statements"
    for i, st in enumerate(statements):
        problem = _statement_problem(i, st)
        if problem:
            return problem
    return None


# -- the operations ----------------------------------------------------------------------------------------
def _policy_arn(project_arn: str, name: str) -> str:
    return f"{project_arn}#policy/{name}"


def _same_revision(given: str, current: str) -> bool:
    return given.lower() == current.lower()


def _text(params: Mapping[str, Any], name: str, op: str, *, required: bool = True) -> Any:
    """A string member, or the error the core's model check gives for a wrong type (it runs first in the
    core; checked here as well so a direct caller gets the service's answer, not a crash)."""
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str):
        shown = f"<{len(value)} bytes>" if isinstance(value, (bytes, bytearray)) else str(value)
        raise service_error(
            "SerializationException",
            f"Value '{shown}' at '{name[:1].lower() + name[1:]}' is not a valid string",
            op,
        )
    return value


class Policies:
    """The project policy operations over the state store; ``project_exists(arn)`` says whether a
    Custom Labels project exists."""

    def __init__(self, state: StateStore, clock: Clock, *, project_exists: Callable[[str], bool]) -> None:
        self.state = state
        self.clock = clock
        self._project_exists = project_exists

    def _require_project(self, params: Mapping[str, Any], op: str) -> str:
        arn = _text(params, "ProjectArn", op)
        if not self._project_exists(arn):
            raise service_error("ResourceNotFoundException", f"The project {arn} does not exist.", op)
        return str(arn)

    def put(self, params: Mapping[str, Any], op: str = "PutProjectPolicy") -> dict[str, Any]:
        """PutProjectPolicy: attach a new policy, or replace the latest revision of an existing one."""
        name = _text(params, "PolicyName", op)
        text = _text(params, "PolicyDocument", op)
        given = _text(params, "PolicyRevisionId", op, required=False)
        project = self._require_project(params, op)
        problem = policy_document_problem(text)
        if problem:
            raise service_error(
                "MalformedPolicyDocumentException",
                f"The project policy document is malformed: {problem}.",
                op,
            )
        arn = _policy_arn(project, name)
        now = self.clock.now()
        revision = os.urandom(16).hex()
        with self.state.transaction() as txn:
            current = txn.get_resource(_KIND, arn)
            if current is None:
                if given is not None:
                    raise service_error(
                        "InvalidPolicyRevisionIdException",
                        f"The project {project} has no policy named {name}; attach a new policy without a "
                        f"PolicyRevisionId.",
                        op,
                    )
                count = len(txn.resources(_KIND, parent=project))
                if count >= MAX_POLICIES_PER_PROJECT:
                    raise service_error(
                        "LimitExceededException",
                        f"The project {project} already has {count} project policies, the most a project "
                        f"can have ({MAX_POLICIES_PER_PROJECT}).",
                        op,
                    )
                created_at = now
            else:
                latest = current.doc["PolicyRevisionId"]
                if given is None or not _same_revision(given, latest):
                    raise service_error(
                        "InvalidPolicyRevisionIdException",
                        f"The policy {name} exists; to update it give the PolicyRevisionId of its latest "
                        f"revision" + (f" ({given} is not it)." if given is not None else "."),
                        op,
                    )
                created_at = current.created_at
            doc = {
                "PolicyName": name,
                "PolicyDocument": text,
                "PolicyRevisionId": revision,
                "LastUpdated": now,
            }
            txn.put_resource(Resource(_KIND, arn, project, created_at, doc))
        return {"PolicyRevisionId": revision}

    def list(self, params: Mapping[str, Any], op: str = "ListProjectPolicies") -> dict[str, Any]:
        """ListProjectPolicies: the project's policies, oldest first, in pages of ``MaxResults`` (5)."""
        project = self._require_project(params, op)
        with self.state.transaction() as txn:
            stored = txn.resources(_KIND, parent=project)
        rows = [
            {
                "ProjectArn": project,
                "PolicyName": r.doc["PolicyName"],
                "PolicyRevisionId": r.doc["PolicyRevisionId"],
                "PolicyDocument": r.doc["PolicyDocument"],
                "CreationTimestamp": utc(r.created_at),
                "LastUpdatedTimestamp": utc(r.doc["LastUpdated"]),
            }
            for r in stored
        ]
        paging = {**params, "MaxResults": params.get("MaxResults") or DEFAULT_PAGE_SIZE}
        page, token = _page(rows, paging, {"policies-of": project}, op)
        out: dict[str, Any] = {"ProjectPolicies": page}
        if token:
            out["NextToken"] = token
        return out

    def delete(self, params: Mapping[str, Any], op: str = "DeleteProjectPolicy") -> dict[str, Any]:
        """DeleteProjectPolicy: remove a policy; a ``PolicyRevisionId``, when given, must be its latest."""
        name = _text(params, "PolicyName", op)
        given = _text(params, "PolicyRevisionId", op, required=False)
        project = self._require_project(params, op)
        arn = _policy_arn(project, name)
        with self.state.transaction() as txn:
            current = txn.get_resource(_KIND, arn)
            if current is None:
                raise service_error(
                    "ResourceNotFoundException", f"The project {project} has no policy named {name}.", op
                )
            if given is not None and not _same_revision(given, current.doc["PolicyRevisionId"]):
                raise service_error(
                    "InvalidPolicyRevisionIdException",
                    f"{given} is not the latest revision of the policy {name}.",
                    op,
                )
            txn.delete_resource(_KIND, arn)
        return {}

    def forget_project(self, txn: Any, project_arn: str) -> None:
        """Drop a deleted project's policies, inside the caller's (deleting) transaction."""
        for r in txn.resources(_KIND, parent=project_arn):
            txn.delete_resource(_KIND, r.arn)
