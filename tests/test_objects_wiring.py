"""The S3 settings reach the fake core from every front-end: ``s3_dir`` (``--s3-dir``,
``RCLSIM_S3_DIR``) given as an option, an environment variable or on the command line makes the core
read S3 objects from the folder (``get_backend``, ``rclsim.mock``, the CLI, ``rclsim serve``, the pytest
plugin); the drop-in lends moto's buckets to a fake that has no store while moto is on.

What is observed is behaviour: the article's image stored in the folder under a key no recording has
is found by its bytes (with no store: RecordingNotFoundException), and a missing object is the
service's InvalidS3ObjectException."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.objects import EndpointObjects, FolderObjects, MotoObjects
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN, DATA
from .processes import stop

pytest_plugins = ["pytester"]

RENAMED = {"S3Object": {"Bucket": "my-bucket", "Name": "renamed/photo.jpg"}}
MISSING = {"S3Object": {"Bucket": "my-bucket", "Name": "renamed/missing.jpg"}}


@pytest.fixture
def s3_dir(tmp_path: Path, article_image_bytes: bytes) -> Path:
    folder = tmp_path / "s3"
    (folder / "my-bucket" / "renamed").mkdir(parents=True)
    (folder / "my-bucket" / "renamed" / "photo.jpg").write_bytes(article_image_bytes)
    return folder


def _expected_labels() -> list[str]:
    answer = json.loads((DATA / "article_filtered_min_confidence_75.json").read_text())
    return sorted(label["Name"] for label in answer["CustomLabels"])


def _detect(client: Any, image: dict[str, Any]) -> Any:
    try:
        found = client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=image, MinConfidence=75)
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return sorted(label["Name"] for label in found["CustomLabels"])


# -- get_backend and rclsim.mock ------------------------------------------------------------------
@pytest.mark.parametrize("given_as", ["option", "variable"])
def test_get_backend_reads_s3_from_the_folder(
    s3_dir: Path, monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    options: dict[str, Any] = {}
    if given_as == "option":
        options["s3_dir"] = s3_dir
    else:
        monkeypatch.setenv("RCLSIM_S3_DIR", str(s3_dir))
    with rclsim.get_backend("replay", **options) as backend:
        assert isinstance(backend.core.objects, FolderObjects) and backend.core.objects.root == s3_dir
        backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        assert _detect(backend, RENAMED) == _expected_labels()
        assert _detect(backend, MISSING) == "InvalidS3ObjectException"


def test_without_a_store_the_same_image_is_not_found() -> None:
    with rclsim.get_backend("replay") as backend:
        assert backend.core.objects is None
        backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        assert _detect(backend, RENAMED) == "RecordingNotFoundException"


def test_the_sim_backend_gets_the_store_too(s3_dir: Path) -> None:
    manifest = DATA / "wild" / "manifests" / "02-dannymorris-bcbs-logo.manifest"
    with rclsim.get_backend("sim", manifest=manifest, s3_dir=s3_dir) as backend:
        assert isinstance(backend.core.objects, FolderObjects) and backend.core.objects.root == s3_dir
    with rclsim.get_backend("sim", manifest=manifest, s3_endpoint_url="http://127.0.0.1:9") as backend:
        assert isinstance(backend.core.objects, EndpointObjects)


def test_a_missing_folder_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    with pytest.raises(rclsim.RclsimError, match=r"^s3_dir=.*nope does not exist"):
        rclsim.get_backend("replay", s3_dir=tmp_path / "nope", state_dir=tmp_path / "state")
    assert not (tmp_path / "state").exists()


@pytest.mark.parametrize("given_as", ["option", "variable"])
def test_the_drop_in_reads_s3_from_the_folder(
    s3_dir: Path, monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    options: dict[str, Any] = {}
    if given_as == "option":
        options["s3_dir"] = s3_dir
    else:
        monkeypatch.setenv("RCLSIM_S3_DIR", str(s3_dir))
    with rclsim.mock(**options) as backend:
        assert isinstance(backend.core.objects, FolderObjects) and backend.core.objects.root == s3_dir
        client = boto3.client("rekognition", region_name="ap-northeast-1")
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        assert _detect(client, RENAMED) == _expected_labels()
        assert _detect(client, MISSING) == "InvalidS3ObjectException"


# -- the drop-in and moto --------------------------------------------------------------------------
moto = pytest.importorskip("moto")


def _moto_bucket(article_image_bytes: bytes) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="my-bucket")
    s3.put_object(Bucket="my-bucket", Key="renamed/photo.jpg", Body=article_image_bytes)


def test_a_mock_made_inside_moto_reads_motos_buckets(article_image_bytes: bytes) -> None:
    with moto.mock_aws():
        _moto_bucket(article_image_bytes)
        with rclsim.mock() as backend:
            assert isinstance(backend.core.objects, MotoObjects)
            client = boto3.client("rekognition", region_name="ap-northeast-1")
            client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
            assert _detect(client, RENAMED) == _expected_labels()


def test_the_drop_in_lends_moto_to_a_fake_without_a_store_and_takes_it_back(
    article_image_bytes: bytes,
) -> None:
    backend = rclsim.get_backend("replay")
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    with moto.mock_aws():
        _moto_bucket(article_image_bytes)
        with rclsim.mock(backend):
            assert isinstance(backend.core.objects, MotoObjects)
            assert (
                _detect(boto3.client("rekognition", region_name="ap-northeast-1"), RENAMED)
                == _expected_labels()
            )
        assert backend.core.objects is None
    with rclsim.mock(backend):  # moto off: nothing lent
        assert backend.core.objects is None
    backend.close()


def test_the_drop_in_keeps_a_fakes_own_store_inside_moto(s3_dir: Path) -> None:
    backend = rclsim.get_backend("replay", s3_dir=s3_dir)
    own = backend.core.objects
    with moto.mock_aws(), rclsim.mock(backend):
        assert backend.core.objects is own
    assert backend.core.objects is own
    backend.close()


# -- the command line ------------------------------------------------------------------------------
def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("given_as", ["before", "after", "variable"])
def test_the_cli_reads_s3_from_the_folder(
    s3_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, given_as: str
) -> None:
    before: list[str] = []
    after: list[str] = []
    if given_as == "before":
        before = ["--s3-dir", str(s3_dir)]
    elif given_as == "after":
        after = ["--s3-dir", str(s3_dir)]
    else:
        monkeypatch.setenv("RCLSIM_S3_DIR", str(s3_dir))
    code, _, err = _cli(capsys, *before, "start", "--project-version-arn", ARTICLE_ARN, *after)
    assert code == 0, err
    detect = ["detect", "--project-version-arn", ARTICLE_ARN, "--min-confidence", "75"]
    code, out, err = _cli(capsys, *before, *detect, "--image", json.dumps(RENAMED), *after)
    assert code == 0, err
    assert sorted(label["Name"] for label in json.loads(out)["CustomLabels"]) == _expected_labels()
    code, _, err = _cli(capsys, *before, *detect, "--image", json.dumps(MISSING), *after)
    assert code == 255 and "InvalidS3ObjectException" in err


def test_the_cli_without_a_folder_does_not_find_the_image(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, "start", "--project-version-arn", ARTICLE_ARN)[0] == 0
    code, _, err = _cli(
        capsys, "detect", "--project-version-arn", ARTICLE_ARN, "--image", json.dumps(RENAMED)
    )
    assert code == 255 and "RecordingNotFoundException" in err


def test_the_cli_names_its_option_for_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope"
    code, out, err = _cli(capsys, "--s3-dir", str(missing), "status", "--project-version-arn", ARTICLE_ARN)
    assert (code, out) == (1, "")
    assert err.strip() == f"rclsim: error: --s3-dir={missing} does not exist " + (
        "(the folder where s3://B/K is the file B/K in it)"
    )


def test_the_cli_names_the_variable_for_a_bad_endpoint(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCLSIM_S3_ENDPOINT_URL", "127.0.0.1:5000")
    code, _, err = _cli(capsys, "status", "--project-version-arn", ARTICLE_ARN)
    assert code == 1 and "RCLSIM_S3_ENDPOINT_URL='127.0.0.1:5000' is not an http" in err


def test_the_cli_help_lists_the_s3_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert "--s3-dir DIR" in out and "RCLSIM_S3_DIR" in out
    assert "--s3-endpoint-url URL" in out and "RCLSIM_S3_ENDPOINT_URL" in out


# -- rclsim serve ----------------------------------------------------------------------------------
@pytest.fixture
def served(s3_dir: Path, tmp_path: Path) -> Iterator[str]:
    """``rclsim serve --s3-dir DIR --port 0`` in a process of its own; its URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLSIM_")}
    env["RCLSIM_CACHE_DIR"] = os.environ["RCLSIM_CACHE_DIR"]
    argv = [sys.executable, "-m", "rclsim.frontends.cli", "serve", "--port", "0", "--s3-dir", str(s3_dir)]
    argv += ["--state-dir", str(tmp_path / "state")]
    proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        url = None
        lines = []
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"serving the fake Rekognition on (http://\S+)", line)
            url = found.group(1) if found else None
        assert url, "".join(lines)
        yield url
    finally:
        stop(proc)


