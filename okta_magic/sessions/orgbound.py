"""A credential goes only to the org it was issued for: the Authorization header of a client made for one org.

A session's Management API client is made for the org held when it was made (``Session.client``); it asks here
for each request's header. The token carries its org (``Token.org``), so whatever the configuration says, a
credential of one org is never sent to another; once the session signed out or in to another org, a client of
the old one (a pull still in flight) stops with a NotSignedIn that says which.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from okta_magic import config as cfg
from okta_magic.errors import NotSignedIn

if TYPE_CHECKING:
    from okta_magic.tokens import Token, TokenKeeper

__all__ = ["authorization", "renewed", "moved_from"]


def authorization(org_url: str, held: cfg.OktaConfig | None, keeper: TokenKeeper | None,
                  current: Callable[[], Token]) -> str:
    """The header for a client made for ``org_url``: only a token issued for that org (``current()``) signs it."""
    here = held is not None and held.org_url == org_url and keeper is not None
    token = current() if here else None
    if token is not None and token.sent_to(org_url):
        return token.authorization_header()
    raise moved_from(org_url, held, keeper)


def renewed(org_url: str, refused: str, held: cfg.OktaConfig | None, keeper: TokenKeeper | None) -> str | None:
    """After the org refused ``refused`` (401 invalid_token): a refreshed header to retry with once, or None."""
    if keeper is None or held is None or held.org_url != org_url:
        raise moved_from(org_url, held, keeper)  # signed out (the token revoked) or moved on while this was in flight
    token = keeper.renew(refused)
    return token.authorization_header() if token is not None and token.sent_to(org_url) else None


def moved_from(org_url: str, held: cfg.OktaConfig | None, keeper: TokenKeeper | None) -> NotSignedIn:
    """Why a client made for ``org_url`` sends nothing more: the session signed out, or in to another org."""
    host = cfg.origin_of(org_url).split("://", 1)[1].removesuffix(":443")
    if held is None or keeper is None:
        return NotSignedIn(f"This session signed out of {host}, so nothing more is sent there:").with_fix(
            "sign_in")  # type: ignore[return-value]
    return NotSignedIn(f"This session has since signed in to {held.host}, so nothing more is sent to {host} "
                       "from here:").with_fix("run_again")  # type: ignore[return-value]
