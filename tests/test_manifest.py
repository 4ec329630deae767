"""Ground Truth manifests: every published example loads, every broken line is named, writing round-trips."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import math
import os
import tempfile
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rclsim.data import manifest
from rclsim.data.manifest import (
    CLASSIFICATION,
    DETECTION,
    MANIFEST_LINE_SCHEMA_ID,
    Box,
    ManifestEntry,
    ManifestProblem,
    entries_from_responses,
    iter_manifest,
    manifest_line_schema,
    manifest_problems,
    read_manifest,
    write_manifest,
)
from rclsim.service.errors import RclsimError

from .conftest import DATA

WILD = DATA / "wild" / "manifests"
ARTICLE = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
WHEN = dt.datetime(2024, 3, 2, 14, 5, 51, 204331, tzinfo=dt.timezone.utc)

#: The constructed example line of the fact sheet (section 9).
FACT_SHEET_LINE = (
    '{"source-ref":"s3://rclsim-demo/lot/cam2-000417.jpg","lot-boxes":{"image_size":[{"width":1280,'
    '"height":720,"depth":3}],"annotations":[{"class_id":0,"left":472,"top":211,"width":761,"height":381},'
    '{"class_id":1,"left":554,"top":467,"width":121,"height":40}]},"lot-boxes-metadata":{"objects":'
    '[{"confidence":1},{"confidence":1}],"class-map":{"0":"car","1":"vehicle_registration_plate"},"type":'
    '"groundtruth/object-detection","human-annotated":"yes","creation-date":"2024-03-02T14:05:51.204331",'
    '"job-name":"labeling-job/rclsim-lot-boxes"}}'
)

GOOD = {
    "source-ref": "s3://bucket/a.jpg",
    "bb": {
        "image_size": [{"width": 100, "height": 50, "depth": 3}],
        "annotations": [{"class_id": 0, "left": 1, "top": 2, "width": 3, "height": 4}],
    },
    "bb-metadata": {
        "objects": [{"confidence": 1}],
        "class-map": {"0": "car"},
        "type": "groundtruth/object-detection",
        "human-annotated": "yes",
        "creation-date": "2024-01-01T00:00:00",
    },
}


def _classification_pair(name: str, label: str, **meta: object) -> dict[str, object]:
    metadata: dict[str, object] = {
        "class-name": label,
        "confidence": 0.5,
        "type": "groundtruth/image-classification",
        "human-annotated": "yes",
        "creation-date": "2020-09-20T10:26:56.092Z",
    }
    metadata.update(meta)
    return {name: 1, f"{name}-metadata": metadata}


def _mutated(change) -> str:
    line = copy.deepcopy(GOOD)
    change(line)
    return json.dumps(line)


def _write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the wild manifests --------------------------------------------------------------------------------

# file -> (attribute, boxes per line, labels of the file, (width, height) of line 1)
WILD_EXPECTED = {
    "01-t04glovern-cat-ground-truth.manifest": ("cat-ground-truth", [0, 1, 2, 1], {"Cat"}, (601, 453)),
    "02-dannymorris-bcbs-logo.manifest": ("bcbs-logo-labeling", [2, 1, 7, 2, 0], {"BCBS"}, (775, 1000)),
    "03-nishantkarve-bax-bees.manifest": ("bax-bees", [1, 1, 0, 3], {"bee"}, (500, 371)),
    "04-openaims-ozfish.manifest": ("20191014", [5], {"fish"}, (1920, 1080)),
    "05-awsdocs-circuit-board-bb.manifest": (
        "BB",
        [4, 4],
        {"comparator", "pot_resistor", "ir_phototransistor", "ir_led"},
        (4000, 2667),
    ),
}


def test_every_wild_manifest_is_covered() -> None:
    assert sorted(p.name for p in WILD.iterdir()) == sorted(WILD_EXPECTED)


@pytest.mark.parametrize("name", sorted(WILD_EXPECTED))
def test_wild_manifest_loads_with_no_problem(name: str) -> None:
    attribute, boxes_per_line, labels, size = WILD_EXPECTED[name]
    entries, problems = read_manifest(WILD / name)
    assert problems == []
    assert manifest_problems(WILD / name) == []
    assert [len(e.boxes) for e in entries] == boxes_per_line
    assert [e.line for e in entries] == list(range(1, len(boxes_per_line) + 1))
    assert {e.attribute for e in entries} == {attribute}
    assert {e.kind for e in entries} == {DETECTION}
    assert set().union(*(e.labels for e in entries)) == labels
    assert (entries[0].width, entries[0].height) == size
    for e in entries:
        assert e.labels == tuple(sorted({b.name for b in e.boxes}))
        assert e.source_ref


def test_wild_details_are_kept_as_published() -> None:
    cats, _ = read_manifest(WILD / "01-t04glovern-cat-ground-truth.manifest")
    assert cats[0].boxes == () and cats[0].labels == ()  # a line with no box is a good line
    # Raw GT order is class_id, width, top, height, left; the box fields must not be mixed up.
    assert cats[1].boxes == (Box("Cat", 237.0, 165.0, 164.0, 157.0),)

    logos, _ = read_manifest(WILD / "02-dannymorris-bcbs-logo.manifest")
    assert logos[3].source_ref == "s3://bcbs-logo-training-images/gray_images/130919 bluecross09.jpg"

    boards, _ = read_manifest(WILD / "05-awsdocs-circuit-board-bb.manifest")
    assert [b.name for b in boards[0].boxes] == ["comparator", "pot_resistor", "ir_phototransistor", "ir_led"]
    assert boards[0].boxes[0] == Box("comparator", 1849, 1039, 422, 283)


def test_fractional_pixels_stay_floats_and_a_bare_source_ref_is_accepted() -> None:
    (fish,), problems = read_manifest(WILD / "04-openaims-ozfish.manifest")
    assert problems == []
    assert fish.source_ref == "E000501_R.MP4.31568.png"
    assert fish.boxes[0].left == 588.5
    assert fish.boxes[1].width == 229.5
    assert fish.boxes[2].top == 745.5
    assert fish.boxes[3] == Box("fish", 0.0, 806.0, 159.5, 148.5)
    assert all(isinstance(v, float) for b in fish.boxes for v in (b.left, b.top, b.width, b.height))


# --- classification ------------------------------------------------------------------------------------


def test_classification_lines_built_from_the_fact_sheet(tmp_path: Path) -> None:
    single = {"source-ref": "s3://b/rose.jpg", **_classification_pair("flower", "rose", **{"job-name": "j"})}
    several = {
        "source-ref": "s3://b/room.jpg",
        **_classification_pair("living", "living_space", confidence=1),
        **_classification_pair("kitchen", "kitchen", confidence=0),  # no job-name: optional
    }
    path = _write_lines(tmp_path / "c.manifest", [json.dumps(single), json.dumps(several)])
    entries, problems = read_manifest(path)
    assert problems == []
    assert entries == [
        ManifestEntry(1, "s3://b/rose.jpg", None, None, (), ("rose",), CLASSIFICATION, "flower"),
        ManifestEntry(
            2, "s3://b/room.jpg", None, None, (), ("living_space", "kitchen"), CLASSIFICATION, "living"
        ),
    ]
    with pytest.raises(ValueError):
        entries[0].ratio_box(Box("rose", 0, 0, 1, 1))


# --- broken lines --------------------------------------------------------------------------------------

BAD_LINES = [
    # (line text, expected words in the problem); None marks a good line
    (json.dumps(GOOD), None),
    ('{"source-ref": "s3://bucket/b.jpg", ', "invalid JSON"),
    (_mutated(lambda d: d.pop("source-ref")), "'source-ref' is a required property"),
    ("", None),  # blank: skipped, but counted
    (_mutated(lambda d: d["bb"]["annotations"][0].update(class_id=3)), "class_id 3 is not in the class-map"),
    (
        _mutated(lambda d: d["bb"]["annotations"][0].update(width=math.nan)),
        "annotations[0].width: nan is not a finite",
    ),
    (
        _mutated(lambda d: d["bb"]["annotations"][0].update(height=-2)),
        "annotations[0].height: -2 is less than",
    ),
    (_mutated(lambda d: d["bb-metadata"].update(type="groundtruth/semantic-segmentation")), "is not one of"),
    (
        _mutated(lambda d: d["bb-metadata"]["objects"].append({"confidence": 1})),
        "2 objects for 1 annotations",
    ),
    ("   ", None),
    (_mutated(lambda d: d.pop("bb-metadata")), "label attribute without its 'bb-metadata'"),
    (_mutated(lambda d: d.pop("bb")), "metadata without its label attribute 'bb'"),
    (_mutated(lambda d: d["bb"]["annotations"][0].update(left=math.inf)), "left: inf is not a finite"),
    (_mutated(lambda d: d["bb"]["annotations"][0].update(left=-1)), "left: -1 is less than the minimum of 0"),
    ('{"source-ref": "a", "source-ref": "b"}', "duplicate key 'source-ref'"),
    ("[1, 2]", "is not of type 'object'"),
    ('{"source-ref": "s3://b/c.jpg"}', "no label attribute"),
    (_mutated(lambda d: d["bb-metadata"].pop("creation-date")), "'creation-date' is a required property"),
    (
        _mutated(lambda d: d["bb"]["image_size"][0].update(width=0)),
        "image_size[0].width: 0 is less than or equal",
    ),
    (
        json.dumps({"source-ref": "x", **_classification_pair("c", "cat", confidence=1.5)}),
        "greater than the maximum",
    ),
    (
        json.dumps({"source-ref": "x", **_classification_pair("c", "cat"), "c": {}}),
        "is not of type 'integer'",
    ),
    (_mutated(lambda d: d.update(_classification_pair("c", "cat"))), "mixes object-detection"),
    (_mutated(lambda d: d["bb-metadata"].update({"human-annotated": "maybe"})), "'maybe' is not one of"),
    (_mutated(lambda d: d["bb"]["annotations"][0].update(class_id=True)), "True is not of type 'integer'"),
    (_mutated(lambda d: d["bb-metadata"].update({"creation-date": "yesterday"})), "does not match"),
    (_mutated(lambda d: d["bb"].pop("image_size")), "'image_size' is a required property"),
    (
        _mutated(lambda d: d["bb-metadata"]["objects"][0].update(confidence=2)),
        "objects[0].confidence: 2 is greater",
    ),
    (
        _mutated(lambda d: d.update({"bb2": d["bb"], "bb2-metadata": d["bb-metadata"]})),
        "several object-detection",
    ),
    (
        _mutated(lambda d: d.update({"source-ref-metadata": {"type": "groundtruth/object-detection"}})),
        "without",
    ),
    (_mutated(lambda d: d["bb"]["annotations"][0].update(left=5.5)), None),  # fractional pixels are fine
    (_mutated(lambda d: d["bb-metadata"].pop("objects")), None),  # objects are optional
]


def test_every_bad_line_is_named_with_its_line_and_reason(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "bad.manifest", [text for text, _ in BAD_LINES])
    entries, problems = read_manifest(path)

    expected_bad = {n: why for n, (text, why) in enumerate(BAD_LINES, start=1) if why is not None}
    assert [p.line for p in problems] == sorted(expected_bad)
    for problem in problems:
        assert expected_bad[problem.line] in problem.message, str(problem)
        assert str(problem).startswith(f"line {problem.line}: ")

    good = [n for n, (text, why) in enumerate(BAD_LINES, start=1) if why is None and text.strip()]
    assert [e.line for e in entries] == good
    assert entries[0].boxes == (Box("car", 1.0, 2.0, 3.0, 4.0),)
    assert manifest_problems(path) == problems
    assert [e.line for e in iter_manifest(path)] == good  # no problems list: bad lines are just skipped


def test_problem_messages_point_at_the_key_and_stay_short(tmp_path: Path) -> None:
    path = _write_lines(tmp_path / "m.manifest", [BAD_LINES[20][0], BAD_LINES[7][0]])
    problems = manifest_problems(path)
    assert problems[0].message.startswith("$.c: ") and len(problems[0].message) < 200
    assert problems[1].message.startswith('$["bb-metadata"].type: ')
    assert ManifestProblem(3, "x") == ManifestProblem(3, "x") and str(ManifestProblem(3, "x")) == "line 3: x"


def test_a_missing_manifest_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(RclsimError, match="cannot read manifest"):
        read_manifest(tmp_path / "nope.manifest")


def test_not_utf8_is_a_problem_of_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.manifest"
    path.write_bytes(json.dumps(GOOD).encode() + b"\n" + b'{"source-ref": "caf\xe9"}\n')
    entries, problems = read_manifest(path)
    assert len(entries) == 1 and problems[0].line == 2 and "not UTF-8" in problems[0].message


# --- ratios --------------------------------------------------------------------------------------------


def test_ratio_box_matches_the_fact_sheet(tmp_path: Path) -> None:
    (entry,), problems = read_manifest(_write_lines(tmp_path / "f.manifest", [FACT_SHEET_LINE]))
    assert problems == []
    assert entry.labels == ("car", "vehicle_registration_plate") and entry.attribute == "lot-boxes"
    car = entry.ratio_box(entry.boxes[0])
    assert list(car) == ["Width", "Height", "Left", "Top"]
    assert car["Left"] == pytest.approx(0.369, abs=5e-4)
    assert car["Top"] == pytest.approx(0.293, abs=5e-4)
    assert car["Width"] == pytest.approx(0.595, abs=5e-4)
    assert car["Height"] == pytest.approx(0.529, abs=5e-4)
    assert car == {"Width": 761 / 1280, "Height": 381 / 720, "Left": 472 / 1280, "Top": 211 / 720}


# --- writing -------------------------------------------------------------------------------------------

NAMES = st.text(alphabet="abcxyzAZ019 _-.éü", min_size=1, max_size=12)
PIXELS = st.floats(min_value=0, max_value=5000, allow_nan=False) | st.integers(0, 5000).map(float)
SIZES = st.floats(min_value=0, max_value=5000, exclude_min=True, allow_nan=False) | st.integers(1, 5000).map(
    float
)
BOXES = st.builds(Box, NAMES, PIXELS, PIXELS, SIZES, SIZES)
DETECTIONS = st.builds(
    ManifestEntry.detection,
    st.text(min_size=1, max_size=30),
    st.integers(1, 5000),
    st.integers(1, 5000),
    st.lists(BOXES, max_size=6),
)
CLASSIFICATIONS = st.builds(ManifestEntry.classification, NAMES, st.lists(NAMES, min_size=1, max_size=3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(DETECTIONS | CLASSIFICATIONS, max_size=8))
def test_write_then_read_gives_the_same_entries(entries: list[ManifestEntry]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "out.manifest"
        assert write_manifest(path, entries, created=WHEN) == len(entries)
        back, problems = read_manifest(path)
        assert problems == []
        assert [dataclasses.replace(e, line=0) for e in back] == entries
        assert [e.line for e in back] == list(range(1, len(entries) + 1))
        assert sorted(os.listdir(folder)) == ["out.manifest"]  # no temporary file left behind


def test_written_lines_are_in_the_consoles_format(tmp_path: Path) -> None:
    entry = ManifestEntry.detection(
        "s3://b/lot.jpg", 1280, 720, [Box("car", 472, 211, 761, 381), Box("plate", 554.5, 467, 121, 40)]
    )
    path = tmp_path / "out.manifest"
    write_manifest(path, [entry], attribute="lot-boxes", job_name="labeling-job/lot", created=WHEN)
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n") and text.count("\n") == 1
    line = json.loads(text)
    assert list(line) == ["source-ref", "lot-boxes", "lot-boxes-metadata"]
    assert list(line["lot-boxes"]["annotations"][0]) == ["left", "top", "width", "height", "class_id"]
    assert line["lot-boxes"]["annotations"][1] == {
        "left": 554.5,
        "top": 467,
        "width": 121,
        "height": 40,
        "class_id": 1,
    }
    assert '"left":472,' in text  # whole pixels as integers, as the console writes them
    assert line["lot-boxes"]["image_size"] == [{"width": 1280, "height": 720, "depth": 3}]
    assert line["lot-boxes-metadata"] == {
        "job-name": "labeling-job/lot",
        "class-map": {"0": "car", "1": "plate"},
        "human-annotated": "yes",
        "objects": [{"confidence": 1}, {"confidence": 1}],
        "creation-date": "2024-03-02T14:05:51.204Z",
        "type": "groundtruth/object-detection",
    }


def test_class_map_lists_only_the_classes_of_its_line(tmp_path: Path) -> None:
    entries = [
        ManifestEntry.detection(
            "a", 10, 10, [Box("dog", 0, 0, 1, 1), Box("cat", 1, 1, 1, 1), Box("dog", 2, 2, 1, 1)]
        ),
        ManifestEntry.detection("b", 10, 10, [Box("cat", 0, 0, 1, 1)]),
        ManifestEntry.detection("c", 10, 10, []),
    ]
    path = tmp_path / "m.manifest"
    write_manifest(path, entries, created=WHEN)
    maps = [json.loads(line)["bounding-box-metadata"]["class-map"] for line in path.read_text().splitlines()]
    assert maps == [{"0": "dog", "1": "cat"}, {"0": "cat"}, {}]


def test_attribute_none_keeps_each_entrys_own_attribute(tmp_path: Path) -> None:
    entries, _ = read_manifest(WILD / "05-awsdocs-circuit-board-bb.manifest")
    path = tmp_path / "copy.manifest"
    assert write_manifest(path, entries, attribute=None) == 2
    back, problems = read_manifest(path)
    assert problems == [] and back == entries


def test_write_refuses_an_existing_file_unless_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "out.manifest"
    path.write_text("keep me\n")
    entry = ManifestEntry.detection("s3://b/a.jpg", 10, 10, [Box("a", 0, 0, 1, 1)])
    with pytest.raises(RclsimError, match="exists"):
        write_manifest(path, [entry])
    assert path.read_text() == "keep me\n"
    assert write_manifest(path, [entry], overwrite=True) == 1
    assert read_manifest(path)[0] == [dataclasses.replace(entry, line=1)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.manifest"]


@pytest.mark.parametrize(
    "entry, words",
    [
        (ManifestEntry.detection("a", 10, 10, [Box("a", 0, 0, math.nan, 1)]), "not a finite number"),
        (ManifestEntry.detection("a", 10, 10, [Box("a", 0, 0, -1, 1)]), "less than or equal"),
        (ManifestEntry.detection("a", 0, 10, []), "width"),
        # jsonschema words it "should be non-empty" (4.2x) or "is too short" (older)
        (ManifestEntry.detection("a", 10, 10, [Box("", 0, 0, 1, 1)]), "(should be non-empty|is too short)"),
        (ManifestEntry.classification("a", []), "no label attribute"),
    ],
)
def test_write_refuses_an_entry_it_could_not_read_back(
    tmp_path: Path, entry: ManifestEntry, words: str
) -> None:
    path = tmp_path / "out.manifest"
    good = ManifestEntry.detection("ok", 10, 10, [])
    with pytest.raises(RclsimError, match=f"entry 2 .*{words}"):
        write_manifest(path, [good, entry])
    assert list(tmp_path.iterdir()) == []  # atomic: nothing half-written


def test_entries_check_their_own_consistency() -> None:
    with pytest.raises(ValueError, match="sorted unique box names"):
        ManifestEntry(0, "a", 10, 10, (Box("b", 0, 0, 1, 1),), ("a",), DETECTION, "bb")
    with pytest.raises(ValueError, match="kind"):
        ManifestEntry(0, "a", None, None, (), ("a",), "semantic-segmentation", "bb")
    with pytest.raises(ValueError, match="no boxes"):
        ManifestEntry(0, "a", 10, 10, (), ("a",), CLASSIFICATION, "bb")
    with pytest.raises(ValueError, match="attribute name"):
        write_manifest("unused.manifest", [], attribute="bb-metadata")


# --- from responses ------------------------------------------------------------------------------------


def test_entries_from_the_article_response(tmp_path: Path) -> None:
    (entry,) = entries_from_responses([("s3://b/article.jpg", 1024, 683, ARTICLE)], min_confidence=75)
    assert entry.kind == DETECTION and (entry.width, entry.height) == (1024, 683)
    assert [b.name for b in entry.boxes] == ["vehicle_registration_plate", "car"]
    assert entry.labels == ("car", "vehicle_registration_plate")
    car = entry.boxes[1]
    ratio = entry.ratio_box(car)
    truth = ARTICLE["CustomLabels"][1]["Geometry"]["BoundingBox"]
    for key in ("Left", "Top", "Width", "Height"):
        assert abs(ratio[key] - truth[key]) < 2 / 683  # whole pixels: within a pixel or two
    path = tmp_path / "article.manifest"
    assert write_manifest(path, [entry]) == 1
    assert [dataclasses.replace(e, line=0) for e in read_manifest(path)[0]] == [entry]


def test_entries_from_responses_keep_every_label_at_min_confidence_0() -> None:
    (entry,) = entries_from_responses([("s3://b/article.jpg", 1024, 683, ARTICLE)])
    assert len(entry.boxes) == len(ARTICLE["CustomLabels"])
    for box in entry.boxes:
        assert 0 <= box.left and box.left + box.width <= 1024 and 0 <= box.top and box.top + box.height <= 683
    cut = ARTICLE["CustomLabels"][1]["Confidence"]
    (at_cut,) = entries_from_responses([("x", 1024, 683, ARTICLE)], min_confidence=cut)
    assert len(at_cut.boxes) == 2  # at or above: the label exactly at the cut-off stays


def test_boxes_are_clipped_to_the_image_and_empty_ones_dropped() -> None:
    response = {
        "CustomLabels": [
            {
                "Name": "edge",
                "Confidence": 90.0,
                "Geometry": {"BoundingBox": {"Width": 0.5, "Height": 0.5, "Left": 0.8, "Top": -0.1}},
            },
            {
                "Name": "outside",
                "Confidence": 90.0,
                "Geometry": {"BoundingBox": {"Width": 0.1, "Height": 0.1, "Left": 1.2, "Top": 0.1}},
            },
        ]
    }
    (entry,) = entries_from_responses([("x", 100, 200, response)])
    assert entry.boxes == (Box("edge", 80.0, 0.0, 20.0, 80.0),)


def test_classification_and_empty_responses() -> None:
    fight = json.loads((DATA / "wild" / "responses" / "03-calpoly-fight-classification.json").read_text())
    empty = json.loads((DATA / "wild" / "responses" / "08-personalize-empty.json").read_text())
    items = [("s3://b/fight.jpg", 640, 480, fight), ("s3://b/none.jpg", 640, 480, empty)]
    classified, nothing = entries_from_responses(items)
    assert classified.kind == CLASSIFICATION
    assert classified.labels == tuple(label["Name"] for label in fight["CustomLabels"])
    assert (classified.width, classified.height, classified.boxes) == (None, None, ())
    assert nothing == ManifestEntry.detection("s3://b/none.jpg", 640, 480, [])
    # A classification manifest cannot hold an unlabelled image: told the kind, empty responses are left out.
    assert [e.source_ref for e in entries_from_responses(items, kind=CLASSIFICATION)] == ["s3://b/fight.jpg"]
    top = max(label["Confidence"] for label in fight["CustomLabels"])
    (only,) = entries_from_responses(items[:1], min_confidence=top)
    assert len(only.labels) == 1


def test_a_broken_response_is_refused() -> None:
    with pytest.raises(RclsimError, match="response schema"):
        list(entries_from_responses([("x", 10, 10, {"CustomLabels": [{"Name": "a"}]})]))
    mixed = {"CustomLabels": [ARTICLE["CustomLabels"][0], {"Name": "scene", "Confidence": 50.0}]}
    with pytest.raises(RclsimError, match="mixes"):
        list(entries_from_responses([("x", 10, 10, mixed)]))


# --- streaming -----------------------------------------------------------------------------------------


def test_iter_manifest_streams_a_large_file(tmp_path: Path) -> None:
    lines = (WILD / "03-nishantkarve-bax-bees.manifest").read_text().splitlines()
    path = tmp_path / "big.manifest"
    path.write_text((lines[0] + "\n" + lines[2] + "\n") * 25_000)
    size = path.stat().st_size
    read_manifest(WILD / "03-nishantkarve-bax-bees.manifest")  # warm the caches (compiled schema checks)

    tracemalloc.start()
    try:
        entries = iter_manifest(path)
        first = next(entries)
        for _ in range(2_000):
            next(entries)
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert first.line == 1
    assert peak < size / 100, (peak, size)  # ~20 kB for a 20 MB file: nothing accumulates
    assert sum(1 for _ in entries) == 50_000 - 2_001


# --- the schema ----------------------------------------------------------------------------------------


def test_committed_schema_identity() -> None:
    schema = manifest_line_schema()
    assert schema["$id"] == MANIFEST_LINE_SCHEMA_ID == "urn:rclsim:schema:manifest-line"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert {
        "detection-attribute",
        "detection-metadata",
        "classification-attribute",
        "classification-metadata",
    } <= set(schema["$defs"])
    assert manifest._fast_checks() is not None  # every keyword it uses has a fast check


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, prefix + (i,))


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 0.5, 1.0, -0.5, 2.5, 1e300, math.nan, math.inf, -math.inf, 2**60])
    | st.sampled_from(
        ["", "x", "0", "groundtruth/object-detection", "groundtruth/image-classification", "yes"]
    )
    | st.sampled_from(["2024-01-01T00:00:00", "source-ref", "bb-metadata"])
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=2)
        | st.dictionaries(SCALARS.filter(lambda s: isinstance(s, str)), inner, max_size=2)
    ),
    max_leaves=4,
)
SAMPLES = {
    "line": GOOD,
    "detection-attribute": GOOD["bb"],
    "detection-metadata": GOOD["bb-metadata"],
    "classification-attribute": 1,
    "classification-metadata": _classification_pair("c", "cat")["c-metadata"],
}


BOUNDARY = [None, True, False, -1, 0, 1, 2, 0.0, 0.5, 1.0, 1.5, -0.5, math.nan, math.inf, -math.inf, 2**60]
BOUNDARY += ["", "x", "0", "yes", "no", "2024-01-01T00:00:00", "groundtruth/object-detection", [], {}, [{}]]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_fast_checks_agree_with_jsonschema_at_every_boundary(name: str) -> None:
    """Every value of a good instance, replaced by each boundary value or deleted: same verdict."""
    fast, slow = manifest._fast_checks()[name], manifest._validators()[name]
    sample = SAMPLES[name]
    for path in _paths(sample):
        for new in [*BOUNDARY, "delete"]:
            instance = copy.deepcopy(sample)
            if not path:
                instance = None if new == "delete" else new
            else:
                parent = instance
                for step in path[:-1]:
                    parent = parent[step]
                if new == "delete":
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = copy.deepcopy(new)
            assert fast(instance) == slow.is_valid(instance), (path, new)


@settings(max_examples=150, deadline=None)
@given(name=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_fast_checks_agree_with_jsonschema(name: str, data: st.DataObject) -> None:
    """The generated checks and jsonschema judge every mutation of a good instance alike."""
    instance = copy.deepcopy(SAMPLES[name])
    paths = list(_paths(instance))
    path = data.draw(st.sampled_from(paths))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    new = data.draw(JSONISH)
    if not path:
        instance = new
    else:
        parent = instance
        for step in path[:-1]:
            parent = parent[step]
        if action == "delete":
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[data.draw(st.text(max_size=12))] = new
        elif action == "add":
            parent.append(new)
        else:
            parent[path[-1]] = new
    fast = manifest._fast_checks()[name](instance)
    slow = manifest._validators()[name].is_valid(instance)
    assert fast == slow, instance
