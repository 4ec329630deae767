"""rclsim's pytest plugin (registered through the ``pytest11`` entry point, so installing rclsim is
enough): options to pick the backend, fixtures that hand tests a backend or a boto3 client wired to
it, and a ``live_aws`` marker for tests that may cost money.

Options: ``--rcl-backend replay|sim|aws`` (default ``RCLSIM_BACKEND``, else replay),
``--rcl-record-mode none|once|new|all`` (aws backend only; see :mod:`rclsim.backends.record`),
``--rcl-recordings DIR`` (repeatable), ``--rcl-manifest M`` (sim), ``--rcl-live-aws-may-incur-charges``.
Every other setting comes from its ``RCLSIM_*`` variable (``RCLSIM_SEED``, ``RCLSIM_TIME_SCALE``,
``RCLSIM_STRICT``, ...), resolved as the CLI and :func:`rclsim.get_backend` resolve it (the table in
:mod:`rclsim.config`). The aws backend may start billable models, so it needs
``--rcl-live-aws-may-incur-charges`` too (except with ``--rcl-record-mode none``, which never calls AWS
and replays DetectCustomLabels only).

Fixtures: ``rcl_backend`` (a Backend; fresh in-memory fake state for every test, unless
``RCLSIM_STATE_DIR`` names a folder whose state it then shares), ``rcl_client`` (a
``boto3`` Rekognition client answering from it: through :func:`rclsim.mock` for the fakes and record
mode, the plain client for live AWS) and ``rcl_mock`` (the mock itself, so that every boto3 client the
code under test makes answers from ``rcl_backend``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


def _cost_warning() -> str:
    """The --rcl-live-aws-may-incur-charges help: what a started model costs per hour, from rclsim's
    price table (RCLSIM_PRICES, else the built-in one)."""
    from rclsim.service.errors import RclsimError

    try:
        from rclsim.fake.cost import hourly_price

        price = hourly_price(1)
        figure = (
            f"about {price.currency} {price.unit_price:.2f} per inference unit per hour, prices as of "
            f"{price.as_of}, unverified"
        )
    except RclsimError:  # a bad RCLSIM_PRICES is refused where prices are used, not in pytest's help
        figure = "billed per inference unit per hour"
    return (
        "run tests marked live_aws against real AWS with your credentials. They may start Custom Labels "
        f"models, which are billed for every hour they run ({figure}) until stopped, and may incur "
        "other AWS charges"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rclsim", "rclsim: offline Amazon Rekognition Custom Labels")
    group.addoption(
        "--rcl-backend",
        choices=("replay", "sim", "aws"),
        default=None,
        help="backend of the rcl_backend/rcl_client fixtures (default RCLSIM_BACKEND, else replay)",
    )
    group.addoption(
        "--rcl-manifest",
        default=None,
        metavar="M",
        help="with --rcl-backend sim: the Ground Truth manifest to simulate (default RCLSIM_MANIFEST)",
    )
    group.addoption(
        "--rcl-record-mode",
        choices=("none", "once", "new", "all"),
        default=None,
        help="with --rcl-backend aws: record live DetectCustomLabels responses into the first "
        "--rcl-recordings folder (none: replay only, never call AWS)",
    )
    group.addoption(
        "--rcl-recordings",
        action="append",
        default=None,
        metavar="DIR",
        help="recordings folder, repeatable (default RCLSIM_RECORDINGS)",
    )
    group.addoption(
        "--rcl-live-aws-may-incur-charges", action="store_true", default=False, help=_cost_warning()
    )


def _settings(config: pytest.Config) -> Any:  # rclsim.config.Settings
    """The rclsim settings: the --rcl-* options, then the RCLSIM_* variables, then the defaults (the
    same resolver as the CLI and get_backend, naming the --rcl-* options in its messages)."""
    from rclsim.config import resolve

    return resolve(
        "pytest",
        backend=config.getoption("rcl_backend"),
        recordings=config.getoption("rcl_recordings"),
        manifest=config.getoption("rcl_manifest"),
        record_mode=config.getoption("rcl_record_mode"),
    )


def pytest_configure(config: pytest.Config) -> None:
    from rclsim.config import setting
    from rclsim.service.errors import RclsimError

    config.addinivalue_line(
        "markers",
        "live_aws: calls real AWS and may cost money; runs only with --rcl-live-aws-may-incur-charges",
    )
    # Only what decides whether the run may go ahead; the fixtures resolve (and check) the rest.
    try:
        backend = setting("backend", config.getoption("rcl_backend"), front_end="pytest")
        record_mode = setting("record_mode", config.getoption("rcl_record_mode"), front_end="pytest")
    except RclsimError as exc:
        raise pytest.UsageError(str(exc)) from None
    if config.getoption("rcl_record_mode") and backend != "aws":
        raise pytest.UsageError("--rcl-record-mode records live responses: it needs --rcl-backend aws")
    if backend == "aws" and record_mode != "none" and not config.getoption("rcl_live_aws_may_incur_charges"):
        raise pytest.UsageError(
            "--rcl-backend aws calls real AWS, where tests may start billable models: add "
            "--rcl-live-aws-may-incur-charges, or test offline with --rcl-backend replay "
            "--rcl-recordings DIR (the whole model lifecycle, from your recordings; --rcl-record-mode "
            "none answers DetectCustomLabels only)"
        )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("rcl_live_aws_may_incur_charges"):
        return
    skip = pytest.mark.skip(reason="live_aws: calls real AWS; run with --rcl-live-aws-may-incur-charges")
    for item in items:
        if item.get_closest_marker("live_aws") is not None:
            item.add_marker(skip)


@pytest.fixture
def rcl_backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The backend the command line and the RCLSIM_* variables pick; a fake one starts from fresh
    in-memory state for every test (unless RCLSIM_STATE_DIR names a folder, whose state it shares)."""
    import dataclasses

    from rclsim.backends import backend_from_settings

    settings = _settings(request.config)
    no_region = not (settings.region or os.environ.get("AWS_DEFAULT_REGION"))
    if settings.record_mode == "none" and no_region:
        # replay only: no call is made, any region will do
        settings = dataclasses.replace(settings, region="us-east-1")
    if settings.backend != "aws" and settings.region is None:
        # a fake asks as rcl_client does, so the backend and the client agree on what a region holds
        settings = dataclasses.replace(settings, region=_client_region())
    backend = backend_from_settings(settings)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def rcl_mock(rcl_backend: Any) -> Iterator[Any]:
    """While the test runs, every boto3/botocore Rekognition client answers from ``rcl_backend``
    (live AWS: nothing is intercepted)."""
    from rclsim.backends.aws import AwsBackend
    from rclsim.frontends.dropin import mock

    if isinstance(rcl_backend, AwsBackend):
        yield rcl_backend
        return
    with mock(rcl_backend):
        yield rcl_backend


@pytest.fixture
def rcl_client(rcl_backend: Any) -> Iterator[Any]:
    """A boto3 Rekognition client answering from ``rcl_backend``."""
    import boto3

    from rclsim.backends.aws import AwsBackend
    from rclsim.frontends.dropin import mock

    if isinstance(rcl_backend, AwsBackend):
        yield rcl_backend.client
        return
    with mock(rcl_backend):
        region = _client_region()
        # A botocore client takes milliseconds to make and holds no state of its own here (the mock
        # routes every call to this test's fresh backend), so one client per region serves all tests.
        client = _clients.get(region)
        if client is None:
            client = _clients[region] = boto3.client("rekognition", region_name=region)
        yield client


_clients: dict[str, Any] = {}


def _client_region() -> str:
    """The region of the fakes' client: RCLSIM_REGION or AWS_REGION (the region setting), else
    boto3's AWS_DEFAULT_REGION, else us-east-1."""
    from rclsim.config import setting

    return str(setting("region") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
