"""Every endpoint the sandbox models answers in the shape Okta's Management API spec gives its response.

The schemas are tests/fixtures/okta_response_schemas.json, generated from Okta's spec
(management-minimal.yaml) by scripts/build_sandbox_contract.py: only the modelled operations' response
schemas and what they refer to, turned into JSON Schema. Each answer (lists and single objects, with and
without ``expand``, and the answers to writes) is validated with ``jsonschema``; a mismatch names the
operation, the request and the field.
"""

from __future__ import annotations

import json
import pathlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from jsonschema.exceptions import best_match

from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.api.users import LIFECYCLE_ALLOWED
from okta_magic.sandbox.app import API_ROUTES
from okta_magic.scopes import catalogue

SANDBOX = {"users": 300, "seed": 5}
FIXTURE = json.loads((pathlib.Path(__file__).parent / "fixtures" / "okta_response_schemas.json").read_text())
# Where Okta's real answers and its spec disagree, the real answers win (each case says why):
# - applications carry "universalLogout": null in Okta's recorded listApplications answer
#   (tests/fixtures/recorded/test_applications_it), where the spec allows only an object;
_SCHEMAS = FIXTURE["components"]["schemas"]
_SCHEMAS["ApplicationUniversalLogout"] = {"anyOf": [{"type": "null"}, _SCHEMAS["ApplicationUniversalLogout"]]}
# - and "accessibility" with errorRedirectUrl and loginRedirectUrl null there, where the spec wants strings;
for _name in ("errorRedirectUrl", "loginRedirectUrl"):
    _SCHEMAS["ApplicationAccessibility"]["properties"][_name] = {"type": ["string", "null"]}
# - a device's resourceAlternateId is null in the spec's own listDevices example, a string in its schema;
_SCHEMAS["Device"]["properties"]["resourceAlternateId"] = {"type": ["string", "null"]}
# - the spec's SamlApplicationSettingsSignOn is a custom SAML app's; an app from Okta's catalog (the sandbox's
#   Salesforce, Slack ...) answers only its override fields, null when not overridden;
_SCHEMAS["SamlApplicationSettingsSignOn"] = {"anyOf": [_SCHEMAS["SamlApplicationSettingsSignOn"], {
    "type": "object", "additionalProperties": False, "properties": {
        **{k: {"type": ["string", "null"]} for k in ("defaultRelayState", "ssoAcsUrlOverride", "audienceOverride",
                                                     "recipientOverride", "destinationOverride")},
        "attributeStatements": {"type": "array"}}}]}
# - an app's "notes" are {"admin": null, "enduser": null} in that recording, strings in the spec;
_SCHEMAS["ApplicationSettingsNotes"]["properties"] = {k: {"type": ["string", "null"]} for k in ("admin", "enduser")}
# - and "notifications": {"vpn": {..., "message": null, "helpUrl": null}} there, strings in the spec;
for _name in ("message", "helpUrl"):
    _SCHEMAS["ApplicationSettingsNotificationsVpn"]["properties"][_name] = {"type": ["string", "null"]}
# - the spec's TimeDuration pattern ("^P(?:$)...") matches no duration at all, not even its own listApiTokens
#   example "P30D": an ISO 8601 duration is checked instead;
_SCHEMAS["TimeDuration"]["pattern"] = r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?$"
# - a System Log event holds null for what it does not have (legacyEventType, outcome.reason, a target's
#   detailEntry ...: Okta's System Log reference marks them nullable); the spec's Log* schemas do not;
for _name, _schema in _SCHEMAS.items():
    if _name.startswith("Log"):
        for _key, _prop in (_schema.get("properties") or {}).items():
            _schema["properties"][_key] = {"anyOf": [{"type": "null"}, _prop]}
# - Okta's own apps (saasure, okta_enduser) are OPENID_CONNECT apps in that recording, where the spec's
#   OpenIdConnectApplication allows only the name oidc_client;
_SCHEMAS["OpenIdConnectApplication"] = json.loads(json.dumps(_SCHEMAS["OpenIdConnectApplication"]).replace(
    '"enum": ["oidc_client"]', '"minLength": 1'))
# - an email enrollment's profile holds the email, not a phone number (the spec's own example,
#   AuthenticatorEnrollmentsListAllEx), where AuthenticatorProfile requires phoneNumber;
_SCHEMAS["AuthenticatorProfile"].pop("required", None)
# - listAuthenticatorEnrollments answers an array (the spec's own example), its schema one object.
_ITEMS = {"GET /api/v1/users/{userId}/authenticator-enrollments"}
CHECKED: set[str] = set()


