"""The file formats a pull writes (``--to``), one object each: how a part is written, widened and merged, and how a
file of the format already on disk is read (its columns, its rows, its System Log events for ``append``).

:data:`FORMATS` maps each suffix to its format; :func:`format_for` reads a path's suffix and raises a ValueError
for any other, so a file is never written in a format nobody chose. A new format is one :class:`FileFormat`
subclass given to :func:`register`. The sink (``tofile.py``) asks its format object and never names a format.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from okta_magic.frames.output import BUFFER, Output

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

__all__ = ["FORMATS", "FileFormat", "PartWriter", "Parquet", "Csv", "JsonLines", "format_for", "file_format",
           "register"]

Order = Callable[[Iterable[str]], list[str]]

# The span before a System Log file's last event whose uuids an append leaves out (``existing.last_events``).
LAST_SECOND = datetime.timedelta(seconds=1)


class PartWriter(Protocol):
    """What writes one part's rows: ``write`` a batch (as the format prepared it), ``close`` to end the part."""

    def write(self, data: Any) -> None: ...

    def close(self) -> None: ...


class FileFormat(ABC):
    """One file format: its suffixes, how a part is written and merged, and how a file of it is read.

    Its writer and readers are abstract: a format that leaves one out cannot be made, so none is half written.
    """

    name = ""
    suffixes: tuple[str, ...] = ()
    described = ""  # "a Parquet file": what a file that cannot be read is not
    one_part = False  # no schema to widen: the rows go on in one part, an append's old rows copied into it once

    # -- writing -------------------------------------------------------------------------------------------
    def prepare(self, frame: pd.DataFrame) -> Any:
        """A batch's frame as this format writes it."""
        return frame

    def widen(self, schema: Any, data: Any, order: Order) -> Any:
        """The schema a part needs for ``data`` after ``schema`` (None: the first batch, or no schema at all)."""
        return None

    def same(self, a: Any, b: Any) -> bool:
        """True when a part of schema ``b`` takes a batch of schema ``a`` (no new part needed)."""
        return True

    @abstractmethod
    def open(self, out: Output, schema: Any) -> PartWriter:
        """A writer of a new part into ``out``, of ``schema``."""
        raise NotImplementedError

    def merge(self, parts: list[Path], target: Path, order: Order) -> None:
        """The parts one after the other in ``target`` (only a format with ``one_part`` False has several)."""
        raise NotImplementedError

    # -- reading a file on disk ----------------------------------------------------------------------------
    def read_schema(self, path: Path) -> Any:
        """A file's schema as a part of this format holds it (None when the format needs none)."""
        return None

    def count_rows(self, path: Path) -> int:
        """The rows a file holds."""
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())

    @abstractmethod
    def columns(self, path: Path) -> list[str] | None:
        """The columns a file's head names (None: an empty text file); a ValueError when it is not of this format."""
        raise NotImplementedError

    @abstractmethod
    def read_part(self, source: Path | bytes, start: int = 0) -> pd.DataFrame | None:
        """A part's rows from its file (from byte ``start``: an append's old lines skipped) or its bytes; None when
        it holds none."""
        raise NotImplementedError

    def holds_nothing(self, path: Path) -> bool:
        """True when the file is there but holds no rows to continue from (an empty text file)."""
        return not path.stat().st_size

    @abstractmethod
    def events(self, path: Path) -> Iterable[pd.DataFrame]:
        """The ``published`` and ``uuid`` columns of a System Log file, in chunks (memory stays one chunk)."""
        raise NotImplementedError


class _Text:
    """A part's text stream (CSV, JSON Lines) over its :class:`Output`."""

    def __init__(self, out: Output, newline: str | None) -> None:
        self.text = io.TextIOWrapper(io.BufferedWriter(out, BUFFER), encoding="utf-8", newline=newline)

    def close(self) -> None:
        self.text.close()


