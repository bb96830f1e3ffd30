"""One function per table of the snapshot: what it fetches on a full sync and on an incremental one.

Each takes the sync in progress (:class:`okta_magic.snapshot.sync.Run`) and builds its table in the
working copy. The order matters: the System Log first (its lifecycle events tell the others what was
deleted or changed out of sight), then users, groups and their members, apps and their assignments,
factors and roles, then the configuration lists.

How a second sync finds what changed (docs/snapshot.md):

* users: ``filter=lastUpdated ge "<newest held>"``; deleted ones from ``user.lifecycle.delete`` events;
* groups: the whole list (one or a few requests: the cheap id list that shows deleted groups), members
  fetched again only for groups whose ``lastMembershipUpdated`` moved; a deleted user's rows dropped;
* app assignments: each app's groups (one request an app: a change of their order is logged nowhere); its
  people again for the apps that application membership events name, whose groups changed, that have an
  assigned group whose members changed, or rows of a changed or deleted user (all of them when a
  deprovisioned person came back);
* factors: again for changed users and those that ``user.mfa.factor`` events name;
* admin roles: the admin list (a request per 200 admins), then the roles of the users and groups that
  ``*.privilege.grant`` / ``revoke`` events name, or that the list or ``hasAdminPrivilege`` disagrees on;
* the configuration lists: whole each time (small lists).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import orjson

from okta_magic.snapshot.fetch import pull_assignees, pull_each, pull_list, pull_parts, pull_windows, request_for
from okta_magic.snapshot.tables import LOG_LIFECYCLE, POLICY_TYPES, by_name, user_columns

if TYPE_CHECKING:
    from okta_magic.snapshot.store import Staged
    from okta_magic.snapshot.run import Run

__all__ = ["STEPS"]

EVERYONE_SEARCH = 'lastUpdated gt "1970-01-01T00:00:00.000Z"'  # every user, DEPROVISIONED ones included
USERS_PER_WINDOW = 5_000  # a users list this long per stream before it is cut into windows


def system_log(run: Run) -> None:
    table = by_name("system_log")
    from okta_magic.pulls.partition import plan

    staged = run.store.stage(table.name)
    since = run.log_since()
    if run.log_mark:  # the events the last sync held at its newest instant: not news when read again
        run.log_held = set(run.store.values("SELECT uuid FROM system_log WHERE published >= ?::TIMESTAMPTZ",
                                            [run.log_mark]))
    windows = plan(run.client, request_for("/api/v1/logs", {"since": since, "sortOrder": "ASCENDING"}), 1)
    staged.requests += 1  # the org's clock, for the pull's end
    pull_parts(run.client, list(enumerate(windows)), staged, prefix=True, concurrency=1, gone_ok=False)
    run.finish(table, staged, keep=run.incremental(table.name), since=run.first_since(since))


def users(run: Run) -> None:
    table = by_name("users")
    schema = run.user_schema()
    incremental = run.incremental(table.name) and run.events_known()
    staged = run.store.stage(table.name, ids=incremental)  # a full sync needs no list of every id
    if incremental:
        newest = run.store.scalar("SELECT max(raw->>'$.lastUpdated') FROM users")
        run.old_deprovisioned = set(run.store.values("SELECT user_id FROM users WHERE status = 'DEPROVISIONED'"))
        pull_list(run.client, "/api/v1/users", staged, {"filter": f'lastUpdated ge "{newest}"', "limit": "200"})
        run.deleted_users = run.event_targets(LOG_LIFECYCLE["user_deleted"], "User")
        held = dict(run.store.con.execute("SELECT user_id, raw->>'$.lastUpdated' FROM users WHERE user_id IN "
                                          "(SELECT unnest(?::VARCHAR[]))", [staged.ids]).fetchall())
        run.changed_users = {uid for uid in staged.ids if held.get(uid) != staged.stamps.get(uid)}
    else:
        count = run.user_count()
        parallel = max(1, min(8, count // USERS_PER_WINDOW)) if count else 1
        pull_windows(run.client, request_for("/api/v1/users", {"search": EVERYONE_SEARCH, "limit": "200"}),
                     staged, parallel)
    seen = [] if schema else run.store.profile_keys(staged)
    columns = table.all_columns(user_columns(schema, seen))
    run.finish(table, staged, columns=columns, keep=incremental,
               drop=set(staged.ids) | run.deleted_users, drop_column="user_id")


def groups(run: Run) -> None:
    table = by_name("groups")
    had = run.store.has(table.name) and run.incremental(table.name)
    old = dict(run.store.con.execute("SELECT group_id, raw->>'$.lastMembershipUpdated' FROM groups").fetchall()) \
        if had else {}
    staged = run.store.stage(table.name)
    pull_list(run.client, "/api/v1/groups", staged, table.params)
    run.finish(table, staged)
    new = dict(run.store.con.execute("SELECT group_id, raw->>'$.lastMembershipUpdated' FROM groups").fetchall())
    run.deleted_groups = set(old) - set(new)
    run.changed_groups = {gid for gid, moved in new.items() if not had or old.get(gid) != moved}


class _Memberships:
    """A user's groups (``/users/{id}/groups``) staged as group_members rows: the group as parent, the user as row."""

    def __init__(self, staged: Staged) -> None:
        self.staged = staged
        self.requests = 0

    def add(self, user_id: str, groups: list) -> None:
        for group in groups:
            if isinstance(group, dict) and group.get("id"):
                self.staged.add(group["id"], [{"id": user_id}])


