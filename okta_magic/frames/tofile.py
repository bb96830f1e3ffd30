"""Write a pull's pages to a file as they arrive: Parquet, CSV or JSON Lines, chosen by the file's suffix.

Pages are gathered in batches (``batch_pages``, 32 by default); each batch goes through its own
:class:`~okta_magic.frames.builder.FrameBuilder`, so it has the columns and types the DataFrame of the
pull would have, and is written as one Parquet row group (or its CSV / JSON Lines rows) before the
next batch is read. Memory holds one batch, whatever the number of rows.

A column that first appears on a later batch (or changes type: integers then decimals, times then
text): the writer closes the current part and starts another with the widened schema. When the pull
ends, interrupted or not, a single part is renamed into place; several are merged into the file one
row group at a time (each cast to the unified schema, missing columns as nulls), so memory stays one
row group. The file at ``path`` only ever appears complete (written beside it, then renamed).

A part is put in place only once every write and close of it succeeded. Each part's bytes go through
:class:`Output`, which keeps, from the first write the disk refuses (full, a file size limit, no
permission), the rest in memory instead, so that the part stays a whole file that can be read back.
On such a failure the sink raises :class:`~okta_magic.errors.FileWriteError` (one line: what
happened, and that ``path`` is as it was), removes the parts, and gives the rows it was handed as the
error's ``partial`` (a DataFrame, read back from the parts), as a failed pull to a DataFrame does.

Many requests' pages (a fan-out's, a partitioned pull's) come in the result's order (see
:func:`okta_magic.pulls.fanout.pull_many`); with ``first=NAME`` each page is given its request's value,
which goes in a first column ``NAME`` as in the fan-out's DataFrame. ``batch_rows`` also closes a
batch at that many rows, for many small pages (one user's factors each).

``append=True`` keeps the rows already in ``path`` first: the old file is the first part, so the same
merge rewrites it with the new rows after it (one file, rewritten each run, in constant memory).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_magic.errors import FileWriteError
from okta_magic.frames.builder import FrameBuilder
from okta_magic.frames.existing import SUFFIXES, check_continuable, count_rows, file_format, last_events, read_schema
from okta_magic.frames.output import BUFFER, Output, copy_into, read_part, write_failure
from okta_magic.frames.shape import empty_frame, order_columns

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

__all__ = ["FileSink", "Written", "SUFFIXES", "file_format", "last_events", "check_continuable"]


@dataclass
class Written:
    """What a pull wrote: rows and pages, the file and its size in bytes."""

    path: str
    rows: int
    pages: int
    size: int
    appended_to: int = 0  # rows the file held before (``append``)
    failures: Any = field(default=None, compare=False)  # a fan-out's failed requests, when any failed

    def __len__(self) -> int:
        return self.rows

    def __repr__(self) -> str:
        before = f" after the {self.appended_to:,} already there" if self.appended_to else ""
        return f"{self.rows:,} rows from {self.pages} page(s){before} → {self.path} ({_size(self.size)})"


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


class FileSink:
    """Pages in, a file out: see the module docstring.

    Args:
        path: the file to write (its suffix gives the format).
        resource: as for :class:`FrameBuilder` (column order, dates, enumerations).
        keep_links: keep ``_links`` and ``_embedded`` columns.
        append: keep the rows already in ``path`` first.
        skip: System Log ``uuid`` values not to write again (already in the file).
        batch_pages: pages per row group.
        batch_rows: also close a row group once it holds this many rows.
        first: the name of a first column holding each page's ``key`` (a fan-out's value).
    """

    def __init__(self, path: str | os.PathLike[str], resource: str | None = None, *, keep_links: bool = False,
                 append: bool = False, skip: Iterable[str] = (), batch_pages: int = 32,
                 batch_rows: int | None = None, first: str | None = None) -> None:
        self.path = Path(path)
        self.format = file_format(path)
        self.resource = resource
        self.keep_links = keep_links
        self.skip = frozenset(skip)
        self.batch_pages = batch_pages
        self.batch_rows = batch_rows
        self.first = first
        self._keys: list[Any] = []  # the batch's fan-out value of each page, and its rows
        self._counts: list[int] = []
        self.rows = 0
        self.pages = 0
        self.before = 0
        self._parts: list[Path] = []
        self._writer: Any = None  # the current part's writer (Parquet), or its text stream (CSV, JSON Lines)
        self._stream: io.BufferedWriter | None = None  # the Parquet writer's buffer
        self._out: Output | None = None  # the current part's bytes
        self._broken: Output | None = None  # a part the disk refused, its rest in memory (read back on failure)
        self._start = 0  # JSON Lines append: the bytes of the old lines at the part's start
        self._schema: Any = None
        self._builder = FrameBuilder(resource, keep_links=keep_links)
        self._batched = 0
        self._closed = False
        self._existed = self.path.exists()
        self.error: FileWriteError | None = None  # the failure that stopped the sink, raised again by close()
        if append and self.path.exists():
            self._parts.append(self.path)
            self.before = count_rows(self.path, self.format)
            self._schema = read_schema(self.path, self.format)

    def add_page(self, data: Any, key: Any = None) -> None:
        """One page's rows (an Arrow table, a parsed JSON array, or one object as one row) and, with ``first``,
        its request's value; writes a batch when it is full."""
        if self.error is not None:
            raise self.error
        before = self._builder.rows
        if isinstance(data, dict):
            self._builder.add([data])
        elif isinstance(data, list):
            self._builder.add(data)
        elif data is not None:
            self._builder.add_table(data)
        if self.first is not None:
            self._keys.append(key)
            self._counts.append(self._builder.rows - before)
        self.pages += 1
        self._batched += 1
        if self._batched >= self.batch_pages or (self.batch_rows is not None and self._builder.rows >= self.batch_rows):
            self.flush()

    def flush(self) -> None:
        """Write the pages gathered so far (one row group)."""
        builder, self._batched = self._builder, 0
        self._builder = FrameBuilder(self.resource, keep_links=self.keep_links)
        keys, counts, self._keys, self._counts = self._keys, self._counts, [], []
        if not builder.rows:
            return
        frame = builder.build()
        del builder
        if self.first is not None:
            from okta_magic.frames.combine import insert_first

            frame = insert_first(frame, self.first, keys, counts)  # ValueError: the answer has that column
        if self.skip and "uuid" in frame.columns:
            frame = frame[~frame["uuid"].isin(list(self.skip))].reset_index(drop=True)
        if len(frame):
            self._write(frame)
            self.rows += len(frame)

    def _write(self, frame: pd.DataFrame) -> None:
        """Write ``frame`` to the current part; a FileWriteError once the disk refused any of it."""
        try:
            self._put(frame)
        except OSError as exc:  # a part could not be made, or the old lines copied: ``frame`` is in no part
            raise self._fail(exc, pending=frame) from exc
        refused = self._out.error if self._out is not None else None
        if refused is not None:
            raise self._fail(refused) from refused

    def _put(self, frame: pd.DataFrame) -> None:
        if self.format == "jsonl":
            self._write_jsonl(frame)
            return
        if self.format == "csv":
            names = list(frame.columns)
            if self._writer is None or set(names) - set(self._schema or ()):
                self._new_part(self._order([*(self._schema or ()), *(n for n in names if n not in (self._schema
                                                                                                   or ()))]))
            frame.reindex(columns=self._schema).to_csv(self._writer, header=False, index=False)
            return
        table = _arrow(frame)
        widened = table.schema if self._schema is None else _unify(self._schema, table.schema, self._order)
        if self._writer is not None and widened.equals(self._schema):
            self._writer.write_table(_conform(table, self._schema))
            return
        self._new_part(widened)
        self._writer.write_table(_conform(table, self._schema))

    def _order(self, names: Iterable[str]) -> list[str]:
        """The frame's column order: the fan-out column first, then the resource's order."""
        names = list(names)
        rest = order_columns([n for n in names if n != self.first], self.resource)
        return [self.first, *rest] if self.first is not None and self.first in names else rest

    def _new_part(self, schema: Any) -> None:
        """Close the current part and start another, with ``schema`` (column names for CSV)."""
        self._close_writer()
        part = self.path.with_name(f".{self.path.name}.part{len(self._parts)}")
        self._out = Output(part)
        self._parts.append(part)
        self._schema = schema
        if self.format == "csv":
            self._writer = io.TextIOWrapper(io.BufferedWriter(self._out, BUFFER), encoding="utf-8", newline="")
            csv.writer(self._writer).writerow(schema)
        else:
            import pyarrow.parquet as pq

            self._stream = io.BufferedWriter(self._out, BUFFER)
            self._writer = pq.ParquetWriter(self._stream, schema)

    def _write_jsonl(self, frame: pd.DataFrame) -> None:
        if self._writer is None:
            part = self.path.with_name(f".{self.path.name}.part")
            self._out = Output(part)
            old, self._parts = self._parts, [*self._parts, part]
            if old:  # append: JSON Lines needs no schema, so the old lines are copied once
                self._start = old[0].stat().st_size  # (set first: a copy cut short leaves no new rows to read back)
                copy_into(old[0], self._out)
            self._writer = io.TextIOWrapper(io.BufferedWriter(self._out, BUFFER), encoding="utf-8")
        text = frame.to_json(orient="records", lines=True, date_format="iso", date_unit="ms", force_ascii=False)
        self._writer.write(text if text.endswith("\n") or not text else text + "\n")

    def _close_writer(self) -> None:
        """Close the current part (its Parquet footer, its last bytes); the OSError of a write the disk refused."""
        writer, stream, out = self._writer, self._stream, self._out
        self._writer = self._stream = self._out = None
        if out is None:
            return
        try:
            if writer is not None:
                writer.close()
            if stream is not None:
                stream.close()
        finally:
            out.close()
        if out.error is not None:
            self._broken = out
            raise out.error

    def close(self) -> Written:
        """Write what is left and put the file in place (a valid file of every row written); the summary.

        A FileWriteError when the file could not be written (``path`` is then as it was)."""
        if self.error is not None:
            raise self.error
        if not self._closed:
            self._closed = True
            try:
                self.flush()
            finally:
                if self.error is None:
                    self._settle()
        size = self.path.stat().st_size if self.path.exists() else 0
        return Written(str(self.path), self.rows, self.pages, size, self.before)

    def _settle(self) -> None:
        """The last part closed and the file put in place, or the sink's failure."""
        try:
            self._close_writer()
            self._finish()
        except FileWriteError:
            raise
        except Exception as exc:  # a write, close or rename refused; a part that cannot be read for the merge
            raise self._fail(exc) from exc

    def discard(self) -> None:
        """Nothing is written after all (a mistake found on the first page): the parts go, ``path`` stays as it was."""
        self._closed = True
        try:
            self._close_writer()
        except OSError:
            pass  # the parts go anyway
        self._remove_parts()

    def _remove_parts(self) -> None:
        for part in [*self._parts, self.path.with_name(f".{self.path.name}.merged")]:
            if part != self.path:
                part.unlink(missing_ok=True)

    def _finish(self) -> None:
        new = [p for p in self._parts if p != self.path]
        if self.format == "jsonl" or (len(self._parts) == 1 and new):
            if new:
                os.replace(new[-1], self.path)
            elif not self.path.exists():
                self.path.touch()  # nothing arrived: an empty file
            return
        if not new:
            if not self.path.exists():  # nothing arrived: an empty file of the resource's columns
                self._write(empty_frame(self.resource))
                self._close_writer()
                os.replace(self._parts[-1], self.path)
            return
        merged = self.path.with_name(f".{self.path.name}.merged")
        (_merge_csv if self.format == "csv" else _merge_parquet)(self._parts, merged, self._order)
        os.replace(merged, self.path)
        for part in new:  # (the file is in place: a part that stays behind is no failure of the pull)
            with contextlib.suppress(OSError):
                part.unlink(missing_ok=True)

    def _fail(self, cause: BaseException, pending: pd.DataFrame | None = None) -> FileWriteError:
        """Stop for good: the parts removed (``path`` untouched), the rows handed over so far (and ``pending``, a
        frame in no part) read back as the error's ``partial``."""
        if self.error is not None:
            return self.error
        self._closed = True
        out = self._out
        try:
            self._close_writer()
        except Exception:  # noqa: BLE001 - the cause is already known; this part is read back below
            pass
        if out is not None:
            self._broken = out
        try:
            rows = self._read_back(pending)
        except Exception:  # noqa: BLE001 - rows that cannot be read back are lost, not the error that says so
            rows = None
        self._remove_parts()
        name = self.path.name
        kept = f"{name} is as it was before this pull" if self._existed else f"no {name} was made"
        self.error = write_failure(f"Could not write {self.path}", cause, kept)
        self.error.partial = rows if rows is not None and len(rows) else None
        return self.error

    def _read_back(self, pending: pd.DataFrame | None) -> pd.DataFrame | None:
        """Every row written to the parts (not the old file's, with ``append``), then ``pending``."""
        import pandas as pd

        frames = []
        start = self._start if self.format == "jsonl" else 0
        for part in self._parts:
            if part == self.path:
                continue
            if self._broken is not None and self._broken.path == part:
                frame = read_part(self._broken.contents(start), self.format)
            elif part.exists():
                frame = read_part(part, self.format, start)
            else:
                continue
            if frame is not None:
                frames.append(frame)
        if pending is not None:
            frames.append(pending)
        if len(frames) <= 1:
            return frames[0] if frames else None
        frame = pd.concat(frames, ignore_index=True)
        return frame[self._order(frame.columns)]


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """A batch's frame as an Arrow table; a column of mixed kinds (text and numbers) as JSON text."""
    import pyarrow as pa

    arrays, names = [], []
    for name in frame.columns:
        series = frame[name]
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            array = pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v, default=str)
                              for v in series], type=pa.string())
        arrays.append(_normal(array))
        names.append(str(name))
    return pa.Table.from_arrays(arrays, names=names)


