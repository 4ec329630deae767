"""Settings: every option of every front-end resolved in one place, explicit value first, then its
``RCLSIM_*`` environment variable, then the default.

The CLI (``rclsim --seed 7``), :func:`rclsim.get_backend` (``seed=7``), :func:`rclsim.mock` (which
calls ``get_backend``) and the pytest plugin (``--rcl-*``) all resolve through :func:`resolve`, so a
variable means the same wherever it is read. A bad value is one :class:`~rclsim.service.errors.RclsimError`
that names the variable or option it came from, in the spelling of the front-end that was used.

=======================  ===================================================  ==========================
variable                 meaning                                              default
=======================  ===================================================  ==========================
RCLSIM_BACKEND           ``replay``, ``sim`` or ``aws``                       replay
RCLSIM_RECORDINGS        recordings folders, separated by ``os.pathsep``,     (none)
                         searched before the built-in ones
RCLSIM_STRICT            ``1``/``true``: inexact replays are errors (aws:     off
                         a live response that breaks the schema)
RCLSIM_MATCH             replay: how a request finds its recording:           sha256
                         ``sha256`` (its bytes or S3 object), ``pixels``
                         (also: a recorded image of the same size within 6
                         bits of perceptual hash, for images re-encoded
                         before they are sent), ``default`` (also: the
                         model's ``default.json``) or ``pixels,default``
                         (see :mod:`rclsim.fake.recordings.store`)
RCLSIM_TIME_SCALE        fakes: multiply the service's durations by this      0 (instant)
                         (0 to 1000; 1 is real time)
RCLSIM_STATE_DIR         fakes: folder of the model state file, shared by     CLI: ``.rclsim``;
                         processes                                            Python, pytest: in memory
RCLSIM_S3_DIR            fakes: a folder that stands for S3 (manifests,       (none)
                         images, training output): s3://B/K is the file B/K
                         in it (see :mod:`rclsim.fake.objects`)
RCLSIM_S3_ENDPOINT_URL   fakes: an S3 endpoint (a moto server,                (none)
                         ``http://127.0.0.1:5000``) to read and write S3
                         objects through; wins over RCLSIM_S3_DIR. (A moto
                         mock, ``mock_aws``, wins over both)
RCLSIM_FAULTS            fakes: fault rules file (JSON: errors and latency    (none)
                         by operation, model, rate or call number; see
                         :mod:`rclsim.fake.faults`, docs/faults.md)
RCLSIM_CAPACITY          fakes: ``1``/``true``: a RUNNING model serves 5         off (a model's models.json
                         DetectCustomLabels calls per second per inference    ``TransactionsPerSecond
                         unit; more is ProvisionedThroughputExceeded, and     PerInferenceUnit`` turns
                         it scales between Min and Max units (docs/capacity)  it on for that model)
RCLSIM_SEED              sim: seed of the simulation (a whole number)         the parameters file's, 0
RCLSIM_MANIFEST          sim (and ``rclsim evaluate``, ``manifest``): the     (none)
                         Ground Truth manifest
RCLSIM_SIM_PARAMS        sim: noise parameters file (``rclsim sim fit``)      built-in parameters
RCLSIM_PRICES            price table file instead of ``rclsim/pricing.json``  built-in table
RCLSIM_REGION            aws: AWS region (also the pytest plugin's client's)  ``AWS_REGION``, boto3's
RCLSIM_PROFILE           aws: AWS profile                                     boto3's
RCLSIM_ENDPOINT_URL      aws: endpoint to call instead of AWS's               boto3's (``AWS_ENDPOINT_URL``)
RCLSIM_RECORD_MODE       aws: ``none``, ``once``, ``new`` or ``all`` (see     no recording
                         :mod:`rclsim.backends.record`); ignored by other backends
RCLSIM_OUTPUT            CLI: ``json``, ``text`` or ``table``                 json
RCLSIM_DEBUG             CLI: ``1``: tracebacks instead of one-line errors    off
RCLSIM_CACHE_DIR         where validation verdicts and file indexes are       ``$XDG_CACHE_HOME/rclsim``
                         cached                                               or ``~/.cache/rclsim``
=======================  ===================================================  ==========================

Yes/no variables take ``1``/``true``/``yes``/``on`` and ``0``/``false``/``no``/``off``; an empty variable
is the same as an unset one.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from rclsim.service.errors import RclsimError

__all__ = ["Settings", "resolve", "setting", "example", "env_value", "FRONT_ENDS", "MATCHES"]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}

#: Who resolves: ``api`` (get_backend, mock), ``cli`` (the rclsim command), ``pytest`` (the plugin).
FRONT_ENDS = ("api", "cli", "pytest")

#: Backend names and what they are, for --help and error messages (rclsim.backends.BACKENDS).
BACKENDS = {
    "replay": "answers from recorded responses, offline (default)",
    "sim": "answers for every image of a Ground Truth manifest with a seeded simulation, offline",
    "aws": "real Amazon Rekognition through boto3 (may incur charges)",
}
BACKEND_NAMES = tuple(BACKENDS)
RECORD_MODES = ("none", "once", "new", "all")
#: How the replay backend finds a request's recording (:func:`rclsim.fake.recordings.parse_match`
#: reads them; its normal forms are these): the exact bytes or S3 object only, then the opt-in
#: fallbacks for images re-encoded before they are sent (tried in this order).
MATCHES = {
    "sha256": "the image's bytes or S3 object only, the default",
    "pixels": "also a recorded image of the same size within 6 bits of perceptual hash",
    "default": "also the model's default.json",
    "pixels,default": "pixels, then default",
}
OUTPUTS = ("json", "text", "table")
#: Slower than real time is allowed (a test of a user's patience), but not without bound. (The same
#: bound as rclsim.fake.clock's; config imports only rclsim.service.errors, so that any module may read
# settings.)
MAX_TIME_SCALE = 1000.0


def env_value(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """A variable's value, stripped; None when unset or empty."""
    value = (os.environ if environ is None else environ).get(name, "").strip()
    return value or None


