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

Guardrails (docs/guardrails.md):

* ``rcl_calls``: the test's :class:`~rclsim.fake.history.CallHistory`, so a test asserts
  ``rcl_calls.count("DetectCustomLabels", MinConfidence=75) == 2``. On the fakes it is the outermost
  layer of the test's core (it sees what the caller saw, faults included); on live AWS it records the
  calls made through ``rcl_backend``/``rcl_client`` from botocore's events.
* ``@pytest.mark.rcl_faults(rules, seed=None)`` and the ``rcl_faults(rules, seed=None)`` fixture put
  fault rules (:class:`rclsim.fake.faults.FaultRules`: a list of rules, ``{"seed": N, "rules": [...]}``,
  or a rules file, relative to the test file's folder) on the test's fake; the seed is the marker's, else
  ``RCLSIM_SEED``, else the rules' own. On ``--rcl-backend aws`` (no fake to put them on) such a test is
  skipped, saying why [U].
* A test that leaves a model STARTING or RUNNING on its backend errors at teardown, naming the model and
  what it costs an hour, and the session fails with a summary of every such model and the test that
  left it. On the fakes the state is checked at teardown (a model already billing before the test, in a
  shared ``RCLSIM_STATE_DIR``, is not the test's). With ``--rcl-backend aws`` only what the session
  started (a successful StartProjectVersion through ``rcl_backend``/``rcl_client``) is checked, and at
  the end of the session it is stopped (StopProjectVersion; a STARTING model is waited for first) and
  the summary says so. The fakes' models are not stopped: their state is the test's to inspect [U].
  ``@pytest.mark.rcl_leaves_running(*arns, reason=...)`` opts a test out (all models, or the ARNs
  given): listed in the summary, not failed, and not stopped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    config.addinivalue_line(
        "markers",
        "rcl_faults(rules, seed=None): put rclsim fault rules (a list of rules, {seed, rules} or a rules "
        "file) on the test's fake backend (rcl_backend, rcl_client, rcl_mock)",
    )
    config.addinivalue_line(
        "markers",
        "rcl_leaves_running(*arns, reason=None): the test means to leave these models (all, if none "
        "given) STARTING or RUNNING; rclsim's guardrail lists them instead of failing the session",
    )
    config.stash[_SESSION] = _Session()
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
    in-memory state for every test (unless RCLSIM_STATE_DIR names a folder, whose state it shares).
    At teardown, a model the test left STARTING or RUNNING is an error (see the module's docstring)."""
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
    test = _TestState(backend, request.node.nodeid, settings)
    request.node.stash[_TEST] = test
    left: list[_LeftRunning] = []
    try:
        test.before = _billing_now(backend)
        test.watch_live()
        marker = request.node.get_closest_marker("rcl_faults")
        if marker is not None:
            _add_faults(request, test, *marker.args, **marker.kwargs)
        yield backend
        left = _left_running(request, test)
    finally:
        test.unwatch_live()
        backend.close()
    if left:
        pytest.fail("\n".join(x.message() for x in left), pytrace=False)


@pytest.fixture
def rcl_calls(rcl_backend: Any, request: pytest.FixtureRequest) -> Any:
    """The calls made to this test's backend (:class:`rclsim.fake.history.CallHistory`):
    ``rcl_calls.count("DetectCustomLabels", MinConfidence=75)``, ``rcl_calls.of(op)``, ``.calls``."""
    return request.node.stash[_TEST].history_on()


@pytest.fixture
def rcl_faults(rcl_backend: Any, request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``rcl_faults(rules, seed=None)`` puts fault rules on this test's fake and returns the
    :class:`rclsim.fake.faults.FaultRules` (its ``fired()`` counts what they did); gone after the test."""
    test = request.node.stash[_TEST]

    def add(rules: Any, *, seed: int | None = None) -> Any:
        return _add_faults(request, test, rules, seed=seed)

    return add


# -- guardrails ------------------------------------------------------------------------------------
#: Statuses in which a model is billed (or about to be): rclsim.frontends.control.BILLING_STATUSES.
_BILLING = ("STARTING", "RUNNING")


@dataclass
class _LeftRunning:
    arn: str
    status: str
    nodeid: str
    price: str | None  # "USD 4.00/hour for 1 inference unit"
    live: bool  # on AWS (stopped at the session's end) or on a fake
    model: Any = None  # aws: the ModelRef to stop
    settings: Any = None  # aws: to make a client at the session's end
    outcome: str | None = None  # aws: what stopping it did
    reason: str | None = None  # opted out: the marker's reason

    def message(self) -> str:
        cost = f", billed about {self.price} while it runs" if self.price else ""
        where = "AWS" if self.live else "its fake backend"
        then = (
            "rclsim stops it at the end of the session"
            if self.live
            else "stop what the test starts (rclsim.running_model does), or mark the test "
            "@pytest.mark.rcl_leaves_running if it means to leave it running"
        )
        return f"rclsim: {self.nodeid} left {self.arn} {self.status} on {where}{cost}: {then}"


@dataclass
class _Session:
    left: list[_LeftRunning] = field(default_factory=list)
    on_purpose: list[_LeftRunning] = field(default_factory=list)


_SESSION = pytest.StashKey[_Session]()


class _TestState:
    """One test's backend with its call history, fault rules and (on AWS) the models it started."""

    def __init__(self, backend: Any, nodeid: str, settings: Any) -> None:
        self.backend = backend
        self.nodeid = nodeid
        self.settings = settings
        self.core: Any = getattr(backend, "core", None)
        self.history: Any = None
        self.faults: list[Any] = []
        self.before: dict[str, str] = {}
        self.started: list[str] = []  # aws: ARNs this test started
        self.client: Any = _live_client(backend) if self.core is None else None
        self._handlers: list[tuple[str, Any]] = []

    def history_on(self) -> Any:
        if self.history is None:
            from rclsim.fake.history import CallHistory

            self.history = CallHistory()
            if self.core is not None:
                self.core.add_layer(self.history.layer)
        return self.history

    def add_faults_inside_history(self, rules: Any) -> None:
        """Put fault rules on the fake (``backend.add_faults``: the drop-in then answers where
        botocore's retry handler sees each attempt) with the call history (if any) kept outermost: it
        records what the caller saw, faults included."""
        if self.history is not None:
            self.core.remove_layer(self.history.layer)
        add = getattr(self.backend, "add_faults", None)
        if add is not None:
            add(rules)
        else:
            self.core.add_layer(rules.layer)
        if self.history is not None:
            self.core.add_layer(self.history.layer)

    # -- live AWS: botocore's events on the client rcl_backend and rcl_client use --------------------
    def watch_live(self) -> None:
        if self.client is None:
            return
        events = self.client.meta.events
        self._handlers = [
            ("provide-client-params.rekognition", self._asked),
            ("after-call.rekognition", self._answered),
        ]
        for event, handler in self._handlers:
            events.register(event, handler, unique_id=f"rclsim-guard-{event}-{id(self)}")

    def unwatch_live(self) -> None:
        if self.client is None:
            return
        for event, handler in self._handlers:
            self.client.meta.events.unregister(event, handler, unique_id=f"rclsim-guard-{event}-{id(self)}")
        self._handlers = []

    def _asked(self, params: Any = None, context: Any = None, **_: Any) -> None:
        if context is not None:
            context["rclsim_params"] = dict(params or {})

    def _answered(
        self, http_response: Any = None, parsed: Any = None, model: Any = None, context: Any = None, **_: Any
    ) -> None:
        params = (context or {}).get("rclsim_params", {})
        operation = getattr(model, "name", "?")
        error = (parsed or {}).get("Error") if isinstance(parsed, dict) else None
        ok = http_response is not None and http_response.status_code < 300 and not error
        if ok and operation == "StartProjectVersion" and params.get("ProjectVersionArn"):
            self.started.append(params["ProjectVersionArn"])
        if self.history is not None:
            response = None
            if ok:
                response = {k: v for k, v in (parsed or {}).items() if k != "ResponseMetadata"}
            code = (
                None
                if ok
                else (error or {}).get("Code") or f"HTTP {getattr(http_response, 'status_code', '?')}"
            )
            message = None if ok else (error or {}).get("Message")
            self.history.record(operation, params, response, code, self.client.meta.region_name, message)


def _live_client(backend: Any) -> Any:
    """The boto3 client of an aws backend (plain, or behind record mode); None for the fakes."""
    client = getattr(backend, "client", None)
    if client is None:
        client = getattr(getattr(backend, "live", None), "client", None)
    return client


def _billing_now(backend: Any) -> dict[str, str]:
    """ARN -> status of the fake's versions that are STARTING or RUNNING (nothing for AWS)."""
    core = getattr(backend, "core", None)
    if core is None:
        return {}
    return {decl.arn: state.status for decl, state in core.lifecycle.versions() if state.status in _BILLING}


def _allowed(request: pytest.FixtureRequest) -> tuple[bool, set[str], str | None]:
    """Whether the test opted out (rcl_leaves_running), for which ARNs (empty: all), and why."""
    marker = request.node.get_closest_marker("rcl_leaves_running")
    if marker is None:
        return False, set(), None
    return True, {str(a) for a in marker.args}, marker.kwargs.get("reason")


def _price(arn: str, units: int | None, max_units: int | None, prices: Any = None) -> str | None:
    from rclsim.fake.cost import hourly_price
    from rclsim.service.errors import RclsimError

    try:
        return hourly_price(units or 1, max_units, arn=arn, prices=prices).text()
    except RclsimError:  # a bad RCLSIM_PRICES: the guardrail still names the model
        return None


def _left_running(request: pytest.FixtureRequest, test: _TestState) -> list[_LeftRunning]:
    """The models this test left STARTING or RUNNING; those it opted out for go to the summary only."""
    session = request.config.stash[_SESSION]
    opted_out, arns, reason = _allowed(request)
    found: list[_LeftRunning] = []
    if test.core is not None:
        for decl, state in test.core.lifecycle.versions():
            if state.status in _BILLING and test.before.get(decl.arn) is None:
                price = _price(decl.arn, state.min_iu, state.max_iu, test.core.prices)
                found.append(_LeftRunning(decl.arn, state.status, test.nodeid, price, live=False))
    else:
        found = _left_on_aws(test)
    failing = []
    for left in found:
        if opted_out and (not arns or left.arn in arns):
            left.reason = reason
            session.on_purpose.append(left)
        else:
            session.left.append(left)
            failing.append(left)
    return failing


def _left_on_aws(test: _TestState) -> list[_LeftRunning]:
    """What this test started on AWS and is still STARTING or RUNNING (DescribeProjects and
    DescribeProjectVersions: free calls)."""
    from rclsim.frontends.control import resolve

    test.unwatch_live()
    found = []
    for arn in dict.fromkeys(test.started):
        model = resolve(test.backend, arn)
        described = test.backend.describe_project_versions(
            ProjectArn=model.project_arn, VersionNames=[model.version_name]
        ).get("ProjectVersionDescriptions", [])
        desc = described[0] if described else {}
        if desc.get("Status") in _BILLING:
            price = _price(arn, desc.get("MinInferenceUnits"), desc.get("MaxInferenceUnits"))
            found.append(
                _LeftRunning(
                    arn, desc["Status"], test.nodeid, price, True, model=model, settings=test.settings
                )
            )
    return found


def _add_faults(
    request: pytest.FixtureRequest, test: _TestState, rules: Any, *, seed: int | None = None
) -> Any:
    """Put ``rules`` on the test's fake (inside the call history) until the test ends."""
    if test.core is None:
        pytest.skip(
            "rcl_faults: fault rules go on rclsim's fake backends (replay, sim); --rcl-backend aws calls "
            "the real service, which fails as it will"
        )
    from rclsim.fake.faults import FaultRules

    if seed is None:
        seed = test.settings.seed
    if isinstance(rules, (str, os.PathLike)):
        path = os.fspath(rules)
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(str(request.node.path)), path)
        made = FaultRules.load(path, seed=seed)
    else:
        made = FaultRules.from_data(rules, origin=f"fault rules of {test.nodeid}", seed=seed)
    test.add_faults_inside_history(made)
    test.faults.append(made)
    return made


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop on AWS what the session started and left running; fail the session if anything was left."""
    state = session.config.stash.get(_SESSION, None)
    if state is None or not state.left:
        return
    for left in state.left:
        if left.live:
            left.outcome = _stop_on_aws(left)
    if session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _stop_on_aws(left: _LeftRunning) -> str:
    from rclsim.backends.aws import AwsBackend
    from rclsim.frontends.control import stop_model

    said: list[str] = []
    try:
        settings = left.settings
        with AwsBackend(
            region=settings.region, profile=settings.profile, endpoint_url=settings.endpoint_url
        ) as backend:
            outcome = stop_model(backend, left.model, say=said.append)
    except Exception as exc:  # say it, and go on to the next model
        return (
            f"could NOT be stopped ({type(exc).__name__}: {exc}); stop it yourself: "
            f"rclsim --backend aws stop --project-version-arn {left.arn}"
        )
    return "; ".join([*said, f"stopped by rclsim at the end of the session: {outcome.message}"])


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(_SESSION, None)
    if state is None or not (state.left or state.on_purpose):
        return
    write = terminalreporter.write_line
    if state.left:
        terminalreporter.write_sep("=", "rclsim: models left running", red=True, bold=True)
        for left in state.left:
            cost = f" ({left.price})" if left.price else ""
            write(f"{left.arn} {left.status}{cost}")
            write(f"  left by {left.nodeid}")
            if left.outcome:
                write(f"  {left.outcome}")
        write(
            "Stop what a test starts (rclsim.running_model does it for you), or mark a test that means "
            "to leave a model running with @pytest.mark.rcl_leaves_running(ARN, reason=...)."
        )
    if state.on_purpose:
        terminalreporter.write_sep("-", "rclsim: models left running on purpose (rcl_leaves_running)")
        for left in state.on_purpose:
            why = f": {left.reason}" if left.reason else ""
            write(f"{left.arn} {left.status} left by {left.nodeid}{why}")


_TEST = pytest.StashKey[_TestState]()


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
