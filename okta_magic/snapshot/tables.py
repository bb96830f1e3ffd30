"""What each table of a snapshot is: its endpoint(s), the scope and admin role it needs, its key columns,
how a row of Okta's JSON becomes columns, and how a second sync refreshes it.

A row is staged as ``(p, r)``: ``r`` the object exactly as Okta sent it (JSON), ``p`` the key of the
object it was fetched under (the user of a factor, the group of a member, the app of an assignment).
Every column is a DuckDB expression over those two, so a table can be rebuilt from its own ``raw``
column and parent key, and keys carry the same name everywhere (``user_id``, ``group_id``, ``app_id``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Column", "Table", "TABLES", "by_name", "user_columns", "POLICY_TYPES", "LOG_LIFECYCLE"]

READ_ONLY = "Read-only Administrator"
POLICY_TYPES = ("OKTA_SIGN_ON", "PASSWORD", "MFA_ENROLL", "ACCESS_POLICY", "PROFILE_ENROLLMENT", "IDP_DISCOVERY")
# System Log event types an incremental sync reads (Okta's Event Types catalogue)
LOG_LIFECYCLE = {
    "user_deleted": ("user.lifecycle.delete.completed", "user.lifecycle.delete.initiated"),
    "factors": ("user.mfa.factor.activate", "user.mfa.factor.deactivate", "user.mfa.factor.reset_all",
                "user.mfa.factor.update", "user.mfa.factor.suspend", "user.mfa.factor.unsuspend"),
    "app_assignments": ("application.user_membership.add", "application.user_membership.remove",
                        "application.user_membership.change_username", "application.group_membership.add",
                        "application.group_membership.remove", "application.group_membership.update"),
}


@dataclass(frozen=True)
class Column:
    """One column: its name, a DuckDB expression over ``r`` (JSON) and ``p`` (the parent key), a description."""

    name: str
    expr: str
    doc: str = ""


def _path(path: str) -> str:
    """A JSONPath for DuckDB's ``->>``: ``profile.firstName`` -> ``$.profile.firstName`` (odd names quoted)."""
    return "$." + ".".join(part if part.replace("_", "").isalnum() else f'"{part}"' for part in path.split("."))


def text(name: str, path: str, doc: str = "") -> Column:
    return Column(name, f"(r->>'{_path(path)}')", doc)


def stamp(name: str, path: str, doc: str = "") -> Column:
    return Column(name, f"TRY_CAST(r->>'{_path(path)}' AS TIMESTAMPTZ)", doc)


def flag(name: str, path: str, doc: str = "") -> Column:
    return Column(name, f"TRY_CAST(r->>'{_path(path)}' AS BOOLEAN)", doc)


def number(name: str, path: str, doc: str = "", kind: str = "BIGINT") -> Column:
    return Column(name, f"TRY_CAST(r->>'{_path(path)}' AS {kind})", doc)


def nested(name: str, path: str, doc: str = "") -> Column:
    return Column(name, f"(r->'{_path(path)}')", doc)


def link_id(name: str, link: str, doc: str = "") -> Column:
    """The last path segment of a ``_links.<link>.href`` (an assignee's or a role's id)."""
    return Column(name, f"regexp_extract(r->>'$._links.{link}.href', '/([^/?]+)/?$', 1)", doc)


PARENT_USER = Column("user_id", "p", "the user (users.user_id)")
PARENT_GROUP = Column("group_id", "p", "the group (groups.group_id)")
PARENT_APP = Column("app_id", "p", "the app (apps.app_id)")
RAW = Column("raw", "r", "the object as Okta sent it (JSON)")


@dataclass(frozen=True)
class Table:
    """A table of the snapshot: where its rows come from and what it takes to read them."""

    name: str
    endpoints: tuple[str, ...]
    scope: str
    role: str
    keys: tuple[str, ...]
    columns: tuple[Column, ...]
    incremental: str  # how a second sync refreshes it, in a line (``_tables.incremental``)
    parent: str | None = None  # the parent key's column (rows staged with p), None for top-level objects
    params: Mapping[str, str] = field(default_factory=dict)

    def all_columns(self, extra: Sequence[Column] = ()) -> list[Column]:
        """The columns in order, ``raw`` last."""
        return [*self.columns, *extra, RAW]


