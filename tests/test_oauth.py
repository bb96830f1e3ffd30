"""Protocol steps in oauth.py, over httpx.MockTransport (requests recorded and asserted exactly)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_magic import oauth, pkce
from okta_magic.assertion import client_assertion, service_login
from okta_magic.errors import (
    AuthorizationDenied,
    ConfigError,
    LoginError,
    NetworkError,
    StateMismatch,
    TokenExchangeError,
)
from okta_magic.oauth import AuthorizationRequest, ClientAuth, ProviderMetadata
from okta_magic.tokens import Token

ISSUER = "https://example.okta.com"
META = ProviderMetadata.okta_org_defaults(ISSUER)
NOW = 1_750_000_000.0
SECRET = "s3cr3t/with+special&chars=yes"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()


class Recorder:
    """A MockTransport handler that records requests and answers from a queue or a function."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def form(self, i: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[i].content.decode(), keep_blank_values=True).items()}


def token_body(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": "at-" + "x" * 40,
        "scope": "openid okta.users.read",
    }
    body.update(extra)
    return body


def ok_token(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=token_body())


# -- discovery -----------------------------------------------------------------------------------


def discovery_doc(issuer: str = ISSUER, **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/v1/authorize",
        "token_endpoint": f"{issuer}/oauth2/v1/token",
        "revocation_endpoint": f"{issuer}/oauth2/v1/revoke",
        "jwks_uri": f"{issuer}/oauth2/v1/keys",
        "device_authorization_endpoint": f"{issuer}/oauth2/v1/device/authorize",
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
    }
    doc.update(extra)
    return doc


def test_discover_reads_the_document_and_checks_the_issuer() -> None:
    rec = Recorder(
        lambda r: httpx.Response(200, json=discovery_doc(authorization_response_iss_parameter_supported=True))
    )
    meta = oauth.discover(ISSUER + "/", rec.client())
    assert str(rec.requests[0].url) == f"{ISSUER}/.well-known/openid-configuration"
    assert meta.discovered and meta.issuer == ISSUER
    assert meta.token_endpoint == f"{ISSUER}/oauth2/v1/token"
    assert meta.device_authorization_endpoint == f"{ISSUER}/oauth2/v1/device/authorize"
    assert meta.authorization_response_iss_parameter_supported is True
    assert "jwks_uri" in meta.endpoints()


def test_discover_rejects_another_issuer() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json=discovery_doc(issuer="https://evil.example.com")))
    with pytest.raises(ConfigError, match="says its issuer is https://evil.example.com; use exactly that"):
        oauth.discover(ISSUER, rec.client())


def test_discover_accepts_a_provider_whose_issuer_ends_in_a_slash() -> None:
    # Some OpenID providers publish "https://tenant.example.com/" as their issuer; the org URL we hold
    # has no trailing slash, and the document's exact value is what later iss checks compare with.
    rec = Recorder(lambda r: httpx.Response(200, json=discovery_doc(issuer=ISSUER + "/")))
    meta = oauth.discover(ISSUER, rec.client())
    assert meta.issuer == ISSUER + "/"


def test_discover_falls_back_to_org_paths_only_on_404() -> None:
    meta = oauth.discover(ISSUER, Recorder(lambda r: httpx.Response(404)).client())
    assert not meta.discovered
    assert meta.authorization_endpoint == f"{ISSUER}/oauth2/v1/authorize"
    assert meta.revocation_endpoint == f"{ISSUER}/oauth2/v1/revoke"
    assert meta.device_authorization_endpoint == f"{ISSUER}/oauth2/v1/device/authorize"
    with pytest.raises(ConfigError, match="answered HTTP 500"):
        oauth.discover(ISSUER, Recorder(lambda r: httpx.Response(500)).client())
    with pytest.raises(ConfigError, match="not an OpenID discovery document"):
        oauth.discover(ISSUER, Recorder(lambda r: httpx.Response(200, text="<html>")).client())


def test_discover_unreachable_is_a_network_error() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(NetworkError, match="Could not reach example.okta.com") as info:
        oauth.discover(ISSUER, Recorder(boom).client())
    assert info.value.host == "example.okta.com"


# -- authorization request ----------------------------------------------------------------------------


