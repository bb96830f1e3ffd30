"""Write a pull's pages to a file as they arrive: Parquet, CSV or JSON Lines, chosen by the file's suffix.

The format is an object (``formats.py``: how a part is written, widened, merged and read back); this sink
never names one, so a new format is a class there and a suffix nobody registered is refused, never written.

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

A users file is typed by the org's user schema as the frame is (``schema``: each batch's builder gets it). Its
``profile.managerLogin`` needs every row at once, so only a pull written in one piece has it: when the sink
closes with nothing written yet (not continuing a file), the one batch it holds is the whole pull, and its
managers are looked up in it as a DataFrame's are. A pull written in several batches has no such column, rather
than one filled only where a manager happened to come first (docs/frames.md).

``append=True`` keeps the rows already in ``path`` first: the old file is the first part, so the same
merge rewrites it with the new rows after it (one file, rewritten each run, in constant memory).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from okta_magic.errors import FileWriteError
from okta_magic.frames.builder import FrameBuilder
from okta_magic.frames.existing import check_continuable, last_events
from okta_magic.frames.formats import FileFormat, PartWriter, file_format, format_for
from okta_magic.frames.output import Output, copy_into, write_failure
from okta_magic.frames.shape import empty_frame, order_columns

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FileSink", "Written", "file_format", "last_events", "check_continuable"]


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
        schema: the org's user schema (the body of ``GET /api/v1/meta/schemas/user/default``) to type a users
            file's custom attributes by, as :class:`FrameBuilder` does.
    """

    def __init__(self, path: str | os.PathLike[str], resource: str | None = None, *, keep_links: bool = False,
                 append: bool = False, skip: Iterable[str] = (), batch_pages: int = 32,
                 batch_rows: int | None = None, first: str | None = None,
                 schema: Mapping[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.kind: FileFormat = format_for(path)  # ValueError for a suffix no format has
        self.format = self.kind.name
        self.resource = resource
        self.keep_links = keep_links
        self.skip = frozenset(skip)
        self.batch_pages = batch_pages
        self.batch_rows = batch_rows
        self.first = first
        self.schema = schema
        self._keys: list[Any] = []  # the batch's fan-out value of each page, and its rows
        self._counts: list[int] = []
        self.rows = 0
        self.pages = 0
        self.before = 0
        self._parts: list[Path] = []
        self._writer: PartWriter | None = None  # the current part's writer (its format's)
        self._out: Output | None = None  # the current part's bytes
        self._broken: Output | None = None  # a part the disk refused, its rest in memory (read back on failure)
        self._start = 0  # JSON Lines append: the bytes of the old lines at the part's start
        self._schema: Any = None
        self._builder = FrameBuilder(resource, keep_links=keep_links, schema=schema)
        self._batched = 0
        self._closed = False
        self._existed = self.path.exists()
        self.error: FileWriteError | None = None  # the failure that stopped the sink, raised again by close()
        if append and self.path.exists():
            self._parts.append(self.path)
            self.before = self.kind.count_rows(self.path)
            self._schema = self.kind.read_schema(self.path)

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
        self._builder = FrameBuilder(self.resource, keep_links=self.keep_links, schema=self.schema)
        # the last batch, and nothing written before it (nor a file continued): the whole pull, managers and all
        builder.managers = self._closed and not self._parts
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
        """``frame`` into the current part, or a new one when its columns or types widen the part's schema."""
        data = self.kind.prepare(frame)
        widened = self.kind.widen(self._schema, data, self._order)
        if self._writer is None or not self.kind.same(widened, self._schema):
            self._new_part(widened)
        assert self._writer is not None
        self._writer.write(data)

    def _order(self, names: Iterable[str]) -> list[str]:
        """The frame's column order: the fan-out column first, then the resource's order."""
        names = list(names)
        rest = order_columns([n for n in names if n != self.first], self.resource)
        return [self.first, *rest] if self.first is not None and self.first in names else rest

    def _new_part(self, schema: Any) -> None:
        """Close the current part and start another, of ``schema`` (the format's: an Arrow schema, a header)."""
        self._close_writer()
        one = self.kind.one_part  # the only part of the pull (no schema): an append's old rows are copied into it
        part = self.path.with_name(f".{self.path.name}.part" + ("" if one else str(len(self._parts))))
        self._out = Output(part)
        old, self._parts = self._parts, [*self._parts, part]
        self._schema = schema
        if one and old:
            self._start = old[0].stat().st_size  # (set first: a copy cut short leaves no new rows to read back)
            copy_into(old[0], self._out)
        self._writer = self.kind.open(self._out, schema)

    def _close_writer(self) -> None:
        """Close the current part (a Parquet footer, its last bytes); the OSError of a write the disk refused."""
        writer, out = self._writer, self._out
        self._writer = self._out = None
        if out is None:
            return
        try:
            if writer is not None:
                writer.close()
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
        if self.kind.one_part or (len(self._parts) == 1 and new):
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
        self.kind.merge(self._parts, merged, self._order)
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
        start = self._start  # an append's old lines in a JSON Lines part (0 for every other part)
        for part in self._parts:
            if part == self.path:
                continue
            if self._broken is not None and self._broken.path == part:
                frame = self.kind.read_part(self._broken.contents(start))
            elif part.exists():
                frame = self.kind.read_part(part, start)
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

