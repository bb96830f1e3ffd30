"""What a session does while it moves on: pulls in flight keep their client, the sandbox's clock is the tokens'
clock, one pacer per org for every profile, and a profile's errors name that profile."""

from __future__ import annotations

import logging
import threading
import time

import pytest

import okta_magic
from okta_magic.errors import NotSignedIn, OktaMagicError
from okta_magic.pulls.fanout import run_each
from okta_magic.sessions.profiles import Profiles
from okta_magic.sessions.session import Session

SCOPES = "openid okta.users.read okta.groups.read"


def _signed_in(sandbox, user: str = "admin", **options) -> Session:
    session = Session(**options)
    session.kernel_sandbox.share(sandbox)
    session.sign_in_sandbox(user, layers=[{"scopes": SCOPES}])
    return session


def _fan_out_in_background(session: Session, sandbox) -> tuple[threading.Thread, dict]:
    gids = [g["id"] for g in session.client.request("GET", "/api/v1/groups", params={"limit": 200}).json()]
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = run_each(session, "GET /api/v1/groups/{{gid}}/users?limit=5", "gid", gids, {},
                                       progress=False, concurrency=2).value
        except BaseException as exc:  # noqa: BLE001 - the test reads what ended it
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    sandbox.set_knobs(latency=0.05)
    thread.start()
    deadline = time.monotonic() + 20
    while sandbox.stats().total < 40 and time.monotonic() < deadline:  # well into the fan-out
        time.sleep(0.02)
    return thread, result


def test_a_sign_out_during_a_fan_out_keeps_every_row_fetched_and_says_why(sandbox_factory):
    sandbox = sandbox_factory(users=300, calm=True)
    session = _signed_in(sandbox)
    try:
        thread, result = _fan_out_in_background(session, sandbox)
        session.logout()
        thread.join(60)
        error = result.get("error")
        assert isinstance(error, NotSignedIn), repr(error)  # was: RuntimeError("... client has been closed")
        assert "signed out" in str(error) and "\n" not in str(error)
        assert error.partial is not None and len(error.partial) > 0  # the rows fetched before it are kept
    finally:
        sandbox.set_knobs(latency=0)
        session.close()


def test_a_second_sign_in_to_the_same_org_during_a_fan_out_lets_it_finish(sandbox_factory):
    sandbox = sandbox_factory(users=300, calm=True)
    session = _signed_in(sandbox)
    try:
        thread, result = _fan_out_in_background(session, sandbox)
        session.sign_in_sandbox("helpdesk", layers=[{"scopes": SCOPES}])  # completes while the workers pull
        thread.join(60)
        assert "error" not in result, repr(result.get("error"))
        groups = len(session.client.request("GET", "/api/v1/groups", params={"limit": 200}).json())
        assert result["value"]["gid"].nunique() <= groups and len(result["value"]) > 0
    finally:
        sandbox.set_knobs(latency=0)
        session.close()


def test_a_sign_in_to_another_org_during_a_fan_out_stops_it_with_its_rows(sandbox_factory):
    sandbox, other = sandbox_factory(users=300, calm=True), sandbox_factory(users=20, calm=True)
    session = _signed_in(sandbox)
    try:
        thread, result = _fan_out_in_background(session, sandbox)
        other_session = _signed_in(other)
        session.adopt(other_session.token, other_session.held_config)
        thread.join(60)
        error = result.get("error")
        assert isinstance(error, NotSignedIn) and "has since signed in to" in str(error), repr(error)
        assert error.partial is not None and len(error.partial) > 0
        assert other.stats().responses.get(401, 0) == 0  # nothing of the fan-out went to the new org
        other_session.close()
    finally:
        sandbox.set_knobs(latency=0)
        session.close()


