"""Record mode: live DetectCustomLabels responses saved as recordings that the replay backend finds.

With the aws backend and ``--record-mode``, each DetectCustomLabels call is answered through a
recordings folder (the first ``--recordings DIR``, made with its parents if missing), with VCR.py's
record modes:

=======  ==========================================================================================
mode     what happens for a (model, image) key
=======  ==========================================================================================
none     replay only: never call AWS; a key without a recording is ``RecordingNotFoundException``
once     replay the key's recording if there is one; otherwise call AWS once and record it
new      the same as ``once`` per key (VCR.py tells them apart per cassette file; here every
         recording is its own file)
all      always call AWS and record again, replacing the key's recording
=======  ==========================================================================================

Without ``--record-mode`` the aws backend records nothing. A live call is made at ``MinConfidence``
0 with no ``MaxResults``, so the recording can replay any threshold; the caller's own
``MinConfidence``/``MaxResults`` are then applied to it by the fake core, so the answer at recording
time and every later replay are identical. A request the service would refuse (a ``ValidationException``
from the API's own patterns and limits) is refused before any live call.

**What is saved.** Recordings hold no credentials, tokens, signatures, ``Authorization`` headers or
request ids (``ResponseMetadata`` is dropped). Unless ``mask_account=False``, the 12-digit account id
of the model's ARN is replaced by ``000000000000`` wherever it appears as a whole number in what is
saved: the ARN's account field, project and version names, the S3 bucket, key and version, text in the
response, and the recording's file and folder names (the one rule of
:func:`rclsim.service.apimodel.mask_account_everywhere`). The replay backend, asked with the real names, masks
them by the same rule to find the recording; a masked recording answers for any account.

**Where it is saved.** ``<folder>/<version name>/<image name>-<digest>.json``, with every name made
safe (only ``A-Za-z0-9_.-``, no leading or trailing dots, no Windows device names); every path is
resolved and must lie inside the recordings folder, so a symbolic link inside it that leads elsewhere
is refused, before the live call when it is the version's folder.

**S3 images.** For an ``S3Object`` image, record mode reads the object for its size and sha256 (so the
replay backend also finds the recording by the image's bytes) with an S3 client made from the aws
backend's profile and region, at the S3 endpoint the user configured: an explicit ``s3_endpoint_url``,
else an S3-specific setting (``AWS_ENDPOINT_URL_S3`` or the profile's ``services`` section), else the
backend's ``endpoint_url`` (``--endpoint-url``), else botocore's own resolution (``AWS_ENDPOINT_URL``,
the profile's ``endpoint_url``, then AWS). The read happens after the live call; if it fails, the
user still gets the live answer and the recording is keyed by the S3 location (bucket, name, version)
alone, with a :class:`RecordedByKeyWarning` that says so (its ``Width``/``Height``, which the format
requires, are then 1, and its ``note`` says they are unknown). Other operations (start, stop,
describe) go to AWS unrecorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import warnings
from pathlib import Path, PurePosixPath
from typing import Any

from rclsim.backends.base import Backend
from rclsim.data.imageinfo import NotAnImage, read_image_info
from rclsim.fake.core import check_image_bytes
from rclsim.fake.recordings import ImageRef, image_ref_from_param
from rclsim.service.apimodel import account_of, mask_account_everywhere, parse_version_arn
from rclsim.service.errors import RclsimError, service_error
from rclsim.service.files import write_atomically
from rclsim.service.schemas import recording_problems, response_problems

__all__ = ["RECORD_MODES", "RecordingBackend", "RecordedByKeyWarning", "mask_account_everywhere"]

RECORD_MODES = ("none", "once", "new", "all")
DETECT = "DetectCustomLabels"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_TRIM = "._-"
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{p}{i}" for p in ("COM", "LPT") for i in range(1, 10)]
)


class RecordedByKeyWarning(UserWarning):
    """Record mode could not read an S3 image for its size and hash: the recording is keyed by the
    image's S3 location alone."""