def group_members(run: Run) -> None:
    table = by_name("group_members")
    incremental = run.incremental(table.name) and run.incremental("groups") and run.incremental("users")
    wanted = run.changed_groups if incremental else set(run.store.values("SELECT group_id FROM groups"))
    staged = run.store.stage(table.name)
    pull_each(run.client, "/api/v1/groups/{}/users", sorted(wanted), staged, table.params)
    if incremental:  # a changed person's groups, whatever the groups' stamps say (Everyone, rules)
        people = _Memberships(staged)
        pull_each(run.client, "/api/v1/users/{}/groups", sorted(run.changed_users), people)  # type: ignore[arg-type]
        staged.requests += people.requests
        run.store.con.execute("DELETE FROM group_members WHERE group_id IN (SELECT unnest(?::VARCHAR[])) OR user_id "
                              "IN (SELECT unnest(?::VARCHAR[]))", [sorted(wanted | run.deleted_groups),
                                                                   sorted(run.changed_users | run.deleted_users)])
    run.finish(table, staged, keep=incremental)
    if run.store.has("users"):  # a member's object is the user's: today's, as the users table holds it
        run.store.con.execute("UPDATE group_members SET raw = users.raw FROM users "
                              "WHERE group_members.user_id = users.user_id")


def group_rules(run: Run) -> None:
    _plain(run, "group_rules", "/api/v1/groups/rules")


def apps(run: Run) -> None:
    table = by_name("apps")
    had = run.incremental(table.name)
    old = dict(run.store.con.execute("SELECT app_id, raw->>'$.lastUpdated' FROM apps").fetchall()) if had else {}
    staged = run.store.stage(table.name)
    pull_list(run.client, "/api/v1/apps", staged, {"limit": "200"})
    run.finish(table, staged)
    new = dict(run.store.con.execute("SELECT app_id, raw->>'$.lastUpdated' FROM apps").fetchall())
    run.deleted_apps = set(old) - set(new)
    run.dirty_apps = {aid for aid, moved in new.items() if not had or old.get(aid) != moved}


def _assignment_apps(run: Run) -> set[str] | None:
    """The apps whose assignments may have changed since the last sync (None: all of them)."""
    every = set(run.store.values("SELECT app_id FROM apps"))
    if not (run.incremental("app_user_assignments") and run.incremental("apps") and run.events_known()
            and run.incremental("users")):
        return None
    if run.changed_users & run.old_deprovisioned:
        return None  # a person back from deprovisioning: their direct assignments show again, unseen until now
    dirty = set(run.dirty_apps) | run.event_targets(LOG_LIFECYCLE["app_assignments"], "AppInstance")
    people = sorted(run.changed_users | run.deleted_users)
    groups = sorted(run.changed_groups | run.deleted_groups)
    dirty |= set(run.store.values("SELECT DISTINCT app_id FROM app_user_assignments "
                                  "WHERE user_id IN (SELECT unnest(?::VARCHAR[]))", [people]))
    dirty |= set(run.store.values("SELECT DISTINCT app_id FROM app_group_assignments "
                                  "WHERE group_id IN (SELECT unnest(?::VARCHAR[]))", [groups]))
    dirty |= set(run.store.values("SELECT DISTINCT a.app_id FROM app_group_assignments a JOIN group_members m "
                                  "USING (group_id) WHERE m.user_id IN (SELECT unnest(?::VARCHAR[]))", [people]))
    return dirty & every


