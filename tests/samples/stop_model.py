"""Stops a running model and polls until it has stopped (what the developer guide's stop-model sample does).

Usage: python stop_model.py PROJECT_ARN MODEL_ARN
"""

import argparse
import logging
import time

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def get_model_status(rek_client, project_arn, model_arn):
    """The model's status, found by listing the project's versions."""
    paginator = rek_client.get_paginator("describe_project_versions")
    for page in paginator.paginate(ProjectArn=project_arn):
        for model in page["ProjectVersionDescriptions"]:
            if model["ProjectVersionArn"] == model_arn:
                return model["Status"]
    raise RuntimeError(f"Model {model_arn} not found in project {project_arn}")


def stop_model(rek_client, project_arn, model_arn):
    """Stops the model, waits while it is STOPPING, prints and returns the final status."""
    print(f"Stopping model: {model_arn}")
    response = rek_client.stop_project_version(ProjectVersionArn=model_arn)
    status = response["Status"]
    print(f"Status: {status}")
    while status == "STOPPING":
        status = get_model_status(rek_client, project_arn, model_arn)
        print(f"Status: {status}")
        if status == "STOPPING":
            time.sleep(10)
    return status


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_arn", help="The ARN of the project that contains the model.")
    parser.add_argument("model_arn", help="The ARN of the model that you want to stop.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        status = stop_model(rekognition_client, args.project_arn, args.model_arn)
        print(f"Finished stopping model: {args.model_arn}")
        print(f"Status: {status}")
    except ClientError as err:
        logger.exception("Problem stopping model: %s", err)
        print(f"Problem stopping model: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
