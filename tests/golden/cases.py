"""The inputs of the output-format golden tests, shared by ``generate.py`` and ``tests/test_output.py``.

Plain Python with no awscli (or rclsim) import, so the generator can run in a separate venv that
has awscli installed and the tests can run without it. Each case is
``name -> (data, query, operation, terminal_width)``; the golden files are
``<name>.<json|text|table>`` next to this file.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
FORMATS = ("json", "text", "table")

NAMES_75 = "CustomLabels[?Confidence>=`75`].Name"


def _load(name: str) -> Any:
    return json.loads((INPUTS / name).read_text(encoding="utf-8"))


def cases() -> dict[str, tuple[Any, str | None, str, int]]:
    """Fresh data on every call: awscli deletes ``ResponseMetadata`` in place."""
    article = _load("article.json")
    living = _load("wild-02-awsdocs-living-space.json")
    out: dict[str, tuple[Any, str | None, str, int]] = {
        "article": (article, None, "DetectCustomLabels", 80),
        "article-width200": (_load("article.json"), None, "DetectCustomLabels", 200),
        "article-names75": (_load("article.json"), NAMES_75, "DetectCustomLabels", 80),
        "article-length": (_load("article.json"), "length(CustomLabels)", "DetectCustomLabels", 80),
        "article-pairs": (
            _load("article.json"),
            "CustomLabels[:3].[Name, Confidence]",
            "DetectCustomLabels",
            80,
        ),
        "article-first-geometry": (
            _load("article.json"),
            "CustomLabels[0].Geometry",
            "DetectCustomLabels",
            80,
        ),
        "article-boxes": (
            _load("article.json"),
            "CustomLabels[:2].Geometry.BoundingBox",
            "DetectCustomLabels",
            80,
        ),
        "article-missing": (_load("article.json"), "NoSuchKey", "DetectCustomLabels", 80),
        "article-first-name": (_load("article.json"), "CustomLabels[0].Name", "DetectCustomLabels", 80),
        "article-metadata-query": (
            dict(_load("article.json"), ResponseMetadata={"RequestId": "r-1", "HTTPStatusCode": 200}),
            "ResponseMetadata",
            "DetectCustomLabels",
            80,
        ),
        "living-space": (living, None, "DetectCustomLabels", 80),
        "empty": ({"CustomLabels": []}, None, "DetectCustomLabels", 80),
        "empty-length": ({"CustomLabels": []}, "length(CustomLabels)", "DetectCustomLabels", 80),
        "empty-names75": ({"CustomLabels": []}, NAMES_75, "DetectCustomLabels", 80),
        "metadata-only": ({"ResponseMetadata": {"RequestId": "r-2"}}, None, "DetectCustomLabels", 80),
        "mixed-geometry": (
            {
                "CustomLabels": [
                    {"Name": "cat", "Confidence": 91.5},
                    {
                        "Name": "dog",
                        "Confidence": 60.25,
                        "Geometry": {
                            "BoundingBox": {"Width": 0.5, "Height": 0.25, "Left": 0.125, "Top": 0.0}
                        },
                    },
                    {"Name": "bird"},
                ]
            },
            None,
            "DetectCustomLabels",
            80,
        ),
        "unicode": (
            {"CustomLabels": [{"Name": "猫 — chat ü", "Confidence": 99.5}, {"Name": "ｶ", "Confidence": 1.0}]},
            None,
            "DetectCustomLabels",
            80,
        ),
        "long-name": (
            {"CustomLabels": [{"Name": "x" * 90, "Confidence": 12.5}, {"Name": "y", "Confidence": 3.0}]},
            None,
            "DetectCustomLabels",
            80,
        ),
        "long-name-one": (
            {"CustomLabels": [{"Name": "z" * 90, "Confidence": 12.5}]},
            None,
            "DetectCustomLabels",
            80,
        ),
        "describe-projects": (
            {
                "ProjectDescriptions": [
                    {
                        "ProjectArn": "arn:aws:rekognition:us-east-1:123456789012:project/demo/1600000000000",
                        "CreationTimestamp": datetime.datetime(
                            2020, 9, 13, 12, 26, 40, 123000, tzinfo=datetime.timezone.utc
                        ),
                        "Status": "CREATED",
                        "AutoUpdate": "DISABLED",
                        "Datasets": [
                            {
                                "DatasetType": "TRAIN",
                                "Status": "CREATE_COMPLETE",
                                "StatusMessage": None,
                                "CreationTimestamp": datetime.datetime(
                                    2020, 9, 14, 8, 0, tzinfo=datetime.timezone.utc
                                ),
                            }
                        ],
                    }
                ],
                "Blob": b"\x00\x01rclsim",
                "Flags": [True, False, None],
                "NextToken": "tok",
            },
            None,
            "DescribeProjects",
            80,
        ),
        "scalar-lists": (
            {"A": [1, 2, [3, 4], "five"], "B": [[1, 2], [3, 4]], "C": {}, "D": []},
            None,
            "X",
            80,
        ),
    }
    for path in sorted(INPUTS.glob("wild-*.json")):
        out[path.stem] = (_load(path.name), None, "DetectCustomLabels", 80)
    return out
