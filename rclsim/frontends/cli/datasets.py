"""Manifests from the command line: the sim model (info, fit), evaluate, manifest write."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rclsim.frontends.cli.common import _backend, _manifest, _noise, _print, _say
from rclsim.service.errors import RclsimError
from rclsim.service.files import write_atomically


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
    from rclsim.data.responses import ResponseFolder
    from rclsim.fake.simulation import SimSource, fit_noise

    if not args.responses:
        raise RclsimError("sim fit needs --responses DIR: the real responses to fit to")
    out = Path(args.out) if args.out else None
    if out is not None and out.exists() and not args.overwrite:
        raise RclsimError(f"{out} exists; use --overwrite to replace it")
    from rclsim.data.datasets import paired_responses

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
    from rclsim.data.datasets import Paired, paired_responses
    from rclsim.data.manifest import iter_manifest
    from rclsim.data.responses import ResponseFolder

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

    from rclsim.data.evaluation import Prediction, Truth, evaluate
    from rclsim.reports.prplot import write_pr_plot

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
                yield Truth.of_entry(entry)

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

    if args.action == "check":
        from rclsim.frontends.cli.manifest_check import cmd_manifest_check

        return cmd_manifest_check(args)
    if not args.out:
        raise RclsimError("manifest write needs -o/--out FILE (the manifest to write)")

    from rclsim.data.manifest import entries_from_responses, write_manifest

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
