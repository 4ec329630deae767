"""Errors: the service's own codes as ``botocore.exceptions.ClientError``, and rclsim's user errors.

Two families, on purpose:

* **Service errors** are what the real Rekognition would answer (``ResourceNotFoundException``,
  ``InvalidImageFormatException``, ...). The fake raises them as ``ClientError`` subclasses built by
  botocore's own exception factory from the Rekognition model, so user code that does
  ``except ClientError as e: e.response["Error"]["Code"]`` or checks the class name cannot tell the
  fake from the service. rclsim adds a few codes of its own that no real service sends
  (``RecordingNotFoundException`` and friends, see :data:`RCLSIM_CODES`); they are ``ClientError`` too,
  so one ``except`` catches everything a backend raises.
* **User errors** (:class:`RclsimError`) are problems with the user's files and options that the service
  never sees: an unreadable image path, malformed JSON on disk, an output file that exists. The CLI
  prints them as one line.
"""

from __future__ import annotations

import functools
import itertools
import os
from typing import Any

__all__ = [
    "RclsimError",
    "RecordingError",
    "RCLSIM_CODES",
    "service_error",
    "is_error_code",
    "new_request_id",
]

#: Error codes that only rclsim raises. They never come from AWS, so a test that sees one knows the
#: fake, not the code under test, is missing something.
RCLSIM_CODES = {
    "RecordingNotFoundException": "no recording answers this request",
    "RecordingMismatchException": "a recording cannot answer these parameters exactly (--strict)",
    "ResponseSchemaException": "a response failed rclsim's response schema (--strict)",
    "UnsupportedOperationException": "the fake does not implement this operation",
    "InvalidRecordingException": "a recording or models.json of the fake is broken (over the wire)",
    "StateFileException": "the fake's state file is damaged, read-only or lost a table (over the wire)",
}

# HTTP status per code, as the API reference gives it: 500 for the two faults, 400 otherwise.
_SERVER_FAULTS = {"InternalServerError", "ThrottlingException"}


def http_status(code: str) -> int:
    """The HTTP status the service answers an error code with."""
    return 500 if code in _SERVER_FAULTS else 400


def _request_id_prefix() -> str:
    """Random text in a version-4 UUID's layout, up to its last group."""
    r = os.urandom(10).hex()
    return f"{r[:8]}-{r[8:12]}-4{r[12:15]}-{'89ab'[int(r[15], 16) % 4]}{r[16:19]}-"


class _RequestIds:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.prefix = _request_id_prefix()
        self.counter = itertools.count(1)


_request_ids = _RequestIds()
if hasattr(os, "register_at_fork"):  # a forked child must not repeat its parent's ids
    os.register_at_fork(after_in_child=_request_ids.reset)


def new_request_id() -> str:
    """A request id shaped like the service's (a version-4 UUID): random per process, counted within
    it. ~0.5 µs where ``str(uuid.uuid4())`` costs ~2.7 µs, on every call of the drop-in and endpoint."""
    return f"{_request_ids.prefix}{next(_request_ids.counter) & 0xFFFFFFFFFFFF:012x}"


class RclsimError(Exception):
    """A problem with the user's input that the CLI reports as one line (no traceback)."""


class RecordingError(RclsimError):
    """A recording file is unreadable, malformed or fails its schema. Names the file."""


@functools.lru_cache(maxsize=1)
def _exception_classes() -> Any:
    # Imported lazily: the api-model layer must not pay for botocore at import time.
    import botocore.errorfactory

    from rclsim.service.apimodel import service_model

    return botocore.errorfactory.ClientExceptionsFactory().create_client_exceptions(service_model())


def service_error(code: str, message: str, operation: str) -> Exception:
    """Build the ``ClientError`` the service would raise for ``code``.

    Modeled codes become botocore's modeled class (``...ResourceNotFoundException``), anything else a
    plain ``ClientError``, as botocore does for unmodeled codes such as ``ValidationException``.
    """
    from botocore.exceptions import ClientError

    status = http_status(code)
    response = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {
            "RequestId": new_request_id(),
            "HTTPStatusCode": status,
            "HTTPHeaders": {"content-type": "application/x-amz-json-1.1"},
            "RetryAttempts": 0,
        },
    }
    cls = _exception_classes().from_code(code) or ClientError
    return cls(response, operation)


def is_error_code(exc: BaseException, code: str) -> bool:
    """True when ``exc`` is a ``ClientError`` carrying ``code``."""
    response = getattr(exc, "response", None)
    return isinstance(response, dict) and response.get("Error", {}).get("Code") == code
