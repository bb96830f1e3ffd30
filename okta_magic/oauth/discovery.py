"""Where an authorization server's endpoints are: OpenID Connect Discovery 1.0 and RFC 8414 metadata.

Owns: reading the provider's metadata document (OIDC Discovery §4, else RFC 8414 §3),
checking that it names the issuer asked for (§4.3 / §3.3), the Okta org authorization
server's fixed paths when no document exists, and fetching the provider's JSON Web Key
Set (RFC 7517) for ID-token checks. Takes an injected ``httpx.Client``; keeps no state.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from okta_magic.errors import ConfigError, NetworkError
from okta_magic.http.neterrors import network_error as _describe

__all__ = ["ProviderMetadata", "discover", "fetch_jwks", "network_error", "normalize_issuer"]

log = logging.getLogger(__name__)


def normalize_issuer(issuer: str) -> str:
    """The issuer without a trailing slash, as Okta writes it (``https://org.okta.com``)."""
    return issuer.strip().rstrip("/")


def network_error(url: str, exc: httpx.TransportError) -> NetworkError:
    """The one-line network error (DNS, refused, TLS, proxy, timeout told apart) for a request to ``url``."""
    return _describe(exc, httpx.URL(url))


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
    """GET one candidate metadata URL (a transport failure is the one-line NetworkError)."""
    try:
        # a redirect (http -> https, a load balancer) is followed; the issuer check below still applies
        return http.get(url, headers={"Accept": "application/json"}, follow_redirects=True)
    except httpx.TransportError as exc:
        raise network_error(url, exc) from None


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
