"""Where the fake reads and writes S3 objects: manifests, images, training output.

The service reads a dataset's manifest and its images from S3 and writes ``manifest_summary.json`` and
the evaluation output back. The fake does the same through an *object store* (the core holds one as
``core.objects``; :class:`ObjectStore` is the protocol it calls), one of:

* :class:`MotoObjects`: moto's in-process S3, while a moto mock (``mock_aws``) is on. The drop-in
  (:func:`rclsim.mock`) sets one on a fake that has no store while moto is active.
* :class:`EndpointObjects`: an S3-compatible endpoint, such as a moto server on loopback
  (``moto_server -p 5000``, then ``--s3-endpoint-url http://127.0.0.1:5000`` or
  ``RCLSIM_S3_ENDPOINT_URL``): what ``rclsim serve`` uses, since the code under test then lives in
  another process and its ``mock_aws`` is not ours.
* :class:`FolderObjects`: a local folder (``--s3-dir DIR`` or ``RCLSIM_S3_DIR``): ``s3://B/K`` is the
  file ``DIR/B/K``. Nothing to install, nothing to start.

:func:`objects_from_settings` picks one from the settings: moto's while a moto mock is on, else the
endpoint, else the folder, else none (then operations that need S3 answer with an error that says how
to give one: :data:`HOW_TO_GIVE_ONE`).

Choices where the service's behaviour is not documented ([U]), the same for every store:

* ``get`` raises ``KeyError`` for anything that is not a readable object: a missing bucket or key,
  a version that does not exist, (folder) a directory, a pipe, a file it may not read, a key that
  would leave the folder. The core turns that into the service's error for the operation.
* ``put`` writes only into a bucket that exists (``KeyError`` otherwise, and nothing is created): the
  service writes training output into the user's bucket and never makes one. An existing object is
  replaced, as S3 replaces it. A folder's bucket is a folder ``DIR/B`` that exists; the key's own
  folders are made as needed.
* Folder: object versions do not exist; ``get`` with a version (``S3Object.Version``) is ``KeyError``
  even when the file exists, so a test that pins a version cannot pass by accident. Keys whose parts
  are empty, ``.`` or ``..``, that start with ``/`` or hold a NUL or a backslash are refused
  (``KeyError`` from ``get``, :class:`ObjectStoreError` from ``put``): they would name a file other
  than the key's, or one outside the folder. Symbolic links the user put inside the folder are
  followed (they are the user's choice of where the objects live).
* A store that cannot be reached (an endpoint that is down) is :class:`ObjectStoreError`, not a
  missing object: the user has a setup to fix, not a key.
* moto: never falls through to real S3. Every request of :class:`MotoObjects` first checks that a moto
  mock is on; when it is not, ``get`` and ``put`` raise ``KeyError`` without sending anything.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from rclsim.service.errors import RclsimError

if TYPE_CHECKING:
    from rclsim.config import Settings

__all__ = [
    "ObjectStore",
    "ObjectStoreError",
    "FolderObjects",
    "MotoObjects",
    "EndpointObjects",
    "objects_from_settings",
    "moto_active",
    "moto_objects",
    "HOW_TO_GIVE_ONE",
    "source_reader",
]

#: How a user gives the fake an object store, for messages of operations that need one.
HOW_TO_GIVE_ONE = (
    "give rclsim an S3 to read: a local folder (--s3-dir DIR, s3_dir= in Python, or RCLSIM_S3_DIR; "
    "s3://B/K is DIR/B/K), an S3 endpoint such as a moto server (--s3-endpoint-url URL, "
    "s3_endpoint_url=, or RCLSIM_S3_ENDPOINT_URL), or moto's mock_aws around the code"
)


class ObjectStore(Protocol):
    """Where the fake reads and writes S3 objects: the one protocol the core, the control plane,
    datasets and training read through."""

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        """The object's bytes; ``KeyError`` when there is no such object."""
        ...

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        """Write the object (replacing one); ``KeyError`` when the bucket does not exist."""
        ...

    def describe(self) -> str:
        """Where the objects are, for messages."""
        ...


def source_reader(store: ObjectStore) -> Callable[[str], bytes | None]:
    """A manifest's ``source-ref`` (``s3://B/K``) read through ``store``: its bytes, or None when it
    names no readable object (or is not an ``s3://`` reference)."""

    def read(source_ref: str) -> bytes | None:
        if not source_ref.startswith("s3://"):
            return None
        bucket, _, key = source_ref[len("s3://") :].partition("/")
        try:
            return store.get(bucket, key)
        except (KeyError, OSError):
            return None

    return read


