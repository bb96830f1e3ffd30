"""OAuth 2.0 / OpenID Connect protocol steps against Okta's org authorization server.

Owns: provider discovery (OIDC Discovery 1.0), the authorization request URL
(RFC 6749 §4.1.1 + PKCE, RFC 7636), validating the redirect back (state,
RFC 9207 ``iss``, ``error=``), client authentication at the token endpoint
(RFC 6749 §2.3.1, RFC 7523 ``private_key_jwt``), the token requests (code
exchange §4.1.3, refresh §6, client credentials §4.4), revocation (RFC 7009)
and ID token claim checks (OIDC Core §3.1.3.7).

Every function takes an injected ``httpx.Client``; nothing here opens a
browser, listens on a port or keeps state between calls (``login.py`` does).
Errors are the typed, one-line errors of :mod:`okta_magic.errors`; no secret
ever appears in their text.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from okta_magic import pkce
from okta_magic.assertion import PrivateKey, client_assertion, held_key
from okta_magic.dpop import NONCE_ERROR, DPoPKey
from okta_magic.errors import (
    AuthorizationDenied,
    ConfigError,
    LoginError,
    NetworkError,
    StateMismatch,
    TokenExchangeError,
)
from okta_magic.tokens import InMemoryOnly, Secret, Token, decode_jwt_claims, mask_secret, secret

__all__ = [
    "AuthMethod",
    "AuthorizationRequest",
    "ClientAuth",
    "ProviderMetadata",
    "check_id_token",
    "client_credentials",
    "curl_command",
    "discover",
    "exchange_code",
    "fetch_jwks",
    "id_token_alg",
    "id_token_signature_checked",
    "normalize_issuer",
    "parse_callback",
    "post_token",
    "request_token",
    "refresh",
    "refresher",
    "revoke",
    "refresh_token",
    "revoke_token",
    "token_request",
]

log = logging.getLogger(__name__)

AuthMethod = Literal["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
_FORM = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}


def normalize_issuer(issuer: str) -> str:
    """The issuer without a trailing slash, as Okta writes it (``https://org.okta.com``)."""
    return issuer.strip().rstrip("/")


def _network_error(url: str, exc: httpx.TransportError) -> NetworkError:
    """The client's one-line network error (DNS, refused, TLS, proxy, timeout told apart) for ``url``."""
    from okta_magic.client import network_error

    return network_error(exc, httpx.URL(url))


def _one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- discovery -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints and capabilities of an authorization server (OIDC Discovery §3).

    ``discovered`` is False when the Okta org AS defaults were used because the
    discovery document was missing (HTTP 404).
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    revocation_endpoint: str | None = None
    jwks_uri: str | None = None
    userinfo_endpoint: str | None = None
    device_authorization_endpoint: str | None = None
    introspection_endpoint: str | None = None
    token_endpoint_auth_methods_supported: tuple[str, ...] = ()
    code_challenge_methods_supported: tuple[str, ...] = ()
    grant_types_supported: tuple[str, ...] = ()
    scopes_supported: tuple[str, ...] = ()
    authorization_response_iss_parameter_supported: bool = False
    # OIDC Discovery §3: REQUIRED, and RS256 MUST be in it; () when a document leaves it out (RS256 then)
    id_token_signing_alg_values_supported: tuple[str, ...] = ()
    discovered: bool = True

    @classmethod
    def okta_org_defaults(cls, issuer: str) -> ProviderMetadata:
        """The Okta org authorization server's fixed endpoint paths under ``issuer``."""
        base = normalize_issuer(issuer) + "/oauth2/v1"
        return cls(
            issuer=normalize_issuer(issuer),
            authorization_endpoint=f"{base}/authorize",
            token_endpoint=f"{base}/token",
            revocation_endpoint=f"{base}/revoke",
            jwks_uri=f"{base}/keys",
            userinfo_endpoint=f"{base}/userinfo",
            device_authorization_endpoint=f"{base}/device/authorize",
            introspection_endpoint=f"{base}/introspect",
            token_endpoint_auth_methods_supported=(
                "client_secret_basic",
                "client_secret_post",
                "client_secret_jwt",
                "private_key_jwt",
                "none",
            ),
            code_challenge_methods_supported=("S256",),
            id_token_signing_alg_values_supported=("RS256",),
            discovered=False,
        )

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> ProviderMetadata:
        """Build from a parsed discovery document (unknown members are ignored)."""

        def opt(name: str) -> str | None:
            value = doc.get(name)
            return str(value) if value else None

        def many(name: str) -> tuple[str, ...]:
            value = doc.get(name)
            return tuple(str(v) for v in value) if isinstance(value, list) else ()

        for required in ("issuer", "authorization_endpoint", "token_endpoint"):
            if not doc.get(required):
                raise ConfigError(f"The provider's discovery document has no {required}; check the org URL.")
        return cls(
            issuer=str(doc["issuer"]),
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            revocation_endpoint=opt("revocation_endpoint"),
            jwks_uri=opt("jwks_uri"),
            userinfo_endpoint=opt("userinfo_endpoint"),
            device_authorization_endpoint=opt("device_authorization_endpoint"),
            introspection_endpoint=opt("introspection_endpoint"),
            token_endpoint_auth_methods_supported=many("token_endpoint_auth_methods_supported"),
            code_challenge_methods_supported=many("code_challenge_methods_supported"),
            grant_types_supported=many("grant_types_supported"),
            scopes_supported=many("scopes_supported"),
            authorization_response_iss_parameter_supported=doc.get("authorization_response_iss_parameter_supported")
            is True,
            id_token_signing_alg_values_supported=many("id_token_signing_alg_values_supported"),
        )

    def endpoints(self) -> dict[str, str]:
        """The endpoints found, by name (for display)."""
        names = (
            "authorization_endpoint",
            "token_endpoint",
            "revocation_endpoint",
            "jwks_uri",
            "userinfo_endpoint",
            "device_authorization_endpoint",
            "introspection_endpoint",
        )
        return {name: getattr(self, name) for name in names if getattr(self, name)}


def _metadata_urls(issuer: str) -> list[str]:
    """Where an issuer's metadata may live, in the order tried.

    OIDC Discovery §4 appends ``/.well-known/openid-configuration`` to the issuer (path
    kept: ``https://host/realms/demo/.well-known/...``); RFC 8414 §3.1 inserts
    ``/.well-known/oauth-authorization-server`` between the host and the issuer's path.
    """
    parts = urlsplit(issuer)
    rfc8414 = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{parts.path}"
    return [f"{issuer}/.well-known/openid-configuration", rfc8414]


def _get_metadata(url: str, http: httpx.Client) -> httpx.Response:
    try:
        # a redirect (http -> https, a load balancer) is followed; the issuer check below still applies
        return http.get(url, headers={"Accept": "application/json"}, follow_redirects=True)
    except httpx.TransportError as exc:
        raise _network_error(url, exc) from None


def discover(issuer: str, http: httpx.Client) -> ProviderMetadata:
    """Read ``{issuer}/.well-known/openid-configuration`` (OIDC Discovery §4), else RFC 8414 metadata.

    Falls back to the Okta org AS paths only when neither document exists (HTTP 404)
    and the issuer has no path (an Okta org URL never has one).

    Raises:
        NetworkError: the issuer is unreachable.
        ConfigError: the answer is not a discovery document, or names another
            issuer (OIDC Discovery §4.3 and RFC 8414 §3.3 require an exact match).
    """
    issuer = normalize_issuer(issuer)
    urls = _metadata_urls(issuer)
    for url in urls:
        response = _get_metadata(url, http)
        if response.status_code != 404:
            break
    else:
        if urlsplit(issuer).path:
            raise ConfigError(
                f"{issuer} has no discovery document ({urls[0]} answered HTTP 404); check the issuer URL "
                "(for Keycloak it is http(s)://host/realms/<realm>)."
            )
        log.info("no discovery document at %s; using the Okta org authorization server paths", urls[0])
        return ProviderMetadata.okta_org_defaults(issuer)
    if response.status_code != 200:
        raise ConfigError(f"Discovery at {url} answered HTTP {response.status_code}; check the org URL.")
    try:
        doc = response.json()
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{url} is not an OpenID discovery document; check the org URL (e.g. https://yourorg.okta.com)."
        )
    metadata = ProviderMetadata.from_document(doc)
    # Exact match (OIDC Discovery §4.3), except for a trailing slash, which some providers keep in
    # their issuer (https://tenant.example.com/) and an org URL never has. The document's own value is
    # kept for the later iss checks.
    if normalize_issuer(metadata.issuer) != issuer:
        raise ConfigError(
            f"The server at {issuer} says its issuer is {metadata.issuer}; use exactly that as the org URL."
        )
    return metadata


def fetch_jwks(metadata: ProviderMetadata, http: httpx.Client) -> dict[str, Any] | None:
    """The provider's JSON Web Key Set, or ``None`` when it has none or cannot be read."""
    if not metadata.jwks_uri:
        return None
    try:
        response = http.get(metadata.jwks_uri, headers={"Accept": "application/json"})
        body = response.json() if response.status_code == 200 else None
    except (httpx.TransportError, ValueError) as exc:
        log.warning("could not read the JWKS at %s: %s", metadata.jwks_uri, type(exc).__name__)
        return None
    return body if isinstance(body, dict) and isinstance(body.get("keys"), list) else None


# -- the authorization request ---------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest(InMemoryOnly):
    """One authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3).

    Create with :meth:`new` so state, nonce and verifier are fresh. The verifier
    stays out of the repr; it is sent only to the token endpoint.
    """

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    code_verifier: str = field(repr=False)
    code_challenge: str

    @classmethod
    def new(cls, client_id: str, redirect_uri: str, scopes: Sequence[str]) -> AuthorizationRequest:
        """A request with a fresh state, nonce and PKCE verifier/challenge."""
        verifier = pkce.new_code_verifier()
        return cls(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=tuple(scopes),
            state=pkce.new_state(),
            nonce=pkce.new_nonce(),
            code_verifier=verifier,
            code_challenge=pkce.s256_challenge(verifier),
        )

    @property
    def wants_openid(self) -> bool:
        return "openid" in self.scopes

    def params(self) -> dict[str, str]:
        """The query parameters of the authorization URL, in a readable order."""
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",  # RFC 7636 §4.3; "plain" is never sent
        }
        if self.wants_openid:
            params["nonce"] = self.nonce  # OIDC Core §3.1.2.1: binds the ID token to this request
        return params

    def url(self, metadata: ProviderMetadata, extra: Mapping[str, str] | None = None) -> str:
        """The URL to open in the browser; ``extra`` adds parameters (e.g. ``login_hint``)."""
        params = self.params()
        if extra:
            params.update(extra)
        sep = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
        return metadata.authorization_endpoint + sep + urlencode(params, quote_via=quote)