def _operation(method: str, path: str) -> str:
    op = catalogue().resolve(method, path)
    assert op is not None, f"{method} {path} is not an operation of Okta's spec"
    return f"{op.method} {op.path}"


def check(response: httpx.Response) -> Any:
    """Validate one answer against its operation's response schema; the body."""
    request = response.request
    assert response.status_code < 300, f"{request.method} {request.url}: {response.status_code} {response.text}"
    key = _operation(request.method, request.url.path)
    schema = FIXTURE["operations"][key]
    CHECKED.add(key)
    if schema is None:
        return None
    body = response.json()
    if key in _ITEMS:
        schema = {"type": "array", "items": schema}
    validator = jsonschema.Draft202012Validator({**schema, "components": FIXTURE["components"]})
    error = best_match(validator.iter_errors(body))
    if error is not None:
        field = "/".join(str(p) for p in error.absolute_path) or "(the body)"
        pytest.fail(f"{key} ({request.method} {request.url.path}?{request.url.query.decode()}): "
                    f"field {field}: {error.message[:300]}")
    return body


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    token = sandbox.issue_token(user="admin", app="native", scopes=[
        s for s in catalogue().scope_descriptions if s.startswith("okta.")])
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _first(admin: httpx.Client, path: str, key: str = "id", **params: str) -> str:
    return str(check(admin.get(path, params=params))[0][key])


def test_directory_reads_match_the_spec(sandbox: Sandbox, admin: httpx.Client) -> None:
    uid = sandbox.demo_users["admin"].id
    check(admin.get("/api/v1/users", params={"limit": 50}))
    check(admin.get(f"/api/v1/users/{uid}"))
    check(admin.get(f"/api/v1/users/{uid}/groups"))
    gid = _first(admin, "/api/v1/groups", q="Security")
    for params in ({}, {"expand": "stats"}, {"expand": "app"}, {"expand": "stats,app"}):
        check(admin.get("/api/v1/groups", params={"limit": 5, **params}))
        check(admin.get(f"/api/v1/groups/{gid}", params=params))
    check(admin.get(f"/api/v1/groups/{gid}/users", params={"limit": 20}))
    apps = check(admin.get("/api/v1/apps"))
    for app in apps:
        check(admin.get(f"/api/v1/apps/{app['id']}"))
        users = check(admin.get(f"/api/v1/apps/{app['id']}/users", params={"limit": 5}))
        groups = check(admin.get(f"/api/v1/apps/{app['id']}/groups"))
        if users:
            check(admin.get(f"/api/v1/apps/{app['id']}/users/{users[0]['id']}"))
        if groups:
            check(admin.get(f"/api/v1/apps/{app['id']}/groups/{groups[0]['id']}"))
    check(admin.get("/api/v1/logs", params={"limit": 200}))


def test_security_reads_match_the_spec(sandbox: Sandbox, admin: httpx.Client) -> None:
    admins = check(admin.get("/api/v1/iam/assignees/users", params={"limit": 200}))["value"]
    for person in admins[:40]:
        for roles in (check(admin.get(f"/api/v1/users/{person['id']}/roles")),):
            for role in roles[:1]:
                if role["assignmentType"] == "USER":
                    check(admin.get(f"/api/v1/users/{person['id']}/roles/{role['id']}"))
    gid = _first(admin, "/api/v1/groups", q="Security")
    group_roles = check(admin.get(f"/api/v1/groups/{gid}/roles"))
    check(admin.get(f"/api/v1/groups/{gid}/roles/{group_roles[0]['id']}"))
    for uid in sandbox.user_ids()[:60]:
        factors = check(admin.get(f"/api/v1/users/{uid}/factors"))
        enrollments = check(admin.get(f"/api/v1/users/{uid}/authenticator-enrollments"))
        check(admin.get(f"/api/v1/users/{uid}/appLinks"))
        check(admin.get(f"/api/v1/users/{uid}/devices"))
        for factor in factors[:1]:
            check(admin.get(f"/api/v1/users/{uid}/factors/{factor['id']}"))
        for enrollment in enrollments[:1]:
            check(admin.get(f"/api/v1/users/{uid}/authenticator-enrollments/{enrollment['id']}"))
    roles = check(admin.get("/api/v1/iam/roles"))["roles"]
    for role in roles:
        check(admin.get(f"/api/v1/iam/roles/{role['id']}"))
        check(admin.get(f"/api/v1/iam/roles/{role['id']}/permissions"))
    for found in check(admin.get("/api/v1/iam/resource-sets"))["resource-sets"]:
        check(admin.get(f"/api/v1/iam/resource-sets/{found['id']}"))
        check(admin.get(f"/api/v1/iam/resource-sets/{found['id']}/resources"))
        for bound in check(admin.get(f"/api/v1/iam/resource-sets/{found['id']}/bindings"))["roles"]:
            check(admin.get(f"/api/v1/iam/resource-sets/{found['id']}/bindings/{bound['id']}/members"))


