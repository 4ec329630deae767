"""Shows a trained model's evaluation: finds the evaluation summary file through DescribeProjectVersions'
EvaluationResult, reads it from S3 and prints the overall F1 score and each label's F1 score,
precision, recall and assumed threshold (what the developer guide's summary-file sample does).

Usage: python show_evaluation.py PROJECT_ARN VERSION_NAME
"""

import argparse
import json
import logging

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def _fmt(value):
    return "-" if value is None else f"{value:.3f}"


def show_evaluation(rek_client, s3_client, project_arn, version_name):
    """Prints the evaluation table of the model; returns the summary file's contents."""
    described = rek_client.describe_project_versions(ProjectArn=project_arn, VersionNames=[version_name])
    model = described["ProjectVersionDescriptions"][0]
    evaluation = model["EvaluationResult"]
    location = evaluation["Summary"]["S3Object"]
    print(f"Model: {model['ProjectVersionArn']}")
    print(f"F1 score: {evaluation['F1Score']}")
    print(f"Summary file: s3://{location['Bucket']}/{location['Name']}")

    summary_object = s3_client.get_object(Bucket=location["Bucket"], Key=location["Name"])
    summary = json.loads(summary_object["Body"].read().decode("utf-8"))
    details = summary.get("EvaluationDetails", {})
    print(
        f"Testing images: {details.get('NumberOfTestingImages')}  "
        f"training images: {details.get('NumberOfTrainingImages')}"
    )
    print(f"{'Label':<20}{'F1':>8}{'Precision':>11}{'Recall':>8}{'Threshold':>11}{'Images':>8}")
    for result in summary["LabelEvaluationResults"]:
        metrics = result["Metrics"]
        print(
            f"{result['Label']:<20}{_fmt(metrics['F1Score']):>8}{_fmt(metrics['Precision']):>11}"
            f"{_fmt(metrics['Recall']):>8}{_fmt(metrics['Threshold']):>11}{result['NumberOfTestingImages']:>8}"
        )
    return summary


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_arn", help="The ARN of the project that contains the model.")
    parser.add_argument("version_name", help="The version name of the model.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        show_evaluation(
            session.client("rekognition"), session.client("s3"), args.project_arn, args.version_name
        )
    except ClientError as err:
        logger.exception("Problem showing evaluation: %s", err)
        print(f"Problem showing evaluation: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
