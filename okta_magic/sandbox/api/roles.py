"""``/api/v1/users/{id}/roles``: the admin roles assigned to a user (Okta's Role Assignment API)."""

from __future__ import annotations

from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, user_id
from okta_magic.sandbox.responses import json_response


def user_roles(call: Call) -> Response:
    """GET /users/{id}/roles: each role with its ``assignee`` link back to the user."""
    uid = user_id(call, call.args[0])
    href = f"{call.org.url}/api/v1/users/{uid}"
    return json_response([{**r, "_links": {"assignee": {"href": href}}} for r in call.directory.roles.get(uid, [])])