class ObjectStoreError(RclsimError):
    """The object store cannot be used as given (an endpoint that does not answer, a key that would
    leave the folder): something for the user to fix, reported in one line."""

    wire_code = "ObjectStoreException"


# -- a local folder ---------------------------------------------------------------------------------
class FolderObjects:
    """``s3://B/K`` is the file ``ROOT/B/K`` (see the module's notes for what is refused)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"the folder {self.root}{os.sep} (s3://B/K is {self.root / 'B' / 'K'})"

    def _bucket_dir(self, bucket: str) -> Path | None:
        if not _safe_part(bucket):
            return None
        return self.root / bucket

    def _path(self, bucket: str, key: str) -> Path | None:
        """The file of ``s3://bucket/key``, or None when the names cannot be a file under the root."""
        folder = self._bucket_dir(bucket)
        if folder is None or not isinstance(key, str) or not key or key.startswith("/"):
            return None
        parts = key.split("/")
        if not all(_safe_part(p) for p in parts):
            return None
        return folder.joinpath(*parts)

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        if version is not None:
            raise KeyError(key)  # [U] a folder keeps no versions: see the module's notes
        path = self._path(bucket, key)
        if path is None:
            raise KeyError(key)
        try:
            # O_NONBLOCK: opening a pipe must not wait for a writer; only regular files are read.
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        except (OSError, ValueError):
            raise KeyError(key) from None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise KeyError(key)
            if hasattr(os, "set_blocking"):
                os.set_blocking(fd, True)
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read()
        except OSError:
            raise KeyError(key) from None
        finally:
            os.close(fd)

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        from rclsim.service.files import write_atomically

        path = self._path(bucket, key)
        if path is None:
            raise ObjectStoreError(
                f"cannot write s3://{bucket}/{key} in {self.describe()}: the bucket or key would name a "
                f"file outside its bucket's folder"
            )
        folder = self.root / bucket
        if not folder.is_dir():
            raise KeyError(bucket)  # the service writes only into a bucket that exists
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ObjectStoreError(
                f"cannot write s3://{bucket}/{key} as {path}: {exc.strerror or exc}"
            ) from None
        write_atomically(path, bytes(data), overwrite=True)  # S3 replaces an existing object


def _safe_part(part: str) -> bool:
    """Whether ``part`` names one entry of a folder, and only that one."""
    return (
        isinstance(part, str)
        and part not in ("", ".", "..")
        and "\x00" not in part
        and "\\" not in part
        and "/" not in part
        and (os.altsep is None or os.altsep not in part)
    )


# -- moto's in-process S3 ---------------------------------------------------------------------------
def moto_active() -> bool:
    """True while a moto mock is on (then S3 requests stay inside the process). Never imports moto."""
    models = sys.modules.get("moto.core.models")
    stubber = getattr(models, "botocore_stubber", None)
    return bool(getattr(stubber, "enabled", False))


class _MotoOff(Exception):
    """Raised before a request is sent when moto has been switched off: never reach real S3."""


def _refuse_unless_moto(**_: Any) -> None:
    if not moto_active():
        raise _MotoOff


class MotoObjects:
    """moto's in-process S3, as the object store, while a moto mock is on (``KeyError`` otherwise)."""

    def __init__(self, region: str | None = None) -> None:
        self._region = region
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return "moto's in-process S3"

    def _client(self) -> Any:
        region = self._region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        with self._lock:
            client = self._clients.get(region)
            if client is None:
                import boto3

                client = boto3.client("s3", region_name=region)
                # Checked before every request, before moto's own hook: moto may have been switched
                # off since the check in get/put, and then nothing may leave the process.
                client.meta.events.register_first("before-send.s3", _refuse_unless_moto)
                self._clients[region] = client
        return client

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        if not moto_active():
            raise KeyError(key)
        extra = {"VersionId": version} if version else {}
        try:
            body: bytes = self._client().get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        except (ClientError, BotoCoreError, _MotoOff):
            raise KeyError(key) from None
        return body

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if not moto_active():
            raise KeyError(bucket)
        try:
            self._client().put_object(Bucket=bucket, Key=key, Body=bytes(data), ContentType=content_type)
        except _MotoOff:
            raise KeyError(bucket) from None
        except ClientError as exc:
            if _code(exc) in _NO_BUCKET:
                raise KeyError(bucket) from None
            raise ObjectStoreError(f"cannot write s3://{bucket}/{key} in {self.describe()}: {exc}") from None
        except BotoCoreError as exc:
            raise ObjectStoreError(f"cannot write s3://{bucket}/{key} in {self.describe()}: {exc}") from None


