"""Tags on Custom Labels resources: TagResource, UntagResource, ListTagsForResource, and the ``Tags``
given to CreateProject, CreateDataset, CreateProjectVersion and CopyProjectVersion.

A resource's tags are one ``"tags"`` resource in the state store (its ARN is the tagged ARN, its doc
``{"Tags": {key: value}}``), so they live in memory or in the shared SQLite file like everything else,
and go when the resource goes (:meth:`Tags.forget`, inside the deleting transaction).

The rules, and where each comes from:

* the model's TagKey (1-128 characters, pattern ``^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$``) and
  TagValue (0-256, the same classes) [M], read from botocore's model and answered as the service's
  validation error (``ValidationException``, one violation per map side in Coral's wording:
  ``Map keys must satisfy constraint: [...]``). The generic parameter check
  (``rclsim.service.constraints``) does not look inside maps, and Python's ``re`` has no ``\\p{..}``
  classes, so this module reads those two shapes itself; a key or value of the wrong type is a
  ``SerializationException``, as that check answers wrong types;
* ``aws:`` in another case (``AWS:``, ``Aws:``): reserved by AWS's tagging rules, which the model's
  case-sensitive pattern does not say: ``InvalidParameterException`` [U];
* at most 50 tags on one resource (AWS's general tagging limit; the model's 200 is the size of one
  request) [U]: more answers ``ServiceQuotaExceededException`` where the operation's model lists it
  (TagResource, CreateProjectVersion, CopyProjectVersion), otherwise ``InvalidParameterException``
  (CreateProject, CreateDataset) [U];
* an unknown ARN (the ``exists`` callback says no): ``ResourceNotFoundException`` [M]. Input is
  validated before the lookup, as the service validates a request before reading anything.

Choices where the service is unverified [U]: tags keep their insertion order and re-tagging a key
replaces its value in place; untagging a key the resource does not have (or an empty key list) is not
an error; an empty ``Tags`` map is accepted and changes nothing.

``exists`` is called outside this module's transaction (it may open its own). A resource deleted between
the two would keep a tags record under an ARN nobody reuses (ARNs carry a creation time).
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rclsim.fake.clock import Clock
from rclsim.fake.state import Resource, StateStore
from rclsim.service.errors import service_error

__all__ = ["Tags", "MAX_TAGS_PER_RESOURCE", "tag_key_matches", "tag_value_matches"]

#: The most tags one resource may carry ([U]: AWS's general tagging limit; the model allows 200 per request).
MAX_TAGS_PER_RESOURCE = 50
_KIND = "tags"


# -- the model's TagKey / TagValue, read from botocore -----------------------------------------------------
@dataclass(frozen=True)
class _TextRule:
    """A string shape of the model: its lengths and its pattern, parsed into a forbidden prefix and a set
    of allowed characters (Unicode general categories plus literal characters)."""

    min_len: int
    max_len: int
    pattern: str
    forbidden_prefix: str
    categories: frozenset[str]
    literals: frozenset[str]

    def matches(self, text: str) -> bool:
        if self.forbidden_prefix and text.startswith(self.forbidden_prefix):
            return False
        return all(c in self.literals or unicodedata.category(c)[0] in self.categories for c in text)

    def constraints(self) -> str:
        """Every constraint of the shape, as the service lists them for a map's keys or values."""
        return (
            f"[Member must have length less than or equal to {self.max_len}, "
            f"Member must have length greater than or equal to {self.min_len}, "
            f"Member must satisfy regular expression pattern: {self.pattern}]"
        )

    def ok(self, text: str) -> bool:
        return self.min_len <= len(text) <= self.max_len and self.matches(text)


