"""Record mode hardening: recordings never land outside the recordings folder, the account id is masked
wherever it appears, the S3 read for an image's hash goes where the user's settings say, a failing S3
read does not cost the user a live answer, and a missing recordings folder is made.

The "live" side is a fake Rekognition client (or botocore's Stubber); S3 is a fake client, moto, or a
small S3 server on loopback. Nothing here reaches AWS."""

from __future__ import annotations

import copy
import json
import os
import threading
import warnings
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from botocore.exceptions import ClientError

import rclsim
from rclsim.frontends.cli import main
from rclsim.service.errors import RclsimError

from .conftest import DATA, ROOT

LIVE = json.loads((DATA / "article_detect_custom_labels_response.json").read_text())
IMAGE = (ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
ACCOUNT = "123456789012"
TOP2 = ["vehicle_registration_plate", "car"]  # the article's labels at MinConfidence 75


def version_arn(version: str = "plates.live", project: str = "plates", account: str = ACCOUNT) -> str:
    return f"arn:aws:rekognition:ap-northeast-1:{account}:project/{project}/version/{version}/1700000000000"


class FakeLive:
    """A Rekognition client for the aws backend: answers DetectCustomLabels with the article's response
    (or raises ``fail``) and remembers what it was asked."""

    def __init__(self, region: str = "ap-northeast-1", fail: Exception | None = None) -> None:
        self.meta = SimpleNamespace(
            region_name=region, endpoint_url=f"https://rekognition.{region}.amazonaws.com"
        )
        self.calls: list[dict[str, Any]] = []
        self.fail = fail

    def detect_custom_labels(self, **params: Any) -> dict[str, Any]:
        self.calls.append(params)
        if self.fail is not None:
            raise self.fail
        return {**copy.deepcopy(LIVE), "ResponseMetadata": {"RequestId": "req-secret", "HTTPStatusCode": 200}}

    def close(self) -> None:
        pass


class FakeS3:
    """An S3 client with ``get_object`` over a dict; ``error`` makes every read fail."""

    def __init__(self, objects: dict[tuple[str, str], bytes] | None = None, error: Exception | None = None):
        self.objects = objects or {}
        self.error = error
        self.reads: list[tuple[str, str]] = []

    def get_object(self, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:  # noqa: N803
        self.reads.append((Bucket, Key))
        if self.error is not None:
            raise self.error
        if (Bucket, Key) not in self.objects:
            raise ClientError(
                {"Error": {"Code": "NoSuchKey", "Message": "The key does not exist"}}, "GetObject"
            )
        data = self.objects[(Bucket, Key)]
        return {"Body": SimpleNamespace(read=lambda: data)}


def s3_image(bucket: str, key: str) -> dict[str, Any]:
    return {"S3Object": {"Bucket": bucket, "Name": key}}


def recorder(
    live: FakeLive, folder: Path, mode: str = "once", *, s3: Any = None, **kw: Any
) -> rclsim.Backend:
    backend = rclsim.get_backend("aws", client=live, record_mode=mode, recordings=[folder], **kw)
    if s3 is not None:
        backend._s3 = s3  # type: ignore[attr-defined]
    return backend


def names(response: dict[str, Any]) -> list[str]:
    return [label["Name"] for label in response["CustomLabels"]]


def replay(folder: Path) -> rclsim.Backend:
    return rclsim.get_backend("replay", recordings=[folder], include_builtin=False)


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() or p.is_symlink())


def assert_all_inside(outer: Path, folder: Path) -> list[Path]:
    """Every file below ``outer`` lies inside ``folder`` (resolved); returns the recordings."""
    root = folder.resolve()
    written = files_under(outer)
    for path in written:
        assert path.resolve().is_relative_to(root), f"{path} was written outside {root}"
    return [p for p in written if p.suffix == ".json"]


# -- 1. nothing is written outside the recordings folder --------------------------------------------
@pytest.mark.parametrize("version", ["..", ".", "...", ".hidden", "..-..", "CON", "nul"])
def test_a_version_name_cannot_move_a_recording_out_of_the_folder(tmp_path: Path, version: str) -> None:
    recs = tmp_path / "a" / "recs"
    recs.mkdir(parents=True)
    arn = version_arn(version)
    live = FakeLive()
    got = recorder(live, recs).detect_custom_labels(
        ProjectVersionArn=arn, Image={"Bytes": IMAGE}, MinConfidence=75
    )
    assert names(got) == TOP2 and len(live.calls) == 1
    (recording,) = assert_all_inside(tmp_path, recs)
    parts = recording.relative_to(recs).parts
    assert all(not part.startswith(".") for part in parts), parts  # no hidden or dot-only names
    assert all(part.split(".")[0].upper() not in ("CON", "NUL") for part in parts), parts  # Windows devices
    answer = replay(recs).detect_custom_labels(
        ProjectVersionArn=arn, Image={"Bytes": IMAGE}, MinConfidence=75
    )
    assert names(answer) == TOP2


@pytest.mark.parametrize(
    "key",
    [
        "../../escape.jpg",
        "/abs/evil.jpg",
        "..\\..\\win.jpg",
        "a\x00b.jpg",
        "..",
        "dir/..",
        "C:\\x\\..\\y.jpg",
    ],
)
def test_an_s3_key_cannot_move_a_recording_out_of_the_folder(tmp_path: Path, key: str) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    image = s3_image("my-bucket", key)
    backend = recorder(FakeLive(), recs, s3=FakeS3({("my-bucket", key): IMAGE}))
    assert (
        names(backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image=image, MinConfidence=75))
        == TOP2
    )
    (recording,) = assert_all_inside(tmp_path, recs)
    assert "\x00" not in str(recording) and "\\" not in recording.name and not recording.name.startswith(".")
    answer = replay(recs).detect_custom_labels(ProjectVersionArn=version_arn(), Image=image, MinConfidence=75)
    assert names(answer) == TOP2  # found again by its S3 key


