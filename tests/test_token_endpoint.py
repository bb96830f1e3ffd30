"""Token requests (RFC 6749 §4.1.3, §4.4, §5.2, §6; RFC 9449 DPoP) over httpx.MockTransport."""

from __future__ import annotations

import base64
from urllib.parse import quote

import httpx
import jwt
import pytest
from _oauth_fixtures import (
    ISSUER,
    META,
    NOW,
    PEM,
    REDIRECT,
    REQ,
    SECRET,
    Recorder,
    discovery_doc,
    held_token,
    id_token,
    jwks,
    ok_token,
    token_body,
    with_locals,
)

from okta_magic import advice
from okta_magic.oauth.authorize import AuthorizationRequest, parse_callback
from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.errors import NetworkError, TokenExchangeError
from okta_magic.oauth.revocation import revoke
from okta_magic.oauth.token_endpoint import (
    DEVICE_CODE_GRANT,
    client_credentials,
    exchange_code,
    post_token,
    refresh,
    refresher,
    service_login,
)
from okta_magic.tokens import Token


def test_public_client_sends_only_client_id_with_the_verifier() -> None:
    rec = Recorder(ok_token)
    token = exchange_code(META, ClientAuth("0oaNATIVE"), REQ, "the-code", rec.client(), now=NOW)
    request = rec.requests[0]
    assert request.method == "POST" and str(request.url) == f"{ISSUER}/oauth2/v1/token"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in request.headers
    assert rec.form() == {
        "grant_type": "authorization_code",
        "code": "the-code",
        "redirect_uri": REDIRECT,
        "code_verifier": REQ.code_verifier,
        "client_id": "0oaNATIVE",
    }
    assert token.scopes_granted == ("openid", "okta.users.read")
    assert token.expires_at == NOW + 3600 and token.issuer == ISSUER and token.client_id == "0oaNATIVE"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_grant", "the authorization code expired or was already used. Sign in again with %okta_login"),
        ("invalid_client", "the server did not accept the app's credentials (none)"),
        ("invalid_dpop_proof", "the DPoP proof okta_magic signed was refused; check this machine's clock"),
        ("use_dpop_nonce", "the server kept asking for a new DPoP nonce"),
        ("unauthorized_client", "may not use the authorization_code grant"),
    ],
)
def test_token_errors_have_hints(error: str, expected: str) -> None:
    rec = Recorder(lambda r: httpx.Response(400, json={"error": error, "error_description": "Something about it."}))
    with pytest.raises(TokenExchangeError) as info:
        exchange_code(META, ClientAuth("c"), REQ, "the-code-value", rec.client(), now=NOW)
    message = str(info.value)
    assert expected in advice.render(info.value, advice.NOTEBOOK)  # the fix line is worded by the advice layer
    assert message.startswith(f"The token request was refused: {error} (Something about it.)")
    assert "the-code-value" not in message and REQ.code_verifier not in message
    assert info.value.error == error


def test_an_app_that_requires_dpop_gets_proofs_and_a_bound_token() -> None:
    """Okta's recorded order: no proof -> invalid_dpop_proof; a proof -> use_dpop_nonce; the nonce -> a token."""

    def okta(request: httpx.Request) -> httpx.Response:
        proof = request.headers.get("DPoP")
        if proof is None:
            return httpx.Response(400, json={"error": "invalid_dpop_proof",
                                             "error_description": "The DPoP proof JWT header is missing."})
        if jwt.decode(proof, options={"verify_signature": False}).get("nonce") != "nonce-1":
            return httpx.Response(400, headers={"DPoP-Nonce": "nonce-1"}, json={
                "error": "use_dpop_nonce", "error_description": "Authorization server requires nonce in DPoP proof."})
        return httpx.Response(200, headers={"DPoP-Nonce": "nonce-1"}, json=token_body(token_type="DPoP"))

    rec = Recorder(okta)
    auth = ClientAuth("0oaSERVICE", "private_key_jwt", private_key=PEM)
    token = client_credentials(META, auth, ["okta.users.read"], rec.client(), now=NOW)
    assert token.token_type == "DPoP" and token.dpop_key is not None
    assert token.authorization_header().startswith("DPoP ")
    proofs = [r.headers.get("DPoP") for r in rec.requests]
    assert proofs[0] is None and proofs[1] and proofs[2]
    header = jwt.get_unverified_header(proofs[2])
    assert header["typ"] == "dpop+jwt" and header["jwk"] == token.dpop_key.public_jwk
    claims = jwt.decode(proofs[2], options={"verify_signature": False})
    assert claims["htm"] == "POST" and claims["htu"] == META.token_endpoint and claims["nonce"] == "nonce-1"
    assertions = [rec.form(i)["client_assertion"] for i in range(3)]
    assert len(set(assertions)) == 3  # a client assertion is single-use: each attempt signs a new one
    assert "dpop_key" not in repr(token) and "PRIVATE" not in repr(token.dpop_key)


