"""The service's import check of a Ground Truth manifest: what CreateDataset would say, offline.

:mod:`rclsim.data.manifest.reading` reads a manifest for rclsim's own use and is lenient; this module
judges one as Amazon Rekognition Custom Labels does when it imports a dataset, with the service's error
codes, so ``rclsim manifest check`` and the fake's CreateDataset/UpdateDatasetEntries agree with it. Each
line is decoded and its label pairs checked with the reader's own pieces (the committed schema through
:func:`rclsim.data.manifest.validation._check`, the entry through ``_entry``); the service's rules are
added on top.

Sources (Custom Labels guide): ``md-create-manifest-file-validation-rules``, ``debugging-datasets-
terminal-errors``, ``debugging-datasets-non-terminal-errors``, ``tm-debugging``,
``tm-debugging-json-line-errors``, ``tm-debugging-aggregate-errors``, ``tm-debugging-summary``,
``tm-debugging-scope-json-line``, ``limits``. [D] documented, [U] rclsim's choice.

Three outcomes, as the guide has them:

* **Terminal errors** fail the whole import (``CREATE_FAILED``): file errors, before any line is read
  (ERROR_MANIFEST_SIZE_TOO_LARGE over 1 GiB [D, GiB U]; ERROR_EMPTY_MANIFEST [D anchor, code U];
  ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT when not one line is a JSON object [U when]), and
  content errors over the whole file (ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM over 250,000 lines, lines up
  to the limit still checked [D]; ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS [D]; over 20% of lines invalid,
  counted cumulatively over every rule with blank lines counted as lines [D]: ERROR_TOO_MANY_RECORDS_IN_ERROR
  when the removed lines alone are over 20%, else ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST [U which
  code when]; ERROR_MANIFEST_TOO_MANY_LABELS over 250 labels [D]).
* **Terminal content errors** remove a line from the dataset (not listed by ListDatasetEntries) [D]:
  a line over 100,000 characters, blank, not JSON, not an object, or with duplicate keys
  (ERROR_INVALID_JSON_LINE [U for the first two]); no ``source-ref`` (ERROR_MISSING_SOURCE_REF); a
  ``source-ref`` that is not ``s3://bucket/key`` (ERROR_INVALID_SOURCE_REF_FORMAT); a ``source-ref``
  seen before (ERROR_DUPLICATE_SOURCE_REF [U: the guide names the rule, not a code]; the first stays).
* **Non-terminal errors** stay in the dataset as an ``errors`` list in the JSON line [D]. Some spoil
  the whole line (it is not used for training and counts as invalid): ERROR_NO_LABEL_ATTRIBUTES,
  ERROR_NO_VALID_LABEL_ATTRIBUTES (no pair of a supported type), ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT,
  ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT, ERROR_INVALID_LABEL_NAME_LENGTH (over 255 characters,
  the model's DatasetLabel) [U limit], ERROR_INVALID_IMAGE_DIMENSION (``image_size`` outside 64-4096 px
  or over 20:1, or unlike the image's own size when it can be read) [U], ERROR_TOO_MANY_BOUNDING_BOXES
  (over 50) [U: spoils the line], ERROR_NO_VALID_ANNOTATIONS (every box broken), ERROR_INVALID_IMAGE
  (when ``read_image`` is given: missing, not PNG/JPEG, over 15 MiB, outside 64-4096 px or 20:1).
  Others spoil one box, which is dropped while the line is kept [D]: ERROR_INVALID_BOUNDING_BOX
  (negative or off the frame, no tolerance [U]), ERROR_BOUNDING_BOX_TOO_SMALL (not over 1 x 1 pixel
  after the image is scaled to 1280 px on its longer side [D]), ERROR_MISSING_CLASS_MAP_ID and
  ERROR_MISSING_BOUNDING_BOX_CONFIDENCE (an ``objects`` list shorter than the boxes, or an object
  without ``confidence``; no ``objects`` at all is accepted, as the reader does [U]); a box that is not
  an object of numbers gets ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT [U].

Lines with only ``source-ref`` are unlabeled images (WARNING_UNANNOTATED_RECORD) and object-detection
lines with no boxes are ignored (WARNING_NO_ANNOTATIONS) [D]: kept, valid, not used for training, not
counted as invalid. A line with several object-detection pairs, or both kinds, keeps its first
object-detection pair for training [U: rclsim's entry holds one kind]. Too few labels (under 1 for
object detection, 2 for classification [D limits]) does not fail the import [U: datasets of unlabeled
images are legitimate] but is reported as the training error ERROR_MANIFEST_TOO_FEW_LABELS in the
summary. Line numbers in the summary are 1-based [U: the guide's example fits only that].
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rclsim.data.imageinfo import NotAnImage, read_image_info, size_problem
from rclsim.data.manifest.entries import _KIND_OF_TYPE, _META, CLASSIFICATION, DETECTION, ManifestEntry
from rclsim.data.manifest.validation import _DECODER, _check, _entry, _LineError
from rclsim.service import apimodel
from rclsim.service.files import MAX_JSON_DEPTH, depth_exceeds

__all__ = [
    "Limits",
    "DEFAULT_LIMITS",
    "MESSAGES",
    "LineError",
    "CheckedLine",
    "ManifestCheck",
    "check_manifest",
    "use_case",
]


@dataclass(frozen=True)
class Limits:
    """The documented limits (``limits.md``, validation rules); tests shrink them to stay small."""

    max_bytes: int = 1024**3  # "1 GB" [U: GiB]
    max_lines: int = 250_000
    max_line_chars: int = 100_000
    max_invalid_fraction: float = 0.20
    max_labels: int = 250
    max_boxes: int = 50
    max_label_name: int = 255
    min_dimension: int = apimodel.MIN_IMAGE_DIMENSION
    max_dimension: int = apimodel.MAX_IMAGE_DIMENSION
    max_aspect: float = apimodel.MAX_ASPECT_RATIO
    max_image_bytes: int = apimodel.MAX_S3_IMAGE_BYTES
    resize_edge: int = 1280


DEFAULT_LIMITS = Limits()

#: The guide's message for each code; [U] where rclsim wrote it.
MESSAGES = {
    "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT": (
        "The manifest file extension or contents are invalid."
    ),
    "ERROR_EMPTY_MANIFEST": "The manifest file is empty.",
    "ERROR_MANIFEST_SIZE_TOO_LARGE": "The manifest file size exceeds the maximum supported size.",
    "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM": "The manifest file has too many rows.",
    "ERROR_TOO_MANY_RECORDS_IN_ERROR": "The manifest file has too many terminal errors.",
    "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST": "The manifest file contains too many invalid rows.",
    "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS": "The manifest file contains images from multiple S3 buckets.",
    "ERROR_MANIFEST_TOO_MANY_LABELS": "The manifest file has too many labels.",
    "ERROR_MANIFEST_TOO_FEW_LABELS": "The manifest file has too few labels.",
    "ERROR_MISSING_SOURCE_REF": "The source-ref key is missing.",
    "ERROR_INVALID_SOURCE_REF_FORMAT": "The format of the source-ref value is invalid.",
    "ERROR_DUPLICATE_SOURCE_REF": "The source-ref value appears more than once in the dataset.",  # [U]
    "ERROR_INVALID_JSON_LINE": "The JSON Line has an invalid format.",
    "ERROR_NO_LABEL_ATTRIBUTES": "No label attributes found.",
    "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT": "The format of the label attribute {} is invalid.",
    "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT": "The format of the label attribute metadata is invalid.",
    "ERROR_NO_VALID_LABEL_ATTRIBUTES": "No valid label attributes found.",
    "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE": "One or more bounding boxes has a missing confidence value.",
    "ERROR_MISSING_CLASS_MAP_ID": "One of more class ids is missing from the class map.",
    "ERROR_INVALID_IMAGE": "The image is invalid. Check S3 path and/or image properties.",
    "ERROR_INVALID_IMAGE_DIMENSION": "The image dimension is invalid.",  # [U]
    "ERROR_INVALID_BOUNDING_BOX": "The bounding box has off frame values.",
    "ERROR_BOUNDING_BOX_TOO_SMALL": "The height and width of the bounding box is too small.",
    "ERROR_TOO_MANY_BOUNDING_BOXES": "There are more bounding boxes than the allowed maximum.",
    "ERROR_NO_VALID_ANNOTATIONS": "No valid annotations found.",
    "ERROR_INVALID_LABEL_NAME_LENGTH": "The label name length is invalid.",  # [U]
    "WARNING_UNANNOTATED_RECORD": "Record is unannotated.",
    "WARNING_NO_ANNOTATIONS": "No annotations provided.",
}

#: Codes that remove a line from the dataset (terminal content errors).
REMOVING = frozenset(
    {
        "ERROR_INVALID_JSON_LINE",
        "ERROR_MISSING_SOURCE_REF",
        "ERROR_INVALID_SOURCE_REF_FORMAT",
        "ERROR_DUPLICATE_SOURCE_REF",
    }
)
#: Codes that spoil one box only.
_BOX_CODES = frozenset(
    {
        "ERROR_INVALID_BOUNDING_BOX",
        "ERROR_BOUNDING_BOX_TOO_SMALL",
        "ERROR_MISSING_CLASS_MAP_ID",
        "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",
        "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
    }
)
_S3_REF = re.compile(r"(?i)s3://([^/]+)/(.+)\Z", re.DOTALL)


def _message(code: str, detail: str = "") -> str:
    text = MESSAGES.get(code, code)
    text = text.replace("{}", detail) if "{}" in text else text
    return text


@dataclass(frozen=True)
class LineError:
    """A line with errors: its 1-based number, ``source-ref`` (None when missing), the codes, and why.

    ``removed``: the line is not in the dataset (a terminal content error); ``invalid``: it is not
    used for training and counts against the 20% (a removed line is invalid too). A line that only
    lost some boxes is neither."""

    line: int
    source_ref: str | None
    codes: tuple[str, ...]
    detail: str
    removed: bool
    invalid: bool

    def __iter__(self) -> Any:  # unpacks as (line, source_ref, codes)
        return iter((self.line, self.source_ref, list(self.codes)))


@dataclass(frozen=True)
class CheckedLine:
    """A line kept in the dataset: ``record`` is the JSON line as ListDatasetEntries returns it (the
    service's ``errors``/``warnings`` lists added), ``entry`` its usable ground truth (None when the
    line is invalid), ``clean`` the line without broken boxes or pairs (re-readable by the reader;
    None when invalid)."""

    line: int
    source_ref: str
    record: str
    entry: ManifestEntry | None
    clean: str | None
    codes: tuple[str, ...] = ()
    ignored: bool = False

    @property
    def has_errors(self) -> bool:
        return any(code.startswith("ERROR_") for code in self.codes)

    @property
    def labeled(self) -> bool:
        return self.entry is not None and bool(self.entry.labels)


@dataclass
class ManifestCheck:
    """What the service would say of one manifest. ``terminal_error`` is ``(code, message)`` when the
    import fails, ``file_error`` when it failed before any line was read."""

    terminal_error: tuple[str, str] | None = None
    file_error: bool = False
    lines: list[CheckedLine] = field(default_factory=list)
    line_errors: list[LineError] = field(default_factory=list)
    total: int = 0
    training_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.terminal_error is None

    @property
    def entries(self) -> list[ManifestEntry]:
        """The entries training would use: valid, labeled and not ignored."""
        return [c.entry for c in self.lines if c.entry is not None and not c.ignored and c.entry.labels]

    @property
    def stats(self) -> dict[str, int]:
        invalid = sum(1 for e in self.line_errors if e.invalid)
        ignored = sum(1 for c in self.lines if c.ignored)
        return {
            "total_json_lines": self.total,
            "valid_json_lines": self.total - invalid - ignored,
            "invalid_json_lines": invalid,
            "ignored_json_lines": ignored,
        }

    @property
    def use_case(self) -> str:
        return use_case(self.entries)

    @property
    def labels(self) -> list[str]:
        return sorted({label for e in self.entries for label in e.labels})

    def summary(self, dataset: str = "training") -> dict[str, Any]:
        """The ``manifest_summary.json`` the service writes (``tm-debugging-summary``), for this
        manifest as the ``training`` or ``testing`` dataset. The service writes none after a file
        error; rclsim then puts that error in the top-level ``errors`` so the JSON says why [U]."""
        if self.file_error and self.terminal_error is not None:
            code, message = self.terminal_error
            return {"errors": [{"code": code, "message": message}], "statistics": {}}
        errors = []
        if self.terminal_error is not None:
            errors.append({"code": self.terminal_error[0], "message": self.terminal_error[1]})
        errors += [{"code": c, "message": m} for c, m in self.training_errors]
        section = {
            "use_case": self.use_case,
            **self.stats,
            "errors": errors,
            "error_json_line_indices": sorted({e.line for e in self.line_errors}),
        }
        return {"errors": [], "statistics": {dataset: section}}


def use_case(entries: list[ManifestEntry]) -> str:
    """The summary's ``use_case``: OBJECT_LOCALIZATION when any entry has boxes' kind, else
    IMAGE_LEVEL_LABELS when any is labeled, else NOT_DETERMINED."""
    kinds = {e.kind for e in entries if e.labels}
    if DETECTION in kinds:
        return "OBJECT_LOCALIZATION"
    if CLASSIFICATION in kinds:
        return "IMAGE_LEVEL_LABELS"
    return "NOT_DETERMINED"


class _Line:
    """One line's errors by where the service puts them (tm-debugging-scope-json-line)."""

    def __init__(self) -> None:
        self.top: list[str] = []
        self.attribute: dict[str, list[str]] = {}
        self.metadata: dict[str, list[str]] = {}
        self.boxes: dict[tuple[str, int], list[str]] = {}
        self.details: list[str] = []
        self.invalid = False

    def add(self, code: str, detail: str, *, where: str = "top", key: str = "", box: int = -1) -> None:
        if where == "box":
            self.boxes.setdefault((key, box), []).append(code)
        elif where == "attribute":
            self.attribute.setdefault(key, []).append(code)
        elif where == "metadata":
            self.metadata.setdefault(key, []).append(code)
        else:
            self.top.append(code)
        self.details.append(detail)

    def codes(self) -> tuple[str, ...]:
        out = list(self.top)
        for group in (self.attribute, self.metadata, self.boxes):
            for codes in group.values():
                out += codes
        return tuple(dict.fromkeys(out))


