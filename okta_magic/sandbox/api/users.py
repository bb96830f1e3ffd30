"""``/api/v1/users``: list (q, search, filter, fields, sortBy), read, create, update, replace, delete, lifecycle.

Follows Okta's Users API: the default listing leaves DEPROVISIONED users out, the
first DELETE deactivates and the second removes, and a lifecycle operation the
user's status does not allow is 403 E0000038.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from okta_magic.sandbox import data, notmodelled
from okta_magic.sandbox.api.calls import (
    Call,
    audit,
    body,
    limit,
    links,
    page,
    sort_by,
    user_id,
    user_target,
)
from okta_magic.sandbox.api.factors import reset_all, security
from okta_magic.sandbox.api.rules import follow_rules
from okta_magic.sandbox.responses import ApiProblem, bad_search, invalid, json_response, not_found
from okta_magic.sandbox.search import (
    SearchError,
    allow_user_filter,
    allow_user_search,
    compile_expression,
    compile_search,
)

USERS_MAX_LIMIT = 200
LIFECYCLE_ALLOWED = {
    # operation: statuses it applies to (Okta answers E0000038 otherwise)
    "activate": ("STAGED", "DEPROVISIONED"),
    "reactivate": ("PROVISIONED",),
    "deactivate": ("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"),
    "suspend": ("ACTIVE",),
    "unsuspend": ("SUSPENDED",),
    "unlock": ("LOCKED_OUT",),
    "reset_password": ("ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"),
    "expire_password": ("ACTIVE", "RECOVERY", "LOCKED_OUT"),
    "reset_factors": ("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"),
}
# The System Log event types of the operations whose name is not user.lifecycle.<op>.
LIFECYCLE_EVENTS = {
    "reset_factors": "user.mfa.factor.reset_all",
    "reset_password": "user.account.reset_password",
    "unlock": "user.account.unlock",
    "expire_password": "user.account.expire_password",
}
# Base profile attributes Okta returns as null when a new user is created without them (recorded createUser).
CREATED_PROFILE_DEFAULTS = ("mobilePhone", "secondEmail")
USER_REQUIRED = ("firstName", "lastName", "email", "login")


def _projection(fields: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Okta's ``fields`` projection of users: ``id,status,profile:(firstName,city)``; ``id`` is always kept
    and every other property is filtered out (Management API spec, listUsers ``fields``)."""
    top: list[str] = []
    profile: list[str] | None = None
    for part in re.findall(r"[^,(]+\([^)]*\)|[^,]+", fields):
        name, _, inner = part.strip().partition(":")
        if inner.strip().startswith("("):
            if name.strip() != "profile":
                raise invalid("fields", f"fields: only profile takes sub-fields, not {name.strip()!r}")
            profile = [f.strip() for f in inner.strip()[1:-1].split(",") if f.strip()]
        elif name.strip():
            top.append(name.strip())

    def project(user: dict[str, Any]) -> dict[str, Any]:
        """The user with only the fields asked for."""
        out = {"id": user["id"], **{k: user[k] for k in top if k in user and k != "profile"}}
        if profile is not None:
            out["profile"] = {k: user["profile"][k] for k in profile if k in user["profile"]}
        elif "profile" in top:
            out["profile"] = user["profile"]
        return out

    return project


def _starting_with(call: Call, render: Callable[[list[str]], bytes]) -> Response:
    """``q``: startsWith on firstName, lastName or email; no paging; excludes DEPROVISIONED."""
    size = limit(call, 10, USERS_MAX_LIMIT)
    needle = call.params["q"].lower()
    found: list[str] = []
    for uid, u in call.directory.users.items():
        prof = u["profile"]
        if u["status"] != "DEPROVISIONED" and (
            prof["firstName"].lower().startswith(needle)
            or prof["lastName"].lower().startswith(needle)
            or prof["email"].lower().startswith(needle)
        ):
            found.append(uid)
            if len(found) >= size:
                break
    response = json_response(render(found))
    links(call, response, None)
    return response


