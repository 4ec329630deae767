"""What one manifest line holds, and why a line was not loaded.

:class:`ManifestEntry` is one image and its ground truth (pixel boxes, :class:`Box`, or class names);
:class:`ManifestProblem` names a bad line and what is wrong with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "MANIFEST_LINE_SCHEMA_ID",
    "DETECTION",
    "CLASSIFICATION",
    "Box",
    "ManifestEntry",
    "ManifestProblem",
]

MANIFEST_LINE_SCHEMA_ID = "urn:rclsim:schema:manifest-line"
DETECTION = "object-detection"
CLASSIFICATION = "image-classification"
_GT_TYPE = {DETECTION: "groundtruth/object-detection", CLASSIFICATION: "groundtruth/image-classification"}
_KIND_OF_TYPE = {v: k for k, v in _GT_TYPE.items()}
_META = "-metadata"
_DEFAULT_ATTRIBUTE = "bounding-box"


@dataclass(frozen=True)
class Box:
    """A ground-truth box in pixels, as the manifest has it (origin top-left; may be fractional)."""

    name: str
    left: float
    top: float
    width: float
    height: float


@dataclass(frozen=True)
class ManifestEntry:
    """One image of a manifest and its ground truth.

    Build entries with :meth:`detection` or :meth:`classification`, which derive ``labels`` and
    ``kind``; the constructor checks that the fields agree, so every entry can be written and read
    back unchanged. ``line`` is the 1-based line in the file read from, 0 for entries made in memory.
    """

    line: int
    source_ref: str
    width: int | None
    height: int | None
    boxes: tuple[Box, ...]
    labels: tuple[str, ...]
    kind: str
    attribute: str

    def __post_init__(self) -> None:
        if self.kind == DETECTION:
            if self.width is None or self.height is None:
                raise ValueError("an object-detection entry needs the image width and height")
            if self.labels != _box_labels(self.boxes):
                raise ValueError("an object-detection entry's labels must be the sorted unique box names")
        elif self.kind == CLASSIFICATION:
            if self.boxes or self.width is not None or self.height is not None:
                raise ValueError("an image-classification entry has no boxes and no image size")
        else:
            raise ValueError(f"kind must be {DETECTION!r} or {CLASSIFICATION!r}, not {self.kind!r}")

    @classmethod
    def detection(
        cls,
        source_ref: str,
        width: int,
        height: int,
        boxes: Iterable[Box] = (),
        *,
        attribute: str = _DEFAULT_ATTRIBUTE,
        line: int = 0,
    ) -> ManifestEntry:
        """An object-detection entry; ``labels`` become the sorted unique box names."""
        boxes = tuple(boxes)
        return cls(line, source_ref, width, height, boxes, _box_labels(boxes), DETECTION, attribute)

    @classmethod
    def classification(
        cls, source_ref: str, labels: Iterable[str], *, attribute: str = _DEFAULT_ATTRIBUTE, line: int = 0
    ) -> ManifestEntry:
        """An image-classification entry with one label per attribute pair, in order."""
        return cls(line, source_ref, None, None, (), tuple(labels), CLASSIFICATION, attribute)

    def ratio_box(self, box: Box) -> dict[str, float]:
        """``box`` as a DetectCustomLabels ``BoundingBox``: pixels divided by the image size.

        This is the form a model's answer takes, so ground truth and predictions can be compared.
        """
        if self.width is None or self.height is None:
            raise ValueError("an image-classification entry has no image size")
        return {
            "Width": box.width / self.width,
            "Height": box.height / self.height,
            "Left": box.left / self.width,
            "Top": box.top / self.height,
        }


def _box_labels(boxes: tuple[Box, ...]) -> tuple[str, ...]:
    return tuple(sorted({b.name for b in boxes}))


@dataclass(frozen=True)
class ManifestProblem:
    """Why one line of a manifest was not loaded."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
