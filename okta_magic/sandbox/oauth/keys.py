"""``/oauth2/v1/keys``: the org's public signing keys as a JWK Set (RFC 7517 §5), cacheable for an hour."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.responses import json_response
from okta_magic.sandbox.state import OrgState


async def keys(org: OrgState, request: Request) -> Response:
    """The JWKS that ID tokens and access tokens verify against (``jwks_uri`` in discovery)."""
    return json_response(org.authority.jwks(), headers={"Cache-Control": "max-age=3600"})
