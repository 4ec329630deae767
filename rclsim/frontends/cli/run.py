"""``rclsim run -- CMD ARGS``: run unchanged code under the drop-in."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``run`` command's parser."""
    r = sub.add_parser(
        "run",
        parents=[common],
        allow_abbrev=False,
        help="run a program with boto3's Rekognition calls answered by the fake",
    )
    r.add_argument("command", nargs=argparse.REMAINDER, help="the program and its arguments, after --")


def cmd_run(args: argparse.Namespace) -> int:
    raise NotImplementedError("rclsim run: being built (issue 12)")
