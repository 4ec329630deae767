"""Trains a model (a project version) from the project's TRAIN and TEST datasets, waits for training
to finish with the project_version_training_completed waiter and prints the outcome (what the
developer guide's train-model sample does).

Usage: python train_model.py PROJECT_ARN VERSION_NAME OUTPUT_BUCKET OUTPUT_FOLDER [--tag KEY VALUE]
"""

import argparse
import json
import logging

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def train_model(rek_client, project_arn, version_name, output_bucket, output_folder, tags):
    """Starts training, waits until it completes and returns (model ARN, final status)."""
    print(f"Starting training of: {version_name}")
    kwargs = {
        "ProjectArn": project_arn,
        "VersionName": version_name,
        "OutputConfig": {"S3Bucket": output_bucket, "S3KeyPrefix": output_folder},
    }
    if tags:
        kwargs["Tags"] = tags
    response = rek_client.create_project_version(**kwargs)
    model_arn = response["ProjectVersionArn"]
    print(f"Model ARN: {model_arn}")
    print("Training model...")

    waiter = rek_client.get_waiter("project_version_training_completed")
    waiter.wait(ProjectArn=project_arn, VersionNames=[version_name])

    described = rek_client.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    status = None
    for model in described["ProjectVersionDescriptions"]:
        status = model["Status"]
        print(f"Status: {status}")
        print(f"Message: {model['StatusMessage']}")
        print(f"Billable training time: {model.get('BillableTrainingTimeInSeconds')} seconds")
        if "EvaluationResult" in model:
            print(f"F1 score: {model['EvaluationResult']['F1Score']}")
        print(json.dumps(model.get("OutputConfig", {})))
    return model_arn, status


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_arn", help="The ARN of the project that you want to train.")
    parser.add_argument("version_name", help="A version name of your choosing.")
    parser.add_argument("output_bucket", help="The S3 bucket that hosts training output.")
    parser.add_argument("output_folder", help="The path for the training output within output_bucket.")
    parser.add_argument("--tag", nargs=2, metavar=("KEY", "VALUE"), help="A tag for the model.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        tags = {args.tag[0]: args.tag[1]} if args.tag else None
        model_arn, status = train_model(
            rekognition_client,
            args.project_arn,
            args.version_name,
            args.output_bucket,
            args.output_folder,
            tags,
        )
        print(f"Finished training model: {model_arn}")
        print(f"Status: {status}")
    except ClientError as err:
        logger.exception("Problem training model: %s", err)
        print(f"Problem training model: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
