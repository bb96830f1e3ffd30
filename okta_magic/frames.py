"""Turn Okta's JSON (users, groups, apps, System Log events ...) into pandas DataFrames.

This is the only module that imports pandas (and pyarrow), and it does so
lazily, inside functions, so ``import okta_magic`` stays fast.

Shape of a frame, chosen for analysis:

* nested objects become dotted columns (``profile.login``,
  ``credentials.provider.type``, ``actor.alternateId``); ``_links`` and
  ``_embedded`` are dropped unless ``keep_links=True``;
* attribute names are kept exactly as Okta sent them: custom profile attributes
  are never renamed, recased or dropped, even when they first appear on a later
  page (earlier rows then hold missing values);
* Okta's ISO 8601 timestamps (``2026-01-02T03:04:05.000Z``) become timezone-aware
  UTC datetimes, nulls become ``NaT``;
* enumerations (``status``, ``type``, ``signOnMode``, ``eventType``,
  ``severity``, ``outcome.result``, ``credentials.provider.type`` ...) become
  categoricals; other strings use pandas' pyarrow-backed ``str`` dtype;
* arrays stay whole as list cells (``credentials.emails``, ``target``);
* columns come in a stable order: ``id``, ``status``, the dates (``created``,
  ``activated``, ``statusChanged``, ``lastLogin``, ``lastUpdated``,
  ``passwordChanged``), then ``profile.*``, then the rest in order of appearance
  (System Log events: ``uuid``, ``published``, ``eventType`` ... then
  ``actor.*``, ``outcome.*``, ``target``, ``client.*``).

A JSON *object* (one user, one group) becomes a :class:`pandas.Series` indexed
by the same dotted names: an analyst reads one record top to bottom, and
``record["profile.login"]`` works exactly as on a frame column.

:class:`FrameBuilder` is fed one page at a time, either as a flat Arrow table
read straight from the page's bytes by :class:`JsonPages` (the usual case: no
Python objects are made) or as parsed JSON (``add``), which is flattened into
per-column lists and converted at once. Either way each page becomes compact
Arrow arrays before the next one arrives; ``build()`` concatenates them. This
keeps a 100,000-user pull within a few hundred MB.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

__all__ = ["FrameBuilder", "JsonPages", "to_frame", "to_record", "resource_for_path", "empty_frame"]

_SKIP = ""  # cached column name meaning "not a column" (_links / _embedded)
_HIDDEN = frozenset({"_links", "_embedded"})

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


class _Column:
    """One column's converted pages: ``chunks[i]`` belongs to page ``pages[i]``."""

    __slots__ = ("name", "pages", "chunks", "timestamp", "objects")

    def __init__(self, name: str) -> None:
        self.name = name
        self.pages: list[int] = []
        self.chunks: list[Any] = []  # pyarrow.Array, or a Python list for object columns
        self.timestamp: bool | None = None  # None: not decided yet
        self.objects = False  # True once any page needed Python objects (lists, mixed types)


