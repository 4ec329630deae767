"""SageMaker Ground Truth manifests (JSON Lines), as Amazon Rekognition Custom Labels reads them.

A manifest is how a Custom Labels dataset names its images and their ground truth: one JSON object per
line, ``source-ref`` plus label attributes ``X`` each with an ``X-metadata``. rclsim reads them to
compare a model (or a simulation) with the truth, and writes them so recordings and simulations can
become datasets. Two kinds are supported: object detection (``groundtruth/object-detection``, boxes in
pixels) and image classification (``groundtruth/image-classification``, one class name per pair).

* :mod:`rclsim.data.manifest.entries`: what one line holds (:class:`ManifestEntry`, :class:`Box`) and why a
  line was not loaded (:class:`ManifestProblem`);
* :mod:`rclsim.data.manifest.validation`: the rules one line must follow, checked by
  :mod:`rclsim.data.manifest.line_schema` (the committed schema, compiled to fast checks) and the pairing
  rules JSON Schema cannot express;
* :mod:`rclsim.data.manifest.reading`: streaming a manifest (:func:`iter_manifest` and friends);
* :mod:`rclsim.data.manifest.writing`: writing one in the console's format (:func:`write_manifest`);
* :mod:`rclsim.data.manifest.service_check`: the service's own import check, with its error codes
  (:func:`check_manifest`), as CreateDataset and ``rclsim manifest check`` apply it;
* :mod:`rclsim.data.manifest.from_responses`: entries from DetectCustomLabels responses
  (:func:`entries_from_responses`), predictions as truth.
"""

from __future__ import annotations

from rclsim.data.manifest.entries import (
    CLASSIFICATION,
    DETECTION,
    MANIFEST_LINE_SCHEMA_ID,
    Box,
    ManifestEntry,
    ManifestProblem,
)
from rclsim.data.manifest.from_responses import entries_from_responses
from rclsim.data.manifest.line_schema import (
    _fast_checks as _fast_checks,  # the tests compare the fast checks with jsonschema
)
from rclsim.data.manifest.line_schema import _validators as _validators
from rclsim.data.manifest.line_schema import manifest_line_schema
from rclsim.data.manifest.reading import (
    MAX_LINE_BYTES as MAX_LINE_BYTES,  # importable here, as before the split
)
from rclsim.data.manifest.reading import iter_manifest, manifest_problems, read_manifest
from rclsim.data.manifest.service_check import ManifestCheck, check_manifest
from rclsim.data.manifest.writing import write_manifest

__all__ = [
    "MANIFEST_LINE_SCHEMA_ID",
    "DETECTION",
    "CLASSIFICATION",
    "Box",
    "ManifestEntry",
    "ManifestProblem",
    "manifest_line_schema",
    "iter_manifest",
    "read_manifest",
    "manifest_problems",
    "write_manifest",
    "entries_from_responses",
    "check_manifest",
    "ManifestCheck",
]
