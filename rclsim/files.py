"""Writing the user's files safely: whole or not at all, and never over a file unless asked.

Everything rclsim writes for a user (annotated images, manifests, reports, noise parameters,
recordings) goes through :func:`write_atomically`: the bytes go to a temporary file in the same folder
(mode 0o666 so the umask applies, unlike ``mkstemp``'s 0o600), which is then renamed over the target
(``overwrite``) or hard-linked to it, which fails if a file appeared there meanwhile, so a racing
writer's file is never clobbered. Readers see the old file or the whole new one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import RclsimError

__all__ = ["write_atomically", "check_target"]


def check_target(path: str | os.PathLike[str], overwrite: bool) -> Path:
    """``path`` as a Path, or a one-line error when it cannot be written as asked."""
    target = Path(path)
    if target.is_dir():
        raise RclsimError(f"cannot write {target}: it is a directory")
    if target.exists() and not target.is_file():
        # A rename would replace a device or a pipe (/dev/null, say) with a plain file.
        raise RclsimError(f"cannot write {target}: it is not a regular file")
    if not target.parent.is_dir():
        raise RclsimError(f"cannot write {target}: directory {target.parent} does not exist")
    if target.exists() and not overwrite:
        raise RclsimError(f"output file exists: {target} (use --overwrite to replace it)")
    return target


def write_atomically(
    path: str | os.PathLike[str], data: bytes | Callable[[BinaryIO], None], *, overwrite: bool = False
) -> Path:
    """Write ``data`` (bytes, or a function that writes to the open file) to ``path`` atomically."""
    target = check_target(path, overwrite)
    tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as handle:
            if callable(data):
                data(handle)
            else:
                handle.write(data)
            # No fsync: the rename already gives readers all or nothing, and an output a crash loses
            # can be made again; fsync cost more than the drawing itself.
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails if a file appeared meanwhile: never clobber it
            except FileExistsError:
                raise RclsimError(f"output file exists: {target} (use --overwrite to replace it)") from None
    except OSError as exc:
        raise RclsimError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return target
