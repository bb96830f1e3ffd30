"""What a frame needs beyond its shape for a person to read it: custom attributes typed by the org's user schema,
each user's manager by login, and a System Log event's first target as columns.

Nothing here replaces what Okta sent: a typed attribute is the same value in a better dtype (a value the schema's
type does not fit leaves the whole column as Okta sent it), and the manager's login and the first target are new
columns beside their source (``shape.DERIVED_COLUMNS``). The user schema comes in as plain data, the body of
``GET /api/v1/meta/schemas/user/default``: this layer does no HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okta_magic.frames.shape import DERIVED_COLUMNS, order_columns, strings_for_old_pandas

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["UserSchema", "parse_user_schema", "finish", "type_by_schema", "add_manager_login", "add_first_target"]

# A pattern is date-shaped when it takes an ISO 8601 date or date-time and not plain words.
_DATE_SAMPLES = ("2000-01-31", "2000-01-31T23:59:59Z", "2000-01-31T23:59:59.000Z")
_FORMATS = {"date": "datetime", "date-time": "datetime"}
_TYPES = {"integer": "integer", "number": "number", "boolean": "boolean"}
_TARGET_FIELDS = ("id", "type", "alternateId", "displayName")


@dataclass(frozen=True)
class UserSchema:
    """How the user schema types each profile attribute that is not plain text: ``kinds`` maps an attribute to
    ``datetime``, ``integer``, ``number``, ``boolean`` or ``enum``; ``enums`` holds an enum's declared values."""

    kinds: Mapping[str, str] = field(default_factory=dict)
    enums: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


def parse_user_schema(body: Mapping[str, Any] | None) -> UserSchema | None:
    """The typing rules of a user schema (Okta's ``UserSchema``: ``definitions.base`` and ``definitions.custom``,
    each with ``properties``), or None when there is none to apply."""
    if not isinstance(body, Mapping):
        return None
    definitions = body.get("definitions")
    kinds: dict[str, str] = {}
    enums: dict[str, tuple[str, ...]] = {}
    for part in ("base", "custom"):
        section = definitions.get(part) if isinstance(definitions, Mapping) else None
        properties = section.get("properties") if isinstance(section, Mapping) else None
        for name, attribute in (properties or {}).items():
            kind, values = _kind(attribute) if isinstance(attribute, Mapping) else (None, ())
            if kind is not None:
                kinds[name] = kind
            if values:
                enums[name] = values
    return UserSchema(kinds, enums) if kinds else None


def _kind(attribute: Mapping[str, Any]) -> tuple[str | None, tuple[str, ...]]:
    """One attribute's kind by JSON Schema: ``type``, ``format``, ``enum`` or ``oneOf`` consts, ``pattern``."""
    declared = attribute.get("type")
    if declared in _TYPES:
        return _TYPES[declared], ()
    if declared != "string":
        return None, ()  # arrays and objects stay as Okta sent them
    values = attribute.get("enum") or [c.get("const") for c in attribute.get("oneOf") or () if isinstance(c, Mapping)]
    values = tuple(str(v) for v in values if v is not None)
    if values:
        return "enum", values
    if attribute.get("format") in _FORMATS:
        return _FORMATS[attribute["format"]], ()
    pattern = attribute.get("pattern")
    if isinstance(pattern, str) and _date_shaped(pattern):
        return "datetime", ()
    return None, ()


def _date_shaped(pattern: str) -> bool:
    try:
        regex = re.compile(pattern)
    except re.error:
        return False
    return any(regex.fullmatch(s) for s in _DATE_SAMPLES) and not regex.fullmatch("not a date")


def finish(frame: pd.DataFrame, resource: str | None, *, schema: UserSchema | None = None,
           managers: bool = False) -> pd.DataFrame:
    """``frame`` made readable for ``resource``: users typed by ``schema`` and, with ``managers`` (the frame holds
    the whole answer), their manager's login; System Log events' first target; columns in :func:`order_columns`."""
    if resource == "users":
        if schema is not None:
            frame = type_by_schema(frame, schema)
        if managers:
            frame = add_manager_login(frame)
    elif resource == "logs":
        frame = add_first_target(frame)
    else:
        return frame
    order = order_columns(frame.columns, resource)
    return frame if order == list(frame.columns) else frame[order]


def type_by_schema(frame: pd.DataFrame, schema: UserSchema) -> pd.DataFrame:
    """Each ``profile.<attribute>`` column the schema types, in that type: date-shaped text as UTC datetimes,
    integers (nullable ``Int64``), numbers, booleans (nullable), enums as categoricals of the declared values."""
    for name, kind in schema.kinds.items():
        column = f"profile.{name}"
        if column not in frame.columns:
            continue
        typed = _typed(frame[column], kind, schema.enums.get(name, ()))
        if typed is not None:
            frame[column] = typed
    return frame


