"""The snapshot's DuckDB file: written into a copy and swapped in whole at the end, so an interrupted or
failed sync leaves the old snapshot as it was; ``_tables`` (where each table came from, what it needs,
when it was synced, what it cost) and ``_columns`` (every column described).

Rows arrive as pages; each is written as it comes to a staging file of JSON lines (``{"p": parent, "r":
object}``, the object exactly as Okta sent it), never held as one list, and DuckDB reads the file in one
statement when the table is built (:meth:`Store.build`).

DuckDB's memory during a sync does not grow with the org: it works within ``MEMORY_LIMIT_MB`` and ``THREADS`` and spills
beyond it to the sync's staging directory (beside the snapshot, removed at the end, after a failure too), and
a table is sorted by its keys alone, its rows then written in that order ``BATCH`` at a time.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson

from okta_magic.errors import FileWriteError
from okta_magic.snapshot.tables import Column, Table

__all__ = ["Store", "Staged", "META_COLUMNS", "existing_tables", "MEMORY_LIMIT_MB", "THREADS", "BATCH"]

MEMORY_LIMIT_MB = 256  # DuckDB's memory for a sync (its memory_limit); past it, it spills to the staging dir
MEMORY_CEILING_MB = 8192  # a build that still runs out doubles the limit up to this, rather than fail the sync
THREADS = 2  # at most: DuckDB's JSON functions parse 2,048 rows at once per thread (tens of MB each)
BATCH = 5_000  # rows of a table written at a time, in key order
IDLE_MEMORY = "16MB"  # what DuckDB keeps cached between two tables' builds (the pages of the next arrive then)
_BUILD = "okta_build"  # the staging directory's own DuckDB file, attached: a table's unsorted rows, its key order

# _tables: one row per table of the catalogue, synced or skipped
META_COLUMNS = (("table_name", "VARCHAR"), ("endpoints", "VARCHAR"), ("scope", "VARCHAR"),
                ("admin_role", "VARCHAR"), ("keys", "VARCHAR"), ("incremental", "VARCHAR"), ("status", "VARCHAR"),
                ("note", "VARCHAR"), ("synced_at", "TIMESTAMPTZ"), ("mode", "VARCHAR"), ("requests", "BIGINT"),
                ("rows", "BIGINT"), ("since", "VARCHAR"))


def _duckdb() -> Any:
    import duckdb  # only when a snapshot is used: %load_ext okta_magic stays light

    return duckdb


class Staged:
    """A table's fetched rows on their way in: JSON lines in a staging file, written page by page; with
    ``ids``, the objects' ids and ``lastUpdated`` noted too (a second sync's changed users: only those)."""

    def __init__(self, directory: str, name: str, *, ids: bool = False) -> None:
        self.path = os.path.join(directory, f"{name}.jsonl")
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close(), the rows stream in between)
        self.rows = 0
        self.requests = 0
        self._note_ids = ids
        self.ids: list[str] = []  # the objects' ids, in order (only when asked for)
        self.stamps: dict[str, Any] = {}  # id -> lastUpdated

    def add(self, parent: Any, rows: Iterable[Any]) -> None:
        """Stage rows fetched under ``parent`` (None for a top-level list)."""
        for row in rows:
            if self._note_ids and isinstance(row, dict) and row.get("id") is not None:
                self.ids.append(str(row["id"]))
                self.stamps[str(row["id"])] = row.get("lastUpdated")
            self._file.write(orjson.dumps({"p": parent, "r": row}) + b"\n")
            self.rows += 1

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


_TEXT_PATH = re.compile(r"r->>'((?:[^']|'')*)'")
_JSON_PATH = re.compile(r"r->'((?:[^']|'')*)'")


def _select(columns: Sequence[Column]) -> tuple[str, str]:
    """The columns' select list, and the one parse of each row it reads from.

    A column is an expression over ``r``, the row's JSON (``r->>'$.path'`` for text, ``r->'$.path'`` for JSON).
    Written as it is, DuckDB parses every row once per such expression, with working memory for each (a
    10,000-user table of 60 columns took 2.5 GB); here every path is read in one ``json_extract_string`` (and
    one ``json_extract``) call per row, and a column takes its element of those lists (``_s[7]``), the same
    function ``->>`` is.
    """
    texts: dict[str, int] = {}
    jsons: dict[str, int] = {}

    def text(match: re.Match[str]) -> str:
        return f"_s[{texts.setdefault(match.group(1), len(texts) + 1)}]"

    def json(match: re.Match[str]) -> str:
        return f"_j[{jsons.setdefault(match.group(1), len(jsons) + 1)}]"

    select = ", ".join(f'{_JSON_PATH.sub(json, _TEXT_PATH.sub(text, c.expr))} AS "{c.name}"' for c in columns)
    parsed = ["p", "r"]
    if texts:
        parsed.append("json_extract_string(r, [" + ", ".join(f"'{path}'" for path in texts) + "]) AS _s")
    if jsons:
        parsed.append("json_extract(r, [" + ", ".join(f"'{path}'" for path in jsons) + "]) AS _j")
    return select, ", ".join(parsed)


class Store:
    """A sync's working copy of the snapshot at ``path`` (``fresh``: start empty, for a full sync)."""

    def __init__(self, path: str | os.PathLike[str], *, fresh: bool) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.work = self.path.with_name(f".{self.path.name}.{os.getpid()}.syncing")
        # beside the snapshot, not in the system's temporary directory (often memory: tmpfs)
        self._staging = tempfile.mkdtemp(prefix=f".{self.path.name}.{os.getpid()}.", suffix=".staging",
                                         dir=self.path.parent)
        self.memory_mb = MEMORY_LIMIT_MB
        try:
            self.work.unlink(missing_ok=True)
            if self.path.exists() and not fresh:
                shutil.copyfile(self.path, self.work)
            self.con = _duckdb().connect(str(self.work), config={
                "memory_limit": f"{self.memory_mb}MB", "threads": max(1, min(THREADS, os.cpu_count() or 1)),
                "temp_directory": os.path.join(self._staging, "spill")})
            self.con.execute(f"ATTACH '{_quoted(os.path.join(self._staging, 'build.duckdb'))}' AS {_BUILD}")
        except OSError as exc:
            self.abort()
            raise FileWriteError(f"The snapshot {self.path} cannot be written: {exc.strerror or exc}") from None

    # -- reading what the last sync left ---------------------------------------------------------

    def has(self, table: str) -> bool:
        """The working copy holds ``table``."""
        return bool(self.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND "
                                     "schema_name = 'main' AND database_name = current_database()",
                                     [table]).fetchone()[0])

    def values(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """The first column of a query over the working copy."""
        return [row[0] for row in self.con.execute(sql, list(params)).fetchall()]

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.con.execute(sql, list(params)).fetchone()
        return row[0] if row else None

    def meta(self, table: str) -> dict[str, Any]:
        """The last sync's ``_tables`` row for ``table`` (empty when none)."""
        if not self.has("_tables"):
            return {}
        cursor = self.con.execute("SELECT * FROM _tables WHERE table_name = ?", [table])
        row = cursor.fetchone()
        return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else {}

    # -- writing ------------------------------------------------------------------------------------

    def stage(self, name: str, *, ids: bool = False) -> Staged:
        """A new staging file for ``name``'s rows (``ids``: their ids and stamps noted as they pass)."""
        return Staged(self._staging, name, ids=ids)

    def build(self, table: Table, staged: Staged, columns: Sequence[Column], *, keep: str | None = None,
              drop: Sequence[Any] = (), drop_column: str | None = None) -> int:
        """(Re)build ``table`` from the staged rows, plus, when ``keep`` names which, the rows it holds whose
        ``drop_column`` is not in ``drop`` (``keep="all"``: all of them but those); its row count.

        Every column is computed from ``raw`` and the parent key, so kept rows take today's types too. The rows
        go to a work table as they come; a narrow table of the keys alone (each key's first row, its place in
        key order) replaces the sort of the whole rows (``DISTINCT ON (keys) ... ORDER BY keys`` over every
        column held them all in memory), and the table is written from the two ``BATCH`` rows at a time.
        """
        staged.close()
        new = (f"SELECT json->>'p' AS p, json->'r' AS r FROM read_json_objects('{_quoted(staged.path)}', "
               "format='newline_delimited')" if staged.rows else "SELECT NULL::VARCHAR AS p, NULL::JSON AS r LIMIT 0")
        parts, params = [new], []
        if keep is not None and self.has(table.name):
            parent = f'"{table.parent}"' if table.parent else "NULL::VARCHAR"
            old = f'SELECT {parent} AS p, raw AS r FROM "{table.name}"'
            if drop and drop_column:
                old += f' WHERE "{drop_column}" IS NULL OR "{drop_column}" NOT IN (SELECT unnest(?::VARCHAR[]))'
                params.append([str(v) for v in drop])
            parts.insert(0, old)
        body = " UNION ALL ".join(f"({part})" for part in parts)
        select, parsed = _select(columns)
        work, order = f"{_BUILD}.rows", f"{_BUILD}.key_order"
        while True:
            try:
                self.con.execute(f"CREATE OR REPLACE TABLE {work} AS SELECT {select} FROM (SELECT {parsed} FROM "
                                 f"({body}))", params)
                rows = self._write_in_key_order(table, work, order)
                break
            except _duckdb().OutOfMemoryException:
                if self.memory_mb * 2 > MEMORY_CEILING_MB:
                    raise
                # large objects: DuckDB's JSON functions need more per thread than the limit leaves
                self.memory_mb *= 2
                self.con.execute(f"SET memory_limit = '{self.memory_mb}MB'")
        os.unlink(staged.path)
        self.con.execute(f"DROP TABLE {work}")  # (after a failure the staging directory goes, and they with it)
        self.con.execute(f"DROP TABLE {order}")
        self._hand_back()
        return rows

    def _hand_back(self) -> None:
        """Let go of the table blocks DuckDB keeps cached up to its limit, for the next table's pages (a
        lower ``memory_limit`` evicts them at once; they are read from the file again when needed)."""
        try:
            self.con.execute(f"SET memory_limit = '{IDLE_MEMORY}'")
        except _duckdb().Error:
            pass  # some still in use: they stay, as they would have
        self.con.execute(f"SET memory_limit = '{self.memory_mb}MB'")

    def _write_in_key_order(self, table: Table, work: str, order: str) -> int:
        """``table`` anew from the work table's rows: one per key (the first staged), in key order; its row
        count."""
        keys = ", ".join(f'"{k}"' for k in table.keys)
        self.con.execute(f"CREATE OR REPLACE TABLE {order} AS SELECT row_number() OVER (ORDER BY {keys}) AS pos, "
                         f"first_row FROM (SELECT {keys}, min(rowid) AS first_row FROM {work} GROUP BY ALL)")
        rows = int(self.scalar(f"SELECT count(*) FROM {order}"))
        self.con.begin()  # one transaction: a commit per batch would write each one out (three times slower)
        try:
            self.con.execute(f'CREATE OR REPLACE TABLE "{table.name}" AS SELECT * FROM {work} LIMIT 0')
            for start in range(0, rows, BATCH):
                self.con.execute(f'INSERT INTO "{table.name}" SELECT w.* FROM {order} o JOIN {work} w '
                                 f"ON w.rowid = o.first_row WHERE o.pos > {start} AND o.pos <= {start + BATCH} "
                                 "ORDER BY o.pos")
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        return rows

    def profile_keys(self, staged: Staged) -> list[str]:
        """The profile attributes the staged users carry (for a users table typed without the org's schema)."""
        staged.close()
        if not staged.rows:
            return []
        return self.values(f"SELECT DISTINCT unnest(json_keys(json->'$.r.profile')) AS k FROM read_json_objects("
                           f"'{_quoted(staged.path)}', format='newline_delimited') ORDER BY k")

    def write_meta(self, rows: Sequence[dict[str, Any]], docs: dict[tuple[str, str], str]) -> None:
        """``_tables`` (one row per table of the catalogue) and ``_columns`` (every column of every table).

        Each is written by one statement over lists (DuckDB's ``executemany`` costs a statement a row).
        """
        names = [name for name, _ in META_COLUMNS]
        lists = ", ".join(f"unnest(?::{kind}[]) AS {name}" for name, kind in META_COLUMNS)
        self.con.execute(f"CREATE OR REPLACE TABLE _tables AS SELECT {lists}",
                         [[row.get(name) for row in rows] for name in names])
        keys = [(row["table_name"], k) for row in rows for k in str(row.get("keys") or "").split(", ")]
        self.con.execute(
            "CREATE OR REPLACE TABLE _columns AS SELECT c.table_name, c.column_name, c.data_type, "
            "c.column_index AS position, k.t IS NOT NULL AS is_key, coalesce(d.doc, '') AS description "
            "FROM duckdb_columns() c "
            "LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS t, unnest(?::VARCHAR[]) AS c) k "
            "ON k.t = c.table_name AND k.c = c.column_name "
            "LEFT JOIN (SELECT unnest(?::VARCHAR[]) AS t, unnest(?::VARCHAR[]) AS c, unnest(?::VARCHAR[]) AS doc) d "
            "ON d.t = c.table_name AND d.c = c.column_name "
            "WHERE c.schema_name = 'main' AND c.database_name = current_database() "
            "AND NOT starts_with(c.table_name, '_') ORDER BY c.table_name, c.column_index",
            [[t for t, _ in keys], [c for _, c in keys], [t for t, _ in docs], [c for _, c in docs],
             list(docs.values())])

    def commit(self) -> None:
        """Swap the working copy in for the snapshot, whole (``os.replace``: atomic on one file system)."""
        self.con.execute("CHECKPOINT")
        self.con.close()
        try:
            os.replace(self.work, self.path)
        except OSError as exc:
            raise FileWriteError(f"The snapshot {self.path} cannot be replaced: {exc.strerror or exc}") from None
        finally:
            self._cleanup()

    def abort(self) -> None:
        """Drop the working copy: the snapshot stays as the last sync left it."""
        con = getattr(self, "con", None)
        if con is not None:
            try:
                con.close()
            except Exception:  # noqa: BLE001 (closing after a failure: the first error is the one to show)
                pass
        for leftover in (self.work, self.work.with_name(self.work.name + ".wal")):
            leftover.unlink(missing_ok=True)
        self._cleanup()

    def _cleanup(self) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)


def _quoted(path: str) -> str:
    return path.replace("'", "''")


def existing_tables(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The ``_tables`` rows of the snapshot at ``path`` (empty when there is none yet)."""
    if not Path(path).exists():
        return {}
    con = _duckdb().connect(str(path), read_only=True)
    try:
        if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_tables'").fetchone()[0]:
            return {}
        cursor = con.execute("SELECT * FROM _tables")
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
