"""Build one DataFrame from pages of records, converting each page to compact Arrow arrays as it arrives.

A page comes either as a flat Arrow table read straight from its bytes (``arrowjson.JsonPages``,
the usual case: no Python objects are made) or as parsed JSON (``FrameBuilder.add``), which is
flattened into per-column lists and converted at once; ``build()`` concatenates the pages.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from okta_magic.frames.readable import finish, parse_user_schema
from okta_magic.frames.shape import _DATES, _HIDDEN, _TIMESTAMP, empty_frame, is_enumeration, order_columns
from okta_magic.frames.shape import strings_for_old_pandas as _strings_for_old_pandas

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

__all__ = ["FrameBuilder"]

_EMPTY_DICT: dict[str, Any] = {}
_BATCH_PAGES = 32  # Arrow pages converted together (about 6,400 users)


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
        keep_links: keep ``_links`` (at any depth) as dotted columns; ``_embedded`` is always kept.
        schema: the org's user schema (the body of ``GET /api/v1/meta/schemas/user/default``) to type a users
            frame's custom attributes by; None leaves them as Okta's JSON gave them.
        managers: the frame will hold the whole answer: add each user's ``profile.managerLogin`` (a file written
            in several batches does not, as a manager may be in another batch; see ``tofile.FileSink``).
    """

    def __init__(self, resource: str | None = None, *, keep_links: bool = False,
                 schema: Mapping[str, Any] | None = None, managers: bool = False) -> None:
        self.resource = resource
        self.keep_links = keep_links
        self.schema = parse_user_schema(schema) if resource == "users" else None
        self.managers = managers
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
        del combined, tables
        pa.default_memory_pool().release_unused()  # the batch's page buffers, freed just now

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
            with _collector_paused():
                return _cells(array)
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
            return self._finish(empty_frame(self.resource))
        # The pages' buffers are freed by now; Arrow's pool keeps freed memory for reuse unless told,
        # and the frame is about to need as much again (about 15 MB of a 100,000-user pull's peak).
        pa.default_memory_pool().release_unused()
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
        return self._finish(frame)

    def _finish(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The frame made readable (``readable.finish``): schema types, managers' logins, a log event's target."""
        return finish(frame, self.resource, schema=self.schema, managers=self.managers)

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



_pause_lock = threading.Lock()
_pauses = [0, False]  # list cells being made now (on any thread), and whether they turned the collector off


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while list cells are made: every new list and dict counts towards
    a collection, and the collections that hundreds of thousands set off walk every object in the process (half the
    cells' own CPU on a 100,000-user pull). The cells hold text, numbers and dicts of those: no cycles to collect."""
    with _pause_lock:
        if not _pauses[0]:
            _pauses[1] = gc.isenabled()
            gc.disable()
        _pauses[0] += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses[0] -= 1
            if not _pauses[0] and _pauses[1]:
                gc.enable()


def _cells(array: pa.Array) -> list[Any]:
    """A page batch of list cells as Python values (``to_pylist``'s), the text that repeats inside them (an email's
    ``status`` and ``type``, a profile's skills) as one str object per distinct value: a 100,000-user pull's
    ``credentials.emails`` and ``profile.skills`` took 61 MB as Python objects, 37 MB so."""
    import pyarrow as pa

    kind = array.type
    child = kind.value_type if pa.types.is_list(kind) or pa.types.is_large_list(kind) else None
    if child is None or (pa.types.is_nested(child) and not pa.types.is_struct(child)) or (
            pa.types.is_struct(child) and (not child.num_fields or any(pa.types.is_nested(f.type) for f in child))):
        return array.to_pylist()  # other shapes: as Arrow gives them
    offsets = array.offsets.to_pylist()
    base = offsets[0]
    values = array.values.slice(base, offsets[-1] - base)
    if pa.types.is_struct(child):
        names = [f.name for f in child]
        fields = [_shared_text(values.field(i)) for i in range(child.num_fields)]  # (.field: not the struct's nulls)
        items: list[Any] = _records(names, fields)
        _none_where_null(values, items)
    else:
        items = _shared_text(values)
    if base:
        offsets = [offset - base for offset in offsets]
    cells: list[Any] = list(map(items.__getitem__, map(slice, offsets, offsets[1:])))  # (a slice per cell, in C)
    _none_where_null(array, cells)
    return cells


def _records(names: list[str], fields: list[list[Any]]) -> list[dict[str, Any]]:
    """Each row of a struct's fields as a dict, as ``dict(zip(names, row))`` gives it: a dict display per row for
    up to four fields (an email's ``value``, ``status``, ``type``), about twice as fast on a 100,000-user pull."""
    rows = zip(*fields)
    if len(names) == 1:
        (a,) = names
        return [{a: v} for (v,) in rows]
    if len(names) == 2:
        a, b = names
        return [{a: v, b: w} for v, w in rows]
    if len(names) == 3:
        a, b, c = names
        return [{a: v, b: w, c: x} for v, w, x in rows]
    if len(names) == 4:
        a, b, c, d = names
        return [{a: v, b: w, c: x, d: y} for v, w, x, y in rows]
    return [dict(zip(names, row)) for row in rows]


def _shared_text(values: pa.Array) -> list[Any]:
    """An array's values as Python objects; text whose values repeat (half as many distinct as there are or
    fewer) as one str object per distinct value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if len(values) < 64 or not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values.to_pylist()
    encoded = pc.dictionary_encode(values)
    if 2 * len(encoded.dictionary) > len(values):
        return values.to_pylist()
    distinct = encoded.dictionary.to_pylist()
    indices = encoded.indices
    if indices.null_count:  # a null's index points past the distinct values, at None
        distinct.append(None)
        indices = pc.fill_null(indices, len(distinct) - 1)
    return list(map(distinct.__getitem__, indices.to_pylist()))


def _none_where_null(array: pa.Array, values: list[Any]) -> None:
    if array.null_count:
        for i, valid in enumerate(array.is_valid().to_pylist()):
            if not valid:
                values[i] = None


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

