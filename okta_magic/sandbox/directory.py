"""The sandbox org's in-memory store: users, groups, memberships, apps, admin roles, System Log.

Owns the objects and their serialized JSON (cached per object, because a
100,000-user pull re-reads every user once and serialization is the hot path),
ordered listings with cursor positions, an index of users by ``created`` (so that
a partitioned pull's ``search`` windows look only at the users in their window),
and every mutation (under one lock, since the HTTP server thread and the test
thread both reach in). It does not know HTTP, paging parameters or permissions.
"""

from __future__ import annotations

import bisect
import random
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from okta_magic.sandbox import data
from okta_magic.sandbox.data import DemoApp, DemoUser, SeedData, iso
from okta_magic.sandbox.search import Predicate, Span

ROLE_LABELS = {
    "SUPER_ADMIN": "Super Administrator",
    "ORG_ADMIN": "Organizational Administrator",
    "APP_ADMIN": "Application Administrator",
    "USER_ADMIN": "Group Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "READ_ONLY_ADMIN": "Read-only Administrator",
    "REPORT_ADMIN": "Report Administrator",
    "GROUP_MEMBERSHIP_ADMIN": "Group Membership Administrator",
}


class Listing:
    """An ordered id list with each id's insertion sequence number, so a cursor survives changes.

    A cursor is the id of the last object returned; its sequence number (kept even
    after the object is deleted) tells where the next page starts. A listing sorted by
    an attribute (``sortBy``) finds the cursor by its place in the list instead.
    """

    __slots__ = ("ids", "seqs", "places")

    def __init__(self, ids: list[str], seq: dict[str, int], *, sorted_by_attribute: bool = False) -> None:
        self.ids = ids
        self.seqs = [] if sorted_by_attribute else [seq[i] for i in ids]
        self.places = {oid: n for n, oid in enumerate(ids)} if sorted_by_attribute else None

    def start_after(self, cursor: str, seq: int) -> int | None:
        """Where the page after ``cursor`` starts, or None when a sorted listing no longer holds it."""
        if self.places is not None:
            place = self.places.get(cursor)
            return None if place is None else place + 1
        return bisect.bisect_right(self.seqs, seq)


class CreatedIndex:
    """The users ordered by ``created`` as searches compare it (text lowercased), ties by id: ``sortBy=created``'s
    own order. Users whose ``created`` is not text (none in a seeded org) are kept aside, in list order.

    Built on the first search that bounds ``created`` or sorts by it, again after any change to the directory.
    """

    __slots__ = ("version", "keys", "users", "others")

    def __init__(self, users: Iterable[dict[str, Any]], version: int) -> None:
        users = list(users)
        text = [u for u in users if _indexed(u)]
        # One string per user sorts as (created, id) would ("\0" sorts before any character of a timestamp),
        # and strings, unlike 100,000 tuples, set off no garbage collection passes over the whole org.
        created = [u["created"].lower() for u in text]
        ranks = [key + "\0" + u["id"] for key, u in zip(created, text, strict=False)]
        order = sorted(range(len(text)), key=ranks.__getitem__)
        self.version = version
        self.users = [text[i] for i in order]
        self.keys = [created[i] for i in order]
        self.others = [u for u in users if not _indexed(u)]

    def within(self, span: Span | None) -> list[dict[str, Any]]:
        """The users whose ``created`` lies in ``span`` (all when None), in ``created`` order."""
        if span is None:
            return self.users
        start = 0 if span.low is None else (bisect.bisect_right if span.low_open else bisect.bisect_left)(
            self.keys, span.low)
        end = len(self.keys) if span.high is None else (bisect.bisect_left if span.high_open else bisect.bisect_right)(
            self.keys, span.high)
        return self.users[start:end]


def _indexed(user: dict[str, Any]) -> bool:
    """A user the ``created`` index orders: ``created`` is text (without the NUL its ranks use)."""
    created = user.get("created")
    return isinstance(created, str) and "\0" not in created


