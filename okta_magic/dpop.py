"""DPoP proofs (RFC 9449): tokens bound to a key that only this kernel holds.

Owns: one ephemeral P-256 key per sign-in and the proof JWT sent in the ``DPoP``
header of each token request and API call. Okta accepts DPoP-bound tokens on
its Management API and an app can require them ("Require Demonstrating Proof of
Possession (DPoP) header in token requests"). The key never leaves memory and is
never shown: a stolen DPoP token is useless without it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from okta_magic.held import InMemoryOnly

__all__ = ["DPoPKey", "NONCE_ERROR", "htu"]

#: The error a server answers with when the proof must carry its nonce (RFC 9449 §8, §9).
NONCE_ERROR = "use_dpop_nonce"


def htu(url: str) -> str:
    """The proof's ``htu``: the request URL without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class DPoPKey(InMemoryOnly):
    """An ephemeral ES256 key pair and the proofs it signs; the latest server nonce is remembered."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        import jwt  # lazy: keeps `import okta_magic` fast
        from cryptography.hazmat.primitives.asymmetric import ec

        self._key = ec.generate_private_key(ec.SECP256R1())
        self._jwk: dict[str, Any] = jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key(), as_dict=True)
        self._clock = clock
        self.nonce: str | None = None  # the last DPoP-Nonce a server sent (RFC 9449 §8)

    def __repr__(self) -> str:
        return f"DPoPKey(thumbprint={self.thumbprint()!r}, private key hidden)"

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public half, as sent in every proof's header."""
        return dict(self._jwk)

    def thumbprint(self) -> str:
        """The key's JWK SHA-256 thumbprint (RFC 7638), which a bound token's ``cnf.jkt`` names."""
        members = {k: self._jwk[k] for k in ("crv", "kty", "x", "y")}
        canonical = ",".join(f'"{k}":"{v}"' for k, v in sorted(members.items()))
        return _b64(hashlib.sha256(("{" + canonical + "}").encode("ascii")).digest())

    def proof(self, method: str, url: str, *, access_token: str | None = None) -> str:
        """A fresh proof for one request (RFC 9449 §4.2); ``ath`` binds it to the access token sent with it."""
        import jwt

        claims: dict[str, Any] = {"jti": secrets.token_urlsafe(24), "htm": method.upper(), "htu": htu(url),
                                  "iat": int(self._clock())}
        if self.nonce:
            claims["nonce"] = self.nonce
        if access_token is not None:
            claims["ath"] = _b64(hashlib.sha256(access_token.encode("ascii")).digest())
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": self._jwk})

    def remember_nonce(self, headers: Any) -> bool:
        """Keep the ``DPoP-Nonce`` a response carried; True when it is new (worth one retry)."""
        nonce = headers.get("DPoP-Nonce") if headers is not None else None
        if not nonce or nonce == self.nonce:
            return False
        self.nonce = nonce
        return True
