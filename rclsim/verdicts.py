"""Validation verdicts cached by content: a file validated once is not validated again.

Checking a recording or ``models.json`` against its schema costs milliseconds (and importing
jsonschema more), which every ``rclsim detect`` process would otherwise pay. A valid file's verdict
is an empty marker named by the SHA-256 of its bytes (and the schema generation) under the user's
cache folder: ``RCLSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/rclsim`` or ``~/.cache/rclsim``, never the
installed package. A changed file has another hash, so it is validated again.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "known_valid", "remember_valid"]

# Bumped whenever a schema changes, so verdicts cached under an older schema are not trusted.
_VERDICT_VERSION = "1"


def cache_dir() -> Path:
    env = os.environ.get("RCLSIM_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "rclsim"


def _verdict_path(digest: str) -> Path:
    return cache_dir() / "validated" / f"v{_VERDICT_VERSION}-{digest}"


def known_valid(digest: str) -> bool:
    try:
        return _verdict_path(digest).exists()
    except OSError:
        return False


def remember_valid(digest: str) -> None:
    path = _verdict_path(digest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError:
        pass  # a read-only home only costs a re-validation next time