def _parse_pattern(pattern: str) -> tuple[str, frozenset[str], frozenset[str]]:
    """Split ``^(?!PREFIX)[CLASS]*$`` (the group around the class optional) into the forbidden prefix,
    the ``\\p{X}`` categories and the literal characters. Anything else is refused: a botocore whose
    tag patterns changed shape must be looked at, not matched loosely."""
    body = pattern
    if not (body.startswith("^") and body.endswith("$")):
        raise ValueError(f"unsupported tag pattern {pattern!r}")
    body = body[1:-1]
    prefix = ""
    if body.startswith("(?!"):
        end = body.index(")")
        prefix, body = body[3:end], body[end + 1 :]
        if any(c in prefix for c in "\\[]().*+?|{}^$"):
            raise ValueError(f"unsupported tag pattern {pattern!r}")
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    if not (body.startswith("[") and body.endswith("]*")):
        raise ValueError(f"unsupported tag pattern {pattern!r}")
    inner = body[1:-2]
    categories: set[str] = set()
    literals: set[str] = set()
    i = 0
    while i < len(inner):
        c = inner[i]
        if inner.startswith("\\p{", i):
            end = inner.index("}", i)
            name = inner[i + 3 : end]
            if len(name) != 1:
                raise ValueError(f"unsupported class \\p{{{name}}} in tag pattern {pattern!r}")
            categories.add(name)
            i = end + 1
        elif c == "\\":
            literals.add(inner[i + 1])
            i += 2
        elif c in "[]^" or (c == "-" and 0 < i < len(inner) - 1):
            raise ValueError(f"unsupported tag pattern {pattern!r}")
        else:
            literals.add(c)
            i += 1
    return prefix, frozenset(categories), frozenset(literals)


@functools.cache
def _rule(shape_name: str) -> _TextRule:
    from rclsim.service.apimodel import service_model

    meta = service_model().shape_for(shape_name).metadata
    prefix, categories, literals = _parse_pattern(meta["pattern"])
    return _TextRule(meta.get("min", 0), meta["max"], meta["pattern"], prefix, categories, literals)


def tag_key_matches(text: str) -> bool:
    """True when ``text`` matches the model's TagKey pattern (Unicode classes included); lengths aside."""
    return _rule("TagKey").matches(text)


def tag_value_matches(text: str) -> bool:
    """True when ``text`` matches the model's TagValue pattern; lengths aside."""
    return _rule("TagValue").matches(text)