def test_authorize_url_carries_pkce_state_and_nonce_for_openid() -> None:
    req = AuthorizationRequest.new("0oaNATIVE", "http://127.0.0.1:8765/callback", ["openid", "okta.users.read"])
    url = req.url(META)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/oauth2/v1/authorize"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q == {
        "client_id": "0oaNATIVE",
        "response_type": "code",
        "scope": "openid okta.users.read",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "state": req.state,
        "code_challenge": pkce.s256_challenge(req.code_verifier),
        "code_challenge_method": "S256",
        "nonce": req.nonce,
    }
    assert "%20" in url and "+" not in url  # scope separator encoded as %20
    assert req.code_verifier not in url
    assert req.code_verifier not in repr(req)


def test_no_nonce_without_openid_and_fresh_values_each_time() -> None:
    a = AuthorizationRequest.new("c", "http://localhost:8765/callback", ["okta.users.read"])
    b = AuthorizationRequest.new("c", "http://localhost:8765/callback", ["okta.users.read"])
    assert "nonce" not in parse_qs(urlsplit(a.url(META)).query)
    assert len({a.state, b.state, a.nonce, b.nonce, a.code_verifier, b.code_verifier}) == 6
    extra = parse_qs(urlsplit(a.url(META, {"sandbox_user": "admin"})).query)
    assert extra["sandbox_user"] == ["admin"]


# -- parse_callback -----------------------------------------------------------------------------------

REDIRECT = "http://127.0.0.1:8765/callback"


def cb(**params: str) -> str:
    return f"{REDIRECT}?{urlencode(params)}"


def test_parse_callback_returns_the_code() -> None:
    assert oauth.parse_callback(cb(code="abc", state="S"), "S", ISSUER) == "abc"
    assert oauth.parse_callback("?" + urlencode({"code": "abc", "state": "S"}), "S", ISSUER) == "abc"
    assert oauth.parse_callback(cb(code="abc", state="S", iss=ISSUER), "S", ISSUER, iss_required=True) == "abc"


@pytest.mark.parametrize("state", [None, "", "T", "S "])
def test_parse_callback_state_mismatch(state: str | None) -> None:
    params = {"code": "abc"} if state is None else {"code": "abc", "state": state}
    with pytest.raises(StateMismatch, match="does not belong to this sign-in .state mismatch.") as info:
        oauth.parse_callback(cb(**params), "S", ISSUER)
    assert "abc" not in str(info.value)


def test_parse_callback_refuses_a_parameter_sent_twice() -> None:
    with pytest.raises(LoginError, match="carries code more than once"):
        oauth.parse_callback(f"{REDIRECT}?code=abc&code=evil&state=S", "S", ISSUER)
    with pytest.raises(LoginError, match="carries state more than once"):
        oauth.parse_callback(f"{REDIRECT}?code=abc&state=S&state=S", "S", ISSUER)
    assert oauth.parse_callback(f"{REDIRECT}?code=abc&state=S&x=1&x=2", "S", ISSUER) == "abc"  # not ours to judge


def test_parse_callback_state_is_checked_before_error() -> None:
    # a forged error redirect (wrong state) must not end the sign-in
    with pytest.raises(StateMismatch):
        oauth.parse_callback(cb(error="access_denied", state="forged"), "S", ISSUER)


@pytest.mark.parametrize(
    ("error", "description", "expected"),
    [
        (
            "access_denied",
            "User cancelled",
            "Sign-in was cancelled or refused (access_denied: User cancelled). If you did not cancel, ask an "
            "Okta admin",
        ),
        (
            "invalid_request",
            "bad redirect",
            "Okta rejected the sign-in request (invalid_request: bad redirect). Check the client id",
        ),
        ("unsupported_response_type", None, "Enable the Authorization Code grant for it in Okta Admin Console"),
        ("login_required", None, "Okta needs you to sign in interactively (login_required)"),
        ("temporarily_unavailable", None, "Wait a moment"),
        ("something_new", "odd", "Sign-in failed (something_new: odd). Run %okta_login again."),
    ],
)
def test_parse_callback_errors_give_one_line_hints(error: str, description: str | None, expected: str) -> None:
    params = {"error": error, "state": "S"}
    if description:
        params["error_description"] = description
    with pytest.raises(AuthorizationDenied) as info:
        oauth.parse_callback(cb(**params), "S", ISSUER)
    assert expected in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.error == error and info.value.description == description


