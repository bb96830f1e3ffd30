"""What a successful grant yields: the token response of RFC 6749 §5.1, with the org's access-token lifetime.

An access token (``Bearer``, or ``DPoP`` when bound, RFC 9449 §5), a rotating refresh
token when the app may refresh and ``offline_access`` was granted, and an ID token
when ``openid`` was (OIDC Core §3.1.3.3).
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.responses import Response

from okta_magic.sandbox.data import DemoApp
from okta_magic.sandbox.oauth.grants import REFRESH_LIFETIME, RefreshRecord
from okta_magic.sandbox.responses import NO_STORE, json_response
from okta_magic.sandbox.state import OrgState


def token_response(
    org: OrgState,
    app: DemoApp,
    scopes: list[str],
    user_id: str | None,
    *,
    nonce: str | None = None,
    auth_time: int | None = None,
    origin: str | None = None,
    allow_refresh: bool = True,
    jkt: str | None = None,
) -> Response:
    """Mint the tokens a grant yields and answer with them (never cached)."""
    user = org.directory.users.get(user_id) if user_id else None
    subject = user["profile"]["login"] if user else app.client_id
    access, grant = org.authority.mint_access_token(
        client_id=app.client_id, scopes=scopes, user_id=user_id, subject=subject, origin=origin, jkt=jkt
    )
    body: dict[str, Any] = {
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": grant.expires_at - grant.claims["iat"],
        "access_token": access,
        "scope": " ".join(scopes),
    }
    if allow_refresh and user_id and "offline_access" in scopes and "refresh_token" in app.grant_types:
        refresh = secrets.token_urlsafe(32)
        with org.grants.lock:
            org.grants.refresh[refresh] = RefreshRecord(
                app.client_id, scopes, user_id, org.clock() + REFRESH_LIFETIME, grant.jti
            )
        body["refresh_token"] = refresh
    if user is not None and "openid" in scopes:
        body["id_token"] = org.authority.mint_id_token(
            client_id=app.client_id,
            user=user,
            nonce=nonce,
            access_token=access,
            auth_time=auth_time if auth_time is not None else int(org.clock()),
        )
    return json_response(body, headers=dict(NO_STORE))
