"""The ``rclsim`` command line: every option and command, with its help."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rclsim import __version__
from rclsim.frontends.cli.common import EXIT_USAGE

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


def _common_options(suppress: bool, only: frozenset[str] | None = None) -> _Parser:
    """Options accepted both before and after the command. On subcommands their defaults are
    suppressed so a value given before the command is not overwritten by the subparser's default.
    ``only``: just those options (a command that needs few, so its ``--help`` lists just those)."""
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
    g.add_argument(
        "--capacity",
        action="store_const",
        const=True,
        default=default,
        help="fakes: a RUNNING model serves 5 DetectCustomLabels calls per second per inference unit; "
        "more is ProvisionedThroughputExceededException, and a model started with MaxInferenceUnits "
        "scales between Min and Max (docs/capacity.md). Off by default. Env RCLSIM_CAPACITY",
    )
    g.add_argument(
        "--match",
        metavar="HOW",
        default=default,
        help="replay: how a request finds its recording. sha256 (default): the image's exact bytes or "
        "S3 object. Code that re-encodes the image before sending it (AWS's local-image sample "
        "re-saves it with PIL; its video sample JPEG-encodes frames) never matches that way; opt in to "
        "pixels: also a recorded image of the same width and height whose perceptual hash is within 6 "
        "bits of 64 (the image files must lie in the recordings folders); default: also the model's "
        "default.json answer; or pixels,default. Env RCLSIM_MATCH",
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
        "--s3-dir",
        metavar="DIR",
        default=default,
        help="fake: a folder that stands for S3 (manifests, images, training output): s3://B/K is the "
        "file DIR/B/K. Env RCLSIM_S3_DIR",
    )
    f.add_argument(
        "--s3-endpoint-url",
        metavar="URL",
        default=default,
        help="fake: read and write S3 objects through this S3 endpoint instead (a moto server: "
        "http://127.0.0.1:5000). Env RCLSIM_S3_ENDPOINT_URL",
    )
    f.add_argument(
        "--faults",
        metavar="FILE",
        default=default,
        help="fake: fault rules (JSON): errors such as ThrottlingException and latency by operation, "
        "model, rate or call number, for testing retry code (docs/faults.md). Env RCLSIM_FAULTS",
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
    if only is not None:
        small = _Parser(add_help=False, allow_abbrev=False)
        for group in p._action_groups:
            kept = [a for a in group._group_actions if set(a.option_strings) & only]
            if kept:
                target = small.add_argument_group(group.title)
                for action in kept:
                    target._add_action(action)
        return small
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
        "the other commands through --state-dir. S3 objects (manifests, images, training output) are "
        "read and written in --s3-dir DIR (s3://B/K is DIR/B/K) or through --s3-endpoint-url URL (a "
        "moto server: moto_server -p 5000, then --s3-endpoint-url http://127.0.0.1:5000).",
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
        help="check a Ground Truth manifest as CreateDataset would, or write one from responses",
        description="manifest check M: what the service's dataset import would say of the manifest M, "
        "offline: counts, each line's errors with the service's codes, the terminal error if the import "
        "would fail (exit 1), and manifest_summary.json on stdout. manifest write: a manifest whose boxes "
        "are the responses' labels (at or above --min-confidence) for the images of --manifest: from "
        "--responses DIR, or from the backend (sim: the simulation).",
    )
    mw.add_argument("action", choices=("write", "check"))
    mw.add_argument("-o", "--out", metavar="FILE", help="manifest write: the manifest to write (required)")
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

    # Commands whose options live in their own modules (one owner each).
    from rclsim.frontends.cli import manifest_check, run, schedule

    manifest_check.add_arguments(mw)
    run.add_parser(sub, common)
    schedule.add_parser(
        sub, _common_options(True, frozenset({"--region", "--prices", "--output", "--query", "--debug"}))
    )
    return parser


def _version_text() -> str:
    try:
        import botocore

        return f"rclsim {__version__} (botocore {botocore.__version__})"
    except ImportError:  # pragma: no cover
        return f"rclsim {__version__}"