# -- safe names ---------------------------------------------------------------------------------------
def _safe_name(text: str, fallback: str) -> str:
    """One path component from ``text``: only ``A-Za-z0-9_.-``, no leading or trailing dots (so never
    ``.`` or ``..``, never hidden), at most 80 characters, never a Windows device name."""
    name = _SAFE.sub("_", text).strip(_TRIM)[:80].rstrip(_TRIM) or fallback
    if name.split(".")[0].upper() in _WINDOWS_DEVICES:
        name = "_" + name
    return name


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _prepare_folder(folder: Path) -> Path:
    """``folder`` made (with its parents) if missing, resolved; a clear error if a file is in the way."""
    if folder.is_dir():
        return folder.resolve()
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocker is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
            if blocker is None:
                raise RclsimError(
                    f"{folder}: cannot make the recordings folder for record mode: {exc.strerror or exc}"
                ) from None
    if blocker is not None:
        raise RclsimError(
            f"{blocker}: is a file, not a folder; record mode needs --recordings to name a folder "
            f"(made if missing): move the file or choose another path"
        )
    return folder.resolve()


class RecordingBackend(Backend):
    """The aws backend behind a recordings folder, in one of :data:`RECORD_MODES`."""

    name = "aws"

    def __init__(
        self,
        live: Backend,
        folder: str | os.PathLike[str],
        mode: str,
        *,
        mask: bool = True,
        strict: bool = False,
        s3_client: Any = None,
        s3_endpoint_url: str | None = None,
    ) -> None:
        if mode not in RECORD_MODES:
            raise RclsimError(f"unknown record mode {mode!r}; choose one of {', '.join(RECORD_MODES)}")
        self.live = live
        self.folder = Path(folder)
        self.mode = mode
        self.mask = mask
        self.strict = strict
        self.s3_endpoint_url = s3_endpoint_url
        self._s3 = s3_client
        self._own_s3 = False
        self.root = _prepare_folder(self.folder)

    # -- the Backend interface ---------------------------------------------------------------------
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation != DETECT:
            if self.mode == "none":
                raise service_error(
                    "UnsupportedOperationException",
                    f"record mode 'none' never calls AWS; {operation} has no recording",
                    operation,
                )
            return self.live.call(operation, params)
        from botocore.validate import validate_parameters

        from rclsim.service.apimodel import operation_model

        validate_parameters(params, operation_model(operation).input_shape)
        params = dict(params)
        image = dict(params["Image"])
        data = _bytes_of(image["Bytes"]) if "Bytes" in image else None
        if data is not None:
            image["Bytes"] = data  # read once: a file object would be empty the second time
        params["Image"] = image
        _check_like_the_service(params)
        arn = params["ProjectVersionArn"]
        account = account_of(arn) if self.mask else None
        asked = mask_account_everywhere(params, account) if account else params  # how recordings are keyed
        if data is not None:
            asked["Image"]["Bytes"] = data
        replay = self._replay(arn)
        if self.mode != "all":
            # Recorded masked, or unmasked (--no-mask-account, or written by hand): either answers.
            sha = _sha256(data) if data is not None else None
            for request in (asked, params) if asked is not params else (params,):
                if replay.store.find(
                    request["ProjectVersionArn"], image_ref_from_param(request["Image"], sha)
                ):
                    return replay.detect_custom_labels(**request)  # type: ignore[no-any-return]
            if self.mode == "none":
                return replay.detect_custom_labels(**params)  # type: ignore[no-any-return]  # not found
        stored_arn = asked["ProjectVersionArn"]
        folder = self._version_folder(stored_arn)  # made and checked before AWS is asked
        size: tuple[int, int] | None = None
        fmt: str | None = None
        if data is not None:
            info = check_image_bytes(data)  # an image the service would refuse costs no live call
            size, fmt = (info.width, info.height), info.format
        live = self.live.call(operation, {"ProjectVersionArn": arn, "Image": image, "MinConfidence": 0})
        note = "recorded by rclsim record mode at MinConfidence 0"
        if data is None:
            data, size, fmt, why = self._read_s3(image["S3Object"])
            if data is None:
                s3 = image["S3Object"]
                warnings.warn(
                    f"record mode could not read s3://{s3['Bucket']}/{s3['Name']} for the image's size "
                    f"and hash ({why}); recorded the live answer by its key (bucket, name and version) "
                    "only: replay finds it by that S3 location, not by the image's bytes",
                    RecordedByKeyWarning,
                    stacklevel=3,
                )
                note += (
                    f"; keyed by S3 location only (the image could not be read: {why}); "
                    "Width and Height are unknown (1)"
                )
        ref = image_ref_from_param(asked["Image"], _sha256(data) if data is not None else None)
        self._save(folder, stored_arn, account, ref, size, fmt, live, note)
        return self._replay(arn).detect_custom_labels(**asked)  # type: ignore[no-any-return]

    def close(self) -> None:
        if self._own_s3 and self._s3 is not None:
            close = getattr(self._s3, "close", None)
            if close is not None:
                close()
        self.live.close()

    @property
    def region(self) -> str | None:
        return getattr(self.live, "region", None)

    def wait_until_running(self, project_arn: str, version_name: str, *, progress: Any = None) -> str:
        return self.live.wait_until_running(project_arn, version_name, progress=progress)

    # -- helpers ------------------------------------------------------------------------------------
    def _replay(self, shown_arn: str | None = None) -> Any:
        """A fake over this folder alone (no built-in fixtures) in which every model runs: the model is
        real and running on AWS; only the recording may be missing."""
        from rclsim.backends.fake import FakeBackend
        from rclsim.fake.core import FakeRekognition, ReplaySource
        from rclsim.fake.recordings import RecordingStore

        mode = self.mode

        class Source(ReplaySource):
            def knows_model(self, project_version_arn: str) -> bool:
                return True

            def not_found_message(self, project_version_arn: str, image: ImageRef) -> str:
                return (
                    f"record mode {mode!r} has no recording for model {shown_arn or project_version_arn} "
                    f"and {image.describe()} in {self.store.describe()}"
                    + ("; it never calls AWS: use --record-mode once to record it" if mode == "none" else "")
                )

        store = RecordingStore([self.folder], include_builtin=False)
        # asked as a client of the live backend's region: another region's model is not found there
        backend = FakeBackend(FakeRekognition(Source(store), strict=self.strict), region=self.region)
        backend.store = store  # type: ignore[attr-defined]
        return backend

    def _inside(self, path: Path, what: str) -> Path:
        """``path`` resolved, or a one-line refusal when it leads outside the recordings folder."""
        real = path.resolve()
        if not _within(real, self.root):
            raise RclsimError(
                f"record mode refuses to write {what} {path}: it resolves to {real}, outside the "
                f"recordings folder {self.root}; remove the link or choose another --recordings folder"
            )
        return real

    def _version_folder(self, stored_arn: str) -> Path:
        parsed = parse_version_arn(stored_arn)
        folder = self.root / _safe_name(parsed.version_name if parsed else "model", "model")
        self._inside(folder, "into")
        try:
            folder.mkdir(exist_ok=True)
        except OSError as exc:
            raise RclsimError(f"cannot make {folder} for a recording: {exc.strerror or exc}") from None
        if not folder.is_dir():
            raise RclsimError(f"cannot make {folder} for a recording: a file is in the way")
        self._inside(folder, "into")
        return folder

    def _s3_client(self) -> Any:
        if self._s3 is None:
            import boto3
            import botocore.session

            core = botocore.session.Session(profile=getattr(self.live, "profile", None))
            region = getattr(self.live, "region", None)
            session = boto3.Session(botocore_session=core, region_name=region)
            endpoint = (
                self.s3_endpoint_url
                or _s3_specific_endpoint(core)
                or getattr(self.live, "endpoint_url", None)
                or None  # botocore's own resolution: AWS_ENDPOINT_URL, the profile, then AWS
            )
            self._s3 = session.client("s3", region_name=region, endpoint_url=endpoint)
            self._own_s3 = True
        return self._s3

    def _read_s3(self, s3: dict[str, Any]) -> tuple[bytes | None, tuple[int, int] | None, str | None, str]:
        """The object's bytes, size and format; or Nones and why it could not be read."""
        extra = {"VersionId": s3["Version"]} if s3.get("Version") else {}
        try:
            body = self._s3_client().get_object(Bucket=s3["Bucket"], Key=s3["Name"], **extra)["Body"]
            data = body.read()
            info = read_image_info(data)
        except NotAnImage as exc:
            return None, None, None, f"it is not an image rclsim can read: {exc}"
        except Exception as exc:  # noqa: BLE001 - any failure: the live answer is still the user's
            return None, None, None, " ".join(str(exc).split()) or type(exc).__name__
        return data, (info.width, info.height), info.format, ""

    def _save(
        self,
        folder: Path,
        stored_arn: str,
        account: str | None,
        ref: ImageRef,
        size: tuple[int, int] | None,
        fmt: str | None,
        response: dict[str, Any],
        note: str,
    ) -> Path:
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        problems = response_problems(body)
        if problems:
            raise service_error(
                "ResponseSchemaException",
                f"the live response fails rclsim's schema, not recorded: {problems[0]}",
                DETECT,
            )
        body = mask_account_everywhere(body, account)
        parsed = parse_version_arn(stored_arn)
        image: dict[str, Any] = {"Width": size[0] if size else 1, "Height": size[1] if size else 1}
        if ref.bucket is not None:
            image["S3Object"] = {"Bucket": ref.bucket, "Name": ref.key}
            if ref.version:
                image["S3Object"]["Version"] = ref.version
        if ref.sha256:
            image["Sha256"] = ref.sha256
        if fmt:
            image["Format"] = fmt
        recording = {
            "format": "rclsim.recording",
            "format_version": 1,
            "operation": DETECT,
            "recorded_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": parsed.region if parsed else "us-east-1",
            "request": {"ProjectVersionArn": stored_arn, "MinConfidence": 0, "MaxResults": None},
            "image": image,
            "response": body,
            "note": mask_account_everywhere(note, account),  # an S3 error may name the bucket
        }
        problems = recording_problems(recording)
        if problems:  # the request was checked as the service checks it: this is rclsim's own bug
            raise RclsimError(
                f"record mode made a recording that fails its schema, not written: {problems[0]}"
            )
        key = ref.key or f"bytes-{(ref.sha256 or '')[:16]}"
        digest = hashlib.sha256(
            json.dumps([stored_arn, ref.bucket, ref.key, ref.version, ref.sha256]).encode()
        )
        name = _safe_name(PurePosixPath(key.replace("\\", "/")).name, "image")
        path = folder / f"{name}-{digest.hexdigest()[:12]}.json"
        self._inside(path, "to")
        # Re-recording a key (mode 'all') replaces its own recording: that is what the mode asks for.
        return write_atomically(
            path, (json.dumps(recording, indent=2) + "\n").encode("utf-8"), overwrite=True
        )


