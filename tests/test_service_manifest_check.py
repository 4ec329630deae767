"""The service's import check of a manifest (rclsim.data.manifest.service_check): each documented
error code, the terminal rules, the summary format, and bad input."""

from __future__ import annotations

import json
import struct
import zlib
from typing import Any

import pytest

from rclsim.data.manifest import read_manifest
from rclsim.data.manifest.service_check import (
    DEFAULT_LIMITS,
    MESSAGES,
    Limits,
    check_manifest,
)


def det(
    ref: str = "s3://b/a.jpg", boxes: Any = None, *, size: tuple[int, int] = (640, 480), **meta: Any
) -> dict:
    boxes = [(10, 20, 100, 50, 0)] if boxes is None else boxes
    line: dict[str, Any] = {
        "source-ref": ref,
        "bb": {
            "image_size": [{"width": size[0], "height": size[1], "depth": 3}],
            "annotations": [
                {"class_id": c, "left": left, "top": top, "width": w, "height": h}
                for left, top, w, h, c in boxes
            ],
        },
        "bb-metadata": {
            "objects": [{"confidence": 1} for _ in boxes],
            "class-map": {"0": "car", "1": "plate"},
            "type": "groundtruth/object-detection",
            "human-annotated": "yes",
            "creation-date": "2024-03-02T14:05:51.204331",
            "job-name": "labeling-job/x",
        },
    }
    line["bb-metadata"].update(meta)
    return line


def cls(ref: str = "s3://b/c.jpg", name: str = "cat") -> dict:
    return {
        "source-ref": ref,
        "lab": 1,
        "lab-metadata": {
            "class-name": name,
            "confidence": 1,
            "type": "groundtruth/image-classification",
            "human-annotated": "yes",
            "creation-date": "2024-03-02T14:05:51",
            "job-name": "labeling-job/x",
        },
    }


def manifest(*lines: Any) -> bytes:
    return b"".join((x if isinstance(x, bytes) else json.dumps(x).encode()) + b"\n" for x in lines)


def good(n: int, prefix: str = "g") -> list[dict]:
    return [det(f"s3://b/{prefix}{i}.jpg", [(10, 10, 50, 50, i % 2)]) for i in range(n)]


def codes_of(check: Any) -> dict[int, tuple[str, ...]]:
    return {e.line: e.codes for e in check.line_errors}


def test_a_clean_detection_manifest_imports_with_every_entry() -> None:
    check = check_manifest(manifest(*good(5)))
    assert check.ok and check.terminal_error is None
    assert len(check.entries) == 5 and check.line_errors == []
    assert check.labels == ["car", "plate"] and check.use_case == "OBJECT_LOCALIZATION"
    assert check.stats == {
        "total_json_lines": 5,
        "valid_json_lines": 5,
        "invalid_json_lines": 0,
        "ignored_json_lines": 0,
    }
    e = check.entries[0]
    assert (e.width, e.height, e.boxes[0].left, e.boxes[0].name) == (640, 480, 10.0, "car")


WILD = "/work/shared/reference/wild/manifests/"


@pytest.mark.parametrize(
    ("name", "terminal"),
    [
        ("01-t04glovern-cat-ground-truth.manifest", None),
        ("02-dannymorris-bcbs-logo.manifest", None),
        ("03-nishantkarve-bax-bees.manifest", None),
        ("04-openaims-ozfish.manifest", "ERROR_TOO_MANY_RECORDS_IN_ERROR"),  # a bare file name as source-ref
        (
            "05-awsdocs-circuit-board-bb.manifest",
            "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS",
        ),  # bucket, your_bucket
    ],
)
def test_published_manifests(name: str, terminal: str | None) -> None:
    from pathlib import Path

    path = Path(WILD + name)
    if not path.exists():
        pytest.skip("the wild manifests are not on this machine")
    check = check_manifest(path.read_bytes())
    assert (check.terminal_error or (None,))[0] == terminal
    if terminal is None:  # the same training entries as rclsim's own reader finds
        entries, _ = read_manifest(path)
        assert check.entries == [e for e in entries if e.labels]


