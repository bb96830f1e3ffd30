"""``/api/v1/apps``: list (q, filter), read, and an app's assigned users.

Follows Okta's Applications API: ``filter`` takes ``eq`` on status, name and id
only; ``q`` is a starts-with match on the label or the name.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, limit, page
from okta_magic.sandbox.api.factors import security
from okta_magic.sandbox.responses import bad_search, json_response, not_found
from okta_magic.sandbox.search import SearchError, compile_expression

APPS_MAX_LIMIT = 200
APP_USERS_DEFAULT_LIMIT = 50
APP_USERS_MAX_LIMIT = 500


def _app(call: Call, app_id: str) -> dict[str, Any]:
    """The app a path names (E0000007 when there is none)."""
    if app_id not in call.directory.apps:
        raise not_found(app_id, "AppInstance")
    return call.directory.apps[app_id]


def list_apps(call: Call) -> Response:
    """GET /apps: ``filter`` and ``q``, paged in the org's order."""
    p = call.params
    d = call.directory
    size = limit(call, APPS_MAX_LIMIT, APPS_MAX_LIMIT)
    predicate = None
    if p.get("filter"):
        try:
            predicate = compile_expression(
                p["filter"], lambda attr, op: attr in ("status", "name", "id") and op == "eq"
            )
        except SearchError as exc:
            raise bad_search(str(exc)) from None
    q = p.get("q", "").lower()
    listing = d.listing(
        ("apps", p.get("filter"), q),
        lambda: sorted(
            (
                aid
                for aid, a in d.apps.items()
                if (predicate is None or predicate(a))
                and (a["label"].lower().startswith(q) or a["name"].lower().startswith(q))
            ),
            key=d.seq.__getitem__,
        ),
    )
    return page(call, listing, size, lambda ids: orjson.dumps([d.app_json(a) for a in ids]))


def get_app(call: Call) -> Response:
    """GET /apps/{id}."""
    _app(call, call.args[0])
    return json_response(call.directory.app_json(call.args[0]))


def app_user_json(call: Call, app_id: str, app: dict[str, Any], uid: str) -> dict[str, Any]:
    """One user's assignment to an app, as Okta's AppUser object: ``scope`` USER when assigned directly,
    GROUP when only through a group."""
    u = call.directory.users[uid]
    base = call.org.url
    direct = security(call).app_users.get(app_id, {}).get(uid)
    created = direct["created"] if direct else (app["created"] if app["created"] > u["created"] else u["created"])
    return {
        "id": uid,
        "created": created,
        "lastUpdated": direct["lastUpdated"] if direct else u["lastUpdated"],
        "scope": "USER" if direct else "GROUP",
        "status": "ACTIVE",
        "statusChanged": u["statusChanged"],
        "passwordChanged": None,
        "syncState": "DISABLED",
        "credentials": {"userName": u["profile"]["login"]},
        "profile": {},
        "_links": {
            "app": {"href": f"{base}/api/v1/apps/{app_id}"},
            "user": {"href": f"{base}/api/v1/users/{uid}"},
        },
    }


def app_users(call: Call) -> Response:
    """GET /apps/{id}/users: the users assigned to the app, directly or through a group, paged."""
    app_id = call.args[0]
    app = _app(call, app_id)
    d = call.directory
    size = limit(call, APP_USERS_DEFAULT_LIMIT, APP_USERS_MAX_LIMIT)
    listing = d.listing(("app_users", app_id), lambda: security(call).app_user_ids(app_id))
    return page(call, listing, size, lambda ids: orjson.dumps([app_user_json(call, app_id, app, uid) for uid in ids]))
