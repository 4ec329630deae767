"""Reading a manifest: streaming, and never fixing anything.

Reading is **streaming** (one line at a time; manifests may hold 250,000 lines) and **never fixes
anything**: a line that fails JSON parsing, the committed schema
(``rclsim/service/schemadata/manifest-line.schema.json``) or the consistency rules of
:mod:`rclsim.data.manifest.validation` becomes a :class:`ManifestProblem` naming its line, and the good
lines still load.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from rclsim.data.manifest.entries import ManifestEntry, ManifestProblem
from rclsim.data.manifest.validation import _LineError, _parse
from rclsim.service.errors import RclsimError

__all__ = ["MAX_LINE_BYTES", "iter_manifest", "read_manifest", "manifest_problems"]

#: The longest line read (a line with a thousand boxes is about 100 KiB); longer ones are bad lines.
MAX_LINE_BYTES = 16 * 1024 * 1024


def iter_manifest(
    path: str | os.PathLike[str], problems: list[ManifestProblem] | None = None
) -> Iterator[ManifestEntry]:
    """Yield the good lines of the manifest at ``path``, one at a time, in file order.

    Each bad line is appended to ``problems`` (when given) and skipped; blank lines are skipped
    silently, as they hold nothing. The file is read line by line, so memory stays small whatever
    its size. Raises :class:`RclsimError` (on the first ``next``, as this is a generator) only when the
    file cannot be opened or read.
    """
    p = Path(path)
    try:
        handle = open(p, "rb")  # bytes: only b"\n" ends a line (U+2028 inside a string does not)
    except OSError as exc:
        raise RclsimError(f"cannot read manifest {p}: {exc.strerror or exc}") from None
    with handle:
        try:
            for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE_BYTES + 1), b""), start=1):
                if len(raw) > MAX_LINE_BYTES:
                    # Too long to be a manifest line: report it, then skip the rest of it unread.
                    while raw and not raw.endswith(b"\n"):
                        raw = handle.readline(MAX_LINE_BYTES)
                    if problems is not None:
                        problems.append(
                            ManifestProblem(
                                number, f"line longer than {MAX_LINE_BYTES} bytes: not a manifest line"
                            )
                        )
                    continue
                if not raw.strip():
                    continue
                try:
                    entry = _parse(raw, number)
                except _LineError as exc:
                    if problems is not None:
                        problems.append(ManifestProblem(number, str(exc)))
                    continue
                yield entry
        except OSError as exc:
            raise RclsimError(f"cannot read manifest {p}: {exc.strerror or exc}") from None


def read_manifest(path: str | os.PathLike[str]) -> tuple[list[ManifestEntry], list[ManifestProblem]]:
    """All good entries and all problems of the manifest at ``path``."""
    problems: list[ManifestProblem] = []
    entries = list(iter_manifest(path, problems))
    return entries, problems


def manifest_problems(path: str | os.PathLike[str]) -> list[ManifestProblem]:
    """Every bad line of the manifest at ``path`` (empty when all lines are good); streams the file."""
    problems: list[ManifestProblem] = []
    for _ in iter_manifest(path, problems):
        pass
    return problems
