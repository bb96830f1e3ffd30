"""The sync engine: the org's tables into the snapshot's working copy, table by table, then swapped in whole.

    report = sync_org(session)                 # <org host>.duckdb in the working directory
    report = sync_org(session, full=True)      # every table fetched afresh
    print(report.describe())

A table the token cannot read (a scope it lacks, an admin role that refuses it) is skipped with a
one-line note and recorded so in ``_tables`` (``status``: ``skipped``, or ``kept`` when an earlier
sync's rows stay, with the time they are from): never an empty table presented as complete. Anything
else that stops the sync (Ctrl-C, the org failing) drops the working copy: the snapshot stays as the
last sync left it.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_magic.errors import InsufficientScope, PermissionDenied
from okta_magic.snapshot.run import Run, TableReport, lacking
from okta_magic.snapshot.store import Store, existing_tables, utc_now
from okta_magic.snapshot.tables import TABLES

if TYPE_CHECKING:
    from okta_magic.sessions.session import Session

__all__ = ["path_for", "sync_org", "SyncReport", "TableReport", "default_path", "Run", "lacking", "NEEDS"]

NEEDS = {"group_members": "groups", "app_user_assignments": "apps", "app_group_assignments": "apps",
         "user_factors": "users", "policy_rules": "policies", "app_grants": "apps"}


def default_path(org_url: str) -> Path:
    """``<org host>.duckdb`` in the working directory (``dev-123.okta.com.duckdb``; a port joins with ``_``)."""
    from urllib.parse import urlsplit

    parts = urlsplit(org_url)
    host = (parts.hostname or "org") + (f"_{parts.port}" if parts.port else "")
    return Path(f"{host}.duckdb")


def path_for(session: Session, path: str | os.PathLike[str] | None) -> Path:
    """``path``, else the signed-in org's own snapshot (``<host>.duckdb`` in the working directory)."""
    if path is not None:
        return Path(path)
    if not session.org_url:
        from okta_magic.errors import NotSignedIn

        raise NotSignedIn("Not signed in, and no snapshot named:").with_fix("sign_in")
    return default_path(str(session.org_url))


@dataclass
class SyncReport:
    """A sync's outcome: the snapshot's path, each table's report, the requests and the time it took."""

    path: Path
    tables: list[TableReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return sum(t.requests for t in self.tables)

    @property
    def notes(self) -> list[str]:
        """One line per table that was not synced."""
        return [f"{t.name}: {t.note}" for t in self.tables if t.status in ("skipped", "kept")]

    def describe(self) -> str:
        synced = [t for t in self.tables if t.status == "synced"]
        incremental = sum(t.mode == "incremental" for t in synced)
        rows = sum(t.rows for t in synced)
        return (f"Synced {len(synced)} tables ({incremental} incrementally, {rows:,} rows) into {self.path} with "
                f"{self.requests:,} requests in {self.seconds:.1f} s.")

    def __repr__(self) -> str:
        return "\n".join([self.describe(), *self.notes])


def _skip(run: Run, names: Iterable[str], why: str) -> None:
    for name in names:
        before = run.previous.get(name)
        if before and run.store.has(name):
            stamp = before.get("synced_at")
            run.reports[name] = TableReport(name, "kept", before.get("mode") or "", 0, 0,
                                            f"not refreshed ({why}); its rows are from {stamp:%Y-%m-%d %H:%M} UTC"
                                            if stamp else f"not refreshed ({why})", before.get("since"))
        else:
            run.reports[name] = TableReport(name, "skipped", note=f"skipped: {why}")


def _why_not(run: Run, names: tuple[str, ...], only: set[str] | None) -> str | None:
    """Why a step cannot run now (a scope the token lacks, a table it needs not synced), else None."""
    table = next(t for t in TABLES if t.name == names[0])
    if lacking(run.held, table.scope):
        return f"the token lacks {table.scope}"
    need = NEEDS.get(names[0])
    if need and run.reports.get(need, TableReport(need, "")).status != "synced" and not (
            only is not None and need not in only and run.store.has(need)):
        return f"it needs the {need} table, which was not synced"
    return None


def _run_steps(run: Run, only: set[str] | None, say: Callable[[str], object]) -> None:
    from okta_magic.snapshot.steps import STEPS

    for names, step in STEPS:
        if only is not None and not only & set(names):
            continue
        why = _why_not(run, names, only)
        if why is None:
            try:
                step(run)
                continue
            except (InsufficientScope, PermissionDenied) as exc:
                why = f"the org refused it ({exc.status} {exc.error_code or ''})".replace(" )", ")")
                run.extra = 0
        _skip(run, names, why)
        say(f"{names[0]}: {run.reports[names[0]].note}")


def _meta_rows(run: Run, now: dt.datetime) -> list[dict[str, Any]]:
    rows = []
    for table in TABLES:
        report = run.reports.get(table.name)
        base = {"table_name": table.name, "endpoints": "; ".join(table.endpoints), "scope": table.scope,
                "admin_role": table.role, "keys": ", ".join(table.keys), "incremental": table.incremental}
        if report is None:  # not asked for this time: as the last sync left it
            rows.append({**base, **{k: v for k, v in run.previous.get(table.name, {}).items() if k not in base}}
                        if table.name in run.previous else {**base, "status": "not synced"})
            continue
        synced = report.status == "synced"
        rows.append({**base, "status": report.status, "note": report.note or None,
                     "synced_at": now if synced else run.previous.get(table.name, {}).get("synced_at"),
                     "mode": report.mode or None, "requests": report.requests, "rows": report.rows,
                     "since": report.since})
    return rows


def sync_org(session: Session, path: str | os.PathLike[str] | None = None, *, full: bool = False,
             since: str | None = None, tables: Iterable[str] | None = None,
             say: Callable[[str], object] = lambda line: None) -> SyncReport:
    """Sync the signed-in org into the snapshot at ``path`` (default: named after the org's host).

    ``full``: every table fetched afresh; ``since``: where the System Log's first pull starts (Okta's
    timestamp form; default 7 days back); ``tables``: only these (the others stay as they are); ``say``
    gets a line per table skipped.
    """
    started = time.monotonic()
    session.current_token()
    client = session.client
    target = path_for(session, path)
    only = set(tables) if tables is not None else None
    if only is not None:
        unknown = only - {t.name for t in TABLES}
        if unknown:
            from okta_magic.errors import RequestError

            raise RequestError(f"No table {sorted(unknown)[0]!r} in a snapshot; the tables are "
                               + ", ".join(t.name for t in TABLES) + ".")
    previous = existing_tables(target)
    store = Store(target, fresh=full and only is None)
    try:
        run = Run(client, store, previous, full=full, since=since, held=session.held_scopes())
        _run_steps(run, only, say)
        docs = {(t.name, c.name): c.doc for t in TABLES for c in t.all_columns()}
        store.write_meta(_meta_rows(run, utc_now()), docs)
        store.commit()
    except BaseException:
        store.abort()
        raise
    report = SyncReport(target, [run.reports[t.name] for t in TABLES if t.name in run.reports])
    report.seconds = time.monotonic() - started
    return report

