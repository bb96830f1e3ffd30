"""The one entry point both front ends call (``%okta_sync`` and ``okta_magic.sync()``): the plan only, a sync, or a
sync and then its Parquet export."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from okta_magic.snapshot.sync import sync_org

if TYPE_CHECKING:
    from okta_magic.sessions.session import Session


def sync_as_asked(session: Session, path: str | os.PathLike[str] | None = None, *, full: bool = False,
                  since: str | None = None, tables: Iterable[str] | None = None, plan: bool = False,
                  parquet: bool = False, parquet_dir: str | os.PathLike[str] | None = None,
                  say: Callable[[str], object] = lambda line: None) -> Any:
    """What ``%okta_sync`` and ``okta_magic.sync()`` ask for: the plan only, a sync, or a sync then its Parquet
    export (under ``parquet_dir``, default ``<org host>.parquet``); the plan, the report, or the export."""
    if plan:
        from okta_magic.snapshot.plan import plan_sync

        return plan_sync(session, path, full=full, tables=tables)
    report = sync_org(session, path, full=full, since=since, tables=tables, say=say)
    if not parquet:
        return report
    from okta_magic.snapshot.parquet import export_parquet

    export = export_parquet(report.path, parquet_dir)
    export.sync = report
    return export
