"""The audits as a person meets them: ``%okta_audit`` (the list, a run that syncs first after saying what it will
fetch, ``--explain``), ``okta_magic.audit(...)``, a wrong name or parameter in one line, a token without a
needed scope or admin role told how to get it instead of given an empty answer, and a System Log window
longer than the snapshot's."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

import okta_magic
from _audit_org import WEAK, session_for, snapshot_of, state
from okta_magic.advice import render
from okta_magic.audits import ask, catalog
from okta_magic.audits.catalog import BadParameter, UnknownAudit
from okta_magic.audits.run import NotSynced
from okta_magic.audits.scope import MissingScopes
from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 250, "seed": 4, "calm": True}


def _signed_in(sb: Sandbox, user: str = "admin", scopes: list[str] | None = None) -> None:
    """The default session (the magics' and the script API's) signed in to the sandbox."""
    okta_magic.use_token(sb.issue_token(user, "native", scopes=scopes), org_url=sb.url)


def test_the_list_has_one_row_per_audit_with_its_needs_and_what_the_token_lacks(
        shell: Any, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    _signed_in(sandbox, scopes=["okta.users.read"])
    listed = shell.run_line_magic("okta_audit", "")
    assert list(listed["audit"]) == catalog.names()
    row = listed.set_index("audit").to_dict("index")
    assert row["inactive_users"]["params"] == "--days 90" and row["inactive_users"]["lacking"] == ""
    assert row["failed_sign_ins"]["params"] == "--days 30, --by user"
    assert row["admins"]["lacking"] == "okta.groups.read, okta.roles.read"
    assert row["admins"]["admin_role"] == "Read-only Administrator"
    assert "GET /api/v1/iam/assignees/users" in row["admins"]["endpoints"]
    assert row["api_tokens"]["scopes"] == "okta.apiTokens.read, okta.users.read"
    said = capsys.readouterr().out
    assert said.startswith(f"{len(catalog.names())} audits: %okta_audit NAME runs one")
    assert "This token lacks scopes 10 of them need: Sign in again asking for them: %okta_login --scopes 'openid " \
           "okta.users.read okta.groups.read okta.roles.read" in said


def test_explain_shows_endpoints_scopes_role_and_the_sign_in_that_gets_them(
        shell: Any, sandbox: Sandbox, capsys: pytest.CaptureFixture[str]) -> None:
    _signed_in(sandbox, scopes=["okta.users.read", "okta.groups.read"])
    shell.run_line_magic("okta_audit", "admins --explain")
    out = capsys.readouterr().out
    assert "GET /api/v1/iam/assignees/users" in out and "GET /api/v1/users/{user_id}/factors" in out
    assert "okta.roles.read  (LACKING)" in out and "okta.users.read  (held)" in out
    assert "Admin role: Read-only Administrator" in out
    assert ("This token lacks okta.roles.read. Sign in again asking for them: %okta_login --scopes "
            "'openid okta.users.read okta.groups.read okta.roles.read'") in out
    assert "FROM admin_roles" in out  # the SQL itself
    text = okta_magic.audit("admins", explain=True)
    assert "okta_magic.login(scopes='openid okta.users.read okta.groups.read okta.roles.read')" in text
    assert "%okta" not in text


def test_a_wrong_name_or_parameter_is_one_line_in_each_readers_words(shell: Any, sandbox: Sandbox) -> None:
    _signed_in(sandbox)
    with pytest.raises(UsageError) as bad:
        shell.run_line_magic("okta_audit", "inactive_users --days soon")
    assert str(bad.value) == ("inactive_users: days is a number of days, 1 or more, not 'soon'. "
                              "Give it as --days 90.")
    with pytest.raises(UsageError) as unknown:
        shell.run_line_magic("okta_audit", "inactive_users --dayz 3")
    assert str(unknown.value) == "inactive_users has no parameter 'dayz'; it takes days. Give it as --days 90."
    with pytest.raises(UsageError) as choice:
        shell.run_line_magic("okta_audit", "failed_sign_ins --by city --explain")
    assert "by is one of user, ip, country, not 'city'. Give it as --by user." in str(choice.value)
    with pytest.raises(UsageError) as name:
        shell.run_line_magic("okta_audit", "inactive_user")
    assert str(name.value) == "No audit 'inactive_user'. Did you mean inactive_users? List them with %okta_audit alone."
    with pytest.raises(UsageError, match=r"^'30' after the audit's name is not an option; parameters are written "
                                         r"--name value, e\.g\. --days 30\.$"):
        shell.run_line_magic("okta_audit", "inactive_users 30")
    with pytest.raises(UsageError, match=r"^--days needs a value, e\.g\. --days 30\.$"):
        shell.run_line_magic("okta_audit", "inactive_users --days")
    with pytest.raises(BadParameter) as script:
        okta_magic.audit("inactive_users", days=0)
    assert str(script.value).endswith("not 0. Pass days=90.") and "--" not in str(script.value)
    with pytest.raises(UnknownAudit, match=r"List them with okta_magic.audit\(\) \(no name\)\."):
        okta_magic.audit("nope")


def test_a_token_without_a_needed_scope_gets_the_fix_not_an_empty_answer(
        shell: Any, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    _signed_in(sandbox, scopes=["okta.users.read"])
    with pytest.raises(UsageError) as refused:
        shell.run_line_magic("okta_audit", "admins")
    assert str(refused.value) == (
        "admins needs okta.groups.read, okta.roles.read to read groups, group_members, admin_roles, which this "
        "token lacks. Sign in again asking for them: %okta_login --scopes "
        "'openid okta.users.read okta.groups.read okta.roles.read' (the app must be granted them in Okta).")
    assert not list(tmp_path.iterdir())  # refused before any request: no snapshot written
    session = session_for(sandbox, scopes=["okta.users.read"])
    try:
        with pytest.raises(MissingScopes) as script:
            okta_magic.audit("admins", session=session)
        assert "okta_magic.login(scopes='openid okta.users.read okta.groups.read okta.roles.read')" in str(
            script.value)
    finally:
        session.close()


def test_an_admin_role_the_org_refuses_is_named(sandbox: Sandbox, tmp_path: Path) -> None:
    session = session_for(sandbox, "readonly", scopes=["okta.users.read", "okta.apiTokens.read"])
    try:
        with pytest.raises(NotSynced) as refused:
            ask.audit(session, "api_tokens", path=tmp_path / "org.duckdb")
        message = render(refused.value, "notebook")
        assert message.startswith("api_tokens needs api_tokens, which the sync could not read (skipped: the org "
                                  "refused it (403 E0000006))")
        assert message.endswith("Sign in as someone who holds the Super or Organization Administrator role, "
                                "then run it again.")
    finally:
        session.close()


def test_the_magic_syncs_what_the_audit_reads_after_saying_so(
        shell: Any, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _signed_in(sandbox)
    frame = shell.run_line_magic("okta_audit", "weak_mfa_only")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("weak_mfa_only reads users, user_factors, which ") and "syncing them first" in out[0]
    assert "GET /api/v1/users/{user_id}/factors" in out[0] and "scopes okta.users.read" in out[0]
    d, factors = state(sandbox).directory, state(sandbox).security.factors

    def kinds(u: dict[str, Any]) -> set[str]:
        return {f["factorType"] for f in factors.of(u) if f["status"] == "ACTIVE"}

    expected = sorted(uid for uid, u in d.users.items() if u["status"] == "ACTIVE" and kinds(u) and kinds(u) <= WEAK)
    assert sorted(frame["user_id"]) == expected
    assert out[-1] == frame.attrs["headline"] and out[-1].startswith(f"{len(expected)} of ")
    assert list(tmp_path.glob("*.duckdb"))  # the org's own snapshot, named after its host
    again = shell.run_line_magic("okta_audit", "users_without_mfa")  # the tables are there now: no sync
    assert "syncing" not in capsys.readouterr().out and len(again) >= 0


def test_the_script_api_lists_and_runs(sandbox: Sandbox, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    session = session_for(sandbox)
    try:
        listed = okta_magic.audit(session=session)
        assert list(listed["audit"]) == catalog.names() and not listed["lacking"].str.len().any()
        assert list(listed.loc[listed["audit"] == "inactive_users", "params"]) == ["days=90"]
        blocked = okta_magic.audit("blocked_users", snapshot=str(tmp_path / "org.duckdb"), session=session)
        assert capsys.readouterr().err.splitlines()[-1] == blocked.attrs["headline"]
        assert blocked.attrs["scopes"] == ["okta.users.read"] and blocked.attrs["endpoints"] == ["GET /api/v1/users"]
        assert blocked.attrs["role"] == "Read-only Administrator" and blocked.attrs["as_of"]
        statuses = {u["status"] for u in state(sandbox).directory.users.values()}
        assert set(blocked["status"]) <= statuses & {"SUSPENDED", "LOCKED_OUT", "PASSWORD_EXPIRED"}
    finally:
        session.close()


def test_a_log_window_longer_than_the_snapshot_is_read_again_or_said(sandbox: Sandbox, tmp_path: Path) -> None:
    session = session_for(sandbox)
    path = tmp_path / "org.duckdb"
    try:
        from okta_magic.snapshot.sync import sync_org

        week = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        sync_org(session, path, tables=["system_log"], since=week)  # a snapshot of the last 7 days' events
        short = ask.audit(session, "failed_sign_ins", {"days": 25}, path=path, sync=False)
        assert short.notes and "older events are missing" in short.notes[0]
        full = ask.audit(session, "failed_sign_ins", {"days": 25}, path=path)  # syncs the log from 26 days back
        assert not full.notes
        start = full.as_of - dt.timedelta(days=25)
        events = [e for e in state(sandbox).directory.events if e["eventType"] == "user.session.start"
                  and e["outcome"]["result"] == "FAILURE" and dt.datetime.fromisoformat(
                      e["published"].replace("Z", "+00:00")) >= start]
        assert int(full.frame["failures"].sum()) == len(events) > int(short.frame["failures"].sum())
    finally:
        session.close()


def test_snapshot_of_every_table_an_audit_reads(sandbox: Sandbox, tmp_path: Path) -> None:
    """The audits' tables are all in the snapshot's catalogue, and one sync holds them all."""
    session = session_for(sandbox)
    try:
        tables = sorted({t for name in catalog.names() for t in catalog.get(name).tables})
        snapshot_of(session, tmp_path / "all.duckdb", tables)
        for name in catalog.names():
            assert ask.audit(session, name, path=tmp_path / "all.duckdb", sync=False).headline
    finally:
        session.close()


def test_docs_list_every_audit_with_its_question_tables_scopes_and_role() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "audits.md").read_text()
    rows = {line.split("|")[1].strip(" `"): line for line in text.splitlines() if line.startswith("| `")}
    assert sorted(rows) == sorted(catalog.names())
    for name in catalog.names():
        audit = catalog.get(name)
        assert audit.question in rows[name] and audit.role in rows[name]
        assert all(f"`{s}`" in rows[name] for s in audit.scopes) and all(f"`{t}`" in rows[name] for t in audit.tables)


def test_not_signed_in_and_no_snapshot_says_how_to_sign_in(shell: Any, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    okta_magic.logout()
    with pytest.raises(UsageError, match=r"^Not signed in.*%okta_login"):
        shell.run_line_magic("okta_audit", "users_without_mfa")


def test_a_snapshot_without_the_table_is_refused_not_answered_empty(sandbox: Sandbox, tmp_path: Path) -> None:
    from okta_magic.audits.run import run

    session = session_for(sandbox)
    try:
        snapshot_of(session, tmp_path / "org.duckdb", ["users"])
        audit = catalog.get("users_without_mfa")
        with pytest.raises(NotSynced) as missing:
            run(tmp_path / "org.duckdb", audit, audit.values({}))
        assert render(missing.value, "script").endswith(
            "lacks (user_factors: not synced yet). Run it with okta_magic.audit(...) signed in to the org: it syncs "
            "user_factors first.")
    finally:
        session.close()


def test_explain_of_a_system_log_audit_names_its_window_and_parameters() -> None:
    nobody = okta_magic.Session()
    try:
        text = okta_magic.audit("failed_sign_ins", explain=True, session=nobody)
    finally:
        nobody.close()
    assert "system_log             okta.logs.read  <- GET /api/v1/logs" in text
    assert "Admin role: Read-only or Report Administrator" in text
    assert "by (user|ip|country, default user): what to count them by" in text
    assert "The System Log must reach back over the window (days)" in text
    assert "lacks" not in text.split("-- question")[0]  # no token: nothing said lacking


def test_a_profile_answers_with_its_own_token(shell: Any, sandbox: Sandbox,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _signed_in(sandbox, scopes=["okta.users.read"])
    okta_magic.use_token(sandbox.issue_token("readonly", "native"), org_url=sandbox.url,
                         session=okta_magic.session("analyst"))
    shell.run_line_magic("okta_audit", "-p analyst admins --explain")
    assert "okta.roles.read  (held)" in capsys.readouterr().out
    shell.run_line_magic("okta_audit", "admins --explain")  # the active profile's token still lacks it
    assert "okta.roles.read  (LACKING)" in capsys.readouterr().out


def test_an_answer_from_an_old_snapshot_says_when_it_is_from(sandbox: Sandbox, tmp_path: Path) -> None:
    from okta_magic.snapshot.sql import connect

    session = session_for(sandbox)
    try:
        path = snapshot_of(session, tmp_path / "org.duckdb", ["users"])
        assert not ask.audit(session, "blocked_users", path=path).notes  # synced just now
        con = connect(path, read_only=False)
        con.execute("UPDATE _tables SET synced_at = TIMESTAMPTZ '2026-01-02 03:04:00+00' WHERE table_name = 'users'")
        con.close()
        old = ask.audit(session, "blocked_users", path=path)
        assert old.notes == ["the answer is as of 2026-01-02 03:04 UTC, when the snapshot's tables were synced"]
    finally:
        session.close()


@pytest.mark.parametrize("name", catalog.names())
def test_each_audit_file_declares_what_its_sql_uses(name: str) -> None:
    """Its tables are snapshot tables, the SQL reads no other table and only its declared parameters, its headline
    names only what the run fills in (the row count, total, counts, parameters)."""
    import re
    import string

    from okta_magic.snapshot.tables import TABLES

    audit = catalog.get(name)
    assert set(audit.tables) <= {t.name for t in TABLES}
    queries = " ".join([audit.sql, audit.total])
    read = set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", queries)) & {t.name for t in TABLES}
    assert read and read <= set(audit.tables)  # every table it reads is synced for it
    used = set(re.findall(r"\$(\w+)", audit.sql)) - {"as_of"}
    assert used == {p.name for p in audit.params}
    fields = {f for _, f, _, _ in string.Formatter().parse(audit.headline) if f}
    assert fields <= {"rows", "total", *dict(audit.counts), *(p.name for p in audit.params)}
    assert ("total" in fields) == bool(audit.total)
    assert audit.question.endswith("?") and audit.role


def test_below_the_notebook_no_audit_option_or_magic_is_named() -> None:
    """The audits layer speaks neither notebook (--days, %okta_audit) nor script syntax: fix keys word both."""
    import ast
    import re

    from test_layout import MODULES, _strings_outside_docstrings

    options = {f"--{p.name}" for name in catalog.names() for p in catalog.get(name).params} | {"--explain",
                                                                                              "--snapshot"}
    for module in (m for m in MODULES if m.startswith("okta_magic.audits")):
        strings = _strings_outside_docstrings(ast.parse(MODULES[module].read_text()))
        assert not [s for s in strings if "%okta" in s or re.search(r"okta_magic\.\w+\(", s)
                    or any(o in s for o in options)], module


def test_a_log_re_read_the_org_refuses_keeps_the_log_held_and_says_so(sandbox: Sandbox, tmp_path: Path) -> None:
    from okta_magic.snapshot.sync import sync_org

    admin, helpdesk = session_for(sandbox), session_for(sandbox, "helpdesk", scopes=["okta.logs.read"])
    path = tmp_path / "org.duckdb"
    try:
        week = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        sync_org(admin, path, tables=["system_log"], since=week)
        result = ask.audit(helpdesk, "failed_sign_ins", {"days": 25}, path=path)  # a help desk admin: 403
        assert any("older events are missing" in note for note in result.notes)
        assert result.headline.endswith("counted by user ({:,} rows)".format(len(result.frame)))
    finally:
        admin.close()
        helpdesk.close()
