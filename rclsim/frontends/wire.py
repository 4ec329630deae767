"""Rekognition's wire protocol (JSON 1.1) in front of the fake core: bytes in, bytes out.

One request is ``POST /`` with ``X-Amz-Target: RekognitionService.<Operation>`` and a JSON body whose
blobs are base64; the answer is HTTP 200 with compact JSON (as the service sends it: no spaces,
timestamps as epoch seconds), or HTTP 400/500 with ``{"__type": "<Code>", "Message": "..."}``. The
local endpoint (:mod:`rclsim.frontends.server`) and the boto3 drop-in (:mod:`rclsim.frontends.dropin`) both
answer through
:func:`handle`, so what a client sees is the same whichever way it reaches the fake. Signatures are
not checked.

How bodies are read (choices where the service's behaviour is unverified are marked [U]):

* **null** [U]: a JSON ``null`` as a structure member is the member absent, as AWS's JSON-protocol
  services (and Smithy's server SDKs) read it: ``{"Image": {"Bytes": null}}`` is an ``Image`` with
  neither member, which the core refuses as the service does (``InvalidParameterException``). A
  ``null`` inside a list or map is a ``SerializationException`` (Smithy's servers refuse nulls in
  collections that are not sparse; none of Rekognition's are).
* **nesting** [U]: a body nested deeper than :data:`MAX_JSON_DEPTH` (64) arrays/objects, counting the
  body's own object, is a ``SerializationException`` before it is parsed (no Rekognition input is
  deeper than 4), so nothing on the request path recurses over client data.
* **size**: a body over :data:`MAX_BODY_BYTES` is refused by the endpoint unread (see
  :func:`too_large_response`): ``ImageTooLargeException`` for DetectCustomLabels, as the core answers
  an image over 4 MiB, ``ValidationException`` for the other operations.
* **text**: strings may hold lone surrogates (``"\\ud800"`` is valid JSON); answers that echo them are
  still valid JSON (such an answer is written with ``\\u`` escapes instead of raw UTF-8).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rclsim.service.apimodel import OPERATIONS, operation_model
from rclsim.service.errors import RclsimError, http_status, new_request_id

__all__ = [
    "WireResponse",
    "handle",
    "too_large_response",
    "TARGET_PREFIX",
    "CONTENT_TYPE",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "signed_region",
]

TARGET_PREFIX = "RekognitionService."
CONTENT_TYPE = "application/x-amz-json-1.1"
#: Bodies larger than this are refused before they are read: a 4 MiB image is about 5.6 MB in base64.
MAX_BODY_BYTES = 8 * 1024 * 1024
#: Bodies nested deeper than this (arrays and objects, the body's own object included) are refused
#: unparsed; see the module docstring.
MAX_JSON_DEPTH = 64

#: Runs one operation on the fake: ``(operation, params) -> response``, raising ``ClientError``.
Call = Callable[[str, dict[str, Any]], dict[str, Any]]
#: The last encoding of one fake's DetectCustomLabels answers, per small request body: (the answer,
#: its JSON). Encoding 31 labels costs ~140 µs (float reprs, mostly); comparing answers ~5 µs.
EncodedAnswers = dict[bytes, tuple[dict[str, Any], bytes]]


#: The region in a SigV4 Authorization header's credential scope (KEY/DATE/REGION/SERVICE/aws4_request).
_SIGNED_REGION = re.compile(
    r"^AWS4-HMAC-SHA256 .*?Credential=[^/,\s]+/[0-9]{8}/([a-z0-9-]{1,40})/rekognition/"
)


def signed_region(authorization: str | bytes | None) -> str | None:
    """The region a request's SigV4 ``Authorization`` header is signed for (None: unsigned), which
    the fake answers as: a model of another region is not found."""
    if isinstance(authorization, bytes):
        authorization = authorization.decode("latin-1")
    signed = _SIGNED_REGION.search(authorization or "")
    return signed.group(1) if signed else None


@dataclass
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _compact(data: Any) -> bytes:
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_encode_value)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from a request's "\\ud800"): escape, stay valid JSON
        return json.dumps(data, separators=(",", ":"), default=_encode_value).encode("ascii")


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__}")


def error_response(code: str, message: str, request_id: str | None = None) -> WireResponse:
    rid = request_id or new_request_id()
    status = http_status(code)
    return WireResponse(status, _compact({"__type": code, "Message": message}), _headers(rid))


def _headers(request_id: str) -> dict[str, str]:
    return {"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id}


class _BadBody(ValueError):
    pass


def _decode_members(shape: Any, value: Any, path: str) -> Any:
    """``value`` (JSON as parsed) as the operation's parameters, following the input shape: blobs
    base64-decoded, null structure members dropped, null list or map members refused. Recursion is
    bounded by the shape's depth (and the body's, by :data:`MAX_JSON_DEPTH`)."""
    t = shape.type_name
    if t == "blob" and isinstance(value, str):
        return _blob(value, path)
    if t == "structure" and isinstance(value, dict):
        return {
            name: (
                _decode_members(shape.members[name], v, f"{path}.{name}".lstrip("."))
                if name in shape.members
                else v
            )
            for name, v in value.items()
            if v is not None
        }
    if t == "list" and isinstance(value, list):
        return [_decode_item(shape.member, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if t == "map" and isinstance(value, dict):
        return {k: _decode_item(shape.value, v, f"{path}.{k}") for k, v in value.items()}
    return value


#: The last few blobs decoded (base64 text -> bytes): a test that sends the same image as Bytes call
#: after call has it decoded once (~0.4 ms for a 114 KB image; finding it again costs a hash and a
#: compare of the text), and the core then finds the very bytes object it checked before.
_BLOBS: dict[str, bytes] = {}
_BLOBS_KEPT = 4
#: Only blobs an image check can pass are kept (4 MiB), so the memory holds ~40 MB at most.
_BLOB_KEPT_BYTES = 4 * 1024 * 1024
_BLOBS_LOCK = threading.Lock()


def _blob(value: str, path: str) -> bytes:
    decoded = _BLOBS.get(value)
    if decoded is not None:
        return decoded
    try:
        decoded = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise _BadBody(f"Value at '{path}' is not valid base64") from None
    if len(decoded) > _BLOB_KEPT_BYTES:
        return decoded  # refused by the core as too large anyway: not worth keeping
    with _BLOBS_LOCK:  # the endpoint answers from several threads
        if len(_BLOBS) >= _BLOBS_KEPT:
            del _BLOBS[next(iter(_BLOBS))]  # the oldest
        _BLOBS[value] = decoded
    return decoded


def _decode_item(shape: Any, value: Any, path: str) -> Any:
    if value is None:
        raise _BadBody(f"Value at '{path}' is null: a list or map member must not be null")
    return _decode_members(shape, value, path)


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
#: Keeps only the brackets of a body, each as "[" or "]" (depth does not care which kind).
_BRACKETS = bytes.maketrans(b"{}", b"[]"), bytes(b for b in range(256) if b not in b"[]{}")


def _nesting_problem(body: bytes, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``body`` cannot be parsed safely: nested more than ``limit`` arrays/objects deep (brackets
    inside strings do not count), or brackets that do not match (not JSON). None when it can. No
    recursion; for the usual body (fewer brackets than the limit) two counts."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return None
    # Strings are matched exactly in valid JSON (the first quote outside a string opens one).
    brackets = _STRING.sub(b"", body).translate(*_BRACKETS)
    # Each pass removes the innermost level (every "[]" as they stand; replace does not look again
    # at what it made): valid JSON is empty after as many passes as it is deep, and brackets that
    # stop shrinking do not match. A mismatched kind ("[}") is left to the parser.
    for _ in range(limit):
        if not brackets:
            return None
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            return "the request body is not valid JSON: its brackets do not match"
        brackets = shorter
    if not brackets:
        return None
    return f"the request body is nested more than {limit} levels deep"


def decode_params(operation: str, body: bytes) -> dict[str, Any]:
    """The AWS-shaped parameters of a JSON 1.1 request body (blobs decoded)."""
    if not body.strip():
        return {}
    problem = _nesting_problem(body)
    if problem is not None:
        raise _BadBody(problem)
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BadBody(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:  # not reached below the depth limit; kept as a guard
        raise _BadBody(f"the request body is nested more than {MAX_JSON_DEPTH} levels deep") from None
    if not isinstance(data, dict):
        raise _BadBody("the request body must be a JSON object")
    return _decode_members(operation_model(operation).input_shape, data, "")  # type: ignore[no-any-return]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_result(response: Mapping[str, Any]) -> bytes:
    """The service's JSON for a response: compact, no ``ResponseMetadata``."""
    return _compact({k: v for k, v in response.items() if k != "ResponseMetadata"})