class FrameBuilder:
    """Build one DataFrame from pages of records, converting each page as it arrives.

    Args:
        resource: ``users``, ``groups``, ``apps``, ``logs`` or None; sets the column
            order and the columns of an empty result.
        keep_links: keep ``_links`` and ``_embedded`` as dotted columns.
    """

    def __init__(self, resource: str | None = None, *, keep_links: bool = False) -> None:
        self.resource = resource
        self.keep_links = keep_links
        self._columns: dict[str, _Column] = {}
        self._page_sizes: list[int] = []
        self._rows = 0
        # Arrow pages not converted yet: converting a batch of pages at once costs one operation
        # per column instead of one per column and page; batches bound the memory held twice.
        self._tables: list[pa.Table] = []

    @property
    def rows(self) -> int:
        """Rows added so far."""
        return self._rows

    def add(self, records: Sequence[Any]) -> None:
        """Add one page (a JSON array already parsed); its objects may be dropped afterwards."""
        n = len(records)
        if not n:
            return
        self._convert_tables()  # keep the pages in order
        cols = self._flatten(records, n)
        converted = []
        for name, (values, kinds) in cols.items():
            column = self._column(name)
            converted.append((column, self._convert(column, values, kinds)))
        del cols
        self._rows += n
        self._commit(n, converted)

    def _column(self, name: str) -> _Column:
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = _Column(name)
        return column

    def _commit(self, n: int, converted: list[tuple[_Column, Any]], pending: int = 0) -> None:
        """Commit a converted page of ``n`` rows in one short step (an interrupt never leaves half a
        page behind), in place of the first ``pending`` waiting Arrow pages."""
        page = len(self._page_sizes)
        del self._tables[:pending]
        self._page_sizes.append(n)
        for column, chunk in converted:
            if chunk is not None:
                column.pages.append(page)
                column.chunks.append(chunk)

    def add_table(self, table: pa.Table) -> None:
        """Add one page already read into a flat Arrow table (see :class:`JsonPages`)."""
        if table.num_rows:
            self._tables.append(table)  # one append: an interrupt never leaves half a page behind
            self._rows += table.num_rows
            if len(self._tables) >= _BATCH_PAGES:
                self._convert_tables()

    def _convert_tables(self) -> None:
        """Convert the pending Arrow pages: as one table when their types agree, else page by page."""
        import pyarrow as pa

        tables = list(self._tables)
        if not tables:
            return
        try:
            combined = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            for table in tables:  # a text column on one page, numbers on another: decided per page
                self._add_converted(table, pending=1)
            return
        self._add_converted(combined, pending=len(tables))

    def _add_converted(self, table: pa.Table, *, pending: int) -> None:
        """Convert a table of ``pending`` waiting pages and commit it in place of them.

        The rows were counted when the pages were added.
        """
        converted = []
        for name, chunked in zip(table.column_names, table.columns, strict=True):
            column = self._column(name)
            converted.append((column, self._convert_array(column, chunked.combine_chunks())))
        self._commit(table.num_rows, converted, pending)

    def _convert_array(self, column: _Column, array: pa.Array) -> Any:
        """The Arrow counterpart of :meth:`_convert`: same decisions, no Python objects unless lists."""
        import pyarrow as pa

        kind = array.type
        if column.objects or pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_struct(kind):
            if not column.objects:
                self._to_objects(column)
            return array.to_pylist()
        if pa.types.is_null(kind) or array.null_count == len(array):
            return None
        if pa.types.is_string(kind):
            return self._text_or_timestamps(column, array)
        if column.timestamp:
            self._demote_timestamps(column)
        column.timestamp = False
        return array

    def _flatten(self, records: Sequence[Any], n: int) -> dict[str, tuple[list[Any], set[type]]]:
        """Per-column value lists for one page (missing attributes stay None).

        Works column by column (one list comprehension per attribute) rather than
        value by value: the pages of a list share their shape, so this is several
        times faster than walking each record.
        """
        cols: dict[str, tuple[list[Any], set[type]]] = {}
        objects = records if all(r.__class__ is dict for r in records) else None
        if objects is None:  # an array of plain values (strings, numbers), perhaps mixed with objects
            plain = [None if r.__class__ is dict else r for r in records]
            cols["value"] = (plain, set(map(type, plain)))
            objects = [r if r.__class__ is dict else _EMPTY_DICT for r in records]
        self._columns_of(objects, "", cols)
        return cols

    def _columns_of(self, objects: Sequence[dict[str, Any]], prefix: str,
                    cols: dict[str, tuple[list[Any], set[type]]]) -> None:
        for key in _keys(objects):
            if key in _HIDDEN and not self.keep_links:
                continue
            values = [o.get(key) for o in objects]
            kinds = set(map(type, values))
            name = prefix + key
            if dict in kinds:
                nested = [v if v.__class__ is dict else _EMPTY_DICT for v in values]
                self._columns_of(nested, name + ".", cols)
                if len(kinds - {dict, type(None)}):  # a scalar where other records have an object: keep it too
                    scalars = [None if v.__class__ is dict else v for v in values]
                    cols[name] = (scalars, kinds - {dict} | {type(None)})
                continue
            cols[name] = (values, kinds)  # a column even when null so far

    def _convert(self, column: _Column, values: list[Any], kinds: set[type]) -> Any:
        """One page of a column as a compact Arrow array, or a Python list when it holds lists/mixed types."""
        import pyarrow as pa

        if column.objects:
            return values
        present = kinds - {type(None)}
        if not present:
            return None  # all missing on this page: filled with nulls at build time
        if list in present:
            self._to_objects(column)
            return values
        if present == {str}:
            # The type given: no inference pass.
            return self._text_or_timestamps(column, pa.array(values, type=pa.string()))
        if column.timestamp:
            self._demote_timestamps(column)
        column.timestamp = False
        try:
            array = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            array = None
        if array is None or pa.types.is_nested(array.type):
            self._to_objects(column)
            return values
        return array

    def _text_or_timestamps(self, column: _Column, strings: pa.Array) -> pa.Array:
        """A page of text: UTC timestamps when the column holds Okta's ISO 8601 times, else the text.

        The column's first value decides; a later value that is not a timestamp turns the
        whole column back into text.
        """
        if column.timestamp is None:
            first = strings.drop_null()[0].as_py()
            column.timestamp = _TIMESTAMP.match(first) is not None
        if not column.timestamp or column.name not in _DATES:
            # Other attributes (custom ones) are cast once at build time, when every value is known:
            # should one not be a time after all, the column keeps its text exactly as Okta sent it.
            return strings
        stamps = _to_timestamps(strings)
        if stamps is not None:
            return stamps
        self._demote_timestamps(column)
        return strings

    def _demote_timestamps(self, column: _Column) -> None:
        """Not every value of an Okta date attribute is a timestamp after all: keep the column as text
        (earlier values in Okta's own ISO 8601 form)."""
        column.timestamp = False
        column.chunks = [_timestamps_as_text(c) for c in column.chunks]

    def _to_objects(self, column: _Column) -> None:
        column.objects = True
        column.timestamp = False
        column.chunks = [c if isinstance(c, list) else c.to_pylist() for c in column.chunks]

    def build(self) -> pd.DataFrame:
        """The DataFrame of every page added so far (an empty frame of the resource's columns if none)."""
        import pandas as pd
        import pyarrow as pa

        self._convert_tables()
        if not self._rows:
            return empty_frame(self.resource)
        arrays: list[pa.ChunkedArray] = []
        names: list[str] = []
        objects: dict[str, list[Any]] = {}
        for name in self._ordered_names():
            column = self._columns[name]
            target = None if column.objects else _common_type(column)
            if target is None:  # list cells, or kinds that differ between pages (text and numbers)
                self._to_objects(column)
                objects[name] = self._object_values(column)
                continue
            arrays.append(self._arrow_column(column, target))
            names.append(name)
        if arrays:
            table = pa.Table.from_arrays(arrays, names=names)
            del arrays
            frame = table.to_pandas(self_destruct=True, split_blocks=True, types_mapper=_strings_for_old_pandas())
            del table
        else:  # every column holds lists or mixed kinds: no Arrow table to size the frame
            frame = pd.DataFrame(index=pd.RangeIndex(self._rows))
        if objects:
            extra = pd.DataFrame({n: pd.Series(v, dtype=object) for n, v in objects.items()}, index=frame.index)
            frame = pd.concat([frame, extra], axis=1)[self._ordered_names()]
        return frame

    def _ordered_names(self) -> list[str]:
        return order_columns(self._columns, self.resource)

    def _object_values(self, column: _Column) -> list[Any]:
        out: list[Any] = []
        chunks = dict(zip(column.pages, column.chunks, strict=True))
        for page, size in enumerate(self._page_sizes):
            chunk = chunks.get(page)
            if chunk is None:
                out.extend([None] * size)
            else:
                out.extend(chunk if isinstance(chunk, list) else chunk.to_pylist())
        return out

    def _arrow_column(self, column: _Column, target: pa.DataType) -> pa.ChunkedArray:
        import pyarrow as pa

        chunks = dict(zip(column.pages, column.chunks, strict=True))
        parts = []
        for page, size in enumerate(self._page_sizes):
            chunk = chunks.get(page)
            parts.append(pa.nulls(size, target) if chunk is None else
                         (chunk if chunk.type == target else chunk.cast(target)))
        array = pa.chunked_array(parts, type=target)
        if column.timestamp and pa.types.is_string(target):
            stamps = _to_timestamps(array)
            array = array if stamps is None else stamps
        elif pa.types.is_string(target) and is_enumeration(column.name):
            array = array.combine_chunks().dictionary_encode()
        column.chunks = []
        return array


