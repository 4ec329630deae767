"""The rclsim command as a user types it: the article's steps, options anywhere, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rclsim.frontends.cli import main

from .conftest import ARTICLE_ARN, DATA, ROOT

ARTICLE_IMAGE_JSON = '{"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}'
FILTERED_75 = json.loads((DATA / "article_filtered_min_confidence_75.json").read_text())
STAND_IN = ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg"


@pytest.fixture(autouse=True)
def _article_model_running(capsys: pytest.CaptureFixture[str]) -> None:
    """The article's model is declared TRAINING_COMPLETED: start it, as the article does, in this test's
    own state folder (conftest points RCLSIM_STATE_DIR at tmp)."""
    assert main(["start", "--project-version-arn", ARTICLE_ARN]) == 0
    capsys.readouterr()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def detect(*extra: str) -> list[str]:
    return ["detect", "--project-version-arn", ARTICLE_ARN, "--image", ARTICLE_IMAGE_JSON, *extra]


def test_articles_detect_step_prints_the_two_labels(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *detect("--min-confidence", "75"))
    assert code == 0, err
    assert json.loads(out) == FILTERED_75
    assert out.startswith(
        '{\n    "CustomLabels": [\n        {\n            "Name": "vehicle_registration_plate"'
    )


def test_image_bytes_from_fileb(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "detect",
        "--project-version-arn",
        ARTICLE_ARN,
        "--image-bytes",
        f"fileb://{STAND_IN}",
        "--min-confidence",
        "75",
    )
    assert code == 0 and json.loads(out) == FILTERED_75


def test_options_work_before_or_after_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    before = run(capsys, "--output", "text", "--backend", "replay", *detect("--min-confidence", "75"))
    after = run(capsys, *detect("--min-confidence", "75", "--output", "text", "--backend", "replay"))
    assert before == after
    assert before[1].splitlines()[0].startswith("CUSTOMLABELS\t")


def test_query_and_text_output_as_the_aws_cli(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *detect("--query", "CustomLabels[?Confidence>=`75`].Name", "--output", "text"))
    assert (code, out) == (0, "vehicle_registration_plate\tcar\n")
    code, out, _ = run(capsys, *detect("--query", "length(CustomLabels)"))
    assert (code, out) == (0, "31\n")


def test_table_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *detect("--min-confidence", "75", "--output", "table"))
    assert code == 0
    assert "DetectCustomLabels" in out.splitlines()[1] and "vehicle_registration_plate" in out


def test_environment_variables_set_options(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RCLSIM_OUTPUT", "text")
    monkeypatch.setenv("RCLSIM_RECORDINGS", os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    code, out, _ = run(capsys, *detect("--min-confidence", "75", "--query", "CustomLabels[].Name"))
    assert (code, out) == (0, "vehicle_registration_plate\tcar\n")
    monkeypatch.setenv("RCLSIM_BACKEND", "nonsense")
    code, _, err = run(capsys, *detect())
    assert code == 1 and "RCLSIM_BACKEND" in err


# -- bad input: one line, non-zero, nothing written ----------------------------------------------
@pytest.mark.parametrize(
    ("argv", "exit_code", "fragment"),
    [
        (
            detect("--min-confidence", "101"),
            255,
            "An error occurred (ValidationException) when calling the DetectCustomLabels operation: "
            "1 validation error detected: Value '101.0' at 'minConfidence'",
        ),
        (
            detect("--min-confidence", "-1"),
            255,
            "Parameter validation failed: Invalid value for parameter MinConfidence",
        ),
        (
            ["detect", "--project-version-arn", "arn:aws:rekognition:bad", "--image", ARTICLE_IMAGE_JSON],
            255,
            "(ValidationException)",
        ),
        (
            ["detect", "--project-version-arn", ARTICLE_ARN, "--image", '{"S3Object": {'],
            1,
            "--image: malformed JSON",
        ),
        (
            ["detect", "--project-version-arn", ARTICLE_ARN, "--image-bytes", "fileb:///nonexistent/x.jpg"],
            1,
            "no such image file",
        ),
        (
            [
                "detect",
                "--project-version-arn",
                ARTICLE_ARN.replace("1609459200000", "5"),
                "--image",
                ARTICLE_IMAGE_JSON,
            ],
            255,
            "(ResourceNotFoundException)",
        ),
        (
            ["detect", "--project-version-arn", ARTICLE_ARN, "--image", "s3://my-bucket/other.jpg"],
            255,
            "(RecordingNotFoundException)",
        ),
        (detect("--query", "CustomLabels[?"), 1, "Bad value for --query"),
    ],
)
def test_bad_input_gets_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], exit_code: int, fragment: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == exit_code
    assert out == ""
    assert fragment in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_non_image_and_oversized_bytes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    code, _, err = run(
        capsys, "detect", "--project-version-arn", ARTICLE_ARN, "--image-bytes", f"fileb://{text}"
    )
    assert code == 255 and "(InvalidImageFormatException)" in err
    big = tmp_path / "big.jpg"
    big.write_bytes(STAND_IN.read_bytes() + b"\0" * (4 * 1024 * 1024))
    code, _, err = run(
        capsys, "detect", "--project-version-arn", ARTICLE_ARN, "--image-bytes", f"fileb://{big}"
    )
    assert code == 255 and "(ImageTooLargeException)" in err


def test_broken_recording_is_one_line_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "r.json").write_text('{"format": "rclsim.recording", "response": {}}')
    code, _, err = run(capsys, "--recordings", str(tmp_path), *detect())
    assert code == 1 and str(tmp_path / "r.json") in err and len(err.strip().splitlines()) == 1


def test_strict_from_the_command_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    recording = json.loads((ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json").read_text())
    recording["request"]["MinConfidence"] = 50
    recording["response"]["CustomLabels"] = recording["response"]["CustomLabels"][:2]
    recording["request"]["ProjectVersionArn"] = ARTICLE_ARN.replace("1609459200000", "42")
    (tmp_path / "r.json").write_text(json.dumps(recording))
    argv = [
        "detect",
        "--project-version-arn",
        ARTICLE_ARN.replace("1609459200000", "42"),
        "--image",
        ARTICLE_IMAGE_JSON,
        "--min-confidence",
        "10",
        "--recordings",
        str(tmp_path),
    ]
    code, out, err = run(capsys, *argv)
    assert code == 0 and "rclsim: warning:" in err and len(json.loads(out)["CustomLabels"]) == 2
    code, out, err = run(capsys, *argv, "--strict")
    assert code == 255 and "(RecordingMismatchException)" in err and out == ""


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exception, match="ResourceNotFoundException"):
        main(
            [
                "--debug",
                "detect",
                "--project-version-arn",
                ARTICLE_ARN.replace("1609459200000", "5"),
                "--image",
                ARTICLE_IMAGE_JSON,
            ]
        )


# -- draw ----------------------------------------------------------------------------------------
def test_draw_writes_beside_the_image_and_refuses_to_overwrite(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = tmp_path / "9c5f2a31335627a0.jpg"
    image.write_bytes(STAND_IN.read_bytes())
    response = tmp_path / "9c5f2a31335627a0.json"
    response.write_text((DATA / "article_detect_custom_labels_response.json").read_text())
    code, out, err = run(capsys, "draw", str(response), str(image), "--side-by-side")
    assert code == 0, err
    written = [Path(p) for p in out.split()]
    assert written == [
        tmp_path / "9c5f2a31335627a0-detect.jpg",
        tmp_path / "9c5f2a31335627a0-side-by-side.jpg",
    ]
    before = written[0].read_bytes()
    code, out, err = run(capsys, "draw", str(response), str(image), "--min-confidence", "10")
    assert code == 1 and "--overwrite" in err and out == ""
    assert written[0].read_bytes() == before
    code, _, _ = run(capsys, "draw", str(response), str(image), "--min-confidence", "10", "--overwrite")
    assert code == 0 and written[0].read_bytes() != before
    code, _, err = run(capsys, "draw", str(response), str(image), "-o", str(image), "--overwrite")
    assert code == 1 and image.read_bytes() == STAND_IN.read_bytes()


def test_draw_accepts_a_recording_and_stdin(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json"
    code, out, err = run(capsys, "draw", str(recording), str(STAND_IN), "-o", str(tmp_path / "a.png"))
    assert code == 0, err
    assert Path(out.strip()) == tmp_path / "a.png"
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(FILTERED_75)))
    code, out, err = run(capsys, "draw", "-", str(STAND_IN), "-o", str(tmp_path / "b.jpg"))
    assert code == 0, err


@pytest.mark.parametrize(
    ("response_text", "fragment"),
    [
        ("{not json", "malformed JSON"),
        ('{"CustomLabels": [{"Name": "a", "Confidence": 150}]}', "not a valid response"),
    ],
)
def test_draw_refuses_bad_responses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, response_text: str, fragment: str
) -> None:
    response = tmp_path / "r.json"
    response.write_text(response_text)
    code, out, err = run(capsys, "draw", str(response), str(STAND_IN), "-o", str(tmp_path / "o.jpg"))
    assert code == 1 and fragment in err and not (tmp_path / "o.jpg").exists()


def test_draw_refuses_a_corrupt_image(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8\xff garbage")
    response = tmp_path / "r.json"
    response.write_text(json.dumps(FILTERED_75))
    code, _, err = run(capsys, "draw", str(response), str(bad))
    assert code == 1 and "bad.jpg" in err
    assert sorted(tmp_path.iterdir()) == sorted([bad, response])  # nothing written


# -- validate ------------------------------------------------------------------------------------
def test_validate_reports_each_failure_with_file_and_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = DATA / "wild" / "responses" / "03-calpoly-fight-classification.json"
    bad = tmp_path / "bad.json"
    bad.write_text('{"CustomLabels": [{"Name": "a", "Confidence": 150}, {"Name": "b"}]}')
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, out, _ = run(capsys, "validate", str(good), str(bad), str(broken))
    assert code == 1
    assert f"{good}: valid response (2 labels)" in out
    assert f"{bad}: $.CustomLabels[0].Confidence: 150 is greater than the maximum of 100" in out
    assert f"{bad}: $.CustomLabels[1]: 'Confidence' is a required property" in out
    assert f"{broken}: malformed JSON" in out


def test_validate_accepts_every_wild_response_and_the_builtin_recording(
    capsys: pytest.CaptureFixture[str],
) -> None:
    files = sorted(str(p) for p in (DATA / "wild" / "responses").glob("*.json"))
    files.append(str(ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json"))
    code, out, _ = run(capsys, "validate", *files)
    assert code == 0 and out.count(": valid ") == len(files)


def test_recordings_lists_the_builtin_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "recordings", "--query", "Recordings[].[ProjectVersionArn, Labels]", "--output", "text"
    )
    assert (code, out) == (0, f"{ARTICLE_ARN}\t31\n")


# -- the installed command -----------------------------------------------------------------------
def test_detect_never_imports_opencv() -> None:
    code = (
        "import sys; from rclsim.frontends.cli import main; "
        f"rc = main(['detect', '--project-version-arn', {ARTICLE_ARN!r}, "
        f"'--image', {ARTICLE_IMAGE_JSON!r}]); "
        "assert rc == 0; assert 'cv2' not in sys.modules, 'cv2 imported'"
    )
    # cwd away from the repository: the child must use the installed rclsim (with its fixtures), not
    # the source folder that 'python -c' would put first on sys.path.
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(sys.executable).parent,
        env={**os.environ, "RCLSIM_STATE_DIR": str(Path.cwd() / ".rclsim")},  # not in the venv's folder
    )
    assert result.returncode == 0, result.stderr


def test_console_script_help_and_version() -> None:
    exe = Path(sys.executable).parent / "rclsim"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "detect" in result.stdout and "RCLSIM_" in result.stdout
    result = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("rclsim ")
    result = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "usage" in result.stderr


# -- found by trying it as a new user ------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["detect", "--project-version-arn", ARTICLE_ARN, "--image", "[1,2]"], "expected a JSON object"),
        (["detect", "--project-version-arn", ARTICLE_ARN, "--image", "null"], "expected a JSON object"),
        (["detect", "--project-version-arn", ARTICLE_ARN, "--image", ""], "the image is empty"),
        (["detect", "--project-version-arn", ARTICLE_ARN, "--image-bytes", "file://x.jpg"], "fileb://"),
        (
            [
                "--backend",
                "aws",
                "--endpoint-url",
                "not-a-url",
                "detect",
                "--project-version-arn",
                ARTICLE_ARN,
                "--image",
                "s3://b-1/k",
            ],
            "cannot make a Rekognition client",
        ),
    ],
)
def test_odd_image_values_and_endpoints_are_user_errors(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert (code, out) == (1, "")
    assert fragment in err and len(err.strip().splitlines()) == 1 and "internal error" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["detect", "--project-version-arn", ARTICLE_ARN, "--image", "x", "--min-confidence", "abc"],
        ["detect", "--image", "x"],
        ["detect", "--nope"],
        ["draw", "r.json"],
    ],
)
def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    _, err = capsys.readouterr()
    assert info.value.code == 2
    assert len(err.strip().splitlines()) == 1 and "--help" in err


def test_recordings_given_before_and_after_the_command_are_all_searched(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, name in ((one, "a"), (two, "b")):
        folder.mkdir()
        (folder / f"{name}.json").write_text(
            json.dumps({"CustomLabels": [{"Name": name, "Confidence": 50.0}]})
        )
        (folder / f"{name}.jpg").write_bytes(STAND_IN.read_bytes() + name.encode())  # distinct bytes
    for name, folder in (("a", one), ("b", two)):
        code, out, err = run(
            capsys,
            "--recordings",
            str(one),
            "detect",
            "--recordings",
            str(two),
            "--project-version-arn",
            ARTICLE_ARN,
            "--image-bytes",
            f"fileb://{folder / (name + '.jpg')}",
            "--query",
            "CustomLabels[].Name",
            "--output",
            "text",
        )
        assert (code, out) == (0, f"{name}\n"), err


def test_draw_min_confidence_must_be_a_percentage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    response = tmp_path / "r.json"
    response.write_text(json.dumps(FILTERED_75))
    for bad in ("200", "-5", "nan"):
        code, _, err = run(
            capsys,
            "draw",
            str(response),
            str(STAND_IN),
            "-o",
            str(tmp_path / "o.jpg"),
            "--min-confidence",
            bad,
        )
        assert code == 1 and "between 0 and 100" in err
    assert not (tmp_path / "o.jpg").exists()


def test_draw_side_by_side_flag_before_the_files(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    response = tmp_path / "r.json"
    response.write_text(json.dumps(FILTERED_75))
    image = tmp_path / "p.jpg"
    image.write_bytes(STAND_IN.read_bytes())
    code, out, err = run(capsys, "draw", "--side-by-side", str(response), str(image))
    assert code == 0, err
    assert [Path(p).name for p in out.split()] == ["p-detect.jpg", "p-side-by-side.jpg"]


def test_a_recording_with_a_format_but_no_response_is_an_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "r.json").write_text(json.dumps({"format": "rclsim.recording", "Response": {}}))
    code, _, err = run(capsys, "--recordings", str(tmp_path), *detect())
    assert code == 1 and "r.json" in err and "fails the schema" in err
    code, out, _ = run(capsys, "validate", str(tmp_path / "r.json"))
    assert code == 1 and "'response' is a required property" in out


def test_outputs_never_replace_a_device(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Writing is by rename: aimed at /dev/null it would put a plain file in the device's place."""
    import stat

    from rclsim.service.errors import RclsimError
    from rclsim.service.files import write_atomically

    with pytest.raises(RclsimError, match="not a regular file"):
        write_atomically(os.devnull, b"x", overwrite=True)
    manifest = DATA / "wild" / "manifests" / "02-dannymorris-bcbs-logo.manifest"
    code, _, err = run(
        capsys,
        "evaluate",
        "--backend",
        "sim",
        "--manifest",
        str(manifest),
        "--json",
        os.devnull,
        "--overwrite",
    )
    assert code == 1 and "not a regular file" in err
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
