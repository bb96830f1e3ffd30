"""Helpers shared by the sandbox tests: PKCE values, sign-in through the page, token exchange."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx

from okta_magic.sandbox import Sandbox


def verifier() -> str:
    return secrets.token_urlsafe(48)


def challenge(v: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()


@dataclass
class Authorize:
    params: dict[str, str]
    verifier: str


def authorize_params(
    sb: Sandbox, app: str = "native", scope: str = "openid okta.users.read", **extra: str
) -> Authorize:
    v = verifier()
    demo = sb.apps[app]
    params = {
        "client_id": demo.client_id,
        "redirect_uri": demo.redirect_uris[0],
        "response_type": "code",
        "scope": scope,
        "state": secrets.token_urlsafe(8),
        "code_challenge": challenge(v),
        "code_challenge_method": "S256",
        "nonce": secrets.token_urlsafe(8),
    }
    params.update(extra)
    return Authorize({k: v for k, v in params.items() if v is not None}, v)


def redirect_params(response: httpx.Response) -> dict[str, str]:
    """The query (or fragment) parameters of a 302 Location."""
    assert response.status_code == 302, response.text
    parts = urlsplit(response.headers["location"])
    return {k: v[0] for k, v in parse_qs(parts.fragment or parts.query).items()}


def sign_in(http: httpx.Client, sb: Sandbox, auth: Authorize, user: str = "admin") -> httpx.Response:
    """Open the sign-in page and submit the form as a person would; returns the redirect."""
    page = http.get("/oauth2/v1/authorize", params=auth.params)
    assert page.status_code == 200, page.text
    txn = re.search(r'name="txn" value="([^"]+)"', page.text)
    assert txn is not None
    return http.post(
        "/oauth2/v1/authorize/login",
        data={"txn": txn.group(1), "username": user, "password": sb.demo_users[user].password},
    )


def exchange(http: httpx.Client, auth: Authorize, code: str, **overrides: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": auth.params["redirect_uri"],
        "code_verifier": auth.verifier,
        "client_id": auth.params["client_id"],
    }
    data.update(overrides)
    return http.post("/oauth2/v1/token", data={k: v for k, v in data.items() if v is not None})


def unattended_code(http: httpx.Client, auth: Authorize, user: str = "admin") -> str:
    return redirect_params(http.get("/oauth2/v1/authorize", params={**auth.params, "sandbox_user": user}))["code"]
