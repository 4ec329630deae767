"""The recordings store: recorded DetectCustomLabels responses on disk, found by (model, image).

Two kinds of file answer requests:

* **Recordings** (``*.json`` whose ``format`` is ``rclsim.recording``): one request and its response,
  with the model ARN, region, image identity and size, the request's ``MinConfidence`` and
  ``MaxResults`` and when it was recorded. Schema: ``rclsim/schemadata/recording.schema.json``.
* **The article's habit**: a plain AWS response ``NAME.json`` beside an image ``NAME.jpg`` (or
  ``.jpeg``/``.png``) answers for that image, for any model ARN. The image is matched by the sha256
  of its bytes, and an ``S3Object`` request matches when its key ends with the image's path inside the
  recordings folder (``test-qiita/9c5f2a31335627a0.jpg`` matches ``.../9c5f2a31335627a0.jpg``).

Every file is checked against its schema when first loaded; the verdict for a valid file is cached by
content hash under the user's cache folder (``RCLSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/rclsim`` or
``~/.cache/rclsim``), never inside the installed package. Broken files are reported with their path,
never skipped silently. The store hands out its data only through the core, which copies it, so no
caller can change a recording by mutating a response.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from .apimodel import mask_account
from .errors import RclsimError, RecordingError
from .imageinfo import NotAnImage, read_image_info
from .kept import file_stamp, kept, on_forget
from .labelcopy import copy_labels
from .schemas import looks_like_recording, recording_problems, response_problems
from .verdicts import cache_dir, known_valid, remember_valid

__all__ = [
    "ImageRef",
    "Recording",
    "RecordingStore",
    "builtin_recordings_dir",
    "recording_dirs_from_env",
]

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".JPG", ".JPEG", ".PNG")


@dataclass(frozen=True)
class ImageRef:
    """What identifies the image of one request: its S3 location and/or the sha256 of its bytes."""

    bucket: str | None = None
    key: str | None = None
    version: str | None = None
    sha256: str | None = None

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
        sidecar_relpath: PurePosixPath | None = None,
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
        data, digest = _read_json(self.path)
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


@functools.lru_cache(maxsize=1)
def builtin_recordings_dir() -> Path:
    """The article's recordings, shipped as package data (``rclsim.fixtures``, which the wheel maps
    from the repository's top-level ``fixtures/``); imported from a source checkout instead, they are
    that folder itself."""
    try:
        return Path(str(resources.files("rclsim.fixtures").joinpath("article")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "fixtures" / "article"


def recording_dirs_from_env(environ: Mapping[str, str] | None = None) -> list[Path]:
    """Folders named by ``RCLSIM_RECORDINGS`` (separated by ``os.pathsep``)."""
    value = (environ if environ is not None else os.environ).get("RCLSIM_RECORDINGS", "")
    return [Path(p) for p in value.split(os.pathsep) if p.strip()]


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _read_json(path: Path) -> tuple[Any, str]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: malformed JSON: {exc}") from None
    return data, hashlib.sha256(raw).hexdigest()


def _check(path: Path, digest: str, problems_of: Any, data: Any) -> None:
    if known_valid(digest):
        return
    problems = problems_of(data)
    if problems:
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise RecordingError(f"{path}: fails the schema at {first.path}: {first.message}{more}")
    remember_valid(digest)


def _image_beside(path: Path) -> Path | None:
    for suffix in _IMAGE_SUFFIXES:
        candidate = path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


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


def _load_sidecar(path: Path, data: Any, digest: str, image_path: Path, root: Path) -> Recording:
    _check(path, digest, response_problems, data)
    try:
        image_bytes = image_path.read_bytes()
    except OSError as exc:
        raise RecordingError(f"{image_path}: cannot read: {exc.strerror or exc}") from None
    width: int | None = None
    height: int | None = None
    try:
        info = read_image_info(image_bytes)
        width, height = info.width, info.height
    except NotAnImage:
        pass  # still matchable by its bytes' hash
    return Recording(
        path=path,
        project_version_arn=None,
        region=None,
        image=ImageRef(sha256=hashlib.sha256(image_bytes).hexdigest()),
        width=width,
        height=height,
        min_confidence=None,
        max_results=None,
        recorded_at=None,
        labels=_by_confidence(data["CustomLabels"]),
        sidecar_relpath=PurePosixPath(image_path.relative_to(root).as_posix()),
    )


def _entry_of(rec: Recording, kind: str) -> dict[str, Any]:
    """What the index keeps of a recording: its key and what answering needs before the labels."""
    image = rec.image
    return {
        "kind": kind,
        "arn": rec.project_version_arn,
        "region": rec.region,
        "bucket": image.bucket,
        "key": image.key,
        "version": image.version,
        "sha": image.sha256,
        "w": rec.width,
        "h": rec.height,
        "minc": rec.min_confidence,
        "maxr": rec.max_results,
        "at": rec.recorded_at,
        "lowest": min((float(label["Confidence"]) for label in rec.labels), default=100.0),
        "n": len(rec.labels),
        "side": None if rec.sidecar_relpath is None else rec.sidecar_relpath.as_posix(),
    }


def _from_entry(path: Path, entry: Mapping[str, Any]) -> Recording:
    return Recording(
        path=path,
        project_version_arn=entry["arn"],
        region=entry["region"],
        image=ImageRef(entry["bucket"], entry["key"], entry["version"], entry["sha"]),
        width=entry["w"],
        height=entry["h"],
        min_confidence=entry["minc"],
        max_results=entry["maxr"],
        recorded_at=entry["at"],
        sidecar_relpath=None if entry["side"] is None else PurePosixPath(entry["side"]),
        lowest_confidence=entry["lowest"],
        label_count=entry["n"],
    )


class _FolderIndex:
    """The recordings of one folder, from an index kept in the cache folder between processes.

    Each ``*.json`` file's entry is reused while its size and modification time (and, for a sidecar,
    its image's) are unchanged; other files are read, checked and indexed again. So a process that
    finds a folder unchanged reads no recording at all until it answers from one (a 100,000-recording
    folder costs a directory walk), and memory holds keys, not labels. The index is a cache: when it
    cannot be read or written, the folder is simply read in full."""

    FORMAT = "rclsim.index/2"  # 2: a file's stamp is [mtime_ns, size, inode, ctime_ns]

    def __init__(self, root: Path) -> None:
        self.root = root

    @functools.cached_property
    def path(self) -> Path:
        """Where this folder's index is kept (worked out only when it is read or written)."""
        digest = hashlib.sha256(str(self.root.resolve()).encode("utf-8")).hexdigest()[:32]
        return cache_dir() / "index" / f"{digest}.json"

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if (
            not isinstance(data, dict)
            or data.get("format") != self.FORMAT
            or data.get("root") != str(self.root)
        ):
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    def _write(self, files: dict[str, Any]) -> None:
        from .files import write_atomically

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(
                {"format": self.FORMAT, "root": str(self.root), "files": files}, separators=(",", ":")
            )
            write_atomically(self.path, text.encode("utf-8"), overwrite=True)
        except (OSError, RclsimError):
            pass  # only a cache: the next process reads the folder again

    def recordings(self) -> list[Recording]:
        files: dict[str, Any] = {}
        found: list[Recording] = []
        names: list[str] = []
        root = os.fspath(self.root)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            prefix = "" if dirpath == root else os.path.relpath(dirpath, root).replace(os.sep, "/") + "/"
            names.extend(prefix + name for name in filenames if name.endswith(".json"))
        stamped: list[tuple[str, Path, list[int]]] = []
        for rel in sorted(names, key=lambda r: r.split("/")):  # the order of sorted(rglob)
            try:
                st = os.stat(os.path.join(root, rel))
            except OSError as exc:
                raise RecordingError(f"{self.root / rel}: cannot read: {exc.strerror or exc}") from None
            stamped.append((rel, self.root / rel, file_stamp(st)))
        # The same folder, unchanged since this process last read it (any write, rename or utime
        # changes a file's ctime): its index entries again, as fresh Recordings for this store.
        signature = tuple((rel, *stamp) for rel, _, stamp in stamped)
        scanned = _scanned.get(os.path.abspath(root))
        if scanned is not None and scanned[0] == signature and all(map(self._image_unchanged, scanned[2])):
            return [_from_entry(path, entry) for path, entry in scanned[1]]
        cached = self._read()
        for rel, path, stamp in stamped:
            entry = cached.get(rel)
            if entry is not None and entry.get("stamp") == stamp and self._image_unchanged(entry):
                files[rel] = entry
                if entry["kind"] != "other":
                    found.append(_from_entry(path, entry))
                continue
            data, digest = _read_json(path)
            if looks_like_recording(data):
                rec = _load_recording(path, data, digest)
                entry = _entry_of(rec, "recording")
            else:
                image_path = _image_beside(path)
                if image_path is None:  # notes, evaluation summaries, models.json: not recordings
                    files[rel] = {"kind": "other", "stamp": stamp}
                    continue
                rec = _load_sidecar(path, data, digest, image_path, self.root)
                entry = _entry_of(rec, "sidecar")
                image_stat = image_path.stat()
                entry["image_stamp"] = file_stamp(image_stat)
            entry["stamp"] = stamp
            files[rel] = entry
            # Keep the key, not the labels: a large folder would otherwise live in memory whole.
            found.append(_from_entry(path, entry))
        if files != cached:
            self._write(files)
        if len(stamped) <= _SCANNED_MAX_FILES:  # keys only, and not for large folders
            entries = [(path, files[rel]) for rel, path, _ in stamped if files[rel]["kind"] != "other"]
            sidecars = [entry for _, entry in entries if entry["kind"] == "sidecar"]
            if len(_scanned) >= _SCANNED_MAX_FOLDERS:
                _scanned.clear()
            _scanned[os.path.abspath(root)] = (signature, entries, sidecars)
        return found

    def _image_unchanged(self, entry: Mapping[str, Any]) -> bool:
        if entry.get("kind") != "sidecar":
            return True
        try:
            st = (self.root / entry["side"]).stat()
        except (OSError, KeyError, TypeError):
            return False
        return entry.get("image_stamp") == file_stamp(st)


