"""One recording (or plain response beside an image): :class:`Recording`, and :class:`ImageRef`, what
identifies the image of a request.

Every file is checked against its schema when first loaded; the verdict for a valid file is cached by
content hash under the user's cache folder (``RCLSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/rclsim`` or
``~/.cache/rclsim``), never inside the installed package. Broken files are reported with their path,
never skipped silently.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from rclsim.caches.kept import kept
from rclsim.caches.verdicts import known_valid, remember_valid
from rclsim.data.imageinfo import NotAnImage, read_image_info
from rclsim.fake.labelcopy import copy_labels
from rclsim.fake.recordings.answer_files import read_answer_json
from rclsim.service.errors import RecordingError
from rclsim.service.schemas import recording_problems, response_problems

__all__ = ["ImageRef", "Recording", "image_ref_from_param", "sha256_hex"]


@dataclass(frozen=True, init=False)
class ImageRef:
    """What identifies the image of one request: its S3 location and/or the sha256 of its bytes.

    ``data`` is the request's bytes, when the caller has them, for what needs the pixels (the opt-in
    pixel match, the not-found message's size check); it takes no part in equality, hashing or repr:
    the image is identified by its location and hash, and a repr must not print 4 MiB."""

    bucket: str | None = None
    key: str | None = None
    version: str | None = None
    sha256: str | None = None
    data: bytes | bytearray | memoryview | None = field(default=None, compare=False, repr=False)

    def __init__(
        self,
        bucket: str | None = None,
        key: str | None = None,
        version: str | None = None,
        sha256: str | None = None,
        data: bytes | bytearray | memoryview | None = None,
    ) -> None:
        # One update of the instance's dict, not a frozen dataclass's object.__setattr__ per field: a
        # reference is made on every detect call, and this makes five fields cheaper than four were.
        self.__dict__.update(bucket=bucket, key=key, version=version, sha256=sha256, data=data)

    def describe(self) -> str:
        parts = []
        if self.bucket is not None:
            where = f"s3://{self.bucket}/{self.key}"
            parts.append(where + (f" (version {self.version})" if self.version else ""))
        if self.sha256 is not None:
            parts.append(f"bytes with sha256 {self.sha256}")
        return " / ".join(parts) or "an image"


class Recording:
    """One recording (or sidecar response): its key, and its labels, highest confidence first.

    A store builds recordings from its index without reading the files; the labels are read from the
    file the first time they are needed (and kept). Treat as read-only."""

    def __init__(
        self,
        *,
        path: Path,
        project_version_arn: str | None,  # None: a NAME.json beside NAME.jpg, answering for any model
        region: str | None,
        image: ImageRef,
        width: int | None,
        height: int | None,
        min_confidence: float | None,  # the request's MinConfidence; None when omitted
        max_results: int | None,
        recorded_at: str | None,
        labels: tuple[dict[str, Any], ...] | None = None,
        sidecar_relpath: PurePosixPath | None = None,  # a plain response's path without .json
        lowest_confidence: float | None = None,
        label_count: int | None = None,
    ) -> None:
        self.path = path
        self.project_version_arn = project_version_arn
        self.region = region
        self.image = image
        self.width = width
        self.height = height
        self.min_confidence = min_confidence
        self.max_results = max_results
        self.recorded_at = recorded_at
        self.sidecar_relpath = sidecar_relpath
        self._labels = labels
        self._lowest = lowest_confidence
        self._count = label_count

    def __repr__(self) -> str:
        return f"Recording({self.path}, {self.project_version_arn}, {self.image.describe()})"

    @property
    def labels(self) -> tuple[dict[str, Any], ...]:
        if self._labels is None:
            # Read once per process while the file is unchanged (a fresh store per test); this
            # Recording gets its own copy, so nothing done to it reaches another store.
            self._labels = tuple(copy_labels(kept("labels", self.path, self._read_labels)))
        return self._labels

    def _read_labels(self) -> tuple[dict[str, Any], ...]:
        data, digest = read_answer_json(self.path)
        _check(
            self.path,
            digest,
            response_problems if self.project_version_arn is None else recording_problems,
            data,
        )
        raw = data["CustomLabels"] if self.project_version_arn is None else data["response"]["CustomLabels"]
        return _by_confidence(raw)

    @property
    def label_count(self) -> int:
        return self._count if self._count is not None else len(self.labels)

    @functools.cached_property
    def confidence_floor(self) -> float:
        """The lowest confidence the recording can speak for: the request's MinConfidence, or when
        omitted, the lowest confidence it holds (100 for an empty recording)."""
        if self.min_confidence is not None:
            return float(self.min_confidence)
        if self._lowest is not None and self._labels is None:
            return self._lowest
        return min((float(label["Confidence"]) for label in self.labels), default=100.0)


def _by_confidence(labels: Any) -> tuple[dict[str, Any], ...]:
    """Labels highest confidence first, as the service returns them (stable: ties keep the recorded
    order). Sorted once when loaded, so answering needs no sort."""
    return tuple(sorted(labels, key=lambda label: -label["Confidence"]))


def _check(path: Path, digest: str, problems_of: Any, data: Any) -> None:
    if known_valid(digest):
        return
    problems = problems_of(data)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RecordingError(f"{path}: fails the schema at {first.path}: {first.message}{more}")
    remember_valid(digest)


def _load_recording(path: Path, data: Any, digest: str) -> Recording:
    _check(path, digest, recording_problems, data)
    request, image = data["request"], data["image"]
    s3 = image.get("S3Object") or {}
    return Recording(
        path=path,
        project_version_arn=request["ProjectVersionArn"],
        region=data["region"],
        image=ImageRef(s3.get("Bucket"), s3.get("Name"), s3.get("Version"), image.get("Sha256")),
        width=image["Width"],
        height=image["Height"],
        min_confidence=request["MinConfidence"],
        max_results=request["MaxResults"],
        recorded_at=data["recorded_at"],
        labels=_by_confidence(data["response"]["CustomLabels"]),
    )


def _load_sidecar(
    path: Path, data: Any, digest: str, image_path: Path | None, name: PurePosixPath
) -> Recording:
    _check(path, digest, response_problems, data)
    width: int | None = None
    height: int | None = None
    sha: str | None = None
    if image_path is not None:
        try:
            image_bytes = image_path.read_bytes()
        except OSError as exc:
            raise RecordingError(f"{image_path}: cannot read: {exc.strerror or exc}") from None
        sha = hashlib.sha256(image_bytes).hexdigest()
        try:
            info = read_image_info(image_bytes)
            width, height = info.width, info.height
        except NotAnImage:
            pass  # still matchable by its bytes' hash
    return Recording(
        path=path,
        project_version_arn=None,
        region=None,
        image=ImageRef(sha256=sha),
        width=width,
        height=height,
        min_confidence=None,
        max_results=None,
        recorded_at=None,
        labels=_by_confidence(data["CustomLabels"]),
        sidecar_relpath=name,
    )


def image_ref_from_param(
    image: Mapping[str, Any], sha256: str | None = None, data: bytes | None = None
) -> ImageRef:
    """The :class:`ImageRef` of a request's ``Image`` parameter, with its bytes: ``Image.Bytes``, or
    ``data`` (an S3 object's bytes, when the caller read them)."""
    s3 = image.get("S3Object")
    if s3:
        return ImageRef(s3.get("Bucket"), s3.get("Name"), s3.get("Version"), sha256, data)
    return ImageRef(sha256=sha256, data=image.get("Bytes") if data is None else data)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
