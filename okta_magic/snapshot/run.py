"""A sync in progress (:class:`Run`): the client, the snapshot's working copy, what the last sync left and
what changed since; each table's step (:mod:`okta_magic.snapshot.steps`) reads and writes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from okta_magic.errors import InsufficientScope, OktaApiError, PermissionDenied
from okta_magic.snapshot.store import Staged, Store
from okta_magic.snapshot.tables import Column, Table

if TYPE_CHECKING:
    from okta_magic.http.client import OktaClient

__all__ = ["Run", "TableReport", "lacking", "LOG_OVERLAP"]

LOG_OVERLAP = dt.timedelta(minutes=5)  # events may be published a little after their time (Okta's ingestion)


def lacking(held: Iterable[str], scope: str) -> bool:
    """The token's scopes (when it names any) lack ``scope`` (a ``.manage`` covers its ``.read``)."""
    held = set(held)
    return bool(held) and scope not in held and scope.replace(".read", ".manage") not in held


@dataclass
class TableReport:
    """What a sync did with one table."""

    name: str
    status: str  # synced, skipped, kept (an earlier sync's rows), unchanged (not asked for)
    mode: str = ""
    requests: int = 0
    rows: int = 0
    note: str = ""
    since: str | None = None


class Run:
    """A sync in progress: the client, the working copy, what the last sync left and what changed since."""

    def __init__(self, client: OktaClient, store: Store, previous: dict[str, dict[str, Any]], *, full: bool,
                 since: str | None, held: Iterable[str]) -> None:
        self.client, self.store, self.previous, self.full, self.since = client, store, previous, full, since
        self.held = tuple(held)
        self.reports: dict[str, TableReport] = {}
        self.extra = 0  # requests made for the next table finished (its schema, a count)
        self.log_mark: str | None = None  # the newest event the last sync held: events since are new
        self.log_held: set[str] = set()  # the uuids of the events at the mark the last sync held already
        self.changed_users: set[str] = set()
        self.deleted_users: set[str] = set()
        self.old_deprovisioned: set[str] = set()
        self.changed_groups: set[str] = set()
        self.deleted_groups: set[str] = set()
        self.dirty_apps: set[str] = set()
        self.deleted_apps: set[str] = set()

    def incremental(self, name: str) -> bool:
        """The table may be refreshed in place: no full sync asked, and the last sync left it complete."""
        return (not self.full and self.previous.get(name, {}).get("status") == "synced" and self.store.has(name)
                and self.reports.get(name, TableReport(name, "synced")).status == "synced")

    def events_known(self) -> bool:
        """This sync read the System Log on from where the last one stopped (so lifecycle events are known)."""
        report = self.reports.get("system_log")
        return report is not None and report.status == "synced" and report.mode == "incremental" \
            and self.log_mark is not None

    def event_targets(self, types: Iterable[str], target_type: str) -> set[str]:
        """The ids of the ``target_type`` targets of the events of ``types`` since the last sync."""
        return set(self.store.values(
            "SELECT DISTINCT t->>'$.id' FROM (SELECT unnest(from_json(targets, '[\"JSON\"]')) AS t, eventType, "
            "published FROM system_log) WHERE published >= ?::TIMESTAMPTZ AND eventType IN "
            "(SELECT unnest(?::VARCHAR[])) AND t->>'$.type' = ?", [self.log_mark, list(types), target_type]))

    def log_since(self) -> str | None:
        """Where this sync's System Log pull starts: the newest event held (less the overlap), else ``since``."""
        if self.incremental("system_log"):
            newest = self.store.scalar("SELECT max(raw->>'$.published') FROM system_log")
            self.log_mark = newest or self.previous["system_log"].get("since")
            if self.log_mark:
                return _iso(dt.datetime.fromisoformat(self.log_mark.replace("Z", "+00:00")) - LOG_OVERLAP)
        since = self.since or self.previous.get("system_log", {}).get("since")
        return _absolute(self.client, since) if since else None

    def first_since(self, since: str | None) -> str | None:
        """The ``since`` of the System Log's first pull, kept in ``_tables`` for a later full sync."""
        if self.incremental("system_log"):
            return self.previous["system_log"].get("since")
        return since

    def user_schema(self) -> dict[str, Any] | None:
        """The org's user schema (for typed profile columns); None without ``okta.schemas.read``."""
        if lacking(self.held, "okta.schemas.read"):
            return None
        try:
            self.extra += 1
            body = self.client.request("GET", "/api/v1/meta/schemas/user/default").json()
        except (InsufficientScope, PermissionDenied):
            return None
        return body if isinstance(body, dict) else None

    def user_count(self) -> int:
        """How many users the org has (the Everyone group's ``usersCount``), 0 when it cannot tell."""
        try:
            self.extra += 1
            groups = self.client.request("GET", "/api/v1/groups", params={"filter": 'type eq "BUILT_IN"',
                                                                          "expand": "stats"}).json()
            return int(max((g.get("_embedded", {}).get("stats", {}).get("usersCount") or 0) for g in groups))
        except (OktaApiError, ValueError, TypeError, AttributeError):
            return 0

    def finish(self, table: Table, staged: Staged, *, columns: list[Column] | None = None, keep: bool = False,
               drop: Iterable[Any] = (), drop_column: str | None = None, since: str | None = None) -> None:
        """Build ``table`` from what was staged (``keep``: over the rows it held, less ``drop``) and report it."""
        rows = self.store.build(table, staged, columns or table.all_columns(), keep="all" if keep else None,
                                drop=sorted(set(drop)), drop_column=drop_column)
        self.reports[table.name] = TableReport(table.name, "synced", "incremental" if keep else "full",
                                               staged.requests + self.extra, rows, since=since)
        self.extra = 0


def _iso(moment: dt.datetime) -> str:
    """Okta's timestamp form, to the millisecond."""
    moment = moment.astimezone(dt.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _absolute(client: OktaClient, since: str) -> str:
    """``since`` as a time: ``7d``/``12h`` count back from the org's clock; a timestamp stays as it is."""
    import re

    found = re.fullmatch(r"\s*(\d+)\s*([dh])\s*", since)
    if not found:
        return since
    from okta_magic.pulls.partition import _org_now

    hours = int(found.group(1)) * (24 if found.group(2) == "d" else 1)
    return _iso(dt.datetime.fromtimestamp(_org_now(client), dt.timezone.utc) - dt.timedelta(hours=hours))
