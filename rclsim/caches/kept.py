"""Parsed files kept for the life of the process, while the file on disk is unchanged.

A test suite makes a fresh backend per test, and each would read and parse the same ``models.json``
and recordings again (~0.3 ms per test for the built-in article alone). What is kept here is keyed by
the file's path and its stamp (modification and change times in ns, size, inode): any write, rename or
``utime`` changes the change time, so a changed file is read again. Kept values are shared by every
reader, so no reader may hand them out: recorded labels are copied for each Recording, a
``models.json`` is kept as checked bytes and parsed afresh for each backend.

:func:`file_stamp` is rclsim's one rule for "is this file unchanged": what is kept here, the recordings
index on disk and the folders a process has scanned (:mod:`rclsim.fake.recordings`, which also compares the
image beside each plain response) all use it. Validation verdicts (:mod:`rclsim.caches.verdicts`) need no
stamp: they are named by the content's hash and the schemas' fingerprint, so they cannot go stale.
:func:`forget_all` also forgets the loaded schemas (and everything else registered with
:func:`on_forget`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["kept", "forget_all", "on_forget", "file_stamp"]

T = TypeVar("T")

#: At most this many files are kept; past it, everything is dropped and kept again as read.
_LIMIT = 2048
_kept: dict[tuple[str, str], tuple[tuple[int, ...], Any]] = {}
_lock = threading.Lock()


def file_stamp(st: os.stat_result) -> list[int]:
    """What says a file is unchanged: any write, rename over it or ``utime`` changes its ctime.
    (A list, as the recordings index stores it in JSON.)"""
    return [st.st_mtime_ns, st.st_size, st.st_ino, st.st_ctime_ns]


def kept(kind: str, path: Path, load: Callable[[], T]) -> T:
    """``load()``'s result for ``path``, from the last call for the same file if it is unchanged.
    Errors are not kept: a file that fails to load is loaded (and fails) again next time."""
    try:
        st = os.stat(path)
    except OSError:
        return load()  # let the loader word the error
    stamp = tuple(file_stamp(st))
    key = (kind, os.path.abspath(path))
    entry = _kept.get(key)
    if entry is not None and entry[0] == stamp:
        return entry[1]  # type: ignore[no-any-return]
    value = load()
    with _lock:
        if len(_kept) >= _LIMIT:
            _kept.clear()
        _kept[key] = (stamp, value)
    return value


_forgetters: list[Callable[[], None]] = []


def on_forget(forget: Callable[[], None]) -> None:
    """Have :func:`forget_all` also call ``forget`` (for other per-process memories of files)."""
    _forgetters.append(forget)


def forget_all() -> None:
    """Drop everything kept, as if the process had just started (for tests that look at what a first
    read does, such as the validation verdicts it writes)."""
    with _lock:
        _kept.clear()
    for forget in _forgetters:
        forget()
