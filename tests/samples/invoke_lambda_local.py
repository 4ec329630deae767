"""Invokes lambda_function.lambda_handler locally with an event built the way the developer guide's
Lambda client builds its payload: a local image file sent as base64, or an image in S3. (The guide's
client calls Lambda's Invoke; Lambda itself is not part of this test, so the handler runs in-process,
as `python-lambda-local` or a unit test would run it.)

Usage: MODEL_ARN=ARN python invoke_lambda_local.py (--file IMAGE_FILE | --s3 BUCKET KEY)
"""

import argparse
import base64
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lambda_function  # noqa: E402


def main():
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--file", help="A local image file, sent as base64.")
    source.add_argument("--s3", nargs=2, metavar=("BUCKET", "KEY"), help="An image in S3.")
    args = parser.parse_args()
    if args.file:
        event = {"image": base64.b64encode(Path(args.file).read_bytes()).decode("utf-8")}
    else:
        event = {"S3Object": {"Bucket": args.s3[0], "Name": args.s3[1]}}
    result = lambda_function.lambda_handler(event, None)
    print(f"Status code: {result['statusCode']}")
    body = json.loads(result["body"])
    if result["statusCode"] != 200:
        print(f"Error: {body}")
        raise SystemExit(1)
    for label in body:
        box = label.get("Geometry", {}).get("BoundingBox")
        print(f"Label {label['Name']} Confidence {label['Confidence']:.2f} Box {json.dumps(box)}")
    print(f"Custom labels detected: {len(body)}")


if __name__ == "__main__":
    main()