# -- the redirect back ------------------------------------------------------------------

_DENIAL_HINTS = {
    "access_denied": "Sign-in was cancelled or refused{desc}. If you did not cancel, ask an Okta admin to assign "
    "you to the app, then run %okta_login again.",
    "invalid_request": "Okta rejected the sign-in request{desc}. Check the client id, scopes and redirect URI, "
    "then run %okta_login again.",
    "unauthorized_client": "The app may not use the authorization code flow{desc}. Enable the Authorization Code "
    "grant for it in Okta Admin Console > Applications > the app > General.",
    "unsupported_response_type": "The app does not allow response_type=code{desc}. Enable the Authorization Code "
    "grant for it in Okta Admin Console > Applications > the app > General.",
    "login_required": "Okta needs you to sign in interactively{desc}. Run %okta_login again and complete the "
    "sign-in page.",
    "consent_required": "Okta needs your consent for the requested scopes{desc}. Run %okta_login again and "
    "approve them.",
    "interaction_required": "Okta needs you to complete a step in the browser{desc}. Run %okta_login again and "
    "finish the sign-in page.",
    "server_error": "Okta had an internal error during sign-in{desc}. Wait a moment and run %okta_login again.",
    "temporarily_unavailable": "Okta is temporarily unavailable{desc}. Wait a moment and run %okta_login again.",
}