# -- converters: (value from an option or a variable, where it came from) -> the setting -----------
def _bad(label: str, value: Any, what: str) -> RclsimError:
    return RclsimError(f"{label}={value!r} {what}")


def _flag(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _bad(label, value, "is not a yes/no value (use 1 or 0)")


def _choice(choices: tuple[str, ...]) -> Callable[[Any, str], str]:
    def convert(value: Any, label: str) -> str:
        text = value.strip() if isinstance(value, str) else value
        if text not in choices:
            raise _bad(label, value, f"is not one of: {', '.join(choices)}")
        return str(text)

    return convert


def _match(value: Any, label: str) -> str:
    """One of :data:`MATCHES`, in any case and with spaces around the comma; ``default,pixels`` is
    ``pixels,default`` (the fallbacks are always tried pixels first)."""
    names = [part.strip().lower() for part in value.split(",")] if isinstance(value, str) else None
    if names is not None and len(names) > 1:
        names = [name for name in names if name != "sha256"]  # sha256 is always tried first
    key = None if names is None else ",".join(n for n in ("sha256", "pixels", "default") if n in names)
    if names is None or key not in MATCHES:
        known = ", ".join(f"{k} ({v})" for k, v in MATCHES.items())
        raise _bad(label, value, f"is not a way to match recordings; choose one of: {known}")
    return key


def _backend(value: Any, label: str) -> str:
    text = value.strip() if isinstance(value, str) else value
    if text not in BACKEND_NAMES:
        known = ", ".join(f"{k} ({v})" for k, v in BACKENDS.items())
        raise _bad(label, value, f"is not a backend; choose one of: {known}")
    return str(text)


def _text(value: Any, label: str) -> str | None:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise _bad(label, value, "is not text")
    return value.strip() or None


def _path(value: Any, label: str) -> Path | None:
    text = _text(value, label)
    return Path(text) if text else None


def _folder_list(value: str, label: str) -> tuple[Path, ...]:
    """Folders in one variable, separated by ``os.pathsep``."""
    return tuple(Path(p.strip()) for p in value.split(os.pathsep) if p.strip())


def _folders(value: Any, label: str) -> tuple[Path, ...]:
    if isinstance(value, (str, os.PathLike)):  # one folder
        value = [value]
    try:
        items = list(value)
    except TypeError:
        raise _bad(label, value, "is not a list of folders") from None
    folders = [_path(item, label) for item in items]
    return tuple(f for f in folders if f is not None)


def _url(value: Any, label: str) -> str | None:
    """An ``http://`` or ``https://`` URL with a host (an endpoint, as boto3's ``endpoint_url``)."""
    from urllib.parse import urlsplit

    text = _text(value, label)
    if text is None:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise _bad(label, value, "is not an http:// or https:// URL with a host (http://127.0.0.1:5000)")
    return text


def _whole(value: Any, label: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _bad(label, value, "is not a whole number")


def _time_scale(value: Any, label: str) -> float:
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            number = None
    if (
        isinstance(number, bool)
        or not isinstance(number, (int, float))
        or not (math.isfinite(number) and 0 <= number <= MAX_TIME_SCALE)
    ):
        raise _bad(
            label,
            value,
            f"is not a number from 0 to {MAX_TIME_SCALE:g} (0 = instant, 1 = real durations, "
            "0.01 a hundred times faster)",
        )
    return float(number)


def _default_cache_dir(environ: Mapping[str, str]) -> Path:
    xdg = env_value("XDG_CACHE_HOME", environ)
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rclsim"


@dataclasses.dataclass(frozen=True)
class _Spec:
    name: str
    env: str | None
    convert: Callable[[Any, str], Any]
    default: Any = None
    #: Front-end -> (option, metavar); a front-end without an entry takes the setting from the
    #: environment only (an explicit value from it is named by the setting's name).
    options: Mapping[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    #: Environment variables read after the RCLSIM_ one (not rclsim's own; documented in the table).
    fallback_env: tuple[str, ...] = ()
    #: How a variable's text becomes the setting, where that differs from ``convert``.
    from_env: Callable[[str, str], Any] | None = None


def _cli(option: str, metavar: str = "") -> dict[str, tuple[str, str]]:
    return {"cli": (option, metavar)}


_SPECS = {
    s.name: s
    for s in (
        _Spec(
            "backend",
            "RCLSIM_BACKEND",
            _backend,
            "replay",
            {"cli": ("--backend", "NAME"), "pytest": ("--rcl-backend", "NAME")},
        ),
        _Spec(
            "recordings",
            "RCLSIM_RECORDINGS",
            _folders,
            (),
            {"cli": ("--recordings", "DIR"), "pytest": ("--rcl-recordings", "DIR")},
            from_env=_folder_list,
        ),
        _Spec("strict", "RCLSIM_STRICT", _flag, False, _cli("--strict")),
        _Spec("match", "RCLSIM_MATCH", _match, "sha256", _cli("--match", "HOW")),
        _Spec("time_scale", "RCLSIM_TIME_SCALE", _time_scale, 0.0, _cli("--time-scale", "X")),
        _Spec("state_dir", "RCLSIM_STATE_DIR", _path, None, _cli("--state-dir", "DIR")),
        _Spec("s3_dir", "RCLSIM_S3_DIR", _path, None, _cli("--s3-dir", "DIR")),
        _Spec("s3_endpoint_url", "RCLSIM_S3_ENDPOINT_URL", _url, None, _cli("--s3-endpoint-url", "URL")),
        _Spec("faults", "RCLSIM_FAULTS", _path, None, _cli("--faults", "FILE")),
        _Spec("capacity", "RCLSIM_CAPACITY", _flag, False, _cli("--capacity")),
        _Spec("seed", "RCLSIM_SEED", _whole, None, _cli("--seed", "N")),
        _Spec(
            "manifest",
            "RCLSIM_MANIFEST",
            _path,
            None,
            {"cli": ("--manifest", "M"), "pytest": ("--rcl-manifest", "M")},
        ),
        _Spec("sim_params", "RCLSIM_SIM_PARAMS", _path, None, _cli("--sim-params", "FILE")),
        _Spec("prices", "RCLSIM_PRICES", _path, None, _cli("--prices", "FILE")),
        _Spec("region", "RCLSIM_REGION", _text, None, _cli("--region", "R"), ("AWS_REGION",)),
        _Spec("profile", "RCLSIM_PROFILE", _text, None, _cli("--profile", "P")),
        _Spec("endpoint_url", "RCLSIM_ENDPOINT_URL", _text, None, _cli("--endpoint-url", "URL")),
        _Spec(
            "record_mode",
            "RCLSIM_RECORD_MODE",
            _choice(RECORD_MODES),
            None,
            {"cli": ("--record-mode", "MODE"), "pytest": ("--rcl-record-mode", "MODE")},
        ),
        _Spec("mask_account", None, _flag, True, _cli("--no-mask-account")),
        _Spec("output", "RCLSIM_OUTPUT", _choice(OUTPUTS), "json", _cli("--output", "FORMAT")),
        _Spec("debug", "RCLSIM_DEBUG", _flag, False, _cli("--debug")),
        _Spec("cache_dir", "RCLSIM_CACHE_DIR", _path, None),
    )
}

#: Defaults that differ by front-end: the CLI keeps model state between commands.
_FRONT_END_DEFAULTS: dict[str, dict[str, Any]] = {"cli": {"state_dir": Path(".rclsim")}}


def _check_front_end(front_end: str) -> None:
    if front_end not in FRONT_ENDS:
        raise ValueError(f"front_end must be one of {FRONT_ENDS}, got {front_end!r}")


def option_label(name: str, front_end: str = "api") -> str:
    """How ``front_end`` spells the option of setting ``name``: ``--manifest`` (CLI), ``--rcl-manifest``
    (pytest), ``manifest`` (Python)."""
    spec = _SPECS[name]
    if front_end in spec.options:
        return spec.options[front_end][0]
    return name


def hint(name: str, front_end: str = "api") -> str:
    """Where a user gives setting ``name``: ``--rcl-manifest M or RCLSIM_MANIFEST`` and the like."""
    spec = _SPECS[name]
    if front_end in spec.options:
        option, metavar = spec.options[front_end]
        given = f"{option} {metavar}".strip()
    else:
        given = f"{name}=..."
    return f"{given} or {spec.env}" if spec.env else given


def example(name: str, value: str, front_end: str = "api") -> str:
    """How a user of ``front_end`` sets setting ``name`` (one that takes a value) to ``value``, for
    messages that suggest it: ``--match pixels or RCLSIM_MATCH=pixels`` (CLI), ``match='pixels' or
    RCLSIM_MATCH=pixels`` (Python), ``RCLSIM_MATCH=pixels`` (pytest, which has no option for it)."""
    _check_front_end(front_end)
    spec = _SPECS[name]
    if front_end in spec.options:
        given: str | None = f"{spec.options[front_end][0]} {value}"
    else:
        given = f"{name}={value!r}" if front_end == "api" else None
    variable = f"{spec.env}={value}" if spec.env else None
    return " or ".join(part for part in (given, variable) if part)


def setting(
    name: str, value: Any = None, *, front_end: str = "api", environ: Mapping[str, str] | None = None
) -> Any:
    """One setting: ``value`` if given (checked), else its variable, else its default."""
    return _resolve_one(_SPECS[name], value, front_end, os.environ if environ is None else environ)[0]


def _resolve_one(spec: _Spec, value: Any, front_end: str, environ: Mapping[str, str]) -> tuple[Any, str]:
    """The setting and where it came from: the option's label, the variable's name or ``default``."""
    if value is not None:
        label = option_label(spec.name, front_end)
        return spec.convert(value, label), label
    for variable in ((spec.env,) if spec.env else ()) + spec.fallback_env:
        raw = environ.get(variable, "")
        if raw.strip():
            return (spec.from_env or spec.convert)(raw, variable), variable
    if spec.name == "cache_dir":
        return _default_cache_dir(environ), "default"
    return _FRONT_END_DEFAULTS.get(front_end, {}).get(spec.name, spec.default), "default"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting, resolved (see the table in :mod:`rclsim.config`). ``origin`` says where each
    came from (an option's label, a variable's name, or ``default``); ``front_end`` is who resolved,
    so that later messages name that front-end's options (:meth:`hint`)."""

    backend: str = "replay"
    recordings: tuple[Path, ...] = ()
    strict: bool = False
    match: str = "sha256"
    time_scale: float = 0.0
    state_dir: Path | None = None
    s3_dir: Path | None = None
    s3_endpoint_url: str | None = None
    faults: Path | None = None
    capacity: bool = False
    seed: int | None = None
    manifest: Path | None = None
    sim_params: Path | None = None
    prices: Path | None = None
    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    record_mode: str | None = None
    mask_account: bool = True
    output: str = "json"
    debug: bool = False
    cache_dir: Path | None = None
    front_end: str = "api"
    origin: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def hint(self, name: str) -> str:
        return hint(name, self.front_end)

    def option(self, name: str) -> str:
        return option_label(name, self.front_end)

    def example(self, name: str, value: str) -> str:
        """How this front-end's user sets ``name`` to ``value`` (see :func:`example`)."""
        return example(name, value, self.front_end)

    def explicit(self, name: str) -> bool:
        """Whether setting ``name`` was given as an option (not a variable or the default)."""
        origin = self.origin.get(name, "default")
        return origin != "default" and not origin.startswith(("RCLSIM_", "AWS_"))


def resolve(front_end: str = "api", *, environ: Mapping[str, str] | None = None, **options: Any) -> Settings:
    """Every setting: the ``options`` given (None: not given), then ``RCLSIM_*``, then defaults.

    Raises one :class:`RclsimError` naming the option or variable whose value is bad. A
    ``record_mode`` given as an option needs the aws backend; ``RCLSIM_RECORD_MODE`` is ignored by
    the other backends (so one environment can serve a suite that runs both)."""
    _check_front_end(front_end)
    unknown = set(options) - set(_SPECS)
    if unknown:
        raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for name, spec in _SPECS.items():
        values[name], origin[name] = _resolve_one(spec, options.get(name), front_end, env)
    settings = Settings(**values, front_end=front_end, origin=origin)
    if settings.record_mode is not None and settings.backend != "aws":
        if settings.explicit("record_mode"):
            raise RclsimError(
                f"{settings.option('record_mode')} records live responses: it needs "
                f"{settings.option('backend')} aws"
            )
        settings = dataclasses.replace(settings, record_mode=None)  # RCLSIM_RECORD_MODE: aws only
    if settings.faults is not None and settings.backend == "aws":
        if settings.explicit("faults"):
            raise RclsimError(
                f"{settings.option('faults')} makes the fake fail on purpose: it needs "
                f"{settings.option('backend')} replay or sim (AWS fails on its own)"
            )
        settings = dataclasses.replace(settings, faults=None)  # RCLSIM_FAULTS: the fakes only
    if settings.match != "sha256" and settings.backend != "replay":
        if settings.explicit("match"):
            raise RclsimError(
                f"{settings.option('match')} {settings.match} picks how recordings are matched: it needs "
                f"{settings.option('backend')} replay (the {settings.backend} backend reads no recordings)"
            )
        settings = dataclasses.replace(settings, match="sha256")  # RCLSIM_MATCH: replay only
    return settings


def settings_fields() -> Iterable[str]:
    """The names of every setting (the fields of :class:`Settings` but ``front_end`` and ``origin``)."""
    return tuple(_SPECS)


def variables() -> dict[str, str]:
    """Every ``RCLSIM_*`` variable and the setting it sets."""
    return {spec.env: spec.name for spec in _SPECS.values() if spec.env}