def test_classification_needs_two_labels_for_training_but_imports() -> None:
    check = check_manifest(manifest(cls("s3://b/1.jpg"), cls("s3://b/2.jpg")))
    assert check.ok and check.use_case == "IMAGE_LEVEL_LABELS"
    assert check.training_errors == [
        ("ERROR_MANIFEST_TOO_FEW_LABELS", MESSAGES["ERROR_MANIFEST_TOO_FEW_LABELS"])
    ]
    two = check_manifest(manifest(cls("s3://b/1.jpg"), cls("s3://b/2.jpg", "dog")))
    assert two.training_errors == [] and two.labels == ["cat", "dog"]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ({"bb": 1}, "ERROR_MISSING_SOURCE_REF"),
        ({**det(), "source-ref": "https://b/a.jpg"}, "ERROR_INVALID_SOURCE_REF_FORMAT"),
        ({**det(), "source-ref": "a.jpg"}, "ERROR_INVALID_SOURCE_REF_FORMAT"),
        ({**det(), "source-ref": 7}, "ERROR_INVALID_SOURCE_REF_FORMAT"),
        (b"{not json", "ERROR_INVALID_JSON_LINE"),
        (b"[1, 2]", "ERROR_INVALID_JSON_LINE"),
        (b'{"source-ref": "s3://b/x.jpg", "source-ref": "s3://b/y.jpg"}', "ERROR_INVALID_JSON_LINE"),
        (b"\xff\xfe garbage", "ERROR_INVALID_JSON_LINE"),
        (b"   ", "ERROR_INVALID_JSON_LINE"),
    ],
)
def test_lines_the_service_removes(bad: Any, code: str) -> None:
    check = check_manifest(manifest(*good(9), bad))
    assert check.ok  # 1 of 10 is within 20%
    (error,) = check.line_errors
    assert (error.line, error.codes, error.removed, error.invalid) == (10, (code,), True, True)
    assert len(check.lines) == 9  # not in the dataset
    assert check.stats["invalid_json_lines"] == 1


def test_a_duplicate_source_ref_keeps_the_first() -> None:
    check = check_manifest(manifest(*good(5), det("s3://b/g0.jpg", [(0, 0, 9, 9, 1)])))
    assert codes_of(check) == {6: ("ERROR_DUPLICATE_SOURCE_REF",)}
    assert [c.line for c in check.lines] == [1, 2, 3, 4, 5]


def test_a_line_over_100000_characters_is_removed() -> None:
    long = det("s3://b/long.jpg")
    long["bb-metadata"]["job-name"] = "x" * 100_001
    check = check_manifest(manifest(*good(9), long))
    assert codes_of(check) == {10: ("ERROR_INVALID_JSON_LINE",)}
    assert "100000" in check.line_errors[0].detail


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ({"source-ref": "s3://b/x.jpg", "bb": {}}, "ERROR_NO_LABEL_ATTRIBUTES"),
        (
            {
                "source-ref": "s3://b/x.jpg",
                "s": {},
                "s-metadata": {"type": "groundtruth/semantic-segmentation"},
            },
            "ERROR_NO_VALID_LABEL_ATTRIBUTES",
        ),
        ({**det("s3://b/x.jpg"), "bb": {"annotations": []}}, "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"),
        ({**det("s3://b/x.jpg"), "bb": "box"}, "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"),
        ({**cls("s3://b/x.jpg"), "lab": "one"}, "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"),
        (
            det("s3://b/x.jpg", **{"human-annotated": "maybe"}),
            "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT",
        ),
        (det("s3://b/x.jpg", **{"class-map": ["car"]}), "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT"),
        (det("s3://b/x.jpg", objects={"confidence": 1}), "ERROR_INVALID_LABEL_ATTRIBUTE_METADATA_FORMAT"),
        (det("s3://b/x.jpg", **{"class-map": {"0": "x" * 256}}), "ERROR_INVALID_LABEL_NAME_LENGTH"),
        (cls("s3://b/x.jpg", ""), "ERROR_INVALID_LABEL_NAME_LENGTH"),
        (det("s3://b/x.jpg", size=(5000, 480)), "ERROR_INVALID_IMAGE_DIMENSION"),
        (det("s3://b/x.jpg", [(0, 0, 10, 10, 0)], size=(63, 100)), "ERROR_INVALID_IMAGE_DIMENSION"),
        (det("s3://b/x.jpg", [(0, 0, 10, 10, 0)], size=(2100, 100)), "ERROR_INVALID_IMAGE_DIMENSION"),
        (det("s3://b/x.jpg", [(0, 0, 10, 10, 0)] * 51), "ERROR_TOO_MANY_BOUNDING_BOXES"),
    ],
)
def test_errors_that_spoil_the_line(line: dict, code: str) -> None:
    check = check_manifest(manifest(*good(9), line))
    assert check.ok
    (error,) = check.line_errors
    assert code in error.codes and error.invalid and not error.removed
    kept = check.lines[-1]
    assert kept.entry is None and kept.has_errors and kept.clean is None
    record = json.loads(kept.record)  # the JSON line ListDatasetEntries returns, with the error in it
    assert code in json.dumps(record)
    assert len(check.entries) == 9


