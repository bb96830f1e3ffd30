"""Token revocation (RFC 7009) and the configuration-level refresh and revoke helpers."""

from __future__ import annotations

import httpx
import pytest
from _oauth_fixtures import ISSUER, META, NOW, SECRET, Recorder, discovery_doc, held_token, token_body

from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.errors import TokenExchangeError
from okta_magic.oauth.revocation import revoke, revoke_token
from okta_magic.oauth.token_endpoint import refresh_token
from okta_magic.tokens import Token


def test_revoke_revokes_refresh_then_access_token() -> None:
    rec = Recorder(lambda r: httpx.Response(200))
    token = held_token()
    revoke(META, ClientAuth("c"), token, rec.client())
    assert [str(r.url) for r in rec.requests] == [f"{ISSUER}/oauth2/v1/revoke"] * 2
    assert rec.form(0) == {"token": token.refresh_token, "token_type_hint": "refresh_token", "client_id": "c"}
    assert rec.form(1) == {"token": token.access_token, "token_type_hint": "access_token", "client_id": "c"}
    bad = Recorder(lambda r: httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(TokenExchangeError, match="invalid_client"):
        revoke(META, ClientAuth("c"), token, bad.client())


def test_revocation_accepts_204_and_unsupported_token_type() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "token_type_hint=access_token" in request.content.decode():
            # RFC 7009 §2.2.1: this server revokes refresh tokens only
            return httpx.Response(400, json={"error": "unsupported_token_type"})
        return httpx.Response(204)

    rec = Recorder(answer)
    revoke(META, ClientAuth("c"), held_token(), rec.client())
    assert len(rec.requests) == 2
    meta_doc = Recorder(lambda r: httpx.Response(200, json=discovery_doc()) if r.method == "GET" else answer(r))
    assert revoke_token(ISSUER, "c", held_token(), "refresh_token", http=meta_doc.client()) is True
    assert revoke_token(ISSUER, "c", held_token(), "access_token", http=meta_doc.client()) is False


def test_config_level_refresh_and_revoke_functions() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json=discovery_doc())
        if request.url.path.endswith("/revoke"):
            return httpx.Response(200)
        return httpx.Response(200, json=token_body(access_token="at-fresh-" + "z" * 40))

    rec = Recorder(answer)
    token = held_token()
    fresh = refresh_token(ISSUER, "0oaWEB", token, client_secret=SECRET, http=rec.client(), clock=lambda: NOW + 1)
    assert fresh.access_token.startswith("at-fresh-")
    assert rec.requests[-1].headers["authorization"].startswith("Basic ")
    assert revoke_token(
        ISSUER,
        "0oaWEB",
        token,
        "refresh_token",
        client_secret=SECRET,
        auth_method="client_secret_post",
        http=rec.client(),
    )
    assert rec.form() == {
        "token": token.refresh_token,
        "token_type_hint": "refresh_token",
        "client_id": "0oaWEB",
        "client_secret": SECRET,
    }
    assert not revoke_token(ISSUER, "c", Token(access_token="a" * 20), "refresh_token", http=rec.client())