#: Folders this process has read: (their files' identities, the index entries of their recordings,
#: the sidecar entries whose images must be unchanged too). A test suite makes a store per test over
#: the same folders; only keys are kept (each a few hundred bytes), never labels.
_scanned: dict[str, tuple[tuple[Any, ...], list[tuple[Path, dict[str, Any]]], list[dict[str, Any]]]] = {}
_SCANNED_MAX_FILES = 5000
_SCANNED_MAX_FOLDERS = 16
on_forget(_scanned.clear)


def _key_ends_with(key: str, relpath: PurePosixPath) -> bool:
    parts = PurePosixPath(key).parts
    want = relpath.parts
    return len(parts) >= len(want) and parts[-len(want) :] == want


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
        this model before sidecars, an exact S3 version before a version-less one."""
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
            found.extend(
                r
                for r in self._sidecars
                if r.sidecar_relpath is not None
                and _key_ends_with(image.key, r.sidecar_relpath)
                and r not in found
            )
        if len(found) > 1:
            found.sort(key=lambda r: r.project_version_arn is None)  # stable: model-specific first
        return found

    def describe(self) -> str:
        return ", ".join(str(d) for d in self.dirs) or "(no folders)"


def image_ref_from_param(image: Mapping[str, Any], sha256: str | None = None) -> ImageRef:
    """The :class:`ImageRef` of a request's ``Image`` parameter."""
    s3 = image.get("S3Object")
    if s3:
        return ImageRef(s3.get("Bucket"), s3.get("Name"), s3.get("Version"), sha256)
    return ImageRef(sha256=sha256)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
