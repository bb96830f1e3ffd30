"""Proof Key for Code Exchange (RFC 7636) and the other one-time values of a sign-in.

Owns: the code verifier and its S256 challenge, the ``state`` (CSRF defence,
RFC 6749 §10.12), the OpenID Connect ``nonce``, and a constant-time comparison.
Pure functions over :mod:`secrets`; no I/O, no OAuth requests (``authorize.py`` and
``token_endpoint.py`` send them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["new_code_verifier", "new_nonce", "new_state", "s256_challenge", "states_equal"]

# RFC 7636 §4.1: code_verifier = 43*128unreserved, unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
VERIFIER_MIN_LENGTH = 43
VERIFIER_MAX_LENGTH = 128
UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def _b64url(data: bytes) -> str:
    """base64url without padding (RFC 7636 Appendix A)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_code_verifier() -> str:
    """A fresh code verifier: 32 random octets, base64url-encoded to 43 characters.

    RFC 7636 §4.1 recommends exactly this ("a 32-octet sequence ... base64url-encoded
    to produce a 43-octet URL safe string").
    """
    return _b64url(secrets.token_bytes(32))


def s256_challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier``.

    RFC 7636 §4.2: code_challenge = BASE64URL-ENCODE(SHA256(ASCII(code_verifier))).

    Raises:
        ValueError: the verifier is not 43-128 unreserved characters (§4.1).
    """
    if not VERIFIER_MIN_LENGTH <= len(verifier) <= VERIFIER_MAX_LENGTH or not set(verifier) <= UNRESERVED:
        raise ValueError("a PKCE code verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 §4.1)")
    return _b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def new_state() -> str:
    """A fresh ``state`` value: 256 random bits, URL-safe (RFC 6749 §10.10 asks for >= 128)."""
    return secrets.token_urlsafe(32)


def new_nonce() -> str:
    """A fresh OpenID Connect ``nonce`` binding the ID token to this sign-in (OIDC Core §3.1.2.1)."""
    return secrets.token_urlsafe(32)


def states_equal(expected: str, received: object) -> bool:
    """Compare two ``state`` values in constant time; ``None`` or a non-string never matches.

    ``received`` may come from a decoded JWT (an ID token ``nonce`` of any JSON type).
    """
    if not isinstance(received, str):
        return False
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))
