"""The store: :class:`RecordingStore` finds the recordings that answer for a model and an image.

Its folders are the ones given, ``RCLSIM_RECORDINGS`` (:func:`recording_dirs_from_env`) for those who
read it, and by default the article's recordings shipped with rclsim (:func:`builtin_recordings_dir`).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from ..apimodel import mask_account
from ..errors import RecordingError
from .answer_files import rank_by_key
from .index import _FolderIndex
from .recording import ImageRef, Recording

__all__ = ["RecordingStore", "builtin_recordings_dir", "recording_dirs_from_env"]


@functools.lru_cache(maxsize=1)
def builtin_recordings_dir() -> Path:
    """The article's recordings, shipped as package data (``rclsim.fixtures``, which the wheel maps
    from the repository's top-level ``fixtures/``); imported from a source checkout instead, they are
    that folder itself."""
    try:
        return Path(str(resources.files("rclsim.fixtures").joinpath("article")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent.parent / "fixtures" / "article"


def recording_dirs_from_env(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Folders named by ``RCLSIM_RECORDINGS`` (separated by ``os.pathsep``)."""
    value = (environ if environ is not None else os.environ).get("RCLSIM_RECORDINGS", "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


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
        """True when a recording names this model, or a sidecar response can answer for any model."""
        self._load()
        return (
            project_version_arn in self._models
            or mask_account(project_version_arn) in self._models
            or bool(self._sidecars)
        )

    def find(self, project_version_arn: str, image: ImageRef) -> list[Recording]:
        """Recordings that answer for this model and image, best match first: recordings made for
        this model before plain responses, an exact S3 version before a version-less one, a plain
        response whose image has these bytes before one matched by its name (:func:`rank_by_key`)."""
        self._load()
        exact: list[Recording] = []
        loose: list[Recording] = []
        if image.bucket is not None and image.key is not None:
            for rec in self._by_s3.get((image.bucket, image.key), []):
                (exact if rec.image.version == image.version else loose).append(rec)
        if image.sha256 is not None:
            exact.extend(r for r in self._by_sha.get(image.sha256, []) if r not in exact)
        # A recording whose account id was masked when it was recorded answers for any account.
        arns = (project_version_arn, mask_account(project_version_arn), None)
        found = [r for r in exact + loose if r.project_version_arn in arns]
        if image.key is not None and self._sidecars:
            by_key = rank_by_key(
                image.key,
                (r for r in self._sidecars if r.sidecar_relpath is not None),
                lambda r: r.sidecar_relpath.parts,
            )
            found.extend(r for r in by_key if r not in found)
        if len(found) > 1:
            found.sort(key=lambda r: r.project_version_arn is None)  # stable: model-specific first
        return found

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs) or "(no folders)"
