"""What ``rclsim run`` puts into every Python program it runs: the drop-in, started from the environment.

``rclsim run`` (:mod:`rclsim.frontends.cli.run`) prepends this folder to ``PYTHONPATH``, so every
Python process of the command (the command itself, or one a shell script starts) imports the
:mod:`sitecustomize` here at startup. It calls :func:`boot`, then imports the next ``sitecustomize`` on
``sys.path`` (the user's own, or the distribution's) as Python would have without rclsim.

:func:`boot` is cheap: it imports neither botocore nor the fake. It registers, once botocore's handlers
are loaded, a ``before-call`` handler for Rekognition that on the first Rekognition call of the process
enters :class:`rclsim.mock` (which reads the ``RCLSIM_*`` variables the parent exported, the state
dir among them, so every process of the run shares the CLI's model state) and then answers through
the drop-in's own hook (:func:`rclsim.frontends.hook.before_call`). So a Python process that never
calls Rekognition (pip, a helper script) pays nothing, and one that does pays for the fake once. The
mock is left at exit (``atexit``).

Only the folder's two files are on the child's path: ``sitecustomize`` and this ``__init__`` (a top-level
module name nobody imports), so no module of the user's is shadowed.

The parent passes what is not a setting in :data:`BOOT_VARIABLE` (JSON; present only under
``rclsim run``): ``mask_account`` for record mode, which has no variable of its own.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["FOLDER", "BOOT_VARIABLE", "boot"]

#: The folder ``rclsim run`` prepends to ``PYTHONPATH``.
FOLDER = Path(__file__).resolve().parent
#: Set by ``rclsim run`` for its child: JSON options of the child's mock (private to run and boot).
BOOT_VARIABLE = "_RCLSIM_RUN_BOOT"

_lock = threading.Lock()
_state: dict[str, Any] = {"booted": False, "mock": None, "error": None}


def boot() -> None:
    """Arrange for the drop-in to answer this process's Rekognition calls (idempotent; a no-op
    unless ``rclsim run`` set :data:`BOOT_VARIABLE`)."""
    if _state["booted"] or BOOT_VARIABLE not in os.environ:
        return
    _state["booted"] = True
    from rclsim.frontends.hook import when_imported

    # now if a .pth file loaded botocore before site ran this, else when it is first imported
    when_imported("botocore.handlers", _register)


def _options() -> dict[str, Any]:
    try:
        options = json.loads(os.environ.get(BOOT_VARIABLE) or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in options.items() if k in ("mask_account",)} if isinstance(options, dict) else {}


def _start() -> None:
    """Enter the mock once (under a lock: threads may make their first call together)."""
    with _lock:
        if _state["mock"] is not None:
            return
        if _state["error"] is not None:
            raise _state["error"]
        from rclsim.frontends.dropin import mock

        try:
            # Resolved as the CLI resolves them (rclsim run exported them): messages then name the
            # options the user gave to rclsim run (--match pixels), not Python's keywords.
            from rclsim.backends import backend_from_settings
            from rclsim.config import resolve

            active = mock(backend_from_settings(resolve("cli", **_options())))
            active.__enter__()
        except Exception as exc:
            _state["error"] = exc
            raise
        _state["mock"] = active
        atexit.register(_stop)


def _stop() -> None:
    active = _state["mock"]
    _state["mock"] = None
    if active is not None:
        active.__exit__(None, None, None)


def first_call(**kwargs: Any) -> Any:
    """botocore's ``before-call`` for Rekognition in a process of ``rclsim run``: start the mock if this
    is the first call, then answer as the drop-in does."""
    if _state["mock"] is None:
        _start()
    from rclsim.frontends.hook import before_call

    return before_call(**kwargs)


def _register(handlers: Any) -> None:
    from rclsim.frontends.hook import EVENT

    handlers.BUILTIN_HANDLERS.append((EVENT, first_call, handlers.REGISTER_FIRST))