def _common(id_name: str) -> tuple[Column, ...]:
    return (text(id_name, "id"), text("status", "status"), stamp("created", "created"),
            stamp("lastUpdated", "lastUpdated"))


USER_BASE = (text("user_id", "id"), text("status", "status"), stamp("created", "created"),
             stamp("activated", "activated"), stamp("statusChanged", "statusChanged"),
             stamp("lastLogin", "lastLogin"), stamp("lastUpdated", "lastUpdated"),
             stamp("passwordChanged", "passwordChanged"), text("type_id", "type.id"),
             text("provider", "credentials.provider.type"))
USER_TOP = {c.name.lower() for c in USER_BASE}


def _profile_column(name: str, spec: Mapping[str, Any]) -> Column:
    """A profile attribute typed from the org's user schema: dates as dates, numbers, booleans, enums."""
    kind, path, doc = spec.get("type"), _path("profile." + name), str(spec.get("title") or "")
    raw = f"(r->>'{path}')"
    enum = [v for v in spec.get("enum") or () if isinstance(v, str)]
    if kind == "string" and enum:
        values = ", ".join("'" + v.replace("'", "''") + "'" for v in dict.fromkeys(enum))
        return Column(name, f"TRY_CAST({raw} AS ENUM({values}))", doc)
    if kind == "string" and (spec.get("format") == "date" or str(spec.get("pattern")) == r"\d{4}-\d{2}-\d{2}"
                             or "YYYY-MM-DD" in str(spec.get("description") or "")):
        return Column(name, f"TRY_CAST({raw} AS DATE)", doc)
    if kind == "string" and spec.get("format") == "date-time":
        return Column(name, f"TRY_CAST({raw} AS TIMESTAMPTZ)", doc)
    casts = {"integer": "BIGINT", "number": "DOUBLE", "boolean": "BOOLEAN"}
    if kind in casts:
        return Column(name, f"TRY_CAST({raw} AS {casts[kind]})", doc)
    if kind == "array":
        return Column(name, f"(r->'{path}')", doc)
    return Column(name, raw, doc)


def user_columns(schema: Mapping[str, Any] | None, seen: Sequence[str] = ()) -> list[Column]:
    """The users table's profile columns: every attribute of the org's user schema (base, then custom), typed;
    without the schema, the attributes ``seen`` in the rows, as text."""
    out: dict[str, Column] = {}
    definitions = (schema or {}).get("definitions") or {}
    for part in ("base", "custom"):
        for name, spec in ((definitions.get(part) or {}).get("properties") or {}).items():
            if name.lower() not in USER_TOP and name.lower() not in {n.lower() for n in out}:
                out[name] = _profile_column(name, spec if isinstance(spec, Mapping) else {})
    for name in seen:
        if name.lower() not in USER_TOP and name.lower() not in {n.lower() for n in out}:
            out[name] = text(name, "profile." + name)
    return list(out.values())


