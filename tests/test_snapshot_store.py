"""okta_magic.snapshot.store: a table far larger than DuckDB's memory is built within it (de-duplicated, in
key order, its types as before), and what the build spills beside the snapshot goes with the sync, also when
the sync fails."""

from __future__ import annotations

import random

import duckdb
import pytest

from okta_magic.snapshot import store as store_module
from okta_magic.snapshot.store import Staged, Store
from okta_magic.snapshot.tables import by_name

MEMBERS = by_name("group_members")  # keys (group_id, user_id): rows staged under their group
PADDING = "x" * 1000  # a member's object is a whole user: a kB or more each


def _stage_members(store: Store, pairs: list[tuple[str, str]], padding: str = PADDING) -> Staged:
    staged = store.stage(MEMBERS.name)
    for n, (group, user) in enumerate(pairs):
        staged.add(group, [{"id": user, "staged": n, "profile": {"padding": padding}}])
    return staged


def _build_shuffled(store: Store, groups: int, users: int, padding: str) -> list[tuple[str, str]]:
    """Members staged in no order, some twice (a page read twice); the build's rows, in the table's order."""
    rng = random.Random(5)
    pairs = [(f"00g{g:03d}", f"00u{u:06d}") for g in range(groups) for u in range(users)]
    rng.shuffle(pairs)
    pairs += pairs[:500]
    assert store.build(MEMBERS, _stage_members(store, pairs, padding), MEMBERS.all_columns()) == groups * users
    got = store.con.execute("SELECT group_id, user_id, (raw->>'$.staged')::INT FROM group_members").fetchall()
    first: dict[tuple[str, str], int] = {}
    for n, pair in enumerate(pairs):
        first.setdefault(pair, n)
    assert [(g, u) for g, u, _ in got] == sorted(first)  # one row per key, in key order
    assert all(n == first[(g, u)] for g, u, n in got)  # the first staged
    return pairs


def test_a_table_larger_than_duckdbs_memory_is_built_within_it_in_key_order(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "MEMORY_LIMIT_MB", 128)
    monkeypatch.setattr(store_module, "THREADS", 1)
    store = Store(tmp_path / "org.duckdb", fresh=True)
    try:
        _build_shuffled(store, 4, 50_000, "x" * 600)  # about 170 MB of rows staged
        limit = store.scalar("SELECT current_setting('memory_limit')")
        types = store.con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                  "WHERE table_name = 'group_members' ORDER BY column_index").fetchall()
        store.write_meta([], {})
        store.commit()
    except BaseException:
        store.abort()
        raise
    assert limit == "122.0 MiB"  # DuckDB held to the sync's limit (128 MB) throughout, nothing raised it
    assert types == [("group_id", "VARCHAR"), ("user_id", "VARCHAR"), ("raw", "JSON")]
    assert [p.name for p in tmp_path.iterdir()] == ["org.duckdb"]  # the staging and spill files went
    con = duckdb.connect(str(tmp_path / "org.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM group_members").fetchone()[0] == 200_000
    con.close()


def test_objects_too_large_for_the_limit_raise_it_rather_than_fail_the_sync(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(store_module, "MEMORY_LIMIT_MB", 32)
    store = Store(tmp_path / "org.duckdb", fresh=True)
    try:
        _build_shuffled(store, 3, 3_000, "x" * 3_000)
        assert store.memory_mb > 32
    finally:
        store.abort()
    assert list(tmp_path.iterdir()) == []


def test_a_failed_build_leaves_the_old_snapshot_and_nothing_else(tmp_path) -> None:
    path = tmp_path / "org.duckdb"
    store = Store(path, fresh=True)
    store.build(MEMBERS, _stage_members(store, [("00g1", "00u1")]), MEMBERS.all_columns())
    store.commit()
    store = Store(path, fresh=False)
    store.con.execute("SET memory_limit = '128MB'")
    staged = _stage_members(store, [(f"00g{n % 7}", f"00u{n}") for n in range(20_000)])
    staged._file.write(b'{"p": "00g1", "r": \n')  # a line cut short: DuckDB stops reading the staged rows
    with pytest.raises(duckdb.Error):
        store.build(MEMBERS, staged, MEMBERS.all_columns())
    store.abort()
    assert [p.name for p in tmp_path.iterdir()] == ["org.duckdb"]
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT group_id, user_id FROM group_members").fetchall() == [("00g1", "00u1")]
    con.close()