@pytest.mark.parametrize(
    "arn",
    [
        version_arn("../../../etc"),
        version_arn("..\\..\\escape"),
        version_arn("a\x00b"),
        version_arn("/etc/passwd"),
        version_arn("ok", project="../.."),
    ],
)
def test_an_arn_the_service_would_reject_is_refused_before_any_call_or_write(
    tmp_path: Path, arn: str
) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    live = FakeLive()
    with pytest.raises(ClientError) as info:
        recorder(live, recs).detect_custom_labels(ProjectVersionArn=arn, Image={"Bytes": IMAGE})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert live.calls == []  # no live (billed) call for a request the service refuses
    assert files_under(tmp_path) == []


def test_a_symlinked_subfolder_pointing_outside_is_refused_before_the_live_call(tmp_path: Path) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (recs / "plates.live").symlink_to(outside, target_is_directory=True)
    live = FakeLive()
    with pytest.raises(RclsimError, match="outside the recordings folder") as info:
        recorder(live, recs).detect_custom_labels(ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE})
    assert "\n" not in str(info.value)
    assert live.calls == []
    assert list(outside.iterdir()) == []


def test_a_symlinked_recording_file_pointing_outside_is_not_written_through(tmp_path: Path) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    backend = recorder(FakeLive(), recs, "all")
    backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE})
    (recording,) = recs.rglob("*.json")
    recording.unlink()
    recording.symlink_to(victim)
    with pytest.raises(RclsimError, match="outside the recordings folder"):
        backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE})
    assert victim.read_text() == "keep me"


# -- 2. the account id is masked wherever it appears ---------------------------------------------
OWN_ARN = version_arn(f"v-{ACCOUNT}", project=f"proj-{ACCOUNT}")
OWN_BUCKET = f"data-{ACCOUNT}"
OWN_KEY = f"{ACCOUNT}/photos/{ACCOUNT}.jpg"


