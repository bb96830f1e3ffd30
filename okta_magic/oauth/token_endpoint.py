"""Token requests (RFC 6749 §3.2): the code exchange, refresh and client credentials grants.

Owns: POSTing a grant to the token endpoint with the client's authentication
(``client_auth.py``, RFC 6749 §2.3 / RFC 7523), the authorization code exchange (§4.1.3 with
the PKCE verifier, RFC 7636 §4.5), refresh (§6, re-checking a refreshed ID token, OIDC Core
§12.2), client credentials (§4.4, with ``private_key_jwt`` for Okta API Services apps), DPoP
proofs and the one retry with the server's nonce (RFC 9449 §5, §8), and turning a refusal
(§5.2) into a :class:`TokenExchangeError` that carries the error code, its description, the
endpoint and the grant, plus a ``fix`` key that ``advice.py`` words. No secret we sent ever
appears in an error's text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from okta_magic.oauth.authorize import AuthorizationRequest, one_line
from okta_magic.oauth.client_auth import AuthMethod, ClientAuth, PrivateKey, held_key
from okta_magic.oauth.discovery import ProviderMetadata, discover, fetch_jwks, network_error
from okta_magic.dpop import NONCE_ERROR, DPoPKey
from okta_magic.errors import TokenExchangeError
from okta_magic.oauth.idtoken import IdTokenTimeError, check_refreshed_id_token
from okta_magic.tokens import Token
from okta_magic.www_authenticate import parse_www_authenticate

log = logging.getLogger(__name__)

__all__ = [
    "DEVICE_CODE_GRANT",
    "MASKED_FIELDS",
    "client_credentials",
    "exchange_code",
    "post_token",
    "refresh",
    "refresh_token",
    "refresher",
    "request_token",
    "sent_secrets",
    "service_login",
    "token_error",
    "token_request",
]

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
#: form fields that carry a credential: masked wherever a request is shown or echoed back
MASKED_FIELDS = frozenset({"client_secret", "client_assertion", "code", "refresh_token", "device_code", "token"})

_INVALID_GRANT: dict[str, tuple[str, str | None]] = {  # RFC 6749 §5.2 invalid_grant, by grant: (hint, fix key)
    "authorization_code": ("the authorization code expired or was already used", "sign_in_again"),
    "refresh_token": ("the refresh token is invalid, expired or revoked", "sign_in_again"),
    DEVICE_CODE_GRANT: ("the device code is invalid or expired; start the device sign-in again", None),
    "client_credentials": ("the client assertion was refused; check the app's public key and the kid", None),
}
_TOKEN_HINTS: dict[str, str] = {  # RFC 6749 §5.2 (and RFC 9449 §7.1 for DPoP) error -> what to check
    "invalid_client": "the server did not accept the app's credentials ({method}); check the client id and the app's "
    "Client authentication setting",
    "unauthorized_client": "the app may not use the {grant} grant; enable it in Okta Admin Console > "
    "Applications > the app > General > Grant type",
    "unsupported_grant_type": "the server does not support the {grant} grant",
    "invalid_scope": "the scopes are not granted to the app; grant them in Okta Admin Console > Applications > "
    "the app > Okta API Scopes",
    "invalid_dpop_proof": "the DPoP proof okta_magic signed was refused; check this machine's clock (a proof "
    "carries the time), or turn off 'Require Demonstrating Proof of Possession (DPoP) header in token requests' "
    "for the app in Okta Admin Console",
    "use_dpop_nonce": "the server kept asking for a new DPoP nonce; try again in a minute",
    "access_denied": "access was denied",
}


def _scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every secret we sent replaced by ``[masked]`` (a server may echo one back)."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[masked]")
    return text


def sent_secrets(data: Mapping[str, str], auth: ClientAuth) -> list[str]:
    """Every credential a request carried (form fields and the client secret), to scrub from what comes back."""
    sent = [value for name, value in data.items() if name in MASKED_FIELDS or name == "code_verifier"]
    return [*sent, auth.client_secret or ""]


def _error_body(response: httpx.Response) -> dict[str, Any] | None:
    """The RFC 6749 §5.2 error body, else the error in ``WWW-Authenticate`` (RFC 6750 §3 style), else None."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "error" in body:
        return body
    # e.g. a 401 invalid_client with the error only in the header
    return parse_www_authenticate(response.headers.get("WWW-Authenticate")) or None


def _without_oauth_error(response: httpx.Response, auth: ClientAuth, endpoint: str, grant: str) -> TokenExchangeError:
    """A refusal with no RFC 6749 §5.2 error to read (an HTML error page, a bare 401, a proxy's 502)."""
    status = response.status_code
    kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
    if status == 401:
        advice = (f"the server did not accept the app's credentials ({auth.method}); check the client id and "
                  "secret and the app's client authentication setting")
    elif status >= 500:
        advice = "the server (or a proxy in front of it) failed; try again in a minute"
    else:
        advice = "check the org URL and that this is the provider's token endpoint"
    return TokenExchangeError(f"The token endpoint answered HTTP {status} without an OAuth error ({kind}); {advice}.",
                              endpoint=endpoint, grant=grant)


