"""A manifest's images paired with the responses to score: what ``evaluate`` and ``manifest write``
share. Responses come from a folder (:class:`rclsim.data.responses.ResponseFolder`) or from any backend,
asked image by image at ``MinConfidence`` 0 so every threshold can be scored; both stream.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rclsim.service.errors import is_error_code

__all__ = ["Paired", "paired_responses", "image_param_for"]


@dataclass
class Paired:
    """Counts of what :func:`paired_responses` saw, filled in as it streams."""

    images: int = 0
    answered: int = 0
    missing: list[str] = field(default_factory=list)


def image_param_for(source_ref: str) -> dict[str, Any]:
    """The ``Image`` parameter for a manifest's ``source-ref``: ``s3://B/K`` as an S3Object; a bare or
    local name as an S3Object in an unnamed bucket (only the sim backend, matching by file name,
    answers those)."""
    if source_ref.startswith("s3://"):
        bucket, _, key = source_ref[len("s3://") :].partition("/")
        return {"S3Object": {"Bucket": bucket, "Name": key}}
    return {"S3Object": {"Bucket": "rclsim-local", "Name": source_ref}}


def _local_file(manifest_dir: Path | None, source_ref: str) -> Path | None:
    """The local image file a bare or ``file://`` source-ref names, relative to the manifest."""
    if manifest_dir is None or source_ref.startswith("s3://"):
        return None
    ref = source_ref[len("file://") :] if source_ref.startswith("file://") else source_ref
    path = Path(ref)
    return path if path.is_absolute() else manifest_dir / path


def paired_responses(
    entries: Iterator[Any],
    *,
    responses: Any = None,
    backend: Any = None,
    project_version_arn: str | None = None,
    counts: Paired | None = None,
    manifest_dir: Path | None = None,
) -> Iterator[tuple[Any, Sequence[Mapping[str, Any]]]]:
    """``(entry, CustomLabels)`` for every manifest entry that has a response; images without one
    (no recording, or the backend has none) are counted in ``counts.missing`` and left out."""
    counts = counts if counts is not None else Paired()
    for entry in entries:
        counts.images += 1
        labels: Sequence[Mapping[str, Any]] | None
        if responses is not None:
            labels = responses.labels_for(entry.source_ref, _local_file(manifest_dir, entry.source_ref))
        else:
            try:
                labels = backend.detect_custom_labels(
                    ProjectVersionArn=project_version_arn,
                    Image=image_param_for(entry.source_ref),
                    MinConfidence=0,
                )["CustomLabels"]
            except Exception as exc:
                if not is_error_code(exc, "RecordingNotFoundException"):
                    raise
                labels = None
        if labels is None:
            counts.missing.append(entry.source_ref)
            continue
        counts.answered += 1
        yield entry, labels
