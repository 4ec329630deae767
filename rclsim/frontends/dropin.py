"""The boto3 drop-in: ``with rclsim.mock():`` and every Rekognition client answers from the fake.

A tiny ``before-call`` hook in botocore's event system, in the spirit of placebo: once botocore has
validated and serialised a Rekognition request, the hook hands the request's bytes to the fake core
through the same wire layer as the local endpoint (:mod:`rclsim.frontends.wire`) and parses the fake's HTTP
answer with botocore's own response parser. So botocore's machinery runs on both sides of it:
parameter validation, the serializer, the parser (``ResponseMetadata`` included), modeled
``ClientError`` classes, waiters and paginators. The request is never signed or sent, so no
credentials are needed and nothing leaves the process; and because ``before-call`` comes before
``before-send``, moto's hook (on ``before-send``) never sees Rekognition calls, in either nesting order.

**Retries.** botocore's retry handler looks only at answers it got from sending (``needs-retry`` comes
after ``before-send``); an answer given at ``before-call`` is final. That is the fast path, and right
while the fake never fails on purpose. While fault rules are in force on the fake
(:meth:`rclsim.backends.fake.FakeBackend.add_faults`, ``rclsim.mock(faults=...)``, ``RCLSIM_FAULTS``),
the hook lets the call through to ``before-send`` instead and answers there with an ``AWSResponse``
built from the same wire encoding (HTTP 500 for ``InternalServerError``/``ThrottlingException``, 400
for the others, as :mod:`rclsim.frontends.server` sends): botocore then signs, "sends", parses and
retries exactly as against AWS (legacy, standard and adaptive modes, ``max_attempts`` and
``total_max_attempts``), sleeping its own backoff (``time.sleep`` in ``botocore.endpoint``). The
request's URL is changed to ``https://rekognition.rclsim.invalid/`` before the other ``before-send``
handlers run, so moto's (which matches AWS's hosts) never answers a Rekognition call.

The hook is registered when rclsim is imported (:mod:`rclsim.frontends.hook`, which imports neither botocore
nor this module), on every botocore session made from then on and on boto3's default session if it
exists; it does nothing unless a mock is active. So clients created before the ``with`` block (after
``import rclsim``) are covered too. Other services are left alone, for moto or
real AWS; Rekognition operations other than the Custom Labels ones get a clear error and never leave
the process.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from rclsim.backends.base import Backend
from rclsim.backends.fake import FakeBackend
from rclsim.fake.labelcopy import copier_for, copy_tree
from rclsim.fake.objects import MotoObjects, moto_active, moto_objects
from rclsim.frontends.hook import install, register_on_default_session

__all__ = ["mock", "install"]

#: Where a request answered at ``before-send`` is said to go (no other handler matches it).
FAULT_URL = "https://rekognition.rclsim.invalid/"

F = TypeVar("F", bound=Callable[..., Any])

_lock = threading.RLock()
_active: list[Backend] = []
# Set while a mock's own backend is calling real AWS (record mode), so its client is not intercepted.
_passing_through = threading.local()


class _Raw:
    """What botocore's AWSResponse reads a body from."""

    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@functools.lru_cache(maxsize=1)
def _botocore_names() -> tuple[Any, ...]:
    """What each call needs from botocore, imported once (not per call) and not at ``import rclsim``,
    which must not import botocore."""
    from botocore.awsrequest import AWSResponse
    from botocore.endpoint import convert_to_response_dict
    from botocore.parsers import create_parser

    return AWSResponse, convert_to_response_dict, create_parser


@functools.lru_cache(maxsize=8)
def _parser(protocol: str) -> Any:
    _, _, create_parser = _botocore_names()
    return create_parser(protocol)


def _before_call(model: Any, params: Any, context: Any = None, **kwargs: Any) -> Any:
    """``params`` is botocore's serialised request: hand its bytes to the fake through the wire layer,
    as the local endpoint does, and return what botocore's own parser makes of the answer."""
    if not _active or getattr(_passing_through, "on", False):
        return None
    try:
        backend = _active[-1]  # no lock: reading the innermost mock is atomic; one may just have ended
    except IndexError:
        return None
    if getattr(backend, "fault_rules", None):
        return None  # answered at before-send, where botocore's retry handler sees it
    from rclsim.frontends.wire import handle

    AWSResponse, convert_to_response_dict, _ = _botocore_names()  # noqa: N806
    target = params.get("headers", {}).get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    body = params.get("body") or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    region = context.get("client_region") if isinstance(context, dict) else None
    answer = handle(target, body, _caller(backend, region), _encoded_answers(backend))
    http = AWSResponse(
        params.get("url", "https://rekognition.rclsim.invalid/"),
        answer.status,
        answer.headers,
        _Raw(answer.body),
    )
    parsed = _parse(model, http, answer.status, answer.body, convert_to_response_dict)
    parsed.setdefault("ResponseMetadata", {})["RetryAttempts"] = 0
    return http, parsed


