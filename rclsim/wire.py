"""Rekognition's wire protocol (JSON 1.1) in front of the fake core: bytes in, bytes out.

One request is ``POST /`` with ``X-Amz-Target: RekognitionService.<Operation>`` and a JSON body whose
blobs are base64; the answer is HTTP 200 with compact JSON (as the service sends it: no spaces,
timestamps as epoch seconds), or HTTP 400/500 with ``{"__type": "<Code>", "Message": "..."}``. The
local endpoint (:mod:`rclsim.server`) and the boto3 drop-in (:mod:`rclsim.dropin`) both answer through
:func:`handle`, so what a client sees is the same whichever way it reaches the fake. Signatures are
not checked.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .apimodel import OPERATIONS, operation_model
from .errors import RclsimError, http_status, new_request_id

__all__ = ["WireResponse", "handle", "TARGET_PREFIX", "CONTENT_TYPE", "MAX_BODY_BYTES"]

TARGET_PREFIX = "RekognitionService."
CONTENT_TYPE = "application/x-amz-json-1.1"
#: Bodies larger than this are refused before they are read: a 4 MiB image is about 5.6 MB in base64.
MAX_BODY_BYTES = 8 * 1024 * 1024

#: Runs one operation on the fake: ``(operation, params) -> response``, raising ``ClientError``.
Call = Callable[[str, dict[str, Any]], dict[str, Any]]
#: The last encoding of one fake's DetectCustomLabels answers, per small request body: (the answer,
#: its JSON). Encoding 31 labels costs ~140 µs (float reprs, mostly); comparing answers ~5 µs.
EncodedAnswers = dict[bytes, tuple[dict[str, Any], bytes]]


@dataclass
class WireResponse:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=_encode_value).encode("utf-8")


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


def _decode_blobs(shape: Any, value: Any, path: str) -> Any:
    """Base64-decode the blob members of ``value`` (JSON as parsed) following the input shape."""
    t = shape.type_name
    if t == "blob" and isinstance(value, str):
        try:
            return base64.b64decode(value.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise _BadBody(f"Value at '{path}' is not valid base64") from None
    if t == "structure" and isinstance(value, dict):
        return {
            name: (
                _decode_blobs(shape.members[name], v, f"{path}.{name}".lstrip("."))
                if name in shape.members
                else v
            )
            for name, v in value.items()
        }
    if t == "list" and isinstance(value, list):
        return [_decode_blobs(shape.member, v, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def decode_params(operation: str, body: bytes) -> dict[str, Any]:
    """The AWS-shaped parameters of a JSON 1.1 request body (blobs decoded)."""
    if not body.strip():
        return {}
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BadBody(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise _BadBody("the request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise _BadBody("the request body must be a JSON object")
    return _decode_blobs(operation_model(operation).input_shape, data, "")  # type: ignore[no-any-return]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_result(response: Mapping[str, Any]) -> bytes:
    """The service's JSON for a response: compact, no ``ResponseMetadata``."""
    return _compact({k: v for k, v in response.items() if k != "ResponseMetadata"})


def handle(
    target: str | None, body: bytes, call: Call, encoded: EncodedAnswers | None = None
) -> WireResponse:
    """Answer one JSON 1.1 request. Never raises for bad input: every problem is an error response.
    ``encoded``: the JSON of earlier answers of the same fake, to reuse (see :func:`_encoded`)."""

    request_id = new_request_id()
    if not target or not target.startswith(TARGET_PREFIX):
        return error_response(
            "UnknownOperationException",
            f"X-Amz-Target must be '{TARGET_PREFIX}<Operation>', got {target!r}",
            request_id,
        )
    operation = target[len(TARGET_PREFIX) :]
    if operation not in OPERATIONS:
        return error_response(
            "UnknownOperationException"
            if not _is_rekognition_operation(operation)
            else "UnsupportedOperationException",
            f"rclsim fakes only {', '.join(OPERATIONS)}; {operation} is not one of them",
            request_id,
        )
    try:
        params = decode_params(operation, body)
    except _BadBody as exc:
        return error_response("SerializationException", str(exc), request_id)
    except RecursionError:
        return error_response("SerializationException", "the request body is nested too deeply", request_id)
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
    if isinstance(exc, RclsimError):  # the fake's own files (a broken recording): the caller's to fix
        return {"Code": "InvalidRecordingException", "Message": str(exc)}
    # a bug in the fake must not take the server down
    return {"Code": "InternalServerError", "Message": f"rclsim internal error: {type(exc).__name__}: {exc}"}


def _is_rekognition_operation(name: str) -> bool:
    from .apimodel import service_model

    return name in service_model().operation_names