@pytest.mark.parametrize(
    ("box", "code"),
    [
        ((-1, 0, 10, 10, 0), "ERROR_INVALID_BOUNDING_BOX"),
        ((600, 0, 41, 10, 0), "ERROR_INVALID_BOUNDING_BOX"),
        ((0, 470, 10, 11, 0), "ERROR_INVALID_BOUNDING_BOX"),
        ((0, 0, 1, 1, 0), "ERROR_BOUNDING_BOX_TOO_SMALL"),
        ((0, 0, 0, 10, 0), "ERROR_BOUNDING_BOX_TOO_SMALL"),
        ((0, 0, 10, 10, 7), "ERROR_MISSING_CLASS_MAP_ID"),
        ((0, 0, 10, "ten", 0), "ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT"),
    ],
)
def test_a_broken_box_is_dropped_and_the_line_kept(box: tuple, code: str) -> None:
    line = det("s3://b/x.jpg", [(10, 10, 100, 100, 1), box])
    check = check_manifest(manifest(line))
    (error,) = check.line_errors
    assert error.codes == (code,) and not error.invalid
    kept = check.lines[0]
    assert kept.entry is not None and [b.name for b in kept.entry.boxes] == ["plate"]
    assert kept.has_errors and check.stats["valid_json_lines"] == 1
    record = json.loads(kept.record)
    message = MESSAGES[code].replace("{}", "bb")  # "The format of the label attribute {} is invalid."
    assert record["bb"]["annotations"][1]["errors"] == [{"code": code, "message": message}]
    assert "errors" not in record["bb"]["annotations"][0]
    clean = json.loads(kept.clean)  # re-readable: the broken box and its object are gone
    assert len(clean["bb"]["annotations"]) == 1 and len(clean["bb-metadata"]["objects"]) == 1


def test_a_box_fine_at_full_size_is_too_small_after_the_1280_resize() -> None:
    # 4000 px wide: scaled by 0.32, a 3 px box becomes ~0.96 px
    check = check_manifest(
        manifest(det("s3://b/x.jpg", [(0, 0, 3, 100, 0), (0, 0, 500, 500, 1)], size=(4000, 2000)))
    )
    assert codes_of(check) == {1: ("ERROR_BOUNDING_BOX_TOO_SMALL",)}


def test_a_missing_confidence_drops_its_box() -> None:
    line = det("s3://b/x.jpg", [(0, 0, 10, 10, 0), (0, 0, 20, 20, 1)], objects=[{"confidence": 1}])
    check = check_manifest(manifest(line))
    assert codes_of(check) == {1: ("ERROR_MISSING_BOUNDING_BOX_CONFIDENCE",)}
    line = det("s3://b/x.jpg", [(0, 0, 10, 10, 0)], objects=[{}])
    assert codes_of(check_manifest(manifest(line))) == {
        1: ("ERROR_NO_VALID_ANNOTATIONS", "ERROR_MISSING_BOUNDING_BOX_CONFIDENCE")
    }
    no_objects = det("s3://b/x.jpg")
    del no_objects["bb-metadata"]["objects"]
    assert check_manifest(manifest(no_objects)).line_errors == []  # [U] accepted, as the reader does


def test_every_box_broken_spoils_the_line() -> None:
    check = check_manifest(manifest(*good(9), det("s3://b/x.jpg", [(-5, 0, 10, 10, 0), (0, 0, 10, 10, 9)])))
    (error,) = check.line_errors
    assert error.codes == (
        "ERROR_NO_VALID_ANNOTATIONS",
        "ERROR_INVALID_BOUNDING_BOX",
        "ERROR_MISSING_CLASS_MAP_ID",
    )
    assert error.invalid


