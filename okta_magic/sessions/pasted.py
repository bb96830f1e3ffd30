"""A token obtained elsewhere, pasted in: an OAuth access token (or a redirect URL carrying one) or an SSWS API key.

``Session.use_token`` and ``Session.use_api_token`` read it here, check that the Management API can take it, and
hand it with the configuration it was issued for to ``Session.adopt`` (which binds it to its org). The token stays
in memory, masked (``Secret``) wherever a frame's locals are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from okta_magic import config as cfg
from okta_magic.errors import ConfigError
from okta_magic.tokens import Secret, Token, front_channel_parameters

__all__ = ["use_token", "use_api_token"]

Adopt = Callable[[Token, cfg.OktaConfig], Token]


def use_token(adopt: Adopt, access_token: str, *, org_url: str | None, client_id: str | None,
              environ: Mapping[str, str] | None, note: Callable[[str], object] | None) -> Token:
    """Adopt an access token of the Org Authorization Server; ``note`` hears "implicit_flow" for a redirect URL."""
    access_token = Secret(access_token)  # masked wherever this frame's locals are shown
    org = _org_url(org_url, environ)
    token = Token.from_access_token(access_token, issuer=org)
    issued_by = str((token.claims() or {}).get("iss") or "")
    if "/oauth2/" in issued_by:
        # Only the Org Authorization Server mints okta.* scopes; the Management API refuses every other token.
        raise ConfigError(f"This access token comes from the custom authorization server {issued_by}; the "
                          "Management API accepts only tokens of the Org Authorization Server: get one from "
                          f"{org}/oauth2/v1/token,").with_fix("or_sign_in")
    adopted = _adopt(adopt, token, org, client_id, environ)
    if note is not None and front_channel_parameters(access_token) is not None:
        note("implicit_flow")  # only a redirect that carries the token says how it was obtained
    return adopted


def use_api_token(adopt: Adopt, api_token: str, *, org_url: str | None, client_id: str | None,
                  environ: Mapping[str, str] | None) -> Token:
    """Adopt an SSWS API token (it acts with its creator's admin role)."""
    api_token = Secret(api_token)  # masked wherever this frame's locals are shown
    org = _org_url(org_url, environ)
    return _adopt(adopt, Token.from_api_token(api_token, issuer=org), org, client_id, environ)


def _org_url(org_url: str | None, environ: Mapping[str, str] | None) -> str:
    """The given org URL, else the environment's, checked (config.check_org_url)."""
    return cfg.check_org_url(org_url or cfg.from_environ(environ).get("org_url"))


def _adopt(adopt: Adopt, token: Token, org_url: str, client_id: str | None,
           environ: Mapping[str, str] | None) -> Token:
    client = client_id or cfg.from_environ(environ).get("client_id") or token.client_id or "(pasted)"
    return adopt(token, cfg.OktaConfig(org_url=org_url, client_id=client, scopes=token.scopes_granted))
