"""okta_magic.snapshot: the org synced into DuckDB against the sandbox org over real HTTP.

The property an analyst relies on: after any sequence of org changes, an incremental sync gives exactly
the tables a full sync gives (hundreds of seeded sequences over small orgs, chained: each incremental sync
continues from the last one).
"""

from __future__ import annotations

import os

import duckdb
import httpx
import pytest

from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session
from okta_magic.snapshot.sync import sync_org
from okta_magic.snapshot.tables import TABLES
from tests._snapshot_changes import UNLIMITED, Changes, tables_of

SEQUENCES = 25
MANAGE = ["okta.users.manage", "okta.groups.manage", "okta.apps.manage", "okta.roles.manage", "okta.logs.read"]


def _session(sb: Sandbox, scopes: list[str] | None = None) -> Session:
    session = Session()
    session.use_token(sb.issue_token("admin", "native", scopes), org_url=sb.url)
    return session


def _admin_http(sb: Sandbox) -> httpx.Client:
    token = sb.issue_token("admin", "native", MANAGE)
    return httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture(scope="module")
def org():
    with Sandbox(port=0, users=40, seed=11, rate_limits=UNLIMITED) as sb:
        yield sb


def _since(path: str) -> str:
    con = duckdb.connect(path, read_only=True)
    try:
        return con.execute("SELECT since FROM _tables WHERE table_name = 'system_log'").fetchone()[0]
    finally:
        con.close()


def test_a_full_sync_holds_the_org(org: Sandbox, tmp_path) -> None:
    path = str(tmp_path / "org.duckdb")
    report = sync_org(_session(org), path, since="30d")
    assert not report.notes
    con = duckdb.connect(path, read_only=True)
    count = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    assert count("SELECT count(*) FROM users") == len(org.user_ids(include_deprovisioned=True))
    # each group's members, counted by the org itself (expand=stats), are its rows in group_members
    assert count("SELECT count(*) FROM groups g WHERE usersCount <> (SELECT count(*) FROM group_members m "
                 "WHERE m.group_id = g.group_id)") == 0
    assert count("SELECT count(*) FROM group_members LEFT JOIN users USING (user_id) WHERE users.user_id IS NULL") == 0
    assert count("SELECT count(*) FROM user_factors") > 0
    assert count("SELECT count(DISTINCT user_id) FROM admin_roles WHERE assignee_type = 'USER'") > 0
    types = dict(con.execute("SELECT column_name, data_type FROM _columns WHERE table_name = 'users'").fetchall())
    assert types["HireDate"] == "DATE" and types["isContractor"] == "BOOLEAN"
    assert types["clearanceLevel"].startswith("ENUM") and types["created"] == "TIMESTAMP WITH TIME ZONE"
    assert count("SELECT count(*) FROM _tables WHERE status = 'synced'") == len(TABLES)
    raw = con.execute("SELECT raw->>'$.profile.login', login FROM users LIMIT 5").fetchall()
    assert all(a == b for a, b in raw)


def test_a_first_sync_without_since_holds_the_last_seven_days_of_the_system_log(org: Sandbox, tmp_path) -> None:
    # Okta: a System Log request without since starts 7 days before until. A first sync given no since
    # sent since=None (the text) and stopped with "since='None' is not a timestamp".
    path = str(tmp_path / "org.duckdb")
    report = sync_org(_session(org), path, tables=["system_log"])
    assert not report.notes
    con = duckdb.connect(path, read_only=True)
    oldest, held = con.execute("SELECT min(published), count(*) FROM system_log").fetchone()
    with _admin_http(org) as http:
        week = http.get("/api/v1/logs", params={"limit": 1000}).json()  # Okta's default window: 7 days
    assert held == len(week) > 0
    assert oldest.timestamp() >= org.clock() - 7 * 86400 - 60