class JsonPages:
    """Read JSON array pages straight into flat Arrow tables, without building Python objects.

    Arrow's JSON reader (C++) parses a page faster than ``json.loads`` alone and the
    values land in compact arrays at once; this is what keeps a 100,000-user pull
    close to the cost of merely parsing the JSON. Nested objects are flattened into
    dotted columns by Arrow itself; ``_links``/``_embedded`` are dropped unless kept.

    The reader infers dates from strings (``"2024-05-01"``); such fields are read
    again as text (an explicit schema, kept for later pages), so values look the
    same as on the Python path. A page Arrow cannot take (an attribute that is a
    number in one record and text in another, an array of scalars, a number too
    large for int64) gives None: the caller then parses it with :func:`orjson` and
    :meth:`FrameBuilder.add`, which handles anything JSON can hold.
    """

    def __init__(self, *, keep_links: bool = False) -> None:
        self.keep_links = keep_links
        self._text_fields: pa.Schema | None = None
        self._order: dict[str, None] = {}

    def read(self, content: bytes) -> pa.Table | None:
        """One page (the raw bytes of a JSON array of objects) as a flat table, or None."""
        import pyarrow as pa

        body = content.strip()
        if not body.startswith(b"["):
            return None
        # One line holding {"items": [...]}: raw CR/LF can only be whitespace between JSON tokens
        # (RFC 8259 §7 forbids them inside strings), so they are safe to blank out.
        line = b'{"items":' + body.replace(b"\n", b" ").replace(b"\r", b" ") + b"}"
        try:
            table = self._parse(line, self._text_fields)
            if table is None:
                return None
            dates = _timestamp_fields(table.schema.field("items").type)
            if dates:  # inferred dates: read this page again with those fields as text
                self._flat(table)  # notes the columns' order of appearance first
                self._text_fields = _merge_text_fields(self._text_fields, dates)
                table = self._parse(line, self._text_fields)
                if table is None:
                    return None
            return self._flat(table)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, KeyError):
            return None  # KeyError: two attributes flatten to one name ("a.b" beside "a": {"b": ...})

    def _flat(self, table: pa.Table) -> pa.Table | None:
        import pyarrow as pa

        items = table.column("items").chunk(0)
        if not pa.types.is_struct(items.type.value_type):
            return None if len(items.values) else pa.table({})  # scalars: the Python path; [] : no rows
        records = items.values.slice(items.offsets[0].as_py(), len(items.values))
        flat = pa.Table.from_struct_array(records)
        if not self.keep_links:
            flat = flat.drop_columns([n for n in flat.column_names if n in _HIDDEN])
        while any(pa.types.is_struct(f.type) for f in flat.schema):
            flat = flat.flatten()
        if not flat.num_columns and len(records):
            return None  # only empty objects: a table of no columns cannot hold the row count; the Python path can
        return flat.select(self._ordered(flat.column_names))

    def _parse(self, line: bytes, text_fields: pa.Schema | None) -> pa.Table | None:
        import io

        import pyarrow as pa
        from pyarrow import json as pa_json

        options = pa_json.ParseOptions(explicit_schema=text_fields, unexpected_field_behavior="infer")
        table = pa_json.read_json(io.BytesIO(line), read_options=pa_json.ReadOptions(
            use_threads=False, block_size=len(line) + 1), parse_options=options)
        if table.num_rows != 1 or not pa.types.is_list(table.schema.field("items").type):
            return None
        return table

    def _ordered(self, names: list[str]) -> list[str]:
        # The order of first appearance, whatever order an explicit schema put fields in.
        for name in names:
            self._order.setdefault(name, None)
        present = set(names)
        return [n for n in self._order if n in present]


