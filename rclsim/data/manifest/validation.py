"""The rules one manifest line must follow, and the entry a good line describes.

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

import json
import re
import reprlib
from collections.abc import Iterable
from typing import Any

from rclsim.data.manifest.entries import _KIND_OF_TYPE, _META, CLASSIFICATION, DETECTION, Box, ManifestEntry
from rclsim.data.manifest.line_schema import _fast_checks, _validators
from rclsim.service.files import MAX_JSON_DEPTH, depth_exceeds


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
