"""Backends by name: ``get_backend("replay" | "aws", ...)``.

Options not given fall back to the ``RCLSIM_*`` environment variables (see :mod:`rclsim.config`), so a
test suite or CI job can switch backends without touching code.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from rclsim.backends.base import Backend
from rclsim.config import BACKENDS as _BACKENDS
from rclsim.config import Settings, resolve
from rclsim.fake.clock import Clock
from rclsim.service.errors import RclsimError

__all__ = ["Backend", "get_backend", "backend_from_settings", "BACKENDS"]


#: Backend names and what they are, for --help and error messages.
BACKENDS = _BACKENDS


def get_backend(
    name: str | None = None,
    *,
    recordings: Iterable[str | os.PathLike[str]] | None = None,
    include_builtin: bool = True,
    strict: bool | None = None,
    match: str | None = None,
    region: str | None = None,
    profile: str | None = None,
    endpoint_url: str | None = None,
    client: Any = None,
    time_scale: float | None = None,
    state_dir: str | os.PathLike[str] | None = None,
    clock: Clock | None = None,
    prices: Any = None,
    record_mode: str | None = None,
    mask_account: bool | None = None,
    manifest: str | os.PathLike[str] | None = None,
    noise: Any = None,
    seed: int | None = None,
    sim_params: str | os.PathLike[str] | None = None,
    s3_dir: str | os.PathLike[str] | None = None,
    s3_endpoint_url: str | None = None,
    faults: Any = None,
    capacity: bool | None = None,
) -> Backend:
    """The backend called ``name`` (default: ``RCLSIM_BACKEND``, else ``"replay"``).

    Every option left out (None) comes from its ``RCLSIM_*`` variable, else its default (the table in
    :mod:`rclsim.config`); a bad value is an :class:`~rclsim.service.errors.RclsimError` naming the option or
    variable. replay: ``recordings`` folders (``RCLSIM_RECORDINGS``) searched before the built-in
    article fixtures (``include_builtin=False`` leaves those out); ``strict`` (``RCLSIM_STRICT``) turns
    inexact answers into errors; ``match`` (``RCLSIM_MATCH``, else ``"sha256"``: the image's bytes or S3
    object) switches on the fallbacks for images re-encoded before they are sent: ``"pixels"`` (a
    recorded image of the same size within 6 bits of perceptual hash, :mod:`rclsim.data.phash`),
    ``"default"`` (the model's ``default.json``) or ``"pixels,default"`` (an explicit ``match`` needs
    the replay backend); ``time_scale`` (``RCLSIM_TIME_SCALE``, else 0: instant) multiplies the
    service's durations; ``state_dir`` (``RCLSIM_STATE_DIR``) keeps model state in a file shared
    by processes, else fresh state in memory; ``clock`` and ``prices`` replace the real clock and the
    price table (``RCLSIM_PRICES``, else the built-in one).
    aws: ``region``, ``profile``, ``endpoint_url`` (``RCLSIM_REGION`` or ``AWS_REGION``,
    ``RCLSIM_PROFILE``, ``RCLSIM_ENDPOINT_URL``, then boto3's own chain), or a ready boto3 ``client``;
    ``record_mode`` (``none``/``once``/``new``/``all``, ``RCLSIM_RECORD_MODE``, else no recording)
    saves live DetectCustomLabels responses into the first ``recordings`` folder, with the account id
    masked unless ``mask_account=False`` (see :mod:`rclsim.backends.record`).
    sim: ``manifest`` (``RCLSIM_MANIFEST``); ``noise`` (a :class:`rclsim.fake.simulation.NoiseModel`),
    else the parameters file ``sim_params`` (``RCLSIM_SIM_PARAMS``), else the defaults; ``seed``
    (``RCLSIM_SEED``) replaces the file's or the defaults' seed (a given ``noise`` keeps its own
    unless ``seed`` is given too); with the fake options above.
    S3 (the fakes: datasets' manifests and images, training output, images named by ``S3Object``):
    moto's in-process S3 while a moto mock is on, else the endpoint ``s3_endpoint_url``
    (``RCLSIM_S3_ENDPOINT_URL``; a moto server, say), else the folder ``s3_dir`` (``RCLSIM_S3_DIR``;
    ``s3://B/K`` is its file ``B/K``), else none (see :mod:`rclsim.fake.objects`).
    Faults (the fakes): ``faults`` (``RCLSIM_FAULTS``) a fault rules file, or the rules themselves (a
    :class:`rclsim.fake.faults.FaultRules`, or their JSON as a list or dict), applied to every call
    (see :mod:`rclsim.fake.faults`, docs/faults.md).
    """
    rules = None
    if faults is not None and not isinstance(faults, (str, os.PathLike)):
        rules, faults = _rules_object(faults), None
    settings = resolve(
        "api",
        backend=name or None,
        recordings=recordings,
        strict=strict,
        match=match,
        region=region,
        profile=profile,
        endpoint_url=endpoint_url,
        time_scale=time_scale,
        state_dir=state_dir,
        record_mode=record_mode,
        mask_account=mask_account,
        manifest=manifest,
        seed=seed,
        sim_params=sim_params,
        s3_dir=s3_dir,
        s3_endpoint_url=s3_endpoint_url,
        faults=faults,
        capacity=capacity,
    )
    if rules is not None and settings.backend == "aws":
        raise RclsimError("faults makes the fake fail on purpose: it needs the replay or sim backend")
    return backend_from_settings(
        settings,
        include_builtin=include_builtin,
        client=client,
        clock=clock,
        prices=prices,
        noise=noise,
        faults=rules,
    )


def _rules_object(faults: Any) -> Any:
    """``faults`` given as an object: FaultRules as they are, their JSON (a list or dict) checked."""
    from rclsim.fake.faults import FaultRules

    if isinstance(faults, FaultRules):
        return faults
    if isinstance(faults, (list, dict)):
        return FaultRules.from_data(faults, origin="faults")
    raise RclsimError(
        f"faults={faults!r} is not a fault rules file, FaultRules, or a list of rules (docs/faults.md)"
    )


def noise_from_settings(settings: Settings, noise: Any = None) -> Any:
    """The sim backend's :class:`~rclsim.fake.simulation.NoiseModel`: ``noise`` if given, else the
    ``sim_params`` file's, else the defaults; with the ``seed`` setting's seed where there is one (a
    given ``noise`` keeps its own seed unless ``seed`` was given as an option too)."""
    import dataclasses

    from rclsim.fake.simulation import NoiseModel

    if noise is None:
        noise = NoiseModel.load(settings.sim_params) if settings.sim_params else NoiseModel()
        use_seed = settings.seed is not None
    else:
        use_seed = settings.explicit("seed")
    return dataclasses.replace(noise, seed=settings.seed) if use_seed else noise


def backend_from_settings(
    settings: Settings,
    *,
    include_builtin: bool = True,
    client: Any = None,
    clock: Clock | None = None,
    prices: Any = None,
    noise: Any = None,
    faults: Any = None,
) -> Backend:
    """The backend that resolved ``settings`` (see :func:`rclsim.config.resolve`) describe; what
    cannot come from an environment variable (a boto3 ``client``, a ``clock``, a price table or noise
    model object, :class:`~rclsim.fake.faults.FaultRules`) is passed here. Messages name the options of
    the front-end that resolved them. Fault rules (``faults``, else the ``faults`` setting's file) are
    put around the fake's core; they are read before the backend is made, so a bad file loses nothing."""
    if faults is None and settings.faults is not None:
        from rclsim.fake.faults import FaultRules

        faults = FaultRules.load(settings.faults)
    backend = _backend_from_settings(
        settings, include_builtin=include_builtin, client=client, clock=clock, prices=prices, noise=noise
    )
    if faults is not None:
        from rclsim.backends.fake import FakeBackend

        if not isinstance(backend, FakeBackend):  # resolve() refuses it; a record-mode backend here
            backend.close()
            raise RclsimError(f"{settings.option('faults')} needs a fake backend (replay or sim)")
        backend.add_faults(faults)
    core = getattr(backend, "core", None)
    if settings.capacity and core is not None:  # the fakes; the aws backend has the service's own
        core.capacity = True
    return backend


def _backend_from_settings(
    settings: Settings,
    *,
    include_builtin: bool,
    client: Any,
    clock: Clock | None,
    prices: Any,
    noise: Any,
) -> Backend:
    if prices is None and settings.prices is not None:
        from rclsim.fake.cost import PriceTable

        prices = PriceTable.load(settings.prices, given_by=settings.origin.get("prices"))
    if settings.backend == "replay":
        import functools

        from rclsim.backends.fake import ReplayBackend
        from rclsim.fake.objects import objects_from_settings

        return ReplayBackend(
            list(settings.recordings),
            include_builtin=include_builtin,
            strict=settings.strict,
            time_scale=settings.time_scale,
            state_dir=settings.state_dir,
            clock=clock,
            prices=prices,
            region=settings.region,
            objects=objects_from_settings(settings),
            match=settings.match,
            match_hint=functools.partial(settings.example, "match"),
        )
    if settings.backend == "aws":
        from rclsim.backends.aws import AwsBackend

        live = AwsBackend(
            region=settings.region,
            profile=settings.profile,
            endpoint_url=settings.endpoint_url,
            strict=settings.strict,
            client=client,
        )
        if settings.record_mode is None:
            return live
        from rclsim.backends.record import RecordingBackend

        if not settings.recordings:
            live.close()
            where = settings.hint("recordings")
            raise RclsimError(f"record mode {settings.record_mode!r} needs a recordings folder ({where})")
        return RecordingBackend(
            live,
            settings.recordings[0],
            settings.record_mode,
            mask=settings.mask_account,
            strict=settings.strict,
        )
    if settings.backend == "sim":
        from rclsim.backends.sim import SimBackend
        from rclsim.fake.objects import objects_from_settings

        if settings.manifest is None:
            raise RclsimError(f"the sim backend needs a manifest ({settings.hint('manifest')})")
        objects = objects_from_settings(settings)  # a bad setting is refused before the state opens
        return SimBackend(
            settings.manifest,
            noise=noise_from_settings(settings, noise),
            strict=settings.strict,
            time_scale=settings.time_scale,
            state_dir=settings.state_dir,
            clock=clock,
            prices=prices,
            region=settings.region,
            objects=objects,
        )
    raise AssertionError(f"resolve() let an unknown backend through: {settings.backend!r}")