def test_configuration_reads_match_the_spec(admin: httpx.Client) -> None:
    for kind in ("OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY", "PROFILE_ENROLLMENT", "IDP_DISCOVERY"):
        for policy in check(admin.get("/api/v1/policies", params={"type": kind})):
            check(admin.get(f"/api/v1/policies/{policy['id']}"))
            for rule in check(admin.get(f"/api/v1/policies/{policy['id']}/rules")):
                check(admin.get(f"/api/v1/policies/{policy['id']}/rules/{rule['id']}"))
    for path in ("/api/v1/zones", "/api/v1/idps", "/api/v1/authorizationServers", "/api/v1/trustedOrigins",
                 "/api/v1/authenticators", "/api/v1/api-tokens", "/api/v1/meta/types/user", "/api/v1/groups/rules"):
        for item in check(admin.get(path)):
            check(admin.get(f"{path}/{item['id']}"))
    check(admin.get("/api/v1/groups/rules", params={"expand": "groupIdToGroupNameMap"}))
    for params in ({"limit": "50"}, {"limit": "20", "expand": "user"}):
        devices = check(admin.get("/api/v1/devices", params=params))
    check(admin.get(f"/api/v1/devices/{devices[0]['id']}"))
    check(admin.get(f"/api/v1/devices/{devices[0]['id']}/users"))
    check(admin.get("/api/v1/meta/schemas/user/default"))


def test_answers_to_writes_match_the_spec(sandbox: Sandbox, admin: httpx.Client) -> None:
    person = check(admin.post("/api/v1/users", params={"activate": "false"}, json={"profile": {
        "firstName": "Contract", "lastName": "Check", "email": "contract.check@example.com",
        "login": "contract.check@example.com", "department": "Legal", "city": "Dublin"}}))
    uid = person["id"]
    check(admin.post(f"/api/v1/users/{uid}", json={"profile": {"title": "Counsel"}}))
    check(admin.put(f"/api/v1/users/{uid}", json={"profile": {**person["profile"], "title": "Paralegal"}}))
    check(admin.post(f"/api/v1/users/{uid}/lifecycle/activate", params={"sendEmail": "false"}))
    factor = check(admin.post(f"/api/v1/users/{uid}/factors", json={"factorType": "sms", "provider": "OKTA",
                                                                     "profile": {"phoneNumber": "+15550100000"}}))
    check(admin.post(f"/api/v1/users/{uid}/factors/{factor['id']}/lifecycle/activate", json={"passCode": "123456"}))
    check(admin.delete(f"/api/v1/users/{uid}/factors/{factor['id']}"))
    role = check(admin.post(f"/api/v1/users/{uid}/roles", json={"type": "REPORT_ADMIN"}))
    check(admin.delete(f"/api/v1/users/{uid}/roles/{role['id']}"))
    group = check(admin.post("/api/v1/groups", json={"profile": {"name": "Contract checks"}}))
    check(admin.put(f"/api/v1/groups/{group['id']}", json={"profile": {"name": "Contract checks 2"}}))
    check(admin.put(f"/api/v1/groups/{group['id']}/users/{uid}"))
    custom = check(admin.post(f"/api/v1/groups/{group['id']}/roles", json={
        "type": "CUSTOM", "role": "App Owner Viewer", "resource-set": "Business apps"}))
    check(admin.delete(f"/api/v1/groups/{group['id']}/roles/{custom['id']}"))
    app_id = next(a["id"] for a in admin.get("/api/v1/apps").json() if a["signOnMode"] == "SAML_2_0")
    check(admin.post(f"/api/v1/apps/{app_id}/users", json={"id": uid, "scope": "USER"}))
    check(admin.delete(f"/api/v1/apps/{app_id}/users/{uid}"))
    check(admin.put(f"/api/v1/apps/{app_id}/groups/{group['id']}", json={"priority": 0}))
    check(admin.delete(f"/api/v1/apps/{app_id}/groups/{group['id']}"))
    rule = check(admin.post("/api/v1/groups/rules", json={
        "type": "group_rule", "name": "Legal in Dublin",
        "conditions": {"expression": {"value": 'user.department=="Legal" AND user.city=="Dublin"',
                                      "type": "urn:okta:expression:1.0"}},
        "actions": {"assignUserToGroups": {"groupIds": [group["id"]]}}}))
    check(admin.post(f"/api/v1/groups/rules/{rule['id']}/lifecycle/activate"))
    check(admin.post(f"/api/v1/groups/rules/{rule['id']}/lifecycle/deactivate"))
    check(admin.delete(f"/api/v1/groups/rules/{rule['id']}"))
    check(admin.delete(f"/api/v1/groups/{group['id']}/users/{uid}"))
    check(admin.delete(f"/api/v1/groups/{group['id']}"))
    enrollment = check(admin.get(f"/api/v1/users/{sandbox.demo_users['readonly'].id}/authenticator-enrollments"))[-1]
    check(admin.delete(f"/api/v1/users/{sandbox.demo_users['readonly'].id}/authenticator-enrollments/"
                       f"{enrollment['id']}"))
    check(admin.delete(f"/api/v1/users/{uid}"))
    check(admin.delete(f"/api/v1/users/{uid}"))


