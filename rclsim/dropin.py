"""The boto3 drop-in: ``with rclsim.mock():`` and every Rekognition client answers from the fake.

A tiny ``before-send`` hook in botocore's event system, in the spirit of placebo and moto: when a
Rekognition request is about to leave, the hook hands its bytes to the fake core through the same wire
layer as the local endpoint (:mod:`rclsim.wire`) and returns the fake's HTTP response instead. All of
botocore's own machinery still runs around it: parameter validation, the serializer, the response
parser (``ResponseMetadata`` included), modeled ``ClientError`` classes, retries, waiters, paginators.

The hook is registered when rclsim is imported, on every botocore session made from then on (through
``botocore.handlers.BUILTIN_HANDLERS``, first in line so that it answers before moto's) and on boto3's
default session if it exists; it does nothing unless a mock is active. So clients created before the
``with`` block (after ``import rclsim``) are covered too. Other services are left alone, for moto or
real AWS; Rekognition operations other than the Custom Labels ones get a clear error and never leave
the process.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .backends.fake import FakeBackend

__all__ = ["mock", "install"]

F = TypeVar("F", bound=Callable[..., Any])

_EVENT = "before-send.rekognition"
_SIGNER_EVENT = "choose-signer.rekognition"
_UNIQUE_ID = "rclsim-dropin"
_lock = threading.RLock()
_active: list[FakeBackend] = []
_installed = False


class _Raw:
    """What botocore's AWSResponse reads a body from."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def _before_send(request: Any, **kwargs: Any) -> Any:
    with _lock:
        backend = _active[-1] if _active else None
    if backend is None:
        return None
    from botocore.awsrequest import AWSResponse

    from .wire import handle

    headers = request.headers
    target = headers.get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    answer = handle(target, body, backend.core.call)
    return AWSResponse(request.url, answer.status, answer.headers, _Raw(answer.body))


def _choose_signer(**kwargs: Any) -> Any:
    """While a mock is active, Rekognition requests are not signed: the fake ignores signatures, and
    a client made before the mock, without credentials, must work too."""
    with _lock:
        if not _active:
            return None
    import botocore

    return botocore.UNSIGNED


def install() -> None:
    """Register the hook (idempotent): on sessions made from now on, and on boto3's default session."""
    global _installed
    with _lock:
        if _installed:
            return
        import botocore.handlers

        botocore.handlers.BUILTIN_HANDLERS.append((_EVENT, _before_send, botocore.handlers.REGISTER_FIRST))
        botocore.handlers.BUILTIN_HANDLERS.append(
            (_SIGNER_EVENT, _choose_signer, botocore.handlers.REGISTER_FIRST)
        )
        _installed = True
    _register_on_default_session()


def _register_on_default_session() -> None:
    import sys

    boto3 = sys.modules.get("boto3")
    session = getattr(boto3, "DEFAULT_SESSION", None) if boto3 else None
    if session is not None:
        events = session._session.get_component("event_emitter")
        events.register_first(_EVENT, _before_send, unique_id=_UNIQUE_ID)
        events.register_first(_SIGNER_EVENT, _choose_signer, unique_id=_UNIQUE_ID + "-signer")


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    """No probing of the instance-metadata address, and dummy credentials and a region only where the
    user has none (so other services keep the user's real settings)."""
    saved = dict(os.environ)
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    try:
        import botocore.session

        probe = botocore.session.Session()
        if probe.get_credentials() is None:
            os.environ.setdefault("AWS_ACCESS_KEY_ID", "rclsim")
            os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "rclsim")
        if not probe.get_config_variable("region"):
            os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        yield
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


class mock:  # noqa: N801 - used like moto's mock_aws: a context manager and a decorator
    """Answer Rekognition's Custom Labels calls from a fake, for every boto3/botocore client.

    ``mock()`` makes a replay backend from the same options as :func:`rclsim.get_backend`
    (``recordings=``, ``time_scale=``, ``state_dir=``...; fresh in-memory state by default);
    ``mock(backend)`` uses a fake backend you made. Use it as ``with rclsim.mock() as backend:`` or as
    a decorator ``@rclsim.mock()``. Nested mocks: the innermost answers.
    """

    def __init__(self, backend: FakeBackend | None = None, **options: Any) -> None:
        if backend is not None and options:
            raise TypeError("give either a backend or get_backend options, not both")
        if backend is not None and not isinstance(backend, FakeBackend):
            raise TypeError("rclsim.mock needs a fake backend (replay); the aws backend calls AWS itself")
        self._backend = backend
        self._options = options
        self._env: contextlib.AbstractContextManager[None] | None = None
        self.backend: FakeBackend | None = None

    def _make_backend(self) -> FakeBackend:
        if self._backend is not None:
            return self._backend
        from .backends import get_backend

        backend = get_backend("replay", **self._options)
        assert isinstance(backend, FakeBackend)
        return backend

    def __enter__(self) -> FakeBackend:
        install()
        _register_on_default_session()
        self.backend = self._make_backend()
        self._env = _environment()
        self._env.__enter__()
        with _lock:
            _active.append(self.backend)
        return self.backend

    def __exit__(self, *exc: Any) -> None:
        with _lock:
            if self.backend in _active:
                _active.remove(self.backend)
        if self._env is not None:
            self._env.__exit__(*exc)
            self._env = None
        if self._backend is None and self.backend is not None:
            self.backend.close()
        self.backend = None

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            raise TypeError("rclsim.mock decorates plain functions; use 'with rclsim.mock():' in async code")

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with mock(self._backend, **self._options):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]