#: Where a request that is not Rekognition's came from, most often, and what to do.
NOT_REKOGNITION_HINT = (
    "this endpoint answers only Rekognition's JSON 1.1 protocol (POST / with X-Amz-Target: "
    f"{TARGET_PREFIX}<Operation>); if a global AWS_ENDPOINT_URL sent another service's request here, "
    "point only Rekognition here with AWS_ENDPOINT_URL_REKOGNITION (or the client's endpoint_url)"
)


def _operation_of(target: str | None, request_id: str) -> str | WireResponse:
    """The operation ``target`` names, or the error answer when it names none the fake serves."""
    if not target or not target.startswith(TARGET_PREFIX):
        shown = repr(target[:200]) if target else "none"
        return error_response(
            "UnknownOperationException",
            f"X-Amz-Target must be '{TARGET_PREFIX}<Operation>', got {shown}: {NOT_REKOGNITION_HINT}",
            request_id,
        )
    operation = target[len(TARGET_PREFIX) :]
    if operation not in OPERATIONS:
        return error_response(
            "UnknownOperationException"
            if not _is_rekognition_operation(operation)
            else "UnsupportedOperationException",
            f"rclsim fakes only {', '.join(OPERATIONS)}; {operation[:200]} is not one of them",
            request_id,
        )
    return operation