def _errors(codes: list[str], detail: str = "") -> list[dict[str, str]]:
    return [{"code": c, "message": _message(c, detail)} for c in dict.fromkeys(codes)]


def _decode(raw: bytes) -> tuple[Any, str | None]:
    """The line's JSON value, or None and why not (the reader's decoder: duplicate keys refused)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 (byte {exc.start + 1})"
    try:
        data = _DECODER.decode(text)
    except _LineError as exc:
        return None, str(exc)
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} (column {exc.colno})"
    except RecursionError:
        return None, f"JSON nested too deeply (over {MAX_JSON_DEPTH} levels)"
    if isinstance(data, (dict, list)) and depth_exceeds(data, MAX_JSON_DEPTH):
        return None, f"JSON nested too deeply (over {MAX_JSON_DEPTH} levels)"
    if not isinstance(data, dict):
        return None, f"a JSON {type(data).__name__}, not an object"
    return data, None


def _fails(name: str, value: Any, prefix: tuple[Any, ...]) -> str | None:
    try:
        _check(name, value, prefix)
    except _LineError as exc:
        return str(exc)
    return None


def _finite(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and value == value
        and abs(value) != float("inf")
    )


def _bad_name(name: Any, limits: Limits) -> bool:
    return isinstance(name, str) and not 1 <= len(name) <= limits.max_label_name


class _Checker:
    def __init__(self, limits: Limits, read_image: Callable[[str], bytes | None] | None) -> None:
        self.limits = limits
        self.read_image = read_image

    def detection(self, key: str, data: dict[str, Any], out: _Line) -> dict[str, Any] | None:
        """The pair with broken boxes dropped, or None when the pair is unusable (errors in ``out``)."""
        attr, meta = data[key], data[key + _META]
        lim = self.limits
        if not isinstance(attr, dict) or not isinstance(attr.get("annotations"), list):
            out.add(
                "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT",
                f"{key}: no annotations list",
                where="attribute",
                key=key,
            )
            return None
        why = _fails("detection-attribute", {**attr, "annotations": []}, (key,))
        if why:
            out.add("ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT", why, where="attribute", key=key)
            return None
        class_map = meta.get("class-map")
        if isinstance(class_map, dict) and any(_bad_name(n, lim) for n in class_map.values()):
            out.add(
                "ERROR_INVALID_LABEL_NAME_LENGTH",
                f"{key}-metadata: a class-map name is empty or over {lim.max_label_name} characters",
                where="metadata",
                key=key,
            )
            return None
        objects = meta.get("objects")
        why = _fails("detection-metadata", {k: v for k, v in meta.items() if k != "objects"}, (key + _META,))
        if why is None and objects is not None and not isinstance(objects, list):
            why = f"$[{key + _META!r}].objects: not a list"
        if why:
            out.add("ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT", why, where="metadata", key=key)
            return None
        size = attr["image_size"][0]
        w, h = int(size["width"]), int(size["height"])
        problem = size_problem(w, h, lim.min_dimension, lim.max_dimension, lim.max_aspect)
        if problem is not None:
            message = f"{key}: image_size: {problem}"
            out.add("ERROR_INVALID_IMAGE_DIMENSION", message, where="attribute", key=key)
            return None
        annotations = attr["annotations"]
        if len(annotations) > lim.max_boxes:
            out.add(
                "ERROR_TOO_MANY_BOUNDING_BOXES",
                f"{key}: {len(annotations)} boxes (at most {lim.max_boxes})",
                where="attribute",
                key=key,
            )
            return None
        scale = min(1.0, lim.resize_edge / max(w, h))
        kept_boxes, kept_objects = [], []
        for i, a in enumerate(annotations):
            code = self._box(a, i, w, h, scale, class_map, objects)
            if code:
                out.add(code, f"{key}: box {i}: {_message(code, key)}", where="box", key=key, box=i)
                continue
            kept_boxes.append(a)
            if objects is not None:
                kept_objects.append(objects[i])
        if annotations and not kept_boxes:
            out.add("ERROR_NO_VALID_ANNOTATIONS", f"{key}: none of {len(annotations)} boxes is valid")
            return None
        new_meta = dict(meta)
        if objects is not None:
            new_meta["objects"] = kept_objects
        return {key: {**attr, "annotations": kept_boxes}, key + _META: new_meta}

    def _box(self, a: Any, i: int, w: int, h: int, scale: float, class_map: Any, objects: Any) -> str | None:
        names = ("left", "top", "width", "height")
        if not isinstance(a, dict) or not all(_finite(a.get(n)) for n in names):
            return "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"
        cid: Any = a.get("class_id")
        if not (_finite(cid) and float(cid).is_integer() and cid >= 0):
            return "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"
        left, top, bw, bh = (float(a[n]) for n in names)
        if left < 0 or top < 0 or bw < 0 or bh < 0 or left + bw > w or top + bh > h:
            return "ERROR_INVALID_BOUNDING_BOX"
        if bw * scale <= 1 or bh * scale <= 1:
            return "ERROR_BOUNDING_BOX_TOO_SMALL"
        if str(int(cid)) not in class_map:
            return "ERROR_MISSING_CLASS_MAP_ID"
        if objects is not None and (
            i >= len(objects) or not isinstance(objects[i], dict) or "confidence" not in objects[i]
        ):
            return "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE"
        return None

    def classification(self, key: str, data: dict[str, Any], out: _Line) -> dict[str, Any] | None:
        attr, meta = data[key], data[key + _META]
        why = _fails("classification-attribute", attr, (key,))
        if why:
            out.add("ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT", why, where="attribute", key=key)
            return None
        if _bad_name(meta.get("class-name"), self.limits):
            out.add(
                "ERROR_INVALID_LABEL_NAME_LENGTH",
                f"{key}-metadata: class-name is empty or over {self.limits.max_label_name} characters",
                where="metadata",
                key=key,
            )
            return None
        why = _fails("classification-metadata", meta, (key + _META,))
        if why:
            out.add("ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT", why, where="metadata", key=key)
            return None
        return {key: attr, key + _META: meta}

    def image(self, source_ref: str, entry: ManifestEntry, out: _Line) -> None:
        """ERROR_INVALID_IMAGE / ERROR_INVALID_IMAGE_DIMENSION from the image's own bytes."""
        if self.read_image is None:
            return
        lim = self.limits
        data = self.read_image(source_ref)
        if data is None:
            out.add("ERROR_INVALID_IMAGE", f"{source_ref}: no such object")
            return
        if len(data) > lim.max_image_bytes:
            out.add("ERROR_INVALID_IMAGE", f"{source_ref}: {len(data)} bytes, over {lim.max_image_bytes}")
            return
        try:
            info = read_image_info(data)
        except NotAnImage as exc:
            out.add("ERROR_INVALID_IMAGE", f"{source_ref}: {exc}")
            return
        w, h = info.width, info.height
        problem = size_problem(w, h, lim.min_dimension, lim.max_dimension, lim.max_aspect)
        if problem is not None:
            out.add("ERROR_INVALID_IMAGE", f"{source_ref}: {problem}")
            return
        if entry.kind == DETECTION and (entry.width, entry.height) != (w, h):
            out.add(
                "ERROR_INVALID_IMAGE_DIMENSION",
                f"{source_ref}: image_size says {entry.width}x{entry.height}, the image is {w}x{h}",
            )