def _timestamp_fields(kind: pa.DataType) -> pa.DataType | None:
    """The part of a (nested) type whose leaves Arrow inferred as timestamps, as text; None if there are none."""
    import pyarrow as pa

    if pa.types.is_timestamp(kind):
        return pa.string()
    if pa.types.is_list(kind):
        inner = _timestamp_fields(kind.value_type)
        return pa.list_(inner) if inner is not None else None
    if pa.types.is_struct(kind):
        fields = []
        for field in kind:
            inner = _timestamp_fields(field.type)
            if inner is not None:
                fields.append(pa.field(field.name, inner))
        return pa.struct(fields) if fields else None
    return None


def _merge_text_fields(known: pa.Schema | None, found: pa.DataType) -> pa.Schema:
    """An explicit schema naming every field to read as text so far (``items`` at the top)."""
    import pyarrow as pa

    def merge(a: pa.DataType | None, b: pa.DataType) -> pa.DataType:
        if a is None or not (pa.types.is_struct(a) and pa.types.is_struct(b)):
            if a is not None and pa.types.is_list(a) and pa.types.is_list(b):
                return pa.list_(merge(a.value_type, b.value_type))
            return b
        fields = {f.name: f.type for f in a}
        for f in b:
            fields[f.name] = merge(fields.get(f.name), f.type)
        return pa.struct([pa.field(n, t) for n, t in fields.items()])

    before = known.field("items").type if known is not None else None
    return pa.schema([pa.field("items", merge(before, found))])


