"""The ``match`` setting (issue 12, re-encoded images) reaches the replay store from every front-end:
``--match pixels`` (CLI), ``get_backend(match="pixels")`` and ``rclsim.mock(match=...)`` (Python),
``RCLSIM_MATCH`` (everywhere, the pytest plugin included). The sim backend is handed its object store
when it is made, and ``rclsim serve`` says where S3 is when it starts.

What is observed is behaviour: the article's image re-encoded as AWS's local-image sample sends it
(decoded and saved again as a JPEG of quality 75, as PIL's ``image.save`` does) answers with the
article's recorded labels when the pixel match is on, and by default is not found, with a message that
tells this front-end's user how to switch it on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import cv2
import numpy as np
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.config import MATCHES, example, resolve, setting
from rclsim.data.phash import MAX_DISTANCE
from rclsim.fake.objects import FolderObjects
from rclsim.fake.recordings import RecordingStore, parse_match
from rclsim.frontends.cli import main
from rclsim.service.errors import RclsimError

from .conftest import ARTICLE_ARN, DATA, ROOT
from .processes import stop

pytest_plugins = ["pytester"]

MANIFEST = DATA / "wild" / "manifests" / "02-dannymorris-bcbs-logo.manifest"


def _article_labels() -> list[str]:
    answer = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
    return [label["Name"] for label in answer["CustomLabels"]]


@pytest.fixture
def resaved(tmp_path: Path, article_image_bytes: bytes) -> Path:
    """The article's image as AWS's local-image sample sends it: decoded and saved again as a JPEG
    of quality 75 (PIL's default), so its bytes (and sha256) are not the recorded ones."""
    img = cv2.imdecode(np.frombuffer(article_image_bytes, np.uint8), cv2.IMREAD_COLOR)
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 75])
    assert ok
    path = tmp_path / "resaved.jpg"
    path.write_bytes(buf.tobytes())
    assert path.read_bytes() != article_image_bytes
    return path


def _detect(backend: Any, image: bytes) -> Any:
    """The labels the backend answers (in its order), or the error's code and message."""
    try:
        found = backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": image})
    except ClientError as exc:
        return exc.response["Error"]["Code"], exc.response["Error"]["Message"]
    return [label["Name"] for label in found["CustomLabels"]]


def _started(backend: Any) -> Any:
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    return backend


# -- the setting -----------------------------------------------------------------------------------
def test_the_setting_defaults_to_sha256_and_reads_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert setting("match") == "sha256"
    monkeypatch.setenv("RCLSIM_MATCH", " Default , PIXELS ")
    assert setting("match") == "pixels,default"  # the fallbacks are tried pixels first
    assert setting("match", "sha256,pixels") == "pixels"
    assert resolve("cli").origin["match"] == "RCLSIM_MATCH"


@pytest.mark.parametrize("bad", ["pixel", "", "sha1", "pixels;default", 3])
def test_a_bad_match_is_one_error_naming_where_it_came_from(
    bad: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RclsimError, match=r"match=.* is not a way to match recordings.*pixels \(also"):
        setting("match", bad)
    if isinstance(bad, str) and bad.strip():
        monkeypatch.setenv("RCLSIM_MATCH", bad)
        with pytest.raises(RclsimError, match=r"^RCLSIM_MATCH=.* is not a way to match"):
            resolve("pytest")


def test_every_value_the_setting_offers_is_one_the_store_reads_as_itself() -> None:
    for value in MATCHES:
        assert (",".join(parse_match(value)) or "sha256") == value
    for fallbacks in [("pixels",), ("default",), ("pixels", "default")]:
        assert ",".join(fallbacks) in MATCHES


def test_the_documented_distance_is_the_hashs() -> None:
    assert f"within {MAX_DISTANCE} bits" in MATCHES["pixels"]
    assert f"within {MAX_DISTANCE}\n" in (rclsim.config.__doc__ or "")


def test_example_says_how_each_front_end_sets_it() -> None:
    assert example("match", "pixels", "cli") == "--match pixels or RCLSIM_MATCH=pixels"
    assert example("match", "pixels", "api") == "match='pixels' or RCLSIM_MATCH=pixels"
    assert example("match", "pixels", "pytest") == "RCLSIM_MATCH=pixels"


