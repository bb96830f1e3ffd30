"""LoginFlow against a provider we did not write: the OpenID Certified npm ``oidc-provider``.

Proves the sign-in is discovery-based (its endpoints are /auth, /token, /jwks, not
Okta's /oauth2/v1/...), that PKCE, state, nonce, RFC 9207 ``iss`` and the ID token
checks agree with an independent implementation. Needs Node.js; install the
provider once with ``npm ci --prefix tests/oidc``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from _login_fixtures import Browser

from okta_magic.oauth.authorize import AuthorizationRequest, parse_callback
from okta_magic.flows.browser import LoginFlow, LoginStatus, Step
from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.flows.device import start_device_login
from okta_magic.oauth.discovery import ProviderMetadata, discover, fetch_jwks
from okta_magic.errors import StateMismatch, TokenExchangeError
from okta_magic.oauth.idtoken import check_id_token
from okta_magic.oauth.revocation import revoke
from okta_magic.oauth.token_endpoint import exchange_code, refresh
from okta_magic.tokens import Token

pytestmark = pytest.mark.oidc

HERE = Path(__file__).parent / "oidc"


def _start(profile: str, port: int) -> Iterator[dict[str, str]]:
    """Run server.js with ``PROFILE=profile`` until the module's tests are done; yields its JSON line."""
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed; the oidc-provider test needs it")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc` once, then rerun the tests")
    redirect_uri = f"http://127.0.0.1:{port}/callback"
    proc = subprocess.Popen(
        ["node", "server.js"],
        cwd=HERE,
        env={"PATH": _path(), "REDIRECT_URI": redirect_uri, "PROFILE": profile},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = _readline(proc, timeout=30)
        info = json.loads(line)
        info["redirect_uri"] = redirect_uri
        yield info
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # server.js exits when stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


@pytest.fixture(scope="module")
def provider(free_port: Callable[[], int]) -> Iterator[dict[str, str]]:
    yield from _start("plain", free_port())


@pytest.fixture(scope="module")
def quirky(free_port: Callable[[], int]) -> Iterator[dict[str, str]]:
    """The same provider as other real ones differ from Okta (see server.js, PROFILE=quirks)."""
    yield from _start("quirks", free_port())


def _path() -> str:
    import os

    return os.environ.get("PATH", "/usr/bin:/bin")


def _readline(proc: subprocess.Popen[str], timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stdout.readline() if proc.stdout else ""), daemon=True)
    reader.start()
    reader.join(timeout)
    if not result or not result[0].strip():
        err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
        raise AssertionError(f"oidc-provider did not start: {err[-2000:]}")
    return result[0]


def test_sign_in_with_discovery_pkce_and_id_token(provider: dict[str, str]) -> None:
    statuses: list[LoginStatus] = []
    steps: list[Step] = []
    flow = LoginFlow(
        provider["issuer"],
        provider["client_id"],
        ["openid", "profile", "email"],
        provider["redirect_uri"],
        timeout=60,
        on_change=statuses.append,
        on_step=steps.append,
    )
    url = flow.start()
    assert url.startswith(provider["issuer"] + "/auth?")  # discovered, not Okta's /oauth2/v1/authorize
    assert flow.metadata is not None and flow.metadata.discovered
    assert flow.metadata.authorization_response_iss_parameter_supported
    with Browser("ada", "anything") as browser:
        outcome = browser.sign_in(url, provider["redirect_uri"])
    assert outcome.delivered is not None and outcome.delivered.status_code == 200
    assert "Signed in" in outcome.delivered.text
    assert "iss=" in (outcome.redirect_url or "")  # RFC 9207 parameter, checked by parse_callback
    token = flow.wait(30)
    assert token.scopes_granted and set(token.scopes_granted) <= {"openid", "profile", "email"}
    assert "openid" in token.scopes_granted
    claims = token.id_token_claims()
    assert claims is not None and claims["sub"] == "ada" and claims["aud"] == provider["client_id"]
    assert [s.phase for s in statuses] == ["waiting", "exchanging", "signed_in"]
    assert [s.name for s in steps] == ["discovery", "pkce", "authorize", "callback", "token_request", "token"]
    assert steps[-1].details["id_token"] == "checked: iss, aud, exp, nonce and signature"  # against its published JWKS
    assert token.access_token not in repr(token)