def _normal(array: Any) -> Any:
    """One spelling per kind: int32 dictionary indices of text, text not large text, nulls as text."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_dictionary(kind):
        return array.cast(pa.dictionary(pa.int32(), pa.string()))
    if pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return array.cast(pa.string())
    return array


def _unify_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The type two batches' columns both fit (text when nothing narrower does)."""
    import pyarrow as pa

    t = pa.types
    if a.equals(b):
        return a
    if t.is_timestamp(a) and t.is_timestamp(b):
        return max(a, b, key=lambda k: ("s", "ms", "us", "ns").index(k.unit))
    if all(t.is_integer(k) or t.is_floating(k) for k in (a, b)):
        return pa.float64() if t.is_floating(a) or t.is_floating(b) else pa.int64()
    if {t.is_dictionary(a), t.is_dictionary(b)} == {True} or (t.is_dictionary(a) and t.is_string(b)) or (
            t.is_dictionary(b) and t.is_string(a)):
        return pa.dictionary(pa.int32(), pa.string())
    try:
        return pa.unify_schemas([pa.schema([("x", a)]), pa.schema([("x", b)])],
                                promote_options="permissive").field("x").type
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.string()


def _unify(a: pa.Schema, b: pa.Schema, order: Callable[[Iterable[str]], list[str]]) -> pa.Schema:
    """Schema ``a`` widened by ``b``, its columns in the frame's order (``a``'s, then ``b``'s new ones, grouped)."""
    import pyarrow as pa

    fields = {f.name: f.type for f in a}
    for f in b:
        fields[f.name] = _unify_type(fields[f.name], f.type) if f.name in fields else f.type
    return pa.schema([pa.field(n, fields[n]) for n in order(fields)])


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` cast to ``schema`` (missing columns as nulls)."""
    import pyarrow as pa

    arrays = []
    for f in schema:
        if f.name not in table.column_names:
            arrays.append(pa.nulls(table.num_rows, f.type))
            continue
        column = table.column(f.name)
        if column.type.equals(f.type):
            arrays.append(column)
        elif pa.types.is_string(f.type) and not pa.types.is_string(column.type) and not pa.types.is_dictionary(
                column.type):
            arrays.append(pa.array([None if v is None else v if isinstance(v, str) else json.dumps(v, default=str)
                                    for v in column.to_pylist()], type=pa.string()))
        else:
            arrays.append(column.cast(f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _merge_parquet(parts: list[Path], target: Path, order: Callable[[Iterable[str]], list[str]]) -> None:
    """The parts one after the other in one file of their unified schema, a row group at a time."""
    import pyarrow.parquet as pq

    files = [pq.ParquetFile(p) for p in parts]
    try:
        schema = files[0].schema_arrow
        for f in files[1:]:
            schema = _unify(schema, f.schema_arrow, order)
        out = Output(target, keep=False)
        with io.BufferedWriter(out, BUFFER) as stream, pq.ParquetWriter(stream, schema) as writer:
            for i, f in ((i, f) for f in files for i in range(f.num_row_groups)):
                writer.write_table(_conform(f.read_row_group(i), schema))
                if out.error is not None:
                    break  # (the disk refused: the rest is not read)
        if out.error is not None:
            raise out.error
    finally:
        for f in files:
            f.close()


def _merge_csv(parts: list[Path], target: Path, order: Callable[[Iterable[str]], list[str]]) -> None:
    """The parts one after the other under one header (every part's columns), a line at a time."""
    header: list[str] = []
    for p in parts:
        with open(p, newline="", encoding="utf-8") as f:
            header += [n for n in next(csv.reader(f), []) if n not in header]
    header = order(header)
    out = Output(target, keep=False)
    with io.TextIOWrapper(io.BufferedWriter(out, BUFFER), encoding="utf-8", newline="") as text:
        writer = csv.writer(text)
        writer.writerow(header)
        for p in parts:
            with open(p, newline="", encoding="utf-8") as f:
                rows = csv.reader(f)
                names = next(rows, [])
                for row in rows:
                    cells = dict(zip(names, row, strict=False))
                    writer.writerow([cells.get(n, "") for n in header])
                    if out.error is not None:
                        break  # (the disk refused: the rest is not read)
            if out.error is not None:
                break
    if out.error is not None:
        raise out.error
