"""DPoP proofs (RFC 9449) as a resource server checks them."""

from __future__ import annotations

import base64
import hashlib
import json

import jwt
import pytest

from okta_magic.dpop import DPoPKey, htu


def _verify(proof: str) -> tuple[dict, dict]:
    header = jwt.get_unverified_header(proof)
    key = jwt.PyJWK.from_dict(header["jwk"], algorithm="ES256")
    return header, jwt.decode(proof, key.key, algorithms=["ES256"])


def test_a_proof_is_signed_by_the_key_in_its_header_and_names_the_request() -> None:
    key = DPoPKey(clock=lambda: 1_700_000_000)
    header, claims = _verify(key.proof("get", "https://dev-1.okta.com/api/v1/users?limit=200#x"))
    assert header["typ"] == "dpop+jwt" and header["alg"] == "ES256"
    assert "d" not in header["jwk"]  # the public half only
    assert claims["htm"] == "GET"
    assert claims["htu"] == "https://dev-1.okta.com/api/v1/users"  # no query, no fragment (RFC 9449 §4.2)
    assert claims["iat"] == 1_700_000_000
    assert "ath" not in claims and "nonce" not in claims


def test_each_proof_is_unique_and_bound_to_the_access_token() -> None:
    key = DPoPKey()
    first = _verify(key.proof("GET", "https://dev-1.okta.com/api/v1/users", access_token="at-123"))[1]
    second = _verify(key.proof("GET", "https://dev-1.okta.com/api/v1/users", access_token="at-123"))[1]
    assert first["jti"] != second["jti"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(b"at-123").digest()).rstrip(b"=").decode()
    assert first["ath"] == expected


def test_a_server_nonce_is_carried_in_later_proofs() -> None:
    key = DPoPKey()
    assert key.remember_nonce({"DPoP-Nonce": "n-1"}) is True
    assert key.remember_nonce({"DPoP-Nonce": "n-1"}) is False  # the same nonce again: no reason to retry
    assert key.remember_nonce({}) is False
    assert _verify(key.proof("POST", "https://dev-1.okta.com/oauth2/v1/token"))[1]["nonce"] == "n-1"


def test_thumbprint_follows_rfc_7638() -> None:
    key = DPoPKey()
    jwk = key.public_jwk
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, sort_keys=True, separators=(",", ":"))
    digest = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    assert key.thumbprint() == digest
    assert key.thumbprint() in repr(key) and "hidden" in repr(key)


@pytest.mark.parametrize(("url", "expected"), [
    ("https://a.okta.com", "https://a.okta.com/"),
    ("https://a.okta.com/api/v1/logs?since=x", "https://a.okta.com/api/v1/logs"),
])
def test_htu_drops_query_and_fragment(url: str, expected: str) -> None:
    assert htu(url) == expected
