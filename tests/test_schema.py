"""The committed response schema follows botocore's model, and accepts every real response we have."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from rclsim.service.apimodel import operation_model
from rclsim.service.schemas import (
    derive_response_schema,
    recording_problems,
    response_problems,
    response_schema,
)

from .conftest import DATA, ROOT

WILD = sorted((DATA / "wild" / "responses").glob("*.json"))
ARTICLE = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())


def test_committed_schema_equals_the_one_derived_from_botocores_model() -> None:
    assert response_schema() == derive_response_schema(), (
        "botocore's model and rclsim/service/schemadata/detect-custom-labels-response.schema.json differ: "
        "run scripts/update_schemas.py and review the diff"
    )


def _walk_model(shape, schema_node, defs, seen=()):
    """Every member, type and bound of the model's output shape is in the schema."""
    if "$ref" in schema_node:
        schema_node = defs[schema_node["$ref"].split("/")[-1]]
    t = shape.type_name
    if t == "structure":
        assert schema_node["type"] == "object"
        assert set(shape.members) <= set(schema_node["properties"]), shape.name
        if shape.name in seen:
            return
        for name, member in shape.members.items():
            _walk_model(member, schema_node["properties"][name], defs, seen + (shape.name,))
    elif t == "list":
        assert schema_node["type"] == "array"
        _walk_model(shape.member, schema_node["items"], defs, seen)
    elif t in ("float", "double"):
        assert schema_node["type"] == "number" and schema_node["finite"] is True
        assert schema_node.get("minimum") == shape.metadata.get("min")
        assert schema_node.get("maximum") == shape.metadata.get("max")
    elif t == "string":
        assert schema_node["type"] == "string"
        assert schema_node.get("maxLength") == shape.metadata.get("max")
    else:  # pragma: no cover - the output shape has no other types today
        raise AssertionError(f"unexpected {t}")


def test_every_member_type_and_bound_of_the_model_is_in_the_committed_schema() -> None:
    schema = response_schema()
    _walk_model(operation_model("DetectCustomLabels").output_shape, schema, schema["$defs"])
    assert schema["$defs"]["CustomLabel"]["properties"]["Confidence"]["maximum"] == 100


@pytest.mark.parametrize("path", WILD, ids=[p.name for p in WILD])
def test_every_wild_response_validates(path: Path) -> None:
    assert response_problems(json.loads(path.read_text())) == []


def test_the_article_response_and_the_empty_response_validate() -> None:
    assert response_problems(ARTICLE) == []
    assert response_problems({"CustomLabels": []}) == []


def _label(**changes):
    label = copy.deepcopy(ARTICLE["CustomLabels"][0])
    label.update(changes)
    return {"CustomLabels": [label]}


@pytest.mark.parametrize(
    ("response", "path", "fragment"),
    [
        ({"CustomLabels": [{}]}, "$.CustomLabels[0]", "'Name' is a required property"),
        ({"CustomLabels": [{"Name": "car"}]}, "$.CustomLabels[0]", "'Confidence' is a required property"),
        (_label(Confidence=float("nan")), "$.CustomLabels[0].Confidence", "not a finite number"),
        (_label(Confidence=float("inf")), "$.CustomLabels[0].Confidence", "not a finite number"),
        (_label(Confidence=150), "$.CustomLabels[0].Confidence", "greater than the maximum of 100"),
        (_label(Confidence=-0.5), "$.CustomLabels[0].Confidence", "less than the minimum of 0"),
        (_label(Extra=1), "$.CustomLabels[0]", "'Extra' was unexpected"),
        ({"CustomLabels": [], "Extra": 1}, "$", "'Extra' was unexpected"),
        (
            _label(Geometry={"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 0.1}}),
            "$.CustomLabels[0].Geometry.BoundingBox",
            "'Top' is a required property",
        ),
        (
            _label(Geometry={"BoundingBox": {"Width": float("-inf"), "Height": 0.1, "Left": 0, "Top": 0}}),
            "$.CustomLabels[0].Geometry.BoundingBox.Width",
            "not a finite number",
        ),
        (_label(Name=7), "$.CustomLabels[0].Name", "is not of type 'string'"),
        (_label(Confidence=True), "$.CustomLabels[0].Confidence", "is not of type 'number'"),
        ({}, "$", "'CustomLabels' is a required property"),
    ],
)
def test_bad_responses_fail_with_the_json_path(response, path: str, fragment: str) -> None:
    problems = response_problems(response)
    assert any(p.path == path and fragment in p.message for p in problems), problems


def test_response_metadata_is_accepted_and_polygon_is_optional() -> None:
    response = copy.deepcopy(ARTICLE)
    response["ResponseMetadata"] = {"RequestId": "x", "HTTPStatusCode": 200}
    response["CustomLabels"][0]["Geometry"]["Polygon"] = [{"X": 0.1, "Y": 0.2}]
    assert response_problems(response) == []


def test_the_built_in_recording_validates_and_a_broken_one_does_not() -> None:
    recording = json.loads((ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json").read_text())
    assert recording_problems(recording) == []
    assert recording["response"] == ARTICLE  # verbatim
    broken = copy.deepcopy(recording)
    broken["response"]["CustomLabels"][3]["Confidence"] = 101
    assert [p.path for p in recording_problems(broken)] == ["$.response.CustomLabels[3].Confidence"]
    del broken["image"]["S3Object"], broken["image"]["Sha256"]
    assert any(p.path == "$.image" for p in recording_problems(broken))


def test_every_subpackage_is_shipped_in_the_wheel() -> None:
    """pyproject.toml lists the packages by hand (fixtures/ is mapped into rclsim.fixtures): a new
    subpackage missing from the list would be absent from an installed rclsim."""
    tomllib = pytest.importorskip("tomllib")
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "rclsim").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
