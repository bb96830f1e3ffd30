"""Sign-in configuration: where the org is, which app, which scopes, which redirect URI.

Sources, lowest to highest priority: environment variables (``OKTA_ORG_URL``,
``OKTA_CLIENT_ID``, ``OKTA_SCOPES``, ``OKTA_REDIRECT_URI``, and the official Okta
SDKs' ``OKTA_CLIENT_ORGURL``, ``OKTA_CLIENT_CLIENTID``, ``OKTA_CLIENT_SCOPES``),
then the magics' ``%config`` traits, then the options given to a sign-in. This module
only merges and checks values (``check_org_url`` is the one place an org URL is normalised);
it reads no secrets from the environment. Its errors name their fix by key (``advice.FIXES``).
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urlsplit

from okta_magic.errors import ConfigError

SecretMethod = Literal["client_secret_basic", "client_secret_post"]
DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"
DEFAULT_SCOPES: tuple[str, ...] = ("openid", "profile", "email", "okta.users.read")
# The read scopes an analyst asks for most; the panel offers them as choices.
COMMON_SCOPES: tuple[str, ...] = (
    "openid", "profile", "email", "offline_access",
    "okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read",
    "okta.roles.read", "okta.policies.read", "okta.factors.read", "okta.authorizationServers.read",
)
OIDC_SCOPES = frozenset({"openid", "profile", "email", "address", "phone", "offline_access", "groups", "device_sso"})

# Environment variable names, ours first, then the official Okta SDKs' names.
ENV_NAMES: Mapping[str, tuple[str, ...]] = {
    "org_url": ("OKTA_ORG_URL", "OKTA_CLIENT_ORGURL"),
    "client_id": ("OKTA_CLIENT_ID", "OKTA_CLIENT_CLIENTID"),
    "scopes": ("OKTA_SCOPES", "OKTA_CLIENT_SCOPES"),
    "redirect_uri": ("OKTA_REDIRECT_URI",),
}

_OKTA_HOST = re.compile(r"\.(okta|oktapreview|okta-emea|okta-gov|okta-mil|trexcloud)\.com\Z", re.I)


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback IP literals (RFC 8252 §7.3, RFC 6761)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin_of(url: str) -> str:
    """``scheme://host:port`` of an http(s) URL, the port always written (RFC 6454 origin): what a token is bound to."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"


def check_org_url(value: str | None) -> str:
    """Return the org URL as ``scheme://host[:port]``, or raise a one-line ConfigError.

    Only the Org Authorization Server (issuer = the org URL itself) mints
    tokens with ``okta.*`` scopes (Okta: "Implement OAuth for Okta"), so a
    custom authorization server path is refused rather than silently used.
    """
    url = (value or "").strip()
    if not url:
        raise ConfigError("No org URL:").with_fix("org_url")
    if "{" in url or "yourokta" in url.lower():
        raise ConfigError(f"{url!r} still holds the {{yourOktaDomain}} placeholder: replace it with your org's "
                          "domain, e.g. https://dev-123456.okta.com.")
    bare = "://" not in url
    if bare:
        url = "https://" + url
    parts = urlsplit(url)
    host = parts.hostname or ""
    # A single word with no scheme ("foo", "dev") is a slip, not an intranet host name.
    if parts.scheme not in ("https", "http") or not host or bare and "." not in host and not is_loopback_host(host):
        raise ConfigError(f"{value!r} is not an org URL: use the form https://<your-org>.okta.com.")
    if parts.scheme == "http" and not is_loopback_host(host):
        raise ConfigError(f"{value!r} uses http://: Okta orgs are served over https only; use "
                          f"https://{parts.netloc} (plain http is allowed for loopback hosts only).")
    if _OKTA_HOST.search(host) and re.search(r"-admin\.", host, re.I):
        plain = re.sub(r"-admin\.", ".", parts.netloc, count=1, flags=re.I)
        raise ConfigError(f"{host} is the Admin Console host: use the org URL https://{plain} (without -admin).")
    path = parts.path.rstrip("/")
    if re.match(r"/oauth2/(?!v1(/|\Z))", path):
        raise ConfigError(f"{value!r} is a custom authorization server ({path}); only the Org Authorization "
                          f"Server mints okta.* scopes for the Management API: use {parts.scheme}://{parts.netloc}.")
    if path and (_OKTA_HOST.search(host) or path.startswith(("/oauth2", "/admin", "/app", "/api", "/login"))):
        raise ConfigError(f"{value!r} has a path ({path}): the org URL is just {parts.scheme}://{parts.netloc}.")
    if parts.query or parts.fragment:
        raise ConfigError(f"{value!r} has a query or fragment: the org URL is just {parts.scheme}://{parts.netloc}.")
    # A path on a non-Okta host is kept: other OpenID providers have issuers with paths (RFC 8414 §2).
    return f"{parts.scheme}://{parts.netloc}{path}"


