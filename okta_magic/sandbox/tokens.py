"""Signing keys and JWTs of the sandbox org: access tokens, ID tokens, client assertions.

Owns the org's RS256 signing key (published at ``/oauth2/v1/keys``), minting of
access and ID tokens, their validation against the sandbox clock, revocation
(RFC 7009) and verification of ``private_key_jwt`` client assertions
(RFC 7523 §3). It knows nothing about HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCESS_TOKEN_LIFETIME = 3600  # Okta's org AS: one hour (the sandbox's token_lifetime knob changes it)
ID_TOKEN_LIFETIME = 3600
ASSERTION_MAX_AHEAD = 3600  # Okta: a client assertion's exp may be at most 1 h ahead
DPOP_IAT_WINDOW = 300  # seconds a proof's iat may stray from the server's clock
_DPOP_ALGS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA")


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA key (the size Okta requires for RS256)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(key: rsa.RSAPrivateKey) -> str:
    """PKCS#8 PEM of a private key (only handed to the demo service app)."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def check_lifetime(seconds: object) -> int:
    """An access-token lifetime in whole seconds, at least 1 (ValueError otherwise)."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or int(seconds) < 1:
        raise ValueError(f"token_lifetime: a number of seconds, at least 1; got {seconds!r}")
    return int(seconds)


def _b64uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    """The public half as a JWK (RFC 7517), the shape Okta serves in its key set."""
    numbers = key.public_key().public_numbers()
    return {"kty": "RSA", "alg": "RS256", "kid": kid, "use": "sig", "e": _b64uint(numbers.e), "n": _b64uint(numbers.n)}


def half_hash(value: str) -> str:
    """OIDC Core §3.1.3.6 at_hash: left half of SHA-256, base64url."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


@dataclass
class AccessGrant:
    """What a valid access token allows: who, through which app, with which scopes."""

    jti: str
    client_id: str
    scopes: tuple[str, ...]
    user_id: str | None
    subject: str
    expires_at: int
    claims: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def jkt(self) -> str | None:
        """The thumbprint of the key a DPoP-bound token is bound to (``cnf.jkt``, RFC 9449 §6.1), else None."""
        cnf = self.claims.get("cnf")
        return cnf.get("jkt") if isinstance(cnf, dict) else None


