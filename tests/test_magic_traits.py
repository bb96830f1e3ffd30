"""Every ``%config OktaMagics.<trait>`` has its effect: one test per trait, against the sandbox org."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from _login_fixtures import Browser
from IPython.core.error import UsageError

from okta_magic.api import current_session
from okta_magic.notebook.magics import OktaMagics

TRAITS = ("org_url", "client_id", "scopes", "redirect_uri", "login_timeout", "request_wait", "progress", "warn_scopes")


def test_this_file_tests_every_trait():
    assert set(OktaMagics.class_traits(config=True)) == set(TRAITS)


@contextlib.contextmanager
def configured(shell, **values: object) -> Iterator[None]:
    """Set traits with %config, as a user would; put the defaults back afterwards."""
    for name, value in values.items():
        shell.run_line_magic("config", f"OktaMagics.{name} = {value!r}")
    try:
        yield
    finally:
        for name in values:
            default = OktaMagics.class_traits()[name].default_value
            shell.run_line_magic("config", f"OktaMagics.{name} = {default!r}")


def _authorize_query(flow) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(flow.authorize_url).query).items()}


def _org(port: int) -> dict[str, str]:
    """The sandbox used as a real org would be: its URL, the native app's client id, a registered redirect URI."""
    sandbox = current_session().kernel_sandbox.start(users=30)
    uri = f"http://127.0.0.1:{port}/callback"
    sandbox.add_redirect_uri("native", uri)
    return {"org_url": sandbox.url, "client_id": sandbox.apps["native"].client_id, "redirect_uri": uri,
            "scopes": "openid okta.groups.read"}


def _finish_sign_in(user: str = "admin") -> None:
    session = current_session()
    password = session.sandbox.demo_users[user].password
    Browser(user, password).sign_in(session.flow.authorize_url, session.config.redirect_uri)
    session.current_token()


@pytest.mark.parametrize("trait", ["org_url", "client_id", "scopes", "redirect_uri"])
def test_a_sign_in_setting_given_by_config_is_used(shell, free_port, trait):
    org = _org(free_port())
    options = " ".join(f"--{name.replace('_', '-')} '{value}'" for name, value in org.items() if name != trait)
    with configured(shell, **{trait: org[trait]}):
        shell.run_line_magic("okta_login", f"--no-widget {options}")
        session = current_session()
        assert session.flow.authorize_url.startswith(org["org_url"] + "/oauth2/v1/authorize?")
        sent = _authorize_query(session.flow)
        assert (sent["client_id"], sent["redirect_uri"], sent["scope"]) == (
            org["client_id"], org["redirect_uri"], org["scopes"])
        _finish_sign_in()
        assert session.token.scopes_granted == ("openid", "okta.groups.read")
        assert len(shell.run_line_magic("okta", "GET /api/v1/groups")) > 0


def test_the_option_beats_the_config(shell, free_port):
    org = _org(free_port())
    with configured(shell, scopes="openid okta.users.read"):
        shell.run_line_magic("okta_login", f"--no-widget --org-url {org['org_url']} --client-id {org['client_id']} "
                                           f"--redirect-uri {org['redirect_uri']} --scopes 'openid okta.groups.read'")
        assert _authorize_query(current_session().flow)["scope"] == "openid okta.groups.read"


def test_scopes_from_config_with_the_sandbox(shell):
    with configured(shell, scopes="openid okta.groups.read"):
        shell.run_line_magic("okta_login", "--sandbox --as admin")
    assert current_session().token.scopes_granted == ("openid", "okta.groups.read")


def test_redirect_uri_from_config_with_the_sandbox(shell, free_port):
    uri = f"http://localhost:{free_port()}/callback"
    with configured(shell, redirect_uri=uri):
        shell.run_line_magic("okta_login", "--sandbox --as helpdesk --scopes 'openid okta.users.read'")
    session = current_session()
    assert session.config.redirect_uri == uri  # not a port of the sandbox's choosing
    assert uri in session.sandbox.apps["native"].redirect_uris
    assert session.token.subject == "helpdesk@example.com"


def _listening(uri: str) -> bool:
    parts = urlsplit(uri)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((parts.hostname or "127.0.0.1", parts.port or 80)) == 0


def test_login_timeout_ends_a_sign_in_nobody_completes(shell):
    with configured(shell, login_timeout=0.5):
        shell.run_line_magic("okta_login", "--sandbox --no-widget --scopes 'openid okta.users.read'")
        session = current_session()
        flow, uri = session.flow, session.config.redirect_uri
        assert _listening(uri)
        deadline = time.monotonic() + 10
        while not flow.done and time.monotonic() < deadline:
            time.sleep(0.05)
    assert flow.done and "Nobody completed the sign-in within" in flow.status.message
    assert not _listening(uri)  # the listener closed with it


def test_login_timeout_default_keeps_the_listener_open(shell):
    shell.run_line_magic("okta_login", "--sandbox --no-widget --scopes 'openid okta.users.read'")
    flow = current_session().flow
    time.sleep(1)
    assert not flow.done and flow.timeout == 900


def test_request_wait_bounds_how_long_a_request_waits_for_a_sign_in(shell, capsys):
    # The sign-in itself would give up after 8 s; the request must give up after request_wait, long before.
    with configured(shell, request_wait=0.5, login_timeout=8):
        shell.run_line_magic("okta_login", "--sandbox --no-widget --scopes 'openid okta.users.read'")
        started = time.monotonic()
        with pytest.raises(UsageError) as info:
            shell.run_line_magic("okta", "GET /api/v1/users")
        waited = time.monotonic() - started
    assert waited < 4, waited
    assert "\n" not in str(info.value) and "Still waiting for the sign-in" in str(info.value)
    assert "Waiting for the sign-in to finish (up to 0.5 s)" in capsys.readouterr().err
    assert not current_session().flow.done  # the sign-in itself goes on: a person may still finish it


def _sign_in_sandbox(shell, scopes: str = "openid okta.users.read") -> None:
    current_session().kernel_sandbox.start(users=30)
    shell.run_line_magic("okta_login", f"--sandbox --as admin --scopes '{scopes}'")


@pytest.mark.own_sandbox  # a sandbox of 30 users (_sign_in_sandbox)
@pytest.mark.parametrize("progress", [True, False])
def test_progress_shows_a_bar_on_a_multi_page_pull_or_not(shell, capsys, progress):
    _sign_in_sandbox(shell)
    capsys.readouterr()
    with configured(shell, progress=progress):
        users = shell.run_line_magic("okta", "GET /api/v1/users?limit=5")
    assert len(users) == 30
    err = capsys.readouterr().err
    assert ("pages" in err) == progress, err  # tqdm's bar: "okta: 6 pages [...]"


@pytest.mark.parametrize("warn", [True, False])
def test_warn_scopes_warns_before_a_request_the_token_cannot_make_or_not(shell, capsys, warn):
    _sign_in_sandbox(shell)
    capsys.readouterr()
    with configured(shell, warn_scopes=warn), pytest.raises(UsageError, match="okta.groups.read"):
        shell.run_line_magic("okta", "GET /api/v1/groups")
    assert ("Warning: GET /api/v1/groups needs okta.groups.read" in capsys.readouterr().err) == warn
