"""The org's security configuration, read: policies and their rules, network zones, identity providers,
authorization servers, trusted origins, authenticators, devices and their users, API tokens, user types
and the user schema.

Each follows its Okta API's list and get operation (listPolicies needs ``type``, as Okta's does: 400
E0000001 without it); lists Okta pages are paged with ``limit`` and ``after``. ``_links`` point at this org.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, limit, page, user_id
from okta_magic.sandbox.api.factors import security
from okta_magic.sandbox.config_objects import SCHEMA_ID, Config
from okta_magic.sandbox.responses import invalid, json_response, not_found

POLICY_TYPES = ("OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY", "PROFILE_ENROLLMENT", "IDP_DISCOVERY",
                "POST_AUTH_SESSION", "ENTITY_RISK", "DEVICE_SIGNAL_COLLECTION")
Render = Callable[[Call, str], dict[str, Any]]


def _config(call: Call) -> Config:
    return security(call).config


def _links(call: Call, path: str, allow: tuple[str, ...] = ("GET",), **more: str) -> dict[str, Any]:
    """``self`` with its allowed methods, and more links by name (paths under /api/v1)."""
    base = f"{call.org.url}/api/v1"
    links: dict[str, Any] = {"self": {"href": f"{base}/{path}", "hints": {"allow": list(allow)}}}
    for name, sub in more.items():
        links[name] = {"href": f"{base}/{sub}", "hints": {"allow": ["POST" if "lifecycle" in sub else "GET"]}}
    return links


def _paged(call: Call, key: str, objects: dict[str, dict[str, Any]], render: Render, default: int = 20,
           maximum: int = 200) -> Response:
    """A cursor-paged list of configuration objects in the org's order."""
    size = limit(call, default, maximum)
    listing = call.directory.listing((key, len(objects)), lambda: list(objects), sorted_by_attribute=True)
    return page(call, listing, size, lambda ids: orjson.dumps([render(call, i) for i in ids]))


def _one(objects: dict[str, dict[str, Any]], ref: str, kind: str) -> str:
    if ref not in objects:
        raise not_found(ref, kind)
    return ref


# ---- policies ---------------------------------------------------------------------------


def _policy(call: Call, pid: str) -> dict[str, Any]:
    policy = _config(call).policies[pid]
    links = _links(call, f"policies/{pid}", ("GET", "PUT", "DELETE"),
                   deactivate=f"policies/{pid}/lifecycle/deactivate", rules=f"policies/{pid}/rules")
    return {**policy, "_links": links}


def list_policies(call: Call) -> Response:
    """GET /policies?type=...: the policies of one type, in priority order."""
    kind = call.params.get("type", "")
    if kind not in POLICY_TYPES:
        raise invalid("type", f"type: Policy type must be one of {', '.join(POLICY_TYPES)}")
    status = call.params.get("status")
    policies = _config(call).policies
    chosen = sorted((p for p in policies.values() if p["type"] == kind and status in (None, p["status"])),
                    key=lambda p: p["priority"])
    return json_response([_policy(call, p["id"]) for p in chosen])


def get_policy(call: Call) -> Response:
    """GET /policies/{policyId}."""
    return json_response(_policy(call, _one(_config(call).policies, call.args[0], "Policy")))


def _policy_rule(call: Call, pid: str, rule: dict[str, Any]) -> dict[str, Any]:
    rid = rule["id"]
    return {**rule, "_links": _links(call, f"policies/{pid}/rules/{rid}", ("GET", "PUT", "DELETE"),
                                     deactivate=f"policies/{pid}/rules/{rid}/lifecycle/deactivate")}


def list_policy_rules(call: Call) -> Response:
    """GET /policies/{policyId}/rules: the policy's rules in priority order."""
    pid = _one(_config(call).policies, call.args[0], "Policy")
    rules = sorted(_config(call).rules[pid].values(), key=lambda r: r["priority"])
    return json_response([_policy_rule(call, pid, r) for r in rules])


def get_policy_rule(call: Call) -> Response:
    """GET /policies/{policyId}/rules/{ruleId}."""
    pid = _one(_config(call).policies, call.args[0], "Policy")
    rules = _config(call).rules[pid]
    return json_response(_policy_rule(call, pid, rules[_one(rules, call.args[1], "PolicyRule")]))