def _text_of(source: Path | bytes, start: int) -> bytes:
    """A part's bytes from ``start`` (its file's, or the ones given)."""
    if isinstance(source, Path):
        with open(source, "rb") as f:
            f.seek(start)
            return f.read()
    return source


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class Parquet(FileFormat):
    """Apache Parquet: one row group per batch; a part's Arrow schema widens as new columns or types arrive."""

    name, suffixes, described = "parquet", (".parquet", ".pq"), "a Parquet file"

    class _Writer:
        def __init__(self, out: Output, schema: pa.Schema) -> None:
            import pyarrow.parquet as pq

            self.schema = schema
            self.stream = io.BufferedWriter(out, BUFFER)
            self.writer = pq.ParquetWriter(self.stream, schema)

        def write(self, data: pa.Table) -> None:
            self.writer.write_table(_conform(data, self.schema))

        def close(self) -> None:
            try:
                self.writer.close()  # the footer
            finally:
                self.stream.close()

    def prepare(self, frame: pd.DataFrame) -> pa.Table:
        return _arrow(frame)

    def widen(self, schema: Any, data: pa.Table, order: Order) -> pa.Schema:
        return data.schema if schema is None else _unify(schema, data.schema, order)

    def same(self, a: Any, b: Any) -> bool:
        return b is not None and a.equals(b)

    def open(self, out: Output, schema: pa.Schema) -> PartWriter:
        return Parquet._Writer(out, schema)

    def merge(self, parts: list[Path], target: Path, order: Order) -> None:
        _merge_parquet(parts, target, order)

    def read_schema(self, path: Path) -> pa.Schema:
        import pyarrow.parquet as pq

        return pq.read_schema(path)

    def count_rows(self, path: Path) -> int:
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows

    def columns(self, path: Path) -> list[str] | None:
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise ValueError(f"it is not {self.described} ({_first_line(exc)})") from None

    def read_part(self, source: Path | bytes, start: int = 0) -> pd.DataFrame | None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        return pq.read_table(pa.BufferReader(source) if isinstance(source, bytes) else source).to_pandas()

    def holds_nothing(self, path: Path) -> bool:
        return False  # an empty file is no Parquet file: reading it says so

    def events(self, path: Path) -> Iterable[pd.DataFrame]:
        return _last_row_groups(path)


