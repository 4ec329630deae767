"""An AWS Lambda function that analyzes an image with a Custom Labels model (what the developer guide's
Lambda sample does). The model's ARN comes from the function's MODEL_ARN environment variable; the
event holds either the image as base64 ({"image": "..."}) or an S3 object
({"S3Object": {"Bucket": "...", "Name": "..."}}). The response is {"statusCode": 200, "body": labels JSON}
or a 400/500 with the error.
"""

import base64
import json
import logging
import os

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger()
logger.setLevel(logging.INFO)

rek_client = boto3.client("rekognition")
model_arn = os.environ["MODEL_ARN"]


class ImageError(Exception):
    """The event names no image the function can use."""


def get_image(event):
    """The DetectCustomLabels Image parameter for the event's image."""
    if "image" in event:
        return {"Bytes": base64.b64decode(event["image"].encode("utf-8"))}
    if "S3Object" in event:
        s3_object = event["S3Object"]
        return {"S3Object": {"Bucket": s3_object["Bucket"], "Name": s3_object["Name"]}}
    raise ImageError("Invalid source. Only image base 64 encoded image bytes or S3Object are supported.")


def lambda_handler(event, context):
    """Analyzes the event's image and returns the custom labels as the response body."""
    try:
        image = get_image(event)
        min_confidence = float(event.get("min_confidence", 50))
        response = rek_client.detect_custom_labels(
            Image=image, MinConfidence=min_confidence, ProjectVersionArn=model_arn
        )
        labels = response["CustomLabels"]
        logger.info("Detected %d custom labels", len(labels))
        return {"statusCode": 200, "body": json.dumps(labels)}
    except ClientError as err:
        error = err.response["Error"]
        message = f"{error['Code']}: {error['Message']}"
        logger.error("Error calling DetectCustomLabels: %s", message)
        return {"statusCode": 400, "body": json.dumps({"Error": error["Code"], "ErrorMessage": message})}
    except ImageError as err:
        logger.error("Bad event: %s", err)
        return {"statusCode": 400, "body": json.dumps({"Error": "ImageError", "ErrorMessage": str(err)})}