def test_paste_back_and_foreign_state(provider: dict[str, str]) -> None:
    flow = LoginFlow(provider["issuer"], provider["client_id"], ["openid"], provider["redirect_uri"], timeout=60)
    url = flow.start(listen=False)
    with Browser("grace", "x") as browser:
        outcome = browser.sign_in(url, provider["redirect_uri"], deliver=False)
    assert outcome.redirect_url is not None
    forged = outcome.redirect_url.replace("state=", "state=x")
    with pytest.raises(StateMismatch):
        flow.submit_redirect_url(forged)
    assert flow.status.phase == "waiting"
    token = flow.submit_redirect_url(outcome.redirect_url)
    assert token.id_token_claims()["sub"] == "grace"  # type: ignore[index]
    assert flow.status.phase == "signed_in"


# -- a provider that differs from Okta the way Keycloak, Auth0 and others do (PROFILE=quirks) -------------


def _userinfo_status(metadata: ProviderMetadata, token: Token) -> int:
    assert metadata.userinfo_endpoint is not None
    return httpx.get(metadata.userinfo_endpoint, headers={"Authorization": token.authorization_header()}).status_code


def test_issuer_with_a_path_opaque_token_and_no_scope_in_the_response(quirky: dict[str, str]) -> None:
    steps: list[Step] = []
    scopes = ["openid", "profile", "email"]
    flow = LoginFlow(
        quirky["issuer"] + "/", quirky["client_id"], scopes, quirky["redirect_uri"], timeout=60, on_step=steps.append
    )
    url = flow.start()
    # OIDC Discovery §4.1: the well-known suffix goes after the issuer's path (/realms/demo)
    assert urlsplit(quirky["issuer"]).path == "/realms/demo"
    assert flow.metadata is not None and flow.metadata.issuer == quirky["issuer"]
    assert url.startswith(quirky["issuer"] + "/auth?")
    with Browser("ada", "x") as browser:
        outcome = browser.sign_in(url, quirky["redirect_uri"])
    assert outcome.delivered is not None and outcome.delivered.status_code == 200, outcome
    token = flow.wait(30)
    assert token.token_type == "Bearer"  # the response said "bearer" (RFC 6749 §5.1: case-insensitive)
    assert token.scopes_granted == tuple(scopes)  # no `scope` in the response: the requested ones (§5.1)
    assert token.claims() is None  # opaque access token: nothing to decode ...
    assert token.expires_at is not None  # ... so the expiry comes from expires_in
    assert token.subject == "ada"  # and the user from the checked ID token
    summary = token.summary(token.expires_at - 60)
    assert summary["subject"] == "ada" and summary["scopes_not_granted"] == [] and not summary["expired"]
    assert steps[-1].details["id_token"] == "checked: iss, aud, exp, nonce and signature"
    assert _userinfo_status(flow.metadata, token) == 200  # the opaque token works as a Bearer token


def _sign_in_for_code(
    provider: dict[str, str], request: AuthorizationRequest, metadata: ProviderMetadata
) -> str:
    with Browser("lin", "x") as browser:
        # prompt=consent: this provider issues a refresh token for offline_access only after explicit consent
        outcome = browser.sign_in(request.url(metadata, {"prompt": "consent"}), provider["redirect_uri"], deliver=False)
    assert outcome.redirect_url is not None, outcome
    return parse_callback(
        outcome.redirect_url, request.state, metadata.issuer, metadata.authorization_response_iss_parameter_supported
    )


