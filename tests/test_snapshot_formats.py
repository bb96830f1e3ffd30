"""The snapshot opened as it is by other tools (jupysql in a real IPython shell, the DuckDB CLI, pandas and polars
through DuckDB), and exported as Parquet (``--format parquet``): one dataset per table, the System Log by day,
with the rows the snapshot holds, written whole or not at all."""

from __future__ import annotations

import shutil
import subprocess

import duckdb
import polars as pl
import pytest

import okta_magic
from okta_magic.errors import FileWriteError
from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session
from okta_magic.snapshot import parquet
from okta_magic.snapshot.parquet import export_parquet
from okta_magic.snapshot.sync import sync_org


@pytest.fixture(scope="module")
def org():
    with Sandbox(port=0, users=40, seed=5) as sb:
        yield sb


@pytest.fixture(scope="module")
def synced(org: Sandbox, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("snap") / "org.duckdb"
    session = Session()
    session.use_token(org.issue_token("admin", "native", None), org_url=org.url)
    sync_org(session, path, since="30d")
    return str(path)


def _rows(sql: str, path: str | None = None) -> list[tuple]:
    con = duckdb.connect(path or ":memory:", read_only=bool(path))
    try:
        return sorted(con.execute(sql).fetchall(), key=repr)
    finally:
        con.close()


def test_jupysql_opens_the_snapshot_as_it_is(shell, synced: str, monkeypatch) -> None:
    pytest.importorskip("sql", reason="jupysql is in the test extra")
    monkeypatch.setenv("PLOOMBER_STATS_ENABLED", "false")  # no usage statistics sent from a test
    shell.run_line_magic("load_ext", "sql")
    try:
        shell.run_line_magic("sql", f"duckdb:///{synced}?access_mode=read_only")  # as docs/snapshot.md says
        result = shell.run_line_magic("sql", "SELECT user_id, login FROM users ORDER BY user_id")
        got = [tuple(row) for row in result]
    finally:
        shell.run_line_magic("sql", f"--close duckdb:///{synced}?access_mode=read_only")
    assert got and got == _rows("SELECT user_id, login FROM users ORDER BY user_id", synced)


def test_pandas_and_polars_read_it_through_duckdb(synced: str) -> None:
    con = duckdb.connect(synced, read_only=True)
    try:
        frame = con.sql("SELECT user_id, status FROM users").pl()
        pandas = con.sql("SELECT user_id, status FROM users").df()
    finally:
        con.close()
    want = _rows("SELECT user_id, status FROM users", synced)
    assert sorted(frame.rows(), key=repr) == want
    assert sorted(pandas.itertuples(index=False, name=None), key=repr) == want


@pytest.mark.skipif(shutil.which("duckdb") is None, reason="no DuckDB CLI on PATH (docs/snapshot.md: how to get it)")
def test_the_duckdb_cli_opens_it(synced: str) -> None:
    out = subprocess.run(["duckdb", "-readonly", "-csv", "-noheader", synced, "-c", "SELECT count(*) FROM users"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout.strip()) == _rows("SELECT count(*) FROM users", synced)[0][0]


def test_the_parquet_export_holds_the_snapshots_rows(synced: str, tmp_path) -> None:
    target = tmp_path / "okta"
    export = export_parquet(synced, target)
    assert export.tables["users"] > 0 and (target / "users").is_dir()
    for table in ("users", "group_members", "user_factors", "admin_roles"):
        want = _rows(f"SELECT * EXCLUDE (raw), raw::VARCHAR FROM {table}", synced)
        got = _rows(f"SELECT * EXCLUDE (raw), raw::VARCHAR FROM read_parquet('{target}/{table}/*.parquet')")
        assert got == want, table
        scanned = pl.scan_parquet(f"{target}/{table}/*.parquet").select(pl.len()).collect().item()
        assert scanned == len(want), table
    days = sorted(p.name for p in (target / "system_log").iterdir())
    assert days and all(d.startswith("day=") and len(d) == len("day=2024-01-01") for d in days)
    want = _rows("SELECT uuid, eventType, left(raw->>'$.published', 10) FROM system_log", synced)
    got = _rows(f"SELECT uuid, eventType, day::VARCHAR FROM read_parquet('{target}/system_log/*/*.parquet', "
                "hive_partitioning = true)")
    assert got == want
    logged = pl.scan_parquet(f"{target}/system_log/**/*.parquet", hive_partitioning=True).collect()
    assert sorted(logged["uuid"].to_list()) == sorted(u for u, _, _ in want)


def test_an_interrupted_export_leaves_the_old_dataset_whole(synced: str, tmp_path, monkeypatch) -> None:
    target = tmp_path / "okta"
    export_parquet(synced, target)
    before = sorted(str(p.relative_to(target)) for p in target.rglob("*.parquet"))
    copied = []

    def interrupted(con, name, into):
        if copied:
            raise KeyboardInterrupt
        copied.append(name)
        return real(con, name, into)

    real = parquet.copy_table
    monkeypatch.setattr(parquet, "copy_table", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_parquet(synced, target)
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*.parquet")) == before
    assert [p.name for p in tmp_path.iterdir()] == ["okta"]  # no half-written directory beside it
    assert _rows(f"SELECT count(*) FROM read_parquet('{target}/users/*.parquet')") == \
        _rows("SELECT count(*) FROM users", synced)


def test_an_export_never_replaces_a_directory_of_other_files(synced: str, tmp_path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(FileWriteError, match="holds other files"):
        export_parquet(synced, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_okta_sync_format_parquet_in_a_shell(shell, org: Sandbox, tmp_path) -> None:
    okta_magic.use_token(org.issue_token("admin", "native", None), org.url)
    snapshot, target = tmp_path / "org.duckdb", tmp_path / "okta"
    export = shell.run_line_magic("okta_sync", f"--format parquet --snapshot {snapshot} --to {target} users groups")
    assert export.tables["users"] == _rows("SELECT count(*) FROM users", str(snapshot))[0][0] > 0
    assert "Parquet" in repr(export) and "Synced 2 tables" in repr(export)
    assert _rows(f"SELECT count(*) FROM read_parquet('{target}/groups/*.parquet')") == \
        _rows("SELECT count(*) FROM groups", str(snapshot))
    again = okta_magic.sync(snapshot, format="parquet", to=target, tables=["users"])
    assert again.path == target and again.tables["users"] == export.tables["users"]
