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
from collections.abc import Iterator
from pathlib import Path

import pytest
from _login_fixtures import Browser, free_port

from okta_magic.errors import StateMismatch
from okta_magic.login import LoginFlow, LoginStatus, Step

pytestmark = pytest.mark.oidc

HERE = Path(__file__).parent / "oidc"


@pytest.fixture(scope="module")
def provider() -> Iterator[dict[str, str]]:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed; the oidc-provider test needs it")
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        pytest.fail("tests/oidc/node_modules is missing: run `npm ci --prefix tests/oidc` once, then rerun the tests")
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    proc = subprocess.Popen(
        ["node", "server.js"],
        cwd=HERE,
        env={"PATH": _path(), "REDIRECT_URI": redirect_uri},
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
    browser = Browser("ada", "anything")
    try:
        outcome = browser.sign_in(url, provider["redirect_uri"])
    finally:
        browser.close()
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
    browser = Browser("grace", "x")
    try:
        outcome = browser.sign_in(url, provider["redirect_uri"], deliver=False)
    finally:
        browser.close()
    assert outcome.redirect_url is not None
    forged = outcome.redirect_url.replace("state=", "state=x")
    with pytest.raises(StateMismatch):
        flow.submit_redirect_url(forged)
    assert flow.status.phase == "waiting"
    token = flow.submit_redirect_url(outcome.redirect_url)
    assert token.id_token_claims()["sub"] == "grace"  # type: ignore[index]
    assert flow.status.phase == "signed_in"