def _typed(values: pd.Series, kind: str, declared: tuple[str, ...]) -> pd.Series | None:
    """``values`` in ``kind``'s dtype, or None when some value does not fit it (the column stays as sent)."""
    import pandas as pd

    try:
        if kind == "datetime":
            if isinstance(values.dtype, pd.DatetimeTZDtype):
                return None
            if not all(isinstance(v, str) for v in values.dropna()):
                return None
            return pd.to_datetime(values, utc=True, format="ISO8601").astype("datetime64[ms, UTC]")
        if kind == "enum":
            present = [v for v in values.dropna().unique() if v not in declared]
            if not all(isinstance(v, str) for v in present):
                return None
            categories = pd.Index([*declared, *sorted(present)], dtype="str")
            return values.astype(object).astype(pd.CategoricalDtype(categories))
        if kind == "boolean":
            if not all(isinstance(v, bool) for v in values.dropna()):
                return None
            return values.astype("boolean")
        if kind == "integer":
            numbers = pd.to_numeric(values.astype(object), errors="raise")
            return numbers.astype("Int64")
        if kind == "number":
            return pd.to_numeric(values.astype(object), errors="raise").astype("float64")
    except (ValueError, TypeError, OverflowError):
        return None
    return None


def add_manager_login(frame: pd.DataFrame) -> pd.DataFrame:
    """``profile.managerLogin``: the login of the user whose ``id`` is each ``profile.managerId``, where that
    user is in the frame (else missing). A column Okta sent under that name is left as it is."""
    import pyarrow as pa

    (login,) = DERIVED_COLUMNS["profile.managerId"]
    if login in frame.columns or not {"profile.managerId", "profile.login", "id"} <= set(frame.columns):
        return frame
    found = _logins_by_arrow(frame["id"], frame["profile.login"], frame["profile.managerId"])
    if found is None:  # not all text
        logins = dict(zip(frame["id"].tolist(), frame["profile.login"].tolist(), strict=True))
        found = [logins.get(m) if isinstance(m, str) else None for m in frame["profile.managerId"].tolist()]
        found = pa.array([v if isinstance(v, str) else None for v in found], type=pa.string())  # NaN: no login
    frame[login] = _text(found, frame.index)
    return frame


def _logins_by_arrow(ids: pd.Series, logins: pd.Series, managers: pd.Series) -> Any:
    """Each manager id's login, looked up in Arrow (a third of a 100,000-user pull's own CPU in Python objects);
    None when a column is not text. An id listed twice gives the last one's login, as a dict of id to login would."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # the columns' own Arrow data where they have it (pandas' text columns): no copy
        ids, logins, managers = (pa.chunked_array(s) for s in (ids, logins, managers))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_null)
    if not all(any(is_text(a.type) for is_text in text) for a in (ids, logins, managers)):
        return None
    # index_in finds an id's first place in the value set: the ids and logins reversed, that is its last place.
    # (No separate check for repeated ids: counting distinct ids took about 20 MB of a 100,000-user pull's peak.)
    value_set = ids.cast(pa.large_string()).combine_chunks()[::-1]
    at = pc.index_in(managers.cast(pa.large_string()), value_set=value_set, skip_nulls=True)
    return pc.take(logins.cast(pa.large_string()).combine_chunks()[::-1], at)


def add_first_target(frame: pd.DataFrame) -> pd.DataFrame:
    """``target.0.id``, ``.type``, ``.alternateId``, ``.displayName``: a System Log event's first target (the
    ``target`` list stays whole beside them); missing where an event has no target."""
    import pyarrow as pa

    if "target" not in frame.columns:
        return frame
    firsts = [t[0] if isinstance(t, list) and t and isinstance(t[0], dict) else None for t in frame["target"]]
    for key in _TARGET_FIELDS:
        name = f"target.0.{key}"
        if name in frame.columns:
            continue
        values = [None if t is None or not isinstance(t.get(key), str) else t[key] for t in firsts]
        array = pa.array(values, type=pa.string())
        frame[name] = _text(array.dictionary_encode() if key == "type" else array, frame.index)
    return frame


def _text(array: Any, index: pd.Index) -> pd.Series:
    """An Arrow string (or dictionary) array as a column like the frame's others (Arrow-backed text, categoricals)."""
    series = array.to_pandas(types_mapper=strings_for_old_pandas())
    series.index = index
    return series
