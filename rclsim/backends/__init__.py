"""Backends by name: ``get_backend("replay" | "aws", ...)``.

Options not given fall back to the ``RCLSIM_*`` environment variables (see :mod:`rclsim.config`), so a
test suite or CI job can switch backends without touching code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..clock import Clock, check_time_scale, time_scale_from_env
from ..config import env_backend, env_flag, env_value
from ..errors import RclsimError
from ..recordings import recording_dirs_from_env
from .base import Backend

__all__ = ["Backend", "get_backend", "BACKENDS"]


def _time_scale(given: float | None) -> float:
    """The fakes' time scale: as given (checked), else ``RCLSIM_TIME_SCALE``, else 0 (instant)."""
    return time_scale_from_env() if given is None else check_time_scale(given, "time_scale")


#: Backend names and what they are, for --help and error messages.
BACKENDS = {
    "replay": "answers from recorded responses, offline (default)",
    "sim": "answers for every image of a Ground Truth manifest with a seeded simulation, offline",
    "aws": "real Amazon Rekognition through boto3 (may incur charges)",
}


def get_backend(
    name: str | None = None,
    *,
    recordings: Iterable[str | os.PathLike[str]] | None = None,
    include_builtin: bool = True,
    strict: bool | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
    time_scale: float | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    prices: Any = None,
    record_mode: str | None = None,
    mask_account: bool = True,
    manifest: str | os.PathLike[str] | None = None,
    noise: Any = None,
) -> Backend:
    """The backend called ``name`` (default: ``RCLSIM_BACKEND``, else ``"replay"``).

    replay: ``recordings`` folders (default ``RCLSIM_RECORDINGS``) searched before the built-in
    article fixtures (``include_builtin=False`` leaves those out); ``strict`` turns inexact answers
    into errors; ``time_scale`` (default ``RCLSIM_TIME_SCALE``, else 0: instant) multiplies the
    service's durations; ``state_dir`` keeps model state in a file shared by processes (default: fresh
    state in memory); ``clock`` and ``prices`` replace the real clock and the built-in price table.
    aws: ``region``, ``profile``, ``endpoint_url`` (defaults from ``RCLSIM_REGION``,
    ``RCLSIM_PROFILE``, ``RCLSIM_ENDPOINT_URL``, then boto3's own chain), or a ready boto3 ``client``;
    ``record_mode`` (``none``/``once``/``new``/``all``, default ``RCLSIM_RECORD_MODE``, else no
    recording) saves live DetectCustomLabels responses into the first ``recordings`` folder, with
    the account id masked unless ``mask_account=False`` (see :mod:`rclsim.record`).
    sim: ``manifest`` (default ``RCLSIM_MANIFEST``) and ``noise`` (a :class:`rclsim.simulation.NoiseModel`;
    default from the file ``RCLSIM_SIM_PARAMS``, else the defaults), with the fake options above.
    """
    name = name or env_backend()
    if strict is None:
        strict = env_flag("RCLSIM_STRICT")
    if name == "replay":
        from .fake import ReplayBackend

        dirs = list(recordings) if recordings is not None else recording_dirs_from_env()
        return ReplayBackend(
            dirs,
            include_builtin=include_builtin,
            strict=strict,
            time_scale=_time_scale(time_scale),
            state_dir=state_dir,
            clock=clock,
            prices=prices,
        )
    if name == "aws":
        from .aws import AwsBackend

        live = AwsBackend(
            # boto3 reads AWS_DEFAULT_REGION; AWS_REGION (what Lambda and the AWS SDKs set) too here
            region=region or env_value("RCLSIM_REGION") or env_value("AWS_REGION"),
            profile=profile or env_value("RCLSIM_PROFILE"),
            endpoint_url=endpoint_url or env_value("RCLSIM_ENDPOINT_URL"),
            strict=strict,
            client=client,
        )
        record_mode = record_mode or env_value("RCLSIM_RECORD_MODE")
        if record_mode is None:
            return live
        from ..record import RecordingBackend

        dirs = list(recordings) if recordings is not None else recording_dirs_from_env()
        if not dirs:
            raise RclsimError(f"record mode {record_mode!r} needs a recordings folder (--recordings DIR)")
        return RecordingBackend(live, dirs[0], record_mode, mask=mask_account, strict=strict)
    if name == "sim":
        from ..simulation import NoiseModel
        from .sim import SimBackend

        manifest = manifest or env_value("RCLSIM_MANIFEST")
        if not manifest:
            raise RclsimError("the sim backend needs a manifest (--manifest M or RCLSIM_MANIFEST)")
        if noise is None and env_value("RCLSIM_SIM_PARAMS"):
            noise = NoiseModel.load(env_value("RCLSIM_SIM_PARAMS"))  # type: ignore[arg-type]
        return SimBackend(
            manifest,
            noise=noise,
            strict=strict,
            time_scale=_time_scale(time_scale),
            state_dir=state_dir,
            clock=clock,
            prices=prices,
        )
    known = ", ".join(f"{k} ({v})" for k, v in BACKENDS.items())
    raise RclsimError(f"unknown backend {name!r}; choose one of: {known}")