def too_large_response(target: str | None, length: int) -> WireResponse:
    """The answer to a request whose body of ``length`` bytes is over :data:`MAX_BODY_BYTES` (the
    endpoint does not read it): the target's error first, as for any request; then, for
    DetectCustomLabels, the service's ``ImageTooLargeException`` (the body is an image sent as
    Bytes), for any other operation a ``ValidationException``. Both HTTP 400."""
    request_id = new_request_id()
    operation = _operation_of(target, request_id)
    if isinstance(operation, WireResponse):
        return operation
    over = f"the request body of {length} bytes is over the endpoint's limit of {MAX_BODY_BYTES} bytes"
    if operation == "DetectCustomLabels":
        return error_response(
            "ImageTooLargeException",
            f"Image size is too large: {over} (an image sent as Bytes may be at most 4 MiB)",
            request_id,
        )
    return error_response("ValidationException", f"1 validation error detected: {over}", request_id)


def handle(
    target: str | None, body: bytes, call: Call, encoded: EncodedAnswers | None = None
) -> WireResponse:
    """Answer one JSON 1.1 request. Never raises for bad input: every problem is an error response.
    ``encoded``: the JSON of earlier answers of the same fake, to reuse (see :func:`_encoded`)."""

    request_id = new_request_id()
    operation = _operation_of(target, request_id)
    if isinstance(operation, WireResponse):
        return operation
    try:
        params = decode_params(operation, body)
    except _BadBody as exc:
        return error_response("SerializationException", str(exc), request_id)
    except RecursionError:  # not reached below the depth limit; kept as a guard
        return error_response(
            "SerializationException",
            f"the request body is nested more than {MAX_JSON_DEPTH} levels deep",
            request_id,
        )
    ok, result = run(call, operation, params)
    if not ok:
        return error_response(result["Code"], result["Message"], request_id)
    if encoded is None:
        return WireResponse(200, encode_result(result), _headers(request_id))
    return WireResponse(200, _encoded(encoded, operation, body, result), _headers(request_id))


_ENCODED_BODY_LIMIT = 4096
_ENCODED_LIMIT = 256


def _encoded(last_encoded: EncodedAnswers, operation: str, body: bytes, result: dict[str, Any]) -> bytes:
    """``encode_result(result)``, reused when the same request got an equal answer last time. Only
    for DetectCustomLabels and for one fake (``last_encoded`` is its own), whose answers to one request
    keep their types (1 == 1.0 in Python, but not in JSON); only for small bodies (an image sent as
    Bytes is not worth keeping)."""
    if operation != "DetectCustomLabels" or len(body) > _ENCODED_BODY_LIMIT:
        return encode_result(result)
    last = last_encoded.get(body)
    if last is not None and last[0] == result:
        return last[1]
    encoded = encode_result(result)
    if len(last_encoded) >= _ENCODED_LIMIT:
        last_encoded.clear()
    last_encoded[body] = (result, encoded)  # the wire's own copy: nobody else holds it
    return encoded


def run(call: Call, operation: str, params: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """One operation on the fake, never raising: ``(True, response)``, or ``(False, {"Code", "Message"})``
    as the service would answer. The local endpoint and the drop-in's fast path both answer through
    it, so every front-end maps errors the same way."""
    try:
        return True, call(operation, params)
    except Exception as exc:  # noqa: BLE001 - every failure becomes the error the service would send
        return False, _error_of(exc)


def _error_of(exc: Exception) -> dict[str, str]:
    from botocore.exceptions import ClientError  # only on the error path: success pays no import

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        return {"Code": str(err.get("Code", "InternalServerError")), "Message": str(err.get("Message", ""))}
    if isinstance(exc, RclsimError):  # the fake's own files (a broken recording, state file): to fix
        return {"Code": getattr(exc, "wire_code", "InvalidRecordingException"), "Message": str(exc)}
    # a bug in the fake must not take the server down
    return {"Code": "InternalServerError", "Message": f"rclsim internal error: {type(exc).__name__}: {exc}"}


def _is_rekognition_operation(name: str) -> bool:
    from rclsim.service.apimodel import service_model

    return name in service_model().operation_names
