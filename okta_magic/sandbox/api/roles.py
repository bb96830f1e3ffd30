"""Admin role assignments on users and on groups (Okta's Role Assignment API), granted, listed and revoked.

A user's list holds the roles assigned to them (``assignmentType: USER``) and those they hold through a group
(``GROUP``, with the group as ``assignee``). A custom role comes with its resource set (``CUSTOM``,
``role`` and ``resource-set``). Granting and revoking are written to the System Log as Okta names them
(``user.account.privilege.grant`` / ``revoke``, ``group.privilege.grant`` / ``revoke``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, audit, body, group_target, user_id, user_target
from okta_magic.sandbox.api.factors import security
from okta_magic.sandbox.directory import ROLE_LABELS
from okta_magic.sandbox.responses import ApiProblem, invalid, json_response, not_found


def assignment_json(call: Call, assignment: dict[str, Any], assignee: str) -> dict[str, Any]:
    """A role assignment as Okta answers it: ``assignee`` (a user or a group), and a custom role's links."""
    base = f"{call.org.url}/api/v1"
    kind = "groups" if assignee in call.directory.groups else "users"
    links: dict[str, Any] = {"assignee": {"href": f"{base}/{kind}/{assignee}"}}
    if assignment["type"] == "CUSTOM":
        role_id, set_id = assignment["role"], assignment["resource-set"]
        links["role"] = {"href": f"{base}/iam/roles/{role_id}"}
        links["resource-set"] = {"href": f"{base}/iam/resource-sets/{set_id}"}
        links["member"] = {"href": f"{base}/iam/resource-sets/{set_id}/bindings/{role_id}/members/{assignment['id']}"}
    return {**assignment, "_links": links}


def held_by_user(call: Call, uid: str) -> list[tuple[dict[str, Any], str]]:
    """(assignment, assignee) for every role the user holds: their own, then their groups'."""
    d = call.directory
    held = [(r, uid) for r in d.roles.get(uid, ())]
    for gid, assignments in d.group_roles.items():
        if uid in d.members.get(gid, ()):
            held += [(r, gid) for r in assignments]
    return held


def user_roles(call: Call) -> Response:
    """GET /users/{id}/roles: every role the user holds, each with its ``assignee``."""
    uid = user_id(call, call.args[0])
    return json_response([assignment_json(call, r, who) for r, who in held_by_user(call, uid)])


def group_roles(call: Call) -> Response:
    """GET /groups/{id}/roles: the roles assigned to the group."""
    gid = _group(call)
    return json_response([assignment_json(call, r, gid) for r in call.directory.group_roles.get(gid, [])])


def _group(call: Call) -> str:
    gid = call.args[0]
    if gid not in call.directory.groups:
        raise not_found(gid, "UserGroup")
    return gid


def _find(call: Call, owner: str, assignment_id: str, group: bool) -> dict[str, Any]:
    """The assignment a path names (E0000007 when the user or group has none by that id)."""
    pool = (call.directory.group_roles if group else call.directory.roles).get(owner, [])
    for assignment in pool:
        if assignment["id"] == assignment_id:
            return assignment
    raise not_found(assignment_id, "RoleAssignment")


def get_user_role(call: Call) -> Response:
    """GET /users/{id}/roles/{roleAssignmentId}."""
    uid = user_id(call, call.args[0])
    for assignment, who in held_by_user(call, uid):
        if assignment["id"] == call.args[1]:
            return json_response(assignment_json(call, assignment, who))
    raise not_found(call.args[1], "RoleAssignment")


def get_group_role(call: Call) -> Response:
    """GET /groups/{id}/roles/{roleAssignmentId}."""
    gid = _group(call)
    return json_response(assignment_json(call, _find(call, gid, call.args[1], True), gid))


async def _grant(call: Call, assignee: str, group: bool) -> Response:
    """Assign a standard role, or a custom role with its resource set (E0000001 for what Okta refuses)."""
    sent = await body(call)
    kind = sent.get("type")
    sec = security(call)
    d = call.directory
    with d.lock:
        if kind == "CUSTOM":
            role_id, set_id = _custom_ref(call, sent.get("role")), _set_ref(call, sent.get("resource-set"))
            assignment = sec.grant_custom(assignee, role_id, set_id, group=group)
        elif kind in ROLE_LABELS:
            held = (d.group_roles if group else d.roles).get(assignee, [])
            if any(r["type"] == kind for r in held):
                raise ApiProblem(409, "E0000090", "Duplicate role assignment exception.",
                                 ("The role specified is already assigned to the user.",))
            assignment = d.assign_role(assignee, kind, group=group)
        else:
            raise invalid("type", f"type: one of {', '.join(sorted(ROLE_LABELS))} or CUSTOM")
        d.touch(None if group else assignee)
    target = _assignee_target(call, assignee, group)
    event = "group.privilege.grant" if group else "user.account.privilege.grant"
    audit(call, event, "Grant user privilege" if not group else "Grant group privilege",
          [target, _role_target(assignment)])
    return json_response(assignment_json(call, assignment, assignee), status=201)


def _custom_ref(call: Call, ref: Any) -> str:
    """A custom role by id or label."""
    roles = security(call).custom_roles
    found = next((rid for rid, r in roles.items() if ref in (rid, r["label"])), None)
    if found is None:
        raise invalid("role", "role: no custom role has this id or label")
    return found


def _set_ref(call: Call, ref: Any) -> str:
    """A resource set by id or label."""
    sets = security(call).resource_sets
    found = next((sid for sid, s in sets.items() if ref in (sid, s["label"])), None)
    if found is None:
        raise invalid("resource-set", "resource-set: no resource set has this id or label")
    return found


def _assignee_target(call: Call, assignee: str, group: bool) -> dict[str, Any]:
    if group:
        return group_target(assignee, call.directory.groups[assignee]["profile"]["name"])
    return user_target(call, assignee)


def _role_target(assignment: dict[str, Any]) -> dict[str, Any]:
    """A role as a System Log target."""
    return {"id": assignment["id"], "type": "ROLE", "alternateId": assignment["type"],
            "displayName": assignment["label"], "detailEntry": None}


async def grant_user_role(call: Call) -> Response:
    """POST /users/{id}/roles: assign a role to the user (201)."""
    return await _grant(call, user_id(call, call.args[0]), False)


async def grant_group_role(call: Call) -> Response:
    """POST /groups/{id}/roles: assign a role to the group; every member holds it (201)."""
    return await _grant(call, _group(call), True)


def _revoke(call: Call, owner: str, group: bool) -> Response:
    d = call.directory
    with d.lock:
        assignment = _find(call, owner, call.args[1], group)
        (d.group_roles if group else d.roles)[owner].remove(assignment)
        if not group and not d.roles[owner]:
            del d.roles[owner]
        d.touch(None if group else owner)
    event = "group.privilege.revoke" if group else "user.account.privilege.revoke"
    audit(call, event, "Revoke group privilege" if group else "Revoke user privilege",
          [_assignee_target(call, owner, group), _role_target(assignment)])
    return Response(status_code=204)


def revoke_user_role(call: Call) -> Response:
    """DELETE /users/{id}/roles/{roleAssignmentId} (204)."""
    return _revoke(call, user_id(call, call.args[0]), False)


def revoke_group_role(call: Call) -> Response:
    """DELETE /groups/{id}/roles/{roleAssignmentId} (204)."""
    return _revoke(call, _group(call), True)