def _invalid_scope_message(description: str | None, requested: Sequence[str]) -> str:
    named = [s for s in requested if description and re.search(rf"(?<![\w.]){re.escape(s)}(?![\w.])", description)]
    suspects = named or [s for s in requested if s.startswith("okta.")] or list(requested)
    which = " ".join(suspects) if suspects else "requested"
    noun = "The scope" if len(suspects) == 1 else "The scopes"
    desc = f" ({_one_line(description)})" if description else ""
    return (
        f"Okta refused the scopes (invalid_scope){desc}. {noun} {which} must be granted to the app in "
        "Okta Admin Console > Applications > the app > Okta API Scopes, or request fewer with --scopes."
    )


def denial_message(error: str, description: str | None, requested_scopes: Sequence[str] = ()) -> str:
    """The one-line, actionable message for an ``error=`` redirect (RFC 6749 §4.1.2.1)."""
    if error == "invalid_scope":
        return _invalid_scope_message(description, requested_scopes)
    desc = f" ({error}: {_one_line(description)})" if description else f" ({error})"
    template = _DENIAL_HINTS.get(error, "Sign-in failed{desc}. Run %okta_login again.")
    return template.format(desc=desc)


def parse_callback(
    url: str,
    expected_state: str,
    issuer: str,
    iss_required: bool = False,
    *,
    requested_scopes: Sequence[str] = (),
) -> str:
    """Validate the redirect back from the authorization server and return the code.

    Checks, in order: ``state`` (constant time, RFC 6749 §10.12; first, so a forged
    redirect without our state is only ever a :class:`StateMismatch`), RFC 9207
    ``iss`` (must equal ``issuer`` when present, and be present when
    ``iss_required``), ``error`` (§4.1.2.1), then ``code``.

    Args:
        url: the full redirect URL (or just its ``?query``).
        expected_state: the state we sent.
        issuer: our issuer.
        iss_required: the provider advertises authorization_response_iss_parameter_supported.
        requested_scopes: named in the invalid_scope message.

    Raises:
        StateMismatch, AuthorizationDenied, LoginError.
    """
    parts = urlsplit(url.strip())
    query = parts.query or (url.strip()[1:] if url.strip().startswith("?") else "")
    values = parse_qs(query, keep_blank_values=True)
    params = {k: v[0] for k, v in values.items()}
    repeated = sorted(k for k, v in values.items() if len(v) > 1 and k in ("state", "code", "iss", "error"))
    if repeated:
        # RFC 6749 §3.1: response parameters MUST NOT be included more than once (a doctored redirect)
        raise LoginError(f"The sign-in response carries {', '.join(repeated)} more than once; it was ignored. "
                         "Run %okta_login again.")
    if not params and parts.fragment:
        raise LoginError(
            "The redirect carries its result after '#' (implicit flow); this sign-in needs response_type=code. "
            "Run %okta_login again."
        )
    if not pkce.states_equal(expected_state, params.get("state")):
        raise StateMismatch(
            "The sign-in response does not belong to this sign-in (state mismatch). Use the newest sign-in link, "
            "or run %okta_login again."
        )
    iss = params.get("iss")
    if iss is not None and iss != normalize_issuer(issuer) and iss != issuer:
        # RFC 9207 §2.4: a different issuer means a mix-up; never send the code anywhere
        raise LoginError(
            f"The sign-in response came from issuer {iss}, not {normalize_issuer(issuer)}; it was ignored. Run "
            "%okta_login again."
        )
    if iss is None and iss_required:
        raise LoginError(
            "The sign-in response has no iss parameter although the provider promises one (RFC 9207); run "
            "%okta_login again."
        )
    if "error" in params:
        error = params["error"] or "unknown_error"
        description = params.get("error_description") or None
        raise AuthorizationDenied(
            denial_message(error, description, requested_scopes), error=error, description=description
        )
    code = params.get("code")
    if not code:
        raise LoginError("The sign-in response has no authorization code. Run %okta_login again.")
    return Secret(code)  # a credential until redeemed (RFC 6749 §10.5): masked wherever it is shown


