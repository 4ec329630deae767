"""``rclsim manifest check M``: what the service's import would say, exit 0 or 1, the summary on stdout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rclsim.frontends.cli import main
from tests.test_service_manifest_check import _png, cls, det, good, manifest


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(path: str, data: bytes) -> str:
    Path(path).write_bytes(data)
    return path


def test_a_good_manifest_exits_0_with_the_summary(capsys: pytest.CaptureFixture[str]) -> None:
    m = write("good.manifest", manifest(*good(5)))
    code, out, err = run(capsys, "manifest", "check", m)
    assert code == 0
    summary = json.loads(out)
    assert summary["statistics"]["training"]["valid_json_lines"] == 5 and summary["errors"] == []
    assert "5 lines: 5 valid, 0 invalid, 0 ignored; 2 labels (OBJECT_LOCALIZATION)" in err
    assert "the import would succeed" in err


def test_line_errors_are_listed_with_line_and_code(capsys: pytest.CaptureFixture[str]) -> None:
    m = write("some.manifest", manifest(*good(9), det("s3://b/x.jpg", [(0, 0, 10, 10, 9)])))
    code, out, err = run(capsys, "manifest", "check", m)
    assert code == 0
    assert "line 10: ERROR_NO_VALID_ANNOTATIONS, ERROR_MISSING_CLASS_MAP_ID (invalid) s3://b/x.jpg" in err
    assert json.loads(out)["statistics"]["training"]["error_json_line_indices"] == [10]


def test_a_failing_import_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    m = write("bad.manifest", manifest(*good(3), b"{", b"}"))
    code, out, err = run(capsys, "manifest", "check", m)
    assert code == 1
    assert "the import would fail: ERROR_TOO_MANY_RECORDS_IN_ERROR" in err
    assert json.loads(out)["statistics"]["training"]["errors"][0]["code"] == "ERROR_TOO_MANY_RECORDS_IN_ERROR"


@pytest.mark.parametrize(
    ("data", "terminal"),
    [
        (b"", "ERROR_EMPTY_MANIFEST"),
        (bytes(range(256)) * 64, "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT"),
    ],
)
def test_file_errors_exit_1_and_say_why(
    capsys: pytest.CaptureFixture[str], data: bytes, terminal: str
) -> None:
    m = write("file.manifest", data)
    code, out, err = run(capsys, "manifest", "check", m)
    assert code == 1 and f"the import would fail: {terminal}" in err
    assert json.loads(out)["errors"][0]["code"] == terminal


def test_output_text_and_query(capsys: pytest.CaptureFixture[str]) -> None:
    m = write("q.manifest", manifest(*good(9), b"nope"))
    code, out, _ = run(
        capsys,
        "manifest",
        "check",
        m,
        "--output",
        "text",
        "--query",
        "statistics.training.invalid_json_lines",
    )
    assert (code, out) == (0, "1\n")
    code, out, _ = run(capsys, "manifest", "check", m, "--as", "testing")
    assert list(json.loads(out)["statistics"]) == ["testing"]


def test_training_errors_are_said_but_do_not_fail(capsys: pytest.CaptureFixture[str]) -> None:
    m = write("one.manifest", manifest(cls("s3://b/1.jpg"), cls("s3://b/2.jpg")))
    code, _, err = run(capsys, "manifest", "check", m)
    assert code == 0 and "training would fail: ERROR_MANIFEST_TOO_FEW_LABELS" in err


def test_images_dir_checks_images(capsys: pytest.CaptureFixture[str]) -> None:
    Path("imgs/b").mkdir(parents=True)
    for i in range(9):
        Path(f"imgs/b/g{i}.jpg").write_bytes(_png(640, 480))
    Path("imgs/b/g9.jpg").write_bytes(_png(320, 240))
    m = write("img.manifest", manifest(*good(10)))
    code, _, err = run(capsys, "manifest", "check", m, "--images-dir", "imgs")
    assert code == 0 and "line 10: ERROR_INVALID_IMAGE_DIMENSION" in err
    code, _, err = run(capsys, "manifest", "check", m)
    assert "line 10" not in err  # images on trust without --images-dir


def test_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "manifest", "check")
    assert code == 1 and "needs the manifest file" in err
    code, _, err = run(capsys, "manifest", "check", "nowhere.manifest")
    assert code == 1 and "nowhere.manifest: no such manifest" in err
    Path("folder").mkdir()
    code, _, err = run(capsys, "manifest", "check", "folder")
    assert code == 1 and "is a directory" in err
    m = write("x.manifest", manifest(*good(1)))
    code, _, err = run(capsys, "manifest", "check", m, "--images-dir", "missing-dir")
    assert code == 1 and "not a folder" in err
    assert Path(m).read_bytes() == manifest(*good(1))  # nothing written over


def test_a_huge_line_is_one_error_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    m = write("huge.manifest", manifest(*good(9)) + b'{"source-ref": "' + b"a" * 200_000 + b'"}\n')
    code, _, err = run(capsys, "manifest", "check", m)
    assert code == 0 and "line 10: ERROR_INVALID_JSON_LINE (removed)" in err


def test_images_not_uploaded_yet_are_taken_on_trust_as_the_import_does(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An --images-dir without the manifest's images (the wrong folder, or not uploaded yet): the
    verdict is the one the fake's CreateDataset gives (images on trust), and stderr says why."""
    m = write("m.manifest", manifest(*good(5)))
    Path("empty").mkdir()
    code, _, err = run(capsys, "manifest", "check", m, "--images-dir", "empty")
    assert code == 0
    assert "not uploaded yet, so no image was checked" in err and "the import would succeed" in err


def test_a_missing_image_names_the_file_looked_for(capsys: pytest.CaptureFixture[str]) -> None:
    Path("imgs/b").mkdir(parents=True)
    for i in range(5):
        Path(f"imgs/b/g{i}.jpg").write_bytes(_png(640, 480))
    m = write("m.manifest", manifest(*good(6)))
    code, _, err = run(capsys, "manifest", "check", m, "--images-dir", "imgs")
    line = next(x for x in err.splitlines() if x.startswith("line 6:"))
    assert line.count("s3://b/g5.jpg") == 1 and str(Path("imgs", "b", "g5.jpg")) in line


def test_a_manifest_in_the_fakes_s3(capsys: pytest.CaptureFixture[str]) -> None:
    """M given as s3://B/K is read, with its images, from the fake's S3 (--s3-dir), as CreateDataset
    reads it; without an S3 the error says how to give one."""
    Path("s3/b").mkdir(parents=True)
    for i in range(5):
        Path(f"s3/b/g{i}.jpg").write_bytes(_png(640, 480))
    Path("s3/b/m.manifest").write_bytes(manifest(*good(6)))
    code, out, err = run(capsys, "manifest", "check", "s3://b/m.manifest", "--s3-dir", "s3")
    assert code == 0 and "line 6: ERROR_INVALID_IMAGE" in err and json.loads(out)["statistics"]
    code, _, err = run(capsys, "manifest", "check", "s3://b/m.manifest")
    assert code == 1 and "--s3-dir" in err
    code, _, err = run(capsys, "manifest", "check", "s3://b/nope", "--s3-dir", "s3")
    assert code == 1 and "has no such object" in err