def _before_send(request: Any, **kwargs: Any) -> Any:
    """While fault rules are in force: answer the signed request as the endpoint would, with an
    ``AWSResponse`` that botocore parses and retries like one from the network (module docstring)."""
    if not _active or getattr(_passing_through, "on", False):
        return None
    try:
        backend = _active[-1]
    except IndexError:
        return None
    if not getattr(backend, "fault_rules", None):
        return None  # answered at before-call
    if request.url == FAULT_URL:
        return None  # answered already: the hook is on this session twice (builtin and default session)
    from rclsim.frontends.wire import handle, signed_region

    AWSResponse, _, _ = _botocore_names()  # noqa: N806
    headers = request.headers
    target = headers.get("X-Amz-Target")
    if isinstance(target, bytes):
        target = target.decode("ascii", "replace")
    body = request.body or b""
    if hasattr(body, "read"):
        body = body.read()
    if isinstance(body, str):
        body = body.encode("utf-8")
    request.url = FAULT_URL  # no later before-send handler (moto's) takes this request for AWS's
    region = signed_region(headers.get("Authorization"))
    answer = handle(target, body, _caller(backend, region))
    return AWSResponse(FAULT_URL, answer.status, answer.headers, _Raw(answer.body))


#: botocore's parse of recent successful DetectCustomLabels bodies, by (protocol, body): parsing 31
#: labels is ~1 ms of botocore's shape walking, and the same body parses the same way (it holds no
#: timestamps, whose parse depends on the local time zone). Other operations are parsed every time.
_parsed_bodies: dict[tuple[Any, ...], tuple[dict[str, Any], Callable[[dict[str, Any]], dict[str, Any]]]] = {}
_PARSED_LIMIT = 256
_PARSED_BODY_LIMIT = 256 * 1024


def _parse(model: Any, http: Any, status: int, body: bytes, convert: Any) -> dict[str, Any]:
    """What botocore's parser makes of the fake's answer. The body's part of a successful
    DetectCustomLabels answer is parsed once per distinct body and handed out as a copy (each dict
    and list new), with the ``ResponseMetadata`` botocore's parser makes of this answer's own
    headers. (botocore's default parser: a session's own ``response_parser_factory`` is not used.)"""
    protocol = model.metadata["protocol"]
    parser = _parser(protocol)
    if status != 200 or model.name != "DetectCustomLabels" or len(body) > _PARSED_BODY_LIMIT:
        return parser.parse(convert(http, model), model.output_shape)  # type: ignore[no-any-return]
    key = (protocol, body)
    kept = _parsed_bodies.get(key)
    if kept is None:
        parsed: dict[str, Any] = parser.parse(convert(http, model), model.output_shape)
        part = {k: v for k, v in parsed.items() if k != "ResponseMetadata"}
        copy = _copier(part)
        with _lock:
            if len(_parsed_bodies) >= _PARSED_LIMIT:
                _parsed_bodies.clear()
            _parsed_bodies[key] = (copy(part), copy)  # a copy of its own: the caller may change parsed
        return parsed
    part, copy = kept
    # botocore's metadata of this answer (request id, status, headers), from an answer without a body
    parsed = parser.parse({"status_code": status, "headers": http.headers, "body": b""}, None)
    parsed.update(copy(part))
    return parsed