def test_a_bearer_app_sends_no_proof() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json=token_body()))
    token = exchange_code(META, ClientAuth("c"), REQ, "the-code", rec.client(), now=NOW)
    assert token.dpop_key is None and "DPoP" not in rec.requests[0].headers


def test_non_oauth_error_and_network_failure() -> None:
    with pytest.raises(TokenExchangeError, match="HTTP 502 without an OAuth error"):
        exchange_code(
            META,
            ClientAuth("c"),
            REQ,
            "c",
            Recorder(lambda r: httpx.Response(502, text="bad gateway")).client(),
            now=NOW,
        )

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(NetworkError, match="ReadTimeout"):
        exchange_code(META, ClientAuth("c"), REQ, "c", Recorder(boom).client(), now=NOW)


def test_refresh_sends_refresh_token_and_keeps_it_when_not_rotated() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json=token_body(access_token="at-new-" + "y" * 40)))
    old = held_token()
    new = refresher(META, ClientAuth("c"), rec.client(), clock=lambda: NOW + 3500)(old)
    assert rec.form() == {"grant_type": "refresh_token", "refresh_token": old.refresh_token, "client_id": "c"}
    assert new.access_token.startswith("at-new-") and new.refresh_token == old.refresh_token
    assert new.expires_at == NOW + 3500 + 3600


def test_refresh_errors() -> None:
    with pytest.raises(TokenExchangeError, match="no refresh token .request offline_access"):
        refresh(META, ClientAuth("c"), Token(access_token="a" * 20), Recorder(ok_token).client())
    rec = Recorder(
        lambda r: httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}
        )
    )
    with pytest.raises(TokenExchangeError, match="the refresh token is invalid, expired or revoked") as info:
        refresh(META, ClientAuth("c"), held_token(), rec.client())
    assert "revoked. Sign in again with %okta_login" in advice.render(info.value, advice.NOTEBOOK)


def test_service_login_discovers_then_asserts() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json=discovery_doc())
        return httpx.Response(200, json=token_body(scope="okta.users.read"))

    rec = Recorder(answer)
    token = service_login(ISSUER, "0oaSERVICE", PEM, ["okta.users.read"], kid="k", http=rec.client(), clock=lambda: NOW)
    assert token.scopes_granted == ("okta.users.read",) and token.refresh_token is None
    assert rec.form()["grant_type"] == "client_credentials"


def test_token_endpoint_failures_that_are_not_rfc6749_json_give_one_line_without_secrets() -> None:
    auth = ClientAuth("0oaWEB", "client_secret_post", client_secret=SECRET)
    html = "<html>\n<body>502 Bad Gateway</body>\n</html>"
    cases = [
        (
            httpx.Response(502, text=html, headers={"Content-Type": "text/html"}),
            "HTTP 502 without an OAuth error (text/html); the server (or a proxy",
        ),
        (
            httpx.Response(
                401,
                headers={"WWW-Authenticate": 'Basic realm="x", error="invalid_client", error_description="bad secret"'},
            ),
            "refused: invalid_client (bad secret)",
        ),
        (
            httpx.Response(401),
            "HTTP 401 without an OAuth error (no content type); the server did not accept the app's credentials "
            "(client_secret_post)",
        ),
        (
            httpx.Response(
                400, json={"error": "invalid_grant", "error_description": f"code the-code-value / {SECRET} unknown"}
            ),
            "invalid_grant (code [masked] / [masked] unknown)",
        ),
    ]
    for response, expected in cases:
        with pytest.raises(TokenExchangeError) as info:
            exchange_code(
                META, auth, REQ, "the-code-value", Recorder(lambda r, resp=response: resp).client(), now=NOW
            )
        message = str(info.value)
        assert expected in message, message
        assert "\n" not in message and SECRET not in message and "the-code-value" not in message
        assert "Traceback" not in message and "<html>" not in message


