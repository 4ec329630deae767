"""The boto3 drop-in's hook into botocore, registered at ``import rclsim`` and inert until a mock is on.

Kept apart from :mod:`rclsim.frontends.dropin` so that importing rclsim (or ``rclsim.geometry``) loads neither
botocore nor the fake core: the hook registered with botocore is a trampoline that looks for the
drop-in in ``sys.modules`` and does nothing when it was never imported (then no mock can be active).
Registration happens through ``botocore.handlers.BUILTIN_HANDLERS`` (every session made from then on)
and on boto3's default session, as soon as botocore's handlers are loaded.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["install", "install_when_botocore_loads", "register_on_default_session"]

EVENT = "before-call.rekognition"
UNIQUE_ID = "rclsim-dropin"
#: While fault rules are in force the drop-in answers here instead, so botocore retries its answers.
SEND_EVENT = "before-send.rekognition"
SEND_UNIQUE_ID = "rclsim-dropin-send"
_lock = threading.RLock()
_installed = False


def before_call(**kwargs: Any) -> Any:
    """botocore's ``before-call`` for Rekognition: the drop-in's answer while a mock is active."""
    dropin = sys.modules.get("rclsim.frontends.dropin")
    if dropin is None:
        return None
    return dropin._before_call(**kwargs)


def before_send(**kwargs: Any) -> Any:
    """botocore's ``before-send`` for Rekognition: the drop-in's answer while fault rules are on."""
    dropin = sys.modules.get("rclsim.frontends.dropin")
    if dropin is None:
        return None
    return dropin._before_send(**kwargs)


def install() -> None:
    """Register the hook (idempotent): on sessions made from now on, and on boto3's default session."""
    global _installed
    with _lock:
        if not _installed:
            # From sys.modules: during botocore's own import the package has no 'handlers' attribute yet.
            handlers: Any = sys.modules.get("botocore.handlers")
            if handlers is None:
                import importlib

                handlers = importlib.import_module("botocore.handlers")
            handlers.BUILTIN_HANDLERS.append((EVENT, before_call, handlers.REGISTER_FIRST))
            handlers.BUILTIN_HANDLERS.append((SEND_EVENT, before_send, handlers.REGISTER_FIRST))
            _installed = True
    register_on_default_session()


class _OnImport:
    """A one-shot import hook: when module ``name`` is first imported, call ``then(module)`` right after
    it runs. So ``import rclsim`` itself does not import botocore (the CLI's detect path stays as quick
    as ``import boto3``), and still every session made afterwards carries the hook."""

    def __init__(self, name: str, then: Callable[[Any], None]) -> None:
        self.name = name
        self.then = then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != self.name:
            return None
        import importlib.util

        if self in sys.meta_path:
            sys.meta_path.remove(self)  # one shot; and let the normal finders find the module
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        original = spec.loader.exec_module
        then = self.then

        def exec_module(module: Any) -> None:
            original(module)
            then(module)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def when_imported(name: str, then: Callable[[Any], None]) -> None:
    """Call ``then(module)`` once module ``name`` is loaded: now if it is, else right after its first
    import (one hook per ``then``)."""
    if name in sys.modules:
        then(sys.modules[name])
    elif not any(isinstance(f, _OnImport) and f.then is then for f in sys.meta_path):
        sys.meta_path.insert(0, _OnImport(name, then))  # type: ignore[arg-type]


def _install_module(module: Any) -> None:
    install()


def install_when_botocore_loads() -> None:
    """Register the hook now if botocore's handlers are loaded, else as soon as they are."""
    when_imported("botocore.handlers", _install_module)


_registered_on: Any = None  # a weak reference to the default session the hooks were last put on


def register_on_default_session() -> None:
    """Put the hook on boto3's default session, once per session (registering asks botocore to
    inspect the handler's signature: ~0.1 ms, which every mock would otherwise pay)."""
    import weakref

    global _registered_on
    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 else None
    if session is None or (_registered_on is not None and _registered_on() is session):
        return
    events = session._session.get_component("event_emitter")
    events.register_first(EVENT, before_call, unique_id=UNIQUE_ID)
    events.register_first(SEND_EVENT, before_send, unique_id=SEND_UNIQUE_ID)
    try:
        _registered_on = weakref.ref(session)
    except TypeError:  # a session that cannot be weakly referenced: register every time
        _registered_on = None
