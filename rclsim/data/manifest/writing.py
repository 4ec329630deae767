"""Writing a manifest in the Custom Labels console's format: :func:`write_manifest`."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from typing import Any

from rclsim.data.manifest.entries import (
    _DEFAULT_ATTRIBUTE,
    _GT_TYPE,
    _META,
    CLASSIFICATION,
    DETECTION,
    ManifestEntry,
)
from rclsim.data.manifest.validation import _entry, _LineError
from rclsim.service.errors import RclsimError
from rclsim.service.files import write_atomically

__all__ = ["write_manifest", "manifest_line"]


def _number(value: float) -> float | int:
    """Whole numbers as JSON integers, as the console writes pixels; other floats keep every digit."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _check_attribute(name: str) -> None:
    if not name or name == "source-ref" or name.endswith(_META):
        raise ValueError(f"bad label attribute name {name!r}: empty, 'source-ref' or ending in '-metadata'")


def _line_data(
    entry: ManifestEntry,
    attribute: str,
    job_name: str,
    created: str,
    class_ids: dict[str, int],
    human: str = "yes",
) -> dict[str, Any]:
    data: dict[str, Any] = {"source-ref": entry.source_ref}
    if entry.kind == CLASSIFICATION:
        for i, label in enumerate(entry.labels):
            key = attribute if i == 0 else f"{attribute}-{i + 1}"
            data[key] = class_ids.setdefault(label, len(class_ids))
            data[key + _META] = {
                "job-name": job_name,
                "class-name": label,
                "human-annotated": human,
                "confidence": 1,
                "creation-date": created,
                "type": _GT_TYPE[CLASSIFICATION],
            }
        return data
    ids: dict[str, int] = {}  # per line, only the classes used, numbered by first use (as the console)
    annotations = [
        {
            "left": _number(b.left),
            "top": _number(b.top),
            "width": _number(b.width),
            "height": _number(b.height),
            "class_id": ids.setdefault(b.name, len(ids)),
        }
        for b in entry.boxes
    ]
    data[attribute] = {
        "annotations": annotations,
        "image_size": [{"width": entry.width, "height": entry.height, "depth": 3}],
    }
    data[attribute + _META] = {
        "job-name": job_name,
        "class-map": {str(i): name for name, i in ids.items()},
        "human-annotated": human,
        "objects": [{"confidence": 1} for _ in annotations],
        "creation-date": created,
        "type": _GT_TYPE[DETECTION],
    }
    return data


def write_manifest(
    path: str | os.PathLike[str],
    entries: Iterable[ManifestEntry],
    *,
    attribute: str | None = _DEFAULT_ATTRIBUTE,
    job_name: str = "labeling-job/rclsim",
    overwrite: bool = False,
    created: dt.datetime | None = None,
    human_annotated: bool = True,
) -> int:
    """Write ``entries`` as a manifest in the Custom Labels console's format; return how many lines.

    Boxes are written ``left, top, width, height, class_id``, each line's ``class-map`` lists only the
    classes it uses, ``objects`` are ``{"confidence": 1}``, ``human-annotated`` is ``"yes"`` and
    ``creation-date`` is ``created`` (default: now; a naive time is local) in UTC with milliseconds and
    ``Z``. A classification
    entry with several labels gets pairs ``attribute``, ``attribute-2``, ... ``attribute=None`` keeps each
    entry's own attribute name. Every line is checked by the same rules as reading, so what is written
    reads back equal (line numbers aside). ``human_annotated=False`` marks lines written from a model's
    predictions (``"human-annotated": "no"``).

    The file appears atomically (readers see no half-written manifest) and an existing file is
    refused unless ``overwrite``: both raise :class:`RclsimError`, as does an entry that cannot be
    written (a NaN or negative size, a classification entry without labels).
    """
    if attribute is not None:
        _check_attribute(attribute)
    when = (created or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    count = 0
    class_ids: dict[str, int] = {}

    def write(handle: Any) -> None:
        nonlocal count
        for count, entry in enumerate(entries, start=1):  # noqa: B007 - count is the result
            name = entry.attribute if attribute is None else attribute
            _check_attribute(name)
            data = _line_data(entry, name, job_name, stamp, class_ids, "yes" if human_annotated else "no")
            try:
                _entry(data, count)
            except _LineError as exc:
                raise RclsimError(f"cannot write entry {count} ({entry.source_ref}): {exc}") from None
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
            handle.write(text.encode("utf-8") + b"\n")

    write_atomically(path, write, overwrite=overwrite)
    return count


def manifest_line(entry: ManifestEntry, *, job_name: str = "labeling-job/rclsim", created: str = "") -> str:
    """One entry as a manifest line (JSON, no newline) under its own attribute name: how the fake
    keeps a trained version's ground truth and writes it to the training output. ``created`` is the
    ``creation-date`` (default: the Unix epoch, so the same entry always gives the same line)."""
    data = _line_data(entry, entry.attribute, job_name, created or "1970-01-01T00:00:00.000Z", {})
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
