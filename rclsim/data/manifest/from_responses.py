"""Manifest entries from DetectCustomLabels responses: a recording or a simulation as a dataset."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from rclsim.data.manifest.entries import _DEFAULT_ATTRIBUTE, CLASSIFICATION, DETECTION, Box, ManifestEntry
from rclsim.geometry import to_pixels
from rclsim.service.errors import RclsimError

__all__ = ["entries_from_responses"]


def entries_from_responses(
    items: Iterable[tuple[str, int, int, Mapping[str, Any]]],
    min_confidence: float = 0,
    *,
    attribute: str = _DEFAULT_ATTRIBUTE,
    kind: str | None = None,
    validate: bool = True,
) -> Iterator[ManifestEntry]:
    """Entries from ``(source_ref, width, height, DetectCustomLabels response)``: predictions as truth.

    This is how a recording or a simulation becomes a manifest. Labels at or above ``min_confidence``
    are kept. Boxes go from ratios to whole pixels by :func:`rclsim.geometry.to_pixels` (the same
    pixels rclsim draws), clipped to the image; a box left empty by clipping is dropped, since a
    manifest box must have a positive size.

    ``kind`` None decides per response: labels with a ``BoundingBox`` make an object-detection entry,
    labels without one an image-classification entry, and an empty response an object-detection entry
    with no boxes. For a classification model pass ``kind="image-classification"``: responses with no
    label left are then skipped, as a classification line cannot be unlabelled. A response that fails
    the response schema, or mixes labels with and without boxes, raises :class:`RclsimError`;
    ``validate=False`` skips the schema check for responses already checked (recordings, the fake's).
    """
    from rclsim.service.schemas import response_problems

    if kind not in (None, DETECTION, CLASSIFICATION):
        raise ValueError(f"kind must be None, {DETECTION!r} or {CLASSIFICATION!r}, not {kind!r}")
    for source_ref, width, height, response in items:
        problems = response_problems(response) if validate else []
        if problems:
            raise RclsimError(f"{source_ref}: the response fails the response schema: {problems[0]}")
        labels = response["CustomLabels"]
        with_box = ["BoundingBox" in label.get("Geometry", {}) for label in labels]
        this_kind = kind
        if this_kind is None:
            if any(with_box) and not all(with_box):
                raise RclsimError(f"{source_ref}: the response mixes labels with and without boxes")
            this_kind = CLASSIFICATION if labels and not any(with_box) else DETECTION
        kept = [label for label in labels if label["Confidence"] >= min_confidence]
        if this_kind == CLASSIFICATION:
            names = tuple(dict.fromkeys(label["Name"] for label in kept))
            if names:
                yield ManifestEntry.classification(source_ref, names, attribute=attribute)
            continue
        boxes = []
        for label in kept:
            if "BoundingBox" not in label.get("Geometry", {}):
                raise RclsimError(f"{source_ref}: label {label['Name']!r} has no BoundingBox")
            px = to_pixels(label["Geometry"]["BoundingBox"], (width, height))
            if not px.is_empty:
                boxes.append(
                    Box(label["Name"], float(px.x_min), float(px.y_min), float(px.width), float(px.height))
                )
        yield ManifestEntry.detection(source_ref, width, height, boxes, attribute=attribute)