def parse_scopes(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Split a space- or comma-separated scope list, dropping duplicates and keeping order."""
    if value is None:
        return ()
    items = re.split(r"[\s,]+", value) if isinstance(value, str) else [s for v in value for s in re.split(r"[\s,]+", v)]
    return tuple(dict.fromkeys(s for s in items if s))


def check_scopes(scopes: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    """Refuse scope names that look like typos of known ones (``okta.user.read``)."""
    known = set(known) | OIDC_SCOPES
    out = tuple(scopes)
    if not out:
        raise ConfigError("No scopes:").with_fix("scopes")
    for scope in out:
        if scope in known or scope.endswith(".self") and scope[: -len(".self")] in known:
            continue
        close = difflib.get_close_matches(scope, sorted(known), n=1, cutoff=0.85)
        if close:
            raise ConfigError(f"Unknown scope {scope!r}: did you mean {close[0]!r}?")
    return out


def check_redirect_uri(value: str) -> str:
    """An absolute redirect URI without a fragment (RFC 6749 §3.1.2), matched exactly by Okta."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"Redirect URI {value!r} is not an absolute http(s) URL; use the one registered in "
                          f"your Okta app, e.g. {DEFAULT_REDIRECT_URI}.")
    if parts.fragment:
        raise ConfigError(f"Redirect URI {value!r} has a fragment, which OAuth forbids (RFC 6749 §3.1.2).")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ConfigError(f"Redirect URI {value!r} has no usable port; give the port registered in your Okta app, "
                          f"e.g. {DEFAULT_REDIRECT_URI}.")
    return value.strip()


@dataclass(frozen=True)
class OktaConfig:
    """A complete, checked sign-in configuration (no secrets here)."""

    org_url: str
    client_id: str
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    redirect_uri: str = DEFAULT_REDIRECT_URI
    auth_method: SecretMethod | None = None  # None: public app (client_id only in the body, as Okta's guide)
    extra: Mapping[str, str] = field(default_factory=dict)
    # Bind tokens to a key from the first token request (DPoP, RFC 9449). Without it, a server that
    # requires DPoP and says so (Okta: invalid_dpop_proof) still gets proofs; this is for servers that do not say.
    dpop: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.org_url).netloc

    def with_(self, **changes: object) -> OktaConfig:
        return replace(self, **changes)  # type: ignore[arg-type]


def from_environ(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The sign-in settings found in the environment, by field name."""
    environ = os.environ if environ is None else environ
    found: dict[str, str] = {}
    for name, keys in ENV_NAMES.items():
        for key in keys:
            if environ.get(key):
                found[name] = environ[key]
                break
    return found


def merge(*layers: Mapping[str, object | None], known_scopes: Iterable[str] = ()) -> OktaConfig:
    """Merge settings (later layers win, None/empty means unset) and check them."""
    merged: dict[str, object] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v not in (None, "", ())})
    org_url = check_org_url(merged.get("org_url"))  # type: ignore[arg-type]
    client_id = str(merged.get("client_id") or "").strip()
    if not client_id:
        raise ConfigError("No client id:").with_fix("client_id")
    if re.search(r"\s", client_id):
        raise ConfigError(f"Client id {client_id!r} contains spaces: copy it again from the app's General tab.")
    scopes = check_scopes(parse_scopes(merged.get("scopes") or DEFAULT_SCOPES), known_scopes)  # type: ignore[arg-type]
    redirect_uri = check_redirect_uri(str(merged.get("redirect_uri") or DEFAULT_REDIRECT_URI))
    auth_method = merged.get("auth_method") or None
    if auth_method not in (None, "none", "client_secret_basic", "client_secret_post"):
        raise ConfigError(f"Unknown client authentication {auth_method!r}: use client_secret_basic or "
                          "client_secret_post (or leave it out for a public app).")
    method: SecretMethod | None = (
        "client_secret_basic" if auth_method == "client_secret_basic"
        else "client_secret_post" if auth_method == "client_secret_post" else None)
    return OktaConfig(org_url, client_id, scopes, redirect_uri, method, dpop=bool(merged.get("dpop")))