def test_invalid_scope_names_the_scopes_and_where_to_grant_them() -> None:
    url = cb(error="invalid_scope", state="S", error_description="The following scopes are not allowed: okta.logs.read")
    with pytest.raises(AuthorizationDenied) as info:
        oauth.parse_callback(url, "S", ISSUER, requested_scopes=["openid", "okta.users.read", "okta.logs.read"])
    message = str(info.value)
    assert (
        "The scope okta.logs.read must be granted to the app in Okta Admin Console > Applications > the app > "
        "Okta API Scopes" in message
    )
    # no scope named in the description: the okta.* scopes requested are the suspects
    with pytest.raises(AuthorizationDenied, match="The scopes okta.users.read okta.apps.read must be granted"):
        oauth.parse_callback(
            cb(error="invalid_scope", state="S"),
            "S",
            ISSUER,
            requested_scopes=["openid", "okta.users.read", "okta.apps.read"],
        )


def test_rfc9207_iss_must_match_and_may_be_required() -> None:
    with pytest.raises(LoginError, match="came from issuer https://other.example, not https://example.okta.com"):
        oauth.parse_callback(cb(code="abc", state="S", iss="https://other.example"), "S", ISSUER)
    with pytest.raises(LoginError, match="no iss parameter"):
        oauth.parse_callback(cb(code="abc", state="S"), "S", ISSUER, iss_required=True)


def test_missing_code_and_implicit_fragment_are_login_errors() -> None:
    with pytest.raises(LoginError, match="no authorization code"):
        oauth.parse_callback(cb(state="S"), "S", ISSUER)
    with pytest.raises(LoginError, match="implicit flow"):
        oauth.parse_callback(f"{REDIRECT}#access_token=x&state=S", "S", ISSUER)


# -- client authentication ----------------------------------------------------------------------------

REQ = AuthorizationRequest.new("0oaNATIVE", REDIRECT, ["openid", "okta.users.read"])


def test_public_client_sends_only_client_id_with_the_verifier() -> None:
    rec = Recorder(ok_token)
    token = oauth.exchange_code(META, ClientAuth("0oaNATIVE"), REQ, "the-code", rec.client(), now=NOW)
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


def test_client_secret_basic_form_encodes_before_base64() -> None:
    rec = Recorder(ok_token)
    auth = ClientAuth("0oa:web client", "client_secret_basic", client_secret=SECRET)
    oauth.exchange_code(META, auth, REQ, "the-code", rec.client(), now=NOW)
    header = rec.requests[0].headers["authorization"]
    # RFC 6749 §2.3.1: application/x-www-form-urlencoded id and secret, then base64
    expected = base64.b64encode(b"0oa%3Aweb%20client:s3cr3t%2Fwith%2Bspecial%26chars%3Dyes").decode()
    assert header == f"Basic {expected}"
    assert "client_id" not in rec.form() and "client_secret" not in rec.form()
    assert SECRET not in repr(auth)


def test_client_secret_post_puts_both_in_the_body() -> None:
    rec = Recorder(ok_token)
    oauth.exchange_code(
        META, ClientAuth("0oaWEB", "client_secret_post", client_secret=SECRET), REQ, "c", rec.client(), now=NOW
    )
    form = rec.form()
    assert form["client_id"] == "0oaWEB" and form["client_secret"] == SECRET
    assert "authorization" not in rec.requests[0].headers


def test_choose_auth_method() -> None:
    assert ClientAuth.choose("c").method == "none"
    assert ClientAuth.choose("c", META, client_secret="x").method == "client_secret_basic"
    post_only = ProviderMetadata(ISSUER, "a", "t", token_endpoint_auth_methods_supported=("client_secret_post",))
    assert ClientAuth.choose("c", post_only, client_secret="x").method == "client_secret_post"
    assert ClientAuth.choose("c", META, client_secret="x", method="client_secret_post").method == "client_secret_post"
    assert ClientAuth.choose("c", META, private_key=PEM).method == "private_key_jwt"
    with pytest.raises(ConfigError, match="needs the app's client secret"):
        ClientAuth("c", "client_secret_basic")