def _record(data: dict[str, Any], out: _Line, warnings: list[str]) -> str:
    """The line as ListDatasetEntries returns it: errors added where the service puts them."""
    rec: dict[str, Any] = {k: v for k, v in data.items() if k not in ("errors", "warnings")}
    for key, codes in out.attribute.items():
        if isinstance(rec.get(key), dict):
            rec[key] = {**rec[key], "errors": _errors(codes, key)}
        else:
            out.top += codes
    for key, codes in out.metadata.items():
        rec[key + _META] = {**rec[key + _META], "errors": _errors(codes, key)}
    for (key, i), codes in out.boxes.items():
        attr = dict(rec[key])
        boxes = list(attr["annotations"])
        boxes[i] = {**boxes[i], "errors": _errors(codes, key)} if isinstance(boxes[i], dict) else boxes[i]
        attr["annotations"] = boxes
        rec[key] = attr
    if out.top:
        rec["errors"] = _errors(out.top)
    if warnings:
        rec["warnings"] = _errors(warnings)
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":"))


def _split_lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the last line's terminator ends no further line
    return [line[:-1] if line.endswith(b"\r") else line for line in lines]


def check_manifest(
    data: bytes,
    *,
    read_image: Callable[[str], bytes | None] | None = None,
    limits: Limits = DEFAULT_LIMITS,
    whole: bool = True,
) -> ManifestCheck:
    """What the service's dataset import would say of the manifest ``data`` (see the module doc).

    ``read_image(source_ref)`` gives an image's bytes (None when missing) to check images too;
    without it images are taken on trust. ``whole=False`` checks lines added to a dataset
    (UpdateDatasetEntries): no label-count rule, as the lines are not the whole dataset.
    """
    result = ManifestCheck()
    if len(data) > limits.max_bytes:
        result.terminal_error = _terminal("ERROR_MANIFEST_SIZE_TOO_LARGE")
        result.file_error = True
        return result
    if not data.strip():
        result.terminal_error = _terminal("ERROR_EMPTY_MANIFEST")
        result.file_error = True
        return result
    raw_lines = _split_lines(data)
    too_many = len(raw_lines) > limits.max_lines
    raw_lines = raw_lines[: limits.max_lines]
    result.total = len(raw_lines)
    checker = _Checker(limits, read_image)
    seen: set[str] = set()
    objects = 0
    for number, raw in enumerate(raw_lines, start=1):
        objects += _one_line(number, raw, checker, seen, result)
    if objects == 0:
        result.terminal_error = _terminal("ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT")
        result.file_error = True
        result.lines.clear()
        result.line_errors.clear()
        return result
    removed = sum(1 for e in result.line_errors if e.removed)
    invalid = sum(1 for e in result.line_errors if e.invalid)
    buckets = {m.group(1) for c in result.lines if (m := _S3_REF.match(c.source_ref))}
    labels = result.labels
    if too_many:
        result.terminal_error = _terminal("ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM")
    elif len(buckets) > 1:
        result.terminal_error = _terminal(
            "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS", f"buckets {', '.join(sorted(buckets))}"
        )
    elif removed > limits.max_invalid_fraction * result.total:
        result.terminal_error = _terminal(
            "ERROR_TOO_MANY_RECORDS_IN_ERROR", f"{removed} of {result.total} lines"
        )
    elif invalid > limits.max_invalid_fraction * result.total:
        result.terminal_error = _terminal(
            "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST", f"{invalid} of {result.total} lines"
        )
    elif len(labels) > limits.max_labels:
        result.terminal_error = _terminal("ERROR_MANIFEST_TOO_MANY_LABELS", f"{len(labels)} labels")
    if whole:
        minimum = {"OBJECT_LOCALIZATION": 1, "IMAGE_LEVEL_LABELS": 2}.get(result.use_case, 1)
        if len(labels) < minimum:
            result.training_errors.append(
                ("ERROR_MANIFEST_TOO_FEW_LABELS", MESSAGES["ERROR_MANIFEST_TOO_FEW_LABELS"])
            )
    return result


