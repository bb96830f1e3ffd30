"""What a sync will do before it does it: per table, full or incremental, the requests it expects, the scope
and admin role it needs and whether the token lacks the scope (that table would be skipped, said in a line).

Three cheap requests size the org: the groups with their member counts (``expand=stats``: the users, the
groups and the member pages), the apps, and the users changed since the snapshot's newest (incremental only).
The figures for per-admin and configuration tables are the last sync's, where there is one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okta_magic.errors import OktaApiError
from okta_magic.snapshot.run import lacking
from okta_magic.snapshot.store import existing_tables
from okta_magic.snapshot.tables import POLICY_TYPES, TABLES

if TYPE_CHECKING:
    from okta_magic.sessions.session import Session

__all__ = ["plan_sync", "Plan", "PlannedTable"]


@dataclass
class PlannedTable:
    name: str
    mode: str
    requests: int
    scope: str
    role: str
    lacks: bool
    endpoints: str


@dataclass
class Plan:
    """The plan of a sync: one row per table, the requests in all, the scopes the token lacks."""

    path: str
    tables: list[PlannedTable] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(t.requests for t in self.tables if not t.lacks)

    @property
    def lacking_scopes(self) -> list[str]:
        return sorted({t.scope for t in self.tables if t.lacks})

    def __repr__(self) -> str:
        lines = [f"Sync plan for {self.path}: about {self.requests:,} requests."]
        lines += [f"  {t.name:<22} {t.mode:<11} ~{t.requests:>6,} requests  {t.scope}"
                  + ("  (the token lacks it: skipped)" if t.lacks else "") for t in self.tables]
        if self.lacking_scopes:
            lines.append("The token lacks: " + " ".join(self.lacking_scopes))
        return "\n".join(lines)


def _sizes(session: Session) -> dict[str, Any]:
    """The org's size from three cheap requests: users, groups and their members, apps (0s when refused)."""
    client = session.client
    out: dict[str, Any] = {"users": 0, "groups": 0, "member_pages": 0, "apps": 0, "oidc": 0}
    try:
        groups = client.request("GET", "/api/v1/groups", params={"expand": "stats"}).json()
        counts = [int(((g.get("_embedded") or {}).get("stats") or {}).get("usersCount") or 0) for g in groups]
        out.update(groups=len(groups), users=max(counts, default=0),
                   member_pages=sum(max(1, math.ceil(c / 1000)) for c in counts))
    except (OktaApiError, ValueError, TypeError, AttributeError):
        pass
    try:
        apps = client.request("GET", "/api/v1/apps", params={"limit": "200"}).json()
        out.update(apps=len(apps), oidc=sum(a.get("signOnMode") == "OPENID_CONNECT" for a in apps))
    except (OktaApiError, ValueError, TypeError, AttributeError):
        pass
    return out


def _full_cost(name: str, size: dict[str, Any], before: dict[str, Any]) -> int:
    users, apps = size["users"], size["apps"]
    costs = {"users": 2 + max(1, math.ceil(users / 200)), "groups": max(1, math.ceil(size["groups"] / 200)),
             "group_members": size["member_pages"], "apps": max(1, math.ceil(apps / 200)),
             "app_group_assignments": apps, "app_user_assignments": apps, "app_grants": size["oidc"],
             "user_factors": users, "policies": len(POLICY_TYPES)}
    return costs.get(name, int(before.get("requests") or 1))


def plan_sync(session: Session, path: str | os.PathLike[str] | None = None, *, full: bool = False,
              tables: Iterable[str] | None = None) -> Plan:
    """The plan of ``sync_org(session, path, full=..., tables=...)``, from three requests."""
    from okta_magic.snapshot.sync import path_for

    session.current_token()
    target = path_for(session, path)
    previous = existing_tables(target)
    size = _sizes(session)
    held = session.held_scopes()
    only = set(tables) if tables is not None else None
    plan = Plan(str(target))
    for table in TABLES:
        if only is not None and table.name not in only:
            continue
        before = previous.get(table.name, {})
        incremental = not full and before.get("status") == "synced" and before.get("mode") == "incremental"
        again = not full and before.get("status") == "synced"
        cost = int(before.get("requests") or 0) if incremental else _full_cost(table.name, size, before)
        mode = "incremental" if again and table.incremental.split()[0] not in ("full", "the", "every") else "full"
        plan.tables.append(PlannedTable(table.name, mode, cost, table.scope, table.role, lacking(held, table.scope),
                                        "; ".join(table.endpoints)))
    return plan