def test_an_explicit_match_needs_the_replay_backend_and_the_variable_is_ignored_by_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(
        RclsimError, match="match pixels picks how recordings are matched: it needs backend replay"
    ):
        rclsim.get_backend("sim", manifest=MANIFEST, match="pixels")
    with pytest.raises(RclsimError, match="--match pixels .* needs --backend replay"):
        resolve("cli", backend="aws", match="pixels")
    monkeypatch.setenv("RCLSIM_MATCH", "pixels")  # one environment for a suite that runs both
    with rclsim.get_backend("sim", manifest=MANIFEST) as backend:
        assert backend.name == "sim"
    assert resolve("api", backend="aws").match == "sha256"


# -- get_backend, rclsim.mock ----------------------------------------------------------------------
def test_get_backend_by_default_does_not_find_a_reencoded_image_and_says_how_to_match_pixels(
    resaved: Path,
) -> None:
    with _started(rclsim.get_backend("replay")) as backend:
        code, message = _detect(backend, resaved.read_bytes())
    assert code == "RecordingNotFoundException"
    assert "same size, 1024x683" in message
    assert "match='pixels' or RCLSIM_MATCH=pixels" in message


@pytest.mark.parametrize("given_as", ["option", "variable"])
def test_get_backend_with_match_pixels_answers_a_reencoded_image(
    resaved: Path, article_image_bytes: bytes, given_as: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if given_as == "variable":
        monkeypatch.setenv("RCLSIM_MATCH", "pixels")
        options: dict[str, Any] = {}
    else:
        options = {"match": "pixels"}
    with _started(rclsim.get_backend("replay", **options)) as backend:
        assert backend.store.match == "pixels"
        assert _detect(backend, resaved.read_bytes()) == _article_labels()
        assert _detect(backend, article_image_bytes) == _article_labels()  # exact bytes: as before
        other = np.random.default_rng(0).integers(0, 255, (683, 1024, 3), np.uint8)
        code, message = _detect(backend, cv2.imencode(".jpg", other)[1].tobytes())
    assert code == "RecordingNotFoundException"
    assert "bits from it by perceptual hash" in message and "another picture" in message


def test_mock_with_match_pixels_answers_a_boto3_client(resaved: Path) -> None:
    with rclsim.mock(match="pixels") as backend:
        _started(backend)
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        found = client.detect_custom_labels(
            ProjectVersionArn=ARTICLE_ARN, Image={"Bytes": resaved.read_bytes()}
        )
    assert [label["Name"] for label in found["CustomLabels"]] == _article_labels()


def test_match_default_answers_with_a_models_default_json(tmp_path: Path) -> None:
    folder = tmp_path / "recs"
    folder.mkdir()
    answer = {"CustomLabels": [{"Name": "plate", "Confidence": 90.0}]}
    (folder / "default.json").write_text(json.dumps(answer))
    other = np.random.default_rng(1).integers(0, 255, (96, 128, 3), np.uint8)
    image = cv2.imencode(".jpg", other)[1].tobytes()
    with _started(rclsim.get_backend("replay", recordings=[folder], match="default")) as backend:
        assert _detect(backend, image) == ["plate"]
    with _started(rclsim.get_backend("replay", recordings=[folder])) as backend:
        code, message = _detect(backend, image)
    assert code == "RecordingNotFoundException" and "match='default' or RCLSIM_MATCH=default" in message


# -- the CLI ---------------------------------------------------------------------------------------
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_cli_answers_a_reencoded_image_with_match_pixels(
    resaved: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _cli(capsys, "start", "--project-version-arn", ARTICLE_ARN)[0] == 0
    detect = ("detect", "--project-version-arn", ARTICLE_ARN, "--image-bytes", f"fileb://{resaved}")
    code, out, err = _cli(capsys, *detect)
    assert (code, out) == (255, "")
    assert "RecordingNotFoundException" in err and "--match pixels or RCLSIM_MATCH=pixels" in err
    for argv in (("--match", "pixels", *detect), (*detect, "--match", "pixels")):
        code, out, err = _cli(capsys, *argv)
        assert code == 0, err
        assert [label["Name"] for label in json.loads(out)["CustomLabels"]] == _article_labels()
    monkeypatch.setenv("RCLSIM_MATCH", "pixels")
    code, out, _ = _cli(capsys, *detect)
    assert code == 0 and len(json.loads(out)["CustomLabels"]) == len(_article_labels())


def test_the_cli_refuses_a_bad_match_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(capsys, "--match", "pixel", "status", "--project-version-arn", ARTICLE_ARN)
    assert code in (1, 2) and len(err.strip().splitlines()) == 1 and "pixel" in err


def test_the_cli_help_explains_the_opt_in_and_the_distance(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["detect", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--match HOW" in out and "RCLSIM_MATCH" in out
    assert "re-encodes the image" in out and f"within {MAX_DISTANCE} bits" in out and "default.json" in out


# -- the pytest plugin -----------------------------------------------------------------------------
_INNER = """
def test_the_plugins_backend_matches_pixels(rcl_backend, rcl_client):
    rcl_client.start_project_version(ProjectVersionArn={arn!r}, MinInferenceUnits=1)
    with open({image!r}, "rb") as f:
        found = rcl_client.detect_custom_labels(ProjectVersionArn={arn!r}, Image={{"Bytes": f.read()}})
    assert rcl_backend.store.match == "pixels"
    assert len(found["CustomLabels"]) == {count}
    rcl_client.stop_project_version(ProjectVersionArn={arn!r})
"""


def test_the_pytest_plugin_matches_pixels_with_the_variable(
    pytester: pytest.Pytester, resaved: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = _INNER.format(arn=ARTICLE_ARN, image=str(resaved), count=len(_article_labels()))
    pytester.makepyfile(test_inner=inner)
    monkeypatch.setenv("RCLSIM_MATCH", "pixels")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


# -- the sim backend's object store ----------------------------------------------------------------
def test_the_sim_backend_is_made_with_its_object_store(tmp_path: Path) -> None:
    from rclsim.backends.sim import SimBackend

    store = FolderObjects(tmp_path)
    with SimBackend(MANIFEST, objects=store) as backend:
        assert backend.core.objects is store
    with SimBackend(MANIFEST) as backend:
        assert backend.core.objects is None
    with rclsim.get_backend("sim", manifest=MANIFEST, s3_dir=tmp_path) as backend:
        assert isinstance(backend.core.objects, FolderObjects) and backend.core.objects.root == tmp_path


# -- rclsim serve ----------------------------------------------------------------------------------
def _serve_lines(tmp_path: Path, *options: str) -> Iterator[list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLSIM_")}
    env["RCLSIM_CACHE_DIR"] = os.environ["RCLSIM_CACHE_DIR"]
    argv = [sys.executable, "-m", "rclsim.frontends.cli", "serve", "--port", "0", *options]
    argv += ["--state-dir", str(tmp_path / "state")]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        lines: list[str] = []
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            if line.lstrip().startswith("try:"):  # the last line of the startup message
                break
        yield lines
    finally:
        stop(proc)


def test_serve_says_where_s3_is(tmp_path: Path) -> None:
    s3 = tmp_path / "s3"
    s3.mkdir()
    for lines in _serve_lines(tmp_path, "--s3-dir", str(s3)):
        text = "".join(lines)
        assert "serving the fake Rekognition on http://" in text, text
        assert FolderObjects(s3).describe() in text and "no S3" not in text, text
    for lines in _serve_lines(tmp_path):
        text = "".join(lines)
        assert "serving the fake Rekognition on http://" in text, text
        assert "no S3 (give --s3-dir DIR or --s3-endpoint-url URL)" in text, text


def test_the_store_reads_no_variable_and_names_the_setting_as_its_caller_spells_it(
    tmp_path: Path, resaved: Path
) -> None:
    """The store is told how to match and how its user switches a fallback on; it reads no variable
    and imports no OpenCV (the backend hands the hasher in)."""
    source = (ROOT / "rclsim" / "fake" / "recordings" / "store.py").read_text()
    assert '"RCLSIM_MATCH"' not in source and "environ" not in source and "cv2" not in source
    from rclsim.fake.recordings import ImageRef

    image = ImageRef(sha256="0" * 64, data=resaved.read_bytes())
    arn = ARTICLE_ARN
    told = RecordingStore([], match_hint=lambda value: f"--match {value}")
    assert "(--match pixels: the same size" in told.not_found_hint(arn, image)
    assert "match='pixels' or RCLSIM_MATCH=pixels" in RecordingStore([]).not_found_hint(arn, image)
