"""Analyzes an image in an S3 bucket with a running model, prints the custom labels it finds and draws
their bounding boxes on the image (what the developer guide's analyze-an-image-in-S3 sample does; it
shows the image in a window, this one saves it with --output).

Usage: python analyze_image_s3.py MODEL_ARN BUCKET IMAGE_KEY [--min-confidence N] [--output FILE]
"""

import argparse
import logging

import boto3
import cv2
import numpy as np
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def draw_labels(image_bytes, custom_labels):
    """The image with each label's box and name drawn on it, as an OpenCV array."""
    image = cv2.imdecode(np.frombuffer(image_bytes, dtype=np.uint8), cv2.IMREAD_COLOR)
    height, width = image.shape[:2]
    for label in custom_labels:
        if "Geometry" not in label:
            continue
        box = label["Geometry"]["BoundingBox"]
        left, top = int(width * box["Left"]), int(height * box["Top"])
        right, bottom = left + int(width * box["Width"]), top + int(height * box["Height"])
        cv2.rectangle(image, (left, top), (right, bottom), (0, 255, 0), 2)
        cv2.putText(
            image,
            f"{label['Name']} {label['Confidence']:.1f}%",
            (left, max(top - 4, 10)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4,
            (0, 255, 0),
            1,
        )
    return image


def analyze_image(rek_client, s3_client, model, bucket, photo, min_confidence, output):
    """Calls DetectCustomLabels on s3://bucket/photo, prints the labels; returns how many were found."""
    response = rek_client.detect_custom_labels(
        Image={"S3Object": {"Bucket": bucket, "Name": photo}},
        MinConfidence=min_confidence,
        ProjectVersionArn=model,
    )
    print(f"Detected custom labels for s3://{bucket}/{photo}")
    for label in response["CustomLabels"]:
        print(f"Label {label['Name']}")
        print(f"Confidence {label['Confidence']}")
        if "Geometry" in label:
            box = label["Geometry"]["BoundingBox"]
            print(
                f"Box: left {box['Left']:.4f} top {box['Top']:.4f} "
                f"width {box['Width']:.4f} height {box['Height']:.4f}"
            )
    if output:
        image_bytes = s3_client.get_object(Bucket=bucket, Key=photo)["Body"].read()
        cv2.imwrite(output, draw_labels(image_bytes, response["CustomLabels"]))
        print(f"Image with boxes saved to {output}")
    return len(response["CustomLabels"])


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("model_arn", help="The ARN of the model that you want to use.")
    parser.add_argument("bucket", help="The S3 bucket that contains the image.")
    parser.add_argument("image", help="The name of the image in the bucket.")
    parser.add_argument("--min-confidence", type=float, default=50, help="The minimum confidence (0-100).")
    parser.add_argument("--output", help="Save the image with the boxes drawn to this file.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        s3_client = session.client("s3")
        label_count = analyze_image(
            rekognition_client,
            s3_client,
            args.model_arn,
            args.bucket,
            args.image,
            args.min_confidence,
            args.output,
        )
        print(f"Custom labels detected: {label_count}")
    except ClientError as err:
        logger.exception("Problem analyzing image: %s", err)
        print(f"Problem analyzing image: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