_SHARED_MOTO = MotoObjects()


def moto_objects() -> MotoObjects:
    """The one :class:`MotoObjects` of the process: its boto3 clients are made once (a client costs
    milliseconds; a test suite enters moto's mock per test), and moto's hook serves them all."""
    return _SHARED_MOTO


_NO_BUCKET = frozenset({"NoSuchBucket", "404", "NotFound"})


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


# -- an S3-compatible endpoint ----------------------------------------------------------------------
class EndpointObjects:
    """An S3-compatible endpoint (a moto server on loopback, say), through boto3: path-style
    addressing, 2 attempts, short timeouts; the user's credentials if any are configured (other than
    an instance's, which are never probed for), else dummy ones (a moto server takes any)."""

    CONNECT_TIMEOUT = 2.0
    READ_TIMEOUT = 10.0

    def __init__(self, url: str, region: str | None = None) -> None:
        self.url = url
        self.region = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self._client_made: Any = None
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"the S3 endpoint {self.url}"

    def _client(self) -> Any:
        with self._lock:
            if self._client_made is None:
                self._client_made = _endpoint_client(self.url, self.region, self)
            return self._client_made

    def get(self, bucket: str, key: str, version: str | None = None) -> bytes:
        from botocore.exceptions import ClientError

        extra = {"VersionId": version} if version else {}
        try:
            body: bytes = self._client().get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
        except ClientError:
            raise KeyError(key) from None
        except Exception as exc:  # noqa: BLE001 - the endpoint is down or not S3: the user's to fix
            raise self._unreachable(exc) from None
        return body

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/json") -> None:
        from botocore.exceptions import ClientError

        try:
            self._client().put_object(Bucket=bucket, Key=key, Body=bytes(data), ContentType=content_type)
        except ClientError as exc:
            if _code(exc) in _NO_BUCKET:
                raise KeyError(bucket) from None
            raise ObjectStoreError(f"cannot write s3://{bucket}/{key} to {self.describe()}: {exc}") from None
        except Exception as exc:  # noqa: BLE001
            raise self._unreachable(exc) from None

    def _unreachable(self, exc: BaseException) -> ObjectStoreError:
        if isinstance(exc, ObjectStoreError):
            return exc
        return ObjectStoreError(
            f"cannot use {self.describe()}: {exc} (is the server running? a moto server: "
            f"'moto_server -p PORT')"
        )


def _endpoint_client(url: str, region: str, store: EndpointObjects) -> Any:
    import boto3
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    resolver = session.get_component("credential_provider")
    for name in ("iam-role", "container-role"):  # no probing of the instance-metadata address
        try:
            resolver.remove(name)
        except Exception:  # noqa: BLE001, S110 - a botocore without that provider: nothing to remove
            pass
    try:
        has_credentials = session.get_credentials() is not None
    except Exception:  # noqa: BLE001 - a broken profile: use dummy credentials, the endpoint is ours
        has_credentials = False
    config = Config(
        retries={"max_attempts": 2, "mode": "standard"},
        connect_timeout=store.CONNECT_TIMEOUT,
        read_timeout=store.READ_TIMEOUT,
        s3={"addressing_style": "path"},
    )
    credentials: dict[str, str] = {}
    if not has_credentials:
        credentials = {"aws_access_key_id": "rclsim", "aws_secret_access_key": "rclsim"}
    return boto3.session.Session(botocore_session=session).client(
        "s3", endpoint_url=url, region_name=region, config=config, **credentials
    )


# -- from the settings ------------------------------------------------------------------------------
def objects_from_settings(settings: Settings) -> ObjectStore | None:
    """The object store the settings describe: moto's in-process S3 while a moto mock is on, else
    the ``s3_endpoint_url`` endpoint, else the ``s3_dir`` folder (which must exist), else None."""
    if moto_active():
        return moto_objects()
    if settings.s3_endpoint_url:
        return EndpointObjects(settings.s3_endpoint_url, settings.region)
    if settings.s3_dir is not None:
        if not settings.s3_dir.is_dir():
            given = settings.origin.get("s3_dir", settings.option("s3_dir"))
            reason = "is not a folder" if settings.s3_dir.exists() else "does not exist"
            raise RclsimError(
                f"{given}={settings.s3_dir} {reason} (the folder where s3://B/K is the file B/K in it)"
            )
        return FolderObjects(settings.s3_dir)
    return None
