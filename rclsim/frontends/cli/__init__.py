"""The ``rclsim`` command: the article's steps, offline by default.

A thin adapter: arguments in, a Backend call, output printed the way the AWS CLI prints it. Rules
(validation, filtering, errors) live in the fake core; this package only parses and prints. One module
per group of commands: ``article`` (detect, draw, validate, recordings), ``models`` (start, stop,
status, cost, find-running, reset, serve), ``datasets`` (sim, evaluate, manifest); ``parser`` holds
every option, ``common`` what they share.

Exit codes: 0 success; 1 a problem with the user's files or options (one line on stderr); 2 a usage
error; 255 an error from the service or the fake (``An error occurred (Code) ...``), as the AWS CLI v1.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

from rclsim.config import setting
from rclsim.frontends.cli import article, datasets, models, run, schedule
from rclsim.frontends.cli.common import EXIT_SERVICE_ERROR, EXIT_USAGE, EXIT_USER_ERROR, _one_line, _resolve
from rclsim.frontends.cli.parser import build_parser
from rclsim.service.errors import RclsimError

__all__ = ["main", "build_parser"]

_COMMANDS = {
    "detect": article.cmd_detect,
    "draw": article.cmd_draw,
    "validate": article.cmd_validate,
    "recordings": article.cmd_recordings,
    "start": models.cmd_start,
    "stop": models.cmd_stop,
    "status": models.cmd_status,
    "cost": models.cmd_cost,
    "find-running": models.cmd_find_running,
    "reset": models.cmd_reset,
    "serve": models.cmd_serve,
    "sim": datasets.cmd_sim,
    "evaluate": datasets.cmd_evaluate,
    "manifest": datasets.cmd_manifest,
    "run": run.cmd_run,
    "schedule": schedule.cmd_schedule,
}


def _show_warning(
    message: Any, category: Any, filename: Any, lineno: Any, file: Any = None, line: Any = None
) -> None:
    print(f"rclsim: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:  # a usage error: one line, pointing at the help (as argparse's own)
        print("usage: rclsim [options] COMMAND ...: no command given; see 'rclsim --help'", file=sys.stderr)
        return EXIT_USAGE
    warnings.showwarning = _show_warning
    debug = bool(args.debug)
    try:
        debug = bool(setting("debug", args.debug or None, front_end="cli"))  # --debug, else its variable
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
