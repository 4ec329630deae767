"""Starts a model and waits until it is running (what the developer guide's start-model sample does).

Usage: python start_model.py PROJECT_ARN MODEL_ARN VERSION_NAME MIN_INFERENCE_UNITS
"""

import argparse
import logging

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def start_model(rek_client, project_arn, model_arn, version_name, min_inference_units):
    """Starts the model, waits with the project_version_running waiter, prints and returns its status."""
    print(f"Starting model: {model_arn}")
    response = rek_client.start_project_version(
        ProjectVersionArn=model_arn, MinInferenceUnits=min_inference_units
    )
    print(f"Status: {response['Status']}")
    waiter = rek_client.get_waiter("project_version_running")
    waiter.wait(ProjectArn=project_arn, VersionNames=[version_name])

    described = rek_client.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    status = None
    for model in described["ProjectVersionDescriptions"]:
        status = model["Status"]
        print(f"Status: {status}")
        print(f"Message: {model['StatusMessage']}")
    return status


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_arn", help="The ARN of the project that contains the model.")
    parser.add_argument("model_arn", help="The ARN of the model that you want to start.")
    parser.add_argument("version_name", help="The version name of the model.")
    parser.add_argument("min_inference_units", type=int, help="The number of inference units to use.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        status = start_model(
            rekognition_client, args.project_arn, args.model_arn, args.version_name, args.min_inference_units
        )
        print(f"Finished starting model: {args.model_arn}")
        print(f"Status: {status}")
    except ClientError as err:
        logger.exception("Problem starting model: %s", err)
        print(f"Problem starting model: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