def test_serve_reads_s3_from_the_folder(served: str) -> None:
    client = boto3.client("rekognition", endpoint_url=served, region_name="ap-northeast-1")
    client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert _detect(client, RENAMED) == _expected_labels()
    assert _detect(client, MISSING) == "InvalidS3ObjectException"


# -- the pytest plugin -----------------------------------------------------------------------------
_INNER = """
import json

ARN = {arn!r}
RENAMED = {renamed!r}


def test_the_plugins_backend_reads_the_folder(rcl_backend, rcl_client):
    assert rcl_backend.core.objects.root.name == "s3"
    rcl_client.start_project_version(ProjectVersionArn=ARN, MinInferenceUnits=1)
    found = rcl_client.detect_custom_labels(ProjectVersionArn=ARN, Image=RENAMED, MinConfidence=75)
    print("LABELS", json.dumps(sorted(label["Name"] for label in found["CustomLabels"])))
    rcl_client.stop_project_version(ProjectVersionArn=ARN)
"""


def test_the_pytest_plugin_reads_s3_from_the_folder_of_the_variable(
    pytester: pytest.Pytester, s3_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_inner=_INNER.format(arn=ARTICLE_ARN, renamed=RENAMED))
    monkeypatch.setenv("RCLSIM_S3_DIR", str(s3_dir))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(passed=1)
    found = [re.search(r"LABELS (\[.*\])", line) for line in result.outlines]
    labels = [json.loads(m.group(1)) for m in found if m]
    assert labels == [_expected_labels()]