def _copier(part: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The quickest caller-safe copy of a parsed body like ``part``."""
    labels = part.get("CustomLabels")
    if len(part) == 1 and isinstance(labels, list) and all(type(x) is dict for x in labels):
        copy_list = copier_for(labels)
        return lambda p: {"CustomLabels": copy_list(p["CustomLabels"])}
    return copy_tree  # type: ignore[return-value]


#: Each fake's earlier answers' JSON, reused as the endpoint reuses its own
#: (:func:`rclsim.frontends.wire.handle`); gone with the backend.
_encoded_by_backend: weakref.WeakKeyDictionary[Backend, Any] = weakref.WeakKeyDictionary()


def _encoded_answers(backend: Backend) -> Any:
    """The JSON of this fake's earlier answers (None for any other backend: nothing to reuse)."""
    if not isinstance(backend, FakeBackend):
        return None
    return _encoded_by_backend.setdefault(backend, {})


def _caller(backend: Backend, region: str | None) -> Any:
    """How the wire layer reaches ``backend``: a fake's core, as a client of ``region`` (botocore has
    already checked the parameters); any other backend through ``call``, letting its own client
    through."""
    if isinstance(backend, FakeBackend):
        core_call = backend.core.call

        def ask(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return core_call(operation, params, region=region)

        return ask

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        _passing_through.on = True
        try:
            return backend.call(operation, params)
        finally:
            _passing_through.on = False

    return call


_SETTINGS_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "HOME",
)


@functools.lru_cache(maxsize=32)
def _user_settings(key: tuple[str | None, ...]) -> tuple[bool, bool]:
    """Whether the user has credentials and a region, asked of botocore's own chain once per distinct
    environment (a botocore Session costs milliseconds; a test suite enters a mock per test)."""
    import botocore.session

    probe = botocore.session.Session()
    return probe.get_credentials() is not None, bool(probe.get_config_variable("region"))


@contextlib.contextmanager
def _environment() -> Iterator[None]:
    """No probing of the instance-metadata address, and dummy credentials and a region only where the
    user has none (so other services keep the user's real settings). On the way out only what this
    set is undone, and only where it still holds: what the code in the block set stays. (Copying and
    restoring the whole environment cost ~0.1 ms per mock, and undid the block's own settings.)"""
    metadata = "AWS_EC2_METADATA_DISABLED"
    ours: dict[str, str] = {metadata: "true"}
    saved: dict[str, str | None] = {metadata: os.environ.get(metadata)}
    os.environ[metadata] = "true"  # before botocore's credential chain is asked anything
    try:
        has_credentials, has_region = _user_settings(
            tuple(os.environ.get(k) for k in _SETTINGS_KEYS)  # the cache key: what the answer depends on
        )
        defaults: dict[str, str] = {}
        if not has_credentials:
            defaults.update(AWS_ACCESS_KEY_ID="rclsim", AWS_SECRET_ACCESS_KEY="rclsim")
        if not has_region:
            defaults["AWS_DEFAULT_REGION"] = "us-east-1"
        for key, value in defaults.items():
            if key not in os.environ:  # only where the user has none
                saved[key] = None
                ours[key] = os.environ[key] = value
        yield
    finally:
        for key, value in ours.items():
            if os.environ.get(key) != value:
                continue  # changed inside the block: the block's to keep
            before = saved[key]
            if before is None:
                del os.environ[key]
            else:
                os.environ[key] = before


class mock:  # noqa: N801 - used like moto's mock_aws: a context manager and a decorator
    """Answer Rekognition's Custom Labels calls from a fake, for every boto3/botocore client.

    ``mock()`` makes a backend from the same options and ``RCLSIM_*`` variables as
    :func:`rclsim.get_backend` (``recordings=``, ``time_scale=``, ``state_dir=``...; replay by default,
    with ``RCLSIM_STATE_DIR``'s state if set, else fresh state in memory);
    ``mock(backend)`` uses a backend you made: a fake, or the aws backend in record mode (which then
    records what the code under test asks). A fake reads and writes S3 objects (manifests, images,
    training output) in the store picked when it was made (moto's buckets if made inside moto's
    ``mock_aws``, else ``s3_endpoint_url=``, else ``s3_dir=``: :mod:`rclsim.fake.objects`); one
    made with none uses moto's buckets while the mock is entered inside ``mock_aws``.
    Use it as ``with rclsim.mock() as backend:`` or as a decorator ``@rclsim.mock()``. Nested mocks:
    the innermost answers.
    """

    def __init__(self, backend: Backend | None = None, **options: Any) -> None:
        if backend is not None and options:
            raise TypeError("give either a backend or get_backend options, not both")
        from rclsim.backends.aws import AwsBackend

        if isinstance(backend, AwsBackend):
            raise TypeError(
                "rclsim.mock needs a fake backend, or the aws backend in record mode; a plain aws "
                "backend would only pass calls through to AWS: use boto3 without the mock instead"
            )
        self._backend = backend
        self._options = options
        self._env: contextlib.AbstractContextManager[None] | None = None
        self.backend: Backend | None = None
        #: The moto store this mock gave a fake that had none, to take back on the way out.
        self._set_objects: MotoObjects | None = None

    def _make_backend(self) -> Backend:
        if self._backend is not None:
            return self._backend
        from rclsim.backends import get_backend
        from rclsim.backends.aws import AwsBackend

        backend = get_backend(None, **self._options)  # RCLSIM_BACKEND, RCLSIM_SEED... as everywhere
        if isinstance(backend, AwsBackend):
            backend.close()
            raise TypeError(
                "rclsim.mock needs a fake backend (replay or sim), or the aws backend in record mode; "
                "RCLSIM_BACKEND=aws alone would only pass calls through to AWS"
            )
        return backend

    def __enter__(self) -> Backend:
        install()
        register_on_default_session()
        self.backend = self._make_backend()
        self._env = _environment()
        self._env.__enter__()
        # A fake with no object store reads and writes S3 in moto's buckets while moto is on (the
        # store of a fake made inside moto's mock is moto's already: rclsim.fake.objects).
        self._set_objects = None
        if isinstance(self.backend, FakeBackend) and self.backend.core.objects is None and moto_active():
            self._set_objects = self.backend.core.objects = moto_objects()
        with _lock:
            _active.append(self.backend)
        return self.backend

    def __exit__(self, *exc: Any) -> None:
        if isinstance(self.backend, FakeBackend) and self._set_objects is not None:
            if self.backend.core.objects is self._set_objects:  # not replaced in the block meanwhile
                self.backend.core.objects = None
        self._set_objects = None
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
