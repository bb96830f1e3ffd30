"""The per-kernel session and the plain Python API: expiry, refresh, pasted tokens, scripts, unloading."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator

import pytest
from _login_fixtures import Browser

from okta_magic import api
from okta_magic.advice import render
from okta_magic.errors import ConfigError, NotSignedIn, TokenExpired
from okta_magic.pulls.pull import run_request
from okta_magic.sessions.session import Session


class Clock:
    def __init__(self) -> None:
        import time
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _signed_in(session: Session, app: str, scopes: str, user: str = "admin"):
    config = session.resolve_config({**session.kernel_sandbox.settings(app), "scopes": scopes})
    flow = session.sign_in_browser(config, open_browser=session.kernel_sandbox.browser(user), timeout=30)
    return flow.wait(30)


@pytest.fixture
def clocked() -> Iterator[tuple[Session, Clock]]:
    """A session with a sandbox org whose clock the test moves."""
    clock = Clock()
    session = Session(clock=clock)
    try:
        session.kernel_sandbox.start(users=50)
        yield session, clock
    finally:
        session.close()


def test_without_offline_access_the_expired_token_says_to_sign_in_again(clocked):
    session, clock = clocked
    token = _signed_in(session, "native", "openid okta.users.read")
    assert token.refresh_token is None
    clock.now += 3601
    with pytest.raises(TokenExpired) as info:
        session.current_token()
    shown = render(info.value, "notebook")  # what a notebook shows (a script reads okta_magic.login instead)
    assert "one-hour access token expired" in shown and "%okta_login" in shown
    assert token.access_token not in str(info.value)


def test_with_offline_access_the_token_is_refreshed_before_expiry_without_a_prompt(clocked):
    session, clock = clocked
    first = _signed_in(session, "offline", "openid offline_access okta.users.read")
    assert first.refresh_token
    clock.now += 3600 - 60  # inside the refresh window, not yet expired
    fresh = session.current_token()
    assert fresh.access_token != first.access_token
    assert fresh.expires_at > first.expires_at
    users = run_request(session, "GET /api/v1/users?limit=2", {}, max_pages=1, progress=False).value
    assert len(users) == 2


def test_a_pasted_access_token_and_an_ssws_key_are_used_as_they_are():
    session = Session()
    try:
        sb = session.kernel_sandbox.start(users=50)
        pasted = sb.issue_token(user="helpdesk", app="native", scopes=["okta.users.read"])
        token = session.use_token(pasted, org_url=sb.url)
        assert token.scopes_granted == ("okta.users.read",) and token.expires_at is not None
        assert len(run_request(session, "GET /api/v1/users?limit=3", {}, max_pages=1, progress=False).value) == 3
        key = sb.create_api_token(user="readonly")
        token = session.use_api_token(key, org_url=sb.url)
        assert token.authorization_header().startswith("SSWS ")
        assert key not in repr(token)
        assert len(run_request(session, "GET /api/v1/groups?limit=2", {}, max_pages=1, progress=False).value) == 2
        assert "SSWS tokens are revoked in the Admin Console" in session.logout()
        with pytest.raises(NotSignedIn):
            session.current_token()
    finally:
        session.close()


def test_a_token_from_a_custom_authorization_server_is_refused_with_the_reason():
    import jwt

    pasted = jwt.encode({"iss": "https://dev-1.okta.com/oauth2/default", "scp": ["okta.users.read"],
                         "exp": 4_000_000_000}, "k" * 32, algorithm="HS256")
    session = Session()
    try:
        with pytest.raises(ConfigError) as info:
            session.use_token(pasted, org_url="https://dev-1.okta.com")
        message = str(info.value)
        assert "custom authorization server https://dev-1.okta.com/oauth2/default" in message
        assert "https://dev-1.okta.com/oauth2/v1/token" in message and pasted not in message
        assert session.token is None
    finally:
        session.close()


def test_token_and_api_token_options_read_the_secret_without_echo(shell, monkeypatch, capsys):
    from okta_magic.api import current_session

    sb = current_session().kernel_sandbox.start(users=50)
    secret = sb.issue_token(user="admin", app="native", scopes=["okta.users.read"])
    prompts = []
    monkeypatch.setattr("getpass.getpass", lambda prompt="": prompts.append(prompt) or secret)
    shell.run_line_magic("okta_login", f"--token --org-url {sb.url}")
    assert prompts == ["Access token: "]
    out = capsys.readouterr().out
    assert "Signed in as admin@example.com" in out and secret not in out
    assert len(shell.run_line_magic("okta", "--max-pages 1 GET /api/v1/users?limit=2")) == 2
    key = sb.create_api_token(user="admin")
    monkeypatch.setattr("getpass.getpass", lambda prompt="": key)
    shell.run_line_magic("okta_login", f"--api-token --org-url {sb.url}")
    out = capsys.readouterr().out
    assert "Okta recommends OAuth" in out and key not in out


@pytest.mark.own_sandbox
def test_unloading_stops_the_sandbox_and_the_listener(shell):
    from okta_magic.api import current_session

    shell.run_line_magic("okta_login", '--sandbox --no-widget --scopes "openid okta.users.read"')
    session = current_session()
    sandbox_port = int(session.sandbox.url.rsplit(":", 1)[1])
    listener_port = int(session.config.redirect_uri.split(":")[2].split("/")[0])
    shell.run_line_magic("unload_ext", "okta_magic")
    for port in (sandbox_port, listener_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open"
    shell.run_line_magic("load_ext", "okta_magic")


def test_the_python_api_works_in_a_plain_script_without_ipython():
    script = textwrap.dedent("""
        import okta_magic
        token = okta_magic.login_sandbox("readonly", "openid okta.users.read okta.groups.read")
        users = okta_magic.get("/api/v1/users", limit=50, max_pages=2)
        engineers = okta_magic.get("/api/v1/users", search='profile.department eq "Engineering"')
        assert len(engineers) > 0 and set(engineers["profile.department"]) == {"Engineering"}
        some = okta_magic.get("/api/v1/users", fields="status,profile:(login, department)", limit=200)
        assert list(some.columns) == ["profile.login", "status", "id", "profile.department"]  # who first
        groups = okta_magic.get("/api/v1/groups")
        with_http = okta_magic.http_client().get("/api/v1/users/me").json()
        print(len(users), len(groups) > 0, with_http["profile"]["login"], repr(token).count("masked"))
        okta_magic.current_session().close()
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["100", "True", "readonly@example.com", "1"]


