"""A folder of responses to evaluate or fit from, matched to manifest lines by image.

Two kinds of file, as the recordings store knows them: rclsim recordings (matched by their S3 image:
``s3://Bucket/Name`` equal to the line's ``source-ref``) and plain DetectCustomLabels responses named
after the image (``NAME.json`` for a ``source-ref`` whose file name is ``NAME.jpg``). Every file is
checked against its schema; a broken one is an error naming the file. Other JSON (``models.json``)
is skipped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import RecordingError
from .schemas import looks_like_models, looks_like_recording, recording_problems, response_problems

__all__ = ["ResponseFolder"]


class ResponseFolder:
    """The responses in ``folder`` (searched recursively), by source-ref and by file stem."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise RecordingError(f"{self.folder}: responses folder does not exist")
        self._by_ref: dict[str, Sequence[Mapping[str, Any]]] = {}
        self._by_stem: dict[str, Sequence[Mapping[str, Any]]] = {}
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
                s3 = data["image"].get("S3Object")
                if s3:
                    self._by_ref.setdefault(
                        f"s3://{s3['Bucket']}/{s3['Name']}", data["response"]["CustomLabels"]
                    )
                continue
            problems = response_problems(data)
            if problems:
                raise RecordingError(f"{path}: fails the response schema at {problems[0]}")
            self._by_stem.setdefault(path.stem, data["CustomLabels"])

    def __len__(self) -> int:
        return len(self._by_ref) + len(self._by_stem)

    def labels_for(self, source_ref: str) -> Sequence[Mapping[str, Any]] | None:
        """The CustomLabels answered for the image of ``source_ref``, or None when there is none."""
        found = self._by_ref.get(source_ref)
        if found is not None:
            return found
        return self._by_stem.get(PurePosixPath(source_ref).stem)