# -- client authentication at the token endpoint ------------------------------------------------


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
            data["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
            data["client_assertion"] = Secret(client_assertion(
                self.client_id, token_endpoint, self.private_key, now=now, kid=self.kid
            ))


# -- token endpoint -------------------------------------------------------------------------

_TOKEN_HINTS: dict[str, str | dict[str, str]] = {
    "invalid_grant": {
        "authorization_code": "the authorization code expired or was already used; sign in again with %okta_login",
        "refresh_token": "the refresh token is invalid, expired or revoked; sign in again with %okta_login",
        DEVICE_CODE_GRANT: "the device code is invalid or expired; start the device sign-in again",
        "client_credentials": "the client assertion was refused; check the app's public key and the kid",
    },
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


def _sent_secrets(data: Mapping[str, str], auth: ClientAuth) -> list[str]:
    sent = [value for name, value in data.items() if name in _MASKED_FIELDS or name == "code_verifier"]
    return [*sent, auth.client_secret or ""]


def _token_error(
    response: httpx.Response, grant: str, auth: ClientAuth, secrets: Sequence[str] = ()
) -> TokenExchangeError:
    """The one-line error for a refused token request (RFC 6749 §5.2), whatever the body looks like."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "error" not in body:
        # RFC 6750 §3 style: the error may be only in WWW-Authenticate (e.g. 401 invalid_client)
        from okta_magic.client import parse_www_authenticate

        body = parse_www_authenticate(response.headers.get("WWW-Authenticate")) or None
    if body is None or not body.get("error"):
        status = response.status_code
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no content type"
        if status == 401:
            advice = (
                f"the server did not accept the app's credentials ({auth.method}); check the client id and "
                "secret and the app's client authentication setting"
            )
        elif status >= 500:
            advice = "the server (or a proxy in front of it) failed; try again in a minute"
        else:
            advice = "check the org URL and that this is the provider's token endpoint"
        return TokenExchangeError(
            f"The token endpoint answered HTTP {status} without an OAuth error ({kind}); {advice}.",
        )
    error = _scrub(_one_line(body["error"], 80), secrets)
    raw_description = body.get("error_description")
    description = _scrub(_one_line(raw_description), secrets) if raw_description else None
    hint = _TOKEN_HINTS.get(error)
    if isinstance(hint, dict):
        text = hint.get(grant, "the grant was refused; sign in again with %okta_login")
    elif hint:
        text = hint.format(method=auth.method, grant=grant)
    else:
        text = "sign in again with %okta_login, or check the app's settings in Okta Admin Console"
    desc = f" ({description})" if description else ""
    return TokenExchangeError(
        f"The token request was refused: {error}{desc}; {text}.", error=error, description=description
    )


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
    for attempt in (1, 2):
        body_data, headers = dict(data), dict(_FORM)
        auth.apply(body_data, headers, metadata.token_endpoint, now)
        if dpop is not None:
            headers["DPoP"] = dpop.proof("POST", metadata.token_endpoint)
        secrets = _sent_secrets(body_data, auth)
        try:
            response = http.post(metadata.token_endpoint, data=body_data, headers=headers)
        except httpx.TransportError as exc:
            raise _network_error(metadata.token_endpoint, exc) from None
        if dpop is None or not dpop.remember_nonce(response.headers):
            break
        if response.status_code != 400 or attempt == 2 or _oauth_error(response) != NONCE_ERROR:
            break  # a nonce with a success (kept for the next request), or a refusal of another kind
    if response.status_code != 200:
        raise _token_error(response, data.get("grant_type", "?"), auth, secrets)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise TokenExchangeError("The token endpoint answered 200 without a JSON token response; try again.")
    if body.get("error") and not body.get("access_token"):
        raise _token_error(response, data.get("grant_type", "?"), auth, secrets)
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
    body, headers = dict(data), dict(_FORM)
    auth.apply(body, headers, metadata.token_endpoint, now)
    return metadata.token_endpoint, body, headers


_MASKED_FIELDS = frozenset({"client_secret", "client_assertion", "code", "refresh_token", "device_code", "token"})


def curl_command(url: str, data: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """An equivalent ``curl`` command with secrets masked (the code verifier is shown)."""
    parts = ["curl", "-X", "POST", shlex.quote(url)]
    for name, value in headers.items():
        shown = f"{value.split(' ', 1)[0]} [masked]" if name.lower() == "authorization" else value
        parts += ["-H", shlex.quote(f"{name}: {shown}")]
    for name, value in data.items():
        shown = mask_secret(value) if name in _MASKED_FIELDS else value
        parts += ["--data-urlencode", shlex.quote(f"{name}={shown}")]
    return " ".join(parts)


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
        raise TokenExchangeError(
            "This sign-in has no refresh token (request offline_access to get one); sign in again with %okta_login."
        )
    now = time.time() if now is None else now
    data = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
    if scopes:
        data["scope"] = " ".join(scopes)
    body, key = request_token(metadata, auth, data, http, now, dpop=token.dpop_key)  # a bound refresh token too
    if isinstance(body.get("id_token"), str) and token.id_token and body["id_token"] != token.id_token:
        _check_refreshed_id_token(body["id_token"], token.id_token, metadata, auth, http, now)
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


def _check_refreshed_id_token(
    fresh: str, first: str, metadata: ProviderMetadata, auth: ClientAuth, http: httpx.Client, now: float
) -> None:
    """OIDC Core §12.2: a refreshed ID token passes the usual checks and names the same issuer and subject."""
    claims = check_id_token(fresh, issuer=metadata.issuer, client_id=auth.client_id, nonce=None, now=now,
                            jwks=fetch_jwks(metadata, http), client_secret=auth.client_secret,
                            algorithms=metadata.id_token_signing_alg_values_supported)
    before = decode_jwt_claims(first) or {}
    if claims.get("sub") != before.get("sub") or claims.get("iss") != before.get("iss"):
        raise TokenExchangeError("The refreshed ID token names another user than the sign-in did; the refresh was "
                                 "refused. Sign in again with %okta_login.")


def refresher(
    metadata: ProviderMetadata, auth: ClientAuth, http: httpx.Client, *, clock: Callable[[], float] = time.time
) -> Callable[[Token], Token]:
    """A ``Token -> Token`` refresh function for :class:`okta_magic.tokens.TokenKeeper`."""

    def _refresh(token: Token) -> Token:
        return refresh(metadata, auth, token, http, now=clock())

    return _refresh


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
            _revoke_one(metadata, auth, value, hint, http)


def _revoke_one(metadata: ProviderMetadata, auth: ClientAuth, value: str, hint: str, http: httpx.Client) -> bool:
    """POST one token to the revocation endpoint (RFC 7009 §2.1); True when it was revoked.

    False when the server does not revoke that kind of token (``unsupported_token_type``,
    RFC 7009 §2.2.1; e.g. providers that only revoke refresh tokens).
    """
    assert metadata.revocation_endpoint is not None
    data = {"token": value, "token_type_hint": hint}
    headers = dict(_FORM)
    auth.apply(data, headers, metadata.revocation_endpoint, time.time())
    try:
        response = http.post(metadata.revocation_endpoint, data=data, headers=headers)
    except httpx.TransportError as exc:
        raise _network_error(metadata.revocation_endpoint, exc) from None
    if response.is_success:  # RFC 7009 §2.2 says 200; some servers answer 204 No Content
        return True
    error = _token_error(response, "revocation", auth, _sent_secrets(data, auth))
    if error.error == "unsupported_token_type":
        log.info("the server does not revoke %s tokens; it stays valid until it expires", hint)
        return False
    raise error


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


def _with_client(http: httpx.Client | None) -> tuple[httpx.Client, bool]:
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
    client, own = _with_client(http)
    try:
        metadata = discover(issuer, client)
        auth = ClientAuth.choose(client_id, metadata, client_secret=client_secret, method=auth_method)
        return refresh(metadata, auth, token, client, now=clock())
    finally:
        if own:
            client.close()


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
    client, own = _with_client(http)
    try:
        metadata = discover(issuer, client)
        if not metadata.revocation_endpoint:
            return False
        auth = ClientAuth.choose(client_id, metadata, client_secret=client_secret, method=auth_method)
        return _revoke_one(metadata, auth, value, which, client)
    finally:
        if own:
            client.close()


# -- ID token ---------------------------------------------------------------------------------


#: JWS algorithms verified with the provider's published keys (RFC 7518 §3.1; OIDC Core §10.1)
_ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})


def id_token_alg(id_token: str) -> str | None:
    """The ``alg`` of an ID token's JWS header, or ``None`` when it cannot be read."""
    segment = id_token.split(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    return str(alg) if alg is not None else None


def check_id_token(
    id_token: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: float,
    jwks: Mapping[str, Any] | None = None,
    client_secret: str | None = None,
    leeway: float = 300.0,
    algorithms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Check an ID token (OIDC Core §3.1.3.7): its algorithm, signature, iss, aud, azp, exp, iat and nonce.

    The ``alg`` must be one the provider advertises (``algorithms``, its
    ``id_token_signing_alg_values_supported``; RS256 when it advertises none, the OIDC default)
    and one this client can check: an HS* signature is keyed with the client secret (OIDC Core
    §10.1), so only a confidential client accepts it, and verifies it; an asymmetric one
    (RS/PS/ES/EdDSA) is verified with ``jwks``, or left to TLS when the provider publishes no keys,
    as the token came straight from the token endpoint (§3.1.3.7 item 6). ``alg: none`` is refused.
    ``iat`` must be present and not later than now plus ``leeway`` (clock skew). Returns the claims.

    Raises:
        LoginError: a check failed (the message names which one, never the token).
    """
    claims = decode_jwt_claims(id_token)
    if claims is None:
        raise LoginError("The ID token is not a JWT; sign in again with %okta_login.")
    alg = id_token_alg(id_token)
    if alg not in _ASYMMETRIC_ALGS and alg not in _HMAC_ALGS:
        raise LoginError(
            f"The ID token uses an unsupported signature algorithm ({alg}); sign in again with %okta_login."
        )
    if alg in _HMAC_ALGS and not client_secret:
        # OIDC Core §10.1: the HMAC key is the client secret, which a public client does not have.
        raise LoginError(f"The ID token is signed with {alg}, which only an app with a client secret can "
                         "check, and this sign-in has none (public client); it was refused. Sign in again "
                         "with %okta_login, and ask the provider to sign ID tokens with RS256.")
    advertised = tuple(algorithms or ()) or ("RS256",)
    if alg not in advertised:
        raise LoginError(f"The ID token is signed with {alg}, which the provider does not advertise "
                         f"(id_token_signing_alg_values_supported: {', '.join(advertised)}); it was refused. "
                         "Sign in again with %okta_login.")
    if alg in _HMAC_ALGS:
        _verify_hmac(id_token, alg, client_secret or "")
    elif jwks is not None:
        _verify_signature(id_token, alg, jwks)

    def fail(what: str) -> LoginError:
        return LoginError(f"The ID token failed its {what} check; sign in again with %okta_login.")

    if claims.get("iss") != normalize_issuer(issuer) and claims.get("iss") != issuer:
        raise fail("issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise fail("audience")
    azp = claims.get("azp")
    # OIDC Core §3.1.3.7 items 4-5: with several audiences azp names the client; when present it must be us
    if (azp is not None or len(audiences) > 1) and azp != client_id:
        raise fail("authorized party (azp)")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp + leeway < now:
        raise fail("expiry")
    iat = claims.get("iat")
    # OIDC Core §2: iat is REQUIRED; §3.1.3.7 item 10: one issued in the future (beyond clock skew) is refused
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise fail("issued-at (iat)")
    if iat > now + leeway:
        raise LoginError(f"The ID token failed its issued-at (iat) check: it was issued {(iat - now) / 60:.0f} min "
                         "in the future by this machine's clock; check the clock, then sign in again with "
                         "%okta_login.")
    if nonce is not None and not pkce.states_equal(nonce, claims.get("nonce")):
        raise fail("nonce")
    return claims


def id_token_signature_checked(id_token: str, jwks: Mapping[str, Any] | None, client_secret: str | None) -> bool:
    """Whether :func:`check_id_token` verified this token's signature with these keys (for display)."""
    alg = id_token_alg(id_token)
    return bool(client_secret) if alg in _HMAC_ALGS else jwks is not None


def _verify_hmac(id_token: str, alg: str, client_secret: str) -> None:
    import jwt  # lazy: keeps `import okta_magic` fast

    try:
        jwt.decode(
            id_token,
            client_secret.encode("utf-8"),
            algorithms=[alg],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
        )
    except jwt.InvalidSignatureError:
        raise LoginError("The ID token signature is invalid; sign in again with %okta_login.") from None
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise LoginError(
            f"The ID token could not be verified ({type(exc).__name__}); sign in again with %okta_login."
        ) from None


def _verify_signature(id_token: str, alg: str, jwks: Mapping[str, Any]) -> None:
    import jwt  # lazy: keeps `import okta_magic` fast

    try:
        header = jwt.get_unverified_header(id_token)
        keyset = jwt.PyJWKSet.from_dict(dict(jwks))
    except jwt.PyJWTError as exc:
        raise LoginError(
            f"The ID token could not be verified ({type(exc).__name__}); sign in again with %okta_login."
        ) from None
    # RFC 7517 §4.2: keys marked for encryption never sign; with a kid, only that key (OIDC Core §10.1.1)
    candidates = [k for k in keyset.keys if k.public_key_use in (None, "sig") and header.get("kid") in (None, k.key_id)]
    if not candidates:
        raise LoginError(
            "The ID token is signed with a key the provider does not publish; sign in again with %okta_login."
        )
    failure: str | None = None
    for key in candidates:
        try:
            jwt.decode(
                id_token,
                key.key,
                algorithms=[alg],
                options={"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
            return
        except jwt.InvalidSignatureError:
            continue
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # a key of another type (an EC key for an RS256 token) cannot verify it; try the next one
            failure = failure or type(exc).__name__
    if failure is not None and len(candidates) == 1:
        raise LoginError(f"The ID token could not be verified ({failure}); sign in again with %okta_login.")
    raise LoginError("The ID token signature is invalid; sign in again with %okta_login.")
