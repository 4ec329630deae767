"""A folder of responses to evaluate or fit from, matched to manifest lines by image.

Which file answers which image is the rule of :mod:`rclsim.fake.recordings` (``folder_files``,
``answer_kind``, ``rank_by_key``), the same one ``rclsim detect --recordings`` follows, so a folder
answers an image the same way in both: rclsim recordings by their S3 image (``s3://Bucket/Name`` equal
to the line's ``source-ref``) or by the sha256 of a local image file the manifest names; plain
DetectCustomLabels responses by name: ``NAME.json`` answers for a ``source-ref`` whose file is
``NAME.jpg`` (``.jpeg``, ``.png``, any case), and, when the image lies beside it, for that image's
bytes. Folders inside the responses folder count: ``x/a.json`` answers for ``s3://bucket/x/a.jpg`` and
not for ``s3://bucket/y/a.jpg``; the file whose path matches the most trailing parts of the key wins.
Here, on top of that rule, a file that would answer by name for two different images of one manifest is
an error, never a silent reuse. Every response or recording is checked against its schema (a broken one
is an error naming the file); JSON that is neither (notes, ``models.json``) is skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rclsim.fake.recordings import answer_kind, folder_files, rank_by_key, read_answer_json
from rclsim.service.errors import RecordingError
from rclsim.service.schemas import recording_problems, response_problems

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
        self._plain_by_sha: dict[str, Labels] = {}
        self._plain: list[tuple[tuple[str, ...], Path, Labels]] = []
        self._claimed: dict[Path, str] = {}
        self.count = 0
        for item in folder_files(self.folder):
            path = item.path
            data, _ = read_answer_json(path)
            kind = answer_kind(data, item.image is not None)
            if kind == "recording":
                problems = recording_problems(data)
                if problems:
                    raise RecordingError(f"{path}: fails the schema at {problems[0]}")
                labels = data["response"]["CustomLabels"]
                s3 = data["image"].get("S3Object")
                if s3:
                    self._by_ref.setdefault(f"s3://{s3['Bucket']}/{s3['Name']}", labels)
                if data["image"].get("Sha256"):
                    self._by_sha.setdefault(data["image"]["Sha256"], labels)
            elif kind == "response":
                problems = response_problems(data)
                if problems:
                    raise RecordingError(f"{path}: fails the response schema at {problems[0]}")
                self._plain.append((item.name_parts, path, data["CustomLabels"]))
                if item.image is not None:
                    try:
                        image_bytes = (self.folder / item.image).read_bytes()
                    except OSError as exc:
                        raise RecordingError(
                            f"{self.folder / item.image}: cannot read: {exc.strerror or exc}"
                        ) from None
                    self._plain_by_sha.setdefault(
                        hashlib.sha256(image_bytes).hexdigest(), data["CustomLabels"]
                    )
            else:
                continue
            self.count += 1

    def __len__(self) -> int:
        return self.count

    def labels_for(self, source_ref: str, local_file: Path | None = None) -> Labels | None:
        """The CustomLabels answered for the image of ``source_ref`` (``local_file``: the image file
        the source-ref names, for answers matched by its bytes), or None when there is none."""
        found = self._by_ref.get(source_ref)
        if found is not None:
            return found
        if local_file is not None and (self._by_sha or self._plain_by_sha) and local_file.is_file():
            sha = hashlib.sha256(local_file.read_bytes()).hexdigest()
            found = self._by_sha.get(sha)
            if found is None:
                found = self._plain_by_sha.get(sha)
            if found is not None:
                return found
        key = source_ref[len("s3://") :].split("/", 1)[-1] if source_ref.startswith("s3://") else source_ref
        ranked = rank_by_key(key, self._plain, lambda plain: plain[0])
        if not ranked:
            return None
        _, path, labels = ranked[0]
        other = self._claimed.setdefault(path, source_ref)
        if other != source_ref:
            raise RecordingError(
                f"{path} would answer for both {other} and {source_ref}: put responses in folders that "
                f"mirror the keys (for example x/a.json for s3://bucket/x/a.jpg)"
            )
        return labels
