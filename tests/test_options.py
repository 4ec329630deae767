"""One setting, one meaning: every ``RCLSIM_*`` variable has the same effect through the CLI,
``rclsim.get_backend``, ``rclsim.mock()`` and the pytest plugin (and a bad value is refused by each, with
the variable named)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.fake.simulation import NoiseModel
from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN, DATA, ROOT

pytest_plugins = ["pytester"]

FRONT_ENDS = ("cli", "get_backend", "mock", "pytest")
ARTICLE_PROJECT = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/1609459100000"
ARTICLE_V1 = "licence-plates.2021-01-01T00.00.00"
ARTICLE_V2_ARN = ARTICLE_ARN.replace("2021-01-01T00.00.00/1609459200000", "2021-01-02T00.00.00/1609545600000")
ARTICLE_V2 = "licence-plates.2021-01-02T00.00.00"
ARTICLE_IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}
MANIFEST = DATA / "wild" / "manifests" / "02-dannymorris-bcbs-logo.manifest"
SIM_IMAGE = {"S3Object": {"Bucket": "bcbs-logo-training-images", "Name": "gray_images/002.jpg"}}
ROSE_ARN = "arn:aws:rekognition:us-east-1:111122223333:project/flowers/version/flowers.1/1700000000000"
ROSE_IMAGE = {"S3Object": {"Bucket": "b-1", "Name": "x/rose.jpg"}}
ROSE_CONFIDENCE = 99.93900299072266  # the recorded label's: a plain response answers exactly from there up

# An action is (operation, parameters); its result is the answer's interesting part, or the error code.
Action = tuple[str, dict[str, Any]]


def start(arn: str) -> Action:
    return "start_project_version", {"ProjectVersionArn": arn, "MinInferenceUnits": 1}


def status(version: str) -> Action:
    return "describe_project_versions", {"ProjectArn": ARTICLE_PROJECT, "VersionNames": [version]}


def detect(arn: str, image: dict[str, Any], min_confidence: float) -> Action:
    return "detect_custom_labels", {"ProjectVersionArn": arn, "Image": image, "MinConfidence": min_confidence}


def _summary(operation: str, response: dict[str, Any]) -> Any:
    if operation == "describe_project_versions":
        return response["ProjectVersionDescriptions"][0]["Status"]
    if operation == "detect_custom_labels":
        return response["CustomLabels"]
    return "ok"


def _call_all(client: Any, actions: list[Action]) -> list[Any]:
    results = []
    for operation, params in actions:
        try:
            results.append(_summary(operation, getattr(client, operation)(**params)))
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])
    return results


def _through_cli(capsys: pytest.CaptureFixture[str], actions: list[Action]) -> list[Any] | str:
    results: list[Any] = []
    for operation, params in actions:
        if operation == "start_project_version":
            argv = ["start", "--project-version-arn", params["ProjectVersionArn"], "--no-wait"]
        elif operation == "describe_project_versions":
            arn = ARTICLE_ARN if params["VersionNames"] == [ARTICLE_V1] else ARTICLE_V2_ARN
            argv = ["status", "--project-version-arn", arn]
        else:
            argv = ["detect", "--project-version-arn", params["ProjectVersionArn"]]
            argv += ["--image", json.dumps(params["Image"]), "--min-confidence", str(params["MinConfidence"])]
        code = main(argv)
        out, err = capsys.readouterr()
        if code == 1:
            return err  # rclsim's own error (a bad setting): the message
        if code == 255:
            results.append(err.split("(", 1)[1].split(")", 1)[0])  # "An error occurred (Code) when..."
        else:
            assert code == 0, err
            results.append(_summary(operation, json.loads(out)))
    return results


_INNER_TEST = """
import json
import pytest
from botocore.exceptions import ClientError

ACTIONS = json.loads({actions!r})

@pytest.mark.rcl_leaves_running(reason="runs the outer test's actions; the outer test checks the state")
def test_actions(rcl_client):
    results = []
    for operation, params in ACTIONS:
        try:
            response = getattr(rcl_client, operation)(**params)
        except ClientError as exc:
            results.append(exc.response["Error"]["Code"])
            continue
        if operation == "describe_project_versions":
            results.append(response["ProjectVersionDescriptions"][0]["Status"])
        elif operation == "detect_custom_labels":
            results.append(response["CustomLabels"])
        else:
            results.append("ok")
    with open({out!r}, "w") as f:
        json.dump(results, f)