def test_private_key_jwt_client_credentials() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json=token_body(scope="okta.users.read okta.groups.read")))
    auth = ClientAuth("0oaSERVICE", "private_key_jwt", private_key=PEM, kid="key-1")
    token = oauth.client_credentials(META, auth, ["okta.users.read", "okta.groups.read"], rec.client(), now=NOW)
    form = rec.form()
    assert form["grant_type"] == "client_credentials"
    assert form["scope"] == "okta.users.read okta.groups.read"
    assert form["client_id"] == "0oaSERVICE"
    assert form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    assertion = form["client_assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "kid": "key-1", "typ": "JWT"}
    claims = jwt.decode(
        assertion,
        KEY.public_key(),
        algorithms=["RS256"],
        audience=META.token_endpoint,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "0oaSERVICE"
    assert claims["aud"] == f"{ISSUER}/oauth2/v1/token"
    assert claims["iat"] == int(NOW) and 0 < claims["exp"] - claims["iat"] <= 3600
    assert len(claims["jti"]) >= 20
    assert token.scopes_granted == ("okta.users.read", "okta.groups.read")
    assert PEM not in repr(auth)


def test_assertion_from_jwk_uses_its_kid_and_caps_lifetime() -> None:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY))
    jwk["kid"] = "jwk-kid"
    a = client_assertion("c", "https://x/token", jwk, now=NOW, lifetime=99999)
    assert jwt.get_unverified_header(a)["kid"] == "jwk-kid"
    claims = jwt.decode(
        a,
        KEY.public_key(),
        algorithms=["RS256"],
        audience="https://x/token",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["exp"] - claims["iat"] == 3600
    b = client_assertion("c", "https://x/token", PEM, now=NOW)
    assert jwt.decode(b, options={"verify_signature": False})["jti"] != claims["jti"]


def test_unreadable_or_public_keys_are_config_errors_without_key_text() -> None:
    with pytest.raises(ConfigError, match="could not be read") as info:
        client_assertion(
            "c", "https://x/token", "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----", now=NOW
        )
    assert "not a key" not in str(info.value)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    with pytest.raises(ConfigError, match="PRIVATE key"):
        client_assertion("c", "https://x/token", public, now=NOW)


# -- token endpoint errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("invalid_grant", "the authorization code expired or was already used; sign in again with %okta_login"),
        ("invalid_client", "the server did not accept the app's credentials (none)"),
        ("invalid_dpop_proof", "the DPoP proof okta_magic signed was refused; check this machine's clock"),
        ("use_dpop_nonce", "the server kept asking for a new DPoP nonce"),
        ("unauthorized_client", "may not use the authorization_code grant"),
    ],
)
def test_token_errors_have_hints(error: str, expected: str) -> None:
    rec = Recorder(lambda r: httpx.Response(400, json={"error": error, "error_description": "Something about it."}))
    with pytest.raises(TokenExchangeError) as info:
        oauth.exchange_code(META, ClientAuth("c"), REQ, "the-code-value", rec.client(), now=NOW)
    message = str(info.value)
    assert expected in message
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
    token = oauth.client_credentials(META, auth, ["okta.users.read"], rec.client(), now=NOW)
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
    token = oauth.exchange_code(META, ClientAuth("c"), REQ, "the-code", rec.client(), now=NOW)
    assert token.dpop_key is None and "DPoP" not in rec.requests[0].headers


def test_non_oauth_error_and_network_failure() -> None:
    with pytest.raises(TokenExchangeError, match="HTTP 502 without an OAuth error"):
        oauth.exchange_code(
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
        oauth.exchange_code(META, ClientAuth("c"), REQ, "c", Recorder(boom).client(), now=NOW)


# -- refresh and revoke ----------------------------------------------------------------------------------------


def held_token() -> Token:
    return Token.from_token_response(
        token_body(refresh_token="rt-" + "r" * 40),
        issuer=ISSUER,
        client_id="c",
        scopes_requested=["openid", "offline_access"],
        now=NOW,
    )


def test_refresh_sends_refresh_token_and_keeps_it_when_not_rotated() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json=token_body(access_token="at-new-" + "y" * 40)))
    old = held_token()
    new = oauth.refresher(META, ClientAuth("c"), rec.client(), clock=lambda: NOW + 3500)(old)
    assert rec.form() == {"grant_type": "refresh_token", "refresh_token": old.refresh_token, "client_id": "c"}
    assert new.access_token.startswith("at-new-") and new.refresh_token == old.refresh_token
    assert new.expires_at == NOW + 3500 + 3600


def test_refresh_errors() -> None:
    with pytest.raises(TokenExchangeError, match="no refresh token .request offline_access"):
        oauth.refresh(META, ClientAuth("c"), Token(access_token="a" * 20), Recorder(ok_token).client())
    rec = Recorder(
        lambda r: httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "The refresh token is invalid or expired."}
        )
    )
    with pytest.raises(TokenExchangeError, match="the refresh token is invalid, expired or revoked; sign in again"):
        oauth.refresh(META, ClientAuth("c"), held_token(), rec.client())