def _bytes_of(blob: Any) -> bytes:
    if hasattr(blob, "read"):
        data = blob.read()
        return data.encode() if isinstance(data, str) else bytes(data)
    return blob.encode() if isinstance(blob, str) else bytes(blob)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_like_the_service(params: dict[str, Any]) -> None:
    """The service's own parameter checks (patterns, lengths, ranges): a request it would refuse is
    refused here, before a live call, and its names never reach a file path."""
    from rclsim.service.constraints import require_valid

    require_valid(DETECT, params)


def _s3_specific_endpoint(core: Any) -> str | None:
    """The endpoint configured for S3 alone (``AWS_ENDPOINT_URL_S3``, or the profile's ``services``
    section), as botocore resolves it, leaving out the settings for every service."""
    try:
        if core.get_config_variable("ignore_configured_endpoint_urls"):
            return None
        from botocore.configprovider import ConfiguredEndpointProvider

        environ = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
        scoped = {k: v for k, v in core.get_scoped_config().items() if k != "endpoint_url"}
        provider = ConfiguredEndpointProvider(
            full_config=core.full_config, scoped_config=scoped, client_name="s3", environ=environ
        )
        url = provider.provide()
    except Exception:  # noqa: BLE001 - a broken profile fails the S3 read itself, which says why
        return None
    return str(url) if url else None
