"""Analyzes a local image file with a running model and prints the custom labels it finds (what the
developer guide's analyze-a-local-image sample does: it opens the image with an imaging library and
sends the image the library saves back out, so the bytes sent are a re-encoding of the file; here
OpenCV decodes and re-encodes it, as the guide's sample does with PIL).

Usage: python analyze_local_image.py MODEL_ARN IMAGE_FILE [--min-confidence N] [--output FILE]
"""

import argparse
import logging
from pathlib import Path

import boto3
import cv2
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def analyze_local_image(rek_client, model, photo, min_confidence, output):
    """Calls DetectCustomLabels on the re-encoded image; prints the labels; returns how many were found."""
    image = cv2.imread(photo, cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"{photo} is not an image OpenCV can read")
    ok, encoded = cv2.imencode(Path(photo).suffix or ".jpg", image)
    if not ok:
        raise ValueError(f"cannot encode {photo}")
    image_binary = encoded.tobytes()

    response = rek_client.detect_custom_labels(
        Image={"Bytes": image_binary}, MinConfidence=min_confidence, ProjectVersionArn=model
    )
    print(f"Detected custom labels for {photo}")
    height, width = image.shape[:2]
    for label in response["CustomLabels"]:
        print(f"Label {label['Name']}")
        print(f"Confidence {label['Confidence']}")
        if "Geometry" in label:
            box = label["Geometry"]["BoundingBox"]
            print(
                f"Box: left {box['Left']:.4f} top {box['Top']:.4f} "
                f"width {box['Width']:.4f} height {box['Height']:.4f}"
            )
            left, top = int(width * box["Left"]), int(height * box["Top"])
            cv2.rectangle(
                image,
                (left, top),
                (left + int(width * box["Width"]), top + int(height * box["Height"])),
                (0, 255, 0),
                2,
            )
    if output:
        cv2.imwrite(output, image)
        print(f"Image with boxes saved to {output}")
    return len(response["CustomLabels"])


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("model_arn", help="The ARN of the model that you want to use.")
    parser.add_argument("image", help="The path and file name of the local image.")
    parser.add_argument("--min-confidence", type=float, default=50, help="The minimum confidence (0-100).")
    parser.add_argument("--output", help="Save the image with the boxes drawn to this file.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        label_count = analyze_local_image(
            rekognition_client, args.model_arn, args.image, args.min_confidence, args.output
        )
        print(f"Custom labels detected: {label_count}")
    except ClientError as err:
        logger.exception("Problem analyzing image: %s", err)
        print(f"Problem analyzing image: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
