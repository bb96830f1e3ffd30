"""App assignments both ways: an app's users and groups (with priority), and a user's app links.

Follows Okta's Application Users and Application Groups APIs (assignUserToApplication,
getApplicationUser, unassignUserFromApplication, listApplicationGroupAssignments,
assignGroupToApplication, unassignApplicationFromGroup) and listAppLinks. A user assigned only through a
group cannot be unassigned directly (403 E0000006, as in the Admin Console); assignments are logged as
``application.user_membership.add`` / ``remove`` and ``application.group_membership.add`` / ``remove``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from okta_magic.sandbox.api.apps import _app, app_user_json
from okta_magic.sandbox.api.calls import Call, audit, body, group_target, limit, page, user_id, user_target
from okta_magic.sandbox.api.factors import security
from okta_magic.sandbox.responses import invalid, json_response, not_found, not_permitted

APP_GROUPS_DEFAULT_LIMIT = 20
APP_GROUPS_MAX_LIMIT = 200


def _app_target(app: dict[str, Any]) -> dict[str, Any]:
    return {"id": app["id"], "type": "AppInstance", "alternateId": app["label"], "displayName": app["label"],
            "detailEntry": None}


async def assign_user(call: Call) -> Response:
    """POST /apps/{id}/users: assign the app to a user directly (``{"id": userId}``)."""
    app_id = call.args[0]
    app = _app(call, app_id)
    sent = await body(call)
    if not isinstance(sent.get("id"), str):
        raise invalid("id", "id: The field cannot be left blank")
    uid = user_id(call, sent["id"])
    with call.directory.lock:
        added = security(call).assign_app(app_id, uid)
    if added:
        audit(call, "application.user_membership.add", "Add user to application membership",
              [user_target(call, uid), _app_target(app)])
    return json_response(app_user_json(call, app_id, app, uid))


def get_app_user(call: Call) -> Response:
    """GET /apps/{id}/users/{userId}: one assignment (E0000007 when the user is not assigned)."""
    app_id = call.args[0]
    app = _app(call, app_id)
    uid = user_id(call, call.args[1])
    if uid not in security(call).app_user_ids(app_id):
        raise not_found(uid, "AppUser")
    return json_response(app_user_json(call, app_id, app, uid))


def unassign_user(call: Call) -> Response:
    """DELETE /apps/{id}/users/{userId}: remove a direct assignment (204)."""
    app_id = call.args[0]
    app = _app(call, app_id)
    uid = user_id(call, call.args[1])
    sec = security(call)
    with call.directory.lock:
        direct = sec.app_users.get(app_id, {})
        if uid not in direct:
            if uid in sec.app_user_ids(app_id):
                raise not_permitted()  # assigned through a group: remove the group's assignment instead
            raise not_found(uid, "AppUser")
        del direct[uid]
        call.directory.touch()
    audit(call, "application.user_membership.remove", "Remove user from application membership",
          [user_target(call, uid), _app_target(app)])
    return Response(status_code=204)


def _group_assignment(call: Call, app_id: str, gid: str, priority: int) -> dict[str, Any]:
    """One group's assignment to an app, as Okta's ApplicationGroupAssignment."""
    base = f"{call.org.url}/api/v1"
    group = call.directory.groups[gid]
    return {"id": gid, "priority": priority, "lastUpdated": group["lastUpdated"], "profile": {},
            "_links": {"app": {"href": f"{base}/apps/{app_id}"}, "self": {"href": f"{base}/apps/{app_id}/groups/{gid}"},
                       "group": {"href": f"{base}/groups/{gid}"}}}


def app_groups(call: Call) -> Response:
    """GET /apps/{id}/groups: the groups assigned to the app, in priority order (0 first)."""
    app_id = call.args[0]
    _app(call, app_id)
    d = call.directory
    gids = [g for g in d.app_groups.get(app_id, []) if g in d.groups]
    q = call.params.get("q", "").lower()
    listing = d.listing(("app_groups", app_id, q), lambda: [
        g for g in gids if d.groups[g]["profile"]["name"].lower().startswith(q)], sorted_by_attribute=True)
    size = limit(call, APP_GROUPS_DEFAULT_LIMIT, APP_GROUPS_MAX_LIMIT)
    return page(call, listing, size, lambda ids: orjson.dumps(
        [_group_assignment(call, app_id, g, gids.index(g)) for g in ids]))


def get_app_group(call: Call) -> Response:
    """GET /apps/{id}/groups/{groupId}."""
    app_id, gid = call.args
    _app(call, app_id)
    gids = call.directory.app_groups.get(app_id, [])
    if gid not in gids:
        raise not_found(gid, "ApplicationGroupAssignment")
    return json_response(_group_assignment(call, app_id, gid, gids.index(gid)))


async def assign_group(call: Call) -> Response:
    """PUT /apps/{id}/groups/{groupId}: assign the app to a group (``priority`` optional; last by default)."""
    app_id, gid = call.args
    app = _app(call, app_id)
    d = call.directory
    if gid not in d.groups:
        raise not_found(gid, "UserGroup")
    raw = await call.request.body()
    sent = orjson.loads(raw) if raw.strip() else {}
    priority = sent.get("priority") if isinstance(sent, dict) else None
    if priority is not None and (not isinstance(priority, int) or priority < 0):
        raise invalid("priority", "priority: must be an integer from 0")
    with d.lock:
        gids = d.app_groups.setdefault(app_id, [])
        added = gid not in gids
        if not added:
            gids.remove(gid)
        gids.insert(len(gids) if priority is None else min(priority, len(gids)), gid)
        d.touch()
    if added:
        audit(call, "application.group_membership.add", "Add assigned group to application",
              [group_target(gid, d.groups[gid]["profile"]["name"]), _app_target(app)])
    return json_response(_group_assignment(call, app_id, gid, d.app_groups[app_id].index(gid)))


def unassign_group(call: Call) -> Response:
    """DELETE /apps/{id}/groups/{groupId} (204)."""
    app_id, gid = call.args
    app = _app(call, app_id)
    d = call.directory
    with d.lock:
        gids = d.app_groups.get(app_id, [])
        if gid not in gids:
            raise not_found(gid, "ApplicationGroupAssignment")
        gids.remove(gid)
        d.touch()
    audit(call, "application.group_membership.remove", "Remove assigned group from application",
          [group_target(gid, d.groups[gid]["profile"]["name"]), _app_target(app)])
    return Response(status_code=204)


def app_links(call: Call) -> Response:
    """GET /users/{id}/appLinks: the links on the user's dashboard, one per app they are assigned."""
    uid = user_id(call, call.args[0])
    d = call.directory
    out = []
    for order, app_id in enumerate(security(call).apps_of(uid)):
        app = d.apps[app_id]
        if app["status"] != "ACTIVE":
            continue
        for _link in app["visibility"]["appLinks"]:
            out.append({"id": uid, "label": app["label"], "linkUrl": f"{call.org.url}/home/{app['name']}/{app_id}/2",
                        "logoUrl": f"{call.org.url}/img/logos/{app['name']}.png", "appName": app["name"],
                        "appInstanceId": app_id, "appAssignmentId": "0ua" + app_id[3:-3] + uid[-6:-3] + "5d7",
                        "credentialsSetup": False, "hidden": False, "sortOrder": order})
    return json_response(out)
