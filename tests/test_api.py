"""The script façade (``okta_magic.api``): the default session, an explicit ``session=``, two sessions side
by side against one sandbox org as two demo users, and errors worded for a script."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import okta_magic
from okta_magic import api
from okta_magic.errors import ConfigError, LoginError, NotSignedIn, OktaMagicError
from okta_magic.sandbox import Sandbox
from okta_magic.session import Session

SANDBOX = {"users": 40, "seed": 2, "calm": True}  # this module's sandbox org (conftest.py)


@pytest.fixture
def default() -> Iterator[Session]:
    """The default session, closed afterwards so that the next test starts afresh."""
    try:
        yield api.current_session()
    finally:
        api.close_current_session()


@pytest.fixture
def two(sandbox: Sandbox) -> Iterator[tuple[Session, Session]]:
    """Two sessions of their own on the module's sandbox org (neither stops it)."""
    helpdesk, readonly = Session(name="helpdesk", sandbox=sandbox), Session(name="readonly", sandbox=sandbox)
    try:
        yield helpdesk, readonly
    finally:
        helpdesk.close()
        readonly.close()


def test_the_package_exposes_the_script_api_and_the_session_class() -> None:
    assert okta_magic.Session is Session
    assert okta_magic.current_session is api.current_session and okta_magic.get is api.get


def test_login_stays_the_script_apis_function_after_a_sign_in(two: tuple[Session, Session]) -> None:
    api.login_sandbox("admin", session=two[0])  # the browser sign-in's module is loaded by now
    assert okta_magic.login is api.login and callable(okta_magic.login)


def test_the_default_session_is_one_object_until_closed(default: Session) -> None:
    assert api.current_session() is default
    api.close_current_session()
    assert api.current_session() is not default


def test_closing_only_a_given_session_leaves_another_default_alone(default: Session) -> None:
    api.close_current_session(only=Session())
    assert api.current_session() is default


def test_the_module_functions_use_the_default_session(default: Session, sandbox: Sandbox) -> None:
    token = api.use_token(sandbox.issue_token(user="admin", scopes=["okta.users.read"]), org_url=sandbox.url)
    assert default.token is token
    assert len(api.get("/api/v1/users", limit=3, max_pages=1)) == 3
    with api.http_client() as http:
        assert http.get("/api/v1/users/me").json()["profile"]["login"] == "admin@example.com"
    api.logout()
    assert default.token is None


def test_an_explicit_session_leaves_the_default_alone(default: Session, two: tuple[Session, Session],
                                                      sandbox: Sandbox) -> None:
    mine, _ = two
    api.use_token(sandbox.issue_token(user="helpdesk", scopes=["okta.users.read"]), org_url=sandbox.url,
                  session=mine)
    assert mine.token is not None and default.token is None
    assert len(api.get("/api/v1/users", limit=2, max_pages=1, session=mine)) == 2
    with pytest.raises(NotSignedIn):
        api.get("/api/v1/users", limit=2, max_pages=1)


def test_two_sessions_side_by_side_each_answered_as_its_own_demo_user(two: tuple[Session, Session]) -> None:
    helpdesk, readonly = two
    api.login_sandbox("helpdesk", "openid okta.users.read", session=helpdesk)
    api.login_sandbox("readonly", "openid okta.users.read", session=readonly)
    assert helpdesk.sandbox is readonly.sandbox  # one org, two people
    me = "GET /api/v1/users/me"
    assert api.request(me, session=helpdesk, raw=True)["profile"]["login"] == "helpdesk@example.com"
    assert api.request(me, session=readonly, raw=True)["profile"]["login"] == "readonly@example.com"
    # Signing one out leaves the other signed in.
    api.logout(session=helpdesk)
    assert helpdesk.token is None
    assert api.request(me, session=readonly, raw=True)["profile"]["login"] == "readonly@example.com"


def test_a_service_app_signs_in_as_itself_without_a_user(two: tuple[Session, Session]) -> None:
    service, _ = two
    token = api.login_sandbox(None, "okta.users.read", app="service", session=service)
    assert token.scopes_granted == ("okta.users.read",)
    assert len(api.get("/api/v1/users", limit=2, max_pages=1, session=service)) == 2


def test_errors_are_worded_for_a_script(two: tuple[Session, Session]) -> None:
    session, _ = two
    with pytest.raises(NotSignedIn) as info:
        api.get("/api/v1/users", session=session)
    assert str(info.value) == ("Not signed in: call okta_magic.login(...) first (or okta_magic.login_sandbox() to "
                               "try the sandbox).")
    with pytest.raises(LoginError, match=r"okta_magic\.finish_login\(url\)"):
        api.finish_login("http://127.0.0.1:1/callback?code=x&state=y", session=session)
    with pytest.raises(ConfigError, match=r"No org URL: pass org_url="):
        api.login(session=Session(environ={}), open_browser=False)
    with pytest.raises(ConfigError, match=r"client credentials.: pass user=None"):
        api.login_sandbox("admin", app="service", session=session)


def test_script_errors_never_mention_a_magic(two: tuple[Session, Session], sandbox: Sandbox) -> None:
    session, _ = two
    calls = [
        lambda: api.get("/api/v1/users", session=session),
        lambda: api.finish_login("http://127.0.0.1:1/callback?code=x&state=y", session=session),
        lambda: api.login(org_url=sandbox.url, session=Session(environ={}), open_browser=False),
        lambda: api.login(client_id="0oa1", scopes="", session=Session(environ={}), open_browser=False),
        lambda: api.login_sandbox("admin", app="service", session=session),
        lambda: api.login_sandbox(None, session=session),
    ]
    for call in calls:
        with pytest.raises(OktaMagicError) as info:
            call()
        assert "%okta" not in str(info.value) and "\n" not in str(info.value), str(info.value)
