"""The snapshot exported as Parquet: one dataset (a directory of ``*.parquet`` files) per table, the System
Log partitioned by day (``system_log/day=YYYY-MM-DD/*.parquet``, Hive-style), for DuckDB, polars and Spark.

    export = export_parquet("dev-123.okta.com.duckdb", "okta_parquet")   # after a sync

The DuckDB file stays the source of truth (a sync refreshes it incrementally); the export is a copy of it
written whole each time by DuckDB's ``COPY ... (FORMAT parquet)``, into a directory beside the target that
takes its place at the end: an interrupted export leaves the old dataset as it was.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okta_magic.errors import FileWriteError
from okta_magic.snapshot.sql import connect

__all__ = ["export_parquet", "ParquetExport", "default_dir", "PARTITIONED"]

# tables written partitioned, and the expression of their partition column: the day of the event (UTC, as
# Okta's ``published`` gives it), so that a day's events are one directory a reader can skip or take
PARTITIONED = {"system_log": ("day", "coalesce(left(raw->>'$.published', 10), 'unknown')")}
MARKER = "_tables"  # every export holds it: a directory without it is not one, and is never replaced


def default_dir(snapshot: str | os.PathLike[str]) -> Path:
    """``<org host>.parquet`` beside the snapshot ``<org host>.duckdb``."""
    return Path(snapshot).with_suffix(".parquet")


@dataclass
class ParquetExport:
    """What an export wrote: the directory, and each table's rows; ``sync`` is the sync before it, if any."""

    path: Path
    tables: dict[str, int] = field(default_factory=dict)
    sync: Any = None

    def describe(self) -> str:
        rows = sum(n for name, n in self.tables.items() if not name.startswith("_"))
        return (f"Exported {sum(not n.startswith('_') for n in self.tables)} tables ({rows:,} rows) as Parquet "
                f"into {self.path}/<table>/ (system_log/day=YYYY-MM-DD/).")

    def __repr__(self) -> str:
        return "\n".join([*([repr(self.sync)] if self.sync is not None else []), self.describe()])


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def copy_table(con: Any, name: str, into: Path) -> int:
    """Write one table as a Parquet dataset under ``into/name``; its rows."""
    target = into / name
    if name in PARTITIONED:
        column, expr = PARTITIONED[name]
        con.execute(f"COPY (SELECT *, {expr} AS {column} FROM \"{name}\") TO '{_quoted(target)}' "
                    f"(FORMAT parquet, PARTITION_BY ({column}))")
    else:
        target.mkdir()
        con.execute(f"COPY \"{name}\" TO '{_quoted(target / 'part-0.parquet')}' (FORMAT parquet)")
    return int(con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0])


def _check_target(target: Path) -> None:
    """Refuse to replace a directory that is not an earlier export (it would be deleted)."""
    if target.exists() and (not target.is_dir() or (any(target.iterdir()) and not (target / MARKER).is_dir())):
        raise FileWriteError(f"{target} holds other files, not an earlier Parquet export of a snapshot: name a new "
                             "directory (or an earlier export) to write the tables into.")


def export_parquet(snapshot: str | os.PathLike[str], to: str | os.PathLike[str] | None = None) -> ParquetExport:
    """Every table of the snapshot at ``snapshot`` as a Parquet dataset under ``to`` (default
    ``<snapshot>.parquet``), written beside it and swapped in whole at the end."""
    target = Path(to) if to is not None else default_dir(snapshot)
    _check_target(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(f".{target.name}.{os.getpid()}.exporting")
    old = target.with_name(f".{target.name}.{os.getpid()}.old")
    shutil.rmtree(work, ignore_errors=True)
    export = ParquetExport(target)
    con = connect(snapshot)
    try:
        work.mkdir()
        names = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                               "AND database_name = current_database() ORDER BY 1").fetchall()]
        for name in names:
            export.tables[name] = copy_table(con, name, work)
        con.close()
        _swap(work, target, old)
    except OSError as exc:
        raise FileWriteError(f"The Parquet export {target} cannot be written: {exc.strerror or exc}") from None
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    return export


def _swap(work: Path, target: Path, old: Path) -> None:
    """Put ``work`` in ``target``'s place: the old dataset moved aside first, and back if the second rename fails."""
    moved = target.exists()
    if moved:
        os.replace(target, old)
    try:
        os.replace(work, target)
    except OSError:
        if moved:
            os.replace(old, target)
        raise
