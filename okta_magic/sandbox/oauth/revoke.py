"""``/oauth2/v1/revoke`` (RFC 7009): a client ends its own access or refresh tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.oauth.clients import client_form
from okta_magic.sandbox.responses import NO_STORE, oauth_error
from okta_magic.sandbox.state import OrgState


async def revoke(org: OrgState, request: Request) -> Response:
    """RFC 7009 §2.2: always 200 for a valid client; the token stops working if it was this client's."""
    caller = await client_form(org, request)
    if isinstance(caller, Response):
        return caller
    form, client = caller
    token = form.get("token")
    if not token:
        return oauth_error("invalid_request", "The 'token' parameter is required.")
    with org.grants.lock:
        record = org.grants.refresh.get(token)
        if record is not None and record.client_id == client.client_id:
            record.revoked = True
            org.authority.revoke_jti(record.access_jti)
    grant = org.authority.check_access_token(token)
    if grant is not None and grant.client_id == client.client_id:
        org.authority.revoke_jti(grant.jti)
    return Response(status_code=200, headers=dict(NO_STORE))
