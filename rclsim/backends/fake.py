"""Local fake backends: the fake core behind the Backend interface.

The backend plays the part of botocore's client: it runs botocore's own client-side parameter
validation (so ``MinConfidence=-1`` raises ``ParamValidationError`` exactly as with boto3), then hands
the call to the core, which plays the service.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from ..apimodel import OPERATIONS, operation_model
from ..core import FakeRekognition, ReplaySource
from ..errors import service_error
from ..recordings import RecordingStore
from .base import Backend

__all__ = ["FakeBackend", "ReplayBackend"]


class FakeBackend(Backend):
    """A Backend over a :class:`~rclsim.core.FakeRekognition`."""

    name = "fake"

    def __init__(self, core: FakeRekognition):
        self.core = core

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        if operation not in OPERATIONS:
            raise service_error(
                "UnsupportedOperationException",
                f"rclsim fakes only {', '.join(OPERATIONS)}; {operation} is not one of them",
                operation,
            )
        from botocore.validate import validate_parameters

        validate_parameters(params, operation_model(operation).input_shape)
        return self.core.call(operation, params)


class ReplayBackend(FakeBackend):
    """Answers from recorded responses (see :mod:`rclsim.recordings`)."""

    name = "replay"

    def __init__(
        self,
        recordings: Iterable[str | os.PathLike[str]] = (),
        *,
        include_builtin: bool = True,
        strict: bool = False,
    ) -> None:
        self.store = RecordingStore(recordings, include_builtin=include_builtin)
        super().__init__(FakeRekognition(ReplaySource(self.store), strict=strict))