def app_assignments(run: Run) -> None:
    """Both app assignment tables: the groups of every app (one request an app: a reordering is logged nowhere),
    then the people of the apps whose assignments may have changed."""
    groups, people = by_name("app_group_assignments"), by_name("app_user_assignments")
    sql = "SELECT app_id, list(group_id ORDER BY group_id) FROM app_group_assignments GROUP BY app_id"
    before = dict(run.store.con.execute(sql).fetchall()) if run.store.has(groups.name) else {}
    staged = run.store.stage(groups.name)
    pull_each(run.client, "/api/v1/apps/{}/groups", run.store.values("SELECT app_id FROM apps"), staged,
              {"limit": "500"})
    run.finish(groups, staged)
    after = dict(run.store.con.execute(sql).fetchall())
    run.dirty_apps |= {app for app in set(before) | set(after) if before.get(app) != after.get(app)}
    dirty = _assignment_apps(run)
    wanted = sorted(set(run.store.values("SELECT app_id FROM apps")) if dirty is None else dirty)
    staged = run.store.stage(people.name)
    pull_each(run.client, "/api/v1/apps/{}/users", wanted, staged, {"limit": "500"})
    run.finish(people, staged, keep=dirty is not None, drop=set(wanted) | run.deleted_apps, drop_column="app_id")


def app_grants(run: Run) -> None:
    """The OAuth 2.0 apps' scope grants (``okta.*`` scopes an app may ask for), whole each sync."""
    table = by_name("app_grants")
    staged = run.store.stage(table.name)
    apps = run.store.values("SELECT app_id FROM apps WHERE signOnMode = 'OPENID_CONNECT'")
    pull_each(run.client, "/api/v1/apps/{}/grants", apps, staged)
    run.finish(table, staged)


def user_factors(run: Run) -> None:
    table = by_name("user_factors")
    incremental = run.incremental(table.name) and run.incremental("users") and run.events_known()
    if incremental:
        named = run.event_targets(LOG_LIFECYCLE["factors"], "User")
        wanted = (run.changed_users | named) - run.deleted_users
    else:
        wanted = set(run.store.values("SELECT user_id FROM users"))
    staged = run.store.stage(table.name)
    pull_each(run.client, "/api/v1/users/{}/factors", sorted(wanted), staged)
    run.finish(table, staged, keep=incremental, drop=wanted | run.deleted_users, drop_column="user_id")


ROLE_EVENTS = ("user.account.privilege.grant", "user.account.privilege.revoke", "group.privilege.grant",
               "group.privilege.revoke")  # Okta's Event Types: a role assigned to or taken from a user or group
IAM_EVENTS = ("iam.role.%", "iam.resourceset.%")  # custom roles and resource-set bindings: their members unnamed


def admin_roles(run: Run) -> None:
    """Every admin's own roles and every admin group's; on a second sync only the users and groups the System
    Log's privilege events name, and those the admin list or the groups' ``hasAdminPrivilege`` disagree on."""
    table = by_name("admin_roles")
    staged = run.store.stage(table.name)
    holders = run.store.stage("_assignees")
    admins = pull_assignees(run.client, holders)
    holders.close()
    plan = _roles_to_refetch(run, admins) if _roles_incremental(run) else None
    users = admins if plan is None else plan[0]
    seen = run.store.stage("_user_roles")
    pull_each(run.client, "/api/v1/users/{}/roles", users, seen)
    seen.close()
    groups = _restage_direct(seen.path, staged)  # a user's own roles (USER); the groups' come from the groups
    if plan is None:
        if run.store.has("groups"):
            groups |= set(run.store.values("SELECT group_id FROM groups WHERE hasAdminPrivilege"))
    else:
        held = set(run.store.values("SELECT DISTINCT group_id FROM admin_roles WHERE assignee_type = 'GROUP'"))
        groups = (groups - held) | plan[1]
    pull_each(run.client, "/api/v1/groups/{}/roles", sorted(groups), staged)
    staged.requests += holders.requests + seen.requests
    drop = set() if plan is None else set(users) | groups | plan[2]
    run.finish(table, staged, keep=plan is not None, drop=drop, drop_column="assignee_id")


def _roles_incremental(run: Run) -> bool:
    """A second sync may refetch only some roles: the last one left them whole, the System Log says what moved
    since, this sync refreshed the groups, and no custom-role binding changed (those events name no members)."""
    if not (run.incremental("admin_roles") and run.events_known()
            and run.reports.get("groups") is not None and run.reports["groups"].status == "synced"):
        return False
    likes = " OR ".join("eventType LIKE ?" for _ in IAM_EVENTS)
    return not run.store.scalar(f"SELECT count(*) FROM system_log WHERE published >= ?::TIMESTAMPTZ AND ({likes})",
                                [run.log_mark, *IAM_EVENTS])


