"""An audit run over a snapshot file: its tables checked in ``_tables``, its SQL run with typed parameters, the
answer as a DataFrame and a one-line headline.

The time an audit counts back from (``$as_of``) is when the snapshot's tables were synced, not the clock
now: "not signed in for 90 days" means 90 days before the data was read. An audit over a table the
snapshot does not hold, or one a sync skipped, is refused with a NotSynced that says which and why
(never an empty answer that looks like "none found").
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from okta_magic.audits.catalog import Audit, AuditError
from okta_magic.snapshot.sql import connect

__all__ = ["AuditResult", "NotSynced", "run", "table_status", "USABLE"]

STALE = dt.timedelta(hours=1)  # a snapshot older than this: the answer says when it is from
USABLE = ("synced", "kept")  # a _tables status whose rows an audit may read ("kept": an earlier sync's rows)


class NotSynced(AuditError):
    """The snapshot does not hold a table the audit reads (not synced yet, or skipped by the sync)."""

    def __init__(self, message: str, tables: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.tables = tables


@dataclass
class AuditResult:
    """An audit's answer: the rows, the headline, and what it was asked and over which data."""

    audit: Audit
    frame: Any  # a pandas DataFrame (DuckDB makes it)
    headline: str
    values: dict[str, int | str]
    as_of: dt.datetime
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return "\n".join([self.headline, *self.notes])


def table_status(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The snapshot's ``_tables`` rows by table (empty when there is no snapshot at ``path``)."""
    from okta_magic.snapshot.store import existing_tables

    return existing_tables(path)


def _check_tables(audit: Audit, status: dict[str, dict[str, Any]], path: Path) -> list[str]:
    """The notes of tables kept from an earlier sync; a NotSynced when one cannot be read at all."""
    missing = [t for t in audit.tables if (status.get(t) or {}).get("status") not in USABLE]
    if missing:
        why = "; ".join(f"{t}: {(status.get(t) or {}).get('note') or 'not synced yet'}" for t in missing)
        raise NotSynced(f"{audit.name} reads {', '.join(missing)}, which the snapshot {path} lacks ({why}).",
                        tuple(missing)).with_fix("audit_sync", tables=", ".join(missing))
    return [f"{t}: {status[t]['note']}" for t in audit.tables if status[t].get("status") == "kept"
            and status[t].get("note")]


def _as_of(audit: Audit, status: dict[str, dict[str, Any]]) -> dt.datetime:
    """When the audit's tables were last synced (the newest of them)."""
    stamps = [status[t]["synced_at"] for t in audit.tables if status[t].get("synced_at") is not None]
    found = max(stamps) if stamps else dt.datetime.now(dt.timezone.utc)
    return found if found.tzinfo else found.replace(tzinfo=dt.timezone.utc)


def log_start(status: dict[str, dict[str, Any]]) -> dt.datetime | None:
    """The oldest moment the snapshot's System Log covers (its first pull's ``since``), None when unknown."""
    since = (status.get("system_log") or {}).get("since")
    if not since:
        return None
    return dt.datetime.fromisoformat(str(since).replace("Z", "+00:00"))


def log_window_short(audit: Audit, values: dict[str, int | str], status: dict[str, dict[str, Any]],
                     as_of: dt.datetime | None = None) -> dt.datetime | None:
    """Where the audit's System Log window starts, when the snapshot's log starts later (else None)."""
    if not audit.log_param or (status.get("system_log") or {}).get("status") not in USABLE:
        return None
    start = (as_of or _as_of(audit, status)) - dt.timedelta(days=int(values[audit.log_param]))
    held = log_start(status)
    return start if held is not None and held > start + dt.timedelta(minutes=10) else None


def _query(con: Any, sql: str, params: dict[str, Any]) -> Any:
    """``sql`` with only the ``$name`` parameters it uses (DuckDB refuses unused ones)."""
    used = {name: value for name, value in params.items() if re.search(rf"\${name}\b", sql)}
    return con.execute(sql, used) if used else con.execute(sql)


def _headline(audit: Audit, con: Any, frame: Any, values: dict[str, int | str], params: dict[str, Any]) -> str:
    fields: dict[str, Any] = {**values, "rows": len(frame)}
    if audit.total:
        fields["total"] = _query(con, audit.total, params).fetchall()[0][0]
    con.register("audit", frame)
    try:
        for name, sql in audit.counts:
            fields[name] = _query(con, sql, params).fetchall()[0][0]
    finally:
        con.unregister("audit")
    return audit.headline.format(**{k: f"{v:,}" if isinstance(v, int) else v for k, v in fields.items()})


def run(path: str | os.PathLike[str], audit: Audit, values: dict[str, int | str]) -> AuditResult:
    """Run ``audit`` with its parameters' ``values`` (read with :meth:`Audit.values`) over the snapshot."""
    target = Path(path)
    status = table_status(target)
    notes = _check_tables(audit, status, target)
    as_of = _as_of(audit, status)
    if dt.datetime.now(dt.timezone.utc) - as_of > STALE:
        notes.append(f"the answer is as of {as_of:%Y-%m-%d %H:%M} UTC, when the snapshot's tables were synced")
    short = log_window_short(audit, values, status, as_of)
    if short is not None:
        notes.append(f"the snapshot's System Log starts at {log_start(status):%Y-%m-%d %H:%M} UTC, after the "
                     f"{values[audit.log_param]} days asked for (from {short:%Y-%m-%d}): older events are missing")
    params: dict[str, Any] = {**values, "as_of": as_of}
    con = connect(target)  # read-only: a sync swaps the file whole
    try:
        frame = _query(con, audit.sql, params).df()
        headline = _headline(audit, con, frame, values, params)
    finally:
        con.close()
    frame = frame.rename(columns={column: value.format(**values) for column, value in audit.renames})
    # who or what first (a login, a group's or an app's name), the keys that join it to the tables (..._id) last
    keys = [column for column in frame.columns if str(column).endswith("_id")]
    frame = frame[[column for column in frame.columns if column not in keys] + keys]
    # the scope behind the answer travels with it: what it read, what that needs, when the data is from
    frame.attrs.update(headline=headline, audit=audit.name, tables=list(audit.tables), scopes=list(audit.scopes),
                       endpoints=list(audit.endpoints), role=audit.role, as_of=as_of.isoformat())
    return AuditResult(audit, frame, headline, dict(values), as_of, notes)
