"""``rclsim serve``: the fake on a local HTTP endpoint that speaks Rekognition's wire protocol.

Any SDK or the AWS CLI works against it unchanged but for ``--endpoint-url http://127.0.0.1:PORT``.
One thread per connection, HTTP/1.1 keep-alive; every request goes through
:func:`rclsim.frontends.wire.handle` into the same fake core as every other front-end, whose state store
serialises changes, so concurrent clients are safe. Like moto's server mode, one backend object serves every
request. A request signed (SigV4) for a region is answered as that region's service would: a model of another
region is not found; an unsigned one is answered for every region.

It answers Rekognition's JSON 1.1 protocol and nothing else. Every answer that is not a success has
the service's error shape: a JSON body ``{"__type": code, "Message": ...}`` with
``Content-Type: application/x-amz-json-1.1`` and an ``x-amzn-RequestId`` header. The choices:

* ``POST`` (any path) goes to :func:`rclsim.frontends.wire.handle`: a missing or foreign ``X-Amz-Target`` (an
  S3 ``POST`` sent here, say) is ``UnknownOperationException``, HTTP 400, as the service answers it.
* Any other HTTP method (``GET /bucket/key`` from an S3 client that a global ``AWS_ENDPOINT_URL`` sent
  here, ``PUT``, ``DELETE``, a bare ``GET /``, ``HEAD``, ...) is HTTP **405** with ``Allow: POST`` and
  ``UnknownOperationException``: the status tells any HTTP client that the method, not the resource,
  is wrong (a 404 would read as "no such key" to S3 code), and the message says to point only
  Rekognition here (``AWS_ENDPOINT_URL_REKOGNITION``). Never 200 with a banner.
* Errors of the HTTP layer keep their HTTP status, with ``SerializationException`` (the request could
  not be read): 400 for a malformed request line, a bad HTTP version or an HTTP/0.9 request, 414 for a
  request line over 64 KiB, 431 for a header line over 64 KiB or over 100 headers, 505 for HTTP/2 or
  later; a method HTTP does not know is 501 ``UnknownOperationException``.
* A body that stops short of its ``Content-Length`` for :attr:`FakeServer.idle_timeout` seconds is
  HTTP 408 ``RequestTimeoutException``.
* A body over :data:`rclsim.frontends.wire.MAX_BODY_BYTES` is never read into memory: the answer comes from
  the headers (:func:`rclsim.frontends.wire.too_large_response`: ``ImageTooLargeException``, HTTP 400, for
  DetectCustomLabels, as the in-process drop-in answers an image over 4 MiB).

An answer after which the request cannot go on (all of the above but the ``POST`` errors of
:func:`~rclsim.frontends.wire.handle`) closes the connection (``Connection: close``). Before closing, what the
client still sends is read and dropped, at most :data:`DRAIN_BYTES` for :data:`DRAIN_SECONDS`, so a
client that writes its whole body before reading gets the answer rather than a reset.

Connections: the listen backlog is :attr:`FakeServer.request_queue_size` (1024, capped by the
kernel's ``somaxconn``), so a burst of clients waits to be accepted instead of having its SYNs
dropped; a connection that sends nothing for :attr:`FakeServer.idle_timeout` seconds (60 by default)
is closed, so idle keep-alive connections do not hold a thread each for ever (SDKs reconnect). A
client that leaves mid-answer or resets its connection is not an error: no traceback (a one-line
note with ``--verbose``). Bad requests never stop the server.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rclsim.backends.fake import FakeBackend
from rclsim.frontends.wire import (
    MAX_BODY_BYTES,
    NOT_REKOGNITION_HINT,
    EncodedAnswers,
    WireResponse,
    error_response,
    handle,
    signed_region,
    too_large_response,
)

__all__ = ["FakeServer", "DEFAULT_PORT", "DRAIN_BYTES", "DRAIN_SECONDS"]

#: The port ``rclsim serve`` listens on unless told otherwise.
DEFAULT_PORT = 9477
#: After an answer that closes the connection, what the client still sends is read and dropped, up
#: to this many bytes and for this long; then the connection is closed whatever is left.
DRAIN_BYTES = 8 * MAX_BODY_BYTES
DRAIN_SECONDS = 2.0

_DIGITS = re.compile(r"[0-9]+")

#: The error code an HTTP-layer error (http.server's ``send_error``) is answered with.
_HTTP_LAYER_CODES: dict[int, str] = {HTTPStatus.NOT_IMPLEMENTED: "UnknownOperationException"}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # An error before the request's version is known is answered as HTTP/1.x, never HTTP/0.9's
    # bare body (http.server's default), which no client could read.
    default_request_version = "HTTP/1.0"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the client's
    # delayed ACK add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: FakeServer
    raw_requestline: bytes  # set by http.server before parse_request

    def setup(self) -> None:
        self._drain = False
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # every read and write, idle or not

    def handle(self) -> None:
        super().handle()
        if self._drain:
            self._drain_and_stop_writing()

    def _drain_and_stop_writing(self) -> None:
        """Tell the client we are done (FIN after the answer), then read and drop what it still sends,
        bounded: closing with unread data would make the kernel reset the connection, and a client
        still writing its body would never see the answer."""
        sock = self.connection
        try:
            sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + DRAIN_SECONDS
            left = DRAIN_BYTES
            while left > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                chunk = sock.recv(65536)
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # the client has gone, or took too long: close anyway
            pass

    def _send(
        self, answer: WireResponse, *, close: bool = False, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
            self._drain = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (bad request line, too long, unsupported method...), in the
        service's error shape instead of an HTML page. The connection is closed after it."""
        self.log_error("code %d, message %s", code, message)
        reason = self.responses.get(code, ("error", ""))[0]
        text = message or reason
        if explain and explain not in text:
            text = f"{text} ({explain})"
        answer = error_response(
            _HTTP_LAYER_CODES.get(code, "SerializationException"), f"{text}: {NOT_REKOGNITION_HINT}"
        )
        answer.status = code
        self._send(answer, close=True)

    def parse_request(self) -> bool:
        if len(self.raw_requestline.split()) == 2:  # "GET /": HTTP/0.9, which no AWS client speaks
            self.command = None  # type: ignore[assignment]
            self.request_version = self.default_request_version
            self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
            self.send_error(HTTPStatus.BAD_REQUEST, "HTTP/0.9 requests are not supported")
            return False
        return super().parse_request()

    def handle_expect_100(self) -> bool:
        # A request that will be refused gets its answer instead of "100 Continue": the client then
        # does not send the body at all.
        length = self._content_length()
        if self.command != "POST" or not isinstance(length, int) or length > MAX_BODY_BYTES:
            return True
        return super().handle_expect_100()

    def _content_length(self) -> int | str | None:
        """The request's Content-Length, or why it has none (a message), or None when it is absent."""
        text = self.headers.get("Content-Length")
        if text is None:
            return None
        text = text.strip()
        if not _DIGITS.fullmatch(text):
            return f"Content-Length must be a number of bytes, got {text[:40]!r}"
        return int(text) if len(text) <= 20 else 10**20  # past any limit; int() refuses 4300+ digits

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        target = self.headers.get("X-Amz-Target")
        length = self._content_length()
        if length is None:
            self._send(error_response("LengthRequiredException", "Content-Length is required"), close=True)
            return
        if isinstance(length, str):
            self._send(error_response("SerializationException", length), close=True)
            return
        if length > MAX_BODY_BYTES:
            self._send(too_large_response(target, length), close=True)  # the body is not read
            return
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            answer = error_response(
                "RequestTimeoutException",
                f"the request body stopped before its Content-Length of {length} bytes "
                f"(nothing more for {self.server.idle_timeout:g} s)",
            )
            answer.status = HTTPStatus.REQUEST_TIMEOUT
            self._send(answer, close=True)
            return
        if len(body) < length:  # the client left mid-body: nobody to answer
            self.close_connection = True
            return
        call = self.server.caller(signed_region(self.headers.get("Authorization", "")))
        self._send(handle(target, body, call, self.server.encoded))

    def _not_rekognition(self) -> None:
        shown = self.path if len(self.path) <= 200 else self.path[:200] + "..."
        answer = error_response(
            "UnknownOperationException",
            f"{self.command} {shown} is not a Rekognition request: {NOT_REKOGNITION_HINT}",
        )
        answer.status = HTTPStatus.METHOD_NOT_ALLOWED
        self._send(answer, close=True, headers={"Allow": "POST"})

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_rekognition  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if self.server.verbose:
            sys.stderr.write(f"rclsim serve: {self.address_string()} {format % args}\n")


