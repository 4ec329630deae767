"""Test-suite guards: no network but loopback, no real AWS credentials, no writes outside tmp.

Set before anything imports boto3: dummy credentials and AWS_EC2_METADATA_DISABLED, so botocore never
probes the instance-metadata address, and every socket connection to a non-loopback address fails the
test that tried it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
import tempfile
from pathlib import Path

import pytest

_SESSION_TMP = tempfile.mkdtemp(prefix="rclsim-tests-")

#: Live tests (marked live_aws) run only with rclsim's plugin flag, and then the caller's real AWS
#: environment is left untouched. Read from the command line because this runs before option parsing.
LIVE = "--rcl-live-aws-may-incur-charges" in sys.argv

for _name in list(os.environ):
    if _name.startswith("RCLSIM_"):
        del os.environ[_name]
os.environ["RCLSIM_CACHE_DIR"] = str(Path(_SESSION_TMP) / "cache")
if not LIVE:
    for _name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(_name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": str(Path(_SESSION_TMP) / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(Path(_SESSION_TMP) / "no-aws-credentials"),
        }
    )


class NetworkBlocked(RuntimeError):
    pass


_guard = {"on": True}


def _is_loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> object:
    if _guard["on"] and self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
        raise NetworkBlocked(f"test tried to connect to {address!r}: only loopback is allowed")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if _guard["on"] and self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address[0]):  # type: ignore[index]
        raise NetworkBlocked(f"test tried to connect to {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if _guard["on"] and host is not None and not _is_loopback(host if isinstance(host, str) else str(host)):
        raise NetworkBlocked(f"test tried to resolve {host!r}: only loopback is allowed")
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]


@pytest.fixture(autouse=True)
def _state_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI commands keep fake model state in --state-dir (default .rclsim/ in the current folder):
    each test runs in a folder of its own, so no test writes into the repository or sees another's
    models; get_backend and mock() keep fresh state in memory unless a test gives a state dir."""
    monkeypatch.chdir(tmp_path_factory.mktemp("rclsim-cwd"))


@pytest.fixture(autouse=True)
def _network_guard(request: pytest.FixtureRequest) -> object:
    """Only tests marked live_aws (run with --rcl-live-aws-may-incur-charges) may leave the machine."""
    _guard["on"] = not (LIVE and request.node.get_closest_marker("live_aws"))
    yield
    _guard["on"] = True


DATA = Path(__file__).resolve().parent / "data"
ARTICLE_ARN = (
    "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/"
    "licence-plates.2021-01-01T00.00.00/1609459200000"
)
ARTICLE_S3 = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}
ROOT = Path(__file__).resolve().parent.parent


def running_article_backend(**options: object) -> object:
    """A replay backend with the article's model started (it is declared TRAINING_COMPLETED)."""
    import rclsim

    backend = rclsim.get_backend("replay", **options)  # type: ignore[arg-type]
    backend.start_project_version(ProjectVersionArn=ARTICLE_ARN, MinInferenceUnits=1)
    return backend


@pytest.fixture
def article_image_bytes() -> bytes:
    return (ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg").read_bytes()
