"""SageMaker Ground Truth manifests (JSON Lines), as Amazon Rekognition Custom Labels reads them.

A manifest is how a Custom Labels dataset names its images and their ground truth: one JSON object per
line, ``source-ref`` plus label attributes ``X`` each with an ``X-metadata``. rclsim reads them to
compare a model (or a simulation) with the truth, and writes them so recordings and simulations can
become datasets. Two kinds are supported: object detection (``groundtruth/object-detection``, boxes in
pixels) and image classification (``groundtruth/image-classification``, one class name per pair).

Reading is **streaming** (one line at a time; manifests may hold 250,000 lines) and **never fixes
anything**: a line that fails JSON parsing, the committed schema
(``rclsim/schemadata/manifest-line.schema.json``) or the consistency rules below becomes a
:class:`ManifestProblem` naming its line, and the good lines still load.

The rules are lenient exactly where published manifests differ (key order, extra keys, fractional
pixels, any confidence in 0..1, creation-date formats, no ``job-name``, bare ``source-ref`` without
``s3://``) and strict where a wrong value would mislead: numbers finite, sizes positive, ``left``/``top``
not negative (Custom Labels reports ERROR_INVALID_BOUNDING_BOX), every ``class_id`` in the line's
``class-map``, as many ``objects`` as ``annotations``. JSON Schema cannot pair ``X`` with ``X-metadata``,
so the schema checks each key's kind and this module checks each pair against the schema's ``$defs``.

What a line may not do, because one :class:`ManifestEntry` could not hold it: carry more than one
object-detection attribute, or mix object-detection and image-classification attributes. Several
classification attributes are fine (an image with several labels).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import os
import re
import reprlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import RclsimError
from .files import MAX_JSON_DEPTH, depth_exceeds, write_atomically
from .geometry import to_pixels

__all__ = [
    "MANIFEST_LINE_SCHEMA_ID",
    "DETECTION",
    "CLASSIFICATION",
    "Box",
    "ManifestEntry",
    "ManifestProblem",
    "manifest_line_schema",
    "iter_manifest",
    "read_manifest",
    "manifest_problems",
    "write_manifest",
    "entries_from_responses",
]

MANIFEST_LINE_SCHEMA_ID = "urn:rclsim:schema:manifest-line"
DETECTION = "object-detection"
CLASSIFICATION = "image-classification"
_GT_TYPE = {DETECTION: "groundtruth/object-detection", CLASSIFICATION: "groundtruth/image-classification"}
_KIND_OF_TYPE = {v: k for k, v in _GT_TYPE.items()}
_META = "-metadata"
_DEFAULT_ATTRIBUTE = "bounding-box"
#: The longest line read (a line with a thousand boxes is about 100 KiB); longer ones are bad lines.
MAX_LINE_BYTES = 16 * 1024 * 1024


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


# --- validation ---------------------------------------------------------------------------------------


@functools.cache
def manifest_line_schema() -> dict[str, Any]:
    """The committed schema of one manifest line (its ``$defs`` hold the per-pair shapes)."""
    from .schemas import _load

    return _load("manifest-line.schema.json")


_TYPE_TESTS = {
    "object": "isinstance({v}, dict)",
    "array": "isinstance({v}, list)",
    "string": "isinstance({v}, str)",
    "number": "(isinstance({v}, (int, float)) and not isinstance({v}, bool))",
    "integer": (
        "((isinstance({v}, int) and not isinstance({v}, bool))"
        " or (isinstance({v}, float) and {v}.is_integer()))"
    ),
}
# keyword -> (guard, failure test), as jsonschema words them (NaN passes these; "finite" rejects it)
_SIMPLE = {
    "minItems": ("array", "len({v}) < {w}"),
    "maxItems": ("array", "len({v}) > {w}"),
    "minLength": ("string", "len({v}) < {w}"),
    "minimum": ("number", "{v} < {w}"),
    "maximum": ("number", "{v} > {w}"),
    "exclusiveMinimum": ("number", "{v} <= {w}"),
}
_IGNORED = {"$schema", "$id", "$defs", "title", "description"}
_DEF_NAMES = (
    "detection-attribute",
    "detection-metadata",
    "classification-attribute",
    "classification-metadata",
)


def _same(a: Any, b: Any) -> bool:
    """JSON equality for ``enum``/``const`` scalars: ``true`` is not ``1``."""
    return bool(a == b) and isinstance(a, bool) == isinstance(b, bool)


class _Compiler:
    """Turns the committed schema into plain Python checks (yes/no), for speed.

    jsonschema takes about half a millisecond per line here ($ref lookups dominate), far too slow for a
    250,000-line manifest. So every line is first judged by functions generated from the same committed
    schema, and only a line they reject goes to jsonschema, which stays the authority and words the
    message. Only the keywords this schema uses are known; any other raises ``KeyError`` and then the
    fast path is not used at all, so a schema change can never be half-enforced.
    """

    def __init__(self, root: Mapping[str, Any]) -> None:
        self.root = root
        self.source: list[str] = []
        self.names: dict[str, Any] = {"math": math, "_same": _same}
        self.defs: dict[str, str] = {}
        self.count = 0

    def fresh(self, stem: str) -> str:
        self.count += 1
        return f"{stem}{self.count}"

    def constant(self, value: Any) -> str:
        name = self.fresh("c")
        self.names[name] = value
        return name

    def function(self, node: Mapping[str, Any]) -> str:
        name = self.fresh("check")
        body: list[str] = []
        self.emit(node, "v", body, 1)
        self.source += [f"def {name}(v):", *body, "    return True", ""]
        return name

    def definition(self, ref: str) -> str:
        if not ref.startswith("#/$defs/"):
            raise KeyError(ref)
        key = ref[len("#/$defs/") :]
        if key not in self.defs:
            self.defs[key] = self.function(self.root["$defs"][key])
        return self.defs[key]

    def emit(self, node: Mapping[str, Any], v: str, out: list[str], depth: int) -> None:
        pad = "    " * depth
        # Once "type" has passed, the per-keyword type guards are known true; leave them out.
        known = node.get("type") if isinstance(node.get("type"), str) else None

        def fail_if(test: str) -> None:
            out.append(f"{pad}if {test}: return False")

        def guarded(kind: str, test: str) -> str:
            if kind == known or (kind == "number" and known == "integer"):
                return test
            return f"{_TYPE_TESTS[kind].format(v=v)} and {test}"

        for key, want in sorted(node.items(), key=lambda item: item[0] != "type"):
            if key in _IGNORED or key in ("patternProperties", "additionalProperties"):
                continue
            if key == "$ref":
                fail_if(f"not {self.definition(want)}({v})")
            elif key == "type":
                tests = [_TYPE_TESTS[t].format(v=v) for t in ([want] if isinstance(want, str) else want)]
                fail_if(f"not ({' or '.join(tests)})")
            elif key in _SIMPLE:
                kind, test = _SIMPLE[key]
                fail_if(guarded(kind, test.format(v=v, w=repr(want))))
            elif key == "required":
                present = " and ".join(f"{k!r} in {v}" for k in want) or "True"
                fail_if(guarded("object", f"not ({present})"))
            elif key == "pattern":
                fail_if(guarded("string", f"{self.constant(re.compile(want))}.search({v}) is None"))
            elif key == "finite":
                if want:
                    fail_if(f"isinstance({v}, float) and not math.isfinite({v})")
            elif key in ("enum", "const"):
                options = tuple(want) if key == "enum" else (want,)
                if all(isinstance(o, str) for o in options):
                    fail_if(f"not (isinstance({v}, str) and {v} in {self.constant(frozenset(options))})")
                else:
                    fail_if(f"not any(_same({v}, o) for o in {self.constant(options)})")
            elif key == "items":
                item = self.fresh("x")
                out.append(f"{pad}if {guarded('array', 'True')}:")
                out.append(f"{pad}    for {item} in {v}:")
                self.emit(want, item, out, depth + 2)
                out.append(f"{pad}        pass")
            elif key == "propertyNames":
                name = self.fresh("k")
                out.append(f"{pad}if {guarded('object', 'True')}:")
                out.append(f"{pad}    for {name} in {v}:")
                self.emit(want, name, out, depth + 2)
                out.append(f"{pad}        pass")
            elif key == "properties":
                for prop, sub in want.items():
                    value = self.fresh("x")
                    out.append(f"{pad}if {guarded('object', f'{prop!r} in {v}')}:")
                    out.append(f"{pad}    {value} = {v}[{prop!r}]")
                    self.emit(sub, value, out, depth + 1)
            else:
                raise KeyError(key)
        patterns = node.get("patternProperties", {})
        if patterns or "additionalProperties" in node:
            name, value, seen = self.fresh("k"), self.fresh("x"), self.fresh("m")
            out.append(f"{pad}if {guarded('object', 'True')}:")
            out.append(f"{pad}    for {name}, {value} in {v}.items():")
            listed = self.constant(frozenset(node.get("properties", {})))
            out.append(f"{pad}        {seen} = {name} in {listed}")
            for pattern, sub in patterns.items():
                out.append(f"{pad}        if {self.constant(re.compile(pattern))}.search({name}):")
                out.append(f"{pad}            {seen} = True")
                self.emit(sub, value, out, depth + 3)
            if "additionalProperties" in node:
                out.append(f"{pad}        if not {seen}:")
                self.emit(node["additionalProperties"], value, out, depth + 3)
                out.append(f"{pad}            pass")


@functools.cache
def _fast_checks() -> dict[str, Callable[[Any], bool]] | None:
    root = manifest_line_schema()
    compiler = _Compiler(root)
    try:
        names = {"line": compiler.function(root)}
        names.update((name, compiler.definition(f"#/$defs/{name}")) for name in _DEF_NAMES)
    except KeyError:
        return None
    exec("\n".join(compiler.source), compiler.names)  # noqa: S102 - code generated from our own schema
    return {key: compiler.names[name] for key, name in names.items()}


@functools.cache
def _validators() -> dict[str, Any]:
    # Imported lazily, as in rclsim.schemas: importing rclsim must not pay for jsonschema.
    import jsonschema
    from referencing import Registry, Resource

    from .schemas import _finite

    schema = manifest_line_schema()
    cls = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"finite": _finite})
    registry: Registry = Registry().with_resource(MANIFEST_LINE_SCHEMA_ID, Resource.from_contents(schema))
    out = {"line": cls(schema, registry=registry)}
    for name in _DEF_NAMES:
        out[name] = cls({"$ref": f"{MANIFEST_LINE_SCHEMA_ID}#/$defs/{name}"}, registry=registry)
    return out


class _LineError(Exception):
    """A line breaks a rule; the message says where (a JSON path) and what."""


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _path(parts: Iterable[Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
    return out


def _check(validator_name: str, instance: Any, prefix: tuple[Any, ...]) -> None:
    fast = _fast_checks()
    if fast is not None and fast[validator_name](instance):
        return
    errors = sorted(
        _validators()[validator_name].iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path]
    )
    if errors:
        leaf = errors[0]
        while leaf.context:  # anyOf/oneOf: the deepest branch error says most
            leaf = max(leaf.context, key=lambda e: len(e.absolute_path))
        message, shown = leaf.message, repr(leaf.instance)
        if len(shown) > 60 and message.startswith(shown):  # a whole object in the message: shorten it
            message = reprlib.repr(leaf.instance) + message[len(shown) :]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise _LineError(f"{_path(prefix + tuple(leaf.absolute_path))}: {message}{more}")


def _entry(data: Any, line: int) -> ManifestEntry:
    """The entry a parsed line describes, or :class:`_LineError` saying why it cannot be one."""
    _check("line", data, ())
    pairs: list[str] = []
    for key in data:
        if key == "source-ref":
            continue
        if key.endswith(_META):
            if key[: -len(_META)] not in data or key == "source-ref" + _META:
                raise _LineError(
                    f"{_path([key])}: metadata without its label attribute {key[: -len(_META)]!r}"
                )
        elif key + _META not in data:
            raise _LineError(f"{_path([key])}: label attribute without its {key + _META!r}")
        else:
            pairs.append(key)
    if not pairs:
        raise _LineError("no label attribute (a key X with its X-metadata)")
    kinds = {key: _KIND_OF_TYPE[data[key + _META]["type"]] for key in pairs}
    detection = [k for k in pairs if kinds[k] == DETECTION]
    if detection and len(detection) != len(pairs):
        classification = [k for k in pairs if kinds[k] == CLASSIFICATION]
        raise _LineError(
            f"mixes object-detection {detection} and image-classification {classification} attributes"
        )
    source_ref = data["source-ref"]
    if not detection:
        labels = []
        for key in pairs:
            _check("classification-attribute", data[key], (key,))
            _check("classification-metadata", data[key + _META], (key + _META,))
            labels.append(data[key + _META]["class-name"])
        return ManifestEntry.classification(source_ref, labels, attribute=pairs[0], line=line)
    if len(detection) > 1:
        raise _LineError(f"several object-detection attributes {detection}; a line may have one")
    key = detection[0]
    attr, meta = data[key], data[key + _META]
    _check("detection-attribute", attr, (key,))
    _check("detection-metadata", meta, (key + _META,))
    annotations, class_map, objects = attr["annotations"], meta["class-map"], meta.get("objects")
    if objects is not None and len(objects) != len(annotations):
        raise _LineError(
            f"{_path([key + _META, 'objects'])}: {len(objects)} objects for {len(annotations)} annotations"
        )
    boxes = []
    for i, a in enumerate(annotations):
        name = class_map.get(str(int(a["class_id"])))
        if name is None:
            where = _path([key, "annotations", i, "class_id"])
            raise _LineError(f"{where}: class_id {a['class_id']} is not in the class-map {sorted(class_map)}")
        boxes.append(Box(name, float(a["left"]), float(a["top"]), float(a["width"]), float(a["height"])))
    size = attr["image_size"][0]
    return ManifestEntry.detection(
        source_ref, int(size["width"]), int(size["height"]), boxes, attribute=key, line=line
    )


def _forget() -> None:
    for cached in (manifest_line_schema, _fast_checks, _validators):
        cached.cache_clear()


def _register() -> None:
    from .kept import on_forget

    on_forget(_forget)


_register()


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _LineError(f"duplicate key {key!r} (JSON parsers disagree on which value counts)")
        out[key] = value
    return out


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicate_keys)


def _parse(raw: bytes, line: int) -> ManifestEntry:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _LineError(f"not UTF-8 (byte {exc.start + 1})") from None
    try:
        data = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise _LineError(f"invalid JSON: {exc.msg} (column {exc.colno})") from None
    except RecursionError:
        raise _LineError(f"JSON nested too deeply (over {MAX_JSON_DEPTH} levels)") from None
    if isinstance(data, (dict, list)) and depth_exceeds(data, MAX_JSON_DEPTH):
        raise _LineError(f"JSON nested too deeply (over {MAX_JSON_DEPTH} levels)")
    return _entry(data, line)


# --- reading ------------------------------------------------------------------------------------------


def iter_manifest(
    path: str | os.PathLike[str], problems: list[ManifestProblem] | None = None
) -> Iterator[ManifestEntry]:
    """Yield the good lines of the manifest at ``path``, one at a time, in file order.

    Each bad line is appended to ``problems`` (when given) and skipped; blank lines are skipped
    silently, as they hold nothing. The file is read line by line, so memory stays small whatever
    its size. Raises :class:`RclsimError` (on the first ``next``, as this is a generator) only when the
    file cannot be opened or read.
    """
    p = Path(path)
    try:
        handle = open(p, "rb")  # bytes: only b"\n" ends a line (U+2028 inside a string does not)
    except OSError as exc:
        raise RclsimError(f"cannot read manifest {p}: {exc.strerror or exc}") from None
    with handle:
        try:
            for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), start=1):
                if len(raw) > MAX_LINE_BYTES:
                    # Too long to be a manifest line: report it, then skip the rest of it unread.
                    while raw and not raw.endswith(b"\n"):
                        raw = handle.readline(MAX_LINE_BYTES)
                    if problems is not None:
                        problems.append(
                            ManifestProblem(
                                number, f"line longer than {MAX_LINE_BYTES} bytes: not a manifest line"
                            )
                        )
                    continue
                if not raw.strip():
                    continue
                try:
                    entry = _parse(raw, number)
                except _LineError as exc:
                    if problems is not None:
                        problems.append(ManifestProblem(number, str(exc)))
                    continue
                yield entry
        except OSError as exc:
            raise RclsimError(f"cannot read manifest {p}: {exc.strerror or exc}") from None


def read_manifest(path: str | os.PathLike[str]) -> tuple[list[ManifestEntry], list[ManifestProblem]]:
    """All good entries and all problems of the manifest at ``path``."""
    problems: list[ManifestProblem] = []
    entries = list(iter_manifest(path, problems))
    return entries, problems


def manifest_problems(path: str | os.PathLike[str]) -> list[ManifestProblem]:
    """Every bad line of the manifest at ``path`` (empty when all lines are good); streams the file."""
    problems: list[ManifestProblem] = []
    for _ in iter_manifest(path, problems):
        pass
    return problems


# --- writing ------------------------------------------------------------------------------------------


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


# --- from DetectCustomLabels responses ----------------------------------------------------------------


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
    from .schemas import response_problems

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
