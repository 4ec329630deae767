"""The on-disk index of a folder's recordings, and the folders this process has already read.

A folder's recordings are indexed in the user's cache folder (:func:`rclsim.caches.verdicts.cache_dir`) so
that a process that finds a folder unchanged reads no recording until it answers from one.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from rclsim.caches.kept import file_stamp, on_forget
from rclsim.caches.verdicts import cache_dir
from rclsim.fake.recordings.answer_files import FolderFile, answer_kind, folder_files, read_answer_json
from rclsim.fake.recordings.recording import ImageRef, Recording, _load_recording, _load_sidecar
from rclsim.service.errors import RclsimError, RecordingError
from rclsim.service.schemas import schema_fingerprint


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

    Each ``*.json`` file's entry is reused while its stamp (:func:`rclsim.caches.kept.file_stamp`, the one
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
        from rclsim.service.files import write_atomically

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
            data, digest = read_answer_json(item.path)
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
