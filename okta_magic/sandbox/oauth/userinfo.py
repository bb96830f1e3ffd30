"""``/oauth2/v1/userinfo`` (OIDC Core §5.3): the signed-in person's claims, by the scopes the token holds."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.responses import json_response
from okta_magic.sandbox.state import OrgState


async def userinfo(org: OrgState, request: Request) -> Response:
    """OIDC Core §5.3.2 claims; RFC 6750 §3.1 challenges for a bad token (401) or no ``openid`` (403)."""
    header = request.headers.get("authorization", "")
    grant = org.authority.check_access_token(header[7:].strip()) if header[:7].lower() == "bearer " else None
    realm = f'authorization_uri="{org.url}/oauth2/v1/authorize", realm="{org.url}"'
    if grant is None or grant.user_id is None:
        challenge = f'Bearer {realm}, error="invalid_token", error_description="The access token is invalid."'
        return Response(status_code=401, headers={"WWW-Authenticate": challenge})
    if "openid" not in grant.scopes:
        challenge = (
            f'Bearer {realm}, scope="openid", error="insufficient_scope", '
            'error_description="The access token provided does not contain the required scopes.", '
            'resource="/oauth2/v1/userinfo"'
        )
        return Response(status_code=403, headers={"WWW-Authenticate": challenge})
    user = org.directory.users.get(grant.user_id)
    if user is None:
        return Response(status_code=401)
    p = user["profile"]
    info: dict[str, Any] = {"sub": user["id"]}
    if "profile" in grant.scopes:
        info.update(
            {
                "name": f"{p['firstName']} {p['lastName']}",
                "locale": p.get("locale"),
                "preferred_username": p["login"],
                "given_name": p["firstName"],
                "family_name": p["lastName"],
                "zoneinfo": p.get("timezone"),
                "updated_at": int(org.clock()),
            }
        )
    if "email" in grant.scopes:
        info.update({"email": p["email"], "email_verified": True})
    return json_response(info)
