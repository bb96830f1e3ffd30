"""Signed client assertions for ``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9).

Owns: turning a private key (PEM text or a JWK dict) into a short-lived RS256
JWT that authenticates an Okta API Services app at the token endpoint. Okta
requires iss = sub = client_id, aud = the token endpoint URL, a unique jti and
an ``exp`` at most one hour ahead; and :func:`service_login`, the client
credentials sign-in of such an app. The token request itself is ``oauth.py``'s job.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from okta_magic.errors import ConfigError

if TYPE_CHECKING:
    import httpx

    from okta_magic.tokens import Token

__all__ = ["MAX_LIFETIME", "PrivateKey", "client_assertion", "service_login"]

#: Okta rejects client assertions whose exp is more than one hour after iat.
MAX_LIFETIME = 3600.0

PrivateKey = str | bytes | Mapping[str, Any]


def _load_key(private_key: PrivateKey) -> tuple[Any, str | None]:
    """The signing key object and the JWK ``kid`` if the key came with one.

    Raises:
        ConfigError: the key cannot be read (the message never quotes the key).
    """
    import jwt  # lazy: keeps `import okta_magic` fast
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        if isinstance(private_key, Mapping):
            if "d" not in private_key:
                raise ConfigError("The JWK is a public key; pass the app's PRIVATE key (it has a 'd' member).")
            jwk = jwt.PyJWK.from_json(json.dumps(dict(private_key)), algorithm="RS256")
            return jwk.key, private_key.get("kid")
        data = private_key.encode("utf-8") if isinstance(private_key, str) else private_key
        if data.lstrip().startswith(b"{"):
            return _load_key(json.loads(data))
        return load_pem_private_key(data, password=None), None
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - any parse failure means the same thing to the user
        raise ConfigError(
            f"The private key could not be read ({type(exc).__name__}); pass the app's RSA private key as "
            "unencrypted PEM text or as a JWK dict."
        ) from None


def client_assertion(
    client_id: str,
    token_endpoint: str,
    private_key: PrivateKey,
    *,
    now: float,
    kid: str | None = None,
    lifetime: float = 300.0,
) -> str:
    """An RS256-signed client assertion JWT for ``client_id`` at ``token_endpoint``.

    Args:
        client_id: the app's client id (used as iss and sub, RFC 7523 §3).
        token_endpoint: the audience, exactly the URL the assertion is posted to.
        private_key: PEM text/bytes or a JWK dict holding the RSA private key.
        now: epoch seconds for ``iat``.
        kid: key id to put in the JWS header; defaults to the JWK's own ``kid``.
        lifetime: seconds until ``exp``; capped at Okta's one hour.

    Raises:
        ConfigError: the key is unreadable or the lifetime is not positive.
    """
    import jwt

    if lifetime <= 0:
        raise ConfigError("The client assertion lifetime must be positive (at most 3600 s).")
    key, jwk_kid = _load_key(private_key)
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
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def service_login(
    issuer: str,
    client_id: str,
    private_key: PrivateKey,
    scopes: Sequence[str],
    kid: str | None = None,
    http: httpx.Client | None = None,
    *,
    clock: Callable[[], float] = time.time,
) -> Token:
    """Sign in as an Okta API Services app: client credentials with private_key_jwt.

    Okta: private_key_jwt is "the only supported method for OAuth service apps that
    want to get access tokens with Okta scopes"; the token lasts one hour and comes
    without a refresh token (call this again instead).

    Raises:
        ConfigError, TokenExchangeError, NetworkError.
    """
    import httpx

    # oauth.py imports this module for signing, so it is imported here, at call time
    from okta_magic import oauth

    own = http is None
    client = http or httpx.Client(timeout=30.0)
    try:
        metadata = oauth.discover(issuer, client)
        auth = oauth.ClientAuth(client_id, "private_key_jwt", private_key=private_key, kid=kid)
        return oauth.client_credentials(metadata, auth, scopes, client, now=clock())
    finally:
        if own:
            client.close()
