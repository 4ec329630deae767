"""Reading and writing the user's files safely.

**Reading JSON.** Every JSON file rclsim reads from a user (responses, recordings, ``--image file://``,
the folders of ``--recordings``/``--responses``, each manifest line) goes through :func:`parse_json`
(or :func:`read_json_file`), so every hostile file fails the same way: one :class:`RclsimError` line
naming the file and what is wrong, never a traceback. The rules:

* at most :data:`MAX_JSON_BYTES` bytes (64 MiB; the largest real response is a few hundred KiB);
* UTF-8 (a byte-order mark is accepted), strict JSON: ``NaN``/``Infinity`` literals are refused;
* nested at most :data:`MAX_JSON_DEPTH` levels (64; a response is 5 deep, a manifest line 5), checked
  without recursion, so neither the parser nor anything that walks the value later can run out of
  stack (a 100,000-deep ``[[[...]]]`` is refused, not a ``RecursionError``).

**Writing.**

Everything rclsim writes for a user (annotated images, manifests, reports, noise parameters,
recordings) goes through :func:`write_atomically`: the bytes go to a temporary file in the same folder
(mode 0o666 so the umask applies, unlike ``mkstemp``'s 0o600), which is then renamed over the target
(``overwrite``) or hard-linked to it, which fails if a file appeared there meanwhile, so a racing
writer's file is never clobbered. Readers see the old file or the whole new one.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from rclsim.service.errors import RclsimError

__all__ = [
    "write_atomically",
    "check_target",
    "parse_json",
    "read_json_file",
    "read_json_bytes",
    "MAX_JSON_BYTES",
    "MAX_JSON_DEPTH",
    "depth_exceeds",
]

#: The largest JSON file rclsim reads (bytes). No response, recording or models.json comes near it.
MAX_JSON_BYTES = 64 * 1024 * 1024
#: The deepest nesting of arrays and objects accepted (a response is 5 levels deep).
MAX_JSON_DEPTH = 64


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (use a number or null)")


def depth_exceeds(value: Any, limit: int) -> bool:
    """True when ``value`` nests arrays/objects more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_json(
    data: bytes | str, where: str, *, error: type[RclsimError] = RclsimError, max_depth: int | None = None
) -> Any:
    """``data`` parsed as strict JSON, or ``error`` in one line that starts with ``where``.

    Refuses what no rclsim file holds: non-UTF-8 bytes, ``NaN``/``Infinity``, nesting deeper than
    ``max_depth`` (default :data:`MAX_JSON_DEPTH`), more than :data:`MAX_JSON_BYTES`."""
    if len(data) > MAX_JSON_BYTES:
        raise error(
            f"{where}: {len(data)} bytes is too large for a JSON file rclsim reads (over {MAX_JSON_BYTES})"
        )
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise error(f"{where}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8 JSON") from None
    else:
        text = data[1:] if data.startswith("\ufeff") else data
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise error(f"{where}: JSON nested too deeply (over {max_depth or MAX_JSON_DEPTH} levels)") from None
    except ValueError as exc:
        raise error(f"{where}: malformed JSON: {exc}") from None
    limit = MAX_JSON_DEPTH if max_depth is None else max_depth
    if isinstance(value, (dict, list)) and depth_exceeds(value, limit):
        raise error(f"{where}: JSON nested too deeply (over {limit} levels)")
    return value


def read_json_bytes(
    path: str | os.PathLike[str], *, error: type[RclsimError] = RclsimError, where: str | None = None
) -> tuple[Any, bytes]:
    """The parsed JSON file at ``path`` and its bytes (for a content hash); see :func:`parse_json`.
    Every failure is ``error`` in one line naming the file (``where``, default the path)."""
    label = where if where is not None else str(Path(path))
    raw = read_file_bytes(
        path, what="JSON file", cap=MAX_JSON_BYTES, error=error, where=label, missing="file"
    )
    return parse_json(raw, label, error=error), raw


def read_file_bytes(
    path: str | os.PathLike[str],
    *,
    what: str = "file",
    cap: int | None = None,
    error: type[RclsimError] = RclsimError,
    where: str | None = None,
    missing: str | None = None,
) -> bytes:
    """The bytes of the file at ``path`` (at most ``cap``), or ``error`` in one line naming it
    (``where``, default the path) and saying what is wrong: missing, a folder, not readable, too
    large. ``what`` names the kind of file in the messages (``missing`` in the missing one)."""
    label = where if where is not None else str(Path(path))
    try:
        with open(path, "rb") as handle:
            data = handle.read(-1 if cap is None else cap + 1)
    except FileNotFoundError:
        raise error(f"{label}: no such {missing or what}") from None
    except IsADirectoryError:
        raise error(f"{label}: is a directory, not a {what}") from None
    except PermissionError:
        raise error(f"{label}: permission denied") from None
    except OSError as exc:
        raise error(f"{label}: cannot read: {exc.strerror or exc}") from None
    if cap is not None and len(data) > cap:
        raise error(f"{label}: too large for a {what} rclsim reads (over {cap} bytes)")
    return data


def read_json_file(
    path: str | os.PathLike[str], *, error: type[RclsimError] = RclsimError, where: str | None = None
) -> Any:
    """The parsed JSON file at ``path`` (see :func:`read_json_bytes`)."""
    return read_json_bytes(path, error=error, where=where)[0]


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
