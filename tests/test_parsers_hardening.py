"""Hostile files never crash a parser: deep nesting, absurd numbers, schema changes, one folder rule.

Each test here reproduces a defect an outside review found; the CLI must answer every hostile file
with one line (``rclsim: error: ...`` or a validation line naming the file), never an internal error.
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rclsim
from rclsim.caches import kept, verdicts
from rclsim.data.responses import ResponseFolder
from rclsim.fake.recordings import RecordingStore
from rclsim.frontends.cli import main
from rclsim.geometry import to_pixels
from rclsim.service import schemas
from rclsim.service.errors import RecordingError

ROOT = Path(__file__).resolve().parent.parent
STAND_IN = ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg"
ARN = rclsim.ARTICLE_MODEL_ARN
DEPTH = 100_000
DEEP = {
    "list": "[" * DEPTH + "]" * DEPTH,
    "object": '{"a":' * DEPTH + "1" + "}" * DEPTH,
    "in-a-response": '{"CustomLabels": [' + "[" * DEPTH + "]" * DEPTH + "]}",
}


def png_bytes(width: int, height: int, shade: int = 0x80) -> bytes:
    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_clean_error(code: int, out: str, err: str, name: str) -> None:
    """A failure the user can act on: non-zero, names the file, one line on stderr, no traceback."""
    assert code != 0
    assert "internal error" not in out + err and "Traceback" not in out + err
    assert name in out + err
    assert len(err.strip().splitlines()) == 1, err


def response(**box: float) -> dict[str, Any]:
    geometry = {"Width": 0.2, "Height": 0.2, "Left": 0.1, "Top": 0.1, **box}
    return {"CustomLabels": [{"Name": "car", "Confidence": 90.0, "Geometry": {"BoundingBox": geometry}}]}


# -- 1. deeply nested files ----------------------------------------------------------------------------


@pytest.fixture(params=sorted(DEEP))
def deep_file(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / f"deep-{request.param}.json"
    path.write_text(DEEP[request.param])
    return path


def test_validate_reports_a_deeply_nested_file_in_one_line(
    capsys: pytest.CaptureFixture[str], deep_file: Path
) -> None:
    code, out, err = run(capsys, "validate", str(deep_file))
    assert_one_clean_error(code, out, err, str(deep_file))
    assert "nested too deeply" in out


def test_validate_reports_a_deep_first_line_of_an_unnamed_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "deep.txt"  # no .json/.manifest: validate peeks at the first line
    path.write_text(DEEP["list"] + "\n")
    code, out, err = run(capsys, "validate", str(path))
    assert_one_clean_error(code, out, err, str(path))


def test_draw_reports_a_deeply_nested_response(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, deep_file: Path
) -> None:
    code, out, err = run(capsys, "draw", str(deep_file), str(STAND_IN), "-o", str(tmp_path / "o.jpg"))
    assert_one_clean_error(code, out, err, str(deep_file))
    assert err.startswith("rclsim: error:")


def test_detect_reports_a_deeply_nested_image_file(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, deep_file: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "detect", "--project-version-arn", ARN, "--image", f"file://{deep_file}")
    assert_one_clean_error(code, out, err, str(deep_file))


@pytest.mark.parametrize("inline", [DEEP["list"], DEEP["object"]], ids=["list", "object"])
def test_detect_reports_deeply_nested_inline_image_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, inline: str
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "detect", "--project-version-arn", ARN, "--image", inline)
    assert_one_clean_error(code, out, err, "--image")


def test_image_file_that_is_not_utf8_is_one_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"S3Object": {"Bucket": "b", "Name": "caf\xe9.jpg"}}')
    code, out, err = run(capsys, "detect", "--project-version-arn", ARN, "--image", f"file://{path}")
    assert_one_clean_error(code, out, err, str(path))
    assert "UTF-8" in err


def test_manifest_line_nested_deeply_is_a_bad_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from rclsim.data.manifest import read_manifest

    path = tmp_path / "deep.manifest"
    path.write_text(DEEP["list"] + "\n" + DEEP["object"] + "\n")
    entries, problems = read_manifest(path)
    assert entries == [] and [p.line for p in problems] == [1, 2]
    assert all("nested too deeply" in p.message for p in problems)
    code, out, err = run(capsys, "validate", str(path))
    assert code == 1 and "internal error" not in out + err and f"{path}: line 1:" in out


def test_sim_info_on_a_deep_manifest_is_not_an_internal_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "deep.manifest"
    path.write_text(DEEP["object"] + "\n")
    code, out, err = run(capsys, "--manifest", str(path), "sim", "info")
    assert "internal error" not in out + err and "Traceback" not in out + err


def test_recordings_folder_with_a_deep_file_names_it(tmp_path: Path, deep_file: Path) -> None:
    with pytest.raises(RecordingError, match="nested too deeply") as info:
        list(RecordingStore([tmp_path], include_builtin=False))
    assert str(deep_file) in str(info.value)
    with pytest.raises(RecordingError, match="nested too deeply") as info:
        ResponseFolder(tmp_path)
    assert str(deep_file) in str(info.value)


def test_evaluate_and_recordings_commands_report_a_deep_file_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "responses"
    folder.mkdir()
    (folder / "a.json").write_text(DEEP["object"])
    manifest = tmp_path / "m.manifest"
    manifest.write_text(
        json.dumps(
            {
                "source-ref": "s3://b/a.jpg",
                "bb": {"annotations": [], "image_size": [{"width": 10, "height": 10, "depth": 3}]},
                "bb-metadata": {"class-map": {}, "type": "groundtruth/object-detection"},
            }
        )
        + "\n"
    )
    code, out, err = run(capsys, "--manifest", str(manifest), "evaluate", "--responses", str(folder))
    assert_one_clean_error(code, out, err, str(folder / "a.json"))
    code, out, err = run(capsys, "--recordings", str(folder), "recordings", "--no-builtin")
    assert_one_clean_error(code, out, err, str(folder / "a.json"))


def test_oversized_json_file_is_refused_by_name(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import rclsim.service.files

    monkeypatch.setattr(rclsim.service.files, "MAX_JSON_BYTES", 1000)
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"CustomLabels": [{"Name": "x" * 2000, "Confidence": 50}]}))
    code, out, err = run(capsys, "validate", str(path))
    assert_one_clean_error(code, out, err, str(path))
    assert "too large" in out


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_are_malformed_everywhere(tmp_path: Path, literal: str) -> None:
    text = '{"CustomLabels": [{"Name": "a", "Confidence": ' + literal + "}]}"
    (tmp_path / "a.json").write_text(text)
    (tmp_path / "a.png").write_bytes(png_bytes(8, 8))
    with pytest.raises(RecordingError, match="not valid JSON"):
        ResponseFolder(tmp_path)
    with pytest.raises(RecordingError, match="not valid JSON"):
        list(RecordingStore([tmp_path], include_builtin=False))


# -- 2. absurd bounding boxes -------------------------------------------------------------------------


@pytest.mark.parametrize("member", ["Left", "Top", "Width", "Height"])
@pytest.mark.parametrize("value", [1e308, -1e308, 5.0, -2.5, 640.0])
def test_validate_rejects_box_values_that_cannot_be_ratios(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, member: str, value: float
) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(response(**{member: value})))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 1
    assert f"$.CustomLabels[0].Geometry.BoundingBox.{member}:" in out and "ratio" in out


def test_validate_accepts_boxes_that_cross_the_image_edge_a_little(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The service documents ratios below 0 or above 1 for objects at the image's edge.
    path = tmp_path / "r.json"
    path.write_text(json.dumps(response(Left=-0.05, Top=0.9, Width=1.1, Height=0.2)))
    code, out, _ = run(capsys, "validate", str(path))
    assert code == 0, out


def test_draw_refuses_an_absurd_box_in_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps(response(Left=1e308)))
    code, out, err = run(capsys, "draw", str(path), str(STAND_IN), "-o", str(tmp_path / "o.jpg"))
    assert_one_clean_error(code, out, err, str(path))
    assert "BoundingBox.Left" in err


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(
    left=finite,
    top=finite,
    width=finite,
    height=finite,
    size=st.tuples(st.integers(1, 10_000), st.integers(1, 10_000)),
)
def test_to_pixels_clips_any_finite_box_without_overflow(
    left: float, top: float, width: float, height: float, size: tuple[int, int]
) -> None:
    box = to_pixels({"Left": left, "Top": top, "Width": width, "Height": height}, size)
    assert 0 <= box.x_min <= box.x_max <= size[0] and 0 <= box.y_min <= box.y_max <= size[1]


def test_to_pixels_keeps_the_articles_pixels_for_ordinary_boxes() -> None:
    box = to_pixels({"Left": 0.37043, "Top": 0.29367, "Width": 0.59456, "Height": 0.52895}, (1000, 800))
    assert box.as_tuple() == (
        int(1000 * 0.37043),
        int(800 * 0.29367),
        int(1000 * 0.37043) + int(1000 * 0.59456),
        int(800 * 0.29367) + int(800 * 0.52895),
    )


@pytest.mark.parametrize(
    "box",
    [
        {"Left": 1e308},
        {"Left": -1e308, "Width": 1e308},
        {"Width": 1e308, "Height": 1e308},
        {"Top": -1e308, "Height": 1.7e308},
        {"Left": 5e-324},
    ],
)
def test_drawing_and_converting_absurd_boxes_never_raises(tmp_path: Path, box: dict[str, float]) -> None:
    import numpy as np

    from rclsim.data.evaluation import ratio_iou
    from rclsim.data.manifest import entries_from_responses
    from rclsim.reports.drawing import annotate, draw_files

    labels = response(**box)["CustomLabels"]
    image = np.zeros((48, 64, 3), dtype=np.uint8)
    assert annotate(image, labels, min_confidence=0).shape == image.shape
    written = draw_files(labels, STAND_IN, output=tmp_path / "o.jpg", min_confidence=0)
    assert written == [tmp_path / "o.jpg"]
    iou = ratio_iou(labels[0]["Geometry"]["BoundingBox"], {"Left": 0, "Top": 0, "Width": 1, "Height": 1})
    assert math.isfinite(iou) and 0 <= iou <= 1
    entries = list(
        entries_from_responses([("s3://b/k.jpg", 64, 48, {"CustomLabels": labels})], validate=False)
    )
    assert len(entries) == 1


# -- 3. validation verdicts follow the schema --------------------------------------------------------


@pytest.fixture
def own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("RCLSIM_CACHE_DIR", str(cache))
    kept.forget_all()
    return cache


def _confidence_at_most(limit: float):  # type: ignore[no-untyped-def]
    real = schemas._load

    def load(name: str) -> dict[str, Any]:
        data = real(name)
        if name == "detect-custom-labels-response.schema.json":
            data = json.loads(json.dumps(data))
            data["$defs"]["CustomLabel"]["properties"]["Confidence"]["maximum"] = limit
        return data

    return load


def _forget_schemas() -> None:
    kept.forget_all()
    for cached in (
        schemas.response_schema,
        schemas.recording_schema,
        schemas.models_schema,
        schemas._validator,
    ):
        cached.cache_clear()


def test_a_schema_change_rechecks_files_validated_under_the_old_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, own_cache: Path
) -> None:
    folder = tmp_path / "recs"
    folder.mkdir()
    (folder / "shot.json").write_text(json.dumps({"CustomLabels": [{"Name": "car", "Confidence": 70.0}]}))
    (folder / "shot.png").write_bytes(png_bytes(8, 8))
    store = RecordingStore([folder], include_builtin=False)
    assert [rec.labels[0]["Name"] for rec in store] == ["car"]  # valid, and remembered as valid
    try:
        with monkeypatch.context() as patch:
            patch.setattr(schemas, "_load", _confidence_at_most(50))
            kept.forget_all()  # as a new process would start, with the new schema installed
            with pytest.raises(RecordingError, match="maximum of 50"):
                [rec.labels for rec in RecordingStore([folder], include_builtin=False)]
    finally:
        _forget_schemas()
    # Back on the real schema, the file is valid again.
    assert [rec.labels[0]["Name"] for rec in RecordingStore([folder], include_builtin=False)] == ["car"]


def test_a_verdict_names_the_schema_it_was_reached_under(
    monkeypatch: pytest.MonkeyPatch, own_cache: Path
) -> None:
    verdicts.remember_valid("ab" * 32)
    assert verdicts.known_valid("ab" * 32)
    try:
        with monkeypatch.context() as patch:
            patch.setattr(schemas, "_load", _confidence_at_most(50))
            kept.forget_all()
            assert not verdicts.known_valid("ab" * 32)
    finally:
        _forget_schemas()
    assert verdicts.known_valid("ab" * 32)


def test_models_json_is_rechecked_after_a_schema_change(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, own_cache: Path
) -> None:
    from rclsim.fake.declarations import Declarations

    builtin = ROOT / "fixtures" / "article" / "models.json"
    folder = tmp_path / "decl"
    folder.mkdir()
    (folder / "models.json").write_bytes(builtin.read_bytes())
    Declarations.load([folder])
    real = schemas._load

    def strict_models(name: str) -> dict[str, Any]:
        data = real(name)
        if name == "models.schema.json":
            data = json.loads(json.dumps(data))
            data["required"] = [*data.get("required", []), "no-such-member"]
        return data

    try:
        with monkeypatch.context() as patch:
            patch.setattr(schemas, "_load", strict_models)
            kept.forget_all()
            with pytest.raises(RecordingError, match="no-such-member"):
                Declarations.load([folder])
    finally:
        _forget_schemas()
    Declarations.load([folder])


# -- 4. one folder rule for detect --recordings and evaluate --responses -----------------------------


def _says(name: str) -> dict[str, Any]:
    return {"CustomLabels": [{"Name": name, "Confidence": 90.0}]}


IMAGE_A, IMAGE_B, IMAGE_F = png_bytes(64, 64, 1), png_bytes(64, 64, 2), png_bytes(64, 64, 3)
FOLDER: dict[str, Any] = {
    "a.json": _says("a"),
    "a.jpg": IMAGE_A,
    "nested/b.json": _says("nested/b"),
    "nested/b.JPG": IMAGE_B,  # upper-case extension
    "c.json": _says("c"),  # no image beside it
    "e.json": _says("e"),
    "x/e.json": _says("x/e"),  # the longer match wins for x/e.jpg
    "f.json": _says("f"),
    "f.Png": IMAGE_F,  # mixed-case extension
    "notes.json": {"note": "not a response, no image beside: not an answer"},
}
#: The S3 key asked for -> the file that answers (by the label it holds), or None.
BY_KEY = {
    "a.jpg": "a",
    "photos/a.JPG": "a",
    "a.png": "a",  # NAME.json answers for NAME with any image extension
    "a": "a",
    "nested/b.jpg": "nested/b",
    "deeper/nested/b.png": "nested/b",
    "b.jpg": None,  # a response's folders are part of its name
    "other/b.jpg": None,
    "c.jpg": "c",
    "x/e.jpg": "x/e",
    "y/e.jpg": "e",
    "e.jpeg": "e",
    "f.png": "f",
    "notes.jpg": None,
    "zzz.jpg": None,
}


def _make_folder(root: Path, files: dict[str, Any]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else json.dumps(content).encode())
    return root


def _detect_answer(folder: Path, image: dict[str, Any]) -> str | None:
    from botocore.exceptions import ClientError

    backend = rclsim.get_backend("replay", recordings=[folder], include_builtin=False)
    try:
        out = backend.detect_custom_labels(ProjectVersionArn=ARN, Image=image)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "RecordingNotFoundException", exc
        return None
    return str(out["CustomLabels"][0]["Name"])


def _evaluate_answer(folder: Path, source_ref: str, local: Path | None = None) -> str | None:
    labels = ResponseFolder(folder).labels_for(source_ref, local)
    return None if labels is None else str(labels[0]["Name"])


def test_detect_and_evaluate_map_a_folder_to_images_the_same_way(tmp_path: Path, own_cache: Path) -> None:
    folder = _make_folder(tmp_path / "answers", FOLDER)
    detect = {key: _detect_answer(folder, {"S3Object": {"Bucket": "bkt", "Name": key}}) for key in BY_KEY}
    evaluate = {key: _evaluate_answer(folder, f"s3://bkt/{key}") for key in BY_KEY}
    assert detect == evaluate == BY_KEY


def test_detect_and_evaluate_match_image_bytes_the_same_way(tmp_path: Path, own_cache: Path) -> None:
    folder = _make_folder(tmp_path / "answers", FOLDER)
    local = tmp_path / "local"
    local.mkdir()
    for name, content in (("one.png", IMAGE_A), ("two.png", IMAGE_B), ("three.png", IMAGE_F)):
        (local / name).write_bytes(content)
    detect = [
        _detect_answer(folder, {"Bytes": (local / n).read_bytes()})
        for n in ("one.png", "two.png", "three.png")
    ]
    evaluate = [
        _evaluate_answer(folder, f"s3://bkt/{n}", local / n) for n in ("one.png", "two.png", "three.png")
    ]
    assert detect == evaluate == ["a", "nested/b", "f"]


def test_one_response_beside_two_images_of_one_name_is_an_error_for_both(
    tmp_path: Path, own_cache: Path
) -> None:
    folder = _make_folder(tmp_path / "answers", {"d.json": _says("d"), "d.jpg": IMAGE_A, "d.png": IMAGE_B})
    with pytest.raises(RecordingError, match=r"d\.jpg.*d\.png"):
        list(RecordingStore([folder], include_builtin=False))
    with pytest.raises(RecordingError, match=r"d\.jpg.*d\.png"):
        ResponseFolder(folder)


def test_a_file_beside_an_image_must_be_a_response_for_both(tmp_path: Path, own_cache: Path) -> None:
    folder = _make_folder(tmp_path / "answers", {"g.json": {"note": "beside g.jpg"}, "g.jpg": IMAGE_A})
    with pytest.raises(RecordingError, match="g.json"):
        list(RecordingStore([folder], include_builtin=False))
    with pytest.raises(RecordingError, match="g.json"):
        ResponseFolder(folder)


# -- 5. caches of files follow the file stamp, and the image beside a response ------------------------


def test_an_image_appearing_or_changing_beside_a_response_is_seen_by_the_next_store(
    tmp_path: Path, own_cache: Path
) -> None:
    folder = _make_folder(tmp_path / "answers", {"h.json": _says("h")})
    assert _detect_answer(folder, {"Bytes": IMAGE_A}) is None  # no image beside it yet: by name only
    (folder / "h.png").write_bytes(IMAGE_A)
    assert _detect_answer(folder, {"Bytes": IMAGE_A}) == "h"  # same process: the folder is read again
    (folder / "h.png").write_bytes(IMAGE_B)
    kept.forget_all()  # a new process: only the index on disk remains
    assert _detect_answer(folder, {"Bytes": IMAGE_A}) is None
    assert _detect_answer(folder, {"Bytes": IMAGE_B}) == "h"
    (folder / "h.png").unlink()
    assert _detect_answer(folder, {"Bytes": IMAGE_B}) is None
    assert _detect_answer(folder, {"S3Object": {"Bucket": "bkt", "Name": "h.jpg"}}) == "h"
