"""What every command shares: options resolved from the environment, the backend they pick, output
printed as the AWS CLI prints it, and reading the user's JSON files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rclsim.service.errors import RclsimError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_SERVICE_ERROR = 255


# -- option resolution ---------------------------------------------------------------------------
#: Options that are settings (rclsim.config), by the name argparse gives them.
_SETTINGS_OPTIONS = (
    "backend",
    "strict",
    "match",
    "time_scale",
    "state_dir",
    "s3_dir",
    "s3_endpoint_url",
    "capacity",
    "seed",
    "faults",
    "manifest",
    "sim_params",
    "prices",
    "region",
    "profile",
    "endpoint_url",
    "record_mode",
    "output",
    "debug",
)


def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Settings not given on the command line from RCLSIM_* variables and defaults
    (:func:`rclsim.config.resolve`), written back into ``args`` for the commands."""
    from rclsim.config import resolve

    given = {name: getattr(args, name, None) for name in _SETTINGS_OPTIONS}
    after = getattr(args, "recordings_after", None)
    if args.recordings is not None or after is not None:  # given before and after the command: all
        given["recordings"] = (args.recordings or []) + (after or [])
    given["mask_account"] = False if getattr(args, "no_mask_account", None) else None
    settings = resolve("cli", **given)
    args.settings = settings
    for name in _SETTINGS_OPTIONS:
        value = getattr(settings, name)
        setattr(args, name, str(value) if isinstance(value, Path) else value)
    args.recordings = list(settings.recordings)
    return args


def _settings(args: argparse.Namespace) -> Any:
    """The resolved settings, with what a command changed in ``args`` since (``evaluate`` picks the sim
    backend and its manifest, for one)."""
    import dataclasses

    changed: dict[str, Any] = {name: getattr(args, name) for name in _SETTINGS_OPTIONS}
    for name in ("state_dir", "s3_dir", "manifest", "sim_params", "prices", "faults"):
        changed[name] = Path(changed[name]) if changed[name] else None
    changed["recordings"] = tuple(Path(p) for p in args.recordings)
    return dataclasses.replace(args.settings, **changed)


def _backend(args: argparse.Namespace, **extra: Any) -> Any:
    from rclsim.backends import backend_from_settings

    return backend_from_settings(_settings(args), prices=_prices(args), **extra)


def _manifest(args: argparse.Namespace) -> str:
    if not args.manifest:
        raise RclsimError(f"give a Ground Truth manifest with {args.settings.hint('manifest')}")
    return str(args.manifest)


def _noise(args: argparse.Namespace) -> Any:
    from rclsim.backends import noise_from_settings

    return noise_from_settings(_settings(args))


def _prices(args: argparse.Namespace) -> Any:
    from rclsim.fake.cost import PriceTable

    return PriceTable.load(args.prices, given_by=_given_by(args, "prices"))


def _given_by(args: argparse.Namespace, name: str) -> str | None:
    """Where setting ``name`` came from (an option, a variable, the default), while ``args`` still
    holds the resolved value (a command may have changed it since)."""
    settings = getattr(args, "settings", None)
    if settings is None:
        return None
    resolved = getattr(settings, name)
    if (str(resolved) if isinstance(resolved, Path) else resolved) != getattr(args, name, None):
        return None
    return str(settings.origin.get(name, "default"))


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

    from rclsim.reports.output import render

    # The AWS CLI sizes tables to the terminal, and to 80 columns when output is not a terminal.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 80
    sys.stdout.write(render(_wire(data), args.output, args.query, operation=operation, terminal_width=width))


def _schema_problems(data: Any) -> tuple[str, list[Any]]:
    from rclsim.service.schemas import (
        looks_like_models,
        looks_like_recording,
        recording_problems,
        response_problems,
    )

    if looks_like_models(data):
        from rclsim.fake.declarations import models_file_problems
        from rclsim.service.schemas import SchemaProblem

        return "models file", [SchemaProblem("$", p) for p in models_file_problems(data)]
    if looks_like_recording(data):
        return "recording", recording_problems(data)
    return "response", response_problems(data)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())