def test_browser_sign_in_through_the_python_api_with_an_injected_browser():
    session_browser = {}

    def browser(url: str) -> None:
        session_browser["url"] = url

    from okta_magic.api import current_session

    session = current_session()
    try:
        sb = session.kernel_sandbox.start(users=50)
        settings = session.kernel_sandbox.settings("users-only")
        flow = api.login(settings["org_url"], settings["client_id"], "openid okta.users.read",
                         settings["redirect_uri"], open_browser=browser, wait=False)
        Browser("user", sb.demo_users["user"].password).sign_in(session_browser["url"], settings["redirect_uri"])
        token = flow.wait(30)
        assert token.claims()["sub"] == "user@example.com"
    finally:
        from okta_magic.api import close_current_session
        close_current_session()


def test_the_readmes_http_client_example_leaves_the_session_working():
    from okta_magic.api import close_current_session, current_session

    session = current_session()
    try:
        sb = session.kernel_sandbox.start(users=50)
        api.use_token(sb.issue_token(user="admin", scopes=["okta.users.read"]), org_url=sb.url)
        with api.http_client() as http:
            assert http.get("/api/v1/users/me").json()["profile"]["login"] == "admin@example.com"
        assert len(api.get("/api/v1/users", limit=2, max_pages=1)) == 2  # was: "client has been closed"
        with api.http_client() as http:  # was: "Cannot open a client instance more than once"
            assert http.get("/api/v1/users", params={"limit": 1}).status_code == 200
        assert len(api.get("/api/v1/users", limit=2, max_pages=1)) == 2
    finally:
        close_current_session()


def test_a_handed_out_http_client_never_takes_a_token_to_another_org():
    import httpx

    seen = []
    transport = httpx.MockTransport(lambda request: seen.append(request.headers.get("Authorization"))
                                    or httpx.Response(200, json={}))
    session = Session(transport=transport)
    try:
        session.use_api_token("a" * 40, org_url="https://dev-1.okta.com")
        old = session.http_client()
        old.get("/api/v1/users/me")
        session.use_api_token("b" * 40, org_url="https://dev-2.okta.com")
        with pytest.raises(NotSignedIn) as info:
            old.get("https://dev-1.okta.com/api/v1/users/me")
        assert "signed in to dev-2.okta.com" in str(info.value) and "b" * 40 not in str(info.value)
        session.http_client().get("/api/v1/users/me")
        assert seen == [f"SSWS {'a' * 40}", f"SSWS {'b' * 40}"]
    finally:
        session.close()


def test_a_revoked_access_token_with_a_refresh_token_is_refreshed_on_401_and_the_request_retried(clocked):
    from okta_magic.errors import OktaApiError
    from okta_magic.oauth.revocation import revoke_token

    session, _clock = clocked
    first = _signed_in(session, "offline", "openid offline_access okta.users.read")
    conf = session.config
    assert revoke_token(conf.org_url, conf.client_id, first, "access_token")  # the refresh token lives on
    users = run_request(session, "GET /api/v1/users?limit=2", {}, max_pages=1, progress=False).value
    assert len(users) == 2
    assert session.token.access_token != first.access_token
    # Both revoked: the refresh is refused, and only then is the user told to sign in again.
    current = session.token
    for kind in ("refresh_token", "access_token"):
        revoke_token(conf.org_url, conf.client_id, current, kind)
    with pytest.raises(OktaApiError) as info:
        run_request(session, "GET /api/v1/users?limit=2", {}, max_pages=1, progress=False)
    assert info.value.status == 401 and "sign in again with %okta_login" in render(info.value, "notebook").lower()
    assert current.access_token not in str(info.value) and current.refresh_token not in str(info.value)


