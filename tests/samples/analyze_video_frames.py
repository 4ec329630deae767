"""Analyzes the frames of a video with a running model: reads the video with OpenCV, takes one frame a
second, JPEG-encodes it, calls DetectCustomLabels with the bytes and prints the labels with the frame's
timestamp (what the developer guide's video-frames sample does); the labels are also written as JSON.

Usage: python analyze_video_frames.py MODEL_ARN VIDEO_FILE [--min-confidence N] [--output FILE]
"""

import argparse
import json
import logging
import math

import boto3
import cv2
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def analyze_video(rek_client, model, video_file, min_confidence):
    """The labels found in one frame a second, each with the frame's Timestamp (milliseconds)."""
    labels_in_frames = []
    cap = cv2.VideoCapture(video_file)
    if not cap.isOpened():
        raise ValueError(f"OpenCV cannot open {video_file}")
    frame_rate = cap.get(cv2.CAP_PROP_FPS)
    step = max(1, math.floor(frame_rate))
    frames_analyzed = 0
    try:
        while cap.isOpened():
            frame_id = cap.get(cv2.CAP_PROP_POS_FRAMES)
            has_frame, frame = cap.read()
            if not has_frame:
                break
            if frame_id % step != 0:
                continue
            encoded, image_bytes = cv2.imencode(".jpg", frame)
            if not encoded:
                continue
            response = rek_client.detect_custom_labels(
                Image={"Bytes": image_bytes.tobytes()}, MinConfidence=min_confidence, ProjectVersionArn=model
            )
            frames_analyzed += 1
            timestamp = frame_id / frame_rate * 1000
            for label in response["CustomLabels"]:
                label["Timestamp"] = timestamp
                labels_in_frames.append(label)
                box = label.get("Geometry", {}).get("BoundingBox")
                print(f"{timestamp:8.0f} ms  {label['Name']}  {label['Confidence']:.2f}  {json.dumps(box)}")
    finally:
        cap.release()
    print(f"Frames analyzed: {frames_analyzed}")
    return labels_in_frames


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("model_arn", help="The ARN of the model that you want to use.")
    parser.add_argument("video", help="The path and file name of the video.")
    parser.add_argument("--min-confidence", type=float, default=50, help="The minimum confidence (0-100).")
    parser.add_argument("--output", help="Write the labels as JSON to this file.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        labels = analyze_video(rekognition_client, args.model_arn, args.video, args.min_confidence)
        if args.output:
            with open(args.output, "w", encoding="utf-8") as out:
                json.dump(labels, out, indent=2)
        print(f"Custom labels detected: {len(labels)}")
    except ClientError as err:
        logger.exception("Problem analyzing video: %s", err)
        print(f"Problem analyzing video: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
