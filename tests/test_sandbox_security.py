"""The sandbox org's security data over real HTTP, checked across endpoints: admins and their roles, factors
and their resets, app assignments both ways, group stats and rules, deletion, the not-modelled answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from okta_magic.sandbox import Sandbox, data
from okta_magic.scopes import catalogue

SANDBOX = {"users": 1000, "seed": 1}
ALL_SCOPES = [s for s in catalogue().scope_descriptions if s.startswith("okta.")]


def client_for(sandbox: Sandbox, user: str) -> httpx.Client:
    token = sandbox.issue_token(user=user, app="native", scopes=ALL_SCOPES)
    return httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with client_for(sandbox, "admin") as client:
        yield client


def assignees(client: httpx.Client) -> list[str]:
    """Every admin, following the body's _links.next as Okta's spec pages this list."""
    ids: list[str] = []
    url: str | None = "/api/v1/iam/assignees/users?limit=50"
    while url:
        body = client.get(url).json()
        ids += [u["id"] for u in body["value"]]
        url = body["_links"].get("next", {}).get("href")
    return ids


def group_id(client: httpx.Client, name: str) -> str:
    return str(next(g["id"] for g in client.get("/api/v1/groups", params={"q": name}).json()
                    if g["profile"]["name"] == name))


def test_every_admin_holds_a_role_directly_or_through_a_group(sandbox: Sandbox, admin: httpx.Client) -> None:
    admins = assignees(admin)
    assert len(admins) == len(set(admins)) and {p.id for p in sandbox.demo_users.values() if p.role} <= set(admins)
    group_roles = {}
    for gid in {g["id"] for g in admin.get("/api/v1/groups").json()}:
        group_roles[gid] = admin.get(f"/api/v1/groups/{gid}/roles").json()
    holding = {gid for gid, roles in group_roles.items() if roles}
    assert holding == {group_id(admin, "Security")}  # the Security department's group holds Read-only Admin
    through_groups = 0
    for uid in admins:
        roles = admin.get(f"/api/v1/users/{uid}/roles").json()
        mine = [r for r in roles if r["assignmentType"] == "USER"]
        groups = {g["id"] for g in admin.get(f"/api/v1/users/{uid}/groups").json()} & holding
        assert mine or groups, uid
        through_groups += not mine
        assert all(r["_links"]["assignee"]["href"].endswith(tuple(groups)) for r in roles
                   if r["assignmentType"] == "GROUP")
    assert through_groups > 50  # most of the Security department holds its role only through the group
    kinds = {r["type"] for uid in admins[:400] for r in admin.get(f"/api/v1/users/{uid}/roles").json()}
    assert {"SUPER_ADMIN", "ORG_ADMIN", "REPORT_ADMIN", "GROUP_MEMBERSHIP_ADMIN", "USER_ADMIN", "CUSTOM"} <= kinds


def test_granting_and_revoking_a_role_shows_everywhere_and_is_logged(sandbox: Sandbox, admin: httpx.Client) -> None:
    uid = sandbox.demo_users["user"].id
    assert uid not in assignees(admin)
    granted = admin.post(f"/api/v1/users/{uid}/roles", json={"type": "REPORT_ADMIN"})
    assert granted.status_code == 201 and granted.json()["assignmentType"] == "USER"
    assert uid in assignees(admin)
    assert [r["type"] for r in admin.get(f"/api/v1/users/{uid}/roles").json()] == ["REPORT_ADMIN"]
    assert admin.post(f"/api/v1/users/{uid}/roles", json={"type": "REPORT_ADMIN"}).status_code == 409
    assert admin.delete(f"/api/v1/users/{uid}/roles/{granted.json()['id']}").status_code == 204
    assert uid not in assignees(admin) and admin.get(f"/api/v1/users/{uid}/roles").json() == []
    types = [e["eventType"] for e in admin.get("/api/v1/logs", params={"filter": f'target.id eq "{uid}"'}).json()]
    assert types[-2:] == ["user.account.privilege.grant", "user.account.privilege.revoke"]
    with client_for(sandbox, "readonly") as readonly:  # only a super admin grants roles
        assert readonly.post(f"/api/v1/users/{uid}/roles", json={"type": "REPORT_ADMIN"}).status_code == 403


def test_a_report_admin_is_refused_what_a_super_admin_reads(sandbox: Sandbox, admin: httpx.Client) -> None:
    uid = sandbox.demo_users["user"].id
    granted = admin.post(f"/api/v1/users/{uid}/roles", json={"type": "REPORT_ADMIN"}).json()
    try:
        with client_for(sandbox, "user") as report:
            assert report.get("/api/v1/logs", params={"limit": 5}).status_code == 200
            refused = report.get("/api/v1/iam/assignees/users")
            assert refused.status_code == 403 and refused.json()["errorCode"] == "E0000006"
        assert admin.get("/api/v1/iam/assignees/users").status_code == 200
    finally:
        admin.delete(f"/api/v1/users/{uid}/roles/{granted['id']}")


def test_factors_have_a_realistic_spread_and_a_reset_shows_in_the_list_and_the_log(
        sandbox: Sandbox, admin: httpx.Client) -> None:
    kinds = []
    for uid in sandbox.user_ids()[:200]:
        kinds.append({f["factorType"] for f in admin.get(f"/api/v1/users/{uid}/factors").json()})
    none = sum(1 for k in kinds if not k)
    weak = sum(1 for k in kinds if k and k <= {"sms", "email"})
    strong = sum(1 for k in kinds if k & {"push", "token:software:totp", "signed_nonce", "webauthn"})
    assert none > 10 and weak > 10 and strong > 100
    helpdesk = sandbox.demo_users["helpdesk"].id  # an admin without strong MFA
    assert {f["factorType"] for f in admin.get(f"/api/v1/users/{helpdesk}/factors").json()} == {"sms"}
    someone = sandbox.demo_users["readonly"].id
    factors = admin.get(f"/api/v1/users/{someone}/factors").json()
    assert admin.delete(f"/api/v1/users/{someone}/factors/{factors[0]['id']}").status_code == 204
    left = admin.get(f"/api/v1/users/{someone}/factors").json()
    assert [f["id"] for f in left] == [f["id"] for f in factors[1:]]
    log = admin.get("/api/v1/logs", params={"filter": f'target.id eq "{factors[0]["id"]}"'}).json()
    assert [e["eventType"] for e in log] == ["user.mfa.factor.deactivate"]
    assert admin.post(f"/api/v1/users/{someone}/lifecycle/reset_factors").status_code == 200
    assert admin.get(f"/api/v1/users/{someone}/factors").json() == []
    keys = {e["key"] for e in admin.get(f"/api/v1/users/{someone}/authenticator-enrollments").json()}
    assert keys == {"okta_password"}
    enrolled = admin.post(f"/api/v1/users/{someone}/factors", json={"factorType": "token:software:totp",
                                                                      "provider": "OKTA"}).json()
    assert enrolled["status"] == "PENDING_ACTIVATION"
    admin.post(f"/api/v1/users/{someone}/factors/{enrolled['id']}/lifecycle/activate", json={"passCode": "1"})
    assert [f["status"] for f in admin.get(f"/api/v1/users/{someone}/factors").json()] == ["ACTIVE"]


def test_group_stats_equal_the_member_lists(admin: httpx.Client) -> None:
    groups = admin.get("/api/v1/groups", params={"expand": "stats"}).json()
    for group in groups:
        members = admin.get(f"/api/v1/groups/{group['id']}/users", params={"limit": 1000}).json()
        assert group["_embedded"]["stats"]["usersCount"] == len(members), group["profile"]["name"]
    one = admin.get(f"/api/v1/groups/{groups[1]['id']}", params={"expand": "stats"}).json()
    assert one["_embedded"]["stats"] == groups[1]["_embedded"]["stats"]
    assert admin.get("/api/v1/groups", params={"expand": "nope"}).status_code == 400


def test_app_assignments_both_ways(sandbox: Sandbox, admin: httpx.Client) -> None:
    uid = sandbox.demo_users["user"].id
    apps = admin.get("/api/v1/apps").json()
    aws = next(a for a in apps if a["name"] == "amazon_aws")  # inactive: no dashboard link
    wiki = next(a for a in apps if a["label"] == "Company Wiki")
    slack = next(a for a in apps if a["name"] == "slack")
    links = {link["appInstanceId"] for link in admin.get(f"/api/v1/users/{uid}/appLinks").json()}
    assert wiki["id"] in links and slack["id"] not in links  # Everyone has the wiki
    assert admin.post(f"/api/v1/apps/{slack['id']}/users", json={"id": uid, "scope": "USER"}).status_code == 200
    assigned = {u["id"]: u["scope"] for u in admin.get(f"/api/v1/apps/{slack['id']}/users?limit=500").json()}
    assert assigned[uid] == "USER" and "GROUP" in assigned.values()
    assert slack["id"] in {link["appInstanceId"] for link in admin.get(f"/api/v1/users/{uid}/appLinks").json()}
    groups = admin.get(f"/api/v1/apps/{slack['id']}/groups").json()
    assert [g["priority"] for g in groups] == list(range(len(groups)))
    assert admin.delete(f"/api/v1/apps/{slack['id']}/users/{uid}").status_code == 204
    member = next(u for u, scope in assigned.items() if scope == "GROUP")
    assert admin.delete(f"/api/v1/apps/{slack['id']}/users/{member}").status_code == 403  # through a group
    assert aws["status"] == "INACTIVE"


def test_group_rules_keep_memberships_when_a_profile_changes(sandbox: Sandbox, admin: httpx.Client) -> None:
    rules = admin.get("/api/v1/groups/rules", params={"limit": 200, "expand": "groupIdToGroupNameMap"}).json()
    names = {r["name"] for r in rules}
    assert {"Department: Legal", "Office: Dublin", "Contractors"} <= names
    uid = next(u for u in sandbox.user_ids()[10:] if admin.get(f"/api/v1/users/{u}").json()["profile"]
               ["department"] != "Legal")
    before = admin.get(f"/api/v1/users/{uid}").json()
    legal = group_id(admin, "Legal")
    old = group_id(admin, before["profile"]["department"])
    stamp = admin.get(f"/api/v1/groups/{legal}").json()["lastMembershipUpdated"]
    admin.post(f"/api/v1/users/{uid}", json={"profile": {"department": "Legal"}})
    mine = {g["id"] for g in admin.get(f"/api/v1/users/{uid}/groups").json()}
    assert legal in mine and old not in mine
    assert admin.get(f"/api/v1/groups/{legal}").json()["lastMembershipUpdated"] > stamp
    log = admin.get("/api/v1/logs", params={"filter": f'target.id eq "{uid}"'}).json()
    types = [e["eventType"] for e in log][-3:]
    assert types[0] == "user.account.update_profile"
    assert sorted(types[1:]) == ["group.user_membership.add", "group.user_membership.remove"]


def test_deleting_a_user_removes_them_from_every_list(sandbox: Sandbox, admin: httpx.Client) -> None:
    admins = assignees(admin)
    uid = next(u for u in admins if u not in {p.id for p in sandbox.demo_users.values()}
               and any(r["assignmentType"] == "USER" for r in admin.get(f"/api/v1/users/{u}/roles").json()))
    assert admin.delete(f"/api/v1/users/{uid}").status_code == 204
    assert admin.get("/api/v1/users", params={"filter": f'id eq "{uid}"'}).json()[0]["status"] == "DEPROVISIONED"
    assert uid not in sandbox.user_ids()
    assert admin.delete(f"/api/v1/users/{uid}").status_code == 204
    assert admin.get(f"/api/v1/users/{uid}").status_code == 404
    assert uid not in assignees(admin)
    assert all(uid not in {u["id"] for u in admin.get(f"/api/v1/groups/{g['id']}/users?limit=1000").json()}
               for g in admin.get("/api/v1/groups").json())
    log = admin.get("/api/v1/logs", params={"filter": f'target.id eq "{uid}"'}).json()
    assert [e["eventType"] for e in log][-2:] == ["user.lifecycle.deactivate", "user.lifecycle.delete.completed"]


def test_filter_and_search_on_last_updated_and_status(sandbox: Sandbox, admin: httpx.Client) -> None:
    since = "2020-01-01T00:00:00.000Z"
    recent = admin.get("/api/v1/users", params={"filter": f'lastUpdated gt "{since}" and status eq "ACTIVE"',
                                                 "limit": 200}).json()
    assert recent and all(u["status"] == "ACTIVE" and u["lastUpdated"] > since for u in recent)
    gone = admin.get("/api/v1/users", params={"search": 'status eq "DEPROVISIONED"', "limit": 200}).json()
    assert gone and not set(u["id"] for u in gone) & set(sandbox.user_ids())  # only when asked for
    groups = admin.get("/api/v1/groups", params={"filter": f'lastMembershipUpdated gt "{since}"'}).json()
    assert groups and all(g["lastMembershipUpdated"] > since for g in groups)


def test_security_configuration_answers(admin: httpx.Client) -> None:
    for kind in ("OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY"):
        policies = admin.get("/api/v1/policies", params={"type": kind}).json()
        assert policies and all(p["type"] == kind for p in policies)
        assert admin.get(f"/api/v1/policies/{policies[0]['id']}/rules").json()
    assert admin.get("/api/v1/policies").json()["errorCode"] == "E0000001"  # Okta wants a type
    zones = {z["name"]: z for z in admin.get("/api/v1/zones").json()}
    assert zones["Blocked countries"]["usage"] == "BLOCKLIST"
    assert admin.get("/api/v1/idps").json() and admin.get("/api/v1/trustedOrigins").json()
    assert [s["id"] for s in admin.get("/api/v1/authorizationServers").json()][0] == "default"
    assert {a["key"] for a in admin.get("/api/v1/authenticators").json()} >= {"okta_verify", "webauthn"}
    tokens = admin.get("/api/v1/api-tokens").json()
    assert tokens and all(set(t) >= {"userId", "lastUpdated", "created"} for t in tokens)
    schema = admin.get("/api/v1/meta/schemas/user/default").json()
    custom = schema["definitions"]["custom"]["properties"]
    assert {custom[k]["type"] for k in custom} == {"string", "boolean", "integer", "number", "array"}
    assert custom["clearanceLevel"]["enum"] and custom["skills"]["items"]["type"] == "string"
    user = admin.get("/api/v1/users?limit=1").json()[0]
    assert admin.get(admin.get(f"/api/v1/users/{user['id']}").json()["_links"]["schema"]["href"]).status_code == 200


def test_an_operation_okta_has_and_the_sandbox_lacks_says_so(sandbox: Sandbox, admin: httpx.Client) -> None:
    uid = sandbox.demo_users["admin"].id
    for method, path, operation, scope in (
        ("GET", f"/api/v1/users/{uid}/factors/catalog", "listSupportedFactors", "okta.users.read"),
        ("GET", "/api/v1/brands", "listBrands", "okta.brands.read"),
        ("POST", "/api/v1/policies/simulate", "createPolicySimulation", "okta.policies.read"),
        ("DELETE", "/api/v1/apps/0oa1", "deleteApplication", "okta.apps.manage"),
    ):
        answer = admin.request(method, path, json={} if method == "POST" else None)
        body = answer.json()
        assert answer.status_code == 501 and body["errorCode"] == "SANDBOX_NOT_MODELLED", path
        assert operation in body["errorSummary"] and scope in body["errorSummary"]
        assert "not serve" in body["errorSummary"]
    missing = admin.get("/api/v1/nothing-like-this")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "E0000007"  # in no spec: the real 404


def test_the_new_data_leaves_the_seeded_directory_as_it_was() -> None:
    anchor = 1_800_000_000.0
    seeded = data.seed(300, 3, anchor)
    expected = ([u["id"] for u in seeded.users], [g["id"] for g in seeded.groups], seeded.members,
                [a["id"] for a in seeded.apps], [e["uuid"] for e in seeded.events])
    sb = Sandbox(users=300, seed=3)
    d = sb._state.directory
    assert list(d.users) == expected[0] and list(d.groups)[:len(expected[1])] == expected[1]
    assert {g: list(m) for g, m in d.members.items()} == expected[2]
    original = set(expected[4])
    assert [e["uuid"] for e in d.events if e["uuid"] in original] == sorted(
        expected[4], key=lambda u: next(e["published"] for e in d.events if e["uuid"] == u))


def test_the_same_seed_gives_the_same_security_data() -> None:
    def summary(sb: Sandbox) -> tuple[Any, ...]:
        sec = sb._state.security
        assert sec is not None
        d = sb._state.directory
        factors = [(f["id"], f["factorType"]) for u in list(d.users.values())[:100] for f in sec.factors.of(u)]
        return (sec.admins(), sorted(sec.devices()), factors, [t["id"] for t in sec.api_tokens],
                [e["uuid"] for e in d.events])
    assert summary(Sandbox(users=200, seed=4)) == summary(Sandbox(users=200, seed=4))
