"""JSON Schemas for DetectCustomLabels responses and rclsim recordings, and validation against them.

The committed schema files (``rclsim/service/schemadata/*.schema.json``) are what runs;
:func:`derive_response_schema` rebuilds the response schema from botocore's Rekognition model, and a test
insists the two are equal, so neither the schema nor the model can drift unnoticed (``python
scripts/update_schemas.py`` rewrites the file after a botocore update).

What the schema adds beyond the model, on purpose (the model makes every member optional and says
nothing about extra keys or NaN):

* ``CustomLabels`` is required, and so are ``Name`` and ``Confidence`` of each label and the four
  members of a ``BoundingBox``. ``Geometry`` stays optional: classification models return none.
* Unknown keys fail (``additionalProperties: false``), except ``ResponseMetadata`` at the top, which
  botocore adds on the client; it is accepted and ignored.
* Numbers must be finite. JSON Schema cannot say that, so the schemas carry a keyword of rclsim's own,
  ``"finite": true``, which :func:`response_problems` enforces (other validators ignore it).
* ``BoundingBox`` and ``Point`` values must be ratios of the image size: from :data:`RATIO_MIN` (-1) to
  :data:`RATIO_MAX` (2). The model says only "Float", and the service documents values a little below
  0 or above 1 for an object at the image's edge (every recorded value lies in 0..1), so a full image
  size of slack is allowed on each side; a value beyond it cannot describe this image (it is usually
  a pixel count written as a ratio) and would only overflow whatever draws it. The keyword is
  rclsim's own, ``"ratio": true`` (not ``minimum``/``maximum``, which would claim the model says so).

Which schemas are in force is part of every cached verdict (:func:`schema_fingerprint`): a file found
valid under one schema is checked again under another. :func:`rclsim.caches.kept.forget_all` also forgets the
loaded schemas.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = [
    "SchemaProblem",
    "RESPONSE_SCHEMA_ID",
    "RECORDING_SCHEMA_ID",
    "response_schema",
    "recording_schema",
    "derive_response_schema",
    "response_problems",
    "recording_problems",
    "schema_fingerprint",
    "RATIO_MIN",
    "RATIO_MAX",
]

RESPONSE_SCHEMA_ID = "urn:rclsim:schema:detect-custom-labels-response"
RECORDING_SCHEMA_ID = "urn:rclsim:schema:recording"
MODELS_SCHEMA_ID = "urn:rclsim:schema:models"
_DRAFT = "https://json-schema.org/draft/2020-12/schema"

# Members the model leaves optional that a well-formed response always carries.
_REQUIRED_BEYOND_MODEL = {
    "DetectCustomLabelsResponse": ["CustomLabels"],
    "CustomLabel": ["Name", "Confidence"],
    "BoundingBox": ["Width", "Height", "Left", "Top"],
    "Point": ["X", "Y"],
}

#: Members that are ratios of the image size (see the module docstring), and their accepted range.
_RATIO_MEMBERS = {"BoundingBox": ("Width", "Height", "Left", "Top"), "Point": ("X", "Y")}
RATIO_MIN = -1.0
RATIO_MAX = 2.0

#: Every committed schema: a change to any of them changes :func:`schema_fingerprint`.
SCHEMA_FILES = (
    "detect-custom-labels-response.schema.json",
    "recording.schema.json",
    "models.schema.json",
    "manifest-line.schema.json",
)


@dataclass(frozen=True)
class SchemaProblem:
    """One schema failure: where (a JSON path such as ``$.CustomLabels[0].Confidence``) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def _shape_schema(shape: Any, defs: dict[str, Any]) -> dict[str, Any]:
    meta = shape.metadata
    t = shape.type_name
    if t == "structure":
        if shape.name not in defs:
            defs[shape.name] = {}  # placeholder first: shapes may be recursive
            props = {name: _shape_schema(member, defs) for name, member in shape.members.items()}
            for name in _RATIO_MEMBERS.get(shape.name, ()):
                props[name]["ratio"] = True
            node: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
            required = list(shape.required_members) + [
                m for m in _REQUIRED_BEYOND_MODEL.get(shape.name, []) if m not in shape.required_members
            ]
            if required:
                node["required"] = required
            defs[shape.name] = node
        return {"$ref": f"#/$defs/{shape.name}"}
    if t == "list":
        node = {"type": "array", "items": _shape_schema(shape.member, defs)}
        if "min" in meta:
            node["minItems"] = meta["min"]
        if "max" in meta:
            node["maxItems"] = meta["max"]
        return node
    if t == "string":
        node = {"type": "string"}
        if "min" in meta:
            node["minLength"] = meta["min"]
        if "max" in meta:
            node["maxLength"] = meta["max"]
        if "pattern" in meta:
            node["pattern"] = meta["pattern"]
        if shape.enum:
            node["enum"] = list(shape.enum)
        return node
    if t in ("float", "double", "integer", "long"):
        node = {"type": "number" if t in ("float", "double") else "integer", "finite": True}
        if "min" in meta:
            node["minimum"] = meta["min"]
        if "max" in meta:
            node["maximum"] = meta["max"]
        return node
    if t == "boolean":
        return {"type": "boolean"}
    raise ValueError(f"unexpected shape type {t!r} in {shape.name}")  # pragma: no cover


