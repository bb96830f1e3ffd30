"""The whole sign-in over real HTTP against the sandbox org, with a browser stand-in.

Every test uses real sockets on loopback: the sandbox org (authorize page, token,
revoke, device, Management API) and the flow's own loopback listener. The stand-in
follows the authorize URL, submits the sign-in form with httpx and is redirected to
the listener, as a person's browser would be.
"""

from __future__ import annotations

import importlib
import socket
import threading
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from _login_fixtures import Browser

from okta_magic import advice
from okta_magic.oauth.authorize import AuthorizationRequest, parse_callback
from okta_magic.flows.browser import LoginFlow, LoginStatus, Step
from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.flows.device import start_device_login
from okta_magic.oauth.discovery import discover
from okta_magic.errors import (
    AuthorizationDenied,
    ConfigError,
    LoginError,
    LoginTimeout,
    StateMismatch,
    TokenExchangeError,
    TokenExpired,
)
from okta_magic.oauth.revocation import revoke
from okta_magic.sandbox import Sandbox
from okta_magic.oauth.token_endpoint import exchange_code, refresh, service_login
from okta_magic.tokens import Token

READ = ["openid", "profile", "okta.users.read", "okta.groups.read"]


SANDBOX = {"users": 40, "seed": 1, "calm": True}  # this module's sandbox org (conftest.py)


@pytest.fixture(scope="module")
def redirect_uri(sandbox: Sandbox, free_port: Callable[[], int]) -> str:
    """One registered loopback URI shared by the tests: each new flow proves the port was freed."""
    uri = f"http://127.0.0.1:{free_port()}/callback"
    for app in ("native", "users-only", "offline", "web"):
        sandbox.add_redirect_uri(app, uri)
    return uri


def password(sandbox: Sandbox, user: str) -> str:
    return str(sandbox.demo_users[user].password)


def api_get(sandbox: Sandbox, token: Token, path: str = "/api/v1/users?limit=2") -> httpx.Response:
    return httpx.get(sandbox.url + path, headers={"Authorization": token.authorization_header()})