_LIST = "full list each sync (small)"
TABLES: tuple[Table, ...] = (
    Table("users", ("GET /api/v1/users",), "okta.users.read", READ_ONLY, ("user_id",), USER_BASE,
          'filter=lastUpdated ge "<newest lastUpdated held>"; deletions from the System Log\'s '
          "user.lifecycle.delete events (full refresh without okta.logs.read)"),
    Table("groups", ("GET /api/v1/groups?expand=stats",), "okta.groups.read", READ_ONLY, ("group_id",),
          (*_common("group_id")[:1], text("name", "profile.name"), text("description", "profile.description"),
           text("type", "type"), stamp("created", "created"), stamp("lastUpdated", "lastUpdated"),
           stamp("lastMembershipUpdated", "lastMembershipUpdated"),
           number("usersCount", "_embedded.stats.usersCount"), number("appsCount", "_embedded.stats.appsCount"),
           flag("hasAdminPrivilege", "_embedded.stats.hasAdminPrivilege")),
          "the whole list each sync (the cheap id list that shows deletions)", params={"expand": "stats"}),
    Table("group_members", ("GET /api/v1/groups/{group_id}/users",), "okta.groups.read", READ_ONLY,
          ("group_id", "user_id"), (PARENT_GROUP, text("user_id", "id")),
          "only groups whose lastMembershipUpdated moved (and none of a deleted group or user)", parent="group_id",
          params={"limit": "1000"}),
    Table("group_rules", ("GET /api/v1/groups/rules",), "okta.groups.read", READ_ONLY, ("rule_id",),
          (*_common("rule_id")[:1], text("name", "name"), text("status", "status"),
           text("expression", "conditions.expression.value"), nested("group_ids", "actions.assignUserToGroups.groupIds"),
           stamp("created", "created"), stamp("lastUpdated", "lastUpdated")), _LIST),
    Table("apps", ("GET /api/v1/apps",), "okta.apps.read", READ_ONLY, ("app_id",),
          (*_common("app_id"), text("name", "name"), text("label", "label"), text("signOnMode", "signOnMode")), _LIST),
    Table("app_user_assignments", ("GET /api/v1/apps/{app_id}/users",), "okta.apps.read", READ_ONLY,
          ("app_id", "user_id"), (PARENT_APP, text("user_id", "id"), text("scope", "scope"), text("status", "status"),
                                  text("userName", "credentials.userName"), stamp("created", "created"),
                                  stamp("lastUpdated", "lastUpdated")),
          "apps named by the System Log's application membership events, apps whose assigned groups or "
          "assigned people changed", parent="app_id"),
    Table("app_group_assignments", ("GET /api/v1/apps/{app_id}/groups",), "okta.apps.read", READ_ONLY,
          ("app_id", "group_id"), (PARENT_APP, text("group_id", "id"), number("priority", "priority"),
                                   stamp("lastUpdated", "lastUpdated")),
          "every app's groups each sync (one request an app)", parent="app_id"),
    Table("app_grants", ("GET /api/v1/apps/{app_id}/grants",), "okta.appGrants.read", READ_ONLY, ("app_id", "grant_id"),
          (PARENT_APP, text("grant_id", "id"), text("scopeId", "scopeId"), text("status", "status"),
           text("source", "source"), text("issuer", "issuer"), stamp("created", "created"),
           stamp("lastUpdated", "lastUpdated")), "the whole set each sync (one request per OIDC app)", parent="app_id"),
    Table("user_factors", ("GET /api/v1/users/{user_id}/factors",), "okta.users.read",
          "Read-only or Help Desk Administrator", ("user_id", "factor_id"),
          (PARENT_USER, text("factor_id", "id"), text("factorType", "factorType"), text("provider", "provider"),
           text("vendorName", "vendorName"), text("status", "status"), stamp("created", "created"),
           stamp("lastUpdated", "lastUpdated")),
          "users whose lastUpdated moved or whom the System Log's user.mfa.factor events name", parent="user_id"),
    Table("admin_roles", ("GET /api/v1/iam/assignees/users", "GET /api/v1/users/{user_id}/roles",
                          "GET /api/v1/groups/{group_id}/roles"), "okta.roles.read",
          "Read-only Administrator (not Report Administrator)", ("assignee_type", "assignee_id", "role_assignment_id"),
          (Column("assignee_type", "(r->>'$.assignmentType')", "USER (held directly) or GROUP (by its members)"),
           Column("assignee_id", "p", "users.user_id or groups.group_id"),
           Column("user_id", "CASE WHEN r->>'$.assignmentType' = 'USER' THEN p END", "the user, for USER"),
           Column("group_id", "CASE WHEN r->>'$.assignmentType' = 'GROUP' THEN p END", "the group, for GROUP"),
           text("role_assignment_id", "id"), text("role_type", "type"), text("label", "label"),
           text("status", "status"),
           Column("custom_role_id", "coalesce(r->>'$.role', " + link_id("", "role").expr + ")",
                  "a custom role's id (iam/roles)"),
           Column("resource_set_id", "coalesce(r->>'$.\"resource-set\"', "
                  "regexp_extract(r->>'$._links.\"resource-set\".href', '/([^/?]+)/?$', 1))",
                  "a custom role's resource set"),
           stamp("created", "created"), stamp("lastUpdated", "lastUpdated")),
          "the admin list, then the roles of users and groups the System Log's privilege grant/revoke events "
          "name or the list and hasAdminPrivilege disagree on (whole without okta.logs.read)", parent="assignee_id"),
    Table("devices", ("GET /api/v1/devices",), "okta.devices.read", READ_ONLY, ("device_id",),
          (*_common("device_id"), text("displayName", "profile.displayName"), text("platform", "profile.platform"),
           text("serialNumber", "profile.serialNumber")), _LIST,
          params={"limit": "200"}),  # Okta's largest devices page (the default is 20: 10x the requests)
    Table("authenticators", ("GET /api/v1/authenticators",), "okta.authenticators.read", READ_ONLY,
          ("authenticator_id",), (*_common("authenticator_id"), text("key", "key"), text("type", "type"),
                                  text("name", "name")), _LIST),
    Table("policies", tuple(f"GET /api/v1/policies?type={t}" for t in POLICY_TYPES), "okta.policies.read",
          READ_ONLY, ("policy_id",), (*_common("policy_id"), text("type", "type"), text("name", "name"),
                                      number("priority", "priority"), flag("system", "system")), _LIST),
    Table("policy_rules", ("GET /api/v1/policies/{policy_id}/rules",), "okta.policies.read", READ_ONLY,
          ("policy_id", "rule_id"), (Column("policy_id", "p", "policies.policy_id"), text("rule_id", "id"),
                                     text("name", "name"), text("status", "status"), number("priority", "priority"),
                                     text("type", "type"), stamp("created", "created"),
                                     stamp("lastUpdated", "lastUpdated")), _LIST, parent="policy_id"),
    Table("network_zones", ("GET /api/v1/zones",), "okta.networkZones.read", READ_ONLY, ("zone_id",),
          (*_common("zone_id"), text("type", "type"), text("name", "name"), text("usage", "usage")), _LIST),
    Table("identity_providers", ("GET /api/v1/idps",), "okta.idps.read", READ_ONLY, ("idp_id",),
          (*_common("idp_id"), text("type", "type"), text("name", "name")), _LIST),
    Table("authorization_servers", ("GET /api/v1/authorizationServers",), "okta.authorizationServers.read",
          READ_ONLY, ("auth_server_id",), (*_common("auth_server_id"), text("name", "name"),
                                           text("issuer", "issuer"), nested("audiences", "audiences")), _LIST),
    Table("trusted_origins", ("GET /api/v1/trustedOrigins",), "okta.trustedOrigins.read", READ_ONLY,
          ("trusted_origin_id",), (*_common("trusted_origin_id"), text("name", "name"), text("origin", "origin"),
                                   nested("scopes", "scopes")), _LIST),
    Table("api_tokens", ("GET /api/v1/api-tokens",), "okta.apiTokens.read",
          "Super or Organization Administrator", ("token_id",),
          (text("token_id", "id"), text("name", "name"), text("user_id", "userId"), text("clientName", "clientName"),
           stamp("created", "created"), stamp("lastUpdated", "lastUpdated"), stamp("expiresAt", "expiresAt")), _LIST),
    Table("system_log", ("GET /api/v1/logs",), "okta.logs.read", "Read-only or Report Administrator", ("uuid",),
          (text("uuid", "uuid"), stamp("published", "published"), text("eventType", "eventType"),
           text("displayMessage", "displayMessage"), text("severity", "severity"),
           text("outcome", "outcome.result"), text("actor_id", "actor.id"), text("actor_login", "actor.alternateId"),
           text("client_ip", "client.ipAddress"), text("country", "client.geographicalContext.country"),
           nested("targets", "target")),
          "appended from its newest event on (five minutes back, events already held dropped by uuid)"),
)


def by_name(name: str) -> Table:
    """The table called ``name``."""
    return next(t for t in TABLES if t.name == name)
