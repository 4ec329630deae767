"""``rclsim serve``: the fake on a local HTTP endpoint that speaks Rekognition's wire protocol.

Any SDK or the AWS CLI works against it unchanged but for ``--endpoint-url http://127.0.0.1:PORT``.
One thread per connection, HTTP/1.1 keep-alive; every request goes through :func:`rclsim.wire.handle`
into the same fake core as every other front-end, whose state store serialises changes, so concurrent
clients are safe. Bad requests get 4xx answers with the service's error body and never stop the
server. Like moto's server mode, one backend object serves every request.
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .backends.fake import FakeBackend
from .wire import MAX_BODY_BYTES, EncodedAnswers, WireResponse, error_response, handle

__all__ = ["FakeServer", "DEFAULT_PORT"]

#: The port ``rclsim serve`` listens on unless told otherwise.
DEFAULT_PORT = 9477


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the client's
    # delayed ACK add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server: FakeServer

    def _send(self, answer: WireResponse, *, close: bool = False) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer.body)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            self._send(error_response("LengthRequiredException", "Content-Length is required"), close=True)
            return
        try:
            length = int(length_text)
        except ValueError:
            self._send(error_response("SerializationException", "Content-Length is not a number"), close=True)
            return
        if length < 0:
            self._send(error_response("SerializationException", "Content-Length is negative"), close=True)
            return
        if length > MAX_BODY_BYTES:
            answer = error_response(
                "RequestEntityTooLargeException", f"request body of {length} bytes is over {MAX_BODY_BYTES}"
            )
            answer.status = 413
            self._send(answer, close=True)  # the body is not read: close instead
            return
        body = self.rfile.read(length)
        self._send(handle(self.headers.get("X-Amz-Target"), body, self.server.call, self.server.encoded))

    def do_GET(self) -> None:  # noqa: N802
        text = (
            b"rclsim: a fake Amazon Rekognition (Custom Labels). POST JSON 1.1 requests with "
            b"X-Amz-Target: RekognitionService.<Operation>.\n"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _not_allowed(self) -> None:
        answer = error_response(
            "MethodNotAllowedException", f"{self.command} is not supported: POST JSON 1.1"
        )
        answer.status = 405
        self._send(answer, close=True)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed  # noqa: N815

    def do_HEAD(self) -> None:  # noqa: N802
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        if self.server.verbose:
            sys.stderr.write(f"rclsim serve: {self.address_string()} {format % args}\n")


class FakeServer(ThreadingHTTPServer):
    """The fake on ``(host, port)``; port 0 picks a free one (see :attr:`url`)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        backend: FakeBackend,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        verbose: bool = False,
    ) -> None:
        self.backend = backend
        self.verbose = verbose
        self.encoded: EncodedAnswers = {}  # this fake's answers' JSON, reused for repeated requests
        super().__init__((host, port), _Handler)

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return self.backend.core.call(operation, params)

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
