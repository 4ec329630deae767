"""The SQLite state file when things go wrong around it: damaged, read-only, a table dropped, deleted
or replaced under a running store (``rclsim reset`` while ``rclsim serve`` runs).

Each case must end in one clear :class:`~rclsim.service.errors.RclsimError` that names the file and says what
to do, never "rclsim internal error", and a store must follow its file when ``rclsim reset`` deletes
it under a server.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

import rclsim
from rclsim.fake.state import STATE_FILE_NAME, StateError, StateStore, VersionState
from rclsim.frontends.cli import main
from rclsim.frontends.server import FakeServer
from rclsim.service.errors import RclsimError

from .conftest import ARTICLE_ARN, ARTICLE_S3

PROJECT = rclsim.ARTICLE_PROJECT_ARN
VERSION = "licence-plates.2021-01-01T00.00.00"
NOBODY = 65534

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def describe_status(backend: rclsim.Backend) -> str:
    found = backend.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
    return found["ProjectVersionDescriptions"][0]["Status"]  # type: ignore[no-any-return]


def started_state(folder: Path) -> Path:
    """A state file in ``folder`` that holds a started model and an open stretch on the cost meter."""
    backend = rclsim.get_backend("replay", state_dir=folder)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert describe_status(backend) == "RUNNING"
    backend.close()
    return folder / STATE_FILE_NAME


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(argv))
    return code, capsys.readouterr().err


def assert_one_clear_line(code: int, err: str) -> None:
    assert code == 1, err
    assert "internal error" not in err and "Traceback" not in err, err
    assert len(err.strip().splitlines()) == 1, err


# -- permission bits bind a user that is not root -----------------------------------------------------
@contextlib.contextmanager
def without_root() -> Iterator[None]:
    """Permission bits do not stop root: as root, act as 'nobody' in between (the effective ids only,
    which root takes back after)."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        # rclsim's own files (the price table, the schemas) must be readable by 'nobody' too: a
        # checkout inside a folder only root may enter (mktemp -d) is not, and then the test cannot
        # tell a state file problem from that one
        package = Path(rclsim.__file__).resolve().parent
        try:
            (package / "pricing.json").read_bytes()
            list((package / "service" / "schemadata").iterdir())
        except PermissionError:
            pytest.skip(
                f"'nobody' cannot read rclsim's own files under {package}: a checkout only root may enter"
            )
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


