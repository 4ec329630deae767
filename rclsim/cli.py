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
from .files import write_atomically

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


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors in one line (and where to read more) instead of a usage block."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _common_options(suppress: bool) -> _Parser:
    """Options accepted both before and after the command. On subcommands their defaults are
    suppressed so a value given before the command is not overwritten by the subparser's default."""
    default = argparse.SUPPRESS if suppress else None
    p = _Parser(add_help=False, allow_abbrev=False)
    g = p.add_argument_group("backend options")
    g.add_argument(
        "--backend",
        choices=("replay", "sim", "aws"),
        default=default,
        help="replay (default; offline, from recordings), sim (offline, simulated from a Ground Truth "
        "manifest) or aws (real Rekognition). Env RCLSIM_BACKEND",
    )
    g.add_argument(
        "--recordings",
        dest="recordings_after" if suppress else "recordings",
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
    g.add_argument(
        "--record-mode",
        choices=("none", "once", "new", "all"),
        default=default,
        help="aws: save live DetectCustomLabels responses into the first --recordings folder, as VCR.py: "
        "none replays only (never calls AWS), once/new record keys that have no recording, all re-records. "
        "Default: no recording. Env RCLSIM_RECORD_MODE",
    )
    g.add_argument(
        "--no-mask-account",
        action="store_const",
        const=True,
        default=default,
        help="record mode: keep the 12-digit account id in recorded ARNs (masked by default)",
    )
    m = p.add_argument_group("simulation options")
    m.add_argument(
        "--manifest",
        metavar="M",
        default=default,
        help="sim backend, evaluate: a SageMaker Ground Truth manifest. Env RCLSIM_MANIFEST",
    )
    m.add_argument(
        "--sim-params",
        metavar="FILE",
        default=default,
        help="sim: noise parameters (JSON, as 'rclsim sim fit' writes). Env RCLSIM_SIM_PARAMS",
    )
    m.add_argument(
        "--seed",
        type=int,
        metavar="N",
        default=default,
        help="sim: seed of the simulation (default 0, or the parameters file's). Env RCLSIM_SEED",
    )
    f = p.add_argument_group("fake options")
    f.add_argument(
        "--time-scale",
        type=float,
        metavar="X",
        default=default,
        help="fake: multiply the service's durations (start ~10 min) by X: 0 instant (default), "
        "1 real, 0.01 a hundred times faster. Env RCLSIM_TIME_SCALE",
    )
    f.add_argument(
        "--state-dir",
        metavar="DIR",
        default=default,
        help="fake: where model state lives between commands (default .rclsim/ here). Env RCLSIM_STATE_DIR",
    )
    f.add_argument(
        "--prices",
        metavar="FILE",
        default=default,
        help="price table to use instead of the built-in one (see rclsim/pricing.json). Env RCLSIM_PRICES",
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
    parser = _Parser(
        prog="rclsim",
        description="Offline testing and simulation for Amazon Rekognition Custom Labels.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[_common_options(suppress=False)],
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=_version_text())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
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
        action="store_true",
        help="also write original|annotated side by side, as <stem>-side-by-side.jpg beside the output",
    )
    r.add_argument("--side-by-side-out", metavar="PATH", help="where to write the side-by-side image")
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

    arn_help = "the model version's ARN"
    s = sub.add_parser(
        "start",
        parents=[common],
        allow_abbrev=False,
        help="StartProjectVersion and wait until RUNNING (billed hourly on AWS!)",
        description="Start a model version and wait until it is RUNNING, showing progress. Says what it "
        "costs per hour first. With --backend aws it asks for confirmation (or --yes). "
        "A model that is already starting or running is reported, not an error.",
    )
    s.add_argument("--project-version-arn", required=True, metavar="ARN", help=arn_help)
    s.add_argument(
        "--min-inference-units", type=int, default=1, metavar="N", help="inference units (default 1)"
    )
    s.add_argument("--max-inference-units", type=int, metavar="N", help="upper bound for auto-scaling")
    s.add_argument("--no-wait", action="store_true", help="return after StartProjectVersion, without waiting")
    s.add_argument("--yes", action="store_true", help="start a billable AWS model without asking")
    s.add_argument("--dry-run", action="store_true", help="say what would be called, call nothing")

    t = sub.add_parser(
        "stop",
        parents=[common],
        allow_abbrev=False,
        help="StopProjectVersion (one version, or --all of a project)",
        description="Stop a model version (waiting first if it is still STARTING). A model that is not "
        "running is reported, not an error. --all --project-arn P stops every running version "
        "of project P.",
    )
    tg = t.add_mutually_exclusive_group(required=True)
    tg.add_argument("--project-version-arn", metavar="ARN", help=arn_help)
    tg.add_argument("--all", action="store_true", help="every STARTING or RUNNING version of --project-arn")
    t.add_argument("--project-arn", metavar="ARN", help="with --all: the project")
    t.add_argument("--dry-run", action="store_true", help="say what would be called, call nothing")

    st = sub.add_parser(
        "status",
        parents=[common],
        allow_abbrev=False,
        help="DescribeProjectVersions for a version or a project",
        description="Print the DescribeProjectVersions description of a version (or of every version of "
        "a project with --project-arn).",
    )
    sg = st.add_mutually_exclusive_group(required=True)
    sg.add_argument("--project-version-arn", metavar="ARN", help=arn_help)
    sg.add_argument("--project-arn", metavar="ARN", help="every version of this project")

    sub.add_parser(
        "cost",
        parents=[common],
        allow_abbrev=False,
        help="what the fake's models would have cost",
        description="The cost meter: inference (hours RUNNING x inference units x price) of every version "
        "started through the fake, plus declared trainings, per version and item, with the total.",
    )
    fr = sub.add_parser(
        "find-running",
        parents=[common],
        allow_abbrev=False,
        help="list every STARTING or RUNNING version (billed), with its hourly cost",
        description="List every model version that is STARTING or RUNNING, so billed, with its hourly cost.",
    )
    fr.add_argument("--all-regions", action="store_true", help="aws: look in every region Rekognition is in")
    rs = sub.add_parser(
        "reset",
        parents=[common],
        allow_abbrev=False,
        help="forget the fake's model state (delete the state file)",
        description="Delete the fake's state file in --state-dir, whatever it holds (also a corrupt one), so "
        "every model is back in its declared status and the cost meter is at zero.",
    )
    rs.set_defaults()

    sv = sub.add_parser(
        "serve",
        parents=[common],
        allow_abbrev=False,
        help="serve the fake on a local endpoint for the AWS CLI and any SDK",
        description="Serve the fake Rekognition over HTTP (JSON 1.1, as the service) until Ctrl-C. Point "
        "the AWS CLI or an SDK at it with --endpoint-url http://HOST:PORT. Model state is shared with "
        "the other commands through --state-dir.",
    )
    sv.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)"
    )
    sv.add_argument(
        "--port", type=int, default=None, metavar="N", help="port (default 9477; 0 picks a free one)"
    )
    sv.add_argument("--verbose", action="store_true", help="log every request on stderr")

    sim = sub.add_parser(
        "sim",
        parents=[common],
        allow_abbrev=False,
        help="the simulated model of a manifest: info, fit",
        description="sim info: the model the sim backend declares for --manifest (its ARN), the images and "
        "labels, and the noise parameters. sim fit: fit the noise parameters from real responses "
        "(--responses DIR: recordings or NAME.json named after the source-ref's file name) and the "
        "manifest's ground truth, and write them as JSON for --sim-params.",
    )
    sim.add_argument("action", choices=("info", "fit"))
    sim.add_argument("--responses", metavar="DIR", help="sim fit: the real responses")
    sim.add_argument(
        "-o", "--out", metavar="FILE", help="sim fit: where to write the parameters (default stdout)"
    )
    sim.add_argument("--overwrite", action="store_true", help="sim fit: replace an existing --out file")

    ev = sub.add_parser(
        "evaluate",
        parents=[common],
        allow_abbrev=False,
        help="precision, recall, F1, AP and best thresholds against a manifest's ground truth",
        description="Score responses against the ground truth of --manifest, as the Custom Labels console "
        "does: per label and overall (micro and macro), at --min-confidence or each label's declared assumed "
        "threshold; the threshold sweep, the F1-best threshold per label, and average precision. Responses "
        "come from --responses DIR (recordings, or NAME.json named after the source-ref's file), or from "
        "the backend (sim: its own model; others: --project-version-arn).",
    )
    ev.add_argument("--responses", metavar="DIR", help="a folder of responses to score")
    ev.add_argument("--project-version-arn", metavar="ARN", help="the model to ask (replay/aws backends)")
    ev.add_argument("--min-confidence", type=float, metavar="X", help="score labels with Confidence >= X")
    ev.add_argument("--iou", type=float, default=0.5, metavar="T", help="IoU for a match (default 0.5)")
    ev.add_argument("--json", metavar="FILE", help="write the full report (with the sweep) as JSON")
    ev.add_argument("--csv", metavar="FILE", help="write one row per label, micro and macro, as CSV")
    ev.add_argument("--plot", metavar="FILE.png", help="draw the precision-recall curves")
    ev.add_argument("--overwrite", action="store_true", help="replace existing output files")

    mw = sub.add_parser(
        "manifest",
        parents=[common],
        allow_abbrev=False,
        help="write a Ground Truth manifest from responses or a simulation",
        description="Write a manifest whose boxes are the responses' labels (at or above --min-confidence) "
        "for the images of --manifest: from --responses DIR, or from the backend (sim: the simulation).",
    )
    mw.add_argument("action", choices=("write",))
    mw.add_argument("-o", "--out", required=True, metavar="FILE", help="the manifest to write")
    mw.add_argument("--responses", metavar="DIR", help="a folder of responses")
    mw.add_argument("--project-version-arn", metavar="ARN", help="the model to ask (replay/aws backends)")
    mw.add_argument(
        "--min-confidence", type=float, default=50.0, metavar="X", help="keep labels >= X (default 50)"
    )
    mw.add_argument("--overwrite", action="store_true", help="replace an existing file")

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
        if args.backend not in ("replay", "sim", "aws"):
            raise RclsimError(f"RCLSIM_BACKEND={args.backend!r}: choose replay, sim or aws")
    after = getattr(args, "recordings_after", None)
    if args.recordings is None and after is None:
        args.recordings = recording_dirs_from_env()
    else:  # given before and after the command: all of them, in order
        args.recordings = (args.recordings or []) + (after or [])
    if args.strict is None:
        args.strict = env_flag("RCLSIM_STRICT")
    from .clock import check_time_scale, time_scale_from_env

    args.time_scale = time_scale_from_env() if args.time_scale is None else check_time_scale(args.time_scale)
    args.state_dir = args.state_dir or env_value("RCLSIM_STATE_DIR") or ".rclsim"
    if args.record_mode and args.backend != "aws":
        raise RclsimError("--record-mode records live responses: it needs --backend aws")
    args.output = args.output or env_value("RCLSIM_OUTPUT") or "json"
    if args.output not in ("json", "text", "table"):
        raise RclsimError(f"RCLSIM_OUTPUT={args.output!r}: choose json, text or table")
    return args