def token_error(
    response: httpx.Response, grant: str, auth: ClientAuth, secrets: Sequence[str] = (), *, endpoint: str = ""
) -> TokenExchangeError:
    """The structured error for a refused token request (RFC 6749 §5.2), whatever the body looks like."""
    body = _error_body(response)
    if body is None or not body.get("error"):
        return _without_oauth_error(response, auth, endpoint, grant)
    error = _scrub(one_line(body["error"], 80), secrets)
    raw_description = body.get("error_description")
    description = _scrub(one_line(raw_description), secrets) if raw_description else None
    fix: str | None = None
    if error == "invalid_grant":
        text, fix = _INVALID_GRANT.get(grant, ("the grant was refused", "sign_in_again"))
    elif error in _TOKEN_HINTS:
        text = _TOKEN_HINTS[error].format(method=auth.method, grant=grant)
    else:
        text, fix = "", "sign_in_again_or_check_app"
    desc = f" ({description})" if description else ""
    tail = f"; {text}." if text else "."
    exc = TokenExchangeError(f"The token request was refused: {error}{desc}{tail}", error=error,
                             description=description, endpoint=endpoint, grant=grant)
    if fix:
        exc.with_fix(fix)
    return exc


def post_token(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    data: Mapping[str, str],
    http: httpx.Client,
    now: float,
    *,
    dpop: DPoPKey | None = None,
) -> dict[str, Any]:
    """POST a token request (RFC 6749 §3.2) with client authentication; the JSON body of a 200.

    With ``dpop``, the request carries a proof by that key (RFC 9449 §5); a server that asks
    for its nonce (``use_dpop_nonce``, §8, as Okta does on the first request) is asked again once
    with it, with fresh client credentials (a client assertion is single-use).

    Raises:
        TokenExchangeError: any other status, or a 200 carrying ``error`` instead of a token
            (some servers answer device polls so); ``.error`` holds the RFC 6749 §5.2 code.
        NetworkError.
    """
    endpoint, grant = metadata.token_endpoint, data.get("grant_type", "?")
    for attempt in (1, 2):
        body_data, headers = dict(data), dict(FORM)
        auth.apply(body_data, headers, endpoint, now)
        if dpop is not None:
            headers["DPoP"] = dpop.proof("POST", endpoint)
        secrets = sent_secrets(body_data, auth)
        try:
            response = http.post(endpoint, data=body_data, headers=headers)
        except httpx.TransportError as exc:
            raise network_error(endpoint, exc) from None
        if dpop is None or not dpop.remember_nonce(response.headers):
            break
        if response.status_code != 400 or attempt == 2 or _oauth_error(response) != NONCE_ERROR:
            break  # a nonce with a success (kept for the next request), or a refusal of another kind
    if response.status_code != 200:
        raise token_error(response, grant, auth, secrets, endpoint=endpoint)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TokenExchangeError("The token endpoint answered 200 without a JSON token response; try again.",
                                 endpoint=endpoint, grant=grant)
    if body.get("error") and not body.get("access_token"):
        raise token_error(response, grant, auth, secrets, endpoint=endpoint)
    return body


def _oauth_error(response: httpx.Response) -> str | None:
    """The ``error`` member of an RFC 6749 §5.2 error body, if there is one."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("error") if isinstance(body, dict) else None


def request_token(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    data: Mapping[str, str],
    http: httpx.Client,
    now: float,
    *,
    dpop: DPoPKey | None = None,
) -> tuple[dict[str, Any], DPoPKey | None]:
    """:func:`post_token`, and the DPoP key the token is bound to, if any.

    An app that requires DPoP (Okta's "Require Demonstrating Proof of Possession (DPoP) header
    in token requests") refuses a request without a proof with ``invalid_dpop_proof`` (or asks
    for a nonce, ``use_dpop_nonce``); the
    request is then made again with a fresh key (RFC 9449 §5), the same grant (Okta refuses it
    before using the code, as its documented nonce round trip shows).
    """
    try:
        return post_token(metadata, auth, data, http, now, dpop=dpop), dpop
    except TokenExchangeError as exc:
        # Okta says invalid_dpop_proof (or asks for a nonce); other servers say invalid_grant and name DPoP
        # (oidc-provider: "DPoP proof JWT not provided"), checked before the code is used up.
        wants_dpop = exc.error in ("invalid_dpop_proof", NONCE_ERROR) or (
            exc.error == "invalid_grant" and "dpop" in (exc.description or "").lower())
        if dpop is not None or not wants_dpop:
            raise
    key = DPoPKey()
    return post_token(metadata, auth, data, http, now, dpop=key), key


def token_request(
    metadata: ProviderMetadata, auth: ClientAuth, data: Mapping[str, str], *, now: float
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The (url, form body, headers) a token request would send, for display or tests."""
    body, headers = dict(data), dict(FORM)
    auth.apply(body, headers, metadata.token_endpoint, now)
    return metadata.token_endpoint, body, headers


