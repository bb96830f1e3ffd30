"""A sandbox org set up for the audit tests: the cases each audit must find, made through the org's own API
(and the System Log helper for sign-ins from two countries), then synced into a real snapshot.

The expected answers are computed from the sandbox's own Python state (``sb._state``: the directory, the
security data, the factors, the log), never by running the audits' SQL.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.data import _BROWSERS, actor_of, log_event
from okta_magic.sandbox.security_events import SIGN_IN
from okta_magic.sessions.session import Session

WEAK = {"sms", "call", "email", "question"}
MANAGE_SCOPES = ["okta.users.manage", "okta.groups.manage", "okta.roles.manage", "okta.apps.manage",
                 "okta.appGrants.manage", "okta.users.lifecycle.manage"]


@dataclass
class Cases:
    """The ids of what the set-up made, for the tests to check by name."""

    group_admin: str = ""
    admin_group: str = ""
    deleted: str = ""
    two_countries: str = ""
    new_grantee: str = ""
    reset: str = ""
    loner: str = ""
    empty_group: str = ""
    bare_app: str = ""
    suspended: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def state(sb: Sandbox) -> Any:
    return sb._state


def parse(stamp: str | None) -> dt.datetime | None:
    return None if not stamp else dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def admin_http(sb: Sandbox) -> httpx.Client:
    scopes = sorted(set(sb.apps["native"].scopes) | set(MANAGE_SCOPES))
    token = sb.issue_token("admin", "native", scopes=scopes)
    return httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.request.url, response.status_code, response.text[:300])
    return response.json() if response.content else None


def _plain_active(sb: Sandbox, taken: set[str]) -> str:
    """An ACTIVE person who holds no role and is none of the demo people or the ones already used."""
    d = state(sb).directory
    demo = {p.id for p in d.demo_users.values()}
    return next(uid for uid, u in d.users.items() if u["status"] == "ACTIVE" and uid not in d.roles
                and uid not in demo and uid not in taken and not d.role_assignments(uid))


def set_up(sb: Sandbox) -> Cases:
    """Make every case the audits must find, through the API (and the log helper for sign-in geography)."""
    d = state(sb).directory
    cases = Cases()
    used: set[str] = set()
    with admin_http(sb) as http:
        # an admin only through a group
        group = _ok(http.post("/api/v1/groups", json={"profile": {"name": "Audit: help desk by group"}}))
        cases.admin_group = group["id"]
        cases.group_admin = _plain_active(sb, used)
        used.add(cases.group_admin)
        _ok(http.put(f"/api/v1/groups/{group['id']}/users/{cases.group_admin}"))
        _ok(http.post(f"/api/v1/groups/{group['id']}/roles", json={"type": "HELP_DESK_ADMIN"}))
        # a deleted user who held a role of their own
        demo = {p.id for p in d.demo_users.values()}
        cases.deleted = next(uid for uid in d.roles if uid not in demo)
        _ok(http.delete(f"/api/v1/users/{cases.deleted}"))
        _ok(http.delete(f"/api/v1/users/{cases.deleted}"))
        # a role granted today, and a factor reset today
        cases.new_grantee = _plain_active(sb, used)
        used.add(cases.new_grantee)
        _ok(http.post(f"/api/v1/users/{cases.new_grantee}/roles", json={"type": "REPORT_ADMIN"}))
        cases.reset = _plain_active(sb, used)
        used.add(cases.reset)
        _ok(http.post(f"/api/v1/users/{cases.reset}/lifecycle/reset_factors"))
        # someone in no group but Everyone, an empty group, a suspended person
        loner = _ok(http.post("/api/v1/users", params={"activate": "true"}, json={"profile": {
            "firstName": "Lone", "lastName": "Person", "email": "lone.person@example.com",
            "login": "lone.person@example.com"}, "credentials": {"password": {"value": "Audit-Pass-2024!"}}}))
        cases.loner = loner["id"]
        ruled = _ok(http.post("/api/v1/users", params={"activate": "true"}, json={"profile": {
            "firstName": "Rule", "lastName": "Member", "email": "rule.member@example.com",
            "login": "rule.member@example.com", "department": "Engineering"},
            "credentials": {"password": {"value": "Audit-Pass-2024!"}}}))
        cases.extra["rule_member"] = ruled["id"]  # in the Engineering group by its group rule alone
        cases.empty_group = _ok(http.post("/api/v1/groups", json={"profile": {"name": "Audit: nobody"}}))["id"]
        cases.suspended = _plain_active(sb, used)
        used.add(cases.suspended)
        _ok(http.post(f"/api/v1/users/{cases.suspended}/lifecycle/suspend"))
        # an app nobody is assigned any more
        cases.bare_app = _strip_app(sb, http)
        # a service app granted a .manage scope
        service = sb.apps["service"].client_id
        _ok(http.post(f"/api/v1/apps/{service}/grants", json={"issuer": sb.url, "scopeId": "okta.users.manage"}))
    sb.create_api_token("readonly")
    cases.two_countries = _plain_active(sb, used)
    _sign_ins_from_two_countries(sb, cases.two_countries)
    return cases


def _strip_app(sb: Sandbox, http: httpx.Client) -> str:
    """Unassign every group and person from the first SAML app; its id."""
    d = state(sb).directory
    app_id = next(aid for aid, a in d.apps.items() if a["signOnMode"] == "SAML_2_0")
    for gid in list(d.app_groups.get(app_id, [])):
        _ok(http.delete(f"/api/v1/apps/{app_id}/groups/{gid}"))
    for uid in list(state(sb).security.app_users.get(app_id, {})):
        _ok(http.delete(f"/api/v1/apps/{app_id}/users/{uid}"))
    return app_id


def _sign_ins_from_two_countries(sb: Sandbox, uid: str) -> None:
    """Failed sign-ins of one person from Nigeria and from France, a day ago (the System Log helper)."""
    d = state(sb).directory
    actor = actor_of(d.users[uid])
    now = sb.clock()
    for n, (ip, city, country) in enumerate((("192.0.2.77", "Lagos", "Nigeria"), ("203.0.113.9", "Paris", "France"),
                                             ("192.0.2.77", "Lagos", "Nigeria"))):
        d.add_event(log_event(now - 86400 + n * 60, *SIGN_IN, actor, [], "FAILURE", "INVALID_CREDENTIALS", ip, city,
                              country, _BROWSERS[0]))


def session_for(sb: Sandbox, user: str = "admin", scopes: list[str] | None = None) -> Session:
    """A session signed in to the sandbox with an access token of ``user`` (all the native app's scopes)."""
    session = Session()
    session.use_token(sb.issue_token(user, "native", scopes=scopes), org_url=sb.url)
    return session


def snapshot_of(session: Session, path: Path, tables: list[str]) -> Path:
    """A real sync of ``tables`` into ``path``, the System Log from 95 days back."""
    from okta_magic.snapshot.sync import sync_org

    since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    report = sync_org(session, path, tables=tables, since=since)
    assert all(t.status == "synced" for t in report.tables), report
    return path
