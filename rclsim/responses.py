"""A folder of responses to evaluate or fit from, matched to manifest lines by image.

Two kinds of file: rclsim recordings, matched by their S3 image (``s3://Bucket/Name`` equal to the
line's ``source-ref``) or by the sha256 of a local image file the manifest names; and plain
DetectCustomLabels responses named after the image: ``NAME.json`` answers for a ``source-ref`` whose
file is ``NAME.jpg``. Folders inside the responses folder count: ``x/a.json`` answers for
``s3://bucket/x/a.jpg`` and not for ``s3://bucket/y/a.jpg``; the file whose path matches the most
trailing parts of the key wins, and a file that would answer for two different images is an error,
never a silent reuse. Every response or recording is checked against its schema (a broken one is an
error naming the file); JSON that is neither (notes, ``models.json``) is skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import RecordingError
from .schemas import looks_like_models, looks_like_recording, recording_problems, response_problems

__all__ = ["ResponseFolder"]

Labels = Sequence[Mapping[str, Any]]


class ResponseFolder:
    """The responses in ``folder`` (searched recursively), by source-ref, path and image hash."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise RecordingError(f"{self.folder}: responses folder does not exist")
        self._by_ref: dict[str, Labels] = {}
        self._by_sha: dict[str, Labels] = {}
        self._by_stem: dict[str, list[tuple[tuple[str, ...], Path, Labels]]] = {}
        self._claimed: dict[Path, str] = {}
        self.count = 0
        for path in sorted(self.folder.rglob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RecordingError(f"{path}: cannot read or malformed JSON: {exc}") from None
            if looks_like_models(data):
                continue
            if looks_like_recording(data):
                problems = recording_problems(data)
                if problems:
                    raise RecordingError(f"{path}: fails the schema at {problems[0]}")
                labels = data["response"]["CustomLabels"]
                s3 = data["image"].get("S3Object")
                if s3:
                    self._by_ref.setdefault(f"s3://{s3['Bucket']}/{s3['Name']}", labels)
                if data["image"].get("Sha256"):
                    self._by_sha.setdefault(data["image"]["Sha256"], labels)
                self.count += 1
                continue
            if not (isinstance(data, Mapping) and "CustomLabels" in data):
                continue  # some other JSON file: not a response
            problems = response_problems(data)
            if problems:
                raise RecordingError(f"{path}: fails the response schema at {problems[0]}")
            parts = path.relative_to(self.folder).with_suffix("").parts
            self._by_stem.setdefault(parts[-1], []).append((parts, path, data["CustomLabels"]))
            self.count += 1

    def __len__(self) -> int:
        return self.count

    def labels_for(self, source_ref: str, local_file: Path | None = None) -> Labels | None:
        """The CustomLabels answered for the image of ``source_ref`` (``local_file``: the image file
        the source-ref names, for recordings made from its bytes), or None when there is none."""
        found = self._by_ref.get(source_ref)
        if found is not None:
            return found
        if local_file is not None and self._by_sha and local_file.is_file():
            found = self._by_sha.get(hashlib.sha256(local_file.read_bytes()).hexdigest())
            if found is not None:
                return found
        key = source_ref[len("s3://") :].split("/", 1)[-1] if source_ref.startswith("s3://") else source_ref
        key_parts = PurePosixPath(key).with_suffix("").parts
        candidates = self._by_stem.get(key_parts[-1] if key_parts else "", [])
        best: tuple[int, Path, Labels] | None = None
        for parts, path, labels in candidates:
            if len(parts) <= len(key_parts) and tuple(key_parts[-len(parts) :]) == parts:
                if best is None or len(parts) > best[0]:
                    best = (len(parts), path, labels)
        if best is None:
            return None
        path = best[1]
        other = self._claimed.setdefault(path, source_ref)
        if other != source_ref:
            raise RecordingError(
                f"{path} would answer for both {other} and {source_ref}: put responses in folders that "
                f"mirror the keys (for example x/a.json for s3://bucket/x/a.jpg)"
            )
        return best[2]