_EMPTY_DICT: dict[str, Any] = {}
_BATCH_PAGES = 32  # Arrow pages converted together (about 6,400 users)


def _keys(objects: Sequence[dict[str, Any]]) -> list[str]:
    """The keys of a page's objects in order of first appearance (fast when they all share one shape)."""
    first = next((o for o in objects if o), None)
    if first is None:
        return []
    shape = first.keys()
    if all(o.keys() == shape for o in objects if o):
        return list(shape)
    seen: dict[str, None] = {}
    for o in objects:
        for key in o:
            if key not in seen:
                seen[key] = None
    return list(seen)


def _strings_for_old_pandas() -> Any:
    """pandas 3 keeps Arrow strings by default; pandas 2 would make Python objects of 100,000s of
    strings, so there they are mapped to the Arrow-backed string dtype explicitly."""
    import pandas as pd
    import pyarrow as pa

    if int(pd.__version__.split(".", 1)[0]) >= 3:
        return None
    arrow_strings = pd.StringDtype("pyarrow")
    return {pa.string(): arrow_strings, pa.large_string(): arrow_strings}.get


def _to_timestamps(strings: Any) -> Any:
    """Okta's ISO 8601 text as UTC timestamps (ms, or us when finer), or None when some value is not one."""
    import pyarrow as pa

    for unit in ("ms", "us", "ns"):
        try:
            return strings.cast(pa.timestamp(unit, tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
    return None


def _timestamps_as_text(chunk: Any) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(chunk, list) or not pa.types.is_timestamp(chunk.type):
        return chunk
    return pc.strftime(chunk, format="%Y-%m-%dT%H:%M:%SZ")  # %S carries the fraction of the unit


def _common_type(column: _Column) -> pa.DataType | None:
    """The one Arrow type every page of a column can be cast to, or None when the kinds differ."""
    import pyarrow as pa

    kinds = {c.type for c in column.chunks}
    if not kinds:  # null on every page: Okta's date attributes stay datetimes (all NaT)
        return pa.timestamp("ms", tz="UTC") if column.name in _DATES else pa.string()
    if len(kinds) == 1:
        return kinds.pop()
    if all(pa.types.is_timestamp(t) for t in kinds):
        return max(kinds, key=lambda t: ("s", "ms", "us", "ns").index(t.unit))
    if all(pa.types.is_integer(t) or pa.types.is_floating(t) for t in kinds):
        return pa.float64()
    if all(pa.types.is_string(t) or pa.types.is_large_string(t) for t in kinds):
        return pa.large_string()
    return None


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


def to_frame(records: Sequence[Any], resource: str | None = None, *, keep_links: bool = False) -> pd.DataFrame:
    """A JSON array (list of objects) as a DataFrame shaped for analysis (see the module docstring)."""
    builder = FrameBuilder(resource, keep_links=keep_links)
    builder.add(records)
    return builder.build()


def to_record(obj: dict[str, Any], resource: str | None = None, *, keep_links: bool = False) -> pd.Series:
    """A JSON object as a Series indexed by dotted attribute names (named after its ``id`` when it has one)."""
    import pandas as pd

    frame = to_frame([obj], resource, keep_links=keep_links)
    # Built value by value so NaT stays NaT (a row of mixed dtypes would turn it into NaN).
    values = {name: frame[name].iloc[0] for name in frame.columns}
    return pd.Series(values, dtype=object, name=obj.get("id", obj.get("uuid")))
