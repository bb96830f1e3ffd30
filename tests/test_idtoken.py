"""ID token checks (OIDC Core §3.1.3.7): algorithm, signature, iss, aud, azp, exp, iat, nonce."""

from __future__ import annotations

import json

import jwt
import pytest
from _oauth_fixtures import ISSUER, KEY, META, NOW, id_claims, id_token, jwks
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_magic.errors import LoginError
from okta_magic.oauth.idtoken import check_id_token, id_token_signature_checked


def test_id_token_checks() -> None:
    claims = check_id_token(id_token(), issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())
    assert claims["sub"] == "00u1"
    for bad, what in [
        ({"nonce": "other"}, "nonce"),
        ({"iss": "https://x"}, "issuer"),
        ({"aud": "other"}, "audience"),
        ({"exp": int(NOW) - 4000}, "expiry"),
    ]:
        with pytest.raises(LoginError, match=f"failed its {what} check"):
            check_id_token(id_token(**bad), issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {"iss": ISSUER, "aud": "0oaNATIVE", "exp": int(NOW) + 60, "nonce": "N"},
        other,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    with pytest.raises(LoginError, match="signature is invalid"):
        check_id_token(forged, issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())


def test_id_token_signed_with_the_client_secret_hs256() -> None:
    # OIDC Core §10.1: HS* ID tokens are keyed with the client secret (an Auth0 app option)
    secret = "a-client-secret-of-at-least-32-bytes!"
    token = jwt.encode(id_claims(), secret, algorithm="HS256")
    check = {"issuer": ISSUER, "client_id": "0oaNATIVE", "nonce": "N", "now": NOW, "jwks": jwks(),
             "algorithms": ["RS256", "HS256"]}
    assert check_id_token(token, client_secret=secret, **check)["sub"] == "00u1"  # type: ignore[arg-type]
    assert id_token_signature_checked(token, jwks(), secret)
    with pytest.raises(LoginError, match="signature is invalid"):
        check_id_token(token, client_secret=secret + "x", **check)  # type: ignore[arg-type]
    unsigned = jwt.encode(id_claims(), None, algorithm="none")
    with pytest.raises(LoginError, match=r"unsupported signature algorithm \(none\)"):
        check_id_token(unsigned, **check)  # type: ignore[arg-type]


def test_id_token_key_choice_and_odd_claims() -> None:
    from cryptography.hazmat.primitives.asymmetric import ec

    ec_public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key()))
    rsa_public = dict(jwks()["keys"][0])  # type: ignore[index]
    enc_key = dict(rsa_public, use="enc", kid="enc1", alg="RSA-OAEP")
    del rsa_public["kid"]
    keyset = {"keys": [enc_key, ec_public, rsa_public]}  # Keycloak-like: an encryption key, several key types
    no_kid = jwt.encode(id_claims(), KEY, algorithm="RS256")
    assert check_id_token(no_kid, issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=keyset)
    for bad, what in [
        ({"nonce": 12345}, "nonce"),
        ({"azp": "someone-else"}, r"authorized party \(azp\)"),
        ({"aud": ["0oaNATIVE", "api"]}, r"authorized party \(azp\)"),
        ({"exp": True}, "expiry"),
    ]:
        with pytest.raises(LoginError, match=f"failed its {what} check"):
            check_id_token(id_token(**bad), issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())
    both = id_token(aud=["0oaNATIVE", "api"], azp="0oaNATIVE")
    assert check_id_token(both, issuer=ISSUER, client_id="0oaNATIVE", nonce="N", now=NOW, jwks=jwks())


def test_an_hs256_id_token_is_refused_for_a_public_client_and_any_alg_the_provider_does_not_advertise() -> None:
    # OIDC Core §10.1: the HS256 key is the client secret, which a public client has none of to check it with
    forged = jwt.encode(id_claims(), "anyone-can-pick-this-key-for-hs256!!", algorithm="HS256")
    check = {"issuer": ISSUER, "client_id": "0oaNATIVE", "nonce": "N", "now": NOW, "jwks": jwks()}
    for algorithms in (None, ["RS256", "HS256"]):
        with pytest.raises(LoginError, match="only an app with a client secret can check") as info:
            check_id_token(forged, algorithms=algorithms, **check)  # type: ignore[arg-type]
        assert "\n" not in str(info.value) and forged not in str(info.value)
    # Not advertised (the org AS advertises RS256 only): refused even for a confidential client.
    secret = "a-client-secret-of-at-least-32-bytes!"
    hs = jwt.encode(id_claims(), secret, algorithm="HS256")
    with pytest.raises(LoginError, match=r"signed with HS256, which the provider does not advertise \(.*RS256\)"):
        check_id_token(hs, client_secret=secret, algorithms=META.id_token_signing_alg_values_supported,
                             **check)  # type: ignore[arg-type]
    from cryptography.hazmat.primitives.asymmetric import ec

    es = jwt.encode(id_claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256")
    with pytest.raises(LoginError, match="ES256, which the provider does not advertise"):
        check_id_token(es, algorithms=["RS256"], **check)  # type: ignore[arg-type]
    assert check_id_token(id_token(), algorithms=["RS256"], **check)["sub"] == "00u1"


@pytest.mark.parametrize(("iat", "refused"), [(None, True), (int(NOW) + 3600, True), ("soon", True),
                                             (int(NOW) + 200, False), (int(NOW) - 100, False)])
def test_id_token_iat_must_be_present_and_not_in_the_future(iat: object, refused: bool) -> None:
    claims = {"iat": iat} if iat is not None else {}
    token = id_token(**claims)
    if iat is None:
        payload = id_claims()
        del payload["iat"]
        token = jwt.encode(payload, KEY, algorithm="RS256", headers={"kid": "k1"})
    check = {"issuer": ISSUER, "client_id": "0oaNATIVE", "nonce": "N", "now": NOW, "jwks": jwks()}
    if refused:
        with pytest.raises(LoginError, match=r"failed its issued-at \(iat\) check") as info:
            check_id_token(token, **check)  # type: ignore[arg-type]
        future = "60 min in the future by this machine's clock; check the clock"
        assert (future in str(info.value)) == (iat == int(NOW) + 3600)
    else:
        assert check_id_token(token, **check)["sub"] == "00u1"  # type: ignore[arg-type]
