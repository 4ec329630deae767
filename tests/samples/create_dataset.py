"""Creates a TRAIN or TEST dataset in a project from a SageMaker Ground Truth manifest in S3, and waits
until the import finishes (what the developer guide's create-dataset-from-manifest sample does).

Usage: python create_dataset.py PROJECT_ARN {train,test} BUCKET MANIFEST_KEY
"""

import argparse
import logging
import time

import boto3
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)


def create_dataset(rek_client, project_arn, dataset_type, bucket, manifest_file):
    """Creates the dataset, polls DescribeDataset until it is no longer being created, and returns its ARN."""
    dataset_type = dataset_type.upper()
    print(f"Creating {dataset_type} dataset for project {project_arn} from s3://{bucket}/{manifest_file}")
    response = rek_client.create_dataset(
        ProjectArn=project_arn,
        DatasetType=dataset_type,
        DatasetSource={"GroundTruthManifest": {"S3Object": {"Bucket": bucket, "Name": manifest_file}}},
    )
    dataset_arn = response["DatasetArn"]
    print(f"dataset ARN: {dataset_arn}")

    finished = False
    while not finished:
        dataset = rek_client.describe_dataset(DatasetArn=dataset_arn)["DatasetDescription"]
        status = dataset["Status"]
        if status == "CREATE_IN_PROGRESS":
            print(f"Creating dataset: {dataset_arn}")
            time.sleep(5)
            continue
        finished = True
        if status == "CREATE_COMPLETE":
            print(f"Dataset created: {dataset_arn}")
        else:
            print(f"Dataset creation failed: {status} : {dataset_arn}")
        print(f"Status: {status}")
        print(f"Message: {dataset['StatusMessage']}")
        stats = dataset.get("DatasetStats", {})
        print(
            f"Entries: {stats.get('TotalEntries')} labels: {stats.get('TotalLabels')} "
            f"errors: {stats.get('ErrorEntries')}"
        )
        if status != "CREATE_COMPLETE":
            raise RuntimeError(f"Dataset creation failed: {status}")
    return dataset_arn


def main():
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    parser = argparse.ArgumentParser(usage=argparse.SUPPRESS)
    parser.add_argument("project_arn", help="The ARN of the project in which you want to create the dataset.")
    parser.add_argument("dataset_type", choices=["train", "test"], help="The type of the dataset.")
    parser.add_argument("bucket", help="The S3 bucket that contains the manifest file.")
    parser.add_argument("manifest_file", help="The path and file name of the manifest file in the bucket.")
    args = parser.parse_args()
    try:
        session = boto3.Session(profile_name="custom-labels-access")
        rekognition_client = session.client("rekognition")
        dataset_arn = create_dataset(
            rekognition_client, args.project_arn, args.dataset_type, args.bucket, args.manifest_file
        )
        print(f"Finished creating dataset: {dataset_arn}")
    except ClientError as err:
        logger.exception("Problem creating dataset: %s", err)
        print(f"Problem creating dataset: {err}")
        raise SystemExit(1) from err


if __name__ == "__main__":
    main()
