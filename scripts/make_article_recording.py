#!/usr/bin/env python3
"""Build fixtures/article/9c5f2a31335627a0.recording.json: the article's response as an rclsim recording.

The response is the article's own 31-label DetectCustomLabels answer, verbatim. The model and image
identities are the ones the project settled on for the article (its real ARN and bucket were not
published); the image's sha256 and size are those of the committed synthetic stand-in JPEG, so the same
recording also answers ``--image-bytes fileb://fixtures/article/9c5f2a31335627a0.jpg``.

Usage: python scripts/make_article_recording.py RESPONSE.json [--overwrite]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rclsim import ARTICLE_IMAGE, ARTICLE_MODEL_ARN  # noqa: E402
from rclsim.data.imageinfo import read_image_info  # noqa: E402
from rclsim.service.schemas import recording_problems  # noqa: E402

IMAGE = ROOT / "fixtures" / "article" / "9c5f2a31335627a0.jpg"
TARGET = ROOT / "fixtures" / "article" / "9c5f2a31335627a0.recording.json"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("response", type=Path, help="the article's response JSON")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    if TARGET.exists() and not args.overwrite:
        print(f"{TARGET} exists; pass --overwrite to replace it", file=sys.stderr)
        return 1
    response = json.loads(args.response.read_text(encoding="utf-8"))
    data = IMAGE.read_bytes()
    info = read_image_info(data)
    recording = {
        "format": "rclsim.recording",
        "format_version": 1,
        "operation": "DetectCustomLabels",
        "recorded_at": "2021-01-01T09:00:00Z",
        "region": "ap-northeast-1",
        "request": {"ProjectVersionArn": ARTICLE_MODEL_ARN, "MinConfidence": None, "MaxResults": None},
        "image": {
            "S3Object": ARTICLE_IMAGE["S3Object"],
            "Sha256": hashlib.sha256(data).hexdigest(),
            "Width": info.width,
            "Height": info.height,
            "Format": info.format,
        },
        "response": response,
        "note": (
            "The article's recorded DetectCustomLabels response (31 labels, MinConfidence omitted). "
            "recorded_at is a stand-in: the article does not say when it was recorded. Sha256, Width and "
            "Height are those of the synthetic stand-in JPEG beside this file."
        ),
    }
    problems = recording_problems(recording)
    if problems:
        print("\n".join(str(p) for p in problems), file=sys.stderr)
        return 1
    TARGET.write_text(json.dumps(recording, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
