"""Which file of a folder of answers answers which image: the one rule for every folder of answers.

A recording (``format`` is ``rclsim.recording``) answers for the model and image it names. A plain AWS
response ``NAME.json`` answers for the image ``NAME.jpg`` (or ``.jpeg``/``.png``, in any case), for any
model ARN. An ``S3Object`` request matches when its key, without its image extension, ends with the
response's path inside the folder without ``.json`` (``x/a.json`` answers ``s3://bucket/photos/x/a.jpg``,
not ``s3://bucket/y/a.jpg``); when several responses match, the one matching the most trailing folders
wins. When the image itself lies beside the response, requests with its bytes match too (by sha256).

Which file answers which image is decided here once, by :func:`folder_files`, :func:`answer_kind`
and :func:`rank_by_key`, for ``rclsim detect --recordings`` (:class:`rclsim.fake.recordings.RecordingStore`)
and for ``rclsim evaluate``/``sim fit``/``manifest write --responses``
(:class:`rclsim.data.responses.ResponseFolder`) alike. A ``*.json`` (any case) is a recording when it has a
``format``; ``models.json`` is skipped; a plain response when it has ``CustomLabels`` or lies beside an
image of its name (then it must be a valid response); anything else (notes, evaluation summaries) is
skipped. A response beside two images of its name (``a.jpg`` and ``a.png``) is an error: which one it
answers for would be a guess.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from rclsim.service.errors import RecordingError
from rclsim.service.files import read_json_bytes
from rclsim.service.schemas import looks_like_models, looks_like_recording

__all__ = [
    "IMAGE_EXTENSIONS",
    "FolderFile",
    "folder_files",
    "answer_kind",
    "key_name_parts",
    "rank_by_key",
    "read_answer_json",
]

#: Image extensions a plain response's image may have (compared in lower case).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


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
