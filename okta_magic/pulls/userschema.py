"""The org's user schema for typing users frames: fetched once per session, and only with a token that may read it.

``GET /api/v1/meta/schemas/user/default`` needs ``okta.schemas.read`` (or ``okta.schemas.manage``). A token
without it (or an org that refuses the request) leaves custom attributes as Okta's JSON gave them: nothing is
said but a debug log line, since the pull itself is not at fault. The body is handed to
:mod:`okta_magic.frames` as plain data; the frames layer does no HTTP.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import TYPE_CHECKING, Any

from okta_magic.errors import OktaApiError, OktaMagicError, RateLimited
from okta_magic.scopes import scope_covers

if TYPE_CHECKING:
    from okta_magic.http.client import OktaClient
    from okta_magic.sessions.session import Session
    from okta_magic.tokens import Token

__all__ = ["SCHEMA_PATH", "SCHEMA_SCOPE", "user_schema"]

log = logging.getLogger(__name__)

SCHEMA_PATH = "/api/v1/meta/schemas/user/default"
SCHEMA_SCOPE = "okta.schemas.read"

# A documented cache of immutable derived data: per session, the org and scopes the schema was read with, and the
# schema (None: the org refused it). Another sign-in (another org, other scopes) reads it again; a session that is
# collected drops out.
_CACHE: weakref.WeakKeyDictionary[Session, tuple[tuple[Any, ...], dict[str, Any] | None]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def may_read_schema(token: Token) -> bool:
    """True when the token may read the user schema: an API token (its admin's rights), or a scope that covers
    ``okta.schemas.read``."""
    if token.token_type == "SSWS":
        return True
    return any(scope_covers(held, SCHEMA_SCOPE) for held in token.scopes_granted)


def user_schema(session: Session, token: Token, client: OktaClient) -> dict[str, Any] | None:
    """The org's default user schema (the JSON body), read with ``client`` once per session and sign-in; None
    without ``okta.schemas.read`` or when the org refuses it (logged at debug level)."""
    if not may_read_schema(token):
        log.debug("No %s in the token: users frames keep custom attributes as Okta's JSON types.", SCHEMA_SCOPE)
        return None
    key = (session.org_url, token.token_type, tuple(token.scopes_granted))
    with _LOCK:
        cached = _CACHE.get(session)
        if cached is not None and cached[0] == key:
            return cached[1]
    try:
        body = client.request("GET", SCHEMA_PATH).json()
    except RateLimited as exc:  # not cached: the next pull tries again
        log.debug("The user schema could not be read now (%s): custom attributes keep Okta's JSON types.", exc)
        return None
    except (OktaApiError, ValueError) as exc:  # refused (a role without it, an org without it) or not JSON
        log.debug("The user schema was refused or unreadable (%s): custom attributes keep Okta's JSON types.", exc)
        body = None
    except OktaMagicError as exc:  # the network, a sign-in gone: not cached, and the pull itself will say so
        log.debug("The user schema could not be read (%s): custom attributes keep Okta's JSON types.", exc)
        return None
    schema = body if isinstance(body, dict) else None
    with _LOCK:
        _CACHE[session] = (key, schema)
    return schema
