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

Importing rclsim is cheap: every name above is loaded on first use; the drop-in's inert hook
(:mod:`rclsim.frontends.hook`) is registered when botocore's handlers are first loaded, boto3 is imported
when a backend is made, OpenCV only when something is drawn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: The article's model and image, recorded in the built-in fixtures.
ARTICLE_MODEL_ARN = (
    "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/version/"
    "licence-plates.2021-01-01T00.00.00/1609459200000"
)
ARTICLE_PROJECT_ARN = "arn:aws:rekognition:ap-northeast-1:123456789012:project/licence-plates/1609459100000"
ARTICLE_IMAGE = {"S3Object": {"Bucket": "my-bucket", "Name": "test-qiita/9c5f2a31335627a0.jpg"}}

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
    "CallHistory",
]

# Every public name is loaded on first use, so that ``import rclsim.geometry`` (or the CLI's detect
# path) pays for neither the fake core, nor botocore, nor OpenCV.
_LAZY = {
    "BACKENDS": "backends",
    "Backend": "backends",
    "get_backend": "backends",
    "running_model": "frontends.control",
    "find_running": "frontends.control",
    "mock": "frontends.dropin",
    "image_param": "data.imageparam",
    "RclsimError": "service.errors",
    "RecordingError": "service.errors",
    "annotate": "reports.drawing",
    "side_by_side": "reports.drawing",
    "to_pixels": "geometry",
    "CallHistory": "fake.history",
}

if TYPE_CHECKING:
    from rclsim.backends import BACKENDS, Backend, get_backend
    from rclsim.data.imageparam import image_param
    from rclsim.fake.history import CallHistory
    from rclsim.frontends.control import find_running, running_model
    from rclsim.frontends.dropin import mock
    from rclsim.geometry import to_pixels
    from rclsim.reports.drawing import annotate, side_by_side
    from rclsim.service.errors import RclsimError, RecordingError


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rclsim' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # found once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


# The boto3 drop-in's hook must be on every botocore session made from now on, so that clients created
# before a `with rclsim.mock():` block are covered too. It does nothing while no mock is active.
from rclsim.frontends.hook import install_when_botocore_loads as _install_hook  # noqa: E402

_install_hook()
