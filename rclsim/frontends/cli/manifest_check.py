"""``rclsim manifest check M``: the service's dataset import checks of a manifest, offline."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``manifest check`` on the ``manifest`` command's parser."""
    parser.add_argument("manifest_file", nargs="?", metavar="M", help="manifest check: the manifest to check")


def cmd_manifest_check(args: argparse.Namespace) -> int:
    raise NotImplementedError("manifest check: being built (issue 12)")