def _backend(args: argparse.Namespace, **extra: Any) -> Any:
    from .backends import get_backend

    if args.backend == "aws":
        return get_backend(
            "aws",
            strict=args.strict,
            region=args.region,
            profile=args.profile,
            endpoint_url=args.endpoint_url,
            recordings=args.recordings or None,
            record_mode=args.record_mode,
            mask_account=not args.no_mask_account,
            **extra,
        )
    if args.backend == "sim":
        return get_backend(
            "sim",
            manifest=_manifest(args),
            noise=_noise(args),
            strict=args.strict,
            time_scale=args.time_scale,
            state_dir=args.state_dir,
            prices=_prices(args),
            **extra,
        )
    return get_backend(
        args.backend,
        recordings=args.recordings,
        strict=args.strict,
        time_scale=args.time_scale,
        state_dir=args.state_dir,
        prices=_prices(args),
        **extra,
    )


def _manifest(args: argparse.Namespace) -> str:
    manifest = args.manifest or env_value("RCLSIM_MANIFEST")
    if not manifest:
        raise RclsimError("give a Ground Truth manifest with --manifest M (or RCLSIM_MANIFEST)")
    return str(manifest)


def _noise(args: argparse.Namespace) -> Any:
    import dataclasses

    from .simulation import NoiseModel

    path = args.sim_params or env_value("RCLSIM_SIM_PARAMS")
    noise = NoiseModel.load(path) if path else NoiseModel()
    seed = args.seed if args.seed is not None else env_value("RCLSIM_SEED")
    if seed is not None:
        try:
            noise = dataclasses.replace(noise, seed=int(seed))
        except ValueError:
            raise RclsimError(f"RCLSIM_SEED={seed!r} is not a whole number") from None
    return noise