def test_revoke_revokes_refresh_then_access_token() -> None:
    rec = Recorder(lambda r: httpx.Response(200))
    token = held_token()
    oauth.revoke(META, ClientAuth("c"), token, rec.client())
    assert [str(r.url) for r in rec.requests] == [f"{ISSUER}/oauth2/v1/revoke"] * 2
    assert rec.form(0) == {"token": token.refresh_token, "token_type_hint": "refresh_token", "client_id": "c"}
    assert rec.form(1) == {"token": token.access_token, "token_type_hint": "access_token", "client_id": "c"}
    bad = Recorder(lambda r: httpx.Response(401, json={"error": "invalid_client"}))
    with pytest.raises(TokenExchangeError, match="invalid_client"):
        oauth.revoke(META, ClientAuth("c"), token, bad.client())


def test_service_login_discovers_then_asserts() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json=discovery_doc())
        return httpx.Response(200, json=token_body(scope="okta.users.read"))

    rec = Recorder(answer)
    token = service_login(ISSUER, "0oaSERVICE", PEM, ["okta.users.read"], kid="k", http=rec.client(), clock=lambda: NOW)
    assert token.scopes_granted == ("okta.users.read",) and token.refresh_token is None
    assert rec.form()["grant_type"] == "client_credentials"


def test_curl_command_masks_secrets_but_shows_the_verifier() -> None:
    auth = ClientAuth("0oaWEB", "client_secret_basic", client_secret=SECRET)
    url, body, headers = oauth.token_request(
        META,
        auth,
        {"grant_type": "authorization_code", "code": "code-value-123456", "code_verifier": REQ.code_verifier},
        now=NOW,
    )
    text = oauth.curl_command(url, body, headers)
    assert text.startswith(f"curl -X POST {ISSUER}/oauth2/v1/token")
    assert "'Authorization: Basic [masked]'" in text
    assert SECRET not in text and "code-value-123456" not in text and headers["Authorization"] not in text
    assert f"code_verifier={REQ.code_verifier}" in text


# -- ID token ------------------------------------------------------------------------------------------------


def id_token(**claims: object) -> str:
    base: dict[str, object] = {
        "iss": ISSUER,
        "aud": "0oaNATIVE",
        "sub": "00u1",
        "exp": int(NOW) + 3600,
        "iat": int(NOW),
        "nonce": "N",
    }
    base.update(claims)
    return jwt.encode(base, KEY, algorithm="RS256", headers={"kid": "k1"})


def jwks() -> dict[str, object]:
    key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    key.update(kid="k1", use="sig", alg="RS256")
    return {"keys": [key]}


def test_id_token_checks() -> None:
    claims = oauth.check_id_token(id_token(), issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())
    assert claims["sub"] == "00u1"
    for bad, what in [
        ({"nonce": "other"}, "nonce"),
        ({"iss": "https://x"}, "issuer"),
        ({"aud": "other"}, "audience"),
        ({"exp": int(NOW) - 4000}, "expiry"),
    ]:
        with pytest.raises(LoginError, match=f"failed its {what} check"):
            oauth.check_id_token(id_token(**bad), issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"iss": ISSUER, "aud": "0oaNATIVE", "exp": int(NOW) + 60, "nonce": "N"},
        other,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(LoginError, match="signature is invalid"):
        oauth.check_id_token(forged, issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())


