"""%okta_sync, %%okta_sql and okta_magic.sync/sql/snapshot in a real IPython shell against the sandbox org;
a missing scope, an interrupted sync, and the admins-and-their-apps question against the sandbox's truth."""

from __future__ import annotations

import duckdb
import pytest

import okta_magic
from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session
from okta_magic.snapshot import steps
from okta_magic.snapshot.sync import sync_org

ADMINS_AND_APPS = """
WITH holders AS (
  SELECT user_id, role_type FROM admin_roles WHERE assignee_type = 'USER'
  UNION SELECT m.user_id, r.role_type FROM admin_roles r JOIN group_members m USING (group_id)
  WHERE r.assignee_type = 'GROUP')
SELECT u.login, h.role_type, a.label AS app
FROM holders h JOIN users u USING (user_id)
JOIN app_user_assignments x USING (user_id) JOIN apps a USING (app_id)
ORDER BY ALL
"""


@pytest.fixture(scope="module")
def org():
    with Sandbox(port=0, users=40, seed=21) as sb:
        yield sb


def _session(sb: Sandbox, scopes: list[str] | None = None) -> Session:
    session = Session()
    session.use_token(sb.issue_token("admin", "native", scopes), org_url=sb.url)
    return session


def test_the_magics_sync_and_query(shell, org: Sandbox, tmp_path) -> None:
    path = tmp_path / "org.duckdb"
    okta_magic.use_token(org.issue_token("admin", "native", None), org.url)  # the shell's session: the same
    plan = shell.run_line_magic("okta_sync", f"--plan --to {path}")
    assert plan.requests > 0 and not plan.lacking_scopes
    report = shell.run_line_magic("okta_sync", f"--to {path} --since 30d")
    assert not report.notes and path.exists()
    shell.user_ns["dept"] = "Engineering"
    frame = shell.run_cell_magic("okta_sql", f"-o eng --snapshot {path}",
                                 "SELECT user_id, login FROM users WHERE department = {{dept}}")
    assert len(frame) == len(shell.user_ns["eng"]) > 0
    con = duckdb.connect(str(path), read_only=True)
    assert len(frame) == con.execute("SELECT count(*) FROM users WHERE department = 'Engineering'").fetchone()[0]
    con.close()
    one = shell.run_line_magic("okta_sql", f"--snapshot {path} SELECT count(*) AS n FROM groups")
    assert int(one["n"][0]) == len(okta_magic.get("/api/v1/groups"))
    from IPython.core.error import UsageError

    for line, cell in ((f"--snapshot {path} --bogus SELECT 1", None), (f"--snapshot {path} oops", "SELECT 1")):
        with pytest.raises(UsageError) as info:  # named in one line, not sent to DuckDB nor left out of the SQL
            shell.run_cell_magic("okta_sql", line, cell) if cell else shell.run_line_magic("okta_sql", line)
        assert "\n" not in str(info.value) and ("--bogus" in str(info.value) or "oops" in str(info.value))


def test_a_missing_scope_skips_its_table_and_says_so(org: Sandbox, tmp_path) -> None:
    path = str(tmp_path / "org.duckdb")
    lines: list[str] = []
    scopes = ["okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"]
    report = sync_org(_session(org, scopes), path, since="30d", say=lines.append)
    assert any(line.startswith("admin_roles: skipped: the token lacks okta.roles.read") for line in lines)
    con = duckdb.connect(path, read_only=True)
    status = dict(con.execute("SELECT table_name, status FROM _tables").fetchall())
    assert status["admin_roles"] == "skipped" and status["users"] == "synced"
    assert not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'admin_roles'").fetchone()[0]
    assert "admin_roles" in " ".join(report.notes)


def test_an_interrupted_sync_leaves_the_old_snapshot_whole(org: Sandbox, tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "org.duckdb")
    session = _session(org)
    sync_org(session, path, since="30d")
    before = duckdb.connect(path, read_only=True)
    want = {t: before.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("users", "_tables", "system_log")}
    before.close()

    def interrupted(run):
        raise KeyboardInterrupt

    patched = tuple((names, interrupted if names == ("user_factors",) else step) for names, step in steps.STEPS)
    monkeypatch.setattr(steps, "STEPS", patched)
    with pytest.raises(KeyboardInterrupt):
        sync_org(session, path, full=True)  # users, groups ... rebuilt in the copy, then Ctrl-C
    after = duckdb.connect(path, read_only=True)
    assert {t: after.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in want} == want
    after.close()
    assert [p.name for p in tmp_path.iterdir()] == ["org.duckdb"]


def test_admins_and_the_apps_each_can_reach_in_one_query(org: Sandbox, tmp_path) -> None:
    path = str(tmp_path / "org.duckdb")
    sync_org(_session(org), path, since="30d")
    con = duckdb.connect(path, read_only=True)
    got = {(login, role, app) for login, role, app in con.execute(ADMINS_AND_APPS).fetchall()}
    con.close()
    d = org._state.directory  # the sandbox's own state: who holds which role, who may use which app
    truth = set()
    for uid, user in d.users.items():
        roles = {r["type"] for r in d.role_assignments(uid)}
        if not roles:
            continue
        for app_id in d.apps:
            if uid in d.app_user_ids(app_id):
                truth |= {(user["profile"]["login"], role, d.apps[app_id]["label"]) for role in roles}
    assert got and got == truth
