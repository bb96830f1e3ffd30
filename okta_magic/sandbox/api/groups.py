"""``/api/v1/groups``: list (q, search, filter), read, create, replace, delete, members and membership.

Follows Okta's Groups API: only ``OKTA_GROUP`` groups may be changed through it
(403 E0000006 for the others), and membership changes are written to the System Log.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from okta_magic.sandbox import data
from okta_magic.sandbox.api.calls import Call, audit, body, group_target, limit, page, sort_by, user_target
from okta_magic.sandbox.data import iso
from okta_magic.sandbox.responses import bad_search, invalid, json_response, not_found, not_permitted
from okta_magic.sandbox.search import SearchError, allow_group_filter, compile_expression

GROUPS_MAX_LIMIT = 10000
MEMBERS_MAX_LIMIT = 1000


def _group(call: Call, gid: str) -> dict[str, Any]:
    """The group a path names (E0000007 when there is none)."""
    if gid not in call.directory.groups:
        raise not_found(gid, "UserGroup")
    return call.directory.groups[gid]


def _changeable(call: Call, gid: str) -> dict[str, Any]:
    """The group a path names, if the API may change it: only Okta groups (E0000006 otherwise)."""
    group = _group(call, gid)
    if group["type"] != "OKTA_GROUP":
        raise not_permitted()
    return group


def list_groups(call: Call) -> Response:
    """GET /groups: ``search`` (with ``sortBy``), ``filter`` and a starts-with ``q`` on the name, paged."""
    p = call.params
    d = call.directory
    size = limit(call, GROUPS_MAX_LIMIT, GROUPS_MAX_LIMIT)
    predicate: Callable[[dict[str, Any]], bool] | None = None
    try:
        if p.get("search"):
            predicate = compile_expression(p["search"])
        elif p.get("filter"):
            predicate = compile_expression(p["filter"], allow_group_filter)
    except SearchError as exc:
        raise bad_search(str(exc)) from None
    q = p.get("q", "").lower()
    listing = d.matching(
        "groups",
        (p.get("search"), p.get("filter"), q),
        lambda g: (predicate is None or predicate(g)) and g["profile"]["name"].lower().startswith(q),
        sort_by(call) if p.get("search") else None,
    )
    expand = _expand(call)
    return page(call, listing, size, lambda ids: orjson.dumps([group_out(call, gid, expand) for gid in ids]))


def _expand(call: Call) -> frozenset[str]:
    """``expand``: ``stats`` and ``app`` (listGroups, getGroup), comma-separated; anything else is E0000001."""
    asked = frozenset(v.strip() for v in call.params.get("expand", "").split(",") if v.strip())
    if asked - {"stats", "app"}:
        raise invalid("expand", "expand: Possible values are stats and app")
    return asked


def group_out(call: Call, gid: str, expand: frozenset[str]) -> dict[str, Any]:
    """A group as Okta answers it; ``expand=stats`` adds ``_embedded.stats`` (members, apps, admin role),
    ``expand=app`` the source app of an app group (the sandbox's groups are Okta's own: none)."""
    d = call.directory
    out = d.group_json(gid)
    if not expand:
        return out
    embedded: dict[str, Any] = {}
    if "stats" in expand:
        embedded["stats"] = {
            "usersCount": len(d.members.get(gid, ())),
            "appsCount": sum(1 for gids in d.app_groups.values() if gid in gids),
            "groupPushMappingsCount": 0,
            "hasAdminPrivilege": bool(d.group_roles.get(gid)),
            "_links": {"self": {"href": f"{call.org.url}/api/v1/groups/{gid}/stats"}},
        }
    return {**out, "_embedded": embedded}


def get_group(call: Call) -> Response:
    """GET /groups/{id} (``expand`` as the list takes it)."""
    _group(call, call.args[0])
    return json_response(group_out(call, call.args[0], _expand(call)))


def _group_profile(sent: dict[str, Any]) -> dict[str, Any]:
    """A group profile Okta would accept: a non-blank name, a description (or null), any other attributes."""
    profile = sent.get("profile")
    if not isinstance(profile, dict) or not isinstance(profile.get("name"), str) or not profile["name"].strip():
        raise invalid("name", "name: The field cannot be left blank")
    return {
        "name": profile["name"],
        "description": profile.get("description"),
        **{k: v for k, v in profile.items() if k not in ("name", "description")},
    }


async def create_group(call: Call) -> Response:
    """POST /groups: a new Okta group."""
    profile = _group_profile(await body(call))
    d = call.directory
    now = iso(call.org.clock())
    gid = d.new_id("00g")
    d.add_group(data.group_object(gid, profile["name"], profile["description"], "OKTA_GROUP", now, now, now))
    d.groups[gid]["profile"] = profile
    audit(call, "group.lifecycle.create", "Create Okta group", [group_target(gid, profile["name"])])
    return json_response(d.group_json(gid))


async def replace_group(call: Call) -> Response:
    """PUT /groups/{id}: the profile sent replaces the group's profile."""
    group = _changeable(call, call.args[0])
    profile = _group_profile(await body(call))
    d = call.directory
    with d.lock:
        group["profile"] = profile
        group["lastUpdated"] = iso(call.org.clock())
        d.touch()
    return json_response(d.group_json(call.args[0]))


def delete_group(call: Call) -> Response:
    """DELETE /groups/{id}."""
    _changeable(call, call.args[0])
    call.directory.remove_group(call.args[0])
    return Response(status_code=204)


def group_users(call: Call) -> Response:
    """GET /groups/{id}/users: the members, in the org's user order, paged."""
    gid = call.args[0]
    _group(call, gid)
    d = call.directory
    size = limit(call, MEMBERS_MAX_LIMIT, MEMBERS_MAX_LIMIT)
    listing = d.listing(("members", gid), lambda: sorted(d.members[gid], key=d.seq.__getitem__))
    return page(call, listing, size, lambda ids: b"[" + b",".join(d.user_json(u) for u in ids) + b"]")


def _membership(call: Call, member: bool) -> Response:
    """Add or remove a member, and log it as Okta does."""
    gid, ref = call.args
    group = _group(call, gid)
    uid = call.directory.find_user(ref)
    if uid is None:
        raise not_found(ref, "User")
    if group["type"] != "OKTA_GROUP":
        raise not_permitted()
    call.directory.set_membership(gid, uid, member)
    audit(
        call,
        "group.user_membership.add" if member else "group.user_membership.remove",
        "Add user to group membership" if member else "Remove user from group membership",
        [user_target(call, uid), group_target(gid, group["profile"]["name"])],
    )
    return Response(status_code=204)


def add_member(call: Call) -> Response:
    """PUT /groups/{id}/users/{userId}."""
    return _membership(call, True)


def remove_member(call: Call) -> Response:
    """DELETE /groups/{id}/users/{userId}."""
    return _membership(call, False)