def test_a_200_that_carries_an_error_is_that_error() -> None:
    # some servers answer device polls with 200 {"error": "authorization_pending"}
    rec = Recorder(lambda r: httpx.Response(200, json={"error": "authorization_pending"}))
    data = {"grant_type": DEVICE_CODE_GRANT, "device_code": "dc-" + "d" * 20}
    with pytest.raises(TokenExchangeError) as info:
        post_token(META, ClientAuth("c"), data, rec.client(), NOW)
    assert info.value.error == "authorization_pending"


@pytest.mark.parametrize(("sub", "refused"), [("00u1", False), ("00u2", True)])
def test_a_refreshed_id_token_must_name_the_same_person(sub: str, refused: bool) -> None:
    """OIDC Core §12.2: same iss and sub as the ID token of the sign-in, and the usual checks."""

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/keys"):
            return httpx.Response(200, json=jwks())
        body = token_body(access_token="at-new-" + "y" * 40, id_token=id_token(sub=sub, aud="0oaNATIVE", nonce=None))
        return httpx.Response(200, json=body)

    first = Token.from_token_response(token_body(refresh_token="rt-" + "r" * 40, id_token=id_token(aud="0oaNATIVE")),
                                      issuer=ISSUER, client_id="0oaNATIVE", scopes_requested=["openid"], now=NOW)
    refresh = refresher(META, ClientAuth("0oaNATIVE"), Recorder(server).client(), clock=lambda: NOW + 3500)
    if refused:
        with pytest.raises(TokenExchangeError, match="names another user") as info:
            refresh(first)
        assert first.refresh_token not in str(info.value)
    else:
        assert refresh(first).subject == "00u1"


def test_a_server_that_names_dpop_in_an_invalid_grant_gets_a_proof() -> None:
    """Some servers say invalid_grant rather than Okta's invalid_dpop_proof; the description names DPoP."""

    def server(request: httpx.Request) -> httpx.Response:
        if "DPoP" not in request.headers:
            refusal = {"error": "invalid_grant", "error_description": "DPoP proof JWT not provided"}
            return httpx.Response(400, json=refusal)
        return httpx.Response(200, json=token_body(token_type="DPoP"))

    rec = Recorder(server)
    token = exchange_code(META, ClientAuth("c"), REQ, "the-code", rec.client(), now=NOW)
    assert token.token_type == "DPoP" and token.dpop_key is not None and len(rec.requests) == 2
    plain = Recorder(lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": "expired"}))
    with pytest.raises(TokenExchangeError):
        exchange_code(META, ClientAuth("c"), REQ, "the-code", plain.client(), now=NOW)
    assert len(plain.requests) == 1  # an ordinary invalid_grant is not retried


def test_refused_token_requests_keep_every_secret_masked_in_tracebacks_with_locals() -> None:
    refused = Recorder(lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": "no"}))
    token = held_token()
    web = ClientAuth("0oaWEB", "client_secret_basic", client_secret=SECRET)
    post = ClientAuth("0oaWEB", "client_secret_post", client_secret=SECRET)
    request = AuthorizationRequest.new("0oaWEB", "http://127.0.0.1:8765/callback", ["openid"])
    code = parse_callback(f"http://127.0.0.1:8765/callback?code=code-value-123456&state={request.state}",
                                request.state, ISSUER)
    attempts = [
        lambda: refresh(META, web, token, refused.client(), now=NOW),
        lambda: exchange_code(META, post, request, code, refused.client(), now=NOW),
        lambda: revoke(META, web, token, refused.client()),
        lambda: client_credentials(META, ClientAuth("0oaSVC", "private_key_jwt", private_key=PEM), ["x"],
                                         refused.client(), now=NOW),
    ]
    basic = base64.b64encode(f"0oaWEB:{quote(SECRET, safe='')}".encode()).decode()
    for attempt in attempts:
        with pytest.raises(TokenExchangeError) as info:
            attempt()
        shown = with_locals(info.value, __file__)
        assert "refresh_token" in shown or "code" in shown or "client_assertion" in shown  # locals were shown
        for value in (token.refresh_token, token.access_token, SECRET, quote(SECRET, safe=""), basic,
                      "code-value-123456", *PEM.splitlines()[1:-1]):
            assert value not in shown