def test_client_secret_basic_with_special_characters_refresh_and_revoke(quirky: dict[str, str]) -> None:
    secret = quirky["web_client_secret"]
    assert set(":%+ /?&=~") <= set(secret)  # each of these changes under form-urlencoding (RFC 6749 §2.3.1)
    with httpx.Client(timeout=30) as http:
        metadata = discover(quirky["issuer"], http)
        auth = ClientAuth.choose(quirky["web_client_id"], metadata, client_secret=secret)
        assert auth.method == "client_secret_basic"  # advertised, and the RFC 6749 §2.3.1 MUST
        scopes = ("openid", "offline_access")
        request = AuthorizationRequest.new(auth.client_id, quirky["redirect_uri"], scopes)
        code = _sign_in_for_code(quirky, request, metadata)

        wrong = ClientAuth(auth.client_id, "client_secret_basic", client_secret=secret + "x")
        with pytest.raises(TokenExchangeError) as info:
            exchange_code(metadata, wrong, request, code, http)
        assert info.value.error == "invalid_client" and secret not in str(info.value)

        request = AuthorizationRequest.new(auth.client_id, quirky["redirect_uri"], scopes)
        code = _sign_in_for_code(quirky, request, metadata)
        token = exchange_code(metadata, auth, request, code, http)
        assert token.refresh_token and token.scopes_granted == scopes
        claims = check_id_token(
            token.id_token or "",
            issuer=metadata.issuer,
            client_id=auth.client_id,
            nonce=request.nonce,
            now=time.time(),
            jwks=fetch_jwks(metadata, http),
            client_secret=secret,
            algorithms=metadata.id_token_signing_alg_values_supported,
        )
        assert claims["sub"] == "lin"

        fresh = refresh(metadata, auth, token, http)
        assert fresh.access_token != token.access_token
        assert fresh.scopes_granted == scopes  # RFC 6749 §6: no scope asked, none answered: as before
        assert _userinfo_status(metadata, fresh) == 200

        revoke(metadata, auth, fresh, http)
        assert _userinfo_status(metadata, fresh) == 401
        with pytest.raises(TokenExchangeError) as info:
            refresh(metadata, auth, fresh, http)
        assert info.value.error == "invalid_grant"
        assert fresh.refresh_token is not None and fresh.refresh_token not in str(info.value)


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "client_secret_basic"])
def test_device_grant_against_the_provider(quirky: dict[str, str], confidential: bool) -> None:
    statuses: list[LoginStatus] = []
    login = start_device_login(
        quirky["issuer"],
        quirky["web_client_id" if confidential else "client_id"],
        ["openid", "profile"],
        sleep=lambda seconds: time.sleep(min(seconds, 0.3)),  # its interval is 5 s; poll faster here
        on_change=statuses.append,
        client_secret=quirky["web_client_secret"] if confidential else None,
    )
    assert login.verification_uri.startswith(quirky["issuer"] + "/device")
    time.sleep(1)  # a few polls answered authorization_pending (RFC 8628 §3.5) before anyone signs in
    assert login.status.phase == "waiting"
    with Browser("kim", "x") as browser:
        outcome = browser.sign_in(login.verification_uri_complete or login.verification_uri, "http://no.redirect/")
    assert outcome.last_page is not None and outcome.last_page.status_code == 200
    token = login.wait(30)
    assert token.scopes_granted == ("openid", "profile") and token.claims() is None
    assert [s.phase for s in statuses] == ["waiting", "signed_in"]


def test_a_dpop_bound_client_gets_a_bound_token_the_provider_accepts_with_our_proofs(quirky: dict[str, str]) -> None:
    """RFC 9449 against an independent implementation: the provider checks the token request's proof, then
    at its userinfo endpoint each API proof (signature, htm, htu, ath, jti) and the binding."""
    from okta_magic.http.client import OktaClient

    # This provider refuses a proof-less request with a bare invalid_grant ("grant request is invalid"), unlike
    # Okta's invalid_dpop_proof, so nothing says DPoP: the flow is asked to bind the token from the start.
    flow = LoginFlow(quirky["issuer"], quirky["dpop_client_id"], ["openid", "profile"], quirky["redirect_uri"],
                     timeout=60, dpop=True)
    url = flow.start()
    with Browser("dora", "x") as browser:
        outcome = browser.sign_in(url, quirky["redirect_uri"])
    assert outcome.delivered is not None and outcome.delivered.status_code == 200, outcome
    token = flow.wait(30)
    assert token.token_type == "DPoP" and token.dpop_key is not None  # "dpop" in lower case, bound to our key
    assert flow.metadata is not None and flow.metadata.userinfo_endpoint is not None
    userinfo = flow.metadata.userinfo_endpoint
    with OktaClient(quirky["issuer"], token.authorization_header, dpop_key=lambda: token.dpop_key,
                    progress=False) as client:
        answer = client.request("GET", userinfo)
        assert answer.json()["sub"] == "dora"
        assert client.request("GET", userinfo).status_code == 200  # a fresh proof (jti) each time
    stolen = httpx.get(userinfo, headers={"Authorization": f"Bearer {token.access_token}"})
    assert stolen.status_code == 401  # the binding is real: without the key the token is useless
