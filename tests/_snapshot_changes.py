"""Random changes to a sandbox org through its HTTP API, as an admin would make them (the snapshot tests).

Each change is what an analyst's org sees every day: people created, renamed, moved to another department
(the group rules move them), deactivated, reactivated, deleted; memberships; app assignments to people and
groups; admin roles granted to and revoked from people and groups; factors reset; groups created and deleted.
"""

from __future__ import annotations

import random
from collections.abc import Callable

import duckdb
import httpx

from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.policy import DEFAULT_RATE_LIMITS

UNLIMITED = {bucket: 10_000_000 for bucket in DEFAULT_RATE_LIMITS}  # hundreds of syncs a minute, no pacing waits
ROLES = ("HELP_DESK_ADMIN", "READ_ONLY_ADMIN", "REPORT_ADMIN", "APP_ADMIN", "USER_ADMIN")
DEPARTMENTS = ("Engineering", "Sales", "Finance", "IT", "Marketing", "Support")


class Changes:
    """A seeded generator of org changes, made through ``http`` (an admin's client of the sandbox)."""

    def __init__(self, sb: Sandbox, http: httpx.Client, seed: int) -> None:
        self.sb, self.http, self.rng = sb, http, random.Random(seed)
        self.made: list[str] = []

    def _users(self, status: str | None = None) -> list[dict]:
        found = self.http.get("/api/v1/users", params={"search": 'lastUpdated gt "1970-01-01T00:00:00.000Z"',
                                                        "limit": 200}).json()
        demo = {p.id for p in self.sb.demo_users.values()}
        return [u for u in found if u["id"] not in demo and (status is None or u["status"] == status)]

    def _pick(self, items: list) -> object | None:
        return self.rng.choice(items) if items else None

    def _groups(self) -> list[dict]:
        return [g for g in self.http.get("/api/v1/groups").json() if g["type"] == "OKTA_GROUP"]

    def _apps(self) -> list[dict]:
        return [a for a in self.http.get("/api/v1/apps").json() if not a["label"].startswith("okta_magic")]

    def create_user(self) -> None:
        n = self.rng.randrange(10**9)
        profile = {"firstName": f"Test{n}", "lastName": "Person", "email": f"t{n}@example.com",
                   "login": f"t{n}@example.com", "department": self.rng.choice(DEPARTMENTS)}
        self.http.post("/api/v1/users", params={"activate": "true"}, json={"profile": profile}).raise_for_status()

    def update_user(self) -> None:
        user = self._pick(self._users("ACTIVE"))
        if user:
            self.http.post(f"/api/v1/users/{user['id']}", json={"profile": {
                "department": self.rng.choice(DEPARTMENTS), "title": f"Title {self.rng.randrange(99)}"}})

    def deactivate(self) -> None:
        user = self._pick([u for u in self._users() if u["status"] != "DEPROVISIONED"])
        if user:
            self.http.post(f"/api/v1/users/{user['id']}/lifecycle/deactivate")

    def reactivate(self) -> None:
        user = self._pick(self._users("DEPROVISIONED"))
        if user:
            self.http.post(f"/api/v1/users/{user['id']}/lifecycle/reactivate")

    def delete_user(self) -> None:
        user = self._pick(self._users())
        if user:
            self.http.delete(f"/api/v1/users/{user['id']}")
            if user["status"] != "DEPROVISIONED":
                self.http.delete(f"/api/v1/users/{user['id']}")

    def membership(self) -> None:
        group, user = self._pick(self._groups()), self._pick(self._users())
        if group and user:
            verb = self.http.put if self.rng.random() < 0.6 else self.http.delete
            verb(f"/api/v1/groups/{group['id']}/users/{user['id']}")

    def assign_app(self) -> None:
        app, user = self._pick(self._apps()), self._pick(self._users("ACTIVE"))
        if app and user:
            if self.rng.random() < 0.7:
                self.http.post(f"/api/v1/apps/{app['id']}/users", json={"id": user["id"]})
            else:
                self.http.delete(f"/api/v1/apps/{app['id']}/users/{user['id']}")

    def assign_app_group(self) -> None:
        app, group = self._pick(self._apps()), self._pick(self._groups())
        if app and group:
            if self.rng.random() < 0.7:
                self.http.put(f"/api/v1/apps/{app['id']}/groups/{group['id']}", json={})
            else:
                self.http.delete(f"/api/v1/apps/{app['id']}/groups/{group['id']}")

    def grant_role(self) -> None:
        if self.rng.random() < 0.7:
            user = self._pick(self._users("ACTIVE"))
            if user:
                self.http.post(f"/api/v1/users/{user['id']}/roles", json={"type": self.rng.choice(ROLES)})
        else:
            group = self._pick(self._groups())
            if group:
                self.http.post(f"/api/v1/groups/{group['id']}/roles", json={"type": self.rng.choice(ROLES)})

    def revoke_role(self) -> None:
        """A role taken from a person or a group that holds one (no change when none does)."""
        held = [(f"/api/v1/users/{u['id']}/roles", r) for u in self._users()
                for r in self.http.get(f"/api/v1/users/{u['id']}/roles").json() if r["assignmentType"] == "USER"]
        held += [(f"/api/v1/groups/{g['id']}/roles", r) for g in self._groups()
                 for r in self.http.get(f"/api/v1/groups/{g['id']}/roles").json()]
        pick = self._pick(held)
        if pick:
            path, role = pick
            self.http.delete(f"{path}/{role['id']}")

    def reset_factors(self) -> None:
        user = self._pick(self._users("ACTIVE"))
        if user:
            self.http.post(f"/api/v1/users/{user['id']}/lifecycle/reset_factors")

    def create_group(self) -> None:
        self.http.post("/api/v1/groups", json={"profile": {"name": f"Team {self.rng.randrange(10**6)}"}})

    def delete_group(self) -> None:
        group = self._pick(self._groups())
        if group:
            self.http.delete(f"/api/v1/groups/{group['id']}")

    def some(self, count: int) -> list[str]:
        """Make ``count`` random changes; their names, in order."""
        kinds: list[Callable[[], None]] = [
            self.create_user, self.update_user, self.update_user, self.deactivate, self.reactivate,
            self.delete_user, self.membership, self.membership, self.assign_app, self.assign_app_group,
            self.grant_role, self.revoke_role, self.reset_factors, self.create_group, self.delete_group]
        done = []
        for _ in range(count):
            change = self.rng.choice(kinds)
            change()
            done.append(change.__name__)
        return done


SYNC_TIME_COLUMNS = {"_tables": ("synced_at", "mode", "requests", "note")}


def tables_of(path: str) -> dict[str, list[tuple]]:
    """Every table of a snapshot as sorted rows (``_tables`` without what differs by how it was synced)."""
    con = duckdb.connect(path, read_only=True)
    try:
        out = {}
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall():
            drop = SYNC_TIME_COLUMNS.get(name, ())
            exclude = f" EXCLUDE ({', '.join(drop)})" if drop else ""
            out[name] = sorted(con.execute(f'SELECT *{exclude} FROM "{name}"').fetchall(), key=repr)
        return out
    finally:
        con.close()
