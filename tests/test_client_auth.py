"""Client authentication at the token endpoint (RFC 6749 §2.3.1, RFC 7523 private_key_jwt), requests recorded."""

from __future__ import annotations

import base64
import json

import httpx
import jwt
import pytest
from _oauth_fixtures import ISSUER, KEY, META, NOW, PEM, REQ, SECRET, Recorder, ok_token, token_body, with_locals
from cryptography.hazmat.primitives import serialization

from okta_magic.oauth.client_auth import ClientAuth, client_assertion
from okta_magic.oauth.discovery import ProviderMetadata
from okta_magic.errors import ConfigError
from okta_magic.oauth.token_endpoint import client_credentials, exchange_code


def test_client_secret_basic_form_encodes_before_base64() -> None:
    rec = Recorder(ok_token)
    auth = ClientAuth("0oa:web client", "client_secret_basic", client_secret=SECRET)
    exchange_code(META, auth, REQ, "the-code", rec.client(), now=NOW)
    header = rec.requests[0].headers["authorization"]
    # RFC 6749 §2.3.1: application/x-www-form-urlencoded id and secret, then base64
    expected = base64.b64encode(b"0oa%3Aweb%20client:s3cr3t%2Fwith%2Bspecial%26chars%3Dyes").decode()
    assert header == f"Basic {expected}"
    assert "client_id" not in rec.form() and "client_secret" not in rec.form()
    assert SECRET not in repr(auth)


def test_client_secret_post_puts_both_in_the_body() -> None:
    rec = Recorder(ok_token)
    exchange_code(
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
    token = client_credentials(META, auth, ["okta.users.read", "okta.groups.read"], rec.client(), now=NOW)
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


def test_an_unreadable_private_key_is_masked_in_tracebacks_with_locals() -> None:
    from cryptography.hazmat.primitives.asymmetric import dsa

    dsa_pem = dsa.generate_private_key(key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY))
    for key in (dsa_pem, dsa_pem.encode(), dsa_pem[:200], dict(jwk, kty="oct")):
        with pytest.raises(ConfigError) as info:
            client_assertion("0oaSVC", META.token_endpoint, key, now=NOW)  # type: ignore[arg-type]
        shown = with_locals(info.value, __file__)
        for line in [*dsa_pem.splitlines()[1:-1], jwk["d"], jwk["p"]]:
            assert line not in shown
