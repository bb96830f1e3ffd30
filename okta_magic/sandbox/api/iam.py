"""``/api/v1/iam``: every admin in one list, custom roles and their permissions, resource sets.

Follows Okta's Role Assignment and Custom Role APIs: ``/iam/assignees/users`` lists every user who holds a
role, directly or through a group (listUsersWithRoleAssignments), and these lists page as Okta's spec
shows them: the items in a named array and ``_links.next`` in the body (``after``, ``limit``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, limit
from okta_magic.sandbox.api.factors import security
from okta_magic.sandbox.data import ORG_SUFFIX
from okta_magic.sandbox.responses import bad_cursor, json_response, not_found

ASSIGNEES_DEFAULT_LIMIT = 100
ASSIGNEES_MAX_LIMIT = 1000  # a sandbox bound; the spec gives the default (100) and no maximum
ORN = f"orn:okta:idp:00osandboxorg0000{ORG_SUFFIX}"


def _body_page(call: Call, key: str, ids: list[str], size: int, render: Callable[[str], dict[str, Any]],
               links: dict[str, Any] | None = None) -> Response:
    """One page of an enveloped list: ``{key: [...], "_links": {"next": ...}}`` (``after`` is the last id)."""
    start = 0
    after = call.params.get("after")
    if after:
        if after not in ids:
            raise bad_cursor()
        start = ids.index(after) + 1
    chosen = ids[start:start + size]
    out_links = dict(links or {})
    if start + size < len(ids) and chosen:
        query = urlencode({"after": chosen[-1], "limit": size})
        out_links["next"] = {"href": f"{call.org.url}{call.request.url.path}?{query}"}
    return json_response({key: [render(i) for i in chosen], "_links": out_links})


def assignees(call: Call) -> Response:
    """GET /iam/assignees/users: every user holding a role, directly or through a group."""
    size = limit(call, ASSIGNEES_DEFAULT_LIMIT, ASSIGNEES_MAX_LIMIT)
    d = call.directory
    ids = d.listing(("admins",), security(call).admins).ids
    base = f"{call.org.url}/api/v1/users"
    return _body_page(call, "value", ids, size, lambda uid: {
        "id": uid, "orn": f"{ORN}:users:{uid}",
        "_links": {"self": {"href": f"{base}/{uid}"}, "roles": {"href": f"{base}/{uid}/roles"}}})


def _role(call: Call, ref: str) -> dict[str, Any]:
    """A custom role by id or label."""
    for role in security(call).custom_roles.values():
        if ref in (role["id"], role["label"]):
            return role
    raise not_found(ref, "IamRole")


def _role_json(call: Call, role: dict[str, Any]) -> dict[str, Any]:
    base = f"{call.org.url}/api/v1/iam/roles/{role['id']}"
    return {**{k: v for k, v in role.items() if k != "permissions"},
            "_links": {"permissions": {"href": f"{base}/permissions"}, "self": {"href": base}}}


def list_roles(call: Call) -> Response:
    """GET /iam/roles: the org's custom roles."""
    roles = security(call).custom_roles
    return _body_page(call, "roles", list(roles), 100, lambda rid: _role_json(call, roles[rid]))


def get_role(call: Call) -> Response:
    """GET /iam/roles/{roleIdOrLabel}."""
    return json_response(_role_json(call, _role(call, call.args[0])))


def role_permissions(call: Call) -> Response:
    """GET /iam/roles/{roleIdOrLabel}/permissions."""
    role = _role(call, call.args[0])
    base = f"{call.org.url}/api/v1/iam/roles/{role['id']}"
    return json_response({"permissions": [
        {"label": p, "created": role["created"], "lastUpdated": role["lastUpdated"],
         "_links": {"role": {"href": base}, "self": {"href": f"{base}/permissions/{p}"}}}
        for p in role["permissions"]]})


def _set(call: Call, ref: str) -> dict[str, Any]:
    """A resource set by id or label."""
    for found in security(call).resource_sets.values():
        if ref in (found["id"], found["label"]):
            return found
    raise not_found(ref, "ResourceSet")


def _set_json(call: Call, found: dict[str, Any]) -> dict[str, Any]:
    base = f"{call.org.url}/api/v1/iam/resource-sets/{found['id']}"
    return {**{k: v for k, v in found.items() if k != "resources"},
            "_links": {"self": {"href": base}, "resources": {"href": f"{base}/resources"},
                       "bindings": {"href": f"{base}/bindings"}}}


def list_resource_sets(call: Call) -> Response:
    """GET /iam/resource-sets."""
    sets = security(call).resource_sets
    return _body_page(call, "resource-sets", list(sets), 100, lambda sid: _set_json(call, sets[sid]))


def get_resource_set(call: Call) -> Response:
    """GET /iam/resource-sets/{resourceSetIdOrLabel}."""
    return json_response(_set_json(call, _set(call, call.args[0])))


def resource_set_resources(call: Call) -> Response:
    """GET /iam/resource-sets/{id}/resources: what the set holds (all users, or apps)."""
    found = _set(call, call.args[0])
    base = f"{call.org.url}/api/v1/iam/resource-sets/{found['id']}/resources"
    items = {r["id"]: r for r in found["resources"]}
    return _body_page(call, "resources", list(items), limit(call, 100, 100), lambda rid: {
        **{k: v for k, v in items[rid].items() if k != "path"},
        "_links": {"self": {"href": f"{call.org.url}{items[rid]['path']}"}, "resource": {"href": f"{base}/{rid}"}}})


def _bound(call: Call, set_id: str) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Role id -> (assignee, assignment) for every custom role assignment over this resource set."""
    d = call.directory
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for pool in (d.roles, d.group_roles):
        for who, assignments in pool.items():
            for a in assignments:
                if a["type"] == "CUSTOM" and a.get("resource-set") == set_id:
                    out.setdefault(a["role"], []).append((who, a))
    return out


def bindings(call: Call) -> Response:
    """GET /iam/resource-sets/{id}/bindings: the custom roles bound to the set."""
    found = _set(call, call.args[0])
    base = f"{call.org.url}/api/v1/iam/resource-sets/{found['id']}"
    bound = _bound(call, found["id"])
    return _body_page(call, "roles", list(bound), 100, lambda rid: {
        "id": rid, "_links": {"self": {"href": f"{call.org.url}/api/v1/iam/roles/{rid}"},
                              "members": {"href": f"{base}/bindings/{rid}/members"}}},
        links={"self": {"href": f"{base}/bindings"}, "resource-set": {"href": base}})


def binding_members(call: Call) -> Response:
    """GET /iam/resource-sets/{id}/bindings/{roleIdOrLabel}/members: who holds the role over the set."""
    found = _set(call, call.args[0])
    role = _role(call, call.args[1])
    members = {a["id"]: (who, a) for who, a in _bound(call, found["id"]).get(role["id"], [])}
    groups = call.directory.groups

    def render(member_id: str) -> dict[str, Any]:
        who, assignment = members[member_id]
        kind = "groups" if who in groups else "users"
        return {"id": member_id, "orn": f"{ORN}:{kind}:{who}", "created": assignment["created"],
                "lastUpdated": assignment["lastUpdated"],
                "_links": {"self": {"href": f"{call.org.url}/api/v1/{kind}/{who}"}}}

    return _body_page(call, "members", list(members), 100, render)
