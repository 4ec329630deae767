"""Describes the models (project versions) of a project: status, evaluation and training output
(what the developer guide's describe-model sample does).

Usage: python describe_model.py PROJECT_ARN [VERSION_NAME ...]
"""

import argparse
import logging

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def describe_model(rek_client, project_arn, version_names):
    """Prints each model's description; returns how many were described."""
    kwargs = {"ProjectArn": project_arn}
    if version_names:
        kwargs["VersionNames"] = version_names
    count = 0
    paginator = rek_client.get_paginator("describe_project_versions")
    for page in paginator.paginate(**kwargs):
        for model in page["ProjectVersionDescriptions"]:
            count += 1
            print(f"Model: {model['ProjectVersionArn']}")
            print(f"Status: {model['Status']}")
            print(f"Message: {model['StatusMessage']}")
            print(f"Created: {model['CreationTimestamp']}")
            if "BillableTrainingTimeInSeconds" in model:
                print(f"Billable training time (s): {model['BillableTrainingTimeInSeconds']}")
            if "TrainingEndTimestamp" in model:
                print(f"Training ended: {model['TrainingEndTimestamp']}")
            if "MinInferenceUnits" in model:
                print(f"Min inference units: {model['MinInferenceUnits']}")
            if "EvaluationResult" in model:
                evaluation = model["EvaluationResult"]
                summary = evaluation["Summary"]["S3Object"]
                print(f"F1 score: {evaluation['F1Score']}")
                print(f"Summary location: s3://{summary['Bucket']}/{summary['Name']}")
            if "OutputConfig" in model:
                output = model["OutputConfig"]
                print(f"Output: s3://{output['S3Bucket']}/{output.get('S3KeyPrefix', '')}")
            if "ManifestSummary" in model:
                manifest = model["ManifestSummary"]["S3Object"]
                print(f"Manifest summary: s3://{manifest['Bucket']}/{manifest['Name']}")
            for kind in ("TrainingDataResult", "TestingDataResult"):
                if kind in model:
                    print(f"{kind}: {model[kind]}")
            print()
    return count


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_arn", help="The ARN of the project that contains the models.")
    parser.add_argument("version_names", nargs="*", help="Version names of the models (default: all).")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        count = describe_model(rekognition_client, args.project_arn, args.version_names)
        print(f"Finished describing {count} model(s) of project {args.project_arn}")
    except ClientError as err:
        logger.exception("Problem describing model: %s", err)
        print(f"Problem describing model: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
