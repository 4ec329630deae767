"""Turn what a user types into the API's ``Image`` parameter.

The AWS CLI's forms work as they do there: ``--image '{"S3Object": {...}}'`` (JSON, or ``file://x.json``)
and ``--image-bytes fileb://photo.jpg``. rclsim adds two shorthands: ``s3://bucket/key`` becomes an
``S3Object`` and a local path becomes ``Bytes``. Whether the image is acceptable (size, format,
dimensions) is decided by the service, or by the fake core; this module only reads what it is given.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rclsim.service.errors import RclsimError
from rclsim.service.files import parse_json, read_file_bytes, read_json_file

__all__ = ["image_param", "read_image_bytes", "parse_image_json"]

# Refuse to read absurd files into memory: no image Rekognition accepts comes near this.
_READ_CAP = 64 * 1024 * 1024


def read_image_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a local image file, with a one-line error when it cannot be read."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        if not p.is_file():  # a FIFO or device would block or never end
            raise RclsimError(f"{p}: not a file")
        size = p.stat().st_size
        if size > _READ_CAP:
            raise RclsimError(
                f"{p}: {size} bytes is far over any image Rekognition accepts (4 MiB as Bytes, 15 MiB in S3)"
            )
    return read_file_bytes(p, what="image file", cap=_READ_CAP)


def _s3(uri: str) -> dict[str, Any]:
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise RclsimError(f"{uri!r} is not an S3 URI of the form s3://bucket/key")
    return {"S3Object": {"Bucket": bucket, "Name": key}}


def parse_image_json(text: str, *, option: str = "--image") -> dict[str, Any]:
    """The AWS CLI's ``--image`` value: JSON, or ``file://path`` holding JSON."""
    source = option
    if text.startswith("file://"):
        path = Path(text[len("file://") :])
        source = f"{option} ({path})"
        value = read_json_file(path, where=source)
    else:
        value = parse_json(text, source)
    if not isinstance(value, dict):
        raise RclsimError(f'{source}: expected a JSON object such as {{"S3Object": {{...}}}}')
    return value


def image_param(ref: str | os.PathLike[str] | bytes) -> dict[str, Any]:
    """The ``Image`` parameter for ``ref``: bytes, ``s3://bucket/key``, ``fileb://path``, a JSON
    object (``{"S3Object": ...}``), ``file://x.json``, or a local image path."""
    if isinstance(ref, (bytes, bytearray)):
        return {"Bytes": bytes(ref)}
    text = os.fspath(ref)
    if not text.strip():
        raise RclsimError("the image is empty: give JSON, s3://BUCKET/KEY, fileb://PATH or a path")
    if text.startswith("s3://"):
        return _s3(text)
    if text.startswith("fileb://"):
        return {"Bytes": read_image_bytes(text[len("fileb://") :])}
    stripped = text.strip()
    if text.startswith("file://") or stripped[0] in '{["' or stripped in ("null", "true", "false"):
        return parse_image_json(text)
    return {"Bytes": read_image_bytes(text)}