def port_is_free(uri: str) -> bool:
    """True when nothing listens on the port (connections in TIME_WAIT may remain, as after any server)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", urlsplit(uri).port or 0))
        except OSError:
            return False
    return True


def flow_for(sandbox: Sandbox, uri: str, app: str = "native", scopes: list[str] = READ, **kwargs: object) -> LoginFlow:
    return LoginFlow(sandbox.url, sandbox.apps[app].client_id, scopes, uri, **kwargs)  # type: ignore[arg-type]


def sign_in(flow: LoginFlow, uri: str, user: str, sandbox: Sandbox, **browser_options: object):  # type: ignore[no-untyped-def]
    browser = Browser(user, password(sandbox, user), **browser_options)  # type: ignore[arg-type]
    try:
        return browser.sign_in(flow.start(), uri)
    finally:
        browser.close()


# -- the happy path -------------------------------------------------------------------------------------


def test_sign_in_through_the_sign_in_page(sandbox: Sandbox, redirect_uri: str) -> None:
    statuses: list[LoginStatus] = []
    steps: list[Step] = []
    flow = flow_for(sandbox, redirect_uri, timeout=30, on_change=statuses.append, on_step=steps.append)
    outcome = sign_in(flow, redirect_uri, "admin", sandbox)
    assert outcome.delivered is not None and outcome.delivered.status_code == 200
    assert "Signed in" in outcome.delivered.text and "Return to your notebook" in outcome.delivered.text
    token = flow.wait(10)
    assert flow.done and flow.status.phase == "signed_in" and flow.status.token is token
    assert [s.phase for s in statuses] == ["waiting", "exchanging", "signed_in"]
    host = urlsplit(sandbox.url).netloc
    assert flow.status.message == f"Signed in to {host} as {sandbox.demo_users['admin'].login} with 4 scopes."
    assert set(token.scopes_granted) == set(READ)
    assert token.token_type == "Bearer" and token.issuer == sandbox.url
    assert token.claims()["uid"] == sandbox.demo_users["admin"].id  # type: ignore[index]
    assert token.id_token_claims()["aud"] == sandbox.apps["native"].client_id  # type: ignore[index]
    # the token is real: the org's Management API accepts it
    assert api_get(sandbox, token).status_code == 200
    # the listener is gone and its port free again
    assert port_is_free(redirect_uri)
    # the teaching steps, with secrets masked
    assert [s.name for s in steps] == ["discovery", "pkce", "authorize", "callback", "token_request", "token"]
    text = repr([s.details for s in steps])
    assert token.access_token not in text and (token.id_token or "x" * 50) not in text
    code = parse_qs(urlsplit(outcome.redirect_url).query)["code"][0]
    assert code not in text
    assert steps[0].details["token_endpoint"] == f"{sandbox.url}/oauth2/v1/token"
    assert steps[2].details["code_challenge_method"] == "S256"
    assert "curl -X POST" in steps[4].details["curl"]
    assert steps[5].details["id_token"].endswith("and signature")


def test_unattended_sandbox_user_path(sandbox: Sandbox, redirect_uri: str) -> None:
    # What the unattended sandbox sign-in does: authorize with sandbox_user, no redirect following,
    # then request the Location, which is the flow's listener.
    flow = flow_for(sandbox, redirect_uri, timeout=30)
    url = flow.start()
    with httpx.Client(follow_redirects=False) as browser:
        # appended by hand: httpx replaces (not merges) a query given as params=
        answer = browser.get(url + "&sandbox_user=readonly")
        assert answer.status_code == 302
        assert answer.headers["location"].startswith(redirect_uri + "?")
        assert browser.get(answer.headers["location"]).status_code == 200
    token = flow.wait(10)
    assert token.claims()["uid"] == sandbox.demo_users["readonly"].id  # type: ignore[index]


def test_paste_back_uses_the_same_checks(sandbox: Sandbox, redirect_uri: str) -> None:
    flow = flow_for(sandbox, redirect_uri, timeout=30)
    url = flow.start(listen=False)
    browser = Browser("helpdesk", password(sandbox, "helpdesk"))
    outcome = browser.sign_in(url, redirect_uri, deliver=False)
    browser.close()
    assert outcome.redirect_url is not None
    with pytest.raises(StateMismatch):
        flow.submit_redirect_url(outcome.redirect_url.replace("state=", "state=other"))
    assert flow.status.phase == "waiting"
    token = flow.submit_redirect_url(outcome.redirect_url)
    assert token.claims()["uid"] == sandbox.demo_users["helpdesk"].id  # type: ignore[index]
    with pytest.raises(LoginError, match="already over .signed in."):
        flow.submit_redirect_url(outcome.redirect_url)


# -- failures, each followed by a working sign-in on the same port ---------------------------------------


def test_state_mismatch_does_not_consume_the_listener(sandbox: Sandbox, redirect_uri: str) -> None:
    flow = flow_for(sandbox, redirect_uri, timeout=30)
    url = flow.start()
    forged = httpx.get(f"{redirect_uri}?code=forged&state=not-ours")
    assert forged.status_code == 400
    assert "state mismatch" in forged.text
    assert flow.status.phase == "waiting"
    browser = Browser("admin", password(sandbox, "admin"))
    outcome = browser.sign_in(url, redirect_uri)
    browser.close()
    assert outcome.delivered is not None and outcome.delivered.status_code == 200
    assert flow.wait(10).scopes_granted


def test_replayed_callback_and_code(sandbox: Sandbox, redirect_uri: str) -> None:
    flow = flow_for(sandbox, redirect_uri, timeout=30)
    outcome = sign_in(flow, redirect_uri, "admin", sandbox)
    flow.wait(10)
    assert outcome.redirect_url is not None
    # the listener closed after the valid callback: a replay reaches nothing
    with pytest.raises(httpx.ConnectError):
        httpx.get(outcome.redirect_url)
    # pasted into the finished flow
    with pytest.raises(LoginError, match="already over"):
        flow.submit_redirect_url(outcome.redirect_url)
    # delivered to a newer sign-in: it is not that sign-in's state
    newer = flow_for(sandbox, redirect_uri, timeout=30)
    newer.start()
    with pytest.raises(StateMismatch, match="does not belong to this sign-in"):
        newer.submit_redirect_url(outcome.redirect_url)
    newer.cancel()
    assert port_is_free(redirect_uri)


def test_code_is_single_use_and_expires() -> None:
    # its own sandbox: advancing the clock must not age the other tests' tokens and assertions
    with Sandbox(port=0, users=5, seed=2) as sandbox:
        redirect_uri = "http://127.0.0.1:8765/callback"  # registered for the native app; nothing listens here
        _single_use_and_expiry(sandbox, redirect_uri)


def _single_use_and_expiry(sandbox: Sandbox, redirect_uri: str) -> None:
    http = httpx.Client()
    metadata = discover(sandbox.url, http)
    auth = ClientAuth(sandbox.apps["native"].client_id)

    def fresh_code() -> tuple[AuthorizationRequest, str]:
        request = AuthorizationRequest.new(auth.client_id, redirect_uri, READ)
        answer = http.get(request.url(metadata, {"sandbox_user": "admin"}))
        return request, parse_callback(answer.headers["location"], request.state, sandbox.url)

    request, code = fresh_code()
    assert exchange_code(metadata, auth, request, code, http).access_token
    with pytest.raises(TokenExchangeError, match="invalid_grant .*the authorization code expired or was already used"):
        exchange_code(metadata, auth, request, code, http)
    request, code = fresh_code()
    sandbox.advance_clock(301)  # codes live 300 s
    with pytest.raises(TokenExchangeError, match="invalid_grant"):
        exchange_code(metadata, auth, request, code, http)
    # a wrong verifier is refused too (PKCE)
    request, code = fresh_code()
    other = AuthorizationRequest.new(auth.client_id, redirect_uri, READ)
    with pytest.raises(TokenExchangeError, match="invalid_grant"):
        exchange_code(metadata, auth, other, code, http)
    http.close()


def test_cancel_on_the_sign_in_page_is_access_denied(sandbox: Sandbox, redirect_uri: str) -> None:
    flow = flow_for(sandbox, redirect_uri, timeout=30)
    outcome = sign_in(flow, redirect_uri, "admin", sandbox, press="cancel")
    assert outcome.delivered is not None and outcome.delivered.status_code == 400
    assert "Sign-in failed" in outcome.delivered.text
    with pytest.raises(AuthorizationDenied) as info:
        flow.wait(10)
    assert info.value.error == "access_denied"
    assert str(info.value).startswith(
        "Sign-in was cancelled or refused (access_denied: User cancelled the sign-in request.)"
    )
    assert flow.status.phase == "failed" and port_is_free(redirect_uri)


def test_scope_not_granted_to_the_app_is_invalid_scope(sandbox: Sandbox, redirect_uri: str) -> None:
    flow = flow_for(sandbox, redirect_uri, app="users-only", scopes=["openid", "okta.groups.read"], timeout=30)
    sign_in(flow, redirect_uri, "admin", sandbox)
    with pytest.raises(AuthorizationDenied) as info:
        flow.wait(10)
    message = str(info.value)
    assert info.value.error == "invalid_scope"
    assert (
        "okta.groups.read must be granted to the app in Okta Admin Console > Applications > the app > Okta API Scopes"
        in message
    )
    assert "\n" not in message


def test_unregistered_redirect_uri_shows_the_error_page_and_times_out(sandbox: Sandbox, free_port: Callable[[], int]) -> None:
    unregistered = f"http://127.0.0.1:{free_port()}/callback"
    flow = flow_for(sandbox, unregistered, timeout=1.5)
    url = flow.start()
    browser = Browser("admin", password(sandbox, "admin"))
    outcome = browser.sign_in(url, unregistered)
    browser.close()
    assert outcome.redirect_url is None and outcome.last_page is not None
    assert outcome.last_page.status_code == 400 and "redirect_uri" in outcome.last_page.text
    with pytest.raises(LoginTimeout) as info:
        flow.wait(10)
    assert f"register {unregistered} in the app's Login redirect URIs" in str(info.value)
    assert port_is_free(unregistered)


def test_timeout_then_a_new_sign_in_works(sandbox: Sandbox, redirect_uri: str) -> None:
    seen: list[LoginStatus] = []
    flow = flow_for(sandbox, redirect_uri, timeout=0.5, on_change=seen.append)
    flow.start()
    with pytest.raises(LoginTimeout, match=r"Nobody completed the sign-in within 0\.5 s"):
        flow.wait(10)
    assert seen[-1].phase == "failed" and isinstance(seen[-1].error, LoginTimeout)
    assert port_is_free(redirect_uri)
    again = flow_for(sandbox, redirect_uri, timeout=30)
    sign_in(again, redirect_uri, "admin", sandbox)
    assert again.wait(10).scopes_granted


def test_wait_timeout_leaves_the_flow_running_and_cancel_frees_the_port(sandbox: Sandbox, redirect_uri: str) -> None:
    flow = flow_for(sandbox, redirect_uri, timeout=30)
    flow.start()
    with pytest.raises(LoginTimeout, match="Still waiting"):
        flow.wait(0.1)
    assert flow.status.phase == "waiting"
    flow.cancel()
    assert flow.status.phase == "cancelled"
    with pytest.raises(LoginError, match="cancelled"):
        flow.wait(1)
    assert port_is_free(redirect_uri)


def test_port_in_use(sandbox: Sandbox, redirect_uri: str) -> None:
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", urlsplit(redirect_uri).port or 0))
        blocker.listen()
        flow = flow_for(sandbox, redirect_uri)
        with pytest.raises(ConfigError, match="is in use"):
            flow.start()
        assert flow.status.phase == "failed" and flow.done


def test_unreachable_org_is_a_network_error(free_port: Callable[[], int]) -> None:
    from okta_magic.errors import NetworkError

    flow = LoginFlow(f"http://127.0.0.1:{free_port()}", "client", ["openid"], f"http://127.0.0.1:{free_port()}/cb")
    with pytest.raises(NetworkError, match="Could not reach 127.0.0.1"):
        flow.start()


# -- other apps and grants -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_web_app_with_client_secret(sandbox: Sandbox, redirect_uri: str, method: str) -> None:
    app = sandbox.apps["web"]
    steps: list[Step] = []
    flow = LoginFlow(
        sandbox.url,
        app.client_id,
        ["openid", "okta.users.read"],
        redirect_uri,
        client_secret=app.client_secret,
        auth_method=method,
        timeout=30,
        on_step=steps.append,
    )
    sign_in(flow, redirect_uri, "admin", sandbox)
    token = flow.wait(10)
    assert api_get(sandbox, token).status_code == 200
    curl = steps[4].details["curl"]
    assert app.client_secret not in curl and app.client_secret not in repr(flow)
    assert ("Authorization: Basic [masked]" in curl) == (method == "client_secret_basic")


def test_web_app_with_a_wrong_secret_is_invalid_client(sandbox: Sandbox, redirect_uri: str) -> None:
    app = sandbox.apps["web"]
    flow = LoginFlow(
        sandbox.url,
        app.client_id,
        ["openid", "okta.users.read"],
        redirect_uri,
        client_secret="wrong-secret-value",
        timeout=30,
    )
    sign_in(flow, redirect_uri, "admin", sandbox)
    with pytest.raises(TokenExchangeError, match="invalid_client") as info:
        flow.wait(10)
    assert "wrong-secret-value" not in str(info.value)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_offline_refresh_then_revoke(sandbox: Sandbox, redirect_uri: str) -> None:
    import time

    clock = Clock(time.time())
    flow = flow_for(
        sandbox, redirect_uri, app="offline", scopes=["openid", "offline_access", "okta.users.read"], timeout=30, clock=clock
    )
    sign_in(flow, redirect_uri, "admin", sandbox)
    first = flow.wait(10)
    assert first.refresh_token
    keeper = flow.keeper()
    assert keeper.current() is first
    clock.now += 3600 - 200  # inside the keeper's 300 s leeway
    second = keeper.current()
    assert second.access_token != first.access_token
    assert api_get(sandbox, second).status_code == 200
    # sign out: revoke refresh and access token at the org
    http = httpx.Client()
    metadata = discover(sandbox.url, http)
    revoke(metadata, ClientAuth(sandbox.apps["offline"].client_id), second, http)
    assert api_get(sandbox, second).status_code == 401
    with pytest.raises(TokenExchangeError, match="the refresh token is invalid, expired or revoked"):
        refresh(metadata, ClientAuth(sandbox.apps["offline"].client_id), second, http)
    # once expired, the keeper says so in one line
    clock.now += 3600
    with pytest.raises(TokenExpired, match="expired at .* could not be refreshed .invalid_grant..") as info:
        keeper.current()
    assert advice.render(info.value, advice.NOTEBOOK).endswith(". Sign in again with %okta_login.")
    http.close()


def test_device_grant(sandbox: Sandbox) -> None:
    done = threading.Event()
    login = start_device_login(
        sandbox.url,
        sandbox.apps["native"].client_id,
        ["openid", "okta.users.read"],
        sleep=lambda s: done.wait(0.05),
        on_token=lambda t: done.set(),
    )
    assert login.verification_uri == f"{sandbox.url}/activate"
    assert login.verification_uri_complete is not None
    # the person approves on "another device"
    approval = httpx.get(login.verification_uri_complete + "&sandbox_user=admin")
    assert approval.status_code == 200
    token = login.wait(20)
    assert token.claims()["uid"] == sandbox.demo_users["admin"].id  # type: ignore[index]
    assert api_get(sandbox, token).status_code == 200


def test_device_grant_denied(sandbox: Sandbox) -> None:
    login = start_device_login(
        sandbox.url, sandbox.apps["native"].client_id, ["okta.users.read"], sleep=lambda s: threading.Event().wait(0.05)
    )
    assert login.verification_uri_complete is not None
    httpx.post(login.verification_uri, data={"user_code": login.user_code, "cancel": "1"})
    with pytest.raises(AuthorizationDenied, match="access_denied"):
        login.wait(20)


def test_service_app_private_key_jwt(sandbox: Sandbox) -> None:
    app = sandbox.apps["service"]
    token = service_login(sandbox.url, app.client_id, app.private_key_pem, ["okta.users.read", "okta.groups.read"])
    assert set(token.scopes_granted) == {"okta.users.read", "okta.groups.read"}
    assert token.refresh_token is None
    assert api_get(sandbox, token).status_code == 200
    assert api_get(sandbox, token, "/api/v1/groups?limit=1").status_code == 200
    with pytest.raises(TokenExchangeError, match="invalid_scope"):
        service_login(sandbox.url, app.client_id, app.private_key_pem, ["okta.users.manage"])


def test_an_unexpected_failure_after_the_exchange_ends_the_flow(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = "https://sso.example.com"

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(
                200,
                json={
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks",
                },
            )
        body = {"access_token": "at-" + "a" * 30, "token_type": "Bearer", "id_token": "a.b.c"}
        return httpx.Response(200, json=body)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("library bug quoting at-aaaaaaaaaaaa")

    monkeypatch.setattr(importlib.import_module("okta_magic.flows.browser"), "fetch_jwks", broken)
    redirect = "http://127.0.0.1:8765/callback"
    flow = LoginFlow(issuer, "c", ["openid"], redirect, http=httpx.Client(transport=httpx.MockTransport(answer)))
    state = parse_qs(urlsplit(flow.start(listen=False)).query)["state"][0]
    with pytest.raises(LoginError, match=r"failed after the code exchange \(RuntimeError\)") as info:
        flow.submit_redirect_url(f"{redirect}?code=the-code&state={state}")
    assert "at-aaaa" not in str(info.value)
    # not stuck in "exchanging" until the timeout: the panel and a waiting cell hear the failure at once
    assert flow.done and flow.status.phase == "failed"
    with pytest.raises(LoginError, match="failed after the code exchange"):
        flow.wait(0)