def test_a_logout_during_a_magic_fan_out_sets_okta_partial(shell, capsys):
    from IPython.core.error import UsageError

    shell.run_line_magic("okta_login", f'--sandbox --as admin --scopes "{SCOPES}"')
    session = okta_magic.session("default")
    sandbox = session.sandbox
    shell.user_ns["gids"] = [g["id"] for g in session.client.request("GET", "/api/v1/groups",
                                                                     params={"limit": 200}).json()]
    sandbox.set_knobs(latency=0.05)
    result: dict = {}

    def run() -> None:
        try:
            shell.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users?limit=5 --each gid=gids --concurrency 2")
        except UsageError as exc:
            result["error"] = exc

    start = sandbox.stats().total
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while sandbox.stats().total < start + 40 and time.monotonic() < deadline:
        time.sleep(0.02)
    session.logout()
    thread.join(60)
    sandbox.set_knobs(latency=0)
    message = str(result["error"])
    assert "signed out" in message and "\n" not in message and "_okta_partial" in message
    assert len(shell.user_ns["_okta_partial"]) > 0


@pytest.mark.own_sandbox
def test_moving_the_sandbox_clock_is_time_passing_for_its_sessions(shell):
    shell.run_line_magic("okta_login", '--sandbox --as admin --app offline --profile off '
                                       '--scopes "openid offline_access okta.users.read"')
    session = okta_magic.session("off")
    first = session.token
    okta_magic.sandbox.current().advance_clock(3700)  # "an hour later"
    me = shell.run_line_magic("okta", "-p off GET /api/v1/users/me")
    assert "admin@example.com" in str(me)
    assert session.token.access_token != first.access_token  # refreshed, not thrown away
    assert session.token.expires_in(okta_magic.sandbox.current().clock()) > 3000


@pytest.mark.own_sandbox
def test_a_profile_error_names_that_profiles_command(shell):
    from IPython.core.error import UsageError

    shell.run_line_magic("okta_login", '--sandbox --as admin --profile short --scopes "openid okta.users.read"')
    okta_magic.sandbox.current().advance_clock(3700)  # no refresh token: the token is over
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("okta", "-p short GET /api/v1/users/me")
    assert "%okta_login --profile short" in str(info.value)


def test_a_refreshed_id_token_that_fails_only_a_time_check_keeps_the_new_access_token(sandbox, caplog):
    from okta_magic.oauth.token_endpoint import refresh_token

    session = Session()
    session.kernel_sandbox.share(sandbox)
    try:
        first = session.sign_in_sandbox("admin", app="offline", layers=[{"scopes": "openid offline_access"}])
        conf = session.held_config
        with caplog.at_level(logging.WARNING):
            fresh = refresh_token(conf.org_url, conf.client_id, first, http=session.oauth_http(),
                                  clock=lambda: time.time() - 3720)  # this machine's clock an hour behind
        assert fresh.access_token != first.access_token and fresh.id_token == first.id_token
        assert "set aside" in caplog.text and first.access_token not in caplog.text
    finally:
        session.close()


def test_two_profiles_on_one_org_share_one_pacer_and_cause_no_429s(sandbox_factory):
    sandbox = sandbox_factory(users=300, calm=True)
    profiles = Profiles(Session())
    try:
        first = profiles.default
        first.kernel_sandbox.share(sandbox)
        first.sign_in_sandbox("admin", layers=[{"scopes": SCOPES}])
        second = profiles.ensure("ro")
        second.sign_in_sandbox("helpdesk", layers=[{"scopes": SCOPES}])
        assert first.client.pacer is second.client.pacer
        first.client.pacer.set_concurrency(6)  # the org's cap, for every profile on it
        usual = sandbox.stats().concurrency_limit
        sandbox.set_knobs(concurrency_limit=8, latency=0.03)
        sandbox.reset_stats()
        gids = [g["id"] for g in first.client.request("GET", "/api/v1/groups", params={"limit": 200}).json()]
        errors: list[BaseException] = []

        def fan_out(session: Session) -> None:
            try:
                run_each(session, "GET /api/v1/groups/{{gid}}/users?limit=5", "gid", gids, {}, progress=False,
                         concurrency=6)
            except OktaMagicError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=fan_out, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        stats = sandbox.stats()
        assert not errors and stats.total >= 2 * len(gids)
        assert stats.responses.get(429, 0) == 0 and stats.peak_in_flight <= 6
    finally:
        sandbox.set_knobs(latency=0)
        profiles.close()