def exchange_code(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    request: AuthorizationRequest,
    code: str,
    http: httpx.Client,
    *,
    now: float | None = None,
    dpop: DPoPKey | None = None,
) -> Token:
    """Exchange an authorization code for tokens (RFC 6749 §4.1.3, RFC 7636 §4.5); ``dpop``: prove this key.

    Raises:
        TokenExchangeError, NetworkError.
    """
    now = time.time() if now is None else now
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": request.redirect_uri,
        "code_verifier": request.code_verifier,
    }
    body, key = request_token(metadata, auth, data, http, now, dpop=dpop)
    return Token.from_token_response(
        body, issuer=metadata.issuer, client_id=auth.client_id, scopes_requested=request.scopes, now=now,
        dpop_key=key,
    )


def refresh(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    token: Token,
    http: httpx.Client,
    *,
    now: float | None = None,
    scopes: Sequence[str] | None = None,
) -> Token:
    """Use ``token.refresh_token`` for a new access token (RFC 6749 §6).

    Raises:
        TokenExchangeError: no refresh token, or the server refused it.
        NetworkError.
    """
    if not token.refresh_token:
        raise TokenExchangeError("This sign-in has no refresh token (request offline_access to get one).",
                                 endpoint=metadata.token_endpoint, grant="refresh_token").with_fix("sign_in_again")
    now = time.time() if now is None else now
    data = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
    if scopes:
        data["scope"] = " ".join(scopes)
    body, key = request_token(metadata, auth, data, http, now, dpop=token.dpop_key)  # a bound refresh token too
    if isinstance(body.get("id_token"), str) and token.id_token and body["id_token"] != token.id_token:
        try:
            check_refreshed_id_token(body["id_token"], token.id_token, issuer=metadata.issuer,
                                     client_id=auth.client_id, now=now, jwks=fetch_jwks(metadata, http),
                                     client_secret=auth.client_secret,
                                     algorithms=metadata.id_token_signing_alg_values_supported)
        except IdTokenTimeError as exc:
            # Only the clocks disagree; the access token came from the token endpoint over TLS (OIDC Core §12.2
            # asks the checks of the ID token, not of the access token): keep it, and the ID token of the sign-in.
            log.warning("Note: the refreshed ID token was set aside (%s); the new access token is kept, and the ID "
                        "token of the sign-in with it.", exc.args[0] if exc.args else exc)
            body = {name: value for name, value in body.items() if name != "id_token"}
    return Token.from_token_response(
        body,
        issuer=metadata.issuer,
        client_id=auth.client_id,
        scopes_requested=tuple(scopes) if scopes else token.scopes_requested,
        now=now,
        previous=token,
        dpop_key=key,
        # RFC 6749 §6: a refresh without scope keeps the scope originally granted
        scopes_if_omitted=tuple(scopes) if scopes else token.scopes_granted or token.scopes_requested,
    )


def refresher(
    metadata: ProviderMetadata, auth: ClientAuth, http: httpx.Client, *, clock: Callable[[], float] = time.time
) -> Callable[[Token], Token]:
    """A ``Token -> Token`` refresh function for :class:`okta_magic.tokens.TokenKeeper`."""

    def _refresh(token: Token) -> Token:
        return refresh(metadata, auth, token, http, now=clock())

    return _refresh


def client_credentials(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    scopes: Sequence[str],
    http: httpx.Client,
    *,
    now: float | None = None,
    dpop: DPoPKey | None = None,
) -> Token:
    """The client credentials grant (RFC 6749 §4.4), used by Okta API Services apps; ``dpop``: prove this key.

    Raises:
        TokenExchangeError, NetworkError.
    """
    now = time.time() if now is None else now
    data = {"grant_type": "client_credentials", "scope": " ".join(scopes)}
    body, key = request_token(metadata, auth, data, http, now, dpop=dpop)
    return Token.from_token_response(
        body, issuer=metadata.issuer, client_id=auth.client_id, scopes_requested=scopes, now=now, dpop_key=key
    )


def with_client(http: httpx.Client | None) -> tuple[httpx.Client, bool]:
    """``http``, or a new client the caller closes (the flag says which)."""
    return (http, False) if http is not None else (httpx.Client(timeout=30.0), True)


def refresh_token(
    issuer: str,
    client_id: str,
    token: Token,
    *,
    client_secret: str | None = None,
    auth_method: AuthMethod | None = None,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> Token:
    """Discover the issuer's endpoints, then :func:`refresh` (a convenience for callers holding only config).

    Raises:
        TokenExchangeError, ConfigError, NetworkError.
    """
    client, own = with_client(http)
    try:
        metadata = discover(issuer, client)
        auth = ClientAuth.choose(client_id, metadata, client_secret=client_secret, method=auth_method)
        return refresh(metadata, auth, token, client, now=clock())
    finally:
        if own:
            client.close()


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
    private_key = held_key(private_key)  # masked wherever this frame's locals are shown
    client, own = with_client(http)
    try:
        metadata = discover(issuer, client)
        auth = ClientAuth(client_id, "private_key_jwt", private_key=private_key, kid=kid)
        key = DPoPKey() if dpop else None
        return client_credentials(metadata, auth, scopes, client, now=clock(), dpop=key)
    finally:
        if own:
            client.close()
