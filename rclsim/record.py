"""Record mode: live DetectCustomLabels responses saved as recordings that the replay backend finds.

With the aws backend and ``--record-mode``, each DetectCustomLabels call is answered through a
recordings folder (the first ``--recordings DIR``), with VCR.py's record modes:

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
time and every later replay are identical. Recordings hold no credentials, tokens, signatures,
``Authorization`` headers or request ids (``ResponseMetadata`` is dropped), and the 12-digit account id
in ARNs is masked as ``000000000000`` unless ``mask_account=False``; the replay backend matches a
masked recording for any account. Other operations (start, stop, describe) go to AWS unrecorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from .apimodel import mask_account, parse_version_arn
from .backends.base import Backend
from .errors import RclsimError, service_error
from .files import write_atomically
from .imageinfo import NotAnImage, read_image_info
from .recordings import ImageRef, image_ref_from_param
from .schemas import recording_problems, response_problems

__all__ = ["RECORD_MODES", "RecordingBackend"]

RECORD_MODES = ("none", "once", "new", "all")
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _slug(text: str) -> str:
    return _SAFE.sub("_", text).strip("_")[:80] or "image"


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
    ) -> None:
        if mode not in RECORD_MODES:
            raise RclsimError(f"unknown record mode {mode!r}; choose one of {', '.join(RECORD_MODES)}")
        self.live = live
        self.folder = Path(folder)
        self.mode = mode
        self.mask = mask
        self.strict = strict
        self._s3 = s3_client
        if not self.folder.is_dir():
            raise RclsimError(f"{self.folder}: recordings folder for record mode does not exist")

    # -- the Backend interface ---------------------------------------------------------------------
    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation != "DetectCustomLabels":
            if self.mode == "none":
                raise service_error(
                    "UnsupportedOperationException",
                    f"record mode 'none' never calls AWS; {operation} has no recording",
                    operation,
                )
            return self.live.call(operation, params)
        from botocore.validate import validate_parameters

        from .apimodel import operation_model

        validate_parameters(params, operation_model(operation).input_shape)
        arn = params["ProjectVersionArn"]
        image = params["Image"]
        replay = self._replay()
        if self.mode == "none":
            return replay.detect_custom_labels(**params)  # type: ignore[no-any-return]
        if self.mode in ("once", "new"):
            data = self._image_bytes(image) if "Bytes" in image else None
            key = image_ref_from_param(image, hashlib.sha256(data).hexdigest() if data is not None else None)
            if replay.store.find(arn, key):
                return replay.detect_custom_labels(**params)  # type: ignore[no-any-return]
        ref, size, fmt = self._identify(image)
        live = self.live.call(operation, {"ProjectVersionArn": arn, "Image": image, "MinConfidence": 0})
        self._save(arn, ref, size, fmt, live)
        return self._replay().detect_custom_labels(**params)

    def close(self) -> None:
        self.live.close()

    @property
    def region(self) -> str | None:
        return getattr(self.live, "region", None)

    def wait_until_running(self, project_arn: str, version_name: str, *, progress: Any = None) -> str:
        return self.live.wait_until_running(project_arn, version_name, progress=progress)

    # -- helpers ------------------------------------------------------------------------------------
    def _replay(self) -> Any:
        """A fake over this folder alone (no built-in fixtures) in which every model runs: the model is
        real and running on AWS; only the recording may be missing."""
        from .backends.fake import FakeBackend
        from .core import FakeRekognition, ReplaySource
        from .recordings import RecordingStore

        mode = self.mode

        class Source(ReplaySource):
            def knows_model(self, project_version_arn: str) -> bool:
                return True

            def not_found_message(self, project_version_arn: str, image: ImageRef) -> str:
                return (
                    f"record mode {mode!r} has no recording for model {project_version_arn} and "
                    f"{image.describe()} in {self.store.describe()}"
                    + ("; it never calls AWS: use --record-mode once to record it" if mode == "none" else "")
                )

        store = RecordingStore([self.folder], include_builtin=False)
        backend = FakeBackend(FakeRekognition(Source(store), strict=self.strict))
        backend.store = store  # type: ignore[attr-defined]
        return backend

    def _image_bytes(self, image: dict[str, Any]) -> bytes | None:
        if "Bytes" in image:
            blob = image["Bytes"]
            return (
                blob.read()
                if hasattr(blob, "read")
                else (blob.encode() if isinstance(blob, str) else bytes(blob))
            )
        s3 = image.get("S3Object") or {}
        if self._s3 is None:
            import boto3

            self._s3 = boto3.client("s3", region_name=getattr(self.live, "region", None))
        extra = {"VersionId": s3["Version"]} if s3.get("Version") else {}
        try:
            body: bytes = self._s3.get_object(Bucket=s3["Bucket"], Key=s3["Name"], **extra)["Body"].read()
        except Exception as exc:  # the recording then has no size or hash, which the schema needs
            raise RclsimError(
                f"record mode reads s3://{s3.get('Bucket')}/{s3.get('Name')} for its size and hash: {exc}"
            ) from None
        return body

    def _identify(self, image: dict[str, Any]) -> tuple[ImageRef, tuple[int, int], str | None]:
        data = self._image_bytes(image)
        assert data is not None
        try:
            info = read_image_info(data)
        except NotAnImage as exc:
            raise service_error(
                "InvalidImageFormatException",
                f"Request has invalid image format: {exc}",
                "DetectCustomLabels",
            ) from None
        ref = image_ref_from_param(image, hashlib.sha256(data).hexdigest())
        return ref, (info.width, info.height), info.format

    def _save(
        self, arn: str, ref: ImageRef, size: tuple[int, int], fmt: str | None, response: dict[str, Any]
    ) -> Path:
        body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
        problems = response_problems(body)
        if problems:
            raise service_error(
                "ResponseSchemaException",
                f"the live response fails rclsim's schema, not recorded: {problems[0]}",
                "DetectCustomLabels",
            )
        stored_arn = mask_account(arn) if self.mask else arn
        parsed = parse_version_arn(arn)
        image: dict[str, Any] = {"Width": size[0], "Height": size[1]}
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
            "operation": "DetectCustomLabels",
            "recorded_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": parsed.region if parsed else "us-east-1",
            "request": {"ProjectVersionArn": stored_arn, "MinConfidence": 0, "MaxResults": None},
            "image": image,
            "response": body,
            "note": "recorded by rclsim record mode at MinConfidence 0",
        }
        assert not recording_problems(recording), recording_problems(recording)
        version = parsed.version_name if parsed else "model"
        key = ref.key or f"bytes-{(ref.sha256 or '')[:16]}"
        digest = hashlib.sha256(
            json.dumps([stored_arn, ref.bucket, ref.key, ref.version, ref.sha256]).encode()
        )
        path = self.folder / _slug(version) / f"{_slug(Path(key).name)}-{digest.hexdigest()[:12]}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        # Re-recording a key (mode 'all') replaces its own recording: that is what the mode asks for.
        return write_atomically(
            path, (json.dumps(recording, indent=2) + "\n").encode("utf-8"), overwrite=True
        )
