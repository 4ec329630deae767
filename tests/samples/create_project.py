"""Creates an Amazon Rekognition Custom Labels project (what the developer guide's create-project
sample does).

Usage: python create_project.py PROJECT_NAME
"""

import argparse
import logging

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def create_project(rek_client, project_name):
    """Creates the project and returns its ARN."""
    print(f"Creating project: {project_name}")
    response = rek_client.create_project(ProjectName=project_name)
    print(f"project ARN: {response['ProjectArn']}")
    return response["ProjectArn"]


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_name", help="A name for the new project.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        project_arn = create_project(rekognition_client, args.project_name)
        print(f"Finished creating project: {args.project_name}")
        print(f"ARN: {project_arn}")
    except ClientError as err:
        logger.exception("Problem creating project: %s", err)
        print(f"Problem creating project: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
