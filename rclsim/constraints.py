"""The service-side parameter checks, derived from botocore's model.

botocore validates some constraints on the client (required members, types, ``min``) and sends the rest
to the service unchecked: ``max`` values and lengths, regex patterns and enums reach the server, which
answers ``ValidationException`` with its usual message form::

    1 validation error detected: Value '101' at 'minConfidence' failed to satisfy constraint:
    Member must have value less than or equal to 100

This module walks the operation's input shape from the model and reports every violation in that form,
so the fake rejects exactly what the model constrains, whichever botocore is installed. Choices where
the real service's wording is unverified ([U] in the fact sheet) are documented in the README:

* a value of the wrong type (or a non-finite number, or an ``integer`` beyond 32 bits) is a
  ``SerializationException``, the code the JSON protocol uses for bodies it cannot read;
* blob length maxima are not checked here: an oversized image is the image check's
  ``ImageTooLargeException``;
* members the model does not know are ignored, as JSON services ignore unknown input members.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from .apimodel import operation_model

__all__ = ["ParameterProblems", "check_parameters"]


class ParameterProblems:
    """What is wrong with one request: type problems and constraint violations, in model order."""

    def __init__(self) -> None:
        self.type_errors: list[str] = []
        self.violations: list[str] = []
        #: Members the model does not know. The service ignores them; botocore's client refuses them.
        self.unknown: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.type_errors or self.violations)

    def validation_message(self) -> str:
        n = len(self.violations)
        noun = "error" if n == 1 else "errors"
        return f"{n} validation {noun} detected: " + "; ".join(self.violations)


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _show(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


_PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "boolean": (bool,),
    "blob": (bytes, bytearray),
    "structure": (Mapping,),
    "list": (list, tuple),
    "map": (Mapping,),
}


Checker = Callable[[Any, str, ParameterProblems], None]


def _compile(shape: Any, compiled: dict[str, Checker]) -> Checker:
    """A checker for ``shape`` with its constraints looked up once (the detect path runs it per call)."""
    key = f"{shape.type_name}:{shape.name}"
    if key in compiled:
        return compiled[key]
    type_name = shape.type_name
    meta = shape.metadata
    expected = _PY_TYPES.get(type_name)
    lo, hi = meta.get("min"), meta.get("max")
    pattern = re.compile(meta["pattern"]) if type_name == "string" and "pattern" in meta else None
    enum = frozenset(shape.enum) if type_name == "string" and shape.enum else None
    check_length = type_name in ("string", "list", "map", "blob")
    check_max_length = type_name != "blob" or hi is None  # blob maxima are the image check's
    numeric = type_name in ("integer", "long", "float", "double")
    members: list[tuple[str, str, Checker]] = []
    known: set[str] = set()
    required: list[tuple[str, str]] = []
    item: list[Checker] = []

    def check(value: Any, path: str, out: ParameterProblems) -> None:
        if expected is not None and (
            (isinstance(value, bool) and type_name != "boolean") or not isinstance(value, expected)
        ):
            out.type_errors.append(f"Value '{_show(value)}' at '{path}' is not a valid {type_name}")
            return
        if type_name == "integer" and not -(2**31) <= value < 2**31:
            out.type_errors.append(f"Value '{value}' at '{path}' is out of range for a 32-bit integer")
            return
        if type_name in ("float", "double") and not math.isfinite(value):
            out.type_errors.append(f"Value '{_show(value)}' at '{path}' is not a finite number")
            return
        if type_name == "structure":
            for name, camel in required:
                if value.get(name) is None:
                    sub = f"{path}.{camel}" if path else camel
                    out.violations.append(
                        f"Value null at '{sub}' failed to satisfy constraint: Member must not be null"
                    )
            for name, camel, checker in members:
                member_value = value.get(name)
                if member_value is not None:
                    checker(member_value, f"{path}.{camel}" if path else camel, out)
            if len(value) > len(members) or any(key not in known for key in value):
                out.unknown.extend(f"{path}.{key}" if path else str(key) for key in value if key not in known)
            return

        def violate(text: str) -> None:
            out.violations.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: {text}")

        if check_length:
            length = len(value)
            if lo is not None and length < lo:
                violate(f"Member must have length greater than or equal to {lo}")
            if check_max_length and hi is not None and length > hi:
                violate(f"Member must have length less than or equal to {hi}")
        elif numeric:
            if lo is not None and value < lo:
                violate(f"Member must have value greater than or equal to {lo}")
            if hi is not None and value > hi:
                violate(f"Member must have value less than or equal to {hi}")
        if pattern is not None and pattern.fullmatch(value) is None:
            violate(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if enum is not None and value not in enum:
            violate(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
        if item:
            for i, element in enumerate(value, start=1):
                item[0](element, f"{path}.{i}.member", out)

    compiled[key] = check  # before the members: shapes may refer to themselves
    if type_name == "structure":
        required.extend((name, _camel(name)) for name in shape.required_members)
        members.extend((name, _camel(name), _compile(m, compiled)) for name, m in shape.members.items())
        known.update(shape.members)
    elif type_name == "list":
        item.append(_compile(shape.member, compiled))
    return check


class _Shape:
    """The parts of a botocore shape the checks read, rebuilt from the cached derivation."""

    def __init__(self, name: str, shapes: dict[str, Any]) -> None:
        data = shapes[name]
        self.name = name
        self.type_name = data["type"]
        self.metadata = data["meta"]
        self.enum = data.get("enum") or []
        self.required_members = data.get("required", [])
        self.members = {member: _Shape(ref, shapes) for member, ref in data.get("members", {}).items()}
        self.member = _Shape(data["member"], shapes) if "member" in data else None


def _describe(shape: Any, shapes: dict[str, Any]) -> str:
    """Record ``shape`` (and what it contains) in ``shapes``; return its name."""
    if shape.name in shapes:
        return str(shape.name)
    meta = {k: v for k, v in shape.metadata.items() if k in ("min", "max", "pattern")}
    entry: dict[str, Any] = {"type": shape.type_name, "meta": meta}
    shapes[shape.name] = entry
    if getattr(shape, "enum", None):
        entry["enum"] = list(shape.enum)
    if shape.type_name == "structure":
        entry["required"] = list(shape.required_members)
        entry["members"] = {name: _describe(member, shapes) for name, member in shape.members.items()}
    elif shape.type_name == "list":
        entry["member"] = _describe(shape.member, shapes)
    return str(shape.name)


def _derived_inputs() -> dict[str, Any]:
    """The input shapes of the faked operations, derived from botocore's model once per botocore
    version and cached (loading the model costs a process ~80 ms of imports; ``rclsim detect`` should
    not pay that on every run). The cache is only a cache: when it is missing or unreadable the model
    is loaded and the derivation written again."""
    import json

    import botocore

    from .apimodel import API_VERSION, OPERATIONS
    from .verdicts import cache_dir

    path = cache_dir() / "model" / f"rekognition-{API_VERSION}-botocore-{botocore.__version__}-v1.json"
    try:
        data: dict[str, Any] = json.loads(path.read_bytes())
        if set(data.get("operations", {})) >= set(OPERATIONS):
            return data
    except (OSError, ValueError):
        pass
    shapes: dict[str, Any] = {}
    operations = {op: _describe(operation_model(op).input_shape, shapes) for op in OPERATIONS}
    data = {"operations": operations, "shapes": shapes}
    try:
        from .files import write_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(data).encode("utf-8"), overwrite=True)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower next time
        pass
    return data


@functools.cache
def _checker(operation: str) -> Checker:
    from .apimodel import OPERATIONS

    if operation in OPERATIONS:
        data = _derived_inputs()
        return _compile(_Shape(data["operations"][operation], data["shapes"]), {})
    return _compile(operation_model(operation).input_shape, {})


def check_parameters(operation: str, params: Mapping[str, Any]) -> ParameterProblems:
    """Every server-side problem with ``params`` for ``operation``, as the service would word it."""
    out = ParameterProblems()
    if not isinstance(params, Mapping):
        out.type_errors.append("the request body is not a JSON object")
        return out
    _checker(operation)(params, "", out)
    return out
