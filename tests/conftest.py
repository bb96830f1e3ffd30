"""Shared fixtures: an in-process IPython shell with the extension loaded, free ports, and sandbox orgs.

``sandbox`` is the module's sandbox org, started once per test module: a module says what it needs
in a ``SANDBOX`` dict (``users``, ``seed``, ``calm=True`` for no latency and no injected faults,
and any other ``Sandbox`` option); without one it gets 1,000 users from seed 1.
``admin`` is an admin's HTTP client of the module's sandbox, ``http`` a plain HTTP client.
``sandbox_factory`` starts sandboxes of a test's own (stopped when the test ends), for tests that
move the clock or need other options. ``free_port`` is a function: call it for each port needed.
"""

from __future__ import annotations

import os
import signal
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from _exit_guard import pytest_sessionfinish, pytest_unconfigure  # noqa: F401 (the suite ends when its tests end)

if TYPE_CHECKING:
    from okta_magic.sandbox import Sandbox

# The browsers these tests drive run beside the kernel, so the loopback redirect works even in a container,
# where the rules (okta_magic.flows.where) could not tell and would pick the device grant. Tests of the choice
# itself give a Session an environment of their own.
os.environ.setdefault("OKTA_SIGN_IN_FLOW", "loopback")

CALM = {"latency": 0.0, "error_rate": 0.0, "rate_429": 0.0, "drop_rate": 0.0}


def _free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """``free_port()`` gives a loopback port nobody listens on right now (any scope may use it)."""
    return _free_port


def _start(users: int = 1000, seed: int = 1, calm: bool = False, **options: Any) -> Sandbox:
    """A started sandbox org on a free port; ``calm`` turns latency and injected faults off."""
    from okta_magic.sandbox import Sandbox

    sandbox = Sandbox(port=0, users=users, seed=seed, **options).start()
    if calm:
        sandbox.set_knobs(**CALM)
    return sandbox


@pytest.fixture(scope="module")
def sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The module's sandbox org, with the options of its ``SANDBOX`` dict."""
    started = _start(**getattr(request.module, "SANDBOX", {}))
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An HTTP client of the module's sandbox org with an admin's token (the native app's scopes); a module that
    needs other scopes defines its own ``admin``."""
    token = sandbox.issue_token(user="admin", app="native")
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """A plain HTTP client (no base URL, redirects not followed) for a browser's or a callback's requests."""
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def sandbox_factory() -> Iterator[Callable[..., Sandbox]]:
    """``sandbox_factory(users=..., seed=..., calm=..., **options)``: a sandbox of the test's own."""
    started: list[Sandbox] = []

    def start(**options: Any) -> Sandbox:
        started.append(_start(**options))
        return started[-1]

    try:
        yield start
    finally:
        for one in started:
            one.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "own_sandbox: the shell's %okta_login --sandbox starts a sandbox of its own "
                                       "(the test moves the clock, writes data, or stops the sandbox)")
    # A suite started in the background by a non-interactive shell (`make test &`, a CI step run that way)
    # inherits SIGINT ignored, and Python then installs no Ctrl-C handler: the tests' Ctrl-C
    # (_thread.interrupt_main) would never arrive and they would fail on how they were started.
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.SIG_DFL):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _sandbox_state(sandbox: Sandbox) -> tuple[Any, ...]:
    """What a test could leave changed in a shared sandbox: its clock, token lifetime, limits, users."""
    return (sandbox.clock.offset, sandbox.token_lifetime, sandbox.rate_limits(), sandbox.stats().concurrency_limit,
            len(sandbox.user_ids(include_deprovisioned=True)))


@pytest.fixture(scope="session")
def _shared_sandboxes() -> Iterator[list[Sandbox]]:
    """The in-kernel sandbox the shells share (as ``%okta_login --sandbox`` starts it: 1,000 users, seed 1)."""
    held: list[Sandbox] = []
    yield held
    for one in held:
        one.stop()


@pytest.fixture
def shell(request: pytest.FixtureRequest, _shared_sandboxes: list[Sandbox]):
    """A fresh InteractiveShell with okta_magic loaded; unloaded (listener stopped) afterwards.

    Its ``%okta_login --sandbox`` signs in to an in-kernel sandbox the shells share (started once), unless the
    test is marked ``own_sandbox``; a test that leaves the shared one changed gets it replaced for the next.
    """
    from IPython.core.interactiveshell import InteractiveShell

    from okta_magic.api import current_profiles
    from okta_magic.sandbox import Sandbox

    ip = InteractiveShell.instance(history_length=0)
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "okta_magic")
    shared = None
    if request.node.get_closest_marker("own_sandbox") is None:
        if not _shared_sandboxes:
            _shared_sandboxes.append(Sandbox(port=0, users=1000, seed=1, in_kernel=True).start())
        shared = _shared_sandboxes[0]
        current_profiles().default.kernel_sandbox.share(shared)
        before = _sandbox_state(shared)
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "okta_magic")
        ip.user_ns.clear()
        ip.init_user_ns()
        if shared is not None and (not shared.running or _sandbox_state(shared) != before):
            _shared_sandboxes.remove(shared)  # the next test starts a fresh one
            shared.stop()


@pytest.fixture
def default() -> Iterator[Any]:
    """The script API's default session, closed afterwards so that the next test starts afresh."""
    from okta_magic import api

    try:
        yield api.current_session()
    finally:
        api.close_current_session()