def _role_event_targets(run: Run, target_type: str) -> set[str]:
    """The ``target_type`` targets of the privilege events this sync read that the last one did not hold."""
    return set(run.store.values(
        "SELECT DISTINCT t->>'$.id' FROM (SELECT unnest(from_json(targets, '[\"JSON\"]')) AS t, eventType, "
        "published, uuid FROM system_log) WHERE published >= ?::TIMESTAMPTZ AND eventType IN "
        "(SELECT unnest(?::VARCHAR[])) AND t->>'$.type' = ? AND uuid NOT IN (SELECT unnest(?::VARCHAR[]))",
        [run.log_mark, list(ROLE_EVENTS), target_type, sorted(run.log_held)]))


def _roles_to_refetch(run: Run, admins: list[str]) -> tuple[list[str], set[str], set[str]]:
    """(users whose own roles to fetch again, groups whose roles to fetch again, assignees whose rows just go).

    The events' users and groups; an admin of the list who holds no row of their own and is in no admin group
    (a grant the log missed); a user with rows who is no longer an admin; a group whose ``hasAdminPrivilege``
    disagrees with its rows; a deleted user's or group's rows go.
    """
    named_users, named_groups = _role_event_targets(run, "User"), _role_event_targets(run, "UserGroup")
    roles = "SELECT DISTINCT assignee_id FROM admin_roles WHERE assignee_type = "
    held_users, held_groups = set(run.store.values(roles + "'USER'")), set(run.store.values(roles + "'GROUP'"))
    current = set(run.store.values("SELECT group_id FROM groups"))
    privileged = set(run.store.values("SELECT group_id FROM groups WHERE hasAdminPrivilege"))
    covered: set[str] = set()
    if run.store.has("group_members"):
        covered = set(run.store.values("SELECT DISTINCT user_id FROM group_members WHERE group_id IN "
                                       "(SELECT unnest(?::VARCHAR[]))", [sorted(held_groups | privileged)]))
    listed = set(admins)
    users = (named_users | (listed - held_users - covered) | (held_users - listed)) - run.deleted_users
    groups = (named_groups | (privileged ^ held_groups)) & current
    gone = run.deleted_users | run.deleted_groups | (held_groups - current)
    return sorted(users), groups, gone


def _restage_direct(path: str, staged: Staged) -> set[str]:
    """Stage the roles users hold themselves (``USER``); the ids of the groups through which they hold others."""
    groups: set[str] = set()
    with open(path, "rb") as lines:
        for line in lines:
            item = orjson.loads(line)
            role = item.get("r") or {}
            if role.get("assignmentType") == "USER":
                staged.add(item.get("p"), [role])
            else:
                href = str(((role.get("_links") or {}).get("assignee") or {}).get("href") or "")
                if "/groups/" in href:
                    groups.add(href.rstrip("/").rsplit("/", 1)[-1])
    return groups


def policies(run: Run) -> None:
    table = by_name("policies")
    staged = run.store.stage(table.name)
    for kind in POLICY_TYPES:
        pull_list(run.client, "/api/v1/policies", staged, {"type": kind})
    run.finish(table, staged)
    rules = by_name("policy_rules")
    staged = run.store.stage(rules.name)
    pull_each(run.client, "/api/v1/policies/{}/rules", run.store.values("SELECT policy_id FROM policies"), staged)
    run.finish(rules, staged)


def _plain(run: Run, name: str, path: str) -> None:
    table = by_name(name)
    staged = run.store.stage(name)
    pull_list(run.client, path, staged, table.params)
    run.finish(table, staged)


STEPS = (
    (("system_log",), system_log),
    (("users",), users),
    (("groups",), groups),
    (("group_members",), group_members),
    (("group_rules",), group_rules),
    (("apps",), apps),
    (("app_group_assignments", "app_user_assignments"), app_assignments),
    (("app_grants",), app_grants),
    (("user_factors",), user_factors),
    (("admin_roles",), admin_roles),
    (("devices",), lambda run: _plain(run, "devices", "/api/v1/devices")),
    (("authenticators",), lambda run: _plain(run, "authenticators", "/api/v1/authenticators")),
    (("policies", "policy_rules"), policies),
    (("network_zones",), lambda run: _plain(run, "network_zones", "/api/v1/zones")),
    (("identity_providers",), lambda run: _plain(run, "identity_providers", "/api/v1/idps")),
    (("authorization_servers",), lambda run: _plain(run, "authorization_servers", "/api/v1/authorizationServers")),
    (("trusted_origins",), lambda run: _plain(run, "trusted_origins", "/api/v1/trustedOrigins")),
    (("api_tokens",), lambda run: _plain(run, "api_tokens", "/api/v1/api-tokens")),
)
