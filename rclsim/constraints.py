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

import math
import re
from collections.abc import Mapping
from typing import Any

from .apimodel import operation_model

__all__ = ["ParameterProblems", "check_parameters"]


class ParameterProblems:
    """What is wrong with one request: type problems and constraint violations, in model order."""

    def __init__(self) -> None:
        self.type_errors: list[str] = []
        self.violations: list[str] = []

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


def _walk(shape: Any, value: Any, path: str, out: ParameterProblems) -> None:
    type_name = shape.type_name
    expected = _PY_TYPES.get(type_name)
    if expected is not None:
        bad_bool = isinstance(value, bool) and type_name not in ("boolean",)
        if bad_bool or not isinstance(value, expected):
            out.type_errors.append(f"Value '{_show(value)}' at '{path}' is not a valid {type_name}")
            return
    if type_name == "integer" and not -(2**31) <= value < 2**31:
        out.type_errors.append(f"Value '{value}' at '{path}' is out of range for a 32-bit integer")
        return
    if type_name in ("float", "double") and not math.isfinite(value):
        out.type_errors.append(f"Value '{_show(value)}' at '{path}' is not a finite number")
        return

    meta = shape.metadata

    def violate(text: str) -> None:
        out.violations.append(f"Value '{_show(value)}' at '{path}' failed to satisfy constraint: {text}")

    if type_name == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                sub = f"{path}.{_camel(name)}" if path else _camel(name)
                out.violations.append(
                    f"Value null at '{sub}' failed to satisfy constraint: Member must not be null"
                )
        for name, member in shape.members.items():
            if value.get(name) is not None:
                sub = f"{path}.{_camel(name)}" if path else _camel(name)
                _walk(member, value[name], sub, out)
        return
    if type_name in ("string", "list", "map") or (type_name == "blob" and "max" not in meta):
        length = len(value)
        if "min" in meta and length < meta["min"]:
            violate(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and length > meta["max"]:
            violate(f"Member must have length less than or equal to {meta['max']}")
    elif type_name == "blob" and "min" in meta and len(value) < meta["min"]:
        violate(f"Member must have length greater than or equal to {meta['min']}")
    if type_name in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            violate(f"Member must have value greater than or equal to {meta['min']}")
        if "max" in meta and value > meta["max"]:
            violate(f"Member must have value less than or equal to {meta['max']}")
    if type_name == "string":
        if "pattern" in meta and re.fullmatch(meta["pattern"], value) is None:
            violate(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if shape.enum and value not in shape.enum:
            violate(f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")
    if type_name == "list":
        for i, item in enumerate(value, start=1):
            _walk(shape.member, item, f"{path}.{i}.member", out)


def check_parameters(operation: str, params: Mapping[str, Any]) -> ParameterProblems:
    """Every server-side problem with ``params`` for ``operation``, as the service would word it."""
    out = ParameterProblems()
    if not isinstance(params, Mapping):
        out.type_errors.append("the request body is not a JSON object")
        return out
    _walk(operation_model(operation).input_shape, params, "", out)
    return out