"""


def _through_pytest(pytester: pytest.Pytester, actions: list[Action], *options: str) -> list[Any] | str:
    out = pytester.path / "results.json"
    out.unlink(missing_ok=True)
    pytester.makepyfile(test_inner=_INNER_TEST.format(actions=json.dumps(actions), out=str(out)))
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", *options)
    if out.exists():
        run.assert_outcomes(passed=1)
        return json.loads(out.read_text())  # type: ignore[no-any-return]
    return run.stdout.str() + run.stderr.str()  # what the user saw: the error


def through(
    front_end: str, request: pytest.FixtureRequest, actions: list[Action], *pytest_options: str
) -> list[Any] | str:
    """The actions' results through one front-end, every setting from the environment; or, when the
    front-end refuses a setting, the error message it gives. Clients are made in the region of the
    first action's model."""
    params = actions[0][1]
    region = (params.get("ProjectVersionArn") or params.get("ProjectArn")).split(":")[3]
    request.getfixturevalue("monkeypatch").setenv("AWS_DEFAULT_REGION", region)
    if front_end == "cli":
        return _through_cli(request.getfixturevalue("capsys"), actions)
    if front_end == "pytest":
        return _through_pytest(request.getfixturevalue("pytester"), actions, *pytest_options)
    try:
        if front_end == "get_backend":
            with rclsim.get_backend() as backend:
                return _call_all(backend, actions)
        import boto3

        with rclsim.mock():
            return _call_all(boto3.client("rekognition", region_name=region), actions)
    except rclsim.RclsimError as exc:
        return str(exc)


def _sim_labels(seed: int) -> list[Any]:
    with rclsim.get_backend("sim", manifest=MANIFEST, noise=NoiseModel(seed=seed)) as backend:
        arn = backend.project_version_arn  # type: ignore[attr-defined]
        return _call_all(backend, [detect(arn, SIM_IMAGE, 1)])[0]  # type: ignore[no-any-return]


def _sim_arn() -> str:
    with rclsim.get_backend("sim", manifest=MANIFEST) as backend:
        return backend.project_version_arn  # type: ignore[attr-defined,no-any-return]