def test_the_account_id_is_masked_in_names_buckets_keys_and_paths(tmp_path: Path) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    image = s3_image(OWN_BUCKET, OWN_KEY)
    live = FakeLive()
    s3 = FakeS3({(OWN_BUCKET, OWN_KEY): IMAGE})
    backend = recorder(live, recs, s3=s3)
    assert (
        names(backend.detect_custom_labels(ProjectVersionArn=OWN_ARN, Image=image, MinConfidence=75)) == TOP2
    )
    assert live.calls[0]["ProjectVersionArn"] == OWN_ARN  # AWS itself is asked with the real names
    assert live.calls[0]["Image"] == image
    (recording,) = recs.rglob("*.json")
    assert ACCOUNT not in str(recording.relative_to(recs))
    text = recording.read_text()
    assert ACCOUNT not in text
    data = json.loads(text)
    masked = version_arn("v-000000000000", project="proj-000000000000", account="000000000000")
    assert data["request"]["ProjectVersionArn"] == masked
    assert data["image"]["S3Object"] == {
        "Bucket": "data-000000000000",
        "Name": "000000000000/photos/000000000000.jpg",
    }
    assert rclsim.service.schemas.recording_problems(data) == []  # type: ignore[attr-defined]
    # consistent: the same backend finds its own recording again (no live call, no S3 read)
    assert (
        names(backend.detect_custom_labels(ProjectVersionArn=OWN_ARN, Image=image, MinConfidence=75)) == TOP2
    )
    assert len(live.calls) == 1 and len(s3.reads) == 1
    # and so does a new recorder in mode none
    again = recorder(FakeLive(), recs, "none")
    assert names(again.detect_custom_labels(ProjectVersionArn=OWN_ARN, Image=image, MinConfidence=75)) == TOP2
    # the replay backend finds it by the image's bytes, for the masked model
    answer = replay(recs).detect_custom_labels(
        ProjectVersionArn=data["request"]["ProjectVersionArn"], Image={"Bytes": IMAGE}, MinConfidence=75
    )
    assert names(answer) == TOP2


def test_the_account_id_is_masked_as_a_whole_number_only(tmp_path: Path) -> None:
    """A longer number that merely contains the digits (a timestamp, say) is not the account id."""
    recs = tmp_path / "recs"
    recs.mkdir()
    arn = version_arn(f"v{ACCOUNT}9", project="p")
    recorder(FakeLive(), recs).detect_custom_labels(ProjectVersionArn=arn, Image={"Bytes": IMAGE})
    data = json.loads(next(recs.rglob("*.json")).read_text())
    assert data["request"]["ProjectVersionArn"] == version_arn(
        f"v{ACCOUNT}9", project="p", account="000000000000"
    )


def test_masking_off_keeps_the_account_id_everywhere(tmp_path: Path) -> None:
    recs = tmp_path / "recs"
    recs.mkdir()
    image = s3_image(OWN_BUCKET, OWN_KEY)
    backend = recorder(FakeLive(), recs, s3=FakeS3({(OWN_BUCKET, OWN_KEY): IMAGE}), mask_account=False)
    backend.detect_custom_labels(ProjectVersionArn=OWN_ARN, Image=image)
    data = json.loads(next(recs.rglob("*.json")).read_text())
    assert data["request"]["ProjectVersionArn"] == OWN_ARN
    assert data["image"]["S3Object"] == image["S3Object"]
    answer = replay(recs).detect_custom_labels(ProjectVersionArn=OWN_ARN, Image=image, MinConfidence=75)
    assert names(answer) == TOP2


@pytest.mark.parametrize("mode", ["none", "once"])
@pytest.mark.parametrize("made", ["unmasked", "masked-in-the-account-field-only"])
def test_recordings_masked_otherwise_are_still_found_with_masking_on(
    tmp_path: Path, mode: str, made: str
) -> None:
    """Recordings made with --no-mask-account, by hand, or by the record mode that masked only the
    ARN's account field still answer a masking recorder, without a live call."""
    from rclsim.service.apimodel import mask_account

    arn = version_arn(f"v-{ACCOUNT}", project=f"proj-{ACCOUNT}")
    recorder(FakeLive(), tmp_path, mask_account=False).detect_custom_labels(
        ProjectVersionArn=arn, Image={"Bytes": IMAGE}
    )
    if made != "unmasked":
        (path,) = tmp_path.rglob("*.json")
        data = json.loads(path.read_text())
        data["request"]["ProjectVersionArn"] = mask_account(arn)
        assert ACCOUNT in data["request"]["ProjectVersionArn"]  # in the names, not the account field
        path.write_text(json.dumps(data))
    live = FakeLive()
    got = recorder(live, tmp_path, mode).detect_custom_labels(
        ProjectVersionArn=arn, Image={"Bytes": IMAGE}, MinConfidence=75
    )
    assert names(got) == TOP2 and live.calls == []
    assert len(list(tmp_path.rglob("*.json"))) == 1