# ---- zones, identity providers, authorization servers, trusted origins, authenticators ----------


def _zone(call: Call, zid: str) -> dict[str, Any]:
    return {**_config(call).zones[zid], "_links": _links(call, f"zones/{zid}", ("GET", "PUT", "DELETE"),
                                                          deactivate=f"zones/{zid}/lifecycle/deactivate")}


def list_zones(call: Call) -> Response:
    """GET /zones."""
    return _paged(call, "zones", _config(call).zones, _zone, 100, 100)


def get_zone(call: Call) -> Response:
    """GET /zones/{zoneId}."""
    return json_response(_zone(call, _one(_config(call).zones, call.args[0], "NetworkZone")))


def _idp(call: Call, iid: str) -> dict[str, Any]:
    return {**_config(call).idps[iid], "_links": _links(call, f"idps/{iid}", ("GET", "PUT", "DELETE"),
                                                         users=f"idps/{iid}/users",
                                                         deactivate=f"idps/{iid}/lifecycle/deactivate")}


def list_idps(call: Call) -> Response:
    """GET /idps (``type`` and ``q`` on the name)."""
    idps = _config(call).idps
    kind, q = call.params.get("type"), call.params.get("q", "").lower()
    chosen = {i: p for i, p in idps.items() if kind in (None, p["type"]) and p["name"].lower().startswith(q)}
    return _paged(call, f"idps-{kind}-{q}", chosen, _idp)


def get_idp(call: Call) -> Response:
    """GET /idps/{idpId}."""
    return json_response(_idp(call, _one(_config(call).idps, call.args[0], "IdentityProvider")))


def _auth_server(call: Call, sid: str) -> dict[str, Any]:
    server = _config(call).auth_servers[sid]
    links = _links(call, f"authorizationServers/{sid}", ("GET", "DELETE", "PUT"),
                   scopes=f"authorizationServers/{sid}/scopes", claims=f"authorizationServers/{sid}/claims",
                   policies=f"authorizationServers/{sid}/policies",
                   deactivate=f"authorizationServers/{sid}/lifecycle/deactivate")
    return {**server, "issuer": f"{call.org.url}/oauth2/{sid}", "_links": links}


def list_auth_servers(call: Call) -> Response:
    """GET /authorizationServers: the custom authorization servers (not the org's own, as in Okta)."""
    return _paged(call, "authorizationServers", _config(call).auth_servers, _auth_server)


def get_auth_server(call: Call) -> Response:
    """GET /authorizationServers/{authServerId}."""
    return json_response(_auth_server(call, _one(_config(call).auth_servers, call.args[0], "AuthorizationServer")))


def _origin(call: Call, tid: str) -> dict[str, Any]:
    return {**_config(call).origins[tid], "_links": _links(call, f"trustedOrigins/{tid}", ("GET", "PUT", "DELETE"),
                                                            deactivate=f"trustedOrigins/{tid}/lifecycle/deactivate")}


def list_origins(call: Call) -> Response:
    """GET /trustedOrigins."""
    return _paged(call, "trustedOrigins", _config(call).origins, _origin)


def get_origin(call: Call) -> Response:
    """GET /trustedOrigins/{trustedOriginId}."""
    return json_response(_origin(call, _one(_config(call).origins, call.args[0], "TrustedOrigin")))


def _authenticator(call: Call, aid: str) -> dict[str, Any]:
    found = _config(call).authenticators[aid]
    life = "deactivate" if found["status"] == "ACTIVE" else "activate"
    return {**found, "_links": _links(call, f"authenticators/{aid}", ("GET", "PUT"),
                                      methods=f"authenticators/{aid}/methods",
                                      **{life: f"authenticators/{aid}/lifecycle/{life}"})}


def list_authenticators(call: Call) -> Response:
    """GET /authenticators: every authenticator the org offers, active or not."""
    return json_response([_authenticator(call, a) for a in _config(call).authenticators])


def get_authenticator(call: Call) -> Response:
    """GET /authenticators/{authenticatorId}."""
    return json_response(_authenticator(call, _one(_config(call).authenticators, call.args[0], "Authenticator")))


# ---- devices ---------------------------------------------------------------------------


