"""``/oauth2/v1/introspect`` (RFC 7662): whether a token is active, and what it grants."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.oauth.clients import client_form
from okta_magic.sandbox.responses import json_response
from okta_magic.sandbox.state import OrgState


async def introspect(org: OrgState, request: Request) -> Response:
    """RFC 7662 §2.2: an access or refresh token's claims, or ``{"active": false}``."""
    caller = await client_form(org, request)
    if isinstance(caller, Response):
        return caller
    form, _ = caller
    token = form.get("token", "")
    grant = org.authority.check_access_token(token)
    if grant is not None:
        claims = grant.claims
        return json_response(
            {
                "active": True,
                "scope": " ".join(grant.scopes),
                "username": grant.subject,
                "exp": claims["exp"],
                "iat": claims["iat"],
                "sub": grant.subject,
                "aud": claims["aud"],
                "iss": claims["iss"],
                "jti": grant.jti,
                "token_type": "Bearer",
                "client_id": grant.client_id,
                **({"uid": grant.user_id} if grant.user_id else {}),
            }
        )
    with org.grants.lock:
        record = org.grants.refresh.get(token)
    if record is not None and not record.revoked and org.clock() < record.expires_at:
        user = org.directory.users.get(record.user_id)
        return json_response(
            {
                "active": True,
                "scope": " ".join(record.scopes),
                "token_type": "refresh_token",
                "client_id": record.client_id,
                "exp": int(record.expires_at),
                "sub": user["profile"]["login"] if user else record.user_id,
                "uid": record.user_id,
            }
        )
    return json_response({"active": False})
