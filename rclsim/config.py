"""Settings from the environment: every CLI option has an ``RCLSIM_*`` variable, read here only.

=====================  ===============================================  =========
variable               meaning                                          default
=====================  ===============================================  =========
RCLSIM_BACKEND         ``replay`` or ``aws``                            replay
RCLSIM_RECORDINGS      recordings folders, separated by ``os.pathsep``  (none)
RCLSIM_STRICT          ``1``/``true``: inexact replays are errors       off
RCLSIM_REGION          AWS region for the aws backend                   boto3's
RCLSIM_PROFILE         AWS profile for the aws backend                  boto3's
RCLSIM_ENDPOINT_URL    endpoint for the aws backend                     boto3's
RCLSIM_OUTPUT          ``json``, ``text`` or ``table``                  json
RCLSIM_DEBUG           ``1``: tracebacks instead of one-line errors     off
RCLSIM_CACHE_DIR       where validation verdicts are cached             ~/.cache/rclsim
=====================  ===============================================  =========
"""

from __future__ import annotations

import os

from .errors import RclsimError

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def env_value(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def env_flag(name: str) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RclsimError(f"{name}={os.environ[name]!r} is not a yes/no value (use 1 or 0)")


def env_backend() -> str:
    return env_value("RCLSIM_BACKEND") or "replay"
