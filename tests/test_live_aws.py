"""Live checks against real AWS, free of charge (Describe* only). Skipped unless pytest runs with
--rcl-live-aws-may-incur-charges and real credentials are configured; they never start a model."""

from __future__ import annotations

import pytest
from botocore.validate import ParamValidator

import rclsim
from rclsim.service.apimodel import operation_model

pytestmark = pytest.mark.live_aws


def test_describe_projects_matches_the_model() -> None:
    response = rclsim.get_backend("aws").describe_projects(MaxResults=5)
    report = ParamValidator().validate(response, operation_model("DescribeProjects").output_shape)
    assert not report.has_errors(), report.generate_report()


def test_find_running_lists_only_billing_versions() -> None:
    for row in rclsim.find_running(rclsim.get_backend("aws")):
        assert row["Status"] in ("STARTING", "RUNNING") and row["HourlyCost"] > 0
