"""rclsim: offline testing and simulation for Amazon Rekognition Custom Labels.

The Python API in one screen::

    import rclsim

    backend = rclsim.get_backend("replay")            # or "aws" for real Rekognition
    response = backend.detect_custom_labels(
        ProjectVersionArn=rclsim.ARTICLE_MODEL_ARN,
        Image={"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}},
        MinConfidence=75,
    )
    annotated = rclsim.annotate(image, response["CustomLabels"])   # OpenCV, imported on first use

Importing rclsim is cheap: the drop-in's inert hook is registered when botocore's handlers are first
loaded, boto3 is imported when a backend is made, OpenCV only when something is drawn.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: The article's model and image, recorded in the built-in fixtures.
ARTICLE_MODEL_ARN = (
    "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/"
    "licence-plates.2021-01-01T00.00.00/1609459200000"
)
ARTICLE_PROJECT_ARN = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/1609459100000"
ARTICLE_IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}

from .backends import BACKENDS, Backend, get_backend  # noqa: E402
from .control import find_running, running_model  # noqa: E402
from .dropin import install_when_botocore_loads as _install_dropin  # noqa: E402
from .dropin import mock  # noqa: E402
from .errors import RclsimError, RecordingError  # noqa: E402
from .imageparam import image_param  # noqa: E402

__all__ = [
    "__version__",
    "ARTICLE_MODEL_ARN",
    "ARTICLE_PROJECT_ARN",
    "ARTICLE_IMAGE",
    "BACKENDS",
    "Backend",
    "get_backend",
    "running_model",
    "mock",
    "find_running",
    "image_param",
    "RclsimError",
    "RecordingError",
    "annotate",
    "side_by_side",
    "to_pixels",
]

# The boto3 drop-in's hook must be on every botocore session made from now on, so that clients created
# before a `with rclsim.mock():` block are covered too. It does nothing while no mock is active.
_install_dropin()

_LAZY = {"annotate": "drawing", "side_by_side": "drawing", "to_pixels": "geometry"}


def __getattr__(name: str) -> Any:
    # Drawing pulls in OpenCV; load it only when someone draws.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'rclsim' has no attribute {name!r}")
