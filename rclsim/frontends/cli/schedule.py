"""``rclsim schedule``: what an off-hours start/stop schedule would cost beside always-on."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    """The ``schedule`` command's parser."""
    sub.add_parser(
        "schedule",
        parents=[common],
        allow_abbrev=False,
        help="the monthly cost of a start/stop schedule beside always-on (being built: issue 13)",
    )


def cmd_schedule(args: argparse.Namespace) -> int:
    from rclsim.service.errors import RclsimError

    raise RclsimError("rclsim schedule is being built (issue 13)")
