"""The ``rclsim`` command: the article's steps, offline by default.

A thin adapter: arguments in, a Backend call, output printed the way the AWS CLI prints it. Rules
(validation, filtering, errors) live in the fake core; this module only parses and prints.

Exit codes: 0 success; 1 a problem with the user's files or options (one line on stderr); 2 a usage
error; 255 an error from the service or the fake (``An error occurred (Code) ...``), as the AWS CLI v1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import env_flag, env_value
from .errors import RclsimError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_SERVICE_ERROR = 255

_EPILOG = """\
Backend options (--backend, --region, --profile, --endpoint-url, --recordings, --strict) and output
options (--output, --query, --debug) go before or after the command; each has an RCLSIM_* environment
variable (RCLSIM_BACKEND, RCLSIM_RECORDINGS, ...). The default backend is replay: no AWS account, no
network, no charges. --backend aws calls real Amazon Rekognition with your credentials.

examples:
  rclsim detect --project-version-arn ARN --image '{"S3Object":{"Bucket":"B","Name":"K"}}' --min-confidence 75
  rclsim detect --project-version-arn ARN --image-bytes fileb://photo.jpg > photo.json
  rclsim draw photo.json photo.jpg            # writes photo-detect.jpg
  rclsim validate photo.json recordings/*.json
"""


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted both before and after the command. On subcommands their defaults are
    suppressed so a value given before the command is not overwritten by the subparser's default."""
    default = argparse.SUPPRESS if suppress else None
    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    g = p.add_argument_group("backend options")
    g.add_argument(
        "--backend",
        choices=("replay", "aws"),
        default=default,
        help="replay (default; offline, from recordings) or aws (real Rekognition). Env RCLSIM_BACKEND",
    )
    g.add_argument(
        "--recordings",
        metavar="DIR",
        action="append",
        default=default,
        help="a folder of recordings, searched before the built-in ones; repeatable. "
        f"Env RCLSIM_RECORDINGS (separated by '{os.pathsep}')",
    )
    g.add_argument(
        "--strict",
        action="store_const",
        const=True,
        default=default,
        help="replay: fail instead of warning when a recording cannot answer the parameters "
        "exactly; aws: fail when a live response breaks the schema. Env RCLSIM_STRICT",
    )
    g.add_argument("--region", default=default, help="aws: AWS region. Env RCLSIM_REGION, then boto3's")
    g.add_argument("--profile", default=default, help="aws: AWS profile. Env RCLSIM_PROFILE, then boto3's")
    g.add_argument(
        "--endpoint-url",
        default=default,
        help="aws: endpoint to call instead of AWS's. Env RCLSIM_ENDPOINT_URL or AWS_ENDPOINT_URL",
    )
    o = p.add_argument_group("output options")
    o.add_argument(
        "--output",
        choices=("json", "text", "table"),
        default=default,
        help="how to print responses, as the AWS CLI does (default json). Env RCLSIM_OUTPUT",
    )
    o.add_argument(
        "--query", default=default, help="JMESPath expression applied to the response (AWS CLI's --query)"
    )
    o.add_argument(
        "--debug",
        action="store_const",
        const=True,
        default=default,
        help="show tracebacks instead of one-line errors. Env RCLSIM_DEBUG",
    )
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rclsim",
        description="Offline testing and simulation for Amazon Rekognition Custom Labels.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(suppress=False)],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=_version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    common = _common_options(suppress=True)

    d = sub.add_parser(
        "detect",
        parents=[common],
        allow_abbrev=False,
        help="DetectCustomLabels, with the AWS CLI's arguments",
        description="Call DetectCustomLabels and print the response as the AWS CLI would. "
        "Give the image with --image (JSON, as the AWS CLI; rclsim also takes s3://BUCKET/KEY "
        "or a local path) or --image-bytes fileb://PATH.",
    )
    d.add_argument("--project-version-arn", required=True, metavar="ARN", help="the model version's ARN")
    img = d.add_mutually_exclusive_group(required=True)
    img.add_argument(
        "--image",
        metavar="IMAGE",
        help='\'{"S3Object":{"Bucket":"B","Name":"K"}}\', file://image.json, s3://B/K or a local path',
    )
    img.add_argument("--image-bytes", metavar="fileb://PATH", help="a local PNG or JPEG sent as Bytes")
    d.add_argument(
        "--min-confidence",
        type=float,
        metavar="N",
        help="keep labels with Confidence >= N (0-100); omitted: the model's assumed thresholds",
    )
    d.add_argument("--max-results", type=int, metavar="N", help="keep the N most confident labels")

    r = sub.add_parser(
        "draw",
        parents=[common],
        allow_abbrev=False,
        help="draw a response's boxes and names on its image",
        description="Draw each label at or above --min-confidence on IMAGE and write a new image "
        "(default: <stem>-detect.jpg beside IMAGE). Never overwrites IMAGE; refuses an existing "
        "output unless --overwrite.",
    )
    r.add_argument(
        "response", metavar="RESPONSE", help="DetectCustomLabels response or recording JSON; - for stdin"
    )
    r.add_argument("image", metavar="IMAGE", help="the image the response is about")
    r.add_argument(
        "--min-confidence",
        type=float,
        default=75.0,
        metavar="N",
        help="draw labels with Confidence >= N (default 75, the article's)",
    )
    r.add_argument("-o", "--out", metavar="PATH", help="where to write the annotated image (.jpg or .png)")
    r.add_argument(
        "--side-by-side",
        nargs="?",
        const="",
        metavar="PATH",
        help="also write original|annotated side by side (default <stem>-side-by-side.jpg)",
    )
    r.add_argument("--no-labels", action="store_true", help="boxes only, no name tags")
    r.add_argument("--overwrite", action="store_true", help="replace existing output files")

    v = sub.add_parser(
        "validate",
        parents=[common],
        allow_abbrev=False,
        help="check responses and recordings against the schemas",
        description="Check each FILE (a DetectCustomLabels response or an rclsim recording) against its "
        "JSON Schema and print every failure with the file and JSON path. Exit 1 if any fails.",
    )
    v.add_argument("files", nargs="+", metavar="FILE")

    rec = sub.add_parser(
        "recordings",
        parents=[common],
        allow_abbrev=False,
        help="list the recordings the replay backend sees",
        description="List every recording the replay backend would search (--recordings folders first, "
        "then the built-in ones): model, image, MinConfidence, labels.",
    )
    rec.add_argument("--no-builtin", action="store_true", help="leave out the built-in article recordings")
    return parser


def _version_text() -> str:
    try:
        import botocore

        return f"rclsim {__version__} (botocore {botocore.__version__})"
    except ImportError:  # pragma: no cover
        return f"rclsim {__version__}"


# -- option resolution ---------------------------------------------------------------------------
def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill options not given on the command line from RCLSIM_* variables and defaults."""
    from .recordings import recording_dirs_from_env

    if args.backend is None:
        args.backend = env_value("RCLSIM_BACKEND") or "replay"
        if args.backend not in ("replay", "aws"):
            raise RclsimError(f"RCLSIM_BACKEND={args.backend!r}: choose replay or aws")
    if args.recordings is None:
        args.recordings = recording_dirs_from_env()
    if args.strict is None:
        args.strict = env_flag("RCLSIM_STRICT")
    args.output = args.output or env_value("RCLSIM_OUTPUT") or "json"
    if args.output not in ("json", "text", "table"):
        raise RclsimError(f"RCLSIM_OUTPUT={args.output!r}: choose json, text or table")
    return args


def _backend(args: argparse.Namespace, **extra: Any) -> Any:
    from .backends import get_backend

    return get_backend(
        args.backend,
        recordings=args.recordings,
        strict=args.strict,
        region=args.region,
        profile=args.profile,
        endpoint_url=args.endpoint_url,
        **extra,
    )


def _print(data: Any, args: argparse.Namespace, operation: str) -> None:
    import shutil

    from .output import render

    # The AWS CLI sizes tables to the terminal, and to 80 columns when output is not a terminal.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 80
    sys.stdout.write(render(data, args.output, args.query, operation=operation, terminal_width=width))


# -- commands ------------------------------------------------------------------------------------
def cmd_detect(args: argparse.Namespace) -> int:
    from .imageparam import image_param, parse_image_json

    if args.image_bytes is not None:
        ref = args.image_bytes if args.image_bytes.startswith("fileb://") else "fileb://" + args.image_bytes
        image = image_param(ref)
    elif args.image.lstrip().startswith("{") or args.image.startswith("file://"):
        image = parse_image_json(args.image)
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


def _load_json_file(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RclsimError(f"{name}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RclsimError(f"{name}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None

    def reject(constant: str) -> Any:
        raise ValueError(f"{constant} is not valid JSON")

    try:
        return json.loads(text, parse_constant=reject)
    except ValueError as exc:
        raise RclsimError(f"{'stdin' if name == '-' else name}: malformed JSON: {exc}") from None


def _schema_problems(data: Any) -> tuple[str, list[Any]]:
    from .schemas import looks_like_recording, recording_problems, response_problems

    if looks_like_recording(data):
        return "recording", recording_problems(data)
    return "response", response_problems(data)


def cmd_draw(args: argparse.Namespace) -> int:
    data = _load_json_file(args.response)
    kind, problems = _schema_problems(data)
    label = "stdin" if args.response == "-" else args.response
    if problems:
        raise RclsimError(f"{label}: not a valid {kind}: {problems[0]}")
    labels = data["response"]["CustomLabels"] if kind == "recording" else data["CustomLabels"]

    from .drawing import draw_files

    side = None
    if args.side_by_side is not None:
        side = args.side_by_side or ""
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
        else:
            labels = data["response"]["CustomLabels"] if kind == "recording" else data["CustomLabels"]
            print(f"{name}: valid {kind} ({len(labels)} labels)")
    if failed:
        print(f"{failed} of {len(args.files)} files failed", file=sys.stderr)
    return 1 if failed else 0


def cmd_recordings(args: argparse.Namespace) -> int:
    from .recordings import RecordingStore

    store = RecordingStore(args.recordings, include_builtin=not args.no_builtin)
    rows = []
    for rec in store:
        rows.append(
            {
                "Path": str(rec.path),
                "ProjectVersionArn": rec.project_version_arn or "(any model: NAME.json beside NAME.jpg)",
                "Image": rec.image.describe(),
                "MinConfidence": rec.min_confidence,
                "MaxResults": rec.max_results,
                "Labels": len(rec.labels),
            }
        )
    _print({"Recordings": rows}, args, "Recordings")
    return 0


_COMMANDS = {"detect": cmd_detect, "draw": cmd_draw, "validate": cmd_validate, "recordings": cmd_recordings}


def _show_warning(
    message: Any, category: Any, filename: Any, lineno: Any, file: Any = None, line: Any = None
) -> None:
    print(f"rclsim: warning: {message}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(args.debug) or env_flag_safe("RCLSIM_DEBUG")
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    warnings.showwarning = _show_warning
    try:
        _resolve(args)
        return _COMMANDS[args.command](args)
    except Exception as exc:
        if debug:
            raise
        return _report(exc)


def env_flag_safe(name: str) -> bool:
    try:
        return env_flag(name)
    except RclsimError:
        return False


def _report(exc: Exception) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

    if isinstance(exc, RclsimError):
        print(f"rclsim: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        print(
            f"An error occurred ({err.get('Code')}) when calling the {exc.operation_name} operation: "
            f"{_one_line(err.get('Message', ''))}",
            file=sys.stderr,
        )
        return EXIT_SERVICE_ERROR
    if isinstance(exc, ParamValidationError):
        print(
            f"Parameter validation failed: {_one_line(exc.kwargs.get('report', str(exc)))}", file=sys.stderr
        )
        return EXIT_SERVICE_ERROR
    if isinstance(exc, BotoCoreError):
        print(f"rclsim: error: {_one_line(str(exc))}", file=sys.stderr)
        return EXIT_SERVICE_ERROR
    if isinstance(exc, KeyboardInterrupt):  # pragma: no cover
        return 130
    print(
        f"rclsim: internal error: {type(exc).__name__}: {_one_line(str(exc))} (rerun with --debug)",
        file=sys.stderr,
    )
    return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
