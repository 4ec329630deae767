"""Fuzz every file parser: a valid result, or an RclsimError (NotAnImage for images) in one line.

Bounded for CI (a fixed number of examples per parser, no deadline). Each parser gets JSON built from
the keys rclsim's files use (so the fuzz reaches past the first type check), near-valid responses with
odd numbers and boxes, raw bytes, truncated and hostile JSON (NaN literals, deep nesting, BOMs,
invalid UTF-8). A parser may refuse anything; it may never raise anything else.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rclsim
from rclsim.data.imageinfo import NotAnImage, read_image_info
from rclsim.frontends.cli import main
from rclsim.service.errors import RclsimError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

KEYS = [
    "CustomLabels", "Name", "Confidence", "Geometry", "BoundingBox", "Polygon", "Width", "Height", "Left",
    "Top", "X", "Y", "ResponseMetadata", "format", "format_version", "operation", "recorded_at", "region",
    "request", "response", "image", "S3Object", "Bucket", "Version", "Sha256", "ProjectVersionArn",
    "MinConfidence", "MaxResults", "projects", "versions", "ProjectArn", "Status", "source-ref",
    "bounding-box", "bounding-box-metadata", "annotations", "image_size", "class_id", "class-map", "type",
    "objects", "depth", "currency", "regions", "fallback", "InferenceUnitHour", "TrainingHour",
]  # fmt: skip
CONSTANTS = [
    "rclsim.recording", "rclsim.models", "DetectCustomLabels", "groundtruth/object-detection",
    "groundtruth/image-classification", "s3://b/a.jpg", "us-east-1", "USD", rclsim.ARTICLE_MODEL_ARN,
]  # fmt: skip

numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, 1, 100, -1, 0.5, 1e308, -1e308, 5e-324, 2.0, -1.0]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=12), st.sampled_from(CONSTANTS))
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=30,
)
boxes = st.fixed_dictionaries({}, optional={k: numbers | scalars for k in ("Width", "Height", "Left", "Top")})
labels = st.fixed_dictionaries(
    {"Name": st.text(max_size=8) | scalars, "Confidence": numbers},
    optional={"Geometry": st.fixed_dictionaries({}, optional={"BoundingBox": boxes | json_values})},
)
responses = st.fixed_dictionaries({"CustomLabels": st.lists(labels | json_values, max_size=3)})


def _deep(depth: int, kind: str) -> str:
    return "[" * depth + "]" * depth if kind == "[" else '{"a":' * depth + "0" + "}" * depth


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8")


@st.composite
def _mangled(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> bytes:
    data = _encode(draw(values))
    how = draw(st.sampled_from(["as is", "truncate", "insert", "bom", "latin1"]))
    if how == "truncate" and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    elif how == "insert":
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    elif how == "bom":
        data = b"\xef\xbb\xbf" + data
    elif how == "latin1":
        data = data.replace(b'"', b'"\xe9', 1)
    return data


def contents(values: st.SearchStrategy[Any], deep: bool = True) -> st.SearchStrategy[bytes]:
    """File contents: JSON of ``values`` (sometimes mangled), raw bytes, and (``deep``) deep nesting."""
    options = [values.map(_encode), _mangled(values), st.binary(max_size=64)]
    if deep:
        depths = st.sampled_from([63, 64, 65, 900, 5000, 100_000])
        options.append(st.builds(lambda d, k: _deep(d, k).encode(), depths, st.sampled_from(["[", "{"])))
    return st.one_of(*options)


def assert_clean(exc: BaseException) -> None:
    message = str(exc)
    assert message and "\n" not in message, repr(message)


@contextmanager
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rclsim-fuzz-") as name:
        yield Path(name)


def accepts_or_refuses(
    call: Callable[[], Any], refusals: tuple[type[BaseException], ...] = (RclsimError,)
) -> Any:
    try:
        return call()
    except refusals as exc:
        assert_clean(exc)
        return None


# -- response, recording and models.json validation (rclsim validate, draw) --------------------------


@FUZZ
@given(data=contents(responses | json_values))
def test_response_and_recording_files_validate_or_refuse(data: bytes) -> None:
    from rclsim.service.files import read_json_file
    from rclsim.service.schemas import models_problems, recording_problems, response_problems

    with folder() as where:
        path = where / "r.json"
        path.write_bytes(data)
        parsed = accepts_or_refuses(lambda: read_json_file(path))
        if parsed is not None:
            for problems_of in (response_problems, recording_problems, models_problems):
                for problem in problems_of(parsed):
                    assert "\n" not in str(problem)


@FUZZ
@given(response=responses)
def test_a_response_that_validates_can_be_drawn_and_evaluated(response: dict[str, Any]) -> None:
    import numpy as np

    from rclsim.data.evaluation import Prediction, Truth, evaluate
    from rclsim.data.manifest import entries_from_responses
    from rclsim.reports.drawing import annotate
    from rclsim.service.schemas import response_problems

    if response_problems(response):
        return
    image = np.zeros((40, 50, 3), dtype=np.uint8)
    annotate(image, response["CustomLabels"], min_confidence=0)
    report = evaluate(
        [Truth("i", [("car", {"Left": 0.1, "Top": 0.1, "Width": 0.5, "Height": 0.5})])],
        {"i": Prediction("i", response["CustomLabels"])},
    )
    assert report.images == 1
    accepts_or_refuses(lambda: list(entries_from_responses([("s3://b/i.jpg", 50, 40, response)])))


# -- manifests ---------------------------------------------------------------------------------------

manifest_lines = st.lists(
    contents(json_values).map(lambda b: b.replace(b"\n", b" ")) | st.just(b""), min_size=1, max_size=4
)


@FUZZ
@given(lines=manifest_lines)
def test_manifest_lines_load_or_become_problems(lines: list[bytes]) -> None:
    from rclsim.data.manifest import read_manifest

    with folder() as where:
        path = where / "m.manifest"
        path.write_bytes(b"\n".join(lines) + b"\n")
        entries, problems = read_manifest(path)
        assert len(entries) + len(problems) <= len(lines)
        for problem in problems:
            assert "\n" not in problem.message


# -- a folder of recordings and responses ------------------------------------------------------------

png = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00@\x00\x00\x00@\x08\x00\x00\x00\x00\x8f\x02.\x02"
    b"\x00\x00\x00\x10IDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@FUZZ
@given(
    files=st.lists(
        st.tuples(
            st.sampled_from(["a.json", "b/a.json", "A.JSON", "c.json"]), contents(responses | json_values)
        ),
        min_size=1,
        max_size=3,
    ),
    image=st.sampled_from([None, png, b"not an image", b""]),
)
def test_a_folder_of_answers_loads_or_refuses_the_same_way_for_detect_and_evaluate(
    files: list[tuple[str, bytes]], image: bytes | None
) -> None:
    from rclsim.data.responses import ResponseFolder
    from rclsim.fake.recordings import ImageRef, RecordingStore

    with folder() as where:
        for rel, data in files:
            (where / rel).parent.mkdir(parents=True, exist_ok=True)
            (where / rel).write_bytes(data)
        if image is not None:
            (where / "a.png").write_bytes(image)

        def store() -> list[str]:
            found = RecordingStore([where], include_builtin=False)
            for rec in found:
                rec.labels  # noqa: B018 - reading the labels is the point
            hits = found.find(rclsim.ARTICLE_MODEL_ARN, ImageRef(bucket="b", key="b/a.jpg"))
            return [str(r.path) for r in hits[:1]]

        def responses_folder() -> list[str]:
            labels = ResponseFolder(where).labels_for("s3://b/b/a.jpg")
            return [] if labels is None else ["found"]

        by_store = accepts_or_refuses(store)
        by_folder = accepts_or_refuses(responses_folder)
        # One rule: both refuse the folder, or both find (or miss) an answer for the same image.
        assert (by_store is None) == (by_folder is None)
        if by_store is not None:
            assert bool(by_store) == bool(by_folder)


# -- models.json, prices, noise parameters (read-only use of their loaders) ---------------------------

models_like = st.fixed_dictionaries(
    {"format": st.just("rclsim.models") | scalars, "format_version": numbers | scalars},
    optional={"projects": json_values | st.lists(json_values, max_size=2)},
)
prices_like = st.fixed_dictionaries(
    {"format_version": st.just(1) | scalars, "currency": st.just("USD") | scalars},
    optional={"regions": json_values, "fallback": scalars},
)


def _load_models(where: Path) -> Any:
    from rclsim.fake.declarations import Declarations

    return Declarations.load([where])


def _load_prices(path: Path) -> Any:
    from rclsim.fake.cost import PriceTable

    return PriceTable.load(path)


def _load_noise(path: Path) -> Any:
    from rclsim.fake.simulation import NoiseModel

    return NoiseModel.load(path)


@FUZZ
@given(data=contents(models_like | json_values, deep=False))
def test_models_json_loads_or_refuses(data: bytes) -> None:
    with folder() as where:
        (where / "models.json").write_bytes(data)
        accepts_or_refuses(lambda: _load_models(where))


@FUZZ
@given(data=contents(prices_like | json_values, deep=False))
def test_price_tables_load_or_refuse(data: bytes) -> None:
    with folder() as where:
        (where / "prices.json").write_bytes(data)
        accepts_or_refuses(lambda: _load_prices(where / "prices.json"))


@FUZZ
@given(data=contents(json_values, deep=False))
def test_noise_parameters_load_or_refuse(data: bytes) -> None:
    with folder() as where:
        (where / "noise.json").write_bytes(data)
        accepts_or_refuses(lambda: _load_noise(where / "noise.json"))


@pytest.mark.parametrize("loader", ["models", "prices", "noise"])
@pytest.mark.parametrize("kind", ["[", "{"])
def test_deeply_nested_models_prices_and_noise_files_are_refused(
    tmp_path: Path, loader: str, kind: str
) -> None:
    data = _deep(100_000, kind).encode()
    name = {"models": "models.json", "prices": "prices.json", "noise": "noise.json"}[loader]
    (tmp_path / name).write_bytes(data)
    call = {
        "models": lambda: _load_models(tmp_path),
        "prices": lambda: _load_prices(tmp_path / name),
        "noise": lambda: _load_noise(tmp_path / name),
    }[loader]
    with pytest.raises(RclsimError) as info:
        call()
    assert_clean(info.value)


# -- image headers --------------------------------------------------------------------------------------


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=128),
        st.builds(
            lambda head, tail: head + tail,
            st.sampled_from([png[:24], png[:8], b"\xff\xd8\xff"]),
            st.binary(max_size=96),
        ),
        st.builds(lambda cut: png[:cut], st.integers(0, len(png))),
    )
)
def test_image_headers_read_or_are_not_images(data: bytes) -> None:
    info = accepts_or_refuses(lambda: read_image_info(data), (NotAnImage,))
    if info is not None:
        assert info.width > 0 and info.height > 0


# -- the command line on hostile files ----------------------------------------------------------------

HOSTILE = {
    "deep-list.json": _deep(100_000, "[").encode(),
    "deep-object.json": _deep(100_000, "{").encode(),
    "nan.json": b'{"CustomLabels": [{"Name": "a", "Confidence": NaN}]}',
    "latin1.json": b'{"CustomLabels": [{"Name": "caf\xe9", "Confidence": 50}]}',
    "huge-box.json": _encode(
        {
            "CustomLabels": [
                {
                    "Name": "a",
                    "Confidence": 90,
                    "Geometry": {"BoundingBox": {"Width": 1e308, "Height": 1, "Left": 1e308, "Top": 0}},
                }
            ]
        }  # fmt: skip
    ),
    "truncated.json": b'{"CustomLabels": [{"Name": "a", "Conf',
    "empty.json": b"",
}
STAND_IN = Path(__file__).resolve().parent.parent / "fixtures" / "article" / "9c5f2a31335627a0.jpg"


@pytest.fixture
def hostile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, data in HOSTILE.items():
        (tmp_path / name).write_bytes(data)
    return tmp_path


def _one_line_failure(capsys: pytest.CaptureFixture[str], argv: list[str], name: str) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code != 0, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "internal error" not in err and "Traceback" not in err
    assert name in out + err


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_cli_draw_refuses_each_hostile_file_in_one_line(
    capsys: pytest.CaptureFixture[str], hostile: Path, name: str
) -> None:
    _one_line_failure(capsys, ["draw", name, str(STAND_IN), "-o", "o.jpg"], name)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_cli_detect_refuses_each_hostile_image_file_in_one_line(
    capsys: pytest.CaptureFixture[str], hostile: Path, name: str
) -> None:
    if name == "huge-box.json":
        pytest.skip("valid JSON: detect refuses it as an Image parameter, a service error (exit 255)")
    _one_line_failure(
        capsys,
        ["detect", "--project-version-arn", rclsim.ARTICLE_MODEL_ARN, "--image", f"file://{name}"],
        name,
    )


def test_cli_validate_reports_every_hostile_file(capsys: pytest.CaptureFixture[str], hostile: Path) -> None:
    code = main(["validate", *sorted(HOSTILE)])
    out, err = capsys.readouterr()
    assert code == 1 and "internal error" not in out + err
    assert err.strip() == f"{len(HOSTILE)} of {len(HOSTILE)} files failed"
    for name in HOSTILE:
        assert name in out


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_cli_evaluate_and_recordings_refuse_a_hostile_folder_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.chdir(tmp_path)
    answers = tmp_path / "answers"
    answers.mkdir()
    (answers / "a.json").write_bytes(HOSTILE[name])
    (answers / "a.png").write_bytes(png)  # beside an image, even a non-response must be a response
    manifest = tmp_path / "m.manifest"
    manifest.write_text('{"source-ref": "s3://b/a.png", "c": 0, "c-metadata": {"class-name": "x", '
                        '"type": "groundtruth/image-classification"}}\n')  # fmt: skip
    _one_line_failure(
        capsys, ["--manifest", str(manifest), "evaluate", "--responses", str(answers)], "a.json"
    )
    _one_line_failure(capsys, ["--recordings", str(answers), "recordings", "--no-builtin"], "a.json")