def test_app_grants_match_the_spec(sandbox: Sandbox, admin: httpx.Client) -> None:
    """listScopeConsentGrants and the grant's own operations (OAuth2ScopeConsentGrant)."""
    service = sandbox.apps["service"].client_id
    granted = check(admin.get(f"/api/v1/apps/{service}/grants"))
    assert {g["scopeId"] for g in granted} == set(sandbox.apps["service"].scopes)
    check(admin.get(f"/api/v1/apps/{service}/grants/{granted[0]['id']}"))
    new = check(admin.post(f"/api/v1/apps/{service}/grants", json={"issuer": sandbox.url,
                                                                    "scopeId": "okta.groups.manage"}))
    assert "okta.groups.manage" in sandbox.apps["service"].scopes  # the app may now ask for it
    check(admin.delete(f"/api/v1/apps/{service}/grants/{new['id']}"))
    assert "okta.groups.manage" not in sandbox.apps["service"].scopes


def test_lifecycle_answers_match_the_spec(admin: httpx.Client) -> None:
    def create(name: str, password: bool) -> str:
        body: dict[str, Any] = {"profile": {"firstName": "Life", "lastName": name, "email": f"life.{name}@example.com",
                                            "login": f"life.{name}@example.com"}}
        if password:
            body["credentials"] = {"password": {"value": "Sandbox-lifecycle-1"}}
        return str(check(admin.post("/api/v1/users", json=body))["id"])

    provisioned = create("provisioned", False)
    check(admin.post(f"/api/v1/users/{provisioned}/lifecycle/reactivate", params={"sendEmail": "false"}))
    active = create("active", True)
    for op in ("suspend", "unsuspend", "expire_password", "reset_password", "reset_factors", "deactivate"):
        check(admin.post(f"/api/v1/users/{active}/lifecycle/{op}", params={"sendEmail": "false"}))
    locked = admin.get("/api/v1/users", params={"search": 'status eq "LOCKED_OUT"', "limit": 1}).json()[0]["id"]
    check(admin.post(f"/api/v1/users/{locked}/lifecycle/unlock"))


def test_every_modelled_operation_was_checked() -> None:
    """Runs last in this module: each operation of the route table was validated by a test above."""
    modelled = set()
    for template, handlers in API_ROUTES:
        for method in handlers:
            concrete = "/api/v1" + re.sub(r"\{\w+\}", "x0x", template)
            names = LIFECYCLE_ALLOWED if "{op}" in template else ("x0x",)
            modelled |= {_operation(method, concrete[: -len("x0x")] + name if "{op}" in template else concrete)
                         for name in names}
    assert modelled == set(FIXTURE["operations"]), "rebuild the fixture: python scripts/build_sandbox_contract.py"
    assert modelled - CHECKED == set()
