"""Every audit against the truth: its answer over a real snapshot of a seeded sandbox org (with the cases it must
find made first) compared row for row with the answer computed from the sandbox's own Python state."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _audit_org import WEAK, Cases, parse, session_for, set_up, snapshot_of, state
from okta_magic.audits import ask, catalog
from okta_magic.audits.run import AuditResult
from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.api.grants import app_grants

ORGS = [(400, 11), (650, 23)]  # (users, seed): two seeded orgs, each with the cases below made in it


class Org:
    def __init__(self, sb: Sandbox, cases: Cases, session: Any, path: Path) -> None:
        self.sb, self.cases, self.session, self.path = sb, cases, session, path
        self.d = state(sb).directory
        self.sec = state(sb).security

    def run(self, name: str, **params: Any) -> AuditResult:
        return ask.audit(self.session, name, params, path=self.path, sync=False)

    def login(self, uid: str) -> str:
        return self.d.users[uid]["profile"]["login"]

    def factors(self, uid: str) -> list[str]:
        return sorted({f["factorType"] for f in self.sec.factors.of(self.d.users[uid]) if f["status"] == "ACTIVE"})

    def events(self, types: set[str], start: dt.datetime) -> list[dict[str, Any]]:
        return [e for e in self.d.events if e["eventType"] in types and parse(e["published"]) >= start]

    def admin_holdings(self) -> list[tuple[str, str, str, str | None]]:
        """(user, role label, how, group) for every role held, directly or through a group."""
        held = [(uid, a["label"], "directly", None) for uid, roles in self.d.roles.items() if uid in self.d.users
                for a in roles]
        held += [(uid, a["label"], "through a group", gid) for gid, roles in self.d.group_roles.items()
                 for a in roles for uid in self.d.members.get(gid, {}) if uid in self.d.users]
        return held


@pytest.fixture(scope="module", params=ORGS, ids=lambda p: f"seed{p[1]}")
def org(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    users, seed = request.param
    sandbox = Sandbox(port=0, users=users, seed=seed).start()
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
    session = None
    try:
        cases = set_up(sandbox)
        session = session_for(sandbox)
        tables = sorted({t for name in catalog.names() for t in catalog.get(name).tables})
        path = snapshot_of(session, tmp_path_factory.mktemp("audits") / "org.duckdb", tables)
        yield Org(sandbox, cases, session, path)
    finally:
        if session is not None:
            session.close()
        sandbox.stop()


def _older(stamp: str | None, as_of: dt.datetime, days: int) -> bool:
    when = parse(stamp)
    return when is None or when < as_of - dt.timedelta(days=days)


def test_inactive_users_counts_never_signed_in_apart(org: Org) -> None:
    result = org.run("inactive_users", days=60)
    expected = sorted((u["id"], u.get("lastLogin") is None) for u in org.d.users.values()
                      if u["status"] == "ACTIVE" and _older(u.get("lastLogin"), result.as_of, 60))
    got = sorted(zip(result.frame["user_id"], result.frame["never_signed_in"].astype(bool), strict=True))
    assert got == expected and expected
    never = sum(flag for _, flag in expected)
    active = sum(u["status"] == "ACTIVE" for u in org.d.users.values())
    assert result.headline == (f"{len(expected)} of {active} active users have not signed in for 60 days "
                               f"({never} of them never signed in)")
    assert result.frame.columns[0] == "login" and result.frame.columns[-1] == "user_id"  # who first, keys last


def test_users_without_mfa(org: Org) -> None:
    result = org.run("users_without_mfa")
    expected = sorted(uid for uid, u in org.d.users.items() if u["status"] == "ACTIVE" and not org.factors(uid))
    assert sorted(result.frame["user_id"]) == expected
    assert org.cases.reset in expected  # the help desk reset all of that person's factors today
    assert result.headline.startswith(f"{len(expected)} of ")


def test_weak_mfa_only_finds_the_sms_only_person(org: Org) -> None:
    result = org.run("weak_mfa_only")
    expected = sorted((uid, ", ".join(org.factors(uid))) for uid, u in org.d.users.items()
                      if u["status"] == "ACTIVE" and org.factors(uid) and set(org.factors(uid)) <= WEAK)
    assert sorted(zip(result.frame["user_id"], result.frame["factors"], strict=True)) == expected
    helpdesk = org.sb.demo_users["helpdesk"].id
    assert (helpdesk, "sms") in expected


def test_admins_directly_and_through_groups_with_mfa_strength(org: Org) -> None:
    result = org.run("admins")

    def strength(uid: str) -> str:
        kinds = org.factors(uid)
        return "strong" if set(kinds) - WEAK else ("weak only" if kinds else "none")

    expected = sorted((uid, label, how, gid or "", strength(uid)) for uid, label, how, gid in org.admin_holdings())
    frame = result.frame
    got = sorted(zip(frame["user_id"], frame["role"], frame["granted"], frame["group_id"].fillna(""), frame["mfa"],
                     strict=True))
    assert got == expected
    assert (org.cases.group_admin, "Help Desk Administrator", "through a group", org.cases.admin_group,
            strength(org.cases.group_admin)) in got
    assert org.cases.deleted not in set(frame["user_id"])
    people = {row[0] for row in expected}
    group_only = {uid for uid in people if all(r[2] != "directly" for r in expected if r[0] == uid)}
    weak = {row[0] for row in expected if row[4] != "strong"}
    assert result.headline == (f"{len(people)} people hold an admin role ({len(group_only)} only through a group); "
                               f"{len(weak)} of them without strong MFA")


def test_stale_admins(org: Org) -> None:
    result = org.run("stale_admins", days=20)
    admins = {uid for uid, *_ in org.admin_holdings()}
    expected = sorted(uid for uid in admins if _older(org.d.users[uid].get("lastLogin"), result.as_of, 20))
    assert sorted(result.frame["user_id"]) == expected and expected
    assert result.headline.startswith(f"{len(expected)} of {len(admins)} admins")


def test_new_admin_grants_from_the_system_log(org: Org) -> None:
    result = org.run("new_admin_grants", days=45)
    events = org.events({"user.account.privilege.grant", "group.privilege.grant"},
                        result.as_of - dt.timedelta(days=45))
    expected = sorted((e["uuid"], next(t["id"] for t in e["target"] if t["type"] in ("User", "UserGroup")),
                       next(t["displayName"] for t in e["target"] if t["type"] == "ROLE")) for e in events)
    assert sorted(zip(result.frame["uuid"], result.frame["assignee_id"], result.frame["role"], strict=True)) == expected
    assert (org.cases.new_grantee, "Report Administrator") in {(a, r) for _, a, r in expected}
    assert org.cases.admin_group in set(result.frame["assignee_id"])  # the group's grant, to a group


def test_users_in_no_group(org: Org) -> None:
    result = org.run("users_in_no_group")
    everyone = org.d.everyone_id
    expected = sorted(uid for uid, u in org.d.users.items() if u["status"] != "DEPROVISIONED"
                      and not any(uid in m for gid, m in org.d.members.items() if gid != everyone))
    assert sorted(result.frame["user_id"]) == expected
    assert org.cases.loner in expected
    member = org.cases.extra["rule_member"]  # joined a group by a rule, not by an API call: in a group
    by_rule = {gid for rule in org.sec.rules.rules.values() if rule["status"] == "ACTIVE"
               and 'user.department=="Engineering"' in rule["conditions"]["expression"]["value"]
               for gid in rule["actions"]["assignUserToGroups"]["groupIds"]}
    assert by_rule and all(member in org.d.members[gid] for gid in by_rule) and member not in expected


def test_empty_groups_and_group_rule_members(org: Org) -> None:
    result = org.run("empty_groups")
    expected = sorted(gid for gid in org.d.groups if not org.d.members.get(gid))
    assert sorted(result.frame["group_id"]) == expected
    assert org.cases.empty_group in expected
    ruled = {gid for rule in org.sec.rules.rules.values() if rule["status"] == "ACTIVE"
             for gid in rule["actions"]["assignUserToGroups"]["groupIds"]}
    assert ruled and any(org.d.members.get(gid) for gid in ruled)  # rules' members are counted as members
    assert not ruled & set(result.frame["group_id"]) - set(expected)


def test_apps_without_assignments(org: Org) -> None:
    result = org.run("apps_without_assignments")
    expected = sorted(aid for aid in org.d.apps if not org.d.app_groups.get(aid) and not org.sec.app_user_ids(aid))
    assert sorted(result.frame["app_id"]) == expected
    assert org.cases.bare_app in expected


def test_blocked_users(org: Org) -> None:
    result = org.run("blocked_users")
    expected = sorted((uid, u["status"]) for uid, u in org.d.users.items()
                      if u["status"] in ("SUSPENDED", "LOCKED_OUT", "PASSWORD_EXPIRED"))
    assert sorted(zip(result.frame["user_id"], result.frame["status"], strict=True)) == expected
    assert (org.cases.suspended, "SUSPENDED") in expected
    counts = collections.Counter(status for _, status in expected)
    assert f"{counts['SUSPENDED']} suspended, {counts['LOCKED_OUT']} locked out" in result.headline


def test_old_passwords(org: Org) -> None:
    result = org.run("old_passwords", days=200)
    cutoff = result.as_of - dt.timedelta(days=200)
    expected = sorted(uid for uid, u in org.d.users.items() if u["status"] == "ACTIVE" and u.get("passwordChanged")
                      and parse(u["passwordChanged"]) < cutoff)
    assert sorted(result.frame["user_id"]) == expected and expected


@pytest.mark.parametrize("by", ["user", "ip", "country"])
def test_failed_sign_ins_by_user_ip_and_country(org: Org, by: str) -> None:
    result = org.run("failed_sign_ins", days=14, by=by)
    events = [e for e in org.events({"user.session.start"}, result.as_of - dt.timedelta(days=14))
              if e["outcome"]["result"] == "FAILURE"]
    key = {"user": lambda e: e["actor"]["alternateId"], "ip": lambda e: e["client"]["ipAddress"],
           "country": lambda e: e["client"]["geographicalContext"]["country"] or "unknown"}[by]
    expected = collections.Counter(key(e) for e in events)
    assert dict(zip(result.frame[by], result.frame["failures"], strict=True)) == dict(expected)
    assert result.headline.startswith(f"{sum(expected.values())} failed sign-ins in the last 14 days")
    if by == "user":
        row = result.frame[result.frame["user"] == org.login(org.cases.two_countries)].iloc[0]
        assert row["countries"] == "France, Nigeria" and row["failures"] == 3


def test_factor_resets(org: Org) -> None:
    result = org.run("factor_resets", days=30)
    events = org.events({"user.mfa.factor.reset_all", "user.mfa.factor.deactivate"},
                        result.as_of - dt.timedelta(days=30))
    expected = sorted((e["uuid"], next(t["id"] for t in e["target"] if t["type"] == "User")) for e in events)
    assert sorted(zip(result.frame["uuid"], result.frame["user_id"], strict=True)) == expected
    assert org.cases.reset in {uid for _, uid in expected}


def test_api_tokens_by_owner_and_last_use(org: Org) -> None:
    result = org.run("api_tokens", days=30)
    cutoff = result.as_of - dt.timedelta(days=30)
    expected = sorted((t["id"], t["userId"], org.login(t["userId"]) if t["userId"] in org.d.users else None,
                       parse(t["lastUpdated"]) < cutoff) for t in org.sec.api_tokens)
    frame = result.frame
    got = sorted(zip(frame["token_id"], frame["owner_id"], frame["owner"], frame["unused"].astype(bool),
                     strict=True))
    assert got == expected
    assert org.sb.demo_users["readonly"].login in set(frame["owner"])


def test_service_apps_with_manage_scopes(org: Org) -> None:
    result = org.run("service_apps_with_manage_scopes")
    services = {aid for aid, a in org.d.apps.items()
                if ((a.get("settings") or {}).get("oauthClient") or {}).get("application_type") == "service"}
    expected = sorted((aid, g["scopeId"]) for aid, grants in app_grants(state(org.sb)).items() if aid in services
                      for g in grants.values() if g["scopeId"].startswith("okta.") and g["scopeId"].endswith(".manage"))
    assert sorted(zip(result.frame["app_id"], result.frame["scope"], strict=True)) == expected
    assert (org.sb.apps["service"].client_id, "okta.users.manage") in expected
    assert result.headline == f"1 of {len(services)} service apps hold {len(expected)} okta.*.manage scope grants"


def test_every_audit_has_a_truth_test_here() -> None:
    tested = {name[len("test_"):] for name in globals() if name.startswith("test_")}
    for name in catalog.names():
        assert any(t.startswith(name) for t in tested), f"{name} has no truth test"