def _terminal(code: str, detail: str = "") -> tuple[str, str]:
    message = MESSAGES[code]
    return code, f"{message} ({detail})" if detail else message


def _one_line(number: int, raw: bytes, checker: _Checker, seen: set[str], result: ManifestCheck) -> int:
    """Check one line into ``result``; 1 when it is a JSON object (for the unsupported-format rule)."""
    limits = checker.limits

    def removed(code: str, detail: str, ref: str | None = None) -> None:
        result.line_errors.append(LineError(number, ref, (code,), detail, True, True))

    if len(raw) > limits.max_line_chars and len(raw.decode("utf-8", "replace")) > limits.max_line_chars:
        removed("ERROR_INVALID_JSON_LINE", f"line longer than {limits.max_line_chars} characters")
        return 0
    if not raw.strip():
        removed("ERROR_INVALID_JSON_LINE", "blank line")
        return 0
    data, why = _decode(raw)
    if data is None:
        removed("ERROR_INVALID_JSON_LINE", why or "not JSON")
        return 0
    ref = data.get("source-ref")
    if "source-ref" not in data:
        removed("ERROR_MISSING_SOURCE_REF", "no source-ref key")
        return 1
    if not isinstance(ref, str) or not _S3_REF.match(ref):
        removed(
            "ERROR_INVALID_SOURCE_REF_FORMAT",
            f"source-ref {ref!r} is not s3://bucket/key",
            ref if isinstance(ref, str) else None,
        )
        return 1
    if ref in seen:
        removed("ERROR_DUPLICATE_SOURCE_REF", f"{ref} appears on an earlier line", ref)
        return 1
    seen.add(ref)
    out = _Line()
    keys = [k for k in data if k not in ("source-ref", "errors", "warnings")]
    if not keys:
        record = _record(data, out, ["WARNING_UNANNOTATED_RECORD"])
        bare = json.dumps({"source-ref": ref}, ensure_ascii=False)
        result.lines.append(
            CheckedLine(number, ref, record, None, bare, ("WARNING_UNANNOTATED_RECORD",), True)
        )
        return 1
    pairs = [k for k in keys if not k.endswith(_META) and k + _META in data]
    entry = None
    clean_data: dict[str, Any] = {"source-ref": ref}
    if not pairs:
        out.add("ERROR_NO_LABEL_ATTRIBUTES", "no label attribute X with its X-metadata")
    else:
        supported = [
            k
            for k in pairs
            if isinstance(data[k + _META], dict) and data[k + _META].get("type") in _KIND_OF_TYPE
        ]
        for k in pairs:
            meta = data[k + _META]
            if not isinstance(meta, dict) or "type" not in meta:
                out.add(
                    "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
                    f"{k}-metadata: no type",
                    where="metadata",
                    key=k,
                )
        if not supported and not out.details:
            out.add(
                "ERROR_NO_VALID_LABEL_ATTRIBUTES",
                "no pair of type groundtruth/object-detection or groundtruth/image-classification",
            )
        detection = [k for k in supported if _KIND_OF_TYPE[data[k + _META]["type"]] == DETECTION]
        chosen = detection[:1] or supported
        for k in chosen:
            part = (checker.detection if k in detection else checker.classification)(k, data, out)
            if part is not None:
                clean_data.update(part)
        if supported and len(clean_data) == 1 and not out.details:
            out.add("ERROR_NO_VALID_LABEL_ATTRIBUTES", "no valid label attribute")
    usable = len(clean_data) > 1 and not any(c not in _BOX_CODES or w != "box" for c, w in _placed(out))
    if usable:
        try:
            entry = _entry(clean_data, number)
        except _LineError as exc:  # a rule of the reader this module does not know
            out.add("ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT", str(exc))
            entry = None
        if entry is not None:
            before = len(out.details)
            checker.image(ref, entry, out)
            if len(out.details) > before:
                entry = None
    ignored = entry is not None and not entry.labels
    warnings = ["WARNING_NO_ANNOTATIONS"] if ignored else []
    record = _record(data, out, warnings)
    codes = out.codes() + tuple(warnings)
    clean = json.dumps(clean_data, ensure_ascii=False, separators=(",", ":")) if entry is not None else None
    result.lines.append(CheckedLine(number, ref, record, entry, clean, codes, ignored))
    if out.details:
        result.line_errors.append(
            LineError(number, ref, out.codes(), "; ".join(out.details), False, entry is None)
        )
    return 1


def _placed(out: _Line) -> list[tuple[str, str]]:
    placed = [(c, "top") for c in out.top]
    placed += [(c, "attribute") for codes in out.attribute.values() for c in codes]
    placed += [(c, "metadata") for codes in out.metadata.values() for c in codes]
    placed += [(c, "box") for codes in out.boxes.values() for c in codes]
    return placed


def check_uploaded(
    data: bytes, read_image: Callable[[str], bytes | None] | None, *, whole: bool = True
) -> tuple[ManifestCheck, bool]:
    """:func:`check_manifest` with the images read where they can be, and whether they were: when the
    first line's image is not there at all, the images were not uploaded (yet) and are taken on trust
    rather than every line failing [U]. The fake's import and ``rclsim manifest check --images-dir``
    both use this rule."""
    check = check_manifest(data, read_image=read_image, whole=whole)
    if (
        read_image is not None
        and check.lines
        and check.lines[0].entry is None
        and read_image(check.lines[0].source_ref) is None
    ):
        return check_manifest(data, whole=whole), False
    return check, read_image is not None