class Csv(FileFormat):
    """CSV (UTF-8) under one header; a part's schema is its header, and a new column starts a new part."""

    name, suffixes, described = "csv", (".csv",), "CSV text (UTF-8)"

    class _Writer(_Text):
        def __init__(self, out: Output, schema: list[str]) -> None:
            super().__init__(out, newline="")
            self.schema = schema
            csv.writer(self.text).writerow(schema)

        def write(self, data: pd.DataFrame) -> None:
            data.reindex(columns=self.schema).to_csv(self.text, header=False, index=False)

    def widen(self, schema: Any, data: pd.DataFrame, order: Order) -> list[str]:
        known = list(schema or ())
        return order([*known, *(n for n in data.columns if n not in known)])

    def same(self, a: Any, b: Any) -> bool:
        return b is not None and set(a) == set(b)

    def open(self, out: Output, schema: list[str]) -> PartWriter:
        return Csv._Writer(out, schema)

    def merge(self, parts: list[Path], target: Path, order: Order) -> None:
        _merge_csv(parts, target, order)

    def read_schema(self, path: Path) -> list[str] | None:
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), None)

    def count_rows(self, path: Path) -> int:
        return max(super().count_rows(path) - 1, 0)  # the header is no row

    def columns(self, path: Path) -> list[str] | None:
        try:
            return self.read_schema(path)
        except (OSError, ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
            raise ValueError(f"it is not {self.described} ({_first_line(exc)})") from None

    def read_part(self, source: Path | bytes, start: int = 0) -> pd.DataFrame | None:
        import pandas as pd

        data = _text_of(source, start)
        return pd.read_csv(io.BytesIO(data)) if data.strip() else None

    def events(self, path: Path) -> Iterable[pd.DataFrame]:
        import pandas as pd

        return [chunk[["published", "uuid"]]
                for chunk in pd.read_csv(path, usecols=["published", "uuid"], chunksize=50_000, dtype=str)]


class JsonLines(FileFormat):
    """JSON Lines: one object a line; no schema, so a pull is one part and an append copies the old lines first."""

    name, suffixes, described = "jsonl", (".jsonl", ".ndjson"), "JSON Lines"
    one_part = True

    class _Writer(_Text):
        def write(self, data: pd.DataFrame) -> None:
            text = data.to_json(orient="records", lines=True, date_format="iso", date_unit="ms", force_ascii=False)
            self.text.write(text if text.endswith("\n") or not text else text + "\n")

    def open(self, out: Output, schema: Any) -> PartWriter:
        return JsonLines._Writer(out, newline=None)

    def columns(self, path: Path) -> list[str] | None:
        try:
            with open(path, encoding="utf-8", newline="") as f:
                first = next((line for line in f if line.strip()), None)
            if first is None:
                return None
            row = json.loads(first)
        except (OSError, ValueError) as exc:  # json's and UnicodeDecodeError are ValueErrors
            raise ValueError(f"it is not {self.described} ({_first_line(exc)})") from None
        if not isinstance(row, dict):
            raise ValueError(f"it is not {self.described} (its first line is not a JSON object)")
        return list(row)

    def read_part(self, source: Path | bytes, start: int = 0) -> pd.DataFrame | None:
        import pandas as pd

        data = _text_of(source, start)
        return pd.read_json(io.BytesIO(data), lines=True, dtype=False) if data.strip() else None

    def events(self, path: Path) -> Iterable[pd.DataFrame]:
        import pandas as pd

        return [chunk[["published", "uuid"]] for chunk in pd.read_json(path, lines=True, chunksize=50_000, dtype=False)]


FORMATS: dict[str, FileFormat] = {}


def register(fmt: FileFormat) -> FileFormat:
    """Make ``fmt`` the format of each of its suffixes (lower case, with the dot)."""
    for suffix in fmt.suffixes:
        FORMATS[suffix.lower()] = fmt
    return fmt


for _fmt in (Parquet(), Csv(), JsonLines()):
    register(_fmt)


def format_for(path: str | os.PathLike[str]) -> FileFormat:
    """The format of a file, from its suffix; a ValueError naming the suffixes there are for any other."""
    suffix = Path(path).suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        firsts = list(dict.fromkeys(f.suffixes[0] for f in FORMATS.values()))
        listed = ", ".join(firsts[:-1]) + f" or {firsts[-1]}" if len(firsts) > 1 else firsts[0]
        raise ValueError(f"the file's suffix says its format: {listed} (not {suffix or 'none'!r})")
    return fmt


def file_format(path: str | os.PathLike[str]) -> str:
    """The name of a file's format (``parquet``, ``csv``, ``jsonl`` ...) from its suffix; ValueError for any other."""
    return format_for(path).name


# -- Parquet: Arrow tables of one spelling per kind, widened and merged ------------------------------------------


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


def _unify(a: pa.Schema, b: pa.Schema, order: Order) -> pa.Schema:
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


def _merge_parquet(parts: list[Path], target: Path, order: Order) -> None:
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


def _last_row_groups(path: Path) -> Iterable[pd.DataFrame]:
    """The ``published``/``uuid`` columns of a Parquet file's row groups, last first, while they reach into the
    last second before the latest event (what an append leaves out: ``existing.last_events``)."""
    import pandas as pd
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    latest = None
    for i in reversed(range(f.num_row_groups)):
        chunk = f.read_row_group(i, columns=["published", "uuid"]).to_pandas()
        yield chunk
        stamps = pd.to_datetime(chunk["published"], utc=True, format="ISO8601")
        if stamps.isna().all():
            continue
        latest = stamps.max() if latest is None else max(latest, stamps.max())
        if stamps.min() < latest - LAST_SECOND:  # the events before this group are all earlier (ascending order)
            return


# -- CSV: parts under one header ---------------------------------------------------------------------------------


def _merge_csv(parts: list[Path], target: Path, order: Order) -> None:
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