def derive_response_schema() -> dict[str, Any]:
    """The DetectCustomLabels response schema, built from botocore's model plus the documented rules."""
    from rclsim.service.apimodel import operation_model

    output = operation_model("DetectCustomLabels").output_shape
    defs: dict[str, Any] = {}
    _shape_schema(output, defs)
    top = defs.pop(output.name)
    top["properties"]["ResponseMetadata"] = {
        "type": "object",
        "description": "Added by botocore on the client, not sent by the service; accepted and ignored.",
    }
    return {
        "$schema": _DRAFT,
        "$id": RESPONSE_SCHEMA_ID,
        "title": "Amazon Rekognition DetectCustomLabels response",
        "description": (
            "Derived from botocore's Rekognition model by rclsim.service.schemas.derive_response_schema. "
            "Beyond the model: required members, no unknown keys, finite numbers ('finite' is rclsim's "
            "own keyword), BoundingBox and Point values within -1..2 of the image size ('ratio', rclsim's "
            "own keyword), ResponseMetadata accepted."
        ),
        **top,
        "$defs": defs,
    }


@functools.cache
def _read_schema(name: str) -> dict[str, Any]:
    text = resources.files("rclsim.service.schemadata").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _load(name: str) -> dict[str, Any]:
    """A committed schema file, parsed (the one place schemas are read from). Shared: read-only."""
    return _read_schema(name)


@functools.cache
def schema_fingerprint() -> str:
    """A short hash of every schema in force; part of each cached validation verdict's name."""
    digest = hashlib.sha256()
    for name in SCHEMA_FILES:
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(json.dumps(_load(name), sort_keys=True, separators=(",", ":")).encode("utf-8") + b"\0")
    return digest.hexdigest()[:16]


@functools.cache
def response_schema() -> dict[str, Any]:
    """The committed DetectCustomLabels response schema."""
    return _load("detect-custom-labels-response.schema.json")


@functools.cache
def recording_schema() -> dict[str, Any]:
    """The committed schema of rclsim's recording format."""
    return _load("recording.schema.json")


@functools.cache
def models_schema() -> dict[str, Any]:
    """The committed schema of model declarations (``models.json``)."""
    return _load("models.schema.json")


def _finite(validator: Any, wanted: Any, instance: Any, schema: Any) -> Any:
    from jsonschema.exceptions import ValidationError

    if wanted and isinstance(instance, float) and not math.isfinite(instance):
        yield ValidationError(f"{instance!r} is not a finite number")


def _ratio(validator: Any, wanted: Any, instance: Any, schema: Any) -> Any:
    from jsonschema.exceptions import ValidationError

    if (
        wanted
        and isinstance(instance, (int, float))
        and not isinstance(instance, bool)
        and math.isfinite(instance)
        and not RATIO_MIN <= instance <= RATIO_MAX
    ):
        yield ValidationError(
            f"{instance!r} is not a ratio of the image size (box values lie within {RATIO_MIN:g} to "
            f"{RATIO_MAX:g}; was it written in pixels?)"
        )


def forget_schemas() -> None:
    """Drop the loaded schemas, validators and fingerprint (they are read again when next needed)."""
    for cached in (
        _read_schema,
        response_schema,
        recording_schema,
        models_schema,
        _validator,
        schema_fingerprint,
    ):
        cached.cache_clear()


@functools.cache
def _validator(schema_id: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"finite": _finite, "ratio": _ratio})
    schemas = {s["$id"]: s for s in (response_schema(), recording_schema(), models_schema())}
    registry: Registry = Registry().with_resources(
        (sid, Resource.from_contents(s)) for sid, s in schemas.items()
    )
    return cls(schemas[schema_id], registry=registry)


def _problems(schema_id: str, instance: Any) -> list[SchemaProblem]:
    errors = sorted(_validator(schema_id).iter_errors(instance), key=lambda e: list(e.absolute_path))
    out = []
    for err in errors:
        # For anyOf/oneOf the useful detail is in the branch errors; report the deepest one.
        leaf = err
        while leaf.context:
            leaf = max(leaf.context, key=lambda e: len(e.absolute_path))
        out.append(SchemaProblem(leaf.json_path, leaf.message))
    return out


def response_problems(response: Any) -> list[SchemaProblem]:
    """Every way ``response`` breaks the DetectCustomLabels response schema; empty when valid."""
    return _problems(RESPONSE_SCHEMA_ID, response)


def recording_problems(recording: Any) -> list[SchemaProblem]:
    """Every way ``recording`` breaks the recording schema (its response included); empty when valid."""
    return _problems(RECORDING_SCHEMA_ID, recording)


def models_problems(declarations: Any) -> list[SchemaProblem]:
    """Every way ``declarations`` breaks the ``models.json`` schema; empty when valid."""
    return _problems(MODELS_SCHEMA_ID, declarations)


def looks_like_recording(data: Any) -> bool:
    """True for data that claims to be an rclsim file (it has a ``format`` key) and is not a
    ``models.json``: it is then judged as a recording, so a broken one is reported, never taken for
    something else."""
    return isinstance(data, Mapping) and "format" in data and data.get("format") != "rclsim.models"


def looks_like_models(data: Any) -> bool:
    return isinstance(data, Mapping) and data.get("format") == "rclsim.models"


def _register() -> None:
    from rclsim.caches.kept import on_forget

    on_forget(forget_schemas)


_register()