def test_config_level_refresh_and_revoke_functions() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("openid-configuration"):
            return httpx.Response(200, json=discovery_doc())
        if request.url.path.endswith("/revoke"):
            return httpx.Response(200)
        return httpx.Response(200, json=token_body(access_token="at-fresh-" + "z" * 40))

    rec = Recorder(answer)
    token = held_token()
    fresh = oauth.refresh_token(ISSUER, "0oaWEB", token, client_secret=SECRET, http=rec.client(), clock=lambda: NOW + 1)
    assert fresh.access_token.startswith("at-fresh-")
    assert rec.requests[-1].headers["authorization"].startswith("Basic ")
    assert oauth.revoke_token(
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
    assert not oauth.revoke_token(ISSUER, "c", Token(access_token="a" * 20), "refresh_token", http=rec.client())


# -- interoperability with providers other than Okta ---------------------------------------------------------


def test_discover_issuer_with_a_path_uses_oidc_then_rfc8414_locations() -> None:
    issuer = "https://sso.example.com/realms/demo"
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/.well-known/oauth-authorization-server/realms/demo":
            return httpx.Response(200, json=discovery_doc(issuer))
        return httpx.Response(404)

    meta = oauth.discover(issuer + "/", Recorder(answer).client())
    # OIDC Discovery §4.1 appends to the path; RFC 8414 §3.1 inserts before it
    assert seen == [
        "/realms/demo/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/realms/demo",
    ]
    assert meta.discovered and meta.issuer == issuer
    with pytest.raises(ConfigError, match="no discovery document .*realms/<realm>"):
        oauth.discover(issuer, Recorder(lambda r: httpx.Response(404)).client())  # never Okta paths under /realms
    wrong = Recorder(lambda r: httpx.Response(200, json=discovery_doc("https://sso.example.com/realms/other")))
    with pytest.raises(ConfigError, match="says its issuer is https://sso.example.com/realms/other"):
        oauth.discover(issuer, wrong.client())


def test_discover_follows_a_redirect_but_still_checks_the_issuer() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(301, headers={"Location": f"{ISSUER}/static/openid-configuration.json"})
        return httpx.Response(200, json=discovery_doc())

    assert oauth.discover(ISSUER, Recorder(answer).client()).token_endpoint == f"{ISSUER}/oauth2/v1/token"


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
            oauth.exchange_code(
                META, auth, REQ, "the-code-value", Recorder(lambda r, resp=response: resp).client(), now=NOW
            )
        message = str(info.value)
        assert expected in message, message
        assert "\n" not in message and SECRET not in message and "the-code-value" not in message
        assert "Traceback" not in message and "<html>" not in message


def test_a_200_that_carries_an_error_is_that_error() -> None:
    # some servers answer device polls with 200 {"error": "authorization_pending"}
    rec = Recorder(lambda r: httpx.Response(200, json={"error": "authorization_pending"}))
    data = {"grant_type": oauth.DEVICE_CODE_GRANT, "device_code": "dc-" + "d" * 20}
    with pytest.raises(TokenExchangeError) as info:
        oauth.post_token(META, ClientAuth("c"), data, rec.client(), NOW)
    assert info.value.error == "authorization_pending"


def test_revocation_accepts_204_and_unsupported_token_type() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if "token_type_hint=access_token" in request.content.decode():
            # RFC 7009 §2.2.1: this server revokes refresh tokens only
            return httpx.Response(400, json={"error": "unsupported_token_type"})
        return httpx.Response(204)

    rec = Recorder(answer)
    oauth.revoke(META, ClientAuth("c"), held_token(), rec.client())
    assert len(rec.requests) == 2
    meta_doc = Recorder(lambda r: httpx.Response(200, json=discovery_doc()) if r.method == "GET" else answer(r))
    assert oauth.revoke_token(ISSUER, "c", held_token(), "refresh_token", http=meta_doc.client()) is True
    assert oauth.revoke_token(ISSUER, "c", held_token(), "access_token", http=meta_doc.client()) is False


def _claims(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"iss": ISSUER, "aud": "0oaNATIVE", "sub": "00u1", "exp": int(NOW) + 60, "iat": int(NOW),
                               "nonce": "N"}
    base.update(extra)
    return base


def test_id_token_signed_with_the_client_secret_hs256() -> None:
    # OIDC Core §10.1: HS* ID tokens are keyed with the client secret (an Auth0 app option)
    secret = "a-client-secret-of-at-least-32-bytes!"
    token = jwt.encode(_claims(), secret, algorithm="HS256")
    check = {"issuer": ISSUER, "client_id": "0oaNATIVE", "nonce": "N", "now": NOW, "jwks": jwks(),
             "algorithms": ["RS256", "HS256"]}
    assert oauth.check_id_token(token, client_secret=secret, **check)["sub"] == "00u1"  # type: ignore[arg-type]
    assert oauth.id_token_signature_checked(token, jwks(), secret)
    with pytest.raises(LoginError, match="signature is invalid"):
        oauth.check_id_token(token, client_secret=secret + "x", **check)  # type: ignore[arg-type]
    unsigned = jwt.encode(_claims(), None, algorithm="none")
    with pytest.raises(LoginError, match=r"unsupported signature algorithm \(none\)"):
        oauth.check_id_token(unsigned, **check)  # type: ignore[arg-type]


def test_id_token_key_choice_and_odd_claims() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    rsa_public = dict(jwks()["keys"][0])  # type: ignore[index]
    enc_key = dict(rsa_public, use="enc", kid="enc1", alg="RSA-OAEP")
    del rsa_public["kid"]
    keyset = {"keys": [enc_key, ec_public, rsa_public]}  # Keycloak-like: an encryption key, several key types
    no_kid = jwt.encode(_claims(), KEY, algorithm="RS256")
    assert oauth.check_id_token(no_kid, issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=keyset)
    for bad, what in [
        ({"nonce": 12345}, "nonce"),
        ({"azp": "someone-else"}, r"authorized party \(azp\)"),
        ({"aud": ["0oaNATIVE", "api"]}, r"authorized party \(azp\)"),
        ({"exp": True}, "expiry"),
    ]:
        with pytest.raises(LoginError, match=f"failed its {what} check"):
            oauth.check_id_token(id_token(**bad), issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())
    both = id_token(aud=["0oaNATIVE", "api"], azp="0oaNATIVE")
    assert oauth.check_id_token(both, issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())


def test_private_key_jwt_with_an_ec_key_signs_es256() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assertion = client_assertion("0oaSVC", META.token_endpoint, pem, now=NOW)
    assert jwt.get_unverified_header(assertion)["alg"] == "ES256"
    claims = jwt.decode(
        assertion,
        key.public_key(),
        algorithms=["ES256"],
        audience=META.token_endpoint,
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["iss"] == claims["sub"] == "0oaSVC"
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1())))
    assert jwt.get_unverified_header(client_assertion("c", "https://x/token", dict(jwk, kid="e1"), now=NOW)) == {
        "alg": "ES384",
        "kid": "e1",
        "typ": "JWT",
    }


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
    refresh = oauth.refresher(META, ClientAuth("0oaNATIVE"), Recorder(server).client(), clock=lambda: NOW + 3500)
    if refused:
        with pytest.raises(TokenExchangeError, match="names another user") as info:
            refresh(first)
        assert first.refresh_token not in str(info.value)
    else:
        assert refresh(first).subject == "00u1"


