"""Reliability: a credential goes to the org it was issued for and nowhere else, through every way in.

Each case signs a session in to the sandbox org one way (a person's loopback redirect, paste-back, the device
grant, a service app's client assertion, a DPoP-bound token, a token one already has, an SSWS key), takes a
handed-out HTTP client, then starts a sign-in to another org (a loopback "trap" server that records every
request) that fails, is cancelled or is abandoned. A case holds when the trap never received an Authorization
or DPoP header, the session still names the sandbox org and its request there still answers as the same user,
and the handed-out client does too. The figures go to docs/reliability.md through ``reliability.record``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from _login_fixtures import Browser
from reliability import record

from okta_magic import config as cfg
from okta_magic.errors import NotSignedIn, OktaMagicError
from okta_magic.sessions.session import Session

SANDBOX = {"users": 40, "calm": True}
SCOPES = "openid okta.users.read"


class Trap:
    """A loopback server standing in for a mistyped org: it records every request and its credentials."""

    def __init__(self, mode: str) -> None:
        self.mode = mode  # "nothing" (404 for all), "provider" (discovery answers; token and device refuse)
        self.seen: list[tuple[str, str, str | None, str | None]] = []
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                trap.seen.append((self.command, self.path, self.headers.get("Authorization"),
                                  self.headers.get("DPoP")))
                status, body = 404, {"errorCode": "E0000007", "errorSummary": "Not found"}
                if trap.mode == "provider" and self.path.startswith("/.well-known/"):
                    status, body = 200, trap.metadata()
                elif trap.mode == "provider" and self.path.startswith("/oauth2/v1/"):
                    status, body = 400, {"error": "unauthorized_client", "error_description": "not for you"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def metadata(self) -> dict[str, Any]:
        url = self.url
        return {"issuer": url, "authorization_endpoint": f"{url}/oauth2/v1/authorize",
                "token_endpoint": f"{url}/oauth2/v1/token", "jwks_uri": f"{url}/oauth2/v1/keys",
                "device_authorization_endpoint": f"{url}/oauth2/v1/device/authorize",
                "response_types_supported": ["code"], "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
                "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials",
                                          "urn:ietf:params:oauth:grant-type:device_code"]}

    def credentials(self) -> list[tuple[str, str]]:
        """Every request that carried a credential (method and path only)."""
        return [(method, path) for method, path, auth, dpop in self.seen if auth or dpop]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trap_factory() -> Iterator[Callable[[str], Trap]]:
    traps: list[Trap] = []

    def make(mode: str) -> Trap:
        traps.append(Trap(mode))
        return traps[-1]

    yield make
    for trap in traps:
        trap.close()


# -- the ways in, each signing a fresh session in to the sandbox ------------------------------------------------

def _browser(session: Session, sandbox: Any) -> None:
    session.sign_in_sandbox("admin", layers=[{"scopes": SCOPES}])


def _paste(session: Session, sandbox: Any) -> None:
    config = session.kernel_sandbox.config("native", {"scopes": SCOPES})
    flow = session.sign_in_browser(config)
    with Browser("admin", sandbox.demo_users["admin"].password) as browser:
        outcome = browser.sign_in(flow.authorize_url, config.redirect_uri, deliver=False)
    session.sign_in_paste(outcome.redirect_url)


def _device(session: Session, sandbox: Any) -> None:
    config = session.kernel_sandbox.config("native", {"scopes": SCOPES})
    login = session.sign_in_device(config)
    httpx.get(sandbox.url + "/activate", params={"user_code": login.user_code, "sandbox_user": "admin"})
    login.wait(30)


def _service(session: Session, sandbox: Any) -> None:
    session.sign_in_sandbox(None, app="service", layers=[{"scopes": "okta.users.read"}])


def _dpop(session: Session, sandbox: Any) -> None:
    session.sign_in_sandbox(None, app="service-dpop", layers=[{"scopes": "okta.users.read"}])


def _existing_token(session: Session, sandbox: Any) -> None:
    session.use_token(sandbox.issue_token("admin", scopes=["openid", "okta.users.read"]), org_url=sandbox.url)


def _api_token(session: Session, sandbox: Any) -> None:
    session.use_api_token(sandbox.create_api_token("admin"), org_url=sandbox.url)


WAYS_IN: dict[str, Callable[[Session, Any], None]] = {
    "browser (loopback redirect)": _browser, "paste-back": _paste, "device grant": _device,
    "service app (private_key_jwt)": _service, "DPoP-bound token": _dpop, "existing token": _existing_token,
    "SSWS API token": _api_token,
}


# -- the failed, cancelled or abandoned sign-ins to the trap ---------------------------------------------------

def _trap_config(trap: Trap) -> cfg.OktaConfig:
    return cfg.merge({"org_url": trap.url, "client_id": "0oatrap", "scopes": SCOPES,
                      "redirect_uri": "http://127.0.0.1:1/callback"})


def _device_no_discovery(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    trap = trap_factory("nothing")
    with pytest.raises(OktaMagicError):
        session.sign_in_device(_trap_config(trap))
    return trap


def _device_refused(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    trap = trap_factory("provider")
    with pytest.raises(OktaMagicError):
        session.sign_in_device(_trap_config(trap))
    return trap


def _loopback_not_okta(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    trap = trap_factory("nothing")  # no discovery document: the flow uses Okta's org endpoints, then nobody comes
    try:
        flow = session.sign_in_browser(_trap_config(trap), timeout=0.5)
    except OktaMagicError:
        return trap
    with pytest.raises(OktaMagicError):
        flow.wait(10)
    return trap


def _loopback_cancelled(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    trap = trap_factory("provider")
    flow = session.sign_in_browser(_trap_config(trap), timeout=30)
    assert not flow.done
    session.cancel_login()
    return trap


def _loopback_abandoned(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    trap = trap_factory("provider")
    flow = session.sign_in_browser(_trap_config(trap), timeout=0.5)
    with pytest.raises(OktaMagicError):
        flow.wait(10)
    return trap


def _paste_refused(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    trap = trap_factory("provider")
    flow = session.sign_in_browser(_trap_config(trap), timeout=30)
    state = httpx.URL(flow.authorize_url).params["state"]
    with pytest.raises(OktaMagicError):  # the trap's token endpoint refuses the code
        session.sign_in_paste(f"http://127.0.0.1:1/callback?code=abc&state={state}")
    return trap


def _service_refused(session: Session, trap_factory: Callable[[str], Trap]) -> Trap:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    trap = trap_factory("provider")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with pytest.raises(OktaMagicError):
        session.sign_in_service(cfg.merge({"org_url": trap.url, "client_id": "0oatrap", "scopes": "okta.users.read"}),
                                key)
    return trap


FAILURES: dict[str, Callable[[Session, Callable[[str], Trap]], Trap]] = {
    "device grant, nothing answers discovery": _device_no_discovery,
    "device grant refused": _device_refused,
    "loopback redirect to a server that is no OpenID provider, abandoned": _loopback_not_okta,
    "loopback redirect, cancelled": _loopback_cancelled,
    "loopback redirect, abandoned (timed out)": _loopback_abandoned,
    "paste-back, code refused": _paste_refused,
    "service app, refused": _service_refused,
}


def _who(session: Session) -> tuple[int, str]:
    response = session.client.request("GET", "/api/v1/users", params={"limit": 1})
    return response.status_code, response.text[:200]


def _one_case(way: Callable[[Session, Any], None], fail: Callable[[Session, Callable[[str], Trap]], Trap],
              sandbox: Any, trap_factory: Callable[[str], Trap]) -> str | None:
    """Run one case; None when it held, else what went wrong."""
    session = Session()
    session.kernel_sandbox.share(sandbox)
    try:
        way(session, sandbox)
        before_token, before_org = session.token, session.org_url
        status, body = _who(session)
        handed = session.http_client()
        trap = fail(session, trap_factory)
        time.sleep(0.05)
        problems = []
        if session.org_url != before_org or session.token is not before_token:
            problems.append(f"the session moved ({session.org_url})")
        if _who(session) != (status, body):
            problems.append("the old sign-in stopped working")
        if handed.get("/api/v1/users", params={"limit": 1}).status_code != 200:
            problems.append("the handed-out client stopped working")
        with pytest.raises(OktaMagicError):  # an absolute URL on the trap is refused, never signed
            session.client.request("GET", trap.url + "/api/v1/users/me")
        handed.close()
        if trap.credentials():
            problems.append(f"the trap received credentials: {trap.credentials()}")
        return "; ".join(problems) or None
    finally:
        session.close()


def test_a_credential_never_follows_a_failed_sign_in_to_another_org(sandbox, trap_factory):
    rows, held, tried = [], 0, 0
    failures = []
    for way_name, way in WAYS_IN.items():
        outcomes = []
        for fail_name, fail in FAILURES.items():
            tried += 1
            problem = _one_case(way, fail, sandbox, trap_factory)
            if problem is None:
                held += 1
            else:
                failures.append(f"{way_name} / {fail_name}: {problem}")
            outcomes.append("held" if problem is None else "FAILED")
        rows.append((way_name, f"{outcomes.count('held')} of {len(outcomes)} held"))
    record("test_reliability_orgs", "Credentials bound to their org through every way in", tried, held,
           f"Each case signs a session in to the sandbox org one way, takes a handed-out HTTP client, then starts a "
           f"sign-in to another org (a loopback trap server that records every request) that fails, is cancelled "
           f"or is abandoned, in {len(FAILURES)} ways: {'; '.join(FAILURES)}. A case holds when the trap never "
           "received an Authorization or DPoP header, an absolute URL on the trap is refused, the session still "
           "names the sandbox org with the same token, and its request there and the handed-out client's still "
           "answer as before.", rows)
    assert not failures, "\n".join(failures)


def test_a_token_is_sent_only_to_its_own_org_whatever_the_configuration_says(sandbox, trap_factory):
    trap = trap_factory("nothing")
    session = Session()
    session.kernel_sandbox.share(sandbox)
    try:
        _browser(session, sandbox)
        assert session.client.request("GET", "/api/v1/users/me").status_code == 200
        # Whatever moves the configuration (a bug, a hand edit), the credential stays with its own org.
        session._held = _trap_config(trap)
        session._client = None
        with pytest.raises(NotSignedIn):
            session.client.request("GET", "/api/v1/users/me")
        assert trap.seen == [] or not trap.credentials()
    finally:
        session.close()


def test_a_token_of_one_org_is_refused_for_another(sandbox):
    from okta_magic.tokens import Token

    token = Token.from_access_token("abc.def.ghi").for_org(sandbox.url)
    assert token.sent_to(sandbox.url) and not token.sent_to("https://evil.example.com")
    session = Session()
    try:
        with pytest.raises(OktaMagicError):
            session.adopt(token, cfg.merge({"org_url": "https://evil.example.com", "client_id": "x",
                                            "scopes": SCOPES}))
        assert session.token is None
    finally:
        session.close()


def test_the_magic_after_a_failed_device_sign_in_to_a_mistyped_org_stays_with_the_old_one(shell, trap_factory):
    from IPython.core.error import UsageError

    trap = trap_factory("nothing")
    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read"')
    with pytest.raises(UsageError):
        shell.run_line_magic("okta_login", f"--org-url {trap.url} --client-id x --device")
    me = shell.run_line_magic("okta", "GET /api/v1/users/me")
    assert "admin@example.com" in str(me)
    assert trap.seen and not trap.credentials()  # it was asked for discovery, never given the token


def test_a_profile_sign_in_to_a_mistyped_org_leaves_that_profile_as_it_was(shell, trap_factory):
    from IPython.core.error import UsageError

    trap = trap_factory("provider")
    shell.run_line_magic("okta_login", '--sandbox --as helpdesk --profile b --scopes "openid okta.users.read"')
    with pytest.raises(UsageError):
        shell.run_line_magic("okta_login", f"--profile b --org-url {trap.url} --client-id x --device")
    me = shell.run_line_magic("okta", "-p b GET /api/v1/users/me")
    assert "helpdesk@example.com" in str(me) and not trap.credentials()


def test_the_script_api_after_a_failed_sign_in_to_another_org_stays_with_the_old_one(trap_factory):
    import okta_magic
    from okta_magic.api import close_current_session

    trap = trap_factory("provider")
    try:
        okta_magic.login_sandbox("admin", scopes="openid okta.users.read")
        with pytest.raises(OktaMagicError):
            okta_magic.login(org_url=trap.url, client_id="x", flow="device", open_browser=False)
        me = okta_magic.get("/api/v1/users/me")
        assert "admin@example.com" in str(me) and not trap.credentials()
    finally:
        close_current_session()