@pytest.fixture
def shared_dir(tmp_path: Path) -> Iterator[Path]:
    """A folder that 'nobody' can reach too (pytest's tmp folders are root's own when run as root)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    folder = Path(tempfile.mkdtemp(prefix="rclsim-state-"))
    folder.chmod(0o777)
    try:
        yield folder
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder, ignore_errors=True)


# -- 1. a damaged file --------------------------------------------------------------------------------
def test_garbage_over_the_header_names_the_file_and_the_reset_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = started_state(tmp_path)
    data = bytearray(path.read_bytes())
    data[:100] = random.Random(1).randbytes(100)
    path.write_bytes(bytes(data))
    code, err = run_cli(capsys, "--state-dir", str(tmp_path), "status", "--project-version-arn", ARTICLE_ARN)
    assert_one_clear_line(code, err)
    assert str(path) in err and "damaged" in err and f"rclsim reset --state-dir {tmp_path}" in err, err
    assert path.read_bytes() == bytes(data)  # left alone: the user decides


def page_count(path: Path) -> tuple[int, int]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("PRAGMA page_size").fetchone()[0], conn.execute("PRAGMA page_count").fetchone()[0]


@pytest.mark.parametrize("page", range(1, 7))
def test_garbage_over_any_page_is_a_clear_error_for_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], page: int
) -> None:
    """Page 0 holds the header and the schema; the others the tables and their indexes. Whatever page
    is damaged, every command says so at once (before writing anything into a damaged file)."""
    path = started_state(tmp_path)
    size, count = page_count(path)
    assert count >= 7  # the file the test damages has the pages it names
    data = bytearray(path.read_bytes())
    data[page * size : (page + 1) * size] = random.Random(page).randbytes(size)
    path.write_bytes(bytes(data))
    for argv in (
        ["status", "--project-version-arn", ARTICLE_ARN],
        ["cost"],
        ["stop", "--project-version-arn", ARTICLE_ARN],
        [
            "detect",
            "--project-version-arn",
            ARTICLE_ARN,
            "--image",
            "s3://my-bucket/test-qiita/9c5f2a31335627a0.jpg",
        ],
    ):
        code, err = run_cli(capsys, "--state-dir", str(tmp_path), *argv)
        assert_one_clear_line(code, err)
        assert str(path) in err and f"rclsim reset --state-dir {tmp_path}" in err, (argv, err)
    assert path.read_bytes() == bytes(data)
    assert main(["reset", "--state-dir", str(tmp_path)]) == 0
    assert main(["status", "--state-dir", str(tmp_path), "--project-version-arn", ARTICLE_ARN]) == 0


def test_a_store_whose_file_is_damaged_while_open_raises_a_state_error(tmp_path: Path) -> None:
    """Damage after the store opened its file (left by another writer, which also moved the file's
    change counter, so the store reads the pages again) is a StateError too."""
    path = started_state(tmp_path)
    store = StateStore(tmp_path)
    size, count = page_count(path)
    with open(path, "r+b") as f:
        for page in range(1, count):
            f.seek(page * size)
            f.write(random.Random(page).randbytes(size))
        f.seek(24)  # the header's file change counter
        counter = int.from_bytes(f.read(4), "big")
        f.seek(24)
        f.write((counter + 1).to_bytes(4, "big"))
    with pytest.raises(StateError, match=f"damaged.*rclsim reset --state-dir {tmp_path}"):
        with store.transaction() as txn:
            txn.usage()
            txn.all()
    store.close()


# -- 1, 2. read-only ----------------------------------------------------------------------------------
@posix_only
def test_a_read_only_state_file_says_make_it_writable(
    shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = started_state(shared_dir)
    path.chmod(0o444)
    with without_root():
        code, err = run_cli(
            capsys, "--state-dir", str(shared_dir), "stop", "--project-version-arn", ARTICLE_ARN
        )
    assert_one_clear_line(code, err)
    assert str(path) in err and "read-only" in err, err
    assert "make it writable or use another --state-dir" in err and "corrupt" not in err, err


@posix_only
def test_a_read_only_state_file_raises_a_state_error_from_the_store(shared_dir: Path) -> None:
    path = started_state(shared_dir)
    path.chmod(0o444)
    with without_root(), pytest.raises(StateError, match="make it writable or use another --state-dir"):
        store = StateStore(shared_dir)
        with store.transaction() as txn:
            txn.put(VersionState(arn=ARTICLE_ARN, status="STOPPED", changed_at=0.0))


@posix_only
def test_no_state_file_in_a_read_only_folder_is_not_called_corrupt(
    shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = shared_dir / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    with without_root():
        code, err = run_cli(
            capsys, "--state-dir", str(folder), "status", "--project-version-arn", ARTICLE_ARN
        )
    folder.chmod(0o755)
    assert_one_clear_line(code, err)
    assert str(folder) in err and "not writable" in err and "use another --state-dir" in err, err
    assert "corrupt" not in err and "damaged" not in err and "reset" not in err, err
    assert not (folder / STATE_FILE_NAME).exists()


@posix_only
def test_a_state_file_in_a_read_only_folder_says_the_folder_is_not_writable(
    shared_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLite writes a journal beside the file: a writable file in a locked folder cannot change."""
    folder = shared_dir / "locked"
    folder.mkdir()
    path = started_state(folder)
    path.chmod(0o666)
    folder.chmod(0o555)
    with without_root():
        code, err = run_cli(capsys, "--state-dir", str(folder), "stop", "--project-version-arn", ARTICLE_ARN)
    folder.chmod(0o755)
    assert_one_clear_line(code, err)
    assert str(folder) in err and "not writable" in err and "use another --state-dir" in err, err
    assert "corrupt" not in err, err