class FakeServer(ThreadingHTTPServer):
    """The fake on ``(host, port)``; port 0 picks a free one (see :attr:`url`)."""

    daemon_threads = True
    allow_reuse_address = True
    #: The listen backlog (socketserver's default is 5: a burst of clients had SYNs dropped and
    #: waited for retransmits). The kernel caps it at ``net.core.somaxconn``.
    request_queue_size = 1024
    #: Seconds a connection may send nothing (between requests, or mid-request) before it is closed.
    idle_timeout: float = 60.0

    def __init__(
        self,
        backend: FakeBackend,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        verbose: bool = False,
        idle_timeout: float | None = None,
    ) -> None:
        self.backend = backend
        self.verbose = verbose
        if idle_timeout is not None:
            self.idle_timeout = idle_timeout
        self.encoded: EncodedAnswers = {}  # this fake's answers' JSON, reused for repeated requests
        super().__init__((host, port), _Handler)

    def call(self, operation: str, params: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """One operation on the fake, as asked by a client of ``region`` (None: any region's models)."""
        return self.backend.core.call(operation, params, region=region)

    def caller(self, region: str | None) -> Callable[[str, dict[str, Any]], dict[str, Any]]:
        """:meth:`call` for the clients of ``region``: the region a request is signed for, as the
        service of one region knows only its own models (an unsigned request: None)."""

        def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
            return self.backend.core.call(operation, params, region=region)

        return call

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left (reset, broken pipe, timed out) is not the server's error: no traceback."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            if self.verbose:
                sys.stderr.write(f"rclsim serve: {client_address[0]} left: {type(exc).__name__}\n")
            return
        super().handle_error(request, client_address)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}"

    def start_in_thread(self) -> threading.Thread:
        """Serve in a background thread (for tests and embedding); stop with :meth:`stop`."""
        thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="rclsim-serve", daemon=True
        )
        thread.start()
        return thread

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> FakeServer:
        self.start_in_thread()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