def sort_key(path: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A key for ``sortBy`` (a dotted property such as ``profile.lastName``): the value, missing ones
    last, then the id, as Okta orders ties ("ordered by id")."""
    parts = path.split(".")

    def key(obj: dict[str, Any]) -> tuple[Any, ...]:
        value: Any = obj
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or isinstance(value, (dict, list)):
            return (2, "", obj["id"])
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return (1, str(value).lower(), obj["id"])
        return (0, value, obj["id"])

    return key


class Directory:
    """Every object of the org, in list order, with JSON caches."""

    def __init__(self, seeded: SeedData, clock: Callable[[], float], rng: random.Random) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self._rng = rng
        self.base_url = ""
        self.users: dict[str, dict[str, Any]] = {u["id"]: u for u in seeded.users}
        # Insertion order numbers of every object ever created (never removed: cursors of
        # deleted objects still resolve). Listings are always in this order.
        self.seq: dict[str, int] = {}
        for oid in [u["id"] for u in seeded.users] + [g["id"] for g in seeded.groups] + [a["id"] for a in seeded.apps]:
            self.seq[oid] = len(self.seq)
        self.by_login: dict[str, str] = {u["profile"]["login"].lower(): u["id"] for u in seeded.users}
        self.demo_users: dict[str, DemoUser] = seeded.demo_users
        self.groups: dict[str, dict[str, Any]] = {g["id"]: g for g in seeded.groups}
        self.members: dict[str, dict[str, None]] = {gid: dict.fromkeys(uids) for gid, uids in seeded.members.items()}
        self.everyone_id = seeded.groups[0]["id"]
        self.apps: dict[str, dict[str, Any]] = {a["id"]: a for a in seeded.apps}
        self.app_groups: dict[str, list[str]] = dict(seeded.app_groups)
        self.roles: dict[str, list[dict[str, Any]]] = {}
        # Roles assigned to groups (every member holds them) and the custom roles' permissions, by role id:
        # filled by the security seed (okta_magic.sandbox.security) and the role API.
        self.group_roles: dict[str, list[dict[str, Any]]] = {}
        self.custom_permissions: dict[str, tuple[str, ...]] = {}
        for uid, role_types in seeded.roles.items():
            for role in role_types:
                self.assign_role(uid, role)
        self.events: list[dict[str, Any]] = []
        self._event_keys: list[tuple[str, int]] = []
        self._event_json: dict[int, bytes] = {}
        self._seq = 0
        self.events = list(seeded.events)  # already in published order
        self._event_keys = [(e["published"], i + 1) for i, e in enumerate(self.events)]
        self._seq = len(self.events)
        self.api_tokens: dict[str, str] = {}
        self.version = 0
        self._user_json: dict[str, bytes] = {}
        self._listings: dict[Any, Listing] = {}
        self._by_created: CreatedIndex | None = None

    # ---- serialization -------------------------------------------------------------

    def set_base_url(self, url: str) -> None:
        """Links carry absolute URLs on the org host, so caches depend on it."""
        with self.lock:
            self.base_url = url
            self._user_json.clear()

    def user_json(self, uid: str) -> bytes:
        """A user as Okta lists it (``_links`` with ``self`` only), serialized once."""
        cached = self._user_json.get(uid)
        if cached is None:
            user = self.users[uid]
            cached = orjson.dumps({**user, "_links": {"self": {"href": f"{self.base_url}/api/v1/users/{uid}"}}})
            self._user_json[uid] = cached
        return cached

    def user_detail(self, uid: str) -> dict[str, Any]:
        """A user as ``GET /api/v1/users/{id}`` returns it: with lifecycle links for its status."""
        user = self.users[uid]
        base = f"{self.base_url}/api/v1/users/{uid}"
        links: dict[str, Any] = {}
        status = user["status"]
        ops = {
            "STAGED": ("activate",),
            "PROVISIONED": ("reactivate", "deactivate"),
            "ACTIVE": ("suspend", "resetPassword", "expirePassword", "deactivate"),
            "SUSPENDED": ("unsuspend", "deactivate"),
            "LOCKED_OUT": ("unlock", "deactivate"),
            "PASSWORD_EXPIRED": ("resetPassword", "deactivate"),
            "RECOVERY": ("resetPassword", "deactivate"),
            "DEPROVISIONED": ("activate",),
        }[status]
        if status != "DEPROVISIONED":
            ops += ("resetFactors",)  # recorded createUser (STAGED) and SPEC examples carry it
        paths = {
            "resetPassword": "reset_password",
            "expirePassword": "expire_password",
            "resetFactors": "reset_factors",
        }
        for op in ops:
            links[op] = {"href": f"{base}/lifecycle/{paths.get(op, op)}", "method": "POST"}
        links["schema"] = {"href": f"{self.base_url}/api/v1/meta/schemas/user/osc{data.USER_TYPE_ID[3:]}"}
        links["self"] = {"href": base}
        links["type"] = {"href": f"{self.base_url}/api/v1/meta/types/user/{user['type']['id']}"}
        return {**user, "_links": links}

    def group_json(self, gid: str) -> dict[str, Any]:
        group = self.groups[gid]
        base = f"{self.base_url}/api/v1/groups/{gid}"
        return {
            **group,
            "_links": {"logo": data._LOGOS, "users": {"href": f"{base}/users"}, "apps": {"href": f"{base}/apps"}},
        }

    def app_json(self, app_id: str) -> dict[str, Any]:
        app = self.apps[app_id]
        base = f"{self.base_url}/api/v1/apps/{app_id}"
        links: dict[str, Any] = {
            "uploadLogo": {"href": f"{base}/logo", "hints": {"allow": ["POST"]}},
            "appLinks": [
                {"name": link, "href": f"{self.base_url}/home/{app['name']}/{app_id}/2", "type": "text/html"}
                for link in app["visibility"]["appLinks"]
            ],
            "profileEnrollment": {"href": f"{self.base_url}/api/v1/policies/rstsandboxenroll05d7"},
            "policies": {"href": f"{base}/policies", "hints": {"allow": ["PUT"]}},
            "groups": {"href": f"{base}/groups"},
            "logo": [
                {
                    "name": "medium",
                    "href": "https://ok12static.oktacdn.com/assets/img/logos/default.6770228fb0dab49a1695ef440a5279bb.png",
                    "type": "image/png",
                }
            ],
            "accessPolicy": {"href": f"{self.base_url}/api/v1/policies/rstsandboxaccess5d7"},
            "users": {"href": f"{base}/users"},
        }
        lifecycle = "deactivate" if app["status"] == "ACTIVE" else "activate"
        links[lifecycle] = {"href": f"{base}/lifecycle/{lifecycle}"}
        return {**app, "_links": links}

    def event_json(self, index: int) -> bytes:
        cached = self._event_json.get(index)
        if cached is None:
            cached = self._event_json[index] = orjson.dumps(self.events[index])
        return cached

    # ---- lookups -------------------------------------------------------------------

    def find_user(self, id_or_login: str) -> str | None:
        """The id of a user given its id or its login (Okta accepts both, login case-insensitively)."""
        if id_or_login in self.users:
            return id_or_login
        return self.by_login.get(id_or_login.lower())

    def listing(self, key: Any, build: Callable[[], list[str]], *, sorted_by_attribute: bool = False) -> Listing:
        """A cached ordered listing; invalidated whenever the directory changes."""
        with self.lock:
            full_key = (self.version, key)
            found = self._listings.get(full_key)
            if found is None:
                if len(self._listings) > 64:
                    self._listings.clear()
                found = self._listings[full_key] = Listing(build(), self.seq, sorted_by_attribute=sorted_by_attribute)
            return found

    def user_ids(self, include_deprovisioned: bool = False) -> list[str]:
        """The org's users in list order (the default listing omits DEPROVISIONED, like Okta)."""
        return list(
            self.listing(
                ("users", include_deprovisioned),
                lambda: [
                    uid for uid, u in self.users.items() if include_deprovisioned or u["status"] != "DEPROVISIONED"
                ],
            ).ids
        )

    def matching(self, kind: str, key: Any, predicate: Predicate, sort: tuple[str, bool] | None = None,
                 created: Span | None = None) -> Listing:
        """The users (or groups) a search/filter matches, in list order or sorted by ``sort``
        (attribute, descending). ``created``: the span every user the search matches has its ``created`` in
        (from :func:`~okta_magic.sandbox.search.compile_search`), so that only those users are looked at."""
        objects = self.users if kind == "users" else self.groups

        def build() -> list[str]:
            if kind == "users" and (created is not None or (sort is not None and sort[0] == "created")):
                return self._by_created_matching(predicate, sort, created)
            found = [o for o in objects.values() if predicate(o)]
            if sort is not None:
                found.sort(key=sort_key(sort[0]), reverse=sort[1])
            return [o["id"] for o in found]

        return self.listing((kind, key, sort), build, sorted_by_attribute=sort is not None)

    def _by_created_matching(self, predicate: Predicate, sort: tuple[str, bool] | None,
                             created: Span | None) -> list[str]:
        """The users a search matches, looked up in the ``created`` index: the same ids, in the same order, as
        scanning every user (list order, or ``sort``), without testing the users outside ``created``."""
        index = self._by_created
        if index is None or index.version != self.version:
            index = self._by_created = CreatedIndex(self.users.values(), self.version)
        found = [u for u in index.within(created) if predicate(u)]
        if sort is not None and sort[0] == "created" and not index.others:
            # The index is sortBy=created's order (ties by id, so keys are unique: descending is the reverse).
            return [u["id"] for u in (reversed(found) if sort[1] else found)]
        found += [u for u in index.others if predicate(u)]
        if sort is not None:
            found.sort(key=sort_key(sort[0]), reverse=sort[1])
        else:
            found.sort(key=lambda u: self.seq[u["id"]])  # list order: the users' insertion order
        return [u["id"] for u in found]

    def groups_of(self, uid: str) -> list[str]:
        return [gid for gid, members in self.members.items() if uid in members]

    def app_user_ids(self, app_id: str) -> list[str]:
        """Users assigned to an app through its groups, in user list order."""
        assigned: dict[str, None] = {}
        for gid in self.app_groups.get(app_id, []):
            assigned.update(self.members.get(gid, {}))
        return [uid for uid in self.users if uid in assigned and self.users[uid]["status"] != "DEPROVISIONED"]

    # ---- mutations -----------------------------------------------------------------

    def touch(self, uid: str | None = None) -> None:
        self.version += 1
        if uid is not None:
            self._user_json.pop(uid, None)

    def new_id(self, prefix: str) -> str:
        with self.lock:
            while True:
                oid = data.okta_id(self._rng, prefix)
                if oid not in self.users and oid not in self.groups and oid not in self.apps:
                    return oid

    def add_user(self, user: dict[str, Any]) -> None:
        with self.lock:
            self.seq[user["id"]] = len(self.seq)
            self.users[user["id"]] = user
            self.by_login[user["profile"]["login"].lower()] = user["id"]
            self.members[self.everyone_id][user["id"]] = None
            self.touch(user["id"])

    def replace_profile(self, uid: str, profile: dict[str, Any]) -> None:
        with self.lock:
            user = self.users[uid]
            old_login = user["profile"]["login"].lower()
            user["profile"] = profile
            user["lastUpdated"] = iso(self.clock())
            if profile["login"].lower() != old_login:
                self.by_login.pop(old_login, None)
                self.by_login[profile["login"].lower()] = uid
            self.touch(uid)

    def set_status(self, uid: str, status: str, **timestamps: bool) -> None:
        with self.lock:
            user = self.users[uid]
            now = iso(self.clock())
            user["status"] = status
            user["statusChanged"] = now
            user["lastUpdated"] = now
            for name, flag in timestamps.items():
                if flag:
                    user[name] = now
            self.touch(uid)

    def remove_user(self, uid: str) -> None:
        with self.lock:
            user = self.users.pop(uid)
            self.by_login.pop(user["profile"]["login"].lower(), None)
            for members in self.members.values():
                members.pop(uid, None)
            self.roles.pop(uid, None)
            self.touch(uid)

    def add_group(self, group: dict[str, Any]) -> None:
        with self.lock:
            self.seq[group["id"]] = len(self.seq)
            self.groups[group["id"]] = group
            self.members[group["id"]] = {}
            self.touch()

    def remove_group(self, gid: str) -> None:
        with self.lock:
            del self.groups[gid]
            del self.members[gid]
            for gids in self.app_groups.values():
                if gid in gids:
                    gids.remove(gid)
            self.group_roles.pop(gid, None)
            self.touch()

    def set_membership(self, gid: str, uid: str, member: bool) -> None:
        with self.lock:
            if member:
                self.members[gid][uid] = None
            else:
                self.members[gid].pop(uid, None)
            self.groups[gid]["lastMembershipUpdated"] = iso(self.clock())
            self.touch()

    def assign_role(self, uid: str, role: str, *, group: bool = False, assignment_id: str | None = None,
                    created: str | None = None, label: str | None = None,
                    extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Assign a role to a user (or, with ``group``, to the group ``uid`` names); the new assignment."""
        created = created or iso(self.clock())
        assignment = {
            "id": assignment_id or "ra1" + secrets.token_hex(7)[:14] + data.ORG_SUFFIX,
            "label": label or ROLE_LABELS.get(role, role.replace("_", " ").title()),
            "type": role,
            "status": "ACTIVE",
            "created": created,
            "lastUpdated": created,
            "assignmentType": "GROUP" if group else "USER",
            **(extra or {}),
        }
        (self.group_roles if group else self.roles).setdefault(uid, []).append(assignment)
        return assignment

    def role_assignments(self, uid: str) -> list[dict[str, Any]]:
        """Every role a user holds: assigned to them (``USER``), then through their groups (``GROUP``)."""
        held = list(self.roles.get(uid, ()))
        if self.group_roles:
            for gid in self.group_roles:
                if uid in self.members.get(gid, ()):
                    held += self.group_roles[gid]
        return held

    def role_types(self, uid: str | None) -> set[str]:
        """The role types a user holds, directly or through a group; a custom role adds its permissions."""
        if uid is None:
            return set()
        types: set[str] = set()
        for r in self.role_assignments(uid):
            types.add(r["type"])
            if r["type"] == "CUSTOM":
                types.update(self.custom_permissions.get(r.get("role", ""), ()))
        return types

    def register_demo_apps(self, apps: Iterable[DemoApp]) -> None:
        """Add the demo OAuth clients as OPENID_CONNECT apps (app id = client id), assigned to the demo users."""
        demo_group = next(g["id"] for g in self.groups.values() if g["profile"]["name"] == "Sandbox Demo Users")
        created = iso(self.clock() - 30 * data.DAY)
        kid = next((a["credentials"]["signing"].get("kid") for a in self.apps.values() if a["name"] == "saasure"), None)
        for app in apps:
            response_types = ["code", "token"] if "implicit" in app.grant_types else ["code"]
            obj = data.app_object(
                app.client_id,
                "oidc_client",
                app.label or app.name,
                "OPENID_CONNECT",
                "ACTIVE",
                created,
                created,
                extra_settings={
                    "oauthClient": {  # client_uri and logo_uri left out: the demo apps have none
                        "redirect_uris": list(app.redirect_uris),
                        "response_types": response_types,
                        "grant_types": list(app.grant_types),
                        "application_type": app.application_type,
                        "consent_method": "REQUIRED",
                        "issuer_mode": "ORG_URL",
                        "wildcard_redirect": "DISABLED",
                        "dpop_bound_access_tokens": app.dpop,
                    }
                },
                credentials={
                    "signing": {"kid": kid},
                    "oauthClient": {
                        "autoKeyRotation": True,
                        "client_id": app.client_id,
                        "token_endpoint_auth_method": app.token_endpoint_auth_method,
                    },
                },
            )
            self.apps[app.client_id] = obj
            self.seq.setdefault(app.client_id, len(self.seq))
            self.app_groups[app.client_id] = [demo_group]
        self.touch()

    # ---- System Log ----------------------------------------------------------------

    def _append_event(self, event: dict[str, Any]) -> None:
        self._seq += 1
        key = (event["published"], self._seq)
        # Events are kept in (published, sequence) order; API actions append at "now".
        index = bisect.bisect_right(self._event_keys, key)
        if index == len(self.events):
            self.events.append(event)
            self._event_keys.append(key)
        else:
            self.events.insert(index, event)
            self._event_keys.insert(index, key)
            self._event_json.clear()

    def add_event(self, event: dict[str, Any]) -> None:
        with self.lock:
            self._append_event(event)

    def event_key(self, index: int) -> tuple[str, int]:
        return self._event_keys[index]

    def event_index_after(self, key: tuple[str, int]) -> int:
        return bisect.bisect_right(self._event_keys, key)

    def event_index_before(self, key: tuple[str, int]) -> int:
        return bisect.bisect_left(self._event_keys, key)

    def event_index_from(self, published: str) -> int:
        return bisect.bisect_left(self._event_keys, (published, 0))
