"""scripts/demo-training: the article's training half, offline, end to end.

The script is run as a user runs it (bash, its own process), with ``RCLSIM_PYTHON`` pointing at this
test's interpreter so that it skips the virtual-environment set-up (which may call pip). Each run uses a
small dataset (``--images 10``) and a working folder under the test's temp directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "demo-training"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ, RCLSIM_PYTHON=sys.executable)
    environment.update(env or {})
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=environment, timeout=300
    )


@pytest.fixture(scope="module")
def kept(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run with --keep (the other tests read its output and its files)."""
    workdir = tmp_path_factory.mktemp("demo") / "work"
    return _run("--images", "10", "--workdir", str(workdir), "--keep"), workdir


def test_script_is_executable() -> None:
    assert os.access(SCRIPT, os.X_OK)


def test_runs_every_step_in_order(kept: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, _ = kept
    assert done.returncode == 0, done.stderr
    headers = re.findall(r"^== (\d+)\. (.+?) ==$", done.stdout, flags=re.M)
    titles = [title for _, title in headers]
    assert [int(n) for n, _ in headers] == list(range(1, len(headers) + 1))
    for word in (
        "training times",
        "Ground Truth dataset",
        "manifest check",
        "CreateProject",
        "CreateDataset",
        "CreateProjectVersion",
        "DescribeProjectVersions",
        "evaluation",
        "StartProjectVersion",
        "DetectCustomLabels",
        "StopProjectVersion",
        "bill",
    ):
        assert sum(word in title for title in titles) >= 1, (word, titles)
    order = [
        next(i for i, t in enumerate(titles) if w in t)
        for w in ("CreateProjectVersion", "StartProjectVersion", "StopProjectVersion", "bill")
    ]
    assert order == sorted(order)
    assert done.stdout.rstrip().endswith("all offline.")


def test_article_durations_beside_the_model(kept: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    out = kept[0].stdout
    assert re.search(r"8,157\s+8 h 45 min\s+8 h 45 min", out)
    assert re.search(r"500\s+7 h 12 min\s+7 h 12 min", out)


def test_training_is_shown_in_progress_then_completed(
    kept: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = kept[0].stdout
    assert "Status TRAINING_IN_PROGRESS" in out
    assert re.search(r"later: TRAINING_IN_PROGRESS", out)
    assert "Status TRAINING_COMPLETED: The model is ready to run." in out
    assert out.index("TRAINING_IN_PROGRESS") < out.index("TRAINING_COMPLETED")


def test_manifest_check_reports_the_slip(kept: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    out = kept[0].stdout
    assert "$ rclsim manifest check" in out
    assert "line 2: ERROR_INVALID_BOUNDING_BOX" in out
    assert "the import would succeed" in out
    assert re.search(
        r"ListDatasetEntries\(HasErrors=True\): s3://plates-data/images/plate-0001\.jpg: "
        r"ERROR_INVALID_BOUNDING_BOX",
        out,
    )


def test_evaluation_table_is_the_written_summary(kept: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, workdir = kept
    summaries = list((workdir / "s3" / "plates-output").rglob("EvaluationResultSummary-*.json"))
    assert len(summaries) == 1
    summary = json.loads(summaries[0].read_text())
    overall = summary["AggregatedEvaluationResults"]["Metrics"]
    out = done.stdout
    assert re.search(rf"F1 score\s+{overall['F1Score']:.3f}", out)
    assert re.search(rf"Average precision\s+{overall['AveragePrecision']:.3f}", out)
    assert re.search(rf"Overall recall\s+{overall['Recall']:.3f}", out)
    assert f"EvaluationResult.F1Score {overall['F1Score']:.3f}" in out
    assert "Assumed threshold" in out
    labels = summary["LabelEvaluationResults"]
    assert {r["Label"] for r in labels} == {"car", "vehicle_registration_plate"}
    for result in labels:
        m = result["Metrics"]
        row = (
            rf"{result['Label']}\s+{m['F1Score']:.3f}\s+{result['NumberOfTestingImages']}\s+\S+\s+"
            rf"{m['Recall']:.3f}\s+{m['Threshold']:.3f}"
        )
        assert re.search(row, out), row


def test_detect_prints_labels_and_bill_has_both_items(
    kept: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    out = kept[0].stdout
    detect = out.split("DetectCustomLabels", 1)[1].split("==", 2)[1]
    assert re.search(r"(car|vehicle_registration_plate)\s+\d+\.\d\d\s+Left", detect)
    bill = out.split("The bill", 1)[1]
    assert re.search(r"training\s+7\.\d+ hours", bill)
    assert re.search(r"inference\s+1\.000 inference-unit hours", bill)
    assert "total" in bill


def test_keep_leaves_the_folder(kept: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    done, workdir = kept
    assert f"Kept {workdir}" in done.stdout
    assert (workdir / "s3" / "plates-data" / "train.manifest").is_file()


def test_cleans_up_without_keep(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    done = _run("--images", "10", "--workdir", str(workdir))
    assert done.returncode == 0, done.stderr
    assert not workdir.exists()


def test_refuses_a_folder_with_files_and_changes_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "mine.txt"
    mine.write_text("user's file")
    done = _run("--images", "10", "--workdir", str(tmp_path))
    assert done.returncode == 1
    assert "not an empty folder" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]
    assert mine.read_text() == "user's file"


def test_a_failing_step_exits_non_zero(tmp_path: Path) -> None:
    """A manifest check that fails (here: no rclsim command on PATH for the subprocess) stops the demo
    with exit 1 and names the step; the working folder is still removed."""
    workdir = tmp_path / "work"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    rclsim = fake_bin / "rclsim"
    rclsim.write_text("#!/bin/sh\necho 'broken on purpose' >&2\nexit 3\n")
    rclsim.chmod(0o755)
    # The script puts the interpreter's folder first on PATH: an interpreter (a wrapper of this one)
    # with the broken 'rclsim' beside it makes the manifest check fail.
    python = fake_bin / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    done = _run("--images", "10", "--workdir", str(workdir), env={"RCLSIM_PYTHON": str(python)})
    assert done.returncode == 1, done.stdout
    assert "FAILED in step 3" in done.stderr
    assert "exited 3" in done.stderr
    assert not workdir.exists()


def test_too_few_images_is_a_usage_error(tmp_path: Path) -> None:
    done = _run("--images", "3", "--workdir", str(tmp_path / "w"))
    assert done.returncode == 2
    assert "--images must be 10 or more" in done.stderr
    assert not (tmp_path / "w").exists()


def test_killed_it_still_deletes_what_it_made(tmp_path: Path) -> None:
    """SIGTERM while the dataset is being drawn: exit 143 and the working folder is gone."""
    import signal
    import time

    workdir = tmp_path / "work"
    environment = dict(os.environ, RCLSIM_PYTHON=sys.executable)
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "--images", "5000", "--workdir", str(workdir)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not (workdir / "s3" / "plates-data" / "images").is_dir() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (workdir / "s3" / "plates-data" / "images").is_dir()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not workdir.exists()
