"""The store: :class:`RecordingStore` finds the recordings that answer for a model and an image.

Its folders are the ones given (the front-ends resolve ``--recordings``/``RCLSIM_RECORDINGS`` through
:func:`rclsim.config.setting`) and by default the article's recordings shipped with rclsim
(:func:`builtin_recordings_dir`).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from rclsim.fake.recordings.answer_files import rank_by_key
from rclsim.fake.recordings.index import _FolderIndex
from rclsim.fake.recordings.recording import ImageRef, Recording
from rclsim.service.apimodel import account_of, mask_account, mask_account_everywhere, mask_arn
from rclsim.service.errors import RecordingError

__all__ = ["RecordingStore", "builtin_recordings_dir"]


@functools.lru_cache(maxsize=1)
def builtin_recordings_dir() -> Path:
    """The article's recordings, shipped as package data (``rclsim.fixtures``, which the wheel maps
    from the repository's top-level ``fixtures/``); imported from a source checkout instead, they are
    that folder itself."""
    try:
        return Path(str(resources.files("rclsim.fixtures").joinpath("article")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[3] / "fixtures" / "article"


class RecordingStore:
    """Recordings from one or more folders (searched in order) plus, by default, the built-in ones.

    Folders are scanned once, on first use; create a new store to see files added later.
    """

    def __init__(self, dirs: Iterable[str | os.PathLike[str]] = (), *, include_builtin: bool = True):
        self.dirs: list[Path] = [Path(d) for d in dirs]
        for folder in self.dirs:
            if not folder.is_dir():
                raise RecordingError(f"{folder}: recordings folder does not exist or is not a folder")
        if include_builtin:
            self.dirs.append(builtin_recordings_dir())
        self._recordings: list[Recording] | None = None
        self._lock = threading.Lock()  # the local endpoint answers from several threads
        self._by_s3: dict[tuple[str, str], list[Recording]] = {}
        self._by_sha: dict[str, list[Recording]] = {}
        self._models: set[str] = set()
        self._sidecars: list[Recording] = []

    # -- loading -------------------------------------------------------------------------------
    def _load(self) -> list[Recording]:
        if self._recordings is not None:
            return self._recordings
        with self._lock:
            if self._recordings is None:
                self._scan()
        assert self._recordings is not None
        return self._recordings

    def _scan(self) -> None:
        loaded: list[Recording] = []
        for root in self.dirs:
            loaded.extend(_FolderIndex(root).recordings())
        for rec in loaded:
            if rec.project_version_arn is None:
                self._sidecars.append(rec)
            else:
                self._models.add(rec.project_version_arn)
            if rec.image.bucket is not None and rec.image.key is not None:
                self._by_s3.setdefault((rec.image.bucket, rec.image.key), []).append(rec)
            if rec.image.sha256 is not None:
                self._by_sha.setdefault(rec.image.sha256, []).append(rec)
        self._recordings = loaded

    # -- queries -------------------------------------------------------------------------------
    def __iter__(self) -> Any:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def models(self) -> set[str]:
        """ARNs that some recording names."""
        self._load()
        return set(self._models)

    def knows_model(self, project_version_arn: str) -> bool:
        """True when a recording names this model (as asked, or with its account id masked: see
        :meth:`find`), or a sidecar response can answer for any model."""
        self._load()
        return any(arn in self._models for arn in _model_keys(project_version_arn)[0]) or bool(self._sidecars)

    def find(self, project_version_arn: str, image: ImageRef) -> list[Recording]:
        """Recordings that answer for this model and image, best match first: recordings made for
        this model before plain responses, an exact S3 version before a version-less one, a plain
        response whose image has these bytes before one matched by its name (:func:`rank_by_key`).

        Record mode masks the model's account id wherever it appears as a whole number (the ARN's
        account field, project and version names, the S3 bucket, key and version; the one rule of
        :func:`~rclsim.service.apimodel.mask_account_everywhere`), so a recording is also looked up with the
        request's ARN and S3 object masked that way. A masked recording answers for any account:
        ``000000000000`` no longer says whose it was."""
        self._load()
        arns, account = _model_keys(project_version_arn)
        exact: list[Recording] = []
        loose: list[Recording] = []
        bucket, key, version = image.bucket, image.key, image.version
        if bucket is not None and key is not None:
            recs: list[Recording] = self._by_s3.get((bucket, key), [])
            versions: tuple[str | None, ...] = (version,)
            # Cheap on the hot path: only an S3 object that names the account id is masked.
            if account is not None and (account in bucket or account in key or account in (version or "")):
                masked_bucket, masked_key, masked_version = _masked_location(account, bucket, key, version)
                versions = (version, masked_version)
                if (masked_bucket, masked_key) != (bucket, key):
                    recs = recs + self._by_s3.get((masked_bucket, masked_key), [])
            for rec in recs:
                (exact if rec.image.version in versions else loose).append(rec)
        if image.sha256 is not None:
            exact.extend(r for r in self._by_sha.get(image.sha256, []) if r not in exact)
        found = [r for r in exact + loose if r.project_version_arn in arns]
        if key is not None and self._sidecars:
            by_key = rank_by_key(
                key,
                (r for r in self._sidecars if r.sidecar_relpath is not None),
                lambda r: r.sidecar_relpath.parts,
            )
            found.extend(r for r in by_key if r not in found)
        if len(found) > 1:
            found.sort(key=lambda r: r.project_version_arn is None)  # stable: model-specific first
        return found

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs) or "(no folders)"


@functools.lru_cache(maxsize=1024)  # on the detect path: the same few ARNs, call after call
def _model_keys(arn: str) -> tuple[tuple[str | None, ...], str | None]:
    """The model ARNs a recording may name to answer for ``arn`` (itself; masked in the account field
    only, as record mode once did; masked everywhere, as it does now; None: a plain response), and
    the account id to mask in the S3 object (None: nothing to mask)."""
    arns = tuple(dict.fromkeys((arn, mask_account(arn), mask_arn(arn)))) + (None,)
    return arns, account_of(arn)


@functools.lru_cache(maxsize=1024)  # a test asks for the same few objects, call after call
def _masked_location(account: str, bucket: str, key: str, version: str | None) -> tuple[str, str, str | None]:
    """An S3 object's bucket, key and version with ``account`` masked, as record mode saves them."""
    masked: list[Any] = mask_account_everywhere([bucket, key, version], account)
    return masked[0], masked[1], masked[2]
