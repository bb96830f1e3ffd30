"""Client authentication at the token endpoint (RFC 6749 §2.3, RFC 7523 §2.2 ``private_key_jwt``).

Owns: how an app proves who it is when it asks for tokens: ``none`` (a public app sends only
its ``client_id``), ``client_secret_basic`` / ``client_secret_post`` (RFC 6749 §2.3.1), or a
signed client assertion (RFC 7523 §2.2, OIDC Core §9): a short-lived JWT (RS256 for RSA keys,
ES256/384/512 for EC keys, RFC 7518 §3.1) with iss = sub = client_id, aud = the token endpoint,
a unique ``jti`` and an ``exp`` at most one hour ahead, as Okta requires. Secrets and keys are
held masked (:class:`Secret`, :class:`PrivateJwk`). The requests themselves are
``token_endpoint.py``'s job.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from okta_magic.errors import ConfigError
from okta_magic.held import InMemoryOnly, Secret, mask_secret, secret

if TYPE_CHECKING:
    from okta_magic.oauth.discovery import ProviderMetadata

__all__ = ["MAX_LIFETIME", "AuthMethod", "ClientAuth", "PrivateJwk", "PrivateKey", "client_assertion", "held_key"]

AuthMethod = Literal["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
#: RFC 7523 §2.2: the client_assertion_type of a JWT bearer client assertion
JWT_BEARER_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

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


@dataclass(frozen=True)
class ClientAuth(InMemoryOnly):
    """How the client proves its identity at the token endpoint.

    ``none`` (public app: only ``client_id`` in the body, as Okta's PKCE guide does),
    ``client_secret_basic`` / ``client_secret_post`` (RFC 6749 §2.3.1) or
    ``private_key_jwt`` (RFC 7523 §2.2). Secrets are kept out of the repr.
    """

    client_id: str
    method: AuthMethod = "none"
    client_secret: str | None = field(default=None, repr=False)
    private_key: PrivateKey | None = field(default=None, repr=False)
    kid: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "client_secret", secret(self.client_secret))
        if self.private_key is not None:
            object.__setattr__(self, "private_key", held_key(self.private_key))
        if self.method in ("client_secret_basic", "client_secret_post") and not self.client_secret:
            raise ConfigError(f"Client authentication {self.method} needs the app's client secret.")
        if self.method == "private_key_jwt" and self.private_key is None:
            raise ConfigError("Client authentication private_key_jwt needs the app's private key (PEM or JWK).")

    @classmethod
    def choose(
        cls,
        client_id: str,
        metadata: ProviderMetadata | None = None,
        *,
        client_secret: str | None = None,
        private_key: PrivateKey | None = None,
        method: AuthMethod | None = None,
        kid: str | None = None,
    ) -> ClientAuth:
        """Pick the method: the one asked for, else private_key_jwt with a key, else
        client_secret_basic (RFC 6749 §2.3.1 MUST-support) or _post as the provider
        advertises, else none (public client)."""
        if method is None:
            supported = metadata.token_endpoint_auth_methods_supported if metadata else ()
            if private_key is not None:
                method = "private_key_jwt"
            elif client_secret:
                if supported and "client_secret_basic" not in supported and "client_secret_post" in supported:
                    method = "client_secret_post"
                else:
                    method = "client_secret_basic"
            else:
                method = "none"
        return cls(client_id, method, client_secret=client_secret, private_key=private_key, kid=kid)

    def apply(self, data: dict[str, str], headers: dict[str, str], token_endpoint: str, now: float) -> None:
        """Add this client's credentials to a token endpoint request body/headers."""
        if self.method == "client_secret_basic":
            # RFC 6749 §2.3.1: id and secret are form-urlencoded before base64
            userpass = f"{quote(self.client_id, safe='')}:{quote(self.client_secret or '', safe='')}"
            headers["Authorization"] = Secret("Basic " + base64.b64encode(userpass.encode("utf-8")).decode("ascii"))
            return
        data["client_id"] = self.client_id
        if self.method == "client_secret_post":
            data["client_secret"] = self.client_secret or ""
        elif self.method == "private_key_jwt":
            assert self.private_key is not None
            data["client_assertion_type"] = JWT_BEARER_ASSERTION
            data["client_assertion"] = Secret(client_assertion(
                self.client_id, token_endpoint, self.private_key, now=now, kid=self.kid
            ))