# -- 3. a table dropped -------------------------------------------------------------------------------
def drop(path: Path, table: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute(f"DROP TABLE {table}")
        conn.commit()


def test_a_dropped_usage_table_is_an_error_that_says_the_meter_is_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = started_state(tmp_path)
    drop(path, "usage")
    code, err = run_cli(capsys, "--state-dir", str(tmp_path), "cost")
    assert_one_clear_line(code, err)
    assert str(path) in err and "'usage'" in err and "cost meter" in err, err
    assert f"rclsim reset --state-dir {tmp_path}" in err, err
    with contextlib.closing(sqlite3.connect(path)) as conn:  # nothing recreated behind the user's back
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "usage" not in tables


def test_a_dropped_versions_table_is_an_error_too(tmp_path: Path) -> None:
    path = started_state(tmp_path)
    drop(path, "versions")
    with pytest.raises(StateError, match="'versions'.*model statuses"):
        StateStore(tmp_path)


def test_a_table_dropped_under_an_open_store_is_a_state_error(tmp_path: Path) -> None:
    path = started_state(tmp_path)
    store = StateStore(tmp_path)
    drop(path, "usage")
    with pytest.raises(StateError, match="'usage'.*cost meter"):
        with store.transaction() as txn:
            txn.usage()
    store.close()


# -- 4. reset under a running store -------------------------------------------------------------------
def running(arn: str = ARTICLE_ARN) -> VersionState:
    return VersionState(arn=arn, status="RUNNING", changed_at=1.0)


def test_a_store_follows_a_reset_by_another_command(tmp_path: Path) -> None:
    server = StateStore(tmp_path)
    with server.transaction() as txn:
        txn.put(running())
        txn.open_usage(ARTICLE_ARN, 1.0, 1)
    assert StateStore.reset(tmp_path)  # what 'rclsim reset' does
    with server.transaction() as txn:
        assert txn.get(ARTICLE_ARN) is None and txn.usage() == []
        txn.put(running("after-reset"))
    assert (tmp_path / STATE_FILE_NAME).exists()  # the store made a fresh file where the user sees it
    other = StateStore(tmp_path)
    with other.transaction() as txn:
        assert [s.arn for s in txn.all()] == ["after-reset"]
    server.close()
    other.close()


def test_a_store_follows_a_file_replaced_by_another_process(tmp_path: Path) -> None:
    server = StateStore(tmp_path)
    with server.transaction() as txn:
        txn.put(running())
    StateStore.reset(tmp_path)
    newcomer = StateStore(tmp_path)  # a command run after the reset: a new file, maybe the same inode
    with newcomer.transaction() as txn:
        txn.put(running("newcomer"))
    with server.transaction() as txn:
        assert [s.arn for s in txn.all()] == ["newcomer"]
        txn.put(running("server"))
    with newcomer.transaction() as txn:
        assert [s.arn for s in txn.all()] == ["newcomer", "server"]
    server.close()
    newcomer.close()


def test_cli_reset_under_a_live_backend(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend = rclsim.get_backend("replay", state_dir=tmp_path)
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    assert describe_status(backend) == "RUNNING"
    code, err = run_cli(capsys, "reset", "--state-dir", str(tmp_path))
    assert code == 0 and "removed" in err
    assert describe_status(backend) == "TRAINING_COMPLETED"  # as declared, not the deleted file's
    assert [line for line in backend.bill().lines if line.item == "inference"] == []
    assert backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)["Status"]
    backend.close()


def test_rclsim_reset_while_serving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    backend = rclsim.get_backend("replay", state_dir=tmp_path)
    with FakeServer(backend, "127.0.0.1", 0) as server:  # type: ignore[arg-type]
        client = boto3.client(
            "rekognition",
            endpoint_url=server.url,
            region_name="ap-northeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(retries={"total_max_attempts": 1}),
        )
        client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
        assert client.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)["CustomLabels"]
        assert run_cli(capsys, "reset", "--state-dir", str(tmp_path))[0] == 0
        found = client.describe_project_versions(ProjectArn=PROJECT, VersionNames=[VERSION])
        assert found["ProjectVersionDescriptions"][0]["Status"] == "TRAINING_COMPLETED"
        assert client.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)["Status"] == (
            "STARTING"
        )
        # the restarted model lives in the new file, which other commands read
        capsys.readouterr()
        assert main(["--state-dir", str(tmp_path), "status", "--project-version-arn", ARTICLE_ARN]) == 0
        assert '"RUNNING"' in capsys.readouterr().out
    backend.close()


def test_a_reset_file_that_is_no_longer_rclsims_is_reported(tmp_path: Path) -> None:
    server = StateStore(tmp_path)
    StateStore.reset(tmp_path)
    (tmp_path / STATE_FILE_NAME).write_bytes(b"not a database at all" * 100)
    with pytest.raises(RclsimError, match="rclsim reset --state-dir"):
        with server.transaction() as txn:
            txn.all()
    server.close()
