"""The recordings store: recorded DetectCustomLabels responses on disk, found by (model, image).

Two kinds of file answer requests:

* **Recordings** (``*.json`` whose ``format`` is ``rclsim.recording``): one request and its response,
  with the model ARN, region, image identity and size, the request's ``MinConfidence`` and
  ``MaxResults`` and when it was recorded. Schema: ``rclsim/schemadata/recording.schema.json``.
* **The article's habit**: a plain AWS response ``NAME.json`` answers for the image ``NAME.jpg`` (or
  ``.jpeg``/``.png``, in any case), for any model ARN. An ``S3Object`` request matches when its key,
  without its image extension, ends with the response's path inside the folder without ``.json``
  (``x/a.json`` answers ``s3://bucket/photos/x/a.jpg``, not ``s3://bucket/y/a.jpg``); when several
  responses match, the one matching the most trailing folders wins. When the image itself lies
  beside the response, requests with its bytes match too (by sha256).

Which file answers which image is decided here once, by :func:`folder_files`, :func:`answer_kind`
and :func:`rank_by_key`, for ``rclsim detect --recordings`` (:class:`RecordingStore`) and for
``rclsim evaluate``/``sim fit``/``manifest write --responses`` (:class:`rclsim.responses.ResponseFolder`)
alike. A ``*.json`` (any case) is a recording when it has a ``format``; ``models.json`` is skipped; a
plain response when it has ``CustomLabels`` or lies beside an image of its name (then it must be a
valid response); anything else (notes, evaluation summaries) is skipped. A response beside two images
of its name (``a.jpg`` and ``a.png``) is an error: which one it answers for would be a guess.

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
from .files import read_json_bytes
from .imageinfo import NotAnImage, read_image_info
from .kept import file_stamp, kept, on_forget
from .labelcopy import copy_labels
from .schemas import (
    looks_like_models,
    looks_like_recording,
    recording_problems,
    response_problems,
    schema_fingerprint,
)
from .verdicts import cache_dir, known_valid, remember_valid

__all__ = [
    "ImageRef",
    "Recording",
    "RecordingStore",
    "builtin_recordings_dir",
    "recording_dirs_from_env",
    "FolderFile",
    "folder_files",
    "answer_kind",
    "key_name_parts",
    "rank_by_key",
    "read_answer_json",
]

#: Image extensions a plain response's image may have (compared in lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


# -- which file answers which image: the one rule for every folder of answers ---------------------


@dataclass(frozen=True)
class FolderFile:
    """One ``*.json`` of a folder of answers, and the image of its name beside it (if any)."""

    rel: str  # posix path inside the folder
    path: Path
    image: str | None  # posix path inside the folder of NAME.jpg/.jpeg/.png beside NAME.json

    @property
    def name_parts(self) -> tuple[str, ...]:
        """What a plain response answers for: its path inside the folder without ``.json``."""
        return tuple(self.rel[: -len(".json")].split("/"))


def folder_files(root: Path) -> list[FolderFile]:
    """Every ``*.json`` under ``root`` (any depth, extension in any case), in ``sorted(rglob)`` order,
    each with the image of its name beside it. A JSON beside two such images is an error."""
    top = os.fspath(root)
    found: list[FolderFile] = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames.sort()
        prefix = "" if dirpath == top else os.path.relpath(dirpath, top).replace(os.sep, "/") + "/"
        images: dict[str, list[str]] = {}
        for name in filenames:
            stem, ext = os.path.splitext(name)
            if ext.lower() in IMAGE_EXTENSIONS:
                images.setdefault(stem, []).append(name)
        for name in filenames:
            if not name.lower().endswith(".json"):
                continue
            beside = sorted(images.get(name[: -len(".json")], ()))
            path = root / (prefix + name)
            if len(beside) > 1:
                raise RecordingError(
                    f"{path}: lies beside {len(beside)} images of its name ({', '.join(beside)}), so which "
                    f"one it answers for is ambiguous: rename or move all but one"
                )
            found.append(FolderFile(prefix + name, path, prefix + beside[0] if beside else None))
    found.sort(key=lambda f: f.rel.split("/"))
    return found


def answer_kind(data: Any, beside_image: bool) -> str | None:
    """``"recording"``, ``"response"`` (a plain DetectCustomLabels response) or None (not an answer:
    ``models.json``, notes, evaluation summaries). A JSON beside an image of its name is taken for a
    response, so a broken one is reported rather than skipped."""
    if looks_like_models(data):
        return None
    if looks_like_recording(data):
        return "recording"
    if beside_image or (isinstance(data, Mapping) and "CustomLabels" in data):
        return "response"
    return None


def key_name_parts(key: str) -> tuple[str, ...]:
    """An S3 key (or source-ref path) as the name a plain response would have: its parts, the last
    without its image extension (``photos/x/a.JPG`` -> ``("photos", "x", "a")``)."""
    path = PurePosixPath(key)
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        path = path.with_suffix("")
    return path.parts


def _match_length(key_parts: tuple[str, ...], name_parts: tuple[str, ...]) -> int:
    n = len(name_parts)
    return n if n and len(key_parts) >= n and key_parts[-n:] == name_parts else 0


def rank_by_key(key: str, items: Iterable[Any], name_parts: Any) -> list[Any]:
    """The ``items`` (plain responses; ``name_parts(item)`` gives each one's name) that answer for
    ``key``, best first: the most trailing folders matched, then folder order."""
    wanted = key_name_parts(key)
    scored = [(_match_length(wanted, name_parts(item)), i, item) for i, item in enumerate(items)]
    return [item for length, _, item in sorted((s for s in scored if s[0]), key=lambda s: (-s[0], s[1]))]


def read_answer_json(path: Path) -> tuple[Any, str]:
    """A file of a folder of answers, parsed by the one JSON reader, and the sha256 of its bytes."""
    return _read_json(path)


def _read_json(path: Path) -> tuple[Any, str]:
    data, raw = read_json_bytes(path, error=RecordingError)
    return data, hashlib.sha256(raw).hexdigest()


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

    Each ``*.json`` file's entry is reused while its stamp (:func:`rclsim.kept.file_stamp`, the one
    staleness rule for files), the image of its name beside it and that image's stamp are unchanged,
    and the schemas are the ones it was checked under; other files are read, checked and indexed
    again. So a process that finds a folder unchanged reads no recording at all until it answers from
    one (a 100,000-recording folder costs a directory walk), and memory holds keys, not labels. The
    index is a cache: when it cannot be read or written, the folder is simply read in full."""

    FORMAT = "rclsim.index/3"  # 3: the image beside every file, and the schema fingerprint

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
        except (OSError, ValueError, RecursionError):
            return {}
        if (
            not isinstance(data, dict)
            or data.get("format") != self.FORMAT
            or data.get("root") != str(self.root)
            or data.get("schemas") != schema_fingerprint()
        ):
            return {}
        files = data.get("files")
        return files if isinstance(files, dict) else {}

    def _write(self, files: dict[str, Any]) -> None:
        from .files import write_atomically

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            text = json.dumps(
                {
                    "format": self.FORMAT,
                    "root": str(self.root),
                    "schemas": schema_fingerprint(),
                    "files": files,
                },
                separators=(",", ":"),
            )
            write_atomically(self.path, text.encode("utf-8"), overwrite=True)
        except (OSError, RclsimError):
            pass  # only a cache: the next process reads the folder again

    def recordings(self) -> list[Recording]:
        files: dict[str, Any] = {}
        found: list[Recording] = []
        listed = folder_files(self.root)
        stamped: list[tuple[FolderFile, list[int]]] = []
        for item in listed:
            try:
                st = os.stat(item.path)
            except OSError as exc:
                raise RecordingError(f"{item.path}: cannot read: {exc.strerror or exc}") from None
            stamped.append((item, file_stamp(st)))
        # The same folder, unchanged since this process last read it (any write, rename or utime
        # changes a file's ctime): its index entries again, as fresh Recordings for this store.
        root = os.fspath(self.root)
        signature = tuple((item.rel, item.image, *stamp) for item, stamp in stamped)
        scanned = _scanned.get(os.path.abspath(root))
        if (
            scanned is not None
            and scanned[0] == signature
            and all(self._image_unchanged(entry, entry.get("image")) for entry in scanned[2])
        ):
            return [_from_entry(path, entry) for path, entry in scanned[1]]
        cached = self._read()
        for item, stamp in stamped:
            entry = cached.get(item.rel)
            if entry is not None and entry.get("stamp") == stamp and self._image_unchanged(entry, item.image):
                files[item.rel] = entry
                if entry["kind"] != "other":
                    found.append(_from_entry(item.path, entry))
                continue
            data, digest = _read_json(item.path)
            kind = answer_kind(data, item.image is not None)
            if kind == "recording":
                rec = _load_recording(item.path, data, digest)
                entry = _entry_of(rec, "recording")
            elif kind == "response":
                image_path = None if item.image is None else self.root / item.image
                rec = _load_sidecar(item.path, data, digest, image_path, PurePosixPath(*item.name_parts))
                entry = _entry_of(rec, "sidecar")
                if image_path is not None:
                    entry["image_stamp"] = file_stamp(image_path.stat())
            else:  # notes, evaluation summaries, models.json: not answers
                entry = {"kind": "other"}
            entry["stamp"] = stamp
            entry["image"] = item.image
            files[item.rel] = entry
            if kind is not None:
                # Keep the key, not the labels: a large folder would otherwise live in memory whole.
                found.append(_from_entry(item.path, entry))
        if files != cached:
            self._write(files)
        if len(stamped) <= _SCANNED_MAX_FILES:  # keys only, and not for large folders
            entries = [
                (item.path, files[item.rel]) for item, _ in stamped if files[item.rel]["kind"] != "other"
            ]
            sidecars = [entry for _, entry in entries if entry.get("image") is not None]
            if len(_scanned) >= _SCANNED_MAX_FOLDERS:
                _scanned.clear()
            _scanned[os.path.abspath(root)] = (signature, entries, sidecars)
        return found

    def _image_unchanged(self, entry: Mapping[str, Any], image: str | None) -> bool:
        """True when ``image`` (the image beside the file now) is the one ``entry`` was made with,
        unchanged: an image appearing, vanishing or changing beside a file makes it read again."""
        if entry.get("image") != image:
            return False
        if image is None or entry.get("kind") != "sidecar":
            return True
        try:
            st = (self.root / image).stat()
        except OSError:
            return False
        return entry.get("image_stamp") == file_stamp(st)


#: Folders this process has read: (their files' identities, the index entries of their recordings,
#: the sidecar entries whose images must be unchanged too). A test suite makes a store per test over
#: the same folders; only keys are kept (each a few hundred bytes), never labels.
_scanned: dict[str, tuple[tuple[Any, ...], list[tuple[Path, dict[str, Any]]], list[dict[str, Any]]]] = {}
_SCANNED_MAX_FILES = 5000
_SCANNED_MAX_FOLDERS = 16
on_forget(_scanned.clear)


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


def image_ref_from_param(image: Mapping[str, Any], sha256: str | None = None) -> ImageRef:
    """The :class:`ImageRef` of a request's ``Image`` parameter."""
    s3 = image.get("S3Object")
    if s3:
        return ImageRef(s3.get("Bucket"), s3.get("Name"), s3.get("Version"), sha256)
    return ImageRef(sha256=sha256)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
