"""Read JSON array pages straight into flat Arrow tables, without building Python objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from okta_magic.frames.shape import _HIDDEN

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow as pa

__all__ = ["JsonPages"]

_REMEMBERED = 64  # page shapes remembered; a list whose pages vary more (System Log events) works each out anew


class JsonPages:
    """Read JSON array pages straight into flat Arrow tables, without building Python objects.

    Arrow's JSON reader (C++) costs about twice ``orjson.loads`` on a page, but the values
    land in compact arrays at once (no Python object per value) and it runs without the GIL,
    so a pull decodes page N on its own thread while page N+1 is on the wire. Nested objects
    are flattened into dotted columns by Arrow itself (``_embedded`` too); ``_links`` are dropped,
    at any depth, unless kept. What is worked out for a page's shape (no dates in it; which columns to drop
    and flatten, and their order) is remembered for the next page of the same shape.

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
        # Pages of one list nearly always have one shape: what was worked out for a shape is kept.
        self._plain: set[pa.DataType] = set()  # page types known to hold no inferred dates
        # a page's type: (the columns dropped before the first flattening and after each, the columns' order)
        self._plans: dict[pa.DataType, tuple[list[list[str]], list[str]]] = {}

    def read(self, content: bytes) -> pa.Table | None:
        """One page (the raw bytes of a JSON array of objects) as a flat table, or None."""
        body = _array(content)
        return None if body is None else self._read_lines(_lines([body]), 1)[0]

    def read_many(self, contents: Sequence[bytes]) -> list[pa.Table | None]:
        """Several pages read in one call (cheaper than one call each), each as :meth:`read` would give it.

        Should the pages not go together (one is not an array, or their types clash), each is read alone.
        """
        bodies = [_array(content) for content in contents]
        if len(bodies) > 1 and all(body is not None for body in bodies):
            table, sizes = self._read_lines(_lines(bodies), len(bodies))  # type: ignore[arg-type]
            if table is not None:
                return _split(table, sizes)
        return [None if body is None else self._read_lines(_lines([body]), 1)[0] for body in bodies]

    def _read_lines(self, lines: bytes, rows: int) -> tuple[pa.Table | None, list[int]]:
        """Lines of ``{"items": [...]}`` as one flat table (None when Arrow cannot hold them), and the rows
        each line gave."""
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            table = self._parse(lines, self._text_fields, rows)
            if table is None:
                return None, []
            kind = table.schema.field("items").type
            dates = None if kind in self._plain else _timestamp_fields(kind)
            if dates is None:
                if len(self._plain) < _REMEMBERED:
                    self._plain.add(kind)
            else:  # inferred dates: read these lines again with those fields as text
                self._flat(table)  # notes the columns' order of appearance first
                self._text_fields = _merge_text_fields(self._text_fields, dates)
                table = self._parse(lines, self._text_fields, rows)
                if table is None:
                    return None, []
            flat = self._flat(table)
            return (None, []) if flat is None else (flat, pc.list_value_length(table.column("items")).to_pylist())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, KeyError):
            return None, []  # KeyError: two attributes flatten to one name ("a.b" beside "a": {"b": ...})

    def _flat(self, table: pa.Table) -> pa.Table | None:
        import pyarrow as pa

        items = table.column("items").chunk(0)
        kind = items.type.value_type
        if not pa.types.is_struct(kind):
            return None if len(items.values) else pa.table({})  # scalars: the Python path; [] : no rows
        records = items.values.slice(items.offsets[0].as_py(), len(items.values))
        flat = pa.Table.from_struct_array(records)
        plan = self._plans.get(kind)
        if plan is None:
            plan = self._plan(flat)
            if len(self._plans) < _REMEMBERED:
                self._plans[kind] = plan
        dropped, order = plan
        flat = flat.drop_columns(dropped[0])
        for nested in dropped[1:]:
            flat = flat.flatten().drop_columns(nested)
        if not flat.num_columns and len(records):
            return None  # only empty objects: a table of no columns cannot hold the row count; the Python path can
        return flat.select(order)

    def _plan(self, flat: pa.Table) -> tuple[list[list[str]], list[str]]:
        """How a page of this shape is flattened: the hidden columns dropped at the top and after each flattening
        (``_links`` at any depth, as :meth:`FrameBuilder.add` drops them), and the columns' order."""
        import pyarrow as pa

        dropped = [[] if self.keep_links else [n for n in flat.column_names if n in _HIDDEN]]
        probe = flat.drop_columns(dropped[0])
        while any(pa.types.is_struct(f.type) for f in probe.schema):
            nested = [] if self.keep_links else [f"{f.name}.{child.name}" for f in probe.schema
                                                 if pa.types.is_struct(f.type) for child in f.type
                                                 if child.name in _HIDDEN]
            probe = probe.flatten().drop_columns(nested)
            dropped.append(nested)
        return dropped, self._ordered(probe.column_names)

    def _parse(self, lines: bytes, text_fields: pa.Schema | None, rows: int) -> pa.Table | None:
        import pyarrow as pa
        from pyarrow import json as pa_json

        # From a buffer, not a Python file object: Arrow then parses without taking the GIL.
        options = pa_json.ParseOptions(explicit_schema=text_fields, unexpected_field_behavior="infer")
        table = pa_json.read_json(pa.BufferReader(lines), read_options=pa_json.ReadOptions(
            use_threads=False, block_size=len(lines) + 1), parse_options=options)
        if table.num_rows != rows or not pa.types.is_list(table.schema.field("items").type):
            return None
        return table.combine_chunks()

    def _ordered(self, names: list[str]) -> list[str]:
        # The order of first appearance, whatever order an explicit schema put fields in.
        for name in names:
            self._order.setdefault(name, None)
        present = set(names)
        return [n for n in self._order if n in present]


def _array(content: bytes) -> bytes | None:
    """A page's JSON array on one line (the bytes as they came when they hold no line break), or None when
    the page is not a JSON array."""
    body = content.strip()
    if not body.startswith(b"["):
        return None
    # Raw CR/LF can only be whitespace between JSON tokens (RFC 8259 §7 forbids them inside
    # strings), so they are safe to blank out. Okta's pages are compact: no copy then.
    if b"\n" in body:
        body = body.replace(b"\n", b" ")
    return body.replace(b"\r", b" ") if b"\r" in body else body


def _lines(bodies: Sequence[bytes]) -> bytes:
    """Pages' arrays as lines of ``{"items": [...]}`` (one per page), in one copy of their bytes."""
    parts = [b'{"items":']
    for body in bodies:
        parts += (body, b'}\n{"items":')
    parts[-1] = b"}"
    return b"".join(parts)


def _split(table: pa.Table, sizes: list[int]) -> list[pa.Table]:
    """A table read from several pages, cut back into one table per page (no copy)."""
    pages, start = [], 0
    for size in sizes:
        pages.append(table.slice(start, size))
        start += size
    return pages


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