def list_users(call: Call) -> Response:
    """GET /users: the default listing, ``q``, ``search`` (with ``sortBy``) or ``filter``, paged."""
    p = call.params
    d = call.directory
    project = _projection(p["fields"]) if p.get("fields") else None

    def render(ids: list[str]) -> bytes:
        """A page of users as JSON, projected when ``fields`` asks."""
        if project is not None:
            return orjson.dumps([project(d.users[uid]) for uid in ids])
        return b"[" + b",".join(d.user_json(uid) for uid in ids) + b"]"

    if "q" in p:
        return _starting_with(call, render)
    size = limit(call, USERS_MAX_LIMIT, USERS_MAX_LIMIT)
    if p.get("search"):
        try:
            predicate, spans = compile_search(p["search"], allow_user_search)
        except SearchError as exc:
            raise bad_search(str(exc)) from None
        listing = d.matching("users", ("search", p["search"]), predicate, sort_by(call), spans.get("created"))
    elif p.get("filter"):
        try:
            predicate = compile_expression(p["filter"], allow_user_filter)
        except SearchError as exc:
            raise bad_search(str(exc)) from None
        listing = d.matching("users", ("filter", p["filter"]), predicate)
    else:
        listing = d.listing(
            ("users", False), lambda: [uid for uid, u in d.users.items() if u["status"] != "DEPROVISIONED"]
        )
    return page(call, listing, size, render)


def get_user(call: Call) -> Response:
    """GET /users/{id, login or me}."""
    return json_response(call.directory.user_detail(user_id(call, call.args[0])))


def _validate_profile(call: Call, profile: Any, exclude: str | None = None) -> dict[str, Any]:
    """A profile Okta would accept: the four required attributes, email-shaped login and email, a free login."""
    if not isinstance(profile, dict):
        raise invalid("profile", "profile: The field is required.")
    missing = [f for f in USER_REQUIRED if not isinstance(profile.get(f), str) or not profile[f].strip()]
    if missing:
        raise invalid(missing[0], *(f"{f}: The field cannot be left blank" for f in missing))
    causes = []
    if "@" not in profile["login"]:
        causes.append("login: Username must be in the form of an email address")
    if "@" not in profile["email"]:
        causes.append("email: Does not match required pattern")
    owner = call.directory.by_login.get(profile["login"].lower())
    if owner is not None and owner != exclude:
        causes.append("login: An object with this field already exists in the current organization")
    if causes:
        raise invalid(causes[0].split(":")[0], *causes)
    return profile


def _has_password(body: dict[str, Any]) -> bool:
    """Whether a create request sets a password (``credentials.password.value``)."""
    credentials = body.get("credentials")
    return (
        isinstance(credentials, dict)
        and isinstance(credentials.get("password"), dict)
        and bool(credentials["password"].get("value"))
    )


async def create_user(call: Call) -> Response:
    """POST /users: STAGED, or activated (ACTIVE with a password, PROVISIONED without) as ``activate`` says."""
    sent = await body(call)
    d = call.directory
    profile = _validate_profile(call, sent.get("profile"))
    with d.lock:
        _validate_profile(call, profile)
        now = call.org.clock()
        has_password = _has_password(sent)
        activate = call.flag("activate", True)
        status = ("ACTIVE" if has_password else "PROVISIONED") if activate else "STAGED"
        uid = d.new_id("00u")
        user = data._user(
            uid,
            status,
            now,
            now if activate else None,
            now if activate else None,
            None,
            now,
            now if has_password else None,
            {**dict.fromkeys(CREATED_PROFILE_DEFAULTS), **profile},
        )
        group_ids = sent.get("groupIds") or []
        if not isinstance(group_ids, list) or any(g not in d.groups for g in group_ids):
            raise invalid("groupIds", "groupIds: One or more group ids are invalid.")
        d.add_user(user)
        for gid in group_ids:
            d.set_membership(gid, uid, True)
    audit(call, "user.lifecycle.create", "Create Okta user", [user_target(call, uid)])
    if activate:
        audit(call, "user.lifecycle.activate", "Activate Okta user", [user_target(call, uid)])
    follow_rules(call, uid)  # group rules add the new person to their department's and office's groups
    return json_response(d.user_detail(uid))