def test_a_second_sync_fetches_only_what_changed(org: Sandbox, tmp_path) -> None:
    path = str(tmp_path / "org.duckdb")
    session = _session(org)
    first = sync_org(session, path, since="30d")
    second = sync_org(session, path)
    modes = {t.name: t.mode for t in second.tables}
    assert modes["users"] == modes["user_factors"] == modes["group_members"] == "incremental"
    assert second.requests < first.requests / 2
    per = {t.name: t.requests for t in second.tables}
    assert per["group_members"] == 0 and per["app_user_assignments"] == 0 and per["user_factors"] == 0
    assert per["admin_roles"] == 1  # the admin list; no admin's roles again


def test_a_second_sync_fetches_only_the_roles_that_changed(tmp_path) -> None:
    """Roles granted to a person and a group and taken from another person: their roles again, nobody else's."""
    with Sandbox(port=0, users=60, seed=5, rate_limits=UNLIMITED) as sb, _admin_http(sb) as http:
        chained, fresh = str(tmp_path / "chained.duckdb"), str(tmp_path / "fresh.duckdb")
        session = _session(sb)
        sync_org(session, chained, since="30d")
        demo = {p.id for p in sb.demo_users.values()}
        people = [u["id"] for u in http.get("/api/v1/users", params={"limit": 200}).json() if u["id"] not in demo]
        newcomer = next(uid for uid in people if not http.get(f"/api/v1/users/{uid}/roles").json())
        http.post(f"/api/v1/users/{newcomer}/roles", json={"type": "REPORT_ADMIN"}).raise_for_status()
        admin = next(uid for uid in people if any(r["assignmentType"] == "USER" for r in
                                                  http.get(f"/api/v1/users/{uid}/roles").json()) and uid != newcomer)
        for role in http.get(f"/api/v1/users/{admin}/roles").json():
            if role["assignmentType"] == "USER":
                http.delete(f"/api/v1/users/{admin}/roles/{role['id']}").raise_for_status()
        group = next(g for g in http.get("/api/v1/groups").json() if g["type"] == "OKTA_GROUP")
        http.post(f"/api/v1/groups/{group['id']}/roles", json={"type": "HELP_DESK_ADMIN"}).raise_for_status()
        report = sync_org(session, chained)
        roles = next(t for t in report.tables if t.name == "admin_roles")
        assert roles.mode == "incremental" and roles.requests == 1 + 2 + 1  # the list, two people, one group
        sync_org(session, fresh, full=True, since=_since(chained))
        assert tables_of(chained)["admin_roles"] == tables_of(fresh)["admin_roles"]
        con = duckdb.connect(chained, read_only=True)
        held = con.execute("SELECT assignee_id, role_type FROM admin_roles").fetchall()
        con.close()
        assert (newcomer, "REPORT_ADMIN") in held and (group["id"], "HELP_DESK_ADMIN") in held
        assert not any(who == admin for who, _ in held)


@pytest.mark.parametrize("seed", range(4))
def test_incremental_equals_full_after_random_changes(seed: int, tmp_path) -> None:
    """SEQUENCES chained sequences of 1 to 6 random changes per org, four orgs."""
    with Sandbox(port=0, users=30 + 10 * seed, seed=100 + seed, rate_limits=UNLIMITED) as sb, \
            _admin_http(sb) as http:
        session = _session(sb)
        changes = Changes(sb, http, seed)
        chained, fresh = str(tmp_path / "chained.duckdb"), str(tmp_path / "fresh.duckdb")
        sync_org(session, chained, since="30d")
        since = _since(chained)
        for sequence in range(SEQUENCES):
            made = changes.some(changes.rng.randint(1, 6))
            incremental = sync_org(session, chained)
            assert {t.mode for t in incremental.tables if t.name == "users"} == {"incremental"}
            os.path.exists(fresh) and os.unlink(fresh)
            sync_org(session, fresh, full=True, since=since)
            want, got = tables_of(fresh), tables_of(chained)
            assert set(got) == set(want)
            for name in want:
                assert got[name] == want[name], f"sequence {sequence} ({', '.join(made)}): {name} differs"
