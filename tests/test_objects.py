"""The object stores where the fake reads and writes S3 objects (rclsim.fake.objects): a local folder,
moto's in-process S3, an S3 endpoint (a moto server on loopback), and the one the settings pick."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from rclsim.config import resolve
from rclsim.fake.objects import (
    HOW_TO_GIVE_ONE,
    EndpointObjects,
    FolderObjects,
    MotoObjects,
    ObjectStoreError,
    moto_active,
    objects_from_settings,
)
from rclsim.service.errors import RclsimError

ESCAPES = ["../outside.txt", "../../outside.txt", "/etc/passwd", "a/../../../outside.txt", "a\x00b", ""]
ODD_KEYS = ["a//b", "./a", "a/./b", "a/", "a\\..\\..\\outside.txt"]


# -- a local folder -------------------------------------------------------------------------------
@pytest.fixture
def folder(tmp_path: Path) -> FolderObjects:
    (tmp_path / "s3" / "bucket" / "images").mkdir(parents=True)
    (tmp_path / "s3" / "bucket" / "images" / "a.jpg").write_bytes(b"jpeg bytes")
    (tmp_path / "outside.txt").write_bytes(b"secret")
    return FolderObjects(tmp_path / "s3")


def test_a_folder_reads_s3_b_k_as_the_file_b_k(folder: FolderObjects) -> None:
    assert folder.get("bucket", "images/a.jpg") == b"jpeg bytes"
    assert folder.get("bucket", "images/a.jpg", None) == b"jpeg bytes"


@pytest.mark.parametrize(("bucket", "key"), [("bucket", "images/b.jpg"), ("nobucket", "images/a.jpg")])
def test_a_folder_says_a_missing_object_is_missing(folder: FolderObjects, bucket: str, key: str) -> None:
    with pytest.raises(KeyError):
        folder.get(bucket, key)


@pytest.mark.parametrize("key", ESCAPES + ODD_KEYS)
def test_a_folder_never_reads_a_key_that_leaves_it_or_names_another_file(
    folder: FolderObjects, key: str
) -> None:
    (folder.root / "bucket" / "a").mkdir()
    (folder.root / "bucket" / "a" / "b").write_bytes(b"not the key a//b")
    with pytest.raises(KeyError):
        folder.get("bucket", key)


@pytest.mark.parametrize("bucket", ["..", ".", "", "a/..", "x\x00"])
def test_a_folder_never_reads_through_a_bucket_that_leaves_it(folder: FolderObjects, bucket: str) -> None:
    with pytest.raises(KeyError):
        folder.get(bucket, "outside.txt")


def test_a_folder_does_not_read_a_directory_or_a_pipe(folder: FolderObjects) -> None:
    with pytest.raises(KeyError):
        folder.get("bucket", "images")
    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes here")
    os.mkfifo(folder.root / "bucket" / "pipe")
    started = time.monotonic()
    with pytest.raises(KeyError):
        folder.get("bucket", "pipe")  # would wait for a writer forever if opened as a file
    assert time.monotonic() - started < 5


def test_a_folder_does_not_read_a_file_it_may_not_read(
    folder: FolderObjects, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = folder.root / "bucket" / "images" / "a.jpg"
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):  # root reads any file: refuse it as the system would refuse others
            real_open = os.open

            def refusing_open(name: Any, *args: Any, **kwargs: Any) -> int:
                if Path(name) == path:
                    raise PermissionError(13, "Permission denied", str(name))
                return real_open(name, *args, **kwargs)

            monkeypatch.setattr(os, "open", refusing_open)
        with pytest.raises(KeyError):
            folder.get("bucket", "images/a.jpg")
    finally:
        path.chmod(0o644)


def test_a_folder_keeps_no_versions(folder: FolderObjects) -> None:
    """[U] S3Object.Version on a folder: KeyError even though the file exists."""
    with pytest.raises(KeyError):
        folder.get("bucket", "images/a.jpg", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")


def test_a_folder_writes_objects_atomically_making_the_keys_folders(folder: FolderObjects) -> None:
    folder.put("bucket", "out/run-1/manifest_summary.json", b'{"statistics": {}}')
    path = folder.root / "bucket" / "out" / "run-1" / "manifest_summary.json"
    assert path.read_bytes() == b'{"statistics": {}}'
    assert folder.get("bucket", "out/run-1/manifest_summary.json") == b'{"statistics": {}}'
    folder.put("bucket", "out/run-1/manifest_summary.json", b"{}")  # S3 replaces an object
    assert path.read_bytes() == b"{}"
    assert sorted(p.name for p in path.parent.iterdir()) == ["manifest_summary.json"]  # no temp files


def test_a_folder_writes_only_into_a_bucket_that_exists(folder: FolderObjects) -> None:
    before = sorted(folder.root.rglob("*"))
    with pytest.raises(KeyError):
        folder.put("otherbucket", "out/x.json", b"{}")
    assert sorted(folder.root.rglob("*")) == before


@pytest.mark.parametrize("key", ESCAPES + ["a//b", "a/./b"])
def test_a_folder_refuses_to_write_a_key_that_leaves_it(folder: FolderObjects, key: str) -> None:
    before = sorted(folder.root.parent.rglob("*"))
    with pytest.raises(ObjectStoreError, match="outside its bucket's folder"):
        folder.put("bucket", key, b"overwritten?")
    assert sorted(folder.root.parent.rglob("*")) == before
    assert (folder.root.parent / "outside.txt").read_bytes() == b"secret"


def test_a_folder_refuses_to_write_over_a_directory(folder: FolderObjects) -> None:
    with pytest.raises(RclsimError, match="directory"):
        folder.put("bucket", "images", b"{}")
    assert (folder.root / "bucket" / "images" / "a.jpg").read_bytes() == b"jpeg bytes"


def test_a_folder_says_where_its_objects_are(folder: FolderObjects) -> None:
    text = folder.describe()
    assert str(folder.root) in text and "s3://B/K" in text


# -- moto's in-process S3 --------------------------------------------------------------------------
moto = pytest.importorskip("moto")


def test_moto_objects_read_and_write_moto_buckets() -> None:
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="training")
        s3.put_object(Bucket="training", Key="m/train.manifest", Body=b"line\n")
        store = MotoObjects()
        assert moto_active()
        assert store.get("training", "m/train.manifest") == b"line\n"
        with pytest.raises(KeyError):
            store.get("training", "m/missing")
        with pytest.raises(KeyError):
            store.get("nobucket", "m/train.manifest")
        store.put("training", "out/summary.json", b'{"a": 1}')
        got = s3.get_object(Bucket="training", Key="out/summary.json")
        assert got["Body"].read() == b'{"a": 1}' and got["ContentType"] == "application/json"
        with pytest.raises(KeyError):
            store.put("nobucket", "out/summary.json", b"{}")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["training"]  # no bucket made
        assert store.describe() == "moto's in-process S3"


def test_moto_objects_read_a_version() -> None:
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="versioned")
        s3.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
        first = s3.put_object(Bucket="versioned", Key="k", Body=b"one")["VersionId"]
        s3.put_object(Bucket="versioned", Key="k", Body=b"two")
        store = MotoObjects()
        assert store.get("versioned", "k") == b"two"
        assert store.get("versioned", "k", first) == b"one"
        with pytest.raises(KeyError):
            store.get("versioned", "k", "no-such-version")


def test_moto_objects_never_reach_real_s3_once_moto_is_off() -> None:
    """The conftest refuses every non-loopback connection: a request to real S3 would fail the test
    with NetworkBlocked, not KeyError."""
    store = MotoObjects()
    with pytest.raises(KeyError):
        store.get("bucket", "key")
    with moto.mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket="bucket")
        store.put("bucket", "key", b"x")
        assert store.get("bucket", "key") == b"x"
        client = store._client()
    assert not moto_active()
    with pytest.raises(KeyError):
        store.get("bucket", "key")
    with pytest.raises(KeyError):
        store.put("bucket", "key", b"x")
    # Even a request made on the store's own client, past the check, is stopped before it is sent.
    with pytest.raises(Exception) as info:
        client.get_object(Bucket="bucket", Key="key")
    assert type(info.value).__name__ == "_MotoOff"


# -- an S3 endpoint: a moto server on loopback ----------------------------------------------------
@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # moto without its [server] extra
        pytest.skip(f"moto.server cannot be imported: {exc}")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def _endpoint_client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1")


def test_endpoint_objects_read_and_write_a_moto_servers_buckets(moto_server: str) -> None:
    s3 = _endpoint_client(moto_server)
    s3.create_bucket(Bucket="served")
    s3.put_object(Bucket="served", Key="images/a.jpg", Body=b"jpeg")
    store = EndpointObjects(moto_server, "us-east-1")
    assert store.get("served", "images/a.jpg") == b"jpeg"
    with pytest.raises(KeyError):
        store.get("served", "images/missing.jpg")
    with pytest.raises(KeyError):
        store.get("no-such-bucket", "images/a.jpg")
    store.put("served", "out/evaluation.json", b'{"F1": 0.9}')
    assert s3.get_object(Bucket="served", Key="out/evaluation.json")["Body"].read() == b'{"F1": 0.9}'
    names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    with pytest.raises(KeyError):
        store.put("no-such-bucket", "out/x.json", b"{}")
    assert {b["Name"] for b in s3.list_buckets()["Buckets"]} == names  # no bucket made
    assert moto_server in store.describe()


def test_endpoint_objects_that_cannot_reach_the_endpoint_say_so_quickly() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = EndpointObjects(f"http://127.0.0.1:{port}", "us-east-1")
    started = time.monotonic()
    with pytest.raises(ObjectStoreError, match=f"127.0.0.1:{port}.*running"):
        store.get("b", "k")
    with pytest.raises(ObjectStoreError):
        store.put("b", "k", b"{}")
    assert time.monotonic() - started < 20


def test_endpoint_objects_use_dummy_credentials_when_there_are_none(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    maker = boto3.client(
        "s3",
        endpoint_url=moto_server,
        region_name="us-east-1",
        aws_access_key_id="a",
        aws_secret_access_key="b",
    )
    maker.create_bucket(Bucket="nocreds")
    store = EndpointObjects(moto_server)
    store.put("nocreds", "k", b"v")
    assert store.get("nocreds", "k") == b"v"


# -- the store the settings pick --------------------------------------------------------------------
def test_no_setting_no_store() -> None:
    assert objects_from_settings(resolve()) is None
    assert "--s3-dir" in HOW_TO_GIVE_ONE and "RCLSIM_S3_ENDPOINT_URL" in HOW_TO_GIVE_ONE


def test_the_settings_pick_the_folder_the_endpoint_then_moto(tmp_path: Path) -> None:
    store = objects_from_settings(resolve(s3_dir=tmp_path))
    assert isinstance(store, FolderObjects) and store.root == tmp_path
    both = resolve(s3_dir=tmp_path, s3_endpoint_url="http://127.0.0.1:5000", region="eu-west-1")
    endpoint = objects_from_settings(both)
    assert isinstance(endpoint, EndpointObjects)
    assert (endpoint.url, endpoint.region) == ("http://127.0.0.1:5000", "eu-west-1")
    with moto.mock_aws():
        assert isinstance(objects_from_settings(both), MotoObjects)


@pytest.mark.parametrize("front_end", ["api", "cli"])
def test_a_missing_s3_folder_is_one_line_naming_the_option(tmp_path: Path, front_end: str) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(RclsimError) as info:
        objects_from_settings(resolve(front_end, s3_dir=missing))
    option = "--s3-dir" if front_end == "cli" else "s3_dir"
    assert str(info.value).startswith(f"{option}={missing} does not exist")


def test_a_missing_s3_folder_from_the_variable_names_it(tmp_path: Path) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(RclsimError, match=f"RCLSIM_S3_DIR={file} is not a folder"):
        objects_from_settings(resolve(environ={"RCLSIM_S3_DIR": str(file)}))


@pytest.mark.parametrize("bad", ["ftp://host", "127.0.0.1:5000", "http://", "http://h:port"])
def test_a_bad_endpoint_url_is_refused_naming_where_it_came_from(bad: str) -> None:
    with pytest.raises(RclsimError, match="RCLSIM_S3_ENDPOINT_URL=.* is not an http"):
        resolve(environ={"RCLSIM_S3_ENDPOINT_URL": bad})
    with pytest.raises(RclsimError, match="--s3-endpoint-url=.* is not an http"):
        resolve("cli", s3_endpoint_url=bad)


def test_a_folder_follows_the_links_the_user_put_in_it(folder: FolderObjects, tmp_path: Path) -> None:
    """A dataset kept elsewhere can be linked into the S3 folder (a documented choice: the user made
    the link, so reading through it is what they asked for)."""
    elsewhere = tmp_path / "photos"
    elsewhere.mkdir()
    (elsewhere / "b.jpg").write_bytes(b"linked bytes")
    (tmp_path / "s3" / "bucket" / "linked").symlink_to(elsewhere, target_is_directory=True)
    (tmp_path / "s3" / "linked-bucket").symlink_to(elsewhere, target_is_directory=True)
    assert folder.get("bucket", "linked/b.jpg") == b"linked bytes"
    assert folder.get("linked-bucket", "b.jpg") == b"linked bytes"
