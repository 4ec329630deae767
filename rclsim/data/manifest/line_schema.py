"""The committed schema of one manifest line, and the fast checks compiled from it.

The schema is ``rclsim/service/schemadata/manifest-line.schema.json``; its ``$defs`` hold the per-pair shapes.
jsonschema stays the authority that words a message; the compiled checks only say yes or no, quickly
(see :class:`_Compiler`).
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from rclsim.data.manifest.entries import MANIFEST_LINE_SCHEMA_ID

__all__ = ["manifest_line_schema"]


@functools.cache
def manifest_line_schema() -> dict[str, Any]:
    """The committed schema of one manifest line (its ``$defs`` hold the per-pair shapes)."""
    from rclsim.service.schemas import _load

    return _load("manifest-line.schema.json")


_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "integer": (
        "((isinstance({v}, int) and not isinstance({v}, bool))"
        " or (isinstance({v}, float) and {v}.is_integer()))"
    ),
}
# keyword -> (guard, failure test), as jsonschema words them (NaN passes these; "finite" rejects it)
_SIMPLE = {
    "minItems": ("array", "len({v}) < {w}"),
    "maxItems": ("array", "len({v}) > {w}"),
    "minLength": ("string", "len({v}) < {w}"),
    "minimum": ("number", "{v} < {w}"),
    "maximum": ("number", "{v} > {w}"),
    "exclusiveMinimum": ("number", "{v} <= {w}"),
}
_IGNORED = {"$schema", "$id", "$defs", "title", "description"}
_DEF_NAMES = (
    "detection-attribute",
    "detection-metadata",
    "classification-attribute",
    "classification-metadata",
)


def _same(a: Any, b: Any) -> bool:
    """JSON equality for ``enum``/``const`` scalars: ``true`` is not ``1``."""
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


class _Compiler:
    """Turns the committed schema into plain Python checks (yes/no), for speed.

    jsonschema takes about half a millisecond per line here ($ref lookups dominate), far too slow for a
    250,000-line manifest. So every line is first judged by functions generated from the same committed
    schema, and only a line they reject goes to jsonschema, which stays the authority and words the
    message. Only the keywords this schema uses are known; any other raises ``KeyError`` and then the
    fast path is not used at all, so a schema change can never be half-enforced.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.source: list[str] = []
        self.names: dict[str, Any] = {"math": math, "_same": _same}
        self.defs: dict[str, str] = {}
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def constant(self, value: Any) -> str:
        name = self.fresh("c")
        self.names[name] = value
        return name

    def function(self, node: Mapping[str, Any]) -> str:
        name = self.fresh("check")
        body: list[str] = []
        self.emit(node, "v", body, 1)
        self.source += [f"def {name}(v):", *body, "    return True", ""]
        return name

    def definition(self, ref: str) -> str:
        if not ref.startswith("#/$defs/"):
            raise KeyError(ref)
        key = ref[len("#/$defs/") :]
        if key not in self.defs:
            self.defs[key] = self.function(self.root["$defs"][key])
        return self.defs[key]

    def emit(self, node: Mapping[str, Any], v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        # Once "type" has passed, the per-keyword type guards are known true; leave them out.
        known = node.get("type") if isinstance(node.get("type"), str) else None

        def fail_if(test: str) -> None:
            out.append(f"{pad}if {test}: return False")

        def guarded(kind: str, test: str) -> str:
            if kind == known or (kind == "number" and known == "integer"):
                return test
            return f"{_TYPE_TESTS[kind].format(v=v)} and {test}"

        for key, want in sorted(node.items(), key=lambda item: item[0] != "type"):
            if key in _IGNORED or key in ("patternProperties", "additionalProperties"):
                continue
            if key == "$ref":
                fail_if(f"not {self.definition(want)}({v})")
            elif key == "type":
                tests = [_TYPE_TESTS[t].format(v=v) for t in ([want] if isinstance(want, str) else want)]
                fail_if(f"not ({' or '.join(tests)})")
            elif key in _SIMPLE:
                kind, test = _SIMPLE[key]
                fail_if(guarded(kind, test.format(v=v, w=repr(want))))
            elif key == "required":
                present = " and ".join(f"{k!r} in {v}" for k in want) or "True"
                fail_if(guarded("object", f"not ({present})"))
            elif key == "pattern":
                fail_if(guarded("string", f"{self.constant(re.compile(want))}.search({v}) is None"))
            elif key == "finite":
                if want:
                    fail_if(f"isinstance({v}, float) and not math.isfinite({v})")
            elif key in ("enum", "const"):
                options = tuple(want) if key == "enum" else (want,)
                if all(isinstance(o, str) for o in options):
                    fail_if(f"not (isinstance({v}, str) and {v} in {self.constant(frozenset(options))})")
                else:
                    fail_if(f"not any(_same({v}, o) for o in {self.constant(options)})")
            elif key == "items":
                item = self.fresh("x")
                out.append(f"{pad}if {guarded('array', 'True')}:")
                out.append(f"{pad}    for {item} in {v}:")
                self.emit(want, item, out, depth + 2)
                out.append(f"{pad}        pass")
            elif key == "propertyNames":
                name = self.fresh("k")
                out.append(f"{pad}if {guarded('object', 'True')}:")
                out.append(f"{pad}    for {name} in {v}:")
                self.emit(want, name, out, depth + 2)
                out.append(f"{pad}        pass")
            elif key == "properties":
                for prop, sub in want.items():
                    value = self.fresh("x")
                    out.append(f"{pad}if {guarded('object', f'{prop!r} in {v}')}:")
                    out.append(f"{pad}    {value} = {v}[{prop!r}]")
                    self.emit(sub, value, out, depth + 1)
            else:
                raise KeyError(key)
        patterns = node.get("patternProperties", {})
        if patterns or "additionalProperties" in node:
            name, value, seen = self.fresh("k"), self.fresh("x"), self.fresh("m")
            out.append(f"{pad}if {guarded('object', 'True')}:")
            out.append(f"{pad}    for {name}, {value} in {v}.items():")
            listed = self.constant(frozenset(node.get("properties", {})))
            out.append(f"{pad}        {seen} = {name} in {listed}")
            for pattern, sub in patterns.items():
                out.append(f"{pad}        if {self.constant(re.compile(pattern))}.search({name}):")
                out.append(f"{pad}            {seen} = True")
                self.emit(sub, value, out, depth + 3)
            if "additionalProperties" in node:
                out.append(f"{pad}        if not {seen}:")
                self.emit(node["additionalProperties"], value, out, depth + 3)
                out.append(f"{pad}            pass")


@functools.cache
def _fast_checks() -> dict[str, Callable[[Any], bool]] | None:
    root = manifest_line_schema()
    compiler = _Compiler(root)
    try:
        names = {"line": compiler.function(root)}
        names.update((name, compiler.definition(f"#/$defs/{name}")) for name in _DEF_NAMES)
    except KeyError:
        return None
    exec("\n".join(compiler.source), compiler.names)  # noqa: S102 - code generated from our own schema
    return {key: compiler.names[name] for key, name in names.items()}


@functools.cache
def _validators() -> dict[str, Any]:
    # Imported lazily, as in rclsim.service.schemas: importing rclsim must not pay for jsonschema.
    import jsonschema
    from referencing import Registry, Resource

    from rclsim.service.schemas import _finite

    schema = manifest_line_schema()
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"finite": _finite})
    registry: Registry = Registry().with_resource(MANIFEST_LINE_SCHEMA_ID, Resource.from_contents(schema))
    out = {"line": cls(schema, registry=registry)}
    for name in _DEF_NAMES:
        out[name] = cls({"$ref": f"{MANIFEST_LINE_SCHEMA_ID}#/$defs/{name}"}, registry=registry)
    return out


def _forget() -> None:
    for cached in (manifest_line_schema, _fast_checks, _validators):
        cached.cache_clear()


def _register() -> None:
    from rclsim.caches.kept import on_forget

    on_forget(_forget)


_register()