def _device(call: Call, did: str, users: bool = False) -> dict[str, Any]:
    device = security(call).devices()[did]
    out = {k: v for k, v in device.items() if k != "_users"}
    out["_links"] = _links(call, f"devices/{did}", ("GET", "PUT", "DELETE"), users=f"devices/{did}/users",
                           **({"suspend": f"devices/{did}/lifecycle/suspend"} if device["status"] == "ACTIVE"
                              else {"unsuspend": f"devices/{did}/lifecycle/unsuspend"}))
    if users:
        out["_embedded"] = {"users": _device_users(call, did)}
    return out


def _device_users(call: Call, did: str) -> list[dict[str, Any]]:
    d = call.directory
    return [{"created": created, "managementStatus": managed, "screenLockType": lock, "user": d.user_detail(uid)}
            for uid, created, managed, lock in security(call).devices()[did]["_users"] if uid in d.users]


def list_devices(call: Call) -> Response:
    """GET /devices (``expand=user`` embeds each device's users), paged."""
    devices = security(call).devices()
    users = call.params.get("expand") in ("user", "userSummary")
    return _paged(call, "devices", devices, lambda c, did: _device(c, did, users), 200, 200)


def get_device(call: Call) -> Response:
    """GET /devices/{deviceId}."""
    return json_response(_device(call, _one(security(call).devices(), call.args[0], "Device")))


def device_users(call: Call) -> Response:
    """GET /devices/{deviceId}/users."""
    return json_response(_device_users(call, _one(security(call).devices(), call.args[0], "Device")))


def user_devices(call: Call) -> Response:
    """GET /users/{id}/devices: the user's devices, each with the user's relation to it."""
    uid = user_id(call, call.args[0])
    out = []
    for did, device in security(call).devices().items():
        for who, created, _, _ in device["_users"]:
            if who == uid:
                out.append({"created": created, "device": _device(call, did),
                            "deviceUserLinks": {"self": {"href": f"{call.org.url}/api/v1/devices/{did}/users"}}})
    return json_response(out)


# ---- API tokens, user types, the user schema ----------------------------------------------


def _token(call: Call, token: dict[str, Any]) -> dict[str, Any]:
    base = f"{call.org.url}/api/v1"
    return {**token, "_links": {"self": {"href": f"{base}/api-tokens/{token['id']}", "hints": {
        "allow": ["GET", "DELETE"]}}, "user": {"href": f"{base}/users/{token['userId']}", "hints": {"allow": ["GET"]}}}}


def list_api_tokens(call: Call) -> Response:
    """GET /api-tokens: each token's owner, creation and last use (``lastUpdated``); never its secret."""
    return json_response([_token(call, t) for t in security(call).api_tokens])


def get_api_token(call: Call) -> Response:
    """GET /api-tokens/{apiTokenId}."""
    for token in security(call).api_tokens:
        if token["id"] == call.args[0]:
            return json_response(_token(call, token))
    raise not_found(call.args[0], "ApiToken")


def _user_type(call: Call, tid: str) -> dict[str, Any]:
    href = f"{call.org.url}/api/v1/meta/schemas/user/{SCHEMA_ID}"
    return {**_config(call).user_types[tid], "_links": {"self": {"href": f"{call.org.url}/api/v1/meta/types/user/"
                                                                         f"{tid}"}, "schema": {"href": href}}}


def list_user_types(call: Call) -> Response:
    """GET /meta/types/user."""
    return json_response([_user_type(call, t) for t in _config(call).user_types])


def get_user_type(call: Call) -> Response:
    """GET /meta/types/user/{typeId} (``default`` names the default type)."""
    types = _config(call).user_types
    ref = call.args[0]
    if ref == "default":
        ref = next(t for t, v in types.items() if v["default"])
    return json_response(_user_type(call, _one(types, ref, "UserType")))


def user_schema(call: Call) -> Response:
    """GET /meta/schemas/user/{schemaId}: ``default`` or the default type's schema id."""
    if call.args[0] not in ("default", SCHEMA_ID):
        raise not_found(call.args[0], "UserSchema")
    schema = _config(call).schema
    return json_response({**schema, "id": f"{call.org.url}/meta/schemas/user/{SCHEMA_ID}",
                          "_links": {"self": {"href": f"{call.org.url}/api/v1/meta/schemas/user/{SCHEMA_ID}"}}})
