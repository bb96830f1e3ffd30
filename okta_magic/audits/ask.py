"""An audit for a signed-in session: the snapshot checked for the audit's tables, the missing ones synced
first (after saying so), the scope check before any request, then the run.

The front ends call :func:`audit`: ``%okta_audit NAME`` and ``okta_magic.audit(NAME, ...)``. It syncs only
the tables the audit reads that the snapshot lacks (and the System Log again from further back when the
audit's window reaches past what the snapshot holds), so the first audit of a notebook costs the
requests of its own tables, not the whole org's.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from okta_magic.audits import catalog, scope
from okta_magic.audits.run import USABLE, AuditResult, NotSynced, log_window_short, run, table_status

if TYPE_CHECKING:
    from okta_magic.sessions.session import Session

__all__ = ["audit", "snapshot_path", "plan_line"]


def snapshot_path(session: Session, path: str | os.PathLike[str] | None) -> Path:
    """The snapshot an audit reads: ``path``, else the one named after the session's org."""
    from okta_magic.snapshot.sync import path_for

    if path is None:
        session.current_token()  # not signed in: the NotSignedIn that says how to sign in
    return path_for(session, path)


def _stamp(moment: dt.datetime) -> str:
    """Okta's timestamp form for a System Log ``since``."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def plan_line(audit: catalog.Audit, tables: list[str], path: Path) -> str:
    """What the sync before an audit will fetch, and what it needs."""
    wanted = [t for t in audit.table_defs if t.name in tables]
    endpoints = "; ".join(dict.fromkeys(e for t in wanted for e in t.endpoints))
    scopes = ", ".join(dict.fromkeys(t.scope for t in wanted))
    return (f"{audit.name} reads {', '.join(tables)}, which {path} does not hold yet: syncing them first "
            f"({endpoints}; scopes {scopes}; role {audit.role}).")


def _to_sync(audit: catalog.Audit, values: Mapping[str, int | str], status: dict) -> tuple[list[str], bool]:
    """The tables to sync before the run, and whether the System Log must be read again from further back."""
    missing = [t for t in audit.tables if (status.get(t) or {}).get("status") not in USABLE]
    short = log_window_short(audit, dict(values), status, dt.datetime.now(dt.timezone.utc)) is not None
    if short and "system_log" not in missing:
        missing.append("system_log")
    return missing, short


def audit(session: Session, name: str, params: Mapping[str, object] | None = None, *,
          path: str | os.PathLike[str] | None = None, sync: bool = True,
          say: Callable[[str], object] = lambda line: None) -> AuditResult:
    """Run the audit ``name`` with ``params`` over the session's snapshot, syncing what it lacks first."""
    spec = catalog.get(name)
    values = spec.values(dict(params or {}))
    target = snapshot_path(session, path)
    status = table_status(target)
    missing, short = _to_sync(spec, values, status)
    if missing and sync:
        scope.check(spec, session.held_scopes(), missing)
        from okta_magic.snapshot.plan import plan_sync

        say(plan_line(spec, missing, target))
        say(repr(plan_sync(session, target, full=short, tables=missing)))
        since = None
        if spec.log_param:
            since = _stamp(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=int(values[spec.log_param]) + 1))
        from okta_magic.snapshot.sync import sync_org

        report = sync_org(session, target, tables=missing, full=short, since=since, say=say)
        refused = [t for t in report.tables if t.name in missing and t.status not in USABLE]
        if refused:
            first = refused[0]
            raise NotSynced(f"{spec.name} needs {first.name}, which the sync could not read ({first.note}).",
                            (first.name,)).with_fix("audit_role", role=spec.role)
    return run(target, spec, values)
