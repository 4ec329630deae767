"""The model lifecycle from the command line: start, stop, status, cost, find-running, reset, serve."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from rclsim.frontends.cli.common import EXIT_USER_ERROR, _backend, _one_line, _prices, _print, _say
from rclsim.service.errors import RclsimError


def _where(args: argparse.Namespace, backend: Any) -> str:
    if args.backend == "aws":
        endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL")  # args: resolved settings
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
    """In this order: the parameters checked (the call's own error, nothing else said), the hourly
    price, then the dry run's "would call" or the confirmation and the call."""
    from rclsim.fake.cost import hourly_cost_text
    from rclsim.frontends.control import check_start_parameters, resolve, start_model, start_parameters

    params = start_parameters(args.project_version_arn, args.min_inference_units, args.max_inference_units)
    check_start_parameters(params)
    prices = _prices(args)
    text = hourly_cost_text(
        prices, args.project_version_arn, args.min_inference_units, args.max_inference_units
    )
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
    from rclsim.frontends.control import BILLING_STATUSES, ModelRef, resolve, stop_model

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
    from rclsim.frontends.control import resolve

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
        _say_units_in_service(backend, response)
    return 0


def _say_units_in_service(backend: Any, response: dict[str, Any]) -> None:
    """rclsim's own figure, not an API member (so not in the printed response): the inference units
    serving each RUNNING version now, which auto-scaling moves between Min and Max. Only a fake knows it."""
    core = getattr(backend, "core", None)
    if core is None:
        return
    for row in response.get("ProjectVersionDescriptions", []):
        if row.get("Status") != "RUNNING":
            continue
        units = core.lifecycle.units_in_service(row["ProjectVersionArn"])
        if units is None:
            continue
        bounds = f"Min {row.get('MinInferenceUnits', '?')}"
        if row.get("MaxInferenceUnits") is not None:
            bounds += f", Max {row['MaxInferenceUnits']}"
        name = row["ProjectVersionArn"].split("/version/", 1)[-1].split("/", 1)[0]
        plural = "" if units == 1 else "s"
        _say(f"{name}: {units} inference unit{plural} in service ({bounds}; rclsim's figure)")


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
    from rclsim.frontends.control import find_running

    prices = _prices(args)
    found: list[dict[str, Any]] = []
    failed: list[str] = []
    if args.all_regions and args.backend != "aws":
        raise RclsimError("--all-regions looks through AWS's regions: it needs --backend aws")
    if args.backend == "aws" and args.all_regions:
        import boto3

        if args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL"):
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
    from rclsim.fake.cost import hourly_price

    for row in found:
        price = hourly_price(
            row["MinInferenceUnits"],
            row.get("MaxInferenceUnits"),
            arn=row["ProjectVersionArn"],
            prices=prices,
        )
        _say(f"  {row['ProjectVersionArn']} ({row['Status']}): {price.text()}")
    total = sum(row["HourlyCost"] for row in found)
    most = sum(row.get("MaxHourlyCost", row["HourlyCost"]) for row in found)
    scaling = f", up to {prices.currency} {most:.2f} per hour if they scale" if most > total else ""
    _say(
        f"{len(found)} version(s) starting or running: about {prices.currency} {total:.2f} per hour{scaling}"
    )
    if failed:
        _say(
            f"rclsim: {len(failed)} region(s) could not be checked ({', '.join(failed)}): models running "
            f"there are NOT listed above"
        )
        return EXIT_USER_ERROR
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from rclsim.frontends.server import DEFAULT_PORT, FakeServer

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
    objects = backend.core.objects
    s3 = (
        f"S3: {objects.describe()}"
        if objects is not None
        else "no S3 (give --s3-dir DIR or --s3-endpoint-url URL)"
    )
    _say(
        f"rclsim: serving the fake Rekognition on {server.url} (state in "
        f"{backend.core.lifecycle.state.describe()}, time scale {args.time_scale:g}; {s3}); Ctrl-C stops it"
    )
    if getattr(backend, "fault_rules", ()):
        _say(f"  fault rules in force: {args.faults} (docs/faults.md): some calls fail on purpose")
    if backend.core.capacity:
        _say("  capacity on: 5 DetectCustomLabels calls per second per inference unit (docs/capacity.md)")
    _say(f"  try: aws rekognition describe-projects --endpoint-url {server.url} --region ap-northeast-1")
    import signal

    def _terminate(signum: int, frame: Any) -> None:  # SIGTERM (kill, docker stop) stops it as Ctrl-C does
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        _say("rclsim: stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
        backend.close()
    _say(f"rclsim: stopped; state closed ({backend.core.lifecycle.state.describe()})")
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from rclsim.fake.state import STATE_FILE_NAME, StateStore

    if args.backend == "aws":
        raise RclsimError("reset forgets the fake's state; it does nothing to AWS")
    target = Path(args.state_dir) / STATE_FILE_NAME
    if StateStore.reset(args.state_dir):
        _say(f"removed {target}: every model is back in its declared status, the cost meter at zero")
    else:
        _say(f"no state in {args.state_dir}: nothing to reset")
    return 0
