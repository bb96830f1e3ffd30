"""PKCE verifier/challenge (RFC 7636), state and nonce."""

from __future__ import annotations

import base64
import math
import re
from collections import Counter

import pytest

from okta_magic import pkce

UNRESERVED = re.compile(r"^[A-Za-z0-9\-._~]+$")


def test_rfc7636_appendix_b_vector() -> None:
    # RFC 7636 Appendix B: the worked S256 example.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert pkce.s256_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_verifier_is_43_unreserved_characters_from_32_random_bytes() -> None:
    verifiers = {pkce.new_code_verifier() for _ in range(200)}
    assert len(verifiers) == 200
    for verifier in verifiers:
        assert len(verifier) == 43
        assert UNRESERVED.match(verifier)
        # 43 base64url characters decode back to the 32 octets RFC 7636 §4.1 recommends
        assert len(base64.urlsafe_b64decode(verifier + "=")) == 32


def test_challenge_is_43_chars_and_differs_per_verifier() -> None:
    a, b = pkce.new_code_verifier(), pkce.new_code_verifier()
    assert len(pkce.s256_challenge(a)) == 43
    assert pkce.s256_challenge(a) != pkce.s256_challenge(b)
    assert "=" not in pkce.s256_challenge(a)


@pytest.mark.parametrize("bad", ["short", "x" * 129, "a" * 42 + "+", "a" * 42 + " ", "ä" * 43])
def test_challenge_rejects_invalid_verifiers(bad: str) -> None:
    with pytest.raises(ValueError, match="43-128"):
        pkce.s256_challenge(bad)


def test_longest_verifier_is_accepted() -> None:
    assert len(pkce.s256_challenge("~" * 128)) == 43


def test_state_and_nonce_have_at_least_128_bits_and_are_url_safe() -> None:
    states = [pkce.new_state() for _ in range(500)]
    assert len(set(states)) == 500
    for value in states + [pkce.new_nonce()]:
        assert UNRESERVED.match(value)
        # each base64url character carries 6 bits
        assert len(value) * 6 >= 128
    # crude entropy check over the pooled characters: close to log2(64) = 6 bits per character
    counts = Counter("".join(states))
    total = sum(counts.values())
    entropy = -sum(c / total * math.log2(c / total) for c in counts.values())
    assert entropy > 5.9


def test_states_equal_is_exact() -> None:
    state = pkce.new_state()
    assert pkce.states_equal(state, state)
    assert not pkce.states_equal(state, state[:-1])
    assert not pkce.states_equal(state, state + "x")
    assert not pkce.states_equal(state, None)
    assert not pkce.states_equal(state, "")
    assert pkce.states_equal("ünï", "ünï")


def test_states_equal_refuses_values_that_are_not_strings() -> None:
    # an ID token's nonce claim can be any JSON value
    for received in (None, 12345, ["abc"], {"n": 1}, b"abc"):
        assert not pkce.states_equal("abc", received)