@pytest.mark.parametrize(
    "arn, bucket", [(OWN_ARN, "my-bucket"), (version_arn(), OWN_BUCKET)], ids=["in-names", "in-bucket"]
)
def test_the_replay_backend_finds_a_recording_masked_in_names(tmp_path: Path, arn: str, bucket: str) -> None:
    image = s3_image(bucket, "photo.jpg")
    recorder(FakeLive(), tmp_path, s3=FakeS3({(bucket, "photo.jpg"): IMAGE})).detect_custom_labels(
        ProjectVersionArn=arn, Image=image
    )
    answer = replay(tmp_path).detect_custom_labels(ProjectVersionArn=arn, Image=image, MinConfidence=75)
    assert names(answer) == TOP2


# -- 3. the S3 read honours the user's S3 endpoint settings, region and profile ---------------------
class _S3Handler(BaseHTTPRequestHandler):
    server: Any

    def do_GET(self) -> None:  # noqa: N802
        path = unquote(urlsplit(self.path).path)
        self.server.seen.append((path, self.headers.get("Authorization", "")))
        data = self.server.objects.get(path)
        if data is None:
            body = b"<Error><Code>NoSuchKey</Code><Message>no such key</Message></Error>"
            self.send_response(404)
            self.send_header("Content-Type", "application/xml")
        else:
            body = data
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def s3_server() -> Iterator[Any]:
    """An S3 on loopback (path-style GET only) holding the article's image at my-bucket/photo.jpg."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _S3Handler)
    server.seen = []  # type: ignore[attr-defined]
    server.objects = {"/my-bucket/photo.jpg": IMAGE}  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def record_from_s3(recs: Path, **kw: Any) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to a key-only recording would warn: fail instead
        backend = recorder(FakeLive(), recs, **kw)
        got = backend.detect_custom_labels(
            ProjectVersionArn=version_arn(), Image=s3_image("my-bucket", "photo.jpg"), MinConfidence=75
        )
    assert names(got) == TOP2
    data: dict[str, Any] = json.loads(next(recs.rglob("*.json")).read_text())
    assert (data["image"]["Width"], data["image"]["Height"]) == (1024, 683)
    assert "Sha256" in data["image"]  # the image was read, from the server
    answer = replay(recs).detect_custom_labels(
        ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE}, MinConfidence=75
    )
    assert names(answer) == TOP2
    return data


def test_the_s3_read_uses_the_backends_endpoint_url(tmp_path: Path, s3_server: Any) -> None:
    record_from_s3(tmp_path, endpoint_url=s3_server.url)
    assert [path for path, _ in s3_server.seen] == ["/my-bucket/photo.jpg"]
    assert "/ap-northeast-1/s3/aws4_request" in s3_server.seen[0][1]  # signed for the backend's region


def test_the_s3_read_uses_aws_endpoint_url_s3(
    tmp_path: Path, s3_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.url)
    record_from_s3(tmp_path)
    assert [path for path, _ in s3_server.seen] == ["/my-bucket/photo.jpg"]


def test_the_s3_read_uses_aws_endpoint_url(
    tmp_path: Path, s3_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.url)
    record_from_s3(tmp_path)
    assert [path for path, _ in s3_server.seen] == ["/my-bucket/photo.jpg"]


def test_aws_endpoint_url_s3_beats_the_rekognition_endpoint_url(
    tmp_path: Path, s3_server: Any, dead_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--endpoint-url names Rekognition's endpoint; an S3-specific setting is more specific for S3."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", s3_server.url)
    record_from_s3(tmp_path, endpoint_url=dead_url)
    assert len(s3_server.seen) == 1


def test_the_endpoint_url_option_beats_aws_endpoint_url(
    tmp_path: Path, s3_server: Any, dead_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead_url)
    record_from_s3(tmp_path, endpoint_url=s3_server.url)
    assert len(s3_server.seen) == 1


def test_an_explicit_s3_endpoint_url_of_the_recorder_beats_everything(
    tmp_path: Path, s3_server: Any, dead_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rclsim.backends.aws import AwsBackend
    from rclsim.backends.record import RecordingBackend

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", dead_url)
    live = AwsBackend(client=FakeLive(), endpoint_url=dead_url)
    backend = RecordingBackend(live, tmp_path, "once", s3_endpoint_url=s3_server.url)
    got = backend.detect_custom_labels(
        ProjectVersionArn=version_arn(), Image=s3_image("my-bucket", "photo.jpg")
    )
    assert len(got["CustomLabels"]) == 31 and len(s3_server.seen) == 1


def test_the_s3_read_uses_the_backends_profile(
    tmp_path: Path, s3_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile rec]\naws_access_key_id = testing\naws_secret_access_key = testing\nservices = local-s3\n"
        "\n[services local-s3]\ns3 =\n"
        f"  endpoint_url = {s3_server.url}\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    recs = tmp_path / "recs"
    recs.mkdir()
    record_from_s3(recs, profile="rec")
    assert len(s3_server.seen) == 1


def test_the_cli_endpoint_url_reaches_the_s3_read(
    tmp_path: Path, s3_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    live = FakeLive()
    real_client = boto3.Session.client

    def client(self: Any, service: str, *a: Any, **k: Any) -> Any:
        return live if service == "rekognition" else real_client(self, service, *a, **k)

    monkeypatch.setattr(boto3.Session, "client", client)
    recs = tmp_path / "recs"
    argv = ["detect", "--backend", "aws", "--record-mode", "once", "--recordings", str(recs)]
    argv += ["--endpoint-url", s3_server.url, "--project-version-arn", version_arn()]
    argv += ["--image", "s3://my-bucket/photo.jpg", "--min-confidence", "75"]
    assert main(argv) == 0, capsys.readouterr().err
    assert len(live.calls) == 1 and len(s3_server.seen) == 1
    assert "Sha256" in json.loads(next(recs.rglob("*.json")).read_text())["image"]


# -- 4. a failing S3 read does not fail a live call that succeeded -----------------------------------
@pytest.mark.parametrize(
    "s3",
    [
        FakeS3(
            error=ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
        ),
        FakeS3(error=OSError("connection refused")),
        FakeS3({("my-bucket", "photo.jpg"): b"not an image at all"}),
    ],
    ids=["access-denied", "no-connection", "not-an-image"],
)
def test_a_failing_s3_read_records_by_key_with_a_warning(tmp_path: Path, s3: FakeS3) -> None:
    image = {"S3Object": {"Bucket": "my-bucket", "Name": "photo.jpg", "Version": "v1"}}
    live = FakeLive()
    backend = recorder(live, tmp_path, s3=s3)
    with pytest.warns(UserWarning, match=r"s3://my-bucket/photo\.jpg.*by (its )?key") as caught:
        got = backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image=image, MinConfidence=75)
    assert names(got) == TOP2 and len(live.calls) == 1  # the user has the live answer
    assert all("\n" not in str(w.message) for w in caught)
    data = json.loads(next(tmp_path.rglob("*.json")).read_text())
    assert data["image"]["S3Object"] == image["S3Object"] and "Sha256" not in data["image"]
    assert rclsim.service.schemas.recording_problems(data) == []  # type: ignore[attr-defined]
    # later calls replay the key's recording: no live call, no S3 read
    reads = len(s3.reads)
    assert (
        names(backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image=image, MinConfidence=75))
        == TOP2
    )
    assert len(live.calls) == 1 and len(s3.reads) == reads
    answer = replay(tmp_path).detect_custom_labels(
        ProjectVersionArn=version_arn(), Image=image, MinConfidence=75
    )
    assert names(answer) == TOP2


def test_a_key_only_recording_masks_the_account_id_in_its_note_too(tmp_path: Path) -> None:
    error = ClientError(
        {"Error": {"Code": "AccessDenied", "Message": f"no access to {OWN_BUCKET}"}}, "GetObject"
    )
    image = s3_image(OWN_BUCKET, OWN_KEY)
    with pytest.warns(UserWarning, match="by its key"):
        recorder(FakeLive(), tmp_path, s3=FakeS3(error=error)).detect_custom_labels(
            ProjectVersionArn=OWN_ARN, Image=image
        )
    text = next(tmp_path.rglob("*.json")).read_text()
    assert "AccessDenied" in text and ACCOUNT not in text
    again = recorder(FakeLive(), tmp_path, "none").detect_custom_labels(
        ProjectVersionArn=OWN_ARN, Image=image, MinConfidence=75
    )
    assert names(again) == TOP2


def test_a_live_error_is_the_users_error_and_nothing_is_recorded(tmp_path: Path) -> None:
    error = ClientError(
        {"Error": {"Code": "InvalidS3ObjectException", "Message": "no object"}}, "DetectCustomLabels"
    )
    s3 = FakeS3(error=ClientError({"Error": {"Code": "NoSuchKey", "Message": "no"}}, "GetObject"))
    backend = recorder(FakeLive(fail=error), tmp_path, s3=s3)
    with pytest.raises(ClientError) as info:
        backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image=s3_image("my-bucket", "gone.jpg"))
    assert info.value.response["Error"]["Code"] == "InvalidS3ObjectException"
    assert list(tmp_path.rglob("*.json")) == []


# -- 5. the recordings folder ------------------------------------------------------------------------
def test_a_missing_recordings_folder_is_created_with_its_parents(tmp_path: Path) -> None:
    recs = tmp_path / "not" / "yet" / "recs"
    backend = recorder(FakeLive(), recs)
    assert recs.is_dir()
    assert (
        names(
            backend.detect_custom_labels(
                ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE}, MinConfidence=75
            )
        )
        == TOP2
    )
    answer = replay(recs).detect_custom_labels(
        ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE}, MinConfidence=75
    )
    assert names(answer) == TOP2


def test_a_missing_recordings_folder_is_created_from_the_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    live = FakeLive()
    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: live)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(IMAGE)
    recs = tmp_path / "new" / "recs"
    argv = ["detect", "--backend", "aws", "--record-mode", "once", "--recordings", str(recs)]
    argv += ["--project-version-arn", version_arn(), "--image-bytes", f"fileb://{photo}"]
    assert main(argv) == 0, capsys.readouterr().err
    assert len(list(recs.rglob("*.json"))) == 1


@pytest.mark.parametrize("where", ["itself", "parent"])
def test_a_file_in_place_of_the_recordings_folder_is_a_clear_error(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "recs"
    blocker.write_text("not a folder")
    folder = blocker if where == "itself" else blocker / "inner"
    live = FakeLive()
    with pytest.raises(RclsimError, match="not a folder") as info:
        recorder(live, folder)
    message = str(info.value)
    assert "\n" not in message and str(blocker) in message
    assert blocker.read_text() == "not a folder" and live.calls == []


def test_the_cli_reports_a_file_in_place_of_the_recordings_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    monkeypatch.setattr(boto3.Session, "client", lambda self, *a, **k: FakeLive())
    blocker = tmp_path / "recs"
    blocker.write_text("x")
    argv = ["detect", "--backend", "aws", "--record-mode", "once", "--recordings", str(blocker)]
    argv += ["--project-version-arn", version_arn(), "--image", "s3://b-ucket/k.jpg"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "not a folder" in err and str(blocker) in err and "Traceback" not in err


def test_no_recording_leaves_temporary_files_behind(tmp_path: Path) -> None:
    backend = recorder(FakeLive(), tmp_path, "all")
    for _ in range(2):
        backend.detect_custom_labels(ProjectVersionArn=version_arn(), Image={"Bytes": IMAGE})
    assert [p.name for p in files_under(tmp_path) if not p.name.endswith(".json")] == []
    assert not any(
        name.startswith(".") for p in files_under(tmp_path) for name in p.relative_to(tmp_path).parts
    )
    assert os.listdir(tmp_path)