def test_unannotated_and_boxless_lines_are_ignored_not_invalid() -> None:
    check = check_manifest(manifest(*good(2), {"source-ref": "s3://b/u.jpg"}, det("s3://b/e.jpg", [])))
    assert check.ok and check.line_errors == []
    assert check.stats == {
        "total_json_lines": 4,
        "valid_json_lines": 2,
        "invalid_json_lines": 0,
        "ignored_json_lines": 2,
    }
    unlabeled, empty = check.lines[2], check.lines[3]
    assert not unlabeled.labeled and unlabeled.codes == ("WARNING_UNANNOTATED_RECORD",)
    assert json.loads(unlabeled.record)["warnings"][0]["code"] == "WARNING_UNANNOTATED_RECORD"
    assert not empty.labeled and "WARNING_NO_ANNOTATIONS" in empty.codes and not empty.has_errors
    assert len(check.entries) == 2


def test_more_than_20_percent_invalid_fails_the_import() -> None:
    bad = [det(f"s3://b/x{i}.jpg", [(0, 0, 10, 10, 9)]) for i in range(3)]
    assert check_manifest(manifest(*good(12), *bad)).ok  # 3 of 15 = 20%: not over
    check = check_manifest(manifest(*good(11), *bad))  # 3 of 14
    assert check.terminal_error[0] == "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"
    assert check.terminal_error[1].startswith(MESSAGES["ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"])
    # cumulative: removed lines and spoiled lines together
    mixed = check_manifest(manifest(*good(7), b"nope", bad[0]))
    assert mixed.terminal_error[0] == "ERROR_TOO_MANY_INVALID_ROWS_IN_MANIFEST"


def test_removed_lines_alone_over_20_percent_are_too_many_records_in_error() -> None:
    check = check_manifest(manifest(*good(3), b"x", b"y"))
    assert check.terminal_error[0] == "ERROR_TOO_MANY_RECORDS_IN_ERROR"
    assert not check.file_error and check.summary()["statistics"]["training"]["invalid_json_lines"] == 2


def test_blank_lines_count_as_lines() -> None:
    check = check_manifest(manifest(*good(3)) + b"\n\n")
    assert (
        check.stats["total_json_lines"] == 5 and check.terminal_error[0] == "ERROR_TOO_MANY_RECORDS_IN_ERROR"
    )
    crlf = manifest(*good(3)).replace(b"\n", b"\r\n")
    assert check_manifest(crlf).ok


def test_images_in_several_buckets_fail_the_import() -> None:
    check = check_manifest(manifest(*good(3), det("s3://other/a.jpg")))
    assert check.terminal_error[0] == "ERROR_IMAGES_IN_MULTIPLE_S3_BUCKETS"
    assert "b, other" in check.terminal_error[1]


def test_too_many_labels_fails_the_import() -> None:
    lines = [cls(f"s3://b/{i}.jpg", f"label{i}") for i in range(251)]
    assert check_manifest(manifest(*lines)).terminal_error[0] == "ERROR_MANIFEST_TOO_MANY_LABELS"
    assert check_manifest(manifest(*lines[:250])).ok


def test_too_many_rows_still_checks_lines_up_to_the_limit() -> None:
    limits = Limits(max_lines=4)
    check = check_manifest(manifest(*good(3), b"bad", *good(3, "h")), limits=limits)
    assert check.terminal_error[0] == "ERROR_MANIFEST_ROWS_EXCEEDS_MAXIMUM"
    assert codes_of(check) == {4: ("ERROR_INVALID_JSON_LINE",)} and len(check.lines) == 3
    assert DEFAULT_LIMITS.max_lines == 250_000 and DEFAULT_LIMITS.max_boxes == 50


