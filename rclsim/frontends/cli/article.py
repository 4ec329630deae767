"""The article's steps: detect, draw, validate, and the recordings the replay backend sees."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rclsim.frontends.cli.common import _backend, _print, _schema_problems
from rclsim.service.errors import RclsimError
from rclsim.service.files import parse_json, read_json_file


def _load_json_file(name: str) -> Any:
    """A JSON file named on the command line (``-``: stdin), through the one JSON reader
    (:func:`rclsim.service.files.parse_json`): every failure is one line naming the file."""
    if name == "-":
        stream = getattr(sys.stdin, "buffer", sys.stdin)  # bytes when it has them: UTF-8 is checked here
        return parse_json(stream.read(), "stdin")
    return read_json_file(name)


def cmd_detect(args: argparse.Namespace) -> int:
    from rclsim.data.imageparam import image_param

    if args.image_bytes is not None:
        if args.image_bytes.startswith("file://"):
            raise RclsimError("--image-bytes takes fileb://PATH (the file's bytes), not file://")
        ref = args.image_bytes if args.image_bytes.startswith("fileb://") else "fileb://" + args.image_bytes
        image = image_param(ref)
    else:
        image = image_param(args.image)
    params: dict[str, Any] = {"ProjectVersionArn": args.project_version_arn, "Image": image}
    if args.min_confidence is not None:
        params["MinConfidence"] = args.min_confidence
    if args.max_results is not None:
        params["MaxResults"] = args.max_results
    with _backend(args) as backend:
        response = backend.detect_custom_labels(**params)
    _print(response, args, "DetectCustomLabels")
    return 0


def cmd_draw(args: argparse.Namespace) -> int:
    data = _load_json_file(args.response)
    kind, problems = _schema_problems(data)
    label = "stdin" if args.response == "-" else args.response
    if problems:
        raise RclsimError(f"{label}: not a valid {kind}: {problems[0]}")
    if kind == "models file":
        raise RclsimError(f"{label}: a models.json declares models; draw needs a response or a recording")
    labels = data["response"]["CustomLabels"] if kind == "recording" else data["CustomLabels"]

    from rclsim.reports.drawing import draw_files

    if not (0 <= args.min_confidence <= 100):  # also false for NaN
        raise RclsimError(f"--min-confidence must be between 0 and 100, got {args.min_confidence}")
    side = args.side_by_side_out if args.side_by_side_out else ("" if args.side_by_side else None)
    written = draw_files(
        labels,
        args.image,
        output=args.out,
        side_by_side_output=side,
        min_confidence=args.min_confidence,
        overwrite=args.overwrite,
        show_labels=not args.no_labels,
    )
    for path in written:
        print(path)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for name in args.files:
        if _looks_like_manifest(name):
            failed += _validate_manifest(name)
            continue
        try:
            data = _load_json_file(name)
        except RclsimError as exc:
            print(str(exc))
            failed += 1
            continue
        kind, problems = _schema_problems(data)
        if problems:
            failed += 1
            for p in problems:
                print(f"{name}: {p.path}: {p.message}")
        elif kind == "models file":
            count = sum(len(p["versions"]) for p in data["projects"])
            print(f"{name}: valid {kind} ({count} versions)")
        else:
            labels = data["response"]["CustomLabels"] if kind == "recording" else data["CustomLabels"]
            print(f"{name}: valid {kind} ({len(labels)} labels)")
    if failed:
        print(f"{failed} of {len(args.files)} files failed", file=sys.stderr)
    return 1 if failed else 0


def _looks_like_manifest(name: str) -> bool:
    """A manifest's extension is optional: ``.manifest``/``.jsonl``, or a first line that is a JSON
    object with a ``source-ref``."""
    if name.endswith((".manifest", ".jsonl")):
        return True
    try:
        with open(name, "rb") as handle:
            first = handle.readline(1 << 20).strip()  # a manifest line is far shorter
        data = parse_json(first, name) if first else None
    except (OSError, RclsimError):
        return False
    return isinstance(data, dict) and "source-ref" in data


def _validate_manifest(name: str) -> int:
    """Print a manifest's bad lines (or that it is valid); 1 when it has any."""
    from rclsim.data.manifest import iter_manifest

    if not Path(name).is_file():
        print(f"{name}: no such file")
        return 1
    problems: list[Any] = []
    good = sum(1 for _ in iter_manifest(name, problems))
    for problem in problems:
        print(f"{name}: {problem}")
    if not problems:
        print(f"{name}: valid manifest ({good} lines)")
    return 1 if problems else 0


def cmd_recordings(args: argparse.Namespace) -> int:
    from rclsim.fake.recordings import RecordingStore

    store = RecordingStore(args.recordings, include_builtin=not args.no_builtin)
    rows = []
    for rec in store:
        image = rec.image.describe()
        if rec.sidecar_relpath is not None:  # a plain response: answers by its name (and image bytes)
            named = f"any key ending {rec.sidecar_relpath}.jpg/.jpeg/.png"
            image = named if rec.image.sha256 is None else f"{named} / {image}"
        rows.append(
            {
                "Path": str(rec.path),
                "ProjectVersionArn": rec.project_version_arn or "(any model: a plain response NAME.json)",
                "Image": image,
                "MinConfidence": rec.min_confidence,
                "MaxResults": rec.max_results,
                "Labels": rec.label_count,
            }
        )
    _print({"Recordings": rows}, args, "Recordings")
    return 0
