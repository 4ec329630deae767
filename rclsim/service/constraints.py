"""The service-side parameter checks, derived from botocore's model.

botocore validates some constraints on the client (required members, types, ``min``) and sends the rest
to the service unchecked: ``max`` values and lengths, regex patterns and enums reach the server, which
answers ``ValidationException`` with its usual message form::

    1 validation error detected: Value '101' at 'minConfidence' failed to satisfy constraint:
    Member must have value less than or equal to 100

This module walks the operation's input shape from the model and reports every violation in that form,
so the fake rejects exactly what the model constrains, whichever botocore is installed. Choices where
the real service's wording is unverified ([U] in the fact sheet) are documented in docs/fidelity.md:

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

from rclsim.service.apimodel import operation_model

__all__ = ["ParameterProblems", "check_parameters", "parameters_ok", "require_valid", "client_side_check"]


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


#: Unicode property classes of the model's patterns (Java/Smithy syntax) that Python's ``re`` lacks,
#: as the nearest ``re`` classes inside a character class: letters and numbers -> ``\w`` (which adds
#: ``_``; every pattern using them allows ``_`` anyway), separators -> ``\s`` (which adds tab and
#: line breaks: slightly more lenient than the service, never stricter).
_UNICODE_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\w", r"\p{Z}": r"\s"}


@functools.cache
def compile_pattern(pattern: str) -> re.Pattern[str]:
    r"""A model pattern as a Python regex (TagKey's ``[\p{L}\p{Z}\p{N}...]`` included)."""
    for java, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, python)
    return re.compile(pattern)


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


def _finite(value: float) -> bool:
    """True for a number a float can hold: an integer past float's range (``10**400`` in a JSON body)
    is not one, and must be refused rather than raise ``OverflowError``."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _compile(shape: Any, compiled: dict[str, Checker]) -> Checker:
    """A checker for ``shape`` with its constraints looked up once (the detect path runs it per call)."""
    key = f"{shape.type_name}:{shape.name}"
    if key in compiled:
        return compiled[key]
    type_name = shape.type_name
    meta = shape.metadata
    expected = _PY_TYPES.get(type_name)
    lo, hi = meta.get("min"), meta.get("max")
    pattern = compile_pattern(meta["pattern"]) if type_name == "string" and "pattern" in meta else None
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
        if type_name in ("float", "double") and not _finite(value):
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

    from rclsim.caches.verdicts import cache_dir
    from rclsim.service.apimodel import API_VERSION, OPERATIONS

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
        from rclsim.service.files import write_atomically

        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(data).encode("utf-8"), overwrite=True)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower next time
        pass
    return data


@functools.cache
def _checker(operation: str) -> Checker:
    from rclsim.service.apimodel import OPERATIONS

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


# ---------------------------------------------------------------------------------------------------
# The fast path: one yes/no check per request, generated from the same derivation
# ---------------------------------------------------------------------------------------------------
#: Strings known to match a pattern, per pattern (strings are immutable, so a verdict never goes stale).
#: Bounded: past the limit, new strings are matched each time.
_PATTERN_VERDICT_LIMIT = 4096


class _FastCompiler:
    """Writes one Python function that answers "does this request pass every check, with no unknown
    member and only plain types?" in straight-line code. ``True`` promises exactly what
    :func:`check_parameters` finding nothing (and no unknown member) promises; ``False`` only means
    "ask the full check", which words the problems. Plain types only (``type(x) is dict``): a Mapping
    subclass, a tuple for a list, and the like take the full check."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"_isfinite": math.isfinite}
        self._counter = 0

    def _name(self, prefix: str, value: Any) -> str:
        self._counter += 1
        name = f"_{prefix}{self._counter}"
        self.names[name] = value
        return name

    def _var(self) -> str:
        self._counter += 1
        return f"v{self._counter}"

    def emit(self, shape: Any, var: str, indent: str, depth: int) -> None:
        out = self.lines.append
        type_name = shape.type_name
        meta = shape.metadata
        lo, hi = meta.get("min"), meta.get("max")
        if depth > 20:  # a recursive shape: leave deep values to the full check
            out(f"{indent}return False")
            return
        if type_name == "structure":
            known = self._name("known", frozenset(shape.members))
            out(f"{indent}if type({var}) is not dict: return False")
            out(f"{indent}for _k in {var}:")
            out(f"{indent}    if _k not in {known}: return False")
            required = set(shape.required_members)
            for name, member in shape.members.items():
                sub = self._var()
                out(f"{indent}{sub} = {var}.get({name!r})")
                if name in required:
                    out(f"{indent}if {sub} is None: return False")
                    self.emit(member, sub, indent, depth + 1)
                else:
                    out(f"{indent}if {sub} is not None:")
                    self.emit(member, sub, indent + "    ", depth + 1)
                    out(f"{indent}    pass")
                    # a member given as None: the service reads it as absent, botocore's client
                    # refuses it; the full check (and a client's own) decides
                    out(f"{indent}elif {name!r} in {var}: return False")
            return
        if type_name in ("list", "map"):
            plain = "list" if type_name == "list" else "dict"
            out(f"{indent}if type({var}) is not {plain}: return False")
            self._length(var, lo, hi, indent)
            item = self._var()
            if type_name == "list":
                out(f"{indent}for {item} in {var}:")
                out(f"{indent}    if {item} is None: return False")
                self.emit(shape.member, item, indent + "    ", depth + 1)
            else:  # maps are not in the faked operations' inputs today: the full check words them
                out(f"{indent}if {var}: return False")
            return
        if type_name == "string":
            out(f"{indent}if type({var}) is not str: return False")
            self._length(var, lo, hi, indent)
            if "pattern" in meta:
                pattern = self._name("pattern", compile_pattern(meta["pattern"]).fullmatch)
                seen = self._name("seen", {})
                out(f"{indent}if {var} not in {seen}:")
                out(f"{indent}    if {pattern}({var}) is None: return False")
                out(f"{indent}    if len({seen}) < {_PATTERN_VERDICT_LIMIT}: {seen}[{var}] = True")
            if shape.enum:
                out(f"{indent}if {var} not in {self._name('enum', frozenset(shape.enum))}: return False")
            return
        if type_name in ("integer", "long"):
            out(f"{indent}if type({var}) is not int: return False")
            if type_name == "integer":
                out(f"{indent}if not {-(2**31)} <= {var} < {2**31}: return False")
        elif type_name in ("float", "double"):
            out(f"{indent}if type({var}) is float:")
            out(f"{indent}    if not _isfinite({var}): return False")
            out(f"{indent}elif type({var}) is not int: return False")
        elif type_name == "boolean":
            out(f"{indent}if type({var}) is not bool: return False")
            return
        elif type_name == "blob":
            out(f"{indent}if type({var}) is not bytes and type({var}) is not bytearray: return False")
            if lo is not None:
                out(f"{indent}if len({var}) < {lo}: return False")
            return  # blob maxima are the image check's
        else:
            out(f"{indent}return False")
            return
        if lo is not None:
            out(f"{indent}if {var} < {lo!r}: return False")
        if hi is not None:
            out(f"{indent}if {var} > {hi!r}: return False")

    def _length(self, var: str, lo: Any, hi: Any, indent: str) -> None:
        if lo is not None:
            self.lines.append(f"{indent}if len({var}) < {lo}: return False")
        if hi is not None:
            self.lines.append(f"{indent}if len({var}) > {hi}: return False")

    def function(self, shape: Any) -> Callable[[Any], bool]:
        self.lines.append("def ok(v0):")
        self.emit(shape, "v0", "    ", 0)
        self.lines.append("    return True")
        exec("\n".join(self.lines), self.names)  # noqa: S102 - code generated from botocore's model
        return self.names["ok"]  # type: ignore[no-any-return]


