"""Signed client assertions for ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9).

Owns: turning a private key (PEM text or a JWK dict) into a short-lived JWT
(RS256 for RSA keys, ES256/384/512 for EC keys, RFC 7518 §3.1) that
authenticates an Okta API Services app at the token endpoint. Okta requires
iss = sub = client_id, aud = the token endpoint URL, a unique jti and an
``exp`` at most one hour ahead; and :func:`service_login`, the client
credentials sign-in of such an app. The token request itself is ``oauth.py``'s job.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from okta_magic.errors import ConfigError
from okta_magic.tokens import InMemoryOnly, Secret, mask_secret

if TYPE_CHECKING:
    import httpx

    from okta_magic.tokens import Token

__all__ = ["MAX_LIFETIME", "PrivateJwk", "PrivateKey", "client_assertion", "held_key", "service_login"]

#: Okta rejects client assertions whose exp is more than one hour after iat.
MAX_LIFETIME = 3600.0

PrivateKey = str | bytes | Mapping[str, Any]

#: JWK members that are not secret (RFC 7517 §4, RFC 7518 §6); every other one is masked in a repr
_PUBLIC_JWK_MEMBERS = frozenset({"kty", "kid", "alg", "use", "key_ops", "crv", "x", "y", "n", "e"})


class PrivateJwk(InMemoryOnly, dict):  # type: ignore[type-arg]
    """A private JWK: a dict whose repr masks the private members (``d``, ``p``, ``q`` ...)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr({k: v if k in _PUBLIC_JWK_MEMBERS else mask_secret(str(v)) for k, v in self.items()})


def held_key(value: PrivateKey) -> PrivateKey:
    """A private key held so that its repr is masked: PEM text as a :class:`Secret`, a JWK as a :class:`PrivateJwk`."""
    if isinstance(value, (Secret, PrivateJwk)):
        return value
    if isinstance(value, bytes):
        return Secret(value.decode("utf-8", "replace"))
    if isinstance(value, str):
        return Secret(value)
    return PrivateJwk(value)


#: JWS algorithm for each EC curve (RFC 7518 §3.4)
_EC_ALGS = {
    "P-256": "ES256",
    "P-384": "ES384",
    "P-521": "ES512",
    "secp256r1": "ES256",
    "secp384r1": "ES384",
    "secp521r1": "ES512",
}
_SIGNING_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"})


def _algorithm(key: Any, jwk_alg: object) -> str:
    """The JWS ``alg`` for a key: the JWK's own ``alg`` when it names a signing algorithm,
    else RS256 for RSA and ES256/384/512 by curve for EC keys (RFC 7518 §3.1).

    Raises:
        ConfigError: the key is neither RSA nor EC on a JOSE curve.
    """
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(jwk_alg, str) and jwk_alg in _SIGNING_ALGS:
        return jwk_alg
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _EC_ALGS:
        return _EC_ALGS[key.curve.name]
    raise ConfigError(
        "The private key is neither RSA nor EC on P-256, P-384 or P-521; private_key_jwt needs one of those."
    )


def _load_key(private_key: PrivateKey) -> tuple[Any, str | None, str]:
    """The signing key object, the JWK ``kid`` if the key came with one, and the JWS ``alg``.

    Raises:
        ConfigError: the key cannot be read (the message never quotes the key, and the frame
            it is raised from holds the key only masked).
    """
    private_key = held_key(private_key)
    try:
        return _parse_key(private_key)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same thing to the user
        raise ConfigError(
            f"The private key could not be read ({type(exc).__name__}); pass the app's RSA or EC private key as "
            "unencrypted PEM text or as a JWK dict."
        ) from None


def _parse_key(private_key: PrivateKey) -> tuple[Any, str | None, str]:
    """:func:`_load_key`'s work; raises whatever the parsers raise."""
    import jwt  # lazy: keeps `import okta_magic` fast
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if isinstance(private_key, Mapping):
        if "d" not in private_key:
            raise ConfigError("The JWK is a public key; pass the app's PRIVATE key (it has a 'd' member).")
        kty, crv = private_key.get("kty"), private_key.get("crv")
        guess = "RS256" if kty == "RSA" else _EC_ALGS.get(str(crv), "ES256") if kty == "EC" else None
        jwk = jwt.PyJWK.from_json(json.dumps(dict(private_key)), algorithm=private_key.get("alg") or guess)
        return jwk.key, private_key.get("kid"), _algorithm(jwk.key, private_key.get("alg"))
    text = Secret(private_key if isinstance(private_key, str) else private_key.decode("utf-8", "replace"))
    if text.lstrip().startswith("{"):
        return _parse_key(PrivateJwk(json.loads(text)))
    key = load_pem_private_key(text.encode("utf-8"), password=None)
    return key, None, _algorithm(key, None)


def client_assertion(
    client_id: str,
    token_endpoint: str,
    private_key: PrivateKey,
    *,
    now: float,
    kid: str | None = None,
    lifetime: float = 300.0,
) -> str:
    """A signed client assertion JWT for ``client_id`` at ``token_endpoint`` (RS256 for RSA keys, ES* for EC).

    Args:
        client_id: the app's client id (used as iss and sub, RFC 7523 §3).
        token_endpoint: the audience, exactly the URL the assertion is posted to.
        private_key: PEM text/bytes or a JWK dict holding the RSA or EC private key.
        now: epoch seconds for ``iat``.
        kid: key id to put in the JWS header; defaults to the JWK's own ``kid``.
        lifetime: seconds until ``exp``; capped at Okta's one hour.

    Raises:
        ConfigError: the key is unreadable or the lifetime is not positive.
    """
    import jwt

    private_key = held_key(private_key)  # masked wherever this frame's locals are shown
    if lifetime <= 0:
        raise ConfigError("The client assertion lifetime must be positive (at most 3600 s).")
    key, jwk_kid, alg = _load_key(private_key)
    iat = int(now)
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": token_endpoint,
        "iat": iat,
        "exp": iat + int(min(lifetime, MAX_LIFETIME)),
        "jti": secrets.token_urlsafe(24),  # single use: Okta rejects replayed jti values
    }
    headers = {"kid": kid or jwk_kid} if (kid or jwk_kid) else None
    return jwt.encode(claims, key, algorithm=alg, headers=headers)


def service_login(
    issuer: str,
    client_id: str,
    private_key: PrivateKey,
    scopes: Sequence[str],
    kid: str | None = None,
    http: httpx.Client | None = None,
    *,
    clock: Callable[[], float] = time.time,
    dpop: bool = False,
) -> Token:
    """Sign in as an Okta API Services app: client credentials with private_key_jwt (``dpop``: bind the
    token to a fresh key from the first request; apps that require DPoP are detected without it).

    Okta: private_key_jwt is "the only supported method for OAuth service apps that
    want to get access tokens with Okta scopes"; the token lasts one hour and comes
    without a refresh token (call this again instead).

    Raises:
        ConfigError, TokenExchangeError, NetworkError.
    """
    import httpx

    # oauth.py imports this module for signing, so it is imported here, at call time
    from okta_magic import oauth

    private_key = held_key(private_key)  # masked wherever this frame's locals are shown
    own = http is None
    client = http or httpx.Client(timeout=30.0)
    try:
        metadata = oauth.discover(issuer, client)
        auth = oauth.ClientAuth(client_id, "private_key_jwt", private_key=private_key, kid=kid)
        from okta_magic.dpop import DPoPKey

        key = DPoPKey() if dpop else None
        return oauth.client_credentials(metadata, auth, scopes, client, now=clock(), dpop=key)
    finally:
        if own:
            client.close()
