"""What every command shares: options resolved from the environment, the backend they pick, output
printed as the AWS CLI prints it, and reading the user's JSON files."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..config import env_flag, env_value
from ..errors import RclsimError

EXIT_USER_ERROR = 1
EXIT_USAGE = 2
EXIT_SERVICE_ERROR = 255


# -- option resolution ---------------------------------------------------------------------------
def _resolve(args: argparse.Namespace) -> argparse.Namespace:
    """Fill options not given on the command line from RCLSIM_* variables and defaults."""
    from ..recordings import recording_dirs_from_env

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
    from ..clock import check_time_scale, time_scale_from_env

    args.time_scale = time_scale_from_env() if args.time_scale is None else check_time_scale(args.time_scale)
    args.state_dir = args.state_dir or env_value("RCLSIM_STATE_DIR") or ".rclsim"
    if args.record_mode and args.backend != "aws":
        raise RclsimError("--record-mode records live responses: it needs --backend aws")
    args.output = args.output or env_value("RCLSIM_OUTPUT") or "json"
    if args.output not in ("json", "text", "table"):
        raise RclsimError(f"RCLSIM_OUTPUT={args.output!r}: choose json, text or table")
    return args


def _backend(args: argparse.Namespace, **extra: Any) -> Any:
    from ..backends import get_backend

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

    from ..simulation import NoiseModel

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
    from ..cost import PriceTable

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

    from ..output import render

    # The AWS CLI sizes tables to the terminal, and to 80 columns when output is not a terminal.
    width = shutil.get_terminal_size().columns if sys.stdout.isatty() else 80
    sys.stdout.write(render(_wire(data), args.output, args.query, operation=operation, terminal_width=width))


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
    from ..schemas import looks_like_models, looks_like_recording, recording_problems, response_problems

    if looks_like_models(data):
        from ..declarations import models_file_problems
        from ..schemas import SchemaProblem

        return "models file", [SchemaProblem("$", p) for p in models_file_problems(data)]
    if looks_like_recording(data):
        return "recording", recording_problems(data)
    return "response", response_problems(data)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())