async def update_user(call: Call) -> Response:
    """POST /users/{id}: a partial update; only the attributes sent change."""
    uid = user_id(call, call.args[0])
    changes = (await body(call)).get("profile", {})
    if not isinstance(changes, dict):
        raise invalid("profile", "profile: must be an object")
    d = call.directory
    with d.lock:
        profile = _validate_profile(call, {**d.users[uid]["profile"], **changes}, exclude=uid)
        d.replace_profile(uid, profile)
    audit(call, "user.account.update_profile", "Update user profile for Okta", [user_target(call, uid)])
    follow_rules(call, uid)
    return json_response(d.user_detail(uid))


async def replace_user(call: Call) -> Response:
    """PUT /users/{id}: the profile sent replaces the whole profile."""
    uid = user_id(call, call.args[0])
    sent = await body(call)
    d = call.directory
    with d.lock:
        profile = _validate_profile(call, sent.get("profile"), exclude=uid)
        d.replace_profile(uid, dict(profile))
    audit(call, "user.account.update_profile", "Update user profile for Okta", [user_target(call, uid)])
    follow_rules(call, uid)
    return json_response(d.user_detail(uid))


def delete_user(call: Call) -> Response:
    """Okta: the first DELETE deactivates, a DELETE of a DEPROVISIONED user removes it."""
    uid = user_id(call, call.args[0])
    target = user_target(call, uid)
    d = call.directory
    if d.users[uid]["status"] != "DEPROVISIONED":
        d.set_status(uid, "DEPROVISIONED")
        audit(call, "user.lifecycle.deactivate", "Deactivate Okta user", [target])
    else:
        with d.lock:
            d.remove_user(uid)
            security(call).forget_user(uid)  # its factors, devices and direct app assignments go too
        audit(call, "user.lifecycle.delete.completed", "Delete Okta user completed", [target])
    return Response(status_code=204)


def _apply(call: Call, uid: str, op: str) -> dict[str, Any] | None:
    """Change the user's status for a lifecycle operation; the body to answer (None: the user itself)."""
    d = call.directory
    user = d.users[uid]
    if user["status"] not in LIFECYCLE_ALLOWED[op]:
        raise ApiProblem(403, "E0000038", "This operation is not allowed in the user's current status.")
    answer: dict[str, Any] = {}
    if op == "activate":
        d.set_status(uid, "ACTIVE" if user["passwordChanged"] else "PROVISIONED", activated=True)
        if not call.flag("sendEmail", True):
            token = secrets.token_urlsafe(15)
            answer = {"activationUrl": f"{call.org.url}/welcome/{token}", "activationToken": token}
    elif op == "reactivate":
        d.set_status(uid, "PROVISIONED")
    elif op == "deactivate":
        d.set_status(uid, "DEPROVISIONED")
    elif op == "suspend":
        d.set_status(uid, "SUSPENDED")
    elif op in ("unsuspend", "unlock"):
        d.set_status(uid, "ACTIVE")
    elif op == "reset_password":
        d.set_status(uid, "RECOVERY")
        if not call.flag("sendEmail", True):
            answer = {"resetPasswordUrl": f"{call.org.url}/reset_password/{secrets.token_urlsafe(15)}"}
    elif op == "expire_password":
        d.set_status(uid, "PASSWORD_EXPIRED")
        return None
    return answer


def lifecycle(call: Call) -> Response:
    """POST /users/{id}/lifecycle/{op}: one of Okta's user lifecycle operations."""
    uid = user_id(call, call.args[0])
    op = call.args[1]
    if op not in LIFECYCLE_ALLOWED:
        spec_op = notmodelled.operation("POST", call.request.url.path)
        if spec_op is not None:
            return notmodelled.answer(spec_op)  # e.g. expire_password_with_temp_password
        raise not_found(call.request.url.path, "Path")
    with call.directory.lock:
        answer = _apply(call, uid, op)
        if answer is None:
            return json_response(call.directory.user_detail(uid))
    audit(
        call,
        LIFECYCLE_EVENTS.get(op, f"user.lifecycle.{op}"),
        f"{op.replace('_', ' ').capitalize()} Okta user",
        [user_target(call, uid)],
    )
    if op == "reset_factors":
        reset_all(call, uid)
        return Response(status_code=200)  # SPEC resetFactors: 200 with no content
    return json_response(answer)


def user_groups(call: Call) -> Response:
    """GET /users/{id}/groups: the groups the user belongs to."""
    uid = user_id(call, call.args[0])
    return json_response([call.directory.group_json(gid) for gid in call.directory.groups_of(uid)])