def test_the_session_its_client_a_sign_in_and_a_page_refuse_pickling():
    import pickle

    import httpx

    from okta_magic.http.client import OktaClient

    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=[{"id": "00u1"}]))
    session = Session(transport=transport)
    try:
        session.use_api_token("a" * 40, org_url="https://dev-1.okta.com")
        page = next(session.client.pages("GET", "/api/v1/users"))
        for value in (session, session.client, page, OktaClient("https://dev-1.okta.com", lambda: "SSWS x")):
            with pytest.raises(TypeError, match="okta_magic keeps tokens and keys in memory only"):
                pickle.dumps(value)
    finally:
        session.close()


def _implicit_redirect(sb) -> str:
    """What the seed guide's manual URL (response_type=token) sends the browser back to."""
    import httpx

    native = sb.apps["native"]
    params = {"client_id": native.client_id, "response_type": "token", "scope": "openid okta.users.read",
              "redirect_uri": native.redirect_uris[0], "state": "s1", "nonce": "n1", "sandbox_user": "admin"}
    answer = httpx.get(f"{sb.url}/oauth2/v1/authorize", params=params)
    assert answer.status_code == 302 and "#access_token=" in answer.headers["location"]
    return answer.headers["location"]


def test_a_pasted_implicit_flow_token_works_and_is_warned_about_once(shell, monkeypatch, capsys):
    from okta_magic.api import current_session

    sb = current_session().kernel_sandbox.start(users=50)
    redirect = _implicit_redirect(sb)
    secret = redirect.split("access_token=")[1].split("&")[0]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": redirect)
    shell.run_line_magic("okta_login", f"--token --org-url {sb.url}")
    out = capsys.readouterr().out
    assert out.count("RFC 9700 §2.1.2") == 1 and "Authorization Code + PKCE" in out
    assert "Signed in as admin@example.com" in out and secret not in out
    assert len(shell.run_line_magic("okta", "--max-pages 1 GET /api/v1/users?limit=2")) == 2
    assert "RFC 9700" not in capsys.readouterr().out  # said once, at the paste
    # A bare token cannot tell how it was obtained: no warning.
    monkeypatch.setattr("getpass.getpass", lambda prompt="": sb.issue_token(user="admin", scopes=["okta.users.read"]))
    shell.run_line_magic("okta_login", f"--token --org-url {sb.url}")
    assert "RFC 9700" not in capsys.readouterr().out


def test_use_token_with_an_implicit_redirect_warns_on_stderr(capsys):
    from okta_magic.api import close_current_session, current_session

    try:
        sb = current_session().kernel_sandbox.start(users=50)
        token = api.use_token(_implicit_redirect(sb), org_url=sb.url)
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "implicit flow (response_type=token)" in err and token.access_token not in err
        assert len(api.get("/api/v1/users", limit=2, max_pages=1)) == 2
    finally:
        close_current_session()


def test_the_sandbox_browser_stand_in_keeps_the_code_out_of_this_processs_logs(clocked, caplog):
    import logging

    session, _clock = clocked
    with caplog.at_level(logging.DEBUG):  # httpcore logs response headers at DEBUG, the Location among them
        token = _signed_in(session, "native", "openid okta.users.read")
    assert token.access_token and "/callback?" in session.config.redirect_uri + "?"
    assert "callback?code=" not in caplog.text and "code=" not in caplog.text


def test_a_failing_request_keeps_the_token_masked_in_a_traceback_with_locals():
    import traceback

    from okta_magic.api import close_current_session, current_session
    from okta_magic.errors import OktaApiError

    try:
        sb = current_session().kernel_sandbox.start(users=50)
        pasted = sb.issue_token(user="admin", scopes=["okta.users.read"])
        api.use_token(pasted, org_url=sb.url)
        for path in ("/api/v1/users/00unosuchuser00000000", "/api/v1/groups"):  # 404, 403
            with pytest.raises(OktaApiError) as info:
                api.get(path)
            frames = [(f, n) for f, n in traceback.walk_tb(info.value.__traceback__.tb_next)]  # not this test's
            shown = "".join(traceback.StackSummary.extract(iter(frames), capture_locals=True).format())
            assert "token" in shown and pasted not in shown and pasted.split(".")[2] not in shown
    finally:
        close_current_session()