# -- checks --------------------------------------------------------------------------------------------
def _java(value: Any) -> str:
    """A value as the service's validation messages show it (Java's toString of a map or list)."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    return str(value)


def _validation(violations: list[str], op: str) -> Exception:
    n = len(violations)
    noun = "error" if n == 1 else "errors"
    return service_error(
        "ValidationException", f"{n} validation {noun} detected: " + "; ".join(violations), op
    )


def _reserved_prefix(key: str, op: str) -> None:
    if key[:4].lower() == "aws:":
        raise service_error(
            "InvalidParameterException",
            f"The tag key {key!r} starts with 'aws:' (in some case); keys with that prefix are reserved "
            f"for AWS use.",
            op,
        )


def check_tag_map(tags: Any, op: str) -> dict[str, str]:
    """The tag map ``tags`` as a plain dict, or the service's error for it (see the module's rules)."""
    if not isinstance(tags, Mapping):
        raise service_error(
            "SerializationException", f"Value '{_java(tags)}' at 'tags' is not a valid map", op
        )
    for key, value in tags.items():
        for part in (key, value):
            if not isinstance(part, str):
                raise service_error(
                    "SerializationException",
                    f"Value '{_java(part)}' at 'tags.{key}' is not a valid string",
                    op,
                )
    key_rule, value_rule = _rule("TagKey"), _rule("TagValue")
    violations = []
    if not all(key_rule.ok(k) for k in tags):
        violations.append(
            f"Value '{_java(tags)}' at 'tags' failed to satisfy constraint: Map keys must satisfy "
            f"constraint: {key_rule.constraints()}"
        )
    if not all(value_rule.ok(v) for v in tags.values()):
        violations.append(
            f"Value '{_java(tags)}' at 'tags' failed to satisfy constraint: Map values must satisfy "
            f"constraint: {value_rule.constraints()}"
        )
    if violations:
        raise _validation(violations, op)
    for key in tags:
        _reserved_prefix(key, op)
    return dict(tags)


def check_tag_keys(keys: Any, op: str) -> list[str]:
    """UntagResource's ``TagKeys`` as a list, or the service's error for it."""
    if isinstance(keys, (str, bytes)) or not isinstance(keys, Sequence):
        raise service_error(
            "SerializationException", f"Value '{_java(keys)}' at 'tagKeys' is not a valid list", op
        )
    for i, key in enumerate(keys, start=1):
        if not isinstance(key, str):
            raise service_error(
                "SerializationException",
                f"Value '{_java(key)}' at 'tagKeys.{i}.member' is not a valid string",
                op,
            )
    rule = _rule("TagKey")
    if not all(rule.ok(k) for k in keys):
        raise _validation(
            [
                f"Value '{_java(keys)}' at 'tagKeys' failed to satisfy constraint: Member must satisfy "
                f"constraint: {rule.constraints()}"
            ],
            op,
        )
    return list(keys)


def _quota_error(arn: str, count: int, op: str) -> Exception:
    from rclsim.service.apimodel import service_model

    try:
        listed = {e.name for e in service_model().operation_model(op).error_shapes}
    except Exception:  # noqa: BLE001 - an operation the model does not know lists nothing
        listed = set()
    code = (
        "ServiceQuotaExceededException"
        if "ServiceQuotaExceededException" in listed
        else "InvalidParameterException"
    )
    return service_error(
        code,
        f"The resource {arn} would have {count} tags; a resource can have at most {MAX_TAGS_PER_RESOURCE}.",
        op,
    )


# -- the operations ----------------------------------------------------------------------------------------
class Tags:
    """The tag operations over the state store. ``exists(arn)`` says whether a taggable resource (project,
    dataset, model version) exists; it is asked outside this module's transactions."""

    def __init__(self, state: StateStore, clock: Clock, *, exists: Callable[[str], bool]) -> None:
        self.state = state
        self.clock = clock
        self._exists = exists

    def _require(self, arn: Any, op: str) -> str:
        if not isinstance(arn, str) or not self._exists(arn):
            raise service_error("ResourceNotFoundException", f"The resource {arn} does not exist.", op)
        return arn

    @staticmethod
    def _read(txn: Any, arn: str) -> tuple[dict[str, str], float | None]:
        stored = txn.get_resource(_KIND, arn)
        if stored is None:
            return {}, None
        return dict(stored.doc.get("Tags", {})), stored.created_at

    def _write(self, txn: Any, arn: str, tags: dict[str, str], created_at: float | None) -> None:
        if not tags:
            txn.delete_resource(_KIND, arn)
            return
        when = created_at if created_at is not None else self.clock.now()
        txn.put_resource(Resource(_KIND, arn, None, when, {"Tags": tags}))

    def validate(self, tags: Any, op: str, arn: str | None = None) -> dict[str, str]:
        """Check a Create operation's ``Tags`` (None: none given), before any work is done if the caller
        likes: the service's error for ``op``, or the tags as a dict."""
        if tags is None:
            return {}
        given = check_tag_map(tags, op)
        if len(given) > MAX_TAGS_PER_RESOURCE:
            raise _quota_error(arn or "being created", len(given), op)
        return given

    def tag(self, params: Mapping[str, Any], op: str = "TagResource") -> dict[str, Any]:
        """TagResource: add ``Tags`` to the resource, replacing the values of keys it already has."""
        given = check_tag_map(params.get("Tags"), op)
        arn = self._require(params.get("ResourceArn"), op)
        with self.state.transaction() as txn:
            current, created_at = self._read(txn, arn)
            current.update(given)  # a re-tagged key keeps its place
            if len(current) > MAX_TAGS_PER_RESOURCE:
                raise _quota_error(arn, len(current), op)
            self._write(txn, arn, current, created_at)
        return {}

    def untag(self, params: Mapping[str, Any], op: str = "UntagResource") -> dict[str, Any]:
        """UntagResource: remove ``TagKeys``; keys the resource does not have are ignored."""
        keys = check_tag_keys(params.get("TagKeys"), op)
        arn = self._require(params.get("ResourceArn"), op)
        with self.state.transaction() as txn:
            current, created_at = self._read(txn, arn)
            remaining = {k: v for k, v in current.items() if k not in set(keys)}
            if remaining != current:
                self._write(txn, arn, remaining, created_at)
        return {}

    def list(self, params: Mapping[str, Any], op: str = "ListTagsForResource") -> dict[str, Any]:
        """ListTagsForResource: ``{"Tags": {...}}`` in the order the keys were first added."""
        arn = self._require(params.get("ResourceArn"), op)
        with self.state.transaction() as txn:
            current, _ = self._read(txn, arn)
        return {"Tags": current}

    def forget(self, txn: Any, arn: str) -> None:
        """Drop a deleted resource's tags, inside the caller's (deleting) transaction."""
        txn.delete_resource(_KIND, arn)

    def set_initial(self, txn: Any, arn: str, tags: Any, op: str = "CreateProject") -> None:
        """Store the ``Tags`` given to a Create operation (None or empty: nothing), inside the caller's
        transaction, checked by the same rules as TagResource; raises the service's error for ``op``."""
        given = self.validate(tags, op, arn)
        if given:
            self._write(txn, arn, given, None)