@functools.cache
def _fast_checker(operation: str) -> Callable[[Any], bool]:
    from rclsim.service.apimodel import OPERATIONS

    if operation in OPERATIONS:
        data = _derived_inputs()
        return _FastCompiler().function(_Shape(data["operations"][operation], data["shapes"]))
    return _FastCompiler().function(operation_model(operation).input_shape)


def parameters_ok(operation: str, params: Any) -> bool:
    """True when ``params`` passes every check of :func:`check_parameters`, has no member the model
    does not know, no member given as None, and is made of plain types (dict, list, str, int, float,
    bool, bytes); in ~1 µs for a usual DetectCustomLabels request (the full check builds paths and
    messages: ~6 µs). False means "run :func:`check_parameters`": it words what is wrong, or finds
    nothing (a Mapping subclass, a None the service reads as absent)."""
    return _fast_checker(operation)(params)


def require_valid(operation: str, params: Any) -> None:
    """Raise the service's error for parameters that fail the model's checks: ``SerializationException``
    for a value of the wrong type, ``ValidationException`` (every violation, in the service's wording)
    otherwise. The one place the core and the front-ends that check before calling (a dry run) get it."""
    if parameters_ok(operation, params):
        return
    from rclsim.service.errors import service_error

    problems = check_parameters(operation, params)
    if problems.type_errors:
        raise service_error("SerializationException", problems.type_errors[0], operation)
    if problems.violations:
        raise service_error("ValidationException", problems.validation_message(), operation)


def client_side_check(operation: str, params: Any) -> None:
    """botocore's own client-side check (missing members, wrong types, None, below a minimum, unknown
    members): ``ParamValidationError`` worded by botocore, where a boto3 client would raise it before
    sending. For front-ends that play the client (the Backend API, a dry run). Not quick (~50 µs):
    callers on a hot path ask :func:`parameters_ok` first."""
    from botocore.validate import validate_parameters

    validate_parameters(params, operation_model(operation).input_shape)
