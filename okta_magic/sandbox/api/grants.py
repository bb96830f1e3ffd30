"""``/api/v1/apps/{id}/grants``: the Okta API scopes an app has been granted (its scope consent grants).

Follows Okta's Application Grants API (listScopeConsentGrants, getScopeConsentGrant, grantConsentToScope,
revokeScopeConsentGrant; scopes ``okta.appGrants.read`` / ``.manage``), each grant an
``OAuth2ScopeConsentGrant``. The demo apps start with a grant for every ``okta.*`` scope they may ask for
(an app can be issued only the scopes granted to it); a grant made through the API adds the scope to what
the app may ask for, a revoked one takes it away. The grants live beside the org (``OrgState.app_grants``),
made on first use so that an org that never reads them pays nothing.
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, audit, body
from okta_magic.sandbox.data import ORG_SUFFIX, iso
from okta_magic.sandbox.responses import invalid, json_response, not_found
from okta_magic.sandbox.state import OrgState
from okta_magic.scopes import catalogue

_LOCK = threading.Lock()


def _seeded(org: OrgState) -> dict[str, dict[str, dict[str, Any]]]:
    """App id -> grant id -> grant: one per ``okta.*`` scope of each demo app, made when the app was."""
    grants: dict[str, dict[str, dict[str, Any]]] = {}
    for demo in org.apps.values():
        app = org.directory.apps.get(demo.client_id)
        if app is None:
            continue
        for n, scope in enumerate(s for s in demo.scopes if s.startswith("okta.")):
            grant = _grant(org, demo.client_id, scope, app["created"], f"oag{demo.client_id[3:10]}{n:07d}")
            grants.setdefault(demo.client_id, {})[grant["id"]] = grant
    return grants


def _grant(org: OrgState, app_id: str, scope: str, created: str, gid: str) -> dict[str, Any]:
    """One OAuth2ScopeConsentGrant (``_links`` added when served)."""
    admin = org.directory.demo_users["admin"].id
    return {"id": gid + ORG_SUFFIX if not gid.endswith(ORG_SUFFIX) else gid, "status": "ACTIVE", "source": "ADMIN",
            "clientId": app_id, "issuer": org.url, "scopeId": scope, "created": created, "lastUpdated": created,
            "createdBy": {"id": admin, "type": "User"}}


def app_grants(org: OrgState) -> dict[str, dict[str, dict[str, Any]]]:
    """The org's grants by app (made on first use)."""
    with _LOCK:
        if org.app_grants is None:
            org.app_grants = _seeded(org)
        return org.app_grants


def _json(call: Call, app_id: str, grant: dict[str, Any]) -> dict[str, Any]:
    base = f"{call.org.url}/api/v1/apps/{app_id}"
    return {**grant, "issuer": call.org.url, "_links": {
        "app": {"href": base, "title": call.directory.apps[app_id]["label"]},
        "client": {"href": f"{call.org.url}/oauth2/v1/clients/{app_id}"},
        "scope": {"href": f"{call.org.url}/api/v1/scopes?q={grant['scopeId']}"},
        "self": {"href": f"{base}/grants/{grant['id']}", "hints": {"allow": ["GET", "DELETE"]}}}}


def _app_id(call: Call) -> str:
    app_id = call.args[0]
    if app_id not in call.directory.apps:
        raise not_found(app_id, "AppInstance")
    return app_id


def list_grants(call: Call) -> Response:
    """GET /apps/{id}/grants: every scope granted to the app (not paged, like Okta's)."""
    app_id = _app_id(call)
    found = app_grants(call.org).get(app_id, {})
    return json_response([_json(call, app_id, g) for g in found.values()])


def get_grant(call: Call) -> Response:
    """GET /apps/{id}/grants/{grantId}."""
    app_id = _app_id(call)
    grant = app_grants(call.org).get(app_id, {}).get(call.args[1])
    if grant is None:
        raise not_found(call.args[1], "OAuth2ScopeConsentGrant")
    return json_response(_json(call, app_id, grant))


async def create_grant(call: Call) -> Response:
    """POST /apps/{id}/grants ``{"issuer": ORG, "scopeId": "okta.users.manage"}``: grant the app a scope."""
    app_id = _app_id(call)
    sent = await body(call)
    scope = str(sent.get("scopeId") or "")
    if scope not in catalogue().scope_descriptions:
        raise invalid("scopeId", f"scopeId: {scope or 'it'} is not an Okta API scope")
    if str(sent.get("issuer") or "").rstrip("/") != call.org.url:
        raise invalid("issuer", f"issuer: must be the org's issuer, {call.org.url}")
    grants = app_grants(call.org).setdefault(app_id, {})
    existing = next((g for g in grants.values() if g["scopeId"] == scope), None)
    if existing is not None:
        return json_response(_json(call, app_id, existing))
    grant = _grant(call.org, app_id, scope, iso(call.org.clock()), call.directory.new_id("oag"))
    grants[grant["id"]] = grant
    demo = call.org.clients.get(app_id)
    if demo is not None and scope not in demo.scopes:
        demo.scopes.append(scope)
    audit(call, "app.oauth2.as.consent.grant", "Grant consent to scope",
          [{"id": app_id, "type": "AppInstance", "alternateId": call.directory.apps[app_id]["label"],
            "displayName": call.directory.apps[app_id]["label"], "detailEntry": {"scope": scope}}])
    return json_response(_json(call, app_id, grant), status=201)


def revoke_grant(call: Call) -> Response:
    """DELETE /apps/{id}/grants/{grantId}: the app may no longer ask for that scope."""
    app_id = _app_id(call)
    grant = app_grants(call.org).get(app_id, {}).pop(call.args[1], None)
    if grant is None:
        raise not_found(call.args[1], "OAuth2ScopeConsentGrant")
    demo = call.org.clients.get(app_id)
    if demo is not None and grant["scopeId"] in demo.scopes:
        demo.scopes.remove(grant["scopeId"])
    return Response(status_code=204)