def test_an_unreachable_org_at_sign_in_says_which_kind_of_failure(free_port: int) -> None:
    with httpx.Client() as http, pytest.raises(NetworkError, match=rf"127.0.0.1:{free_port}: the connection was "
                                                                    "refused. Check the org URL"):
        oauth.discover(f"http://127.0.0.1:{free_port}", http)


def test_a_server_that_names_dpop_in_an_invalid_grant_gets_a_proof() -> None:
    """Some servers say invalid_grant rather than Okta's invalid_dpop_proof; the description names DPoP."""

    def server(request: httpx.Request) -> httpx.Response:
        if "DPoP" not in request.headers:
            refusal = {"error": "invalid_grant", "error_description": "DPoP proof JWT not provided"}
            return httpx.Response(400, json=refusal)
        return httpx.Response(200, json=token_body(token_type="DPoP"))

    rec = Recorder(server)
    token = oauth.exchange_code(META, ClientAuth("c"), REQ, "the-code", rec.client(), now=NOW)
    assert token.token_type == "DPoP" and token.dpop_key is not None and len(rec.requests) == 2
    plain = Recorder(lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": "expired"}))
    with pytest.raises(TokenExchangeError):
        oauth.exchange_code(META, ClientAuth("c"), REQ, "the-code", plain.client(), now=NOW)
    assert len(plain.requests) == 1  # an ordinary invalid_grant is not retried


def test_an_hs256_id_token_is_refused_for_a_public_client_and_any_alg_the_provider_does_not_advertise() -> None:
    # OIDC Core §10.1: the HS256 key is the client secret, which a public client has none of to check it with
    forged = jwt.encode(_claims(), "anyone-can-pick-this-key-for-hs256!!", algorithm="HS256")
    check = {"issuer": ISSUER, "client_id": "0oaNATIVE", "nonce": "N", "now": NOW, "jwks": jwks()}
    for algorithms in (None, ["RS256", "HS256"]):
        with pytest.raises(LoginError, match="only an app with a client secret can check") as info:
            oauth.check_id_token(forged, algorithms=algorithms, **check)  # type: ignore[arg-type]
        assert "\n" not in str(info.value) and forged not in str(info.value)
    # Not advertised (the org AS advertises RS256 only): refused even for a confidential client.
    secret = "a-client-secret-of-at-least-32-bytes!"
    hs = jwt.encode(_claims(), secret, algorithm="HS256")
    with pytest.raises(LoginError, match=r"signed with HS256, which the provider does not advertise \(.*RS256\)"):
        oauth.check_id_token(hs, client_secret=secret, algorithms=META.id_token_signing_alg_values_supported,
                             **check)  # type: ignore[arg-type]
    from cryptography.hazmat.primitives.asymmetric import ec

    es = jwt.encode(_claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    with pytest.raises(LoginError, match="ES256, which the provider does not advertise"):
        oauth.check_id_token(es, algorithms=["RS256"], **check)  # type: ignore[arg-type]
    assert oauth.check_id_token(id_token(), algorithms=["RS256"], **check)["sub"] == "00u1"


def test_the_advertised_id_token_algorithms_are_read_from_discovery() -> None:
    doc = discovery_doc(id_token_signing_alg_values_supported=["RS256", "ES256"])
    assert ProviderMetadata.from_document(doc).id_token_signing_alg_values_supported == ("RS256", "ES256")
    assert ProviderMetadata.from_document(discovery_doc()).id_token_signing_alg_values_supported == ()
    assert META.id_token_signing_alg_values_supported == ("RS256",)


@pytest.mark.parametrize(("iat", "refused"), [(None, True), (int(NOW) + 3600, True), ("soon", True),
                                             (int(NOW) + 200, False), (int(NOW) - 100, False)])
def test_id_token_iat_must_be_present_and_not_in_the_future(iat: object, refused: bool) -> None:
    claims = {"iat": iat} if iat is not None else {}
    token = id_token(**claims)
    if iat is None:
        payload = _claims()
        del payload["iat"]
        token = jwt.encode(payload, KEY, algorithm="RS256", headers={"kid": "k1"})
    check = {"issuer": ISSUER, "client_id": "0oaNATIVE", "nonce": "N", "now": NOW, "jwks": jwks()}
    if refused:
        with pytest.raises(LoginError, match=r"failed its issued-at \(iat\) check") as info:
            oauth.check_id_token(token, **check)  # type: ignore[arg-type]
        future = "60 min in the future by this machine's clock; check the clock"
        assert (future in str(info.value)) == (iat == int(NOW) + 3600)
    else:
        assert oauth.check_id_token(token, **check)["sub"] == "00u1"  # type: ignore[arg-type]


def _with_locals(exc: BaseException | None) -> str:
    """The traceback as pytest --showlocals or IPython's Verbose mode shows it, every frame's locals (and those
    of the exceptions it was raised from), leaving out this module's frames (the test holds the secrets)."""
    import traceback

    shown = []
    while exc is not None:
        frames = [(f, n) for f, n in traceback.walk_tb(exc.__traceback__) if f.f_code.co_filename != __file__]
        shown += traceback.StackSummary.extract(iter(frames), capture_locals=True).format()
        shown.append(f"{type(exc).__name__}: {exc}\n")
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "".join(shown)


def test_refused_token_requests_keep_every_secret_masked_in_tracebacks_with_locals() -> None:
    refused = Recorder(lambda r: httpx.Response(400, json={"error": "invalid_grant", "error_description": "no"}))
    token = held_token()
    web = ClientAuth("0oaWEB", "client_secret_basic", client_secret=SECRET)
    post = ClientAuth("0oaWEB", "client_secret_post", client_secret=SECRET)
    request = AuthorizationRequest.new("0oaWEB", "http://127.0.0.1:8765/callback", ["openid"])
    code = oauth.parse_callback(f"http://127.0.0.1:8765/callback?code=code-value-123456&state={request.state}",
                                request.state, ISSUER)
    attempts = [
        lambda: oauth.refresh(META, web, token, refused.client(), now=NOW),
        lambda: oauth.exchange_code(META, post, request, code, refused.client(), now=NOW),
        lambda: oauth.revoke(META, web, token, refused.client()),
        lambda: oauth.client_credentials(META, ClientAuth("0oaSVC", "private_key_jwt", private_key=PEM), ["x"],
                                         refused.client(), now=NOW),
    ]
    basic = base64.b64encode(f"0oaWEB:{quote(SECRET, safe='')}".encode()).decode()
    for attempt in attempts:
        with pytest.raises(TokenExchangeError) as info:
            attempt()
        shown = _with_locals(info.value)
        assert "refresh_token" in shown or "code" in shown or "client_assertion" in shown  # locals were shown
        for value in (token.refresh_token, token.access_token, SECRET, quote(SECRET, safe=""), basic,
                      "code-value-123456", *PEM.splitlines()[1:-1]):
            assert value not in shown


def test_an_unreadable_private_key_is_masked_in_tracebacks_with_locals() -> None:
    from cryptography.hazmat.primitives.asymmetric import dsa

    dsa_pem = dsa.generate_private_key(key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY))
    for key in (dsa_pem, dsa_pem.encode(), dsa_pem[:200], dict(jwk, kty="oct")):
        with pytest.raises(ConfigError) as info:
            client_assertion("0oaSVC", META.token_endpoint, key, now=NOW)  # type: ignore[arg-type]
        shown = _with_locals(info.value)
        for line in [*dsa_pem.splitlines()[1:-1], jwk["d"], jwk["p"]]:
            assert line not in shown
