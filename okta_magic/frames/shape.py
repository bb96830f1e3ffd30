"""The shape of Okta's collections as frames: which columns lead, which are dates or enumerations, and the
columns of an empty answer (users, groups, apps, System Log events)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["resource_for_path", "is_enumeration", "order_columns", "empty_frame"]

# HAL navigation (hrefs to other resources), hidden unless asked for; ``_embedded`` is data Okta sent (a group's
# stats, a hook key's public key), kept as dotted columns.
_HIDDEN = frozenset({"_links"})

_DATES = ("created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged",
          "lastMembershipUpdated", "published")
# Leading columns per resource, then column groups (by prefix) in this order, then the rest.
_LEADING: dict[str | None, tuple[str, ...]] = {
    None: ("id", "status", *_DATES),
    "users": ("id", "status", *_DATES),
    "groups": ("id", "type", *_DATES),
    "apps": ("id", "name", "label", "status", "signOnMode", *_DATES),
    "logs": ("uuid", "published", "eventType", "severity", "displayMessage", "legacyEventType", "version"),
}
_GROUPS: dict[str | None, tuple[str, ...]] = {
    "logs": ("actor.", "outcome.", "target", "client."),
}
_DEFAULT_GROUPS = ("profile.",)

# Okta's enumerations: by full column name, or by the last dotted component.
_ENUM_NAMES = frozenset({"outcome.result", "credentials.provider.type", "credentials.provider.name",
                         "actor.type", "client.zone", "accessibility.selfService", "visibility.autoLaunch"})
_ENUM_LEAVES = frozenset({"status", "type", "signOnMode", "eventType", "severity", "transitioningToStatus",
                          "legacyEventType"})

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:?\d\d)\Z")

# The usual columns of each collection, for an empty answer (kind: str, ts, cat, list, num).
_EMPTY: dict[str, tuple[tuple[str, str], ...]] = {
    "users": (("id", "str"), ("status", "cat"), ("created", "ts"), ("activated", "ts"), ("statusChanged", "ts"),
              ("lastLogin", "ts"), ("lastUpdated", "ts"), ("passwordChanged", "ts"), ("profile.firstName", "str"),
              ("profile.lastName", "str"), ("profile.mobilePhone", "str"), ("profile.secondEmail", "str"),
              ("profile.login", "str"), ("profile.email", "str"), ("profile.displayName", "str"),
              ("profile.title", "str"), ("profile.department", "str"), ("profile.division", "str"),
              ("profile.organization", "str"), ("profile.costCenter", "str"), ("profile.employeeNumber", "str"),
              ("profile.userType", "str"), ("profile.manager", "str"), ("profile.managerId", "str"),
              ("profile.city", "str"), ("profile.state", "str"), ("profile.countryCode", "str"),
              ("type.id", "str"),
              ("credentials.emails", "list"), ("credentials.provider.type", "cat"),
              ("credentials.provider.name", "cat")),
    "groups": (("id", "str"), ("type", "cat"), ("created", "ts"), ("lastUpdated", "ts"),
               ("lastMembershipUpdated", "ts"), ("profile.name", "str"), ("profile.description", "str"),
               ("objectClass", "list")),
    "apps": (("id", "str"), ("name", "str"), ("label", "str"), ("status", "cat"), ("signOnMode", "cat"),
             ("created", "ts"), ("lastUpdated", "ts"), ("features", "list")),
    "logs": (("uuid", "str"), ("published", "ts"), ("eventType", "cat"), ("severity", "cat"),
             ("displayMessage", "str"), ("legacyEventType", "cat"), ("version", "str"), ("actor.id", "str"),
             ("actor.type", "cat"), ("actor.alternateId", "str"), ("actor.displayName", "str"),
             ("outcome.result", "cat"), ("outcome.reason", "str"), ("target", "list"),
             ("client.ipAddress", "str"), ("client.userAgent.rawUserAgent", "str")),
}

_COLLECTIONS = ("users", "groups", "apps", "logs")


def resource_for_path(path: str) -> str | None:
    """The kind of object a Management API path returns: users, groups, apps, logs or None.

    ``/api/v1/groups/{id}/users`` lists users; ``/api/v1/users/{id}`` is one user.
    """
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    if len(parts) < 3 or parts[:2] != ["api", "v1"]:
        return None
    rest = parts[2:]
    if rest[-1] in _COLLECTIONS:
        return rest[-1]
    if len(rest) >= 2 and rest[-2] in _COLLECTIONS and len(rest) % 2 == 0:
        return rest[-2]
    return None


def is_enumeration(column: str) -> bool:
    """True for columns holding one of a few Okta enumeration values (shown as categoricals)."""
    return column in _ENUM_NAMES or column.rsplit(".", 1)[-1] in _ENUM_LEAVES


def order_columns(names: Iterable[str], resource: str | None = None) -> list[str]:
    """Stable column order: the resource's leading columns, then its groups (``profile.*`` ...), then the rest."""
    names = list(names)
    present = set(names)
    leading = [n for n in _LEADING.get(resource, _LEADING[None]) if n in present]
    taken = set(leading)
    ordered = list(leading)
    for prefix in _GROUPS.get(resource, _DEFAULT_GROUPS):
        group = [n for n in names if n not in taken and (n == prefix or n.startswith(prefix))]
        ordered.extend(group)
        taken.update(group)
    ordered.extend(n for n in names if n not in taken)
    return ordered


def empty_frame(resource: str | None = None) -> pd.DataFrame:
    """An empty DataFrame with the usual columns (and dtypes) of a users/groups/apps/logs list."""
    import pandas as pd

    columns: dict[str, pd.Series] = {}
    for name, kind in _EMPTY.get(resource or "", ()):
        if kind == "ts":
            columns[name] = pd.Series([], dtype="datetime64[ms, UTC]")
        elif kind == "cat":
            columns[name] = pd.Series([], dtype=pd.CategoricalDtype(pd.Index([], dtype="str")))
        elif kind == "list":
            columns[name] = pd.Series([], dtype=object)
        else:
            columns[name] = pd.Series([], dtype="str")
    return pd.DataFrame(columns)

