"""The shape of Okta's collections as frames: which columns lead, which are dates or enumerations, and the
columns of an empty answer (users, groups, apps, System Log events)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["resource_for_path", "is_enumeration", "order_columns", "empty_frame", "WHO_COLUMNS", "DERIVED_COLUMNS",
           "strings_for_old_pandas"]

# HAL navigation (hrefs to other resources), hidden unless asked for; ``_embedded`` is data Okta sent (a group's
# stats, a hook key's public key), kept as dotted columns.
_HIDDEN = frozenset({"_links"})

_DATES = ("created", "activated", "statusChanged", "lastLogin", "lastUpdated", "passwordChanged",
          "lastMembershipUpdated", "published")
# Who a row is about, first, per resource: what a person reads to tell one user, group or app from another.
# The one table of this rule: every frame and file of okta_magic, and anything else that lays Okta's objects out
# for people, orders its columns with :func:`order_columns`. Users: the login, the name (first and last name; the
# display name where the profile has one), the email, the status; groups: their name and description; apps:
# their label (what people see) and name (the app's kind, ``okta_org2org``, ``salesforce``).
WHO_COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("profile.login", "profile.firstName", "profile.lastName", "profile.displayName", "profile.email",
              "status"),
    "groups": ("profile.name", "profile.description"),
    "apps": ("label", "name"),
}
# Columns okta_magic adds beside what Okta sent (nothing is replaced), each placed right after its source:
# a user's manager's login after ``profile.managerId``; a System Log event's first target after ``target``.
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "profile.managerId": ("profile.managerLogin",),
    "target": ("target.0.id", "target.0.type", "target.0.alternateId", "target.0.displayName"),
}

# Then, in Okta's own order: leading columns per resource, then column groups (by prefix) in this order, then the rest.
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
             ("outcome.result", "cat"), ("outcome.reason", "str"), ("target", "list"), ("target.0.id", "str"),
             ("target.0.type", "cat"), ("target.0.alternateId", "str"), ("target.0.displayName", "str"),
             ("client.ipAddress", "str"), ("client.userAgent.rawUserAgent", "str"),
             ("client.geographicalContext.country", "str"), ("client.geographicalContext.city", "str")),
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
    """The column order of a frame for people: who the row is about first (:data:`WHO_COLUMNS`), then Okta's order
    (the resource's leading columns, its groups such as ``profile.*``, then the rest as they appeared), each
    derived column right after its source (:data:`DERIVED_COLUMNS`)."""
    names = list(names)
    present = set(names)
    beside = {d: source for source, derived in DERIVED_COLUMNS.items() if source in present
              for d in derived if d in present}
    ordered = [n for n in WHO_COLUMNS.get(resource or "", ()) if n in present]
    ordered += [n for n in _LEADING.get(resource, _LEADING[None]) if n in present and n not in ordered]
    taken = set(ordered) | set(beside)
    for prefix in _GROUPS.get(resource, _DEFAULT_GROUPS):
        group = [n for n in names if n not in taken and (n == prefix or n.startswith(prefix))]
        ordered.extend(group)
        taken.update(group)
    ordered.extend(n for n in names if n not in taken)
    if not beside:
        return ordered
    placed: list[str] = []
    for name in ordered:
        placed.append(name)
        placed.extend(d for d in DERIVED_COLUMNS.get(name, ()) if beside.get(d) == name)
    return placed


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
    return pd.DataFrame(columns)[order_columns(columns, resource)]


def strings_for_old_pandas() -> Any:
    """pandas 3 keeps Arrow strings by default; pandas 2 would make Python objects of 100,000s of
    strings, so there they are mapped to the Arrow-backed string dtype explicitly."""
    import pandas as pd
    import pyarrow as pa

    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return None
    arrow_strings = pd.StringDtype("pyarrow")
    return {pa.string(): arrow_strings, pa.large_string(): arrow_strings}.get
