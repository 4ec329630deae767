"""The suite itself is offline: the guard in conftest.py refuses any non-loopback connection."""

from __future__ import annotations

import os
import socket

import pytest

import rclsim

from .conftest import ARTICLE_ARN, ARTICLE_S3, LIVE, NetworkBlocked, running_article_backend


@pytest.mark.parametrize("address", [("8.8.8.8", 53), ("169.254.169.254", 80), ("10.0.0.1", 443)])
def test_non_loopback_connections_are_refused(address: tuple[str, int]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s, pytest.raises(NetworkBlocked):
        s.connect(address)


def test_name_resolution_of_aws_hosts_is_refused() -> None:
    with pytest.raises(NetworkBlocked):
        socket.getaddrinfo("rekognition.us-east-1.amazonaws.com", 443)


def test_loopback_is_allowed() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass


@pytest.mark.skipif(LIVE, reason="live runs keep the caller's real AWS environment")
def test_boto3_never_probes_instance_metadata() -> None:
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    assert os.environ["AWS_ACCESS_KEY_ID"] == "testing"


def test_the_default_backend_is_replay_and_needs_no_network() -> None:
    assert rclsim.get_backend().name == "replay"
    backend = running_article_backend()
    assert backend.detect_custom_labels(ProjectVersionArn=ARTICLE_ARN, Image=ARTICLE_S3)["CustomLabels"]