class DPoPRefused(Exception):
    """A DPoP proof that fails RFC 9449 §4.3: ``error`` is invalid_dpop_proof or use_dpop_nonce."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class TokenAuthority:
    """Mints and checks the org's tokens; revocation is remembered by ``jti``."""

    def __init__(self, issuer_getter: Any, clock: Any, access_lifetime: int = ACCESS_TOKEN_LIFETIME) -> None:
        self._issuer = issuer_getter  # callable: the org URL is known only once the port is bound
        self._clock = clock
        self.access_lifetime = check_lifetime(access_lifetime)  # seconds an access token lasts from now on
        self._key = new_rsa_key()
        self.kid = secrets.token_urlsafe(32)[:43]
        self._public = self._key.public_key()
        self._revoked: set[str] = set()
        self._cache: dict[str, AccessGrant] = {}
        self._used_assertions: set[str] = set()
        self._used_proofs: set[str] = set()
        self.dpop_nonce = secrets.token_urlsafe(24)  # the server nonce proofs must carry (RFC 9449 §8)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TokenAuthority(kid={self.kid!r})"

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JSON Web Key Set for ``/oauth2/v1/keys``."""
        return {"keys": [public_jwk(self._key, self.kid)]}

    def mint_access_token(
        self,
        *,
        client_id: str,
        scopes: Sequence[str],
        user_id: str | None,
        subject: str,
        origin: str | None = None,
        jkt: str | None = None,
    ) -> tuple[str, AccessGrant]:
        """An RS256 access token shaped like Okta's org AS tokens (claims ver, jti, iss, aud, cid, uid, scp, sub);
        ``jkt`` binds it to a DPoP key (``cnf``, RFC 9449 §6.1)."""
        now = int(self._clock())
        issuer = self._issuer()
        jti = "AT." + secrets.token_urlsafe(32)
        claims: dict[str, Any] = {
            "ver": 1,
            "jti": jti,
            "iss": issuer,
            "aud": issuer,
            "iat": now,
            "exp": now + self.access_lifetime,
            "cid": client_id,
        }
        if user_id is not None:
            claims["uid"] = user_id
        claims["scp"] = list(scopes)
        claims["sub"] = subject
        if jkt is not None:
            claims["cnf"] = {"jkt": jkt}
        token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})
        grant = AccessGrant(jti, client_id, tuple(scopes), user_id, subject, claims["exp"], claims)
        if origin is not None:
            grant.claims = {**claims, "_origin": origin}
        with self._lock:
            self._cache[token] = grant
        return token, grant

    def mint_id_token(
        self, *, client_id: str, user: Mapping[str, Any], nonce: str | None, access_token: str | None, auth_time: int
    ) -> str:
        """An OIDC ID token (OIDC Core §2) for a signed-in demo user; nonce echoed when sent."""
        now = int(self._clock())
        profile = user["profile"]
        claims: dict[str, Any] = {
            "sub": user["id"],
            "name": f"{profile['firstName']} {profile['lastName']}",
            "email": profile["email"],
            "ver": 1,
            "iss": self._issuer(),
            "aud": client_id,
            "iat": now,
            "exp": now + ID_TOKEN_LIFETIME,
            "jti": "ID." + secrets.token_urlsafe(32),
            "amr": ["pwd"],
            "idp": "00o" + user["id"][3:],
            "preferred_username": profile["login"],
            "auth_time": auth_time,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["at_hash"] = half_hash(access_token)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def check_access_token(self, token: str) -> AccessGrant | None:
        """The grant behind a token, or None when it is malformed, forged, expired or revoked."""
        grant = self._cache.get(token)
        if grant is None:
            try:
                claims = jwt.decode(
                    token,
                    self._public,
                    algorithms=["RS256"],
                    audience=self._issuer(),
                    issuer=self._issuer(),
                    options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
                )
            except jwt.PyJWTError:
                return None
            grant = AccessGrant(
                claims["jti"],
                claims["cid"],
                tuple(claims.get("scp", ())),
                claims.get("uid"),
                claims["sub"],
                int(claims["exp"]),
                claims,
            )
            with self._lock:
                self._cache[token] = grant
        if grant.jti in self._revoked or grant.expires_at <= self._clock():
            return None
        return grant

    def revoke_jti(self, jti: str) -> None:
        """Make every copy of the token with this id invalid (RFC 7009 §2.1)."""
        with self._lock:
            self._revoked.add(jti)

    def revoke_origin(self, origin: str) -> None:
        """Revoke every access token minted from one authorization code (RFC 6749 §4.1.2 replay rule)."""
        with self._lock:
            for grant in self._cache.values():
                if grant.claims.get("_origin") == origin:
                    self._revoked.add(grant.jti)

    def verify_client_assertion(
        self, assertion: str, *, client_id: str, public_key_pem: str, audience: str
    ) -> str | None:
        """None when a private_key_jwt assertion is valid (RFC 7523 §3), else the reason it is not.

        The signature is checked with the app's registered public key; ``exp`` against
        the sandbox clock and no more than one hour ahead; ``jti`` only once.
        """
        try:
            claims = jwt.decode(
                assertion,
                serialization.load_pem_public_key(public_key_pem.encode("ascii")),  # type: ignore[arg-type]
                algorithms=["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
                audience=audience,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "require": ["exp", "jti"]},
            )
        except jwt.InvalidAudienceError:
            return "The audience claim for client_assertion must be the endpoint invoked for the request."
        except jwt.PyJWTError:
            return "The client_assertion signature is invalid."
        now = self._clock()
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return "The client_assertion token must have 'iss' and 'sub' equal to the client_id."
        exp = claims["exp"]
        if not isinstance(exp, (int, float)) or exp <= now:
            return "The client_assertion token is expired."
        if exp > now + ASSERTION_MAX_AHEAD:
            return "The client_assertion token has an expiration too far into the future."
        jti = str(claims["jti"])
        with self._lock:
            if jti in self._used_assertions:
                return "The client_assertion token has already been used."
            self._used_assertions.add(jti)
        return None

    def verify_dpop_proof(
        self, proof: str | None, *, method: str, url: str, access_token: str | None = None, need_nonce: bool = False
    ) -> str:
        """The JWK thumbprint of a valid DPoP proof (RFC 9449 §4.3), or :class:`DPoPRefused`.

        Checked: one well-formed JWT of type ``dpop+jwt``, an asymmetric ``alg``, a public ``jwk``
        that verifies the signature, ``htm``/``htu`` naming this request, a recent ``iat``, a
        ``jti`` never seen before, the server nonce when ``need_nonce``, and ``ath`` when a token is presented.
        """
        if not proof:
            raise DPoPRefused("invalid_dpop_proof", "The DPoP proof JWT header is missing.")
        try:
            header = jwt.get_unverified_header(proof)
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in _DPOP_ALGS:
                raise DPoPRefused("invalid_dpop_proof", "The DPoP proof JWT must have typ 'dpop+jwt' and an "
                                                        "asymmetric alg.")
            jwk = header.get("jwk")
            if not isinstance(jwk, dict) or "d" in jwk:
                raise DPoPRefused("invalid_dpop_proof", "The DPoP proof JWT header must carry a public 'jwk'.")
            key = jwt.PyJWK.from_dict(jwk, algorithm=header["alg"])
            claims = jwt.decode(proof, key.key, algorithms=[header["alg"]],
                                options={"verify_iat": False, "require": ["jti", "htm", "htu", "iat"]})
        except DPoPRefused:
            raise
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise DPoPRefused("invalid_dpop_proof", "The DPoP proof JWT signature or claims are invalid.") from None
        target = url.split("?", 1)[0].split("#", 1)[0]
        if claims["htm"] != method or claims["htu"].split("?", 1)[0] != target:
            raise DPoPRefused("invalid_dpop_proof", "The DPoP proof's 'htm' or 'htu' does not match the request.")
        if abs(self._clock() - float(claims["iat"])) > DPOP_IAT_WINDOW:
            raise DPoPRefused("invalid_dpop_proof", "The DPoP proof JWT 'iat' is not recent.")
        if access_token is not None:
            digest = base64.urlsafe_b64encode(hashlib.sha256(access_token.encode("ascii")).digest()).rstrip(b"=")
            if claims.get("ath") != digest.decode("ascii"):
                raise DPoPRefused("invalid_dpop_proof", "The DPoP proof's 'ath' does not match the access token.")
        if need_nonce and claims.get("nonce") != self.dpop_nonce:
            raise DPoPRefused("use_dpop_nonce", "Authorization server requires nonce in DPoP proof.")
        with self._lock:
            if claims["jti"] in self._used_proofs:
                raise DPoPRefused("invalid_dpop_proof", "The DPoP proof JWT 'jti' has already been used.")
            self._used_proofs.add(claims["jti"])
        return jwk_thumbprint(jwk)


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order, base64url."""
    required = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    members = {k: jwk[k] for k in required.get(str(jwk.get("kty")), ())}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode("utf-8")).digest()).rstrip(b"=").decode("ascii")