def _prices(args: argparse.Namespace) -> Any:
    from .cost import PriceTable

    return PriceTable.load(args.prices)


def _wire(value: Any) -> Any:
    """Timestamps as the AWS CLI v1 prints them: epoch seconds, as the service sent them."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _print(data: Any, args: argparse.Namespace, operation: str) -> None:
    import shutil

    from .output import render

    # The AWS CLI sizes tables to the terminal, and to 80 columns when output is not a terminal.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 80
    sys.stdout.write(render(_wire(data), args.output, args.query, operation=operation, terminal_width=width))


# -- commands ------------------------------------------------------------------------------------
def cmd_detect(args: argparse.Namespace) -> int:
    from .imageparam import image_param

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
    from .schemas import looks_like_models, looks_like_recording, recording_problems, response_problems

    if looks_like_models(data):
        from .declarations import models_file_problems
        from .schemas import SchemaProblem

        return "models file", [SchemaProblem("$", p) for p in models_file_problems(data)]
    if looks_like_recording(data):
        return "recording", recording_problems(data)
    return "response", response_problems(data)


def cmd_draw(args: argparse.Namespace) -> int:
    data = _load_json_file(args.response)
    kind, problems = _schema_problems(data)
    label = "stdin" if args.response == "-" else args.response
    if problems:
        raise RclsimError(f"{label}: not a valid {kind}: {problems[0]}")
    if kind == "models file":
        raise RclsimError(f"{label}: a models.json declares models; draw needs a response or a recording")
    labels = data["response"]["CustomLabels"] if kind == "recording" else data["CustomLabels"]

    from .drawing import draw_files

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
            first = handle.readline().decode("utf-8-sig").strip()
        data = json.loads(first) if first else None
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "source-ref" in data


def _validate_manifest(name: str) -> int:
    """Print a manifest's bad lines (or that it is valid); 1 when it has any."""
    from .manifest import iter_manifest

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
                "Labels": rec.label_count,
            }
        )
    _print({"Recordings": rows}, args, "Recordings")
    return 0


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _where(args: argparse.Namespace, backend: Any) -> str:
    if args.backend == "aws":
        endpoint = args.endpoint_url or env_value("RCLSIM_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            return f"the endpoint {endpoint} ({backend.region or 'default region'})"
        return f"real AWS ({backend.region or 'default region'})"
    return f"the fake (state in {backend.core.lifecycle.state.describe()}, time scale {args.time_scale:g})"


def _confirm_billable(args: argparse.Namespace, text: str) -> bool:
    """Real AWS only: a start needs --yes or a yes at an interactive prompt that shows the price.
    True when the price has been shown (so it is not shown twice)."""
    if args.backend != "aws" or args.yes:
        return False
    if not sys.stdin.isatty():
        raise RclsimError(f"refusing to start a billable model without --yes. {text}")
    _say(text)
    answer = input("Start it on real AWS now? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise RclsimError("not started")
    return True


def cmd_start(args: argparse.Namespace) -> int:
    from .control import resolve, start_model
    from .cost import hourly_cost_text

    prices = _prices(args)
    units = args.max_inference_units or args.min_inference_units
    text = hourly_cost_text(prices, args.project_version_arn, units)
    params: dict[str, Any] = {
        "ProjectVersionArn": args.project_version_arn,
        "MinInferenceUnits": args.min_inference_units,
    }
    if args.max_inference_units is not None:
        params["MaxInferenceUnits"] = args.max_inference_units
    if args.dry_run:
        _say(text)
        _say(
            f"dry run: would call StartProjectVersion {json.dumps(params)} on {args.backend}"
            + ("" if args.no_wait else ", then wait for RUNNING")
            + "; nothing was called"
        )
        return 0
    shown = _confirm_billable(args, text)
    with _backend(args) as backend:
        _say(f"starting {args.project_version_arn} on {_where(args, backend)}")
        model = resolve(backend, args.project_version_arn)
        try:
            outcome = start_model(
                backend,
                model,
                min_inference_units=args.min_inference_units,
                max_inference_units=args.max_inference_units,
                wait=not args.no_wait,
                say=_say,
                prices=prices,
                announce=not shown,
            )
        except KeyboardInterrupt:
            _say(
                f"rclsim: interrupted while waiting; {args.project_version_arn} was started and is billed "
                f"once RUNNING, until stopped: rclsim stop --project-version-arn {args.project_version_arn}"
            )
            raise
    _say(outcome.message)
    _print({"Status": outcome.status}, args, "StartProjectVersion")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    from .control import BILLING_STATUSES, ModelRef, resolve, stop_model

    if args.all and not args.project_arn:
        raise RclsimError("stop --all needs --project-arn")
    with _backend(args) as backend:
        if args.all:
            pages = backend.get_paginator("describe_project_versions").paginate(ProjectArn=args.project_arn)
            found = pages.build_full_result()["ProjectVersionDescriptions"]
            models = [
                ModelRef(d["ProjectVersionArn"], args.project_arn)
                for d in found
                if d["Status"] in BILLING_STATUSES
            ]
            if not models:
                _say(f"no version of {args.project_arn} is starting or running")
        else:
            models = [resolve(backend, args.project_version_arn)]
        results = []
        for model in models:
            if args.dry_run:
                _say(f"dry run: would call StopProjectVersion for {model.arn}; nothing was called")
                continue
            outcome = stop_model(backend, model, say=_say)
            _say(outcome.message)
            results.append({"ProjectVersionArn": model.arn, "Status": outcome.status})
    if not args.dry_run:
        if args.all:
            _print({"Stopped": results}, args, "StopProjectVersion")
        elif results:
            _print({"Status": results[0]["Status"]}, args, "StopProjectVersion")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .control import resolve

    with _backend(args) as backend:
        if args.project_arn:
            pages = backend.get_paginator("describe_project_versions").paginate(ProjectArn=args.project_arn)
            response = pages.build_full_result()
        else:
            model = resolve(backend, args.project_version_arn)
            response = backend.describe_project_versions(
                ProjectArn=model.project_arn, VersionNames=[model.version_name]
            )
    _print(response, args, "DescribeProjectVersions")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    if args.backend == "aws":
        raise RclsimError(
            "the cost meter measures the fake; for real charges see AWS Cost Explorer or your bill"
        )
    with _backend(args) as backend:
        bill = backend.bill()
    _print(bill.as_dict(), args, "Cost")
    for note in bill.notes:
        _say(f"note: {note}")
    _say(f"prices as of {bill.as_of}: {bill.source}")
    return 0


def cmd_find_running(args: argparse.Namespace) -> int:
    from .control import find_running

    prices = _prices(args)
    found: list[dict[str, Any]] = []
    failed: list[str] = []
    if args.all_regions and args.backend != "aws":
        raise RclsimError("--all-regions looks through AWS's regions: it needs --backend aws")
    if args.backend == "aws" and args.all_regions:
        import boto3

        if args.endpoint_url or env_value("RCLSIM_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL"):
            raise RclsimError(
                "--all-regions calls each region's own endpoint; it cannot be combined with an "
                "endpoint URL (drop --all-regions to ask that endpoint)"
            )
        session = boto3.Session(profile_name=args.profile)
        for region in session.get_available_regions("rekognition"):
            with _backend(args, client=session.client("rekognition", region_name=region)) as backend:
                try:
                    found.extend(find_running(backend, prices))
                except Exception as exc:  # a region not enabled for the account, say
                    failed.append(region)
                    _say(f"{region}: could not be checked ({_one_line(str(exc))})")
    else:
        with _backend(args) as backend:
            found = find_running(backend, prices)
    _print({"RunningVersions": found}, args, "FindRunning")
    total = sum(row["HourlyCost"] for row in found)
    _say(f"{len(found)} version(s) starting or running: about {prices.currency} {total:.2f} per hour")
    if failed:
        _say(
            f"rclsim: {len(failed)} region(s) could not be checked ({', '.join(failed)}): models running "
            f"there are NOT listed above"
        )
        return EXIT_USER_ERROR
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .server import DEFAULT_PORT, FakeServer

    if args.backend == "aws":
        raise RclsimError("serve serves the fake; --backend aws makes no sense here")
    port = DEFAULT_PORT if args.port is None else args.port
    if not 0 <= port <= 65535:
        raise RclsimError(f"--port must be between 0 and 65535, got {port}")
    backend = _backend(args)
    try:
        server = FakeServer(backend, args.host, port, verbose=args.verbose)
    except OSError as exc:
        backend.close()
        raise RclsimError(f"cannot listen on {args.host}:{port}: {exc.strerror or exc}") from None
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        _say(f"warning: listening on {args.host}: other machines can reach the fake")
    _say(
        f"rclsim: serving the fake Rekognition on {server.url} (state in "
        f"{backend.core.lifecycle.state.describe()}, time scale {args.time_scale:g}); Ctrl-C stops it"
    )
    _say(f"  try: aws rekognition describe-projects --endpoint-url {server.url} --region us-east-1")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _say("rclsim: stopping")
    finally:
        server.server_close()
        backend.close()
    return 0


def cmd_sim(args: argparse.Namespace) -> int:
    args.backend = "sim"
    if args.action == "info":
        with _backend(args) as backend:
            info = backend.info()
            problems = list(backend.source.problems)
        _print(info, args, "SimInfo")
        for problem in problems[:20]:
            _say(f"{info['Manifest']}: {problem}")
        if len(problems) > 20:
            _say(f"... and {len(problems) - 20} more bad lines")
        return 0
    from .responses import ResponseFolder
    from .simulation import SimSource, fit_noise

    if not args.responses:
        raise RclsimError("sim fit needs --responses DIR: the real responses to fit to")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.overwrite:
        raise RclsimError(f"{out} exists; use --overwrite to replace it")
    from .datasets import paired_responses

    source = SimSource(_manifest(args))
    pairs = list(
        paired_responses(
            source.entries(), responses=ResponseFolder(args.responses), manifest_dir=source.path.parent
        )
    )
    _say(f"fitting to {len(pairs)} images with both ground truth and a response")
    lowest = min((label["Confidence"] for _, labels in pairs for label in labels), default=0.0)
    if lowest > 5:
        _say(
            f"warning: the lowest confidence in these responses is {lowest:.1f}: they look filtered (by "
            f"MinConfidence or the assumed thresholds). The fit assumes unfiltered responses: labels a "
            f"threshold removed count as misses and clutter is undercounted. Record at MinConfidence 0."
        )
    noise = fit_noise(pairs, seed=_noise(args).seed)
    text = json.dumps(noise.to_dict(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        write_atomically(out, text.encode("utf-8"), overwrite=args.overwrite)
        _say(f"wrote {out}; use it with --backend sim --sim-params {out}")
    return 0


def _paired(args: argparse.Namespace, stack: Any) -> tuple[Any, Any, Any, dict[str, float]]:
    """The manifest's entries paired with responses, the counts, and declared assumed thresholds."""
    from .datasets import Paired, paired_responses
    from .manifest import iter_manifest
    from .responses import ResponseFolder

    manifest = _manifest(args)
    problems: list[Any] = []
    counts = Paired()
    thresholds: dict[str, float] = {}
    entries = iter_manifest(manifest, problems)
    if args.responses:
        pairs = paired_responses(
            entries,
            responses=ResponseFolder(args.responses),
            counts=counts,
            manifest_dir=Path(manifest).parent,
        )
        return pairs, counts, problems, thresholds
    if args.backend == "sim":
        args.manifest = manifest
    backend = stack.enter_context(_backend(args))
    arn = getattr(backend, "project_version_arn", None) or args.project_version_arn
    if not arn:
        raise RclsimError(
            "give --responses DIR, --backend sim, or the model to ask with --project-version-arn"
        )
    decl = getattr(getattr(backend, "core", None), "lifecycle", None)
    known = decl.known(arn) if decl is not None else None
    if known is not None:
        thresholds = {name: 100 * t for name, t in known.thresholds.items()}
    pairs = paired_responses(entries, backend=backend, project_version_arn=arn, counts=counts)
    return pairs, counts, problems, thresholds


def _say_counts(args: argparse.Namespace, counts: Any, problems: list[Any]) -> None:
    for problem in problems[:10]:
        _say(f"{args.manifest}: {problem}")
    if len(problems) > 10:
        _say(f"... and {len(problems) - 10} more bad lines (rclsim validate lists them all)")
    missing = ""
    if counts.missing:
        shown = ", ".join(counts.missing[:3]) + (" ..." if len(counts.missing) > 3 else "")
        missing = f"; {len(counts.missing)} without one were LEFT OUT of the scores: {shown}"
    _say(f"{counts.answered} of {counts.images} images had a response{missing}")
    total = counts.images + len(problems)
    if total and len(problems) > 0.2 * total:
        raise RclsimError(
            f"{len(problems)} of {total} manifest lines are invalid (over 20%, where the Custom Labels "
            f"console refuses a manifest): rclsim validate {args.manifest} lists them"
        )


def cmd_evaluate(args: argparse.Namespace) -> int:
    import contextlib

    from .evaluation import Prediction, Truth, evaluate, write_pr_plot

    for name in ("json", "csv", "plot"):
        target = getattr(args, name)
        if target and Path(target).exists() and not args.overwrite:
            raise RclsimError(f"{target} exists; use --overwrite to replace it")
    if args.min_confidence is not None and not 0 <= args.min_confidence <= 100:
        raise RclsimError(f"--min-confidence must be between 0 and 100, got {args.min_confidence}")
    if not 0 < args.iou <= 1:  # also false for NaN
        raise RclsimError(f"--iou must be in (0, 1], got {args.iou}")
    with contextlib.ExitStack() as stack:
        pairs, counts, problems, thresholds = _paired(args, stack)
        current: dict[str, Any] = {}

        def truths() -> Any:
            for entry, labels in pairs:
                current[entry.source_ref] = labels
                boxes = [(b.name, entry.ratio_box(b)) for b in entry.boxes] if entry.width else []
                yield Truth(entry.source_ref, boxes, () if boxes else tuple(entry.labels))

        def predict(image: str) -> Prediction:
            return Prediction(image, current.pop(image))

        report = evaluate(
            truths(),
            predict,
            min_confidence=args.min_confidence,
            thresholds=thresholds or None,
            iou_threshold=args.iou,
        )
    _say_counts(args, counts, problems)
    if counts.answered == 0:
        raise RclsimError("nothing to score: no image of the manifest had a response")
    if args.query:  # --query asks for data, as the AWS CLI: JSON/text/table of the report
        _print(report.to_dict(sweep=False), args, "Evaluate")
    else:
        at = (
            f"MinConfidence {args.min_confidence:g}"
            if args.min_confidence is not None
            else "each label's declared assumed threshold"
            if thresholds
            else "all labels (no threshold)"
        )
        sys.stdout.write(f"scored at {at}; IoU >= {args.iou:g}\n" + report.table() + "\n")
    if args.json:
        text = json.dumps(report.to_dict(), indent=2) + "\n"
        write_atomically(args.json, text.encode("utf-8"), overwrite=args.overwrite)
        _say(f"wrote {args.json}")
    if args.csv:
        report.to_csv(args.csv, overwrite=args.overwrite)
        _say(f"wrote {args.csv}")
    if args.plot:
        write_pr_plot(report, args.plot, overwrite=args.overwrite)
        _say(f"wrote {args.plot}")
    return 0


def cmd_manifest(args: argparse.Namespace) -> int:
    import contextlib

    from .manifest import entries_from_responses, write_manifest

    with contextlib.ExitStack() as stack:
        pairs, counts, problems, _ = _paired(args, stack)
        items = (
            (e.source_ref, e.width or 0, e.height or 0, {"CustomLabels": list(labels)}) for e, labels in pairs
        )
        written = write_manifest(
            args.out,
            # responses were checked already (recordings when loaded; the fake builds valid ones)
            entries_from_responses(items, min_confidence=args.min_confidence, validate=False),
            overwrite=args.overwrite,
            human_annotated=False,
        )
    _say_counts(args, counts, problems)
    _say(f"wrote {written} lines to {args.out}")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from .state import STATE_FILE_NAME, StateStore

    if args.backend == "aws":
        raise RclsimError("reset forgets the fake's state; it does nothing to AWS")
    target = Path(args.state_dir) / STATE_FILE_NAME
    if StateStore.reset(args.state_dir):
        _say(f"removed {target}: every model is back in its declared status, the cost meter at zero")
    else:
        _say(f"no state in {args.state_dir}: nothing to reset")
    return 0


_COMMANDS = {
    "detect": cmd_detect,
    "draw": cmd_draw,
    "validate": cmd_validate,
    "recordings": cmd_recordings,
    "start": cmd_start,
    "stop": cmd_stop,
    "status": cmd_status,
    "cost": cmd_cost,
    "find-running": cmd_find_running,
    "reset": cmd_reset,
    "serve": cmd_serve,
    "sim": cmd_sim,
    "evaluate": cmd_evaluate,
    "manifest": cmd_manifest,
}


def _show_warning(
    message: Any, category: Any, filename: Any, lineno: Any, file: Any = None, line: Any = None
) -> None:
    print(f"rclsim: warning: {message}", file=sys.stderr)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    warnings.showwarning = _show_warning
    debug = bool(args.debug)
    try:
        debug = debug or env_flag("RCLSIM_DEBUG")
        _resolve(args)
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        if debug:
            raise
        print("rclsim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        return _report(exc)


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
