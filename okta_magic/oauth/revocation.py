"""Token revocation (RFC 7009): telling the authorization server a token is no longer needed.

Owns: POSTing a refresh or access token to the revocation endpoint with the client's
authentication (RFC 7009 §2.1, RFC 6749 §2.3), reading the answer (§2.2: 200 also for an
unknown token; §2.2.1 ``unsupported_token_type`` when the server does not revoke that kind),
and a convenience that discovers the endpoint first for callers holding only configuration.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Literal

import httpx

from okta_magic.oauth.client_auth import AuthMethod, ClientAuth
from okta_magic.oauth.discovery import ProviderMetadata, discover, network_error
from okta_magic.errors import ConfigError, OktaMagicError
from okta_magic.oauth.token_endpoint import FORM, sent_secrets, token_error, with_client
from okta_magic.tokens import Token

__all__ = ["revoke", "revoke_one", "revoke_token"]

log = logging.getLogger(__name__)


def revoke(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    token: Token,
    http: httpx.Client,
) -> None:
    """Revoke the refresh token (if any) and the access token (RFC 7009 §2.1).

    RFC 7009 §2.2: the server answers 200 for an unknown or already invalid token too.

    Raises:
        ConfigError: the provider has no revocation endpoint.
        TokenExchangeError: the server refused the request (e.g. invalid_client).
        NetworkError.
    """
    if not metadata.revocation_endpoint:
        raise ConfigError("This provider has no revocation endpoint; the token stays valid until it expires.")
    for hint, value in (("refresh_token", token.refresh_token), ("access_token", token.access_token)):
        if value:
            revoke_one(metadata, auth, value, hint, http)


def revoke_one(metadata: ProviderMetadata, auth: ClientAuth, value: str, hint: str, http: httpx.Client) -> bool:
    """POST one token to the revocation endpoint (RFC 7009 §2.1); True when it was revoked.

    False when the server does not revoke that kind of token (``unsupported_token_type``,
    RFC 7009 §2.2.1; e.g. providers that only revoke refresh tokens).
    """
    endpoint = metadata.revocation_endpoint
    assert endpoint is not None
    data = {"token": value, "token_type_hint": hint}
    headers = dict(FORM)
    auth.apply(data, headers, endpoint, time.time())
    try:
        response = http.post(endpoint, data=data, headers=headers)
    except httpx.TransportError as exc:
        raise network_error(endpoint, exc) from None
    if response.is_success:  # RFC 7009 §2.2 says 200; some servers answer 204 No Content
        return True
    error = token_error(response, "revocation", auth, sent_secrets(data, auth), endpoint=endpoint)
    if error.error == "unsupported_token_type":
        log.info("the server does not revoke %s tokens; it stays valid until it expires", hint)
        return False
    raise error


def revoke_token(
    issuer: str,
    client_id: str,
    token: Token,
    which: Literal["access_token", "refresh_token"] = "access_token",
    *,
    client_secret: str | None = None,
    auth_method: AuthMethod | None = None,
    http: httpx.Client | None = None,
) -> bool:
    """Revoke one of ``token``'s secrets (RFC 7009); False when there is none to revoke,
    the provider has no revocation endpoint, or it does not revoke that kind of token.

    Raises:
        TokenExchangeError, ConfigError, NetworkError.
    """
    value = token.refresh_token if which == "refresh_token" else token.access_token
    if not value or token.token_type == "SSWS":
        return False
    client, own = with_client(http)
    try:
        metadata = discover(issuer, client)
        if not metadata.revocation_endpoint:
            return False
        auth = ClientAuth.choose(client_id, metadata, client_secret=client_secret, method=auth_method)
        return revoke_one(metadata, auth, value, which, client)
    finally:
        if own:
            client.close()


def revoke_all(issuer: str, client_id: str, token: Token, *, client_secret: str | None = None,
               auth_method: AuthMethod | None = None, http: httpx.Client | None = None) -> list[str]:
    """Revoke a sign-out's refresh token, then its access token (RFC 7009 §2); the kinds revoked, in words.

    One failing (a network error, a refusal) does not keep the other alive: each is tried.
    """
    revoked = []
    kinds: tuple[Literal["refresh_token", "access_token"], ...] = ("refresh_token", "access_token")
    for which in kinds:
        with contextlib.suppress(OktaMagicError, httpx.HTTPError):
            if revoke_token(issuer, client_id, token, which, client_secret=client_secret, auth_method=auth_method,
                            http=http):
                revoked.append(which.replace("_", " "))
    return revoked