# -- RCLSIM_SEED ---------------------------------------------------------------------------------
@pytest.mark.parametrize("front_end", ["cli", "get_backend", "mock", "pytest"])
def test_seed_from_the_environment_picks_the_same_simulation(
    front_end: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded, unseeded = _sim_labels(7), _sim_labels(0)
    assert seeded != unseeded  # the seed matters for this image
    monkeypatch.setenv("RCLSIM_BACKEND", "sim")
    monkeypatch.setenv("RCLSIM_MANIFEST", str(MANIFEST))
    monkeypatch.setenv("RCLSIM_SEED", "7")
    assert through(front_end, request, [detect(_sim_arn(), SIM_IMAGE, 1)]) == [seeded]


# -- RCLSIM_STATE_DIR ----------------------------------------------------------------------------
@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_state_dir_from_the_environment_is_shared(
    front_end: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A model started by one front-end in RCLSIM_STATE_DIR is running for every other one."""
    state = tmp_path / "state"
    with rclsim.get_backend("replay", state_dir=state) as elsewhere:
        elsewhere.start_project_version(ProjectVersionArn=ARTICLE_V2_ARN, MinInferenceUnits=1)
    monkeypatch.setenv("RCLSIM_STATE_DIR", str(state))
    got = through(front_end, request, [status(ARTICLE_V2), start(ARTICLE_ARN)])
    assert got == ["RUNNING", "ok"]
    with rclsim.get_backend("replay", state_dir=state) as elsewhere:
        assert _call_all(elsewhere, [status(ARTICLE_V1)]) == ["RUNNING"]


# -- RCLSIM_TIME_SCALE ---------------------------------------------------------------------------
@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_time_scale_from_the_environment(
    front_end: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RCLSIM_TIME_SCALE", "1")  # real durations: a start takes minutes
    assert through(front_end, request, [start(ARTICLE_ARN), status(ARTICLE_V1)]) == ["ok", "STARTING"]
    monkeypatch.setenv("RCLSIM_TIME_SCALE", "0")
    monkeypatch.setenv("RCLSIM_STATE_DIR", str(request.getfixturevalue("tmp_path") / "fresh"))
    assert through(front_end, request, [start(ARTICLE_ARN), status(ARTICLE_V1)]) == ["ok", "RUNNING"]


# -- RCLSIM_STRICT and RCLSIM_RECORDINGS ---------------------------------------------------------
def _inexact_recording(folder: Path) -> str:
    """A recording made at MinConfidence 50: asked at 10, it cannot answer exactly."""
    recording = json.loads((ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json").read_text())
    arn = ARTICLE_ARN.replace("1609459200000", "42")
    recording["request"]["MinConfidence"] = 50
    recording["request"]["ProjectVersionArn"] = arn
    recording["response"]["CustomLabels"] = recording["response"]["CustomLabels"][:2]
    folder.mkdir()
    (folder / "r.json").write_text(json.dumps(recording))
    return arn


@pytest.mark.parametrize("front_end", FRONT_ENDS)
@pytest.mark.filterwarnings("ignore::rclsim.fake.core.RecordingMismatchWarning")
def test_strict_from_the_environment(
    front_end: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    arn = _inexact_recording(tmp_path / "recs")
    monkeypatch.setenv("RCLSIM_RECORDINGS", str(tmp_path / "recs"))
    lenient = through(front_end, request, [detect(arn, ARTICLE_IMAGE, 10)])
    assert [len(x) for x in lenient] == [2]
    monkeypatch.setenv("RCLSIM_STRICT", "1")
    assert through(front_end, request, [detect(arn, ARTICLE_IMAGE, 10)]) == ["RecordingMismatchException"]


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_recordings_from_the_environment(
    front_end: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    folder = tmp_path / "recs"
    folder.mkdir()
    shutil.copy(DATA / "wild" / "responses" / "06-flowers-rose.json", folder / "rose.json")
    shutil.copy(ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg", folder / "rose.jpg")
    # without the folder: no recording, so no model either
    assert through(front_end, request, [detect(ROSE_ARN, ROSE_IMAGE, ROSE_CONFIDENCE)]) == [
        "ResourceNotFoundException"
    ]
    monkeypatch.setenv("RCLSIM_RECORDINGS", str(folder))
    [labels] = through(front_end, request, [detect(ROSE_ARN, ROSE_IMAGE, ROSE_CONFIDENCE)])
    assert [x["Name"] for x in labels] == ["rose"]


# -- bad values: refused by every front-end, naming the variable --------------------------------
@pytest.mark.parametrize("front_end", FRONT_ENDS)
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("RCLSIM_BACKEND", "nonsense"),
        ("RCLSIM_STRICT", "maybe"),
        ("RCLSIM_TIME_SCALE", "fast"),
        ("RCLSIM_SEED", "lucky"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    front_end: str, variable: str, value: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    got = through(front_end, request, [status(ARTICLE_V1)])
    assert isinstance(got, str), got
    assert f"{variable}={value!r}" in got


def test_a_bad_record_mode_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RCLSIM_RECORD_MODE", "sometimes")
    with pytest.raises(rclsim.RclsimError, match="RCLSIM_RECORD_MODE='sometimes'"):
        rclsim.get_backend("aws")
    assert main(["status", "--backend", "aws", "--project-version-arn", ARTICLE_ARN]) == 1
    assert "RCLSIM_RECORD_MODE='sometimes'" in capsys.readouterr().err


def test_explicit_options_win_over_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    unseeded = _sim_labels(0)
    monkeypatch.setenv("RCLSIM_TIME_SCALE", "1")
    monkeypatch.setenv("RCLSIM_SEED", "7")
    monkeypatch.setenv("RCLSIM_STATE_DIR", str(tmp_path / "env-state"))
    with rclsim.get_backend("sim", manifest=MANIFEST, seed=0, time_scale=0, state_dir=tmp_path / "mine") as b:
        arn = b.project_version_arn  # type: ignore[attr-defined]
        assert _call_all(b, [detect(arn, SIM_IMAGE, 1)]) == [unseeded]
    assert (tmp_path / "mine").is_dir() and not (tmp_path / "env-state").exists()
    with pytest.raises(rclsim.RclsimError, match="seed="):
        rclsim.get_backend("sim", manifest=MANIFEST, seed="x")  # type: ignore[arg-type]


# -- the pytest plugin's messages name its own options -------------------------------------------
def test_pytest_plugin_errors_name_the_pytest_options(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_x="def test_x(rcl_backend):\n    pass\n")
    no_manifest = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--rcl-backend", "sim")
    text = no_manifest.stdout.str()
    assert "--rcl-manifest" in text and "--manifest " not in text.replace("--rcl-manifest", "")
    no_folder = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--rcl-backend", "aws", "--rcl-record-mode", "none"
    )
    text = no_folder.stdout.str()
    assert "--rcl-recordings" in text and "--recordings " not in text.replace("--rcl-recordings", "")


# -- the table of variables is the documentation ------------------------------------------------
def _documented(doc: str) -> dict[str, str]:
    """Variable -> its default column, from the table in rclsim.config's docstring."""
    rows = [line for line in doc.splitlines() if line.startswith("RCLSIM_")]
    return {row.split()[0]: row[row.rindex("  ") :].strip() for row in rows}


def test_the_config_table_lists_every_variable_rclsim_reads() -> None:
    import re

    import rclsim.config

    read = set()
    for path in (ROOT / "rclsim").rglob("*.py"):
        read |= set(re.findall(r"[\"'`](RCLSIM_[A-Z_]+)[\"'`]", path.read_text(encoding="utf-8")))
    read -= {"RCLSIM_CODES"}  # errors.py: the name of a table of error codes, not a variable
    documented = _documented(rclsim.config.__doc__ or "")
    assert read <= set(documented), f"read but not in the table: {sorted(read - set(documented))}"
    assert set(documented) == set(rclsim.config.variables())  # and every row is resolved


def test_the_time_scale_bound_is_the_clocks() -> None:
    import rclsim.config
    import rclsim.fake.clock

    assert rclsim.config.MAX_TIME_SCALE == rclsim.fake.clock.MAX_TIME_SCALE
