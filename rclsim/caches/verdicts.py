"""Validation verdicts cached by content: a file validated once is not validated again.

Checking a recording or ``models.json`` against its schema costs milliseconds (and importing
jsonschema more), which every ``rclsim detect`` process would otherwise pay. A valid file's verdict
is an empty marker named by the SHA-256 of its bytes and the fingerprint of the schemas in force
(:func:`rclsim.service.schemas.schema_fingerprint`, a hash of every committed schema) under the user's cache
folder: ``RCLSIM_CACHE_DIR``, else ``$XDG_CACHE_HOME/rclsim`` or ``~/.cache/rclsim``, never the
installed package. A changed file has another hash, and a changed schema another fingerprint, so
either is validated again; nobody has to remember to bump a version.

Staleness: a verdict is about content, so it needs no file stamp (the per-process caches of
:mod:`rclsim.caches.kept` and the recordings index, which are about files, use
:func:`rclsim.caches.kept.file_stamp`).
"""

from __future__ import annotations

from pathlib import Path

from rclsim.config import setting

__all__ = ["cache_dir", "known_valid", "remember_valid"]

# The layout of a verdict's name; the schemas themselves are in the name by their fingerprint.
_VERDICT_VERSION = "2"


def cache_dir() -> Path:
    """The user's cache folder: the ``cache_dir`` setting (:mod:`rclsim.config`), so a blank
    ``RCLSIM_CACHE_DIR`` is unset and spaces around it are not part of the folder, as everywhere."""
    return Path(setting("cache_dir"))


def _verdict_path(digest: str) -> Path:
    from rclsim.service.schemas import schema_fingerprint

    return cache_dir() / "validated" / f"v{_VERDICT_VERSION}-{schema_fingerprint()}-{digest}"


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