def test_file_errors() -> None:
    for data in (b"", b"\n\n  \n"):
        check = check_manifest(data)
        assert (
            check.terminal_error == ("ERROR_EMPTY_MANIFEST", "The manifest file is empty.")
            and check.file_error
        )
    too_big = check_manifest(manifest(*good(3)), limits=Limits(max_bytes=100))
    assert too_big.terminal_error[0] == "ERROR_MANIFEST_SIZE_TOO_LARGE"
    assert DEFAULT_LIMITS.max_bytes == 1024**3
    for garbage in (bytes(range(256)) * 40, b'[{"source-ref": "s3://b/a.jpg"}]', b"\x00\x01\x02"):
        check = check_manifest(garbage)
        assert check.terminal_error[0] == "ERROR_MANIFEST_INACCESSIBLE_OR_UNSUPPORTED_FORMAT", garbage[:20]
        assert check.file_error and check.lines == [] and check.entries == []


def test_summary_has_the_documented_format() -> None:
    check = check_manifest(manifest(*good(8), b"oops", det("s3://b/z.jpg", [(0, 0, 10, 10, 5)])))
    summary = check.summary()
    assert summary == {
        "errors": [],
        "statistics": {
            "training": {
                "use_case": "OBJECT_LOCALIZATION",
                "total_json_lines": 10,
                "valid_json_lines": 8,
                "invalid_json_lines": 2,
                "ignored_json_lines": 0,
                "errors": [],
                "error_json_line_indices": [9, 10],
            }
        },
    }
    json.dumps(summary)
    failed = check_manifest(manifest(*good(2), b"a", b"b")).summary("testing")
    assert failed["statistics"]["testing"]["errors"][0]["code"] == "ERROR_TOO_MANY_RECORDS_IN_ERROR"
    assert check_manifest(b"").summary()["errors"][0]["code"] == "ERROR_EMPTY_MANIFEST"


def test_line_errors_unpack_as_line_ref_codes() -> None:
    check = check_manifest(manifest(*good(9), det("s3://b/q.jpg", [(0, 0, 10, 10, 9)])))
    [(line, ref, codes)] = check.line_errors
    assert (line, ref, codes) == (
        10,
        "s3://b/q.jpg",
        ["ERROR_NO_VALID_ANNOTATIONS", "ERROR_MISSING_CLASS_MAP_ID"],
    )


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    raw = b"".join(b"\x00" + b"\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    )


def test_images_are_checked_when_they_can_be_read() -> None:
    images = {
        "s3://b/ok.png": _png(640, 480),
        "s3://b/small.png": _png(32, 32),
        "s3://b/text.png": b"hello",
        "s3://b/other-size.png": _png(320, 240),
    }
    lines = [det(ref) for ref in images] + [det("s3://b/missing.png")] + good(20)
    check = check_manifest(
        manifest(*lines), read_image=lambda ref: images.get(ref, _png(640, 480) if "/g" in ref else None)
    )
    assert check.ok
    assert codes_of(check) == {
        2: ("ERROR_INVALID_IMAGE",),
        3: ("ERROR_INVALID_IMAGE",),
        4: ("ERROR_INVALID_IMAGE_DIMENSION",),
        5: ("ERROR_INVALID_IMAGE",),
    }
    assert all(e.invalid for e in check.line_errors)
    assert check.lines[0].entry is not None and check.lines[1].entry is None


def test_a_line_mixing_kinds_keeps_its_detection_pair() -> None:
    line = {**det("s3://b/m.jpg"), **{k: v for k, v in cls().items() if k != "source-ref"}}
    check = check_manifest(manifest(line))
    assert check.line_errors == [] and check.entries[0].kind == "object-detection"


@pytest.mark.parametrize(
    "value",
    [None, True, 1.5, [], {"a": 1}, "s3://", "s3://bucket", "s3:///key"],
)
def test_source_ref_of_wrong_type_or_shape(value: Any) -> None:
    check = check_manifest(manifest(*good(9), {**det(), "source-ref": value}))
    assert codes_of(check) == {10: ("ERROR_INVALID_SOURCE_REF_FORMAT",)}


@pytest.mark.parametrize("value", [None, "640", -3, 1e400, True])
def test_box_numbers_of_wrong_type(value: Any) -> None:
    line = det("s3://b/x.jpg", [(10, 10, 100, 100, 1), (value, 0, 10, 10, 0)])
    check = check_manifest(manifest(line))
    (error,) = check.line_errors
    assert error.codes[0] in {"ERROR_INVALID_LABEL_ATTRIBUTE_FORMAT", "ERROR_INVALID_BOUNDING_BOX"}
    assert check.entries and len(check.entries[0].boxes) == 1
