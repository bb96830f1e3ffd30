"""What a file already on disk is and holds: its format (from its suffix), its columns and rows, and for a
System Log file its last events (``append`` continues from them)."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["SUFFIXES", "file_format", "read_schema", "count_rows", "last_events", "check_continuable"]

SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def file_format(path: str | os.PathLike[str]) -> str:
    """``parquet``, ``csv`` or ``jsonl`` from the file's suffix; ValueError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"the file's suffix says its format: .parquet, .csv or .jsonl (not {suffix or 'none'!r})")
    return SUFFIXES[suffix]


def read_schema(path: Path, fmt: str) -> Any:
    """A file's columns: its Arrow schema (Parquet), its header (CSV), None (JSON Lines needs none)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path)
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            return next(csv.reader(f), None)
    return None


def count_rows(path: Path, fmt: str) -> int:
    """The rows a file holds (a CSV file's header not counted)."""
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as f:
        lines = sum(1 for line in f if line.strip())
    return max(lines - 1, 0) if fmt == "csv" else lines


def last_events(path: str | os.PathLike[str]) -> tuple[str | None, set[str]]:
    """The latest ``published`` in a System Log file (Okta's ISO 8601, ms) and the ``uuid`` values at that instant."""
    import pandas as pd

    fmt, where = file_format(path), Path(path)
    if not where.exists() or (fmt != "parquet" and not where.stat().st_size):
        return None, set()
    if fmt == "parquet":
        frames = _last_row_groups(where)
    else:
        reader = (pd.read_csv(where, usecols=["published", "uuid"], chunksize=50_000, dtype=str) if fmt == "csv" else
                  pd.read_json(where, lines=True, chunksize=50_000, dtype=False))
        frames = [chunk[["published", "uuid"]] for chunk in reader]  # each chunk reduced below, one at a time
    latest: Any = None
    uuids: set[str] = set()
    for chunk in frames:
        stamps = pd.to_datetime(chunk["published"], utc=True, format="ISO8601")
        if not len(stamps) or stamps.isna().all():
            continue
        top = stamps.max()
        here = set(chunk["uuid"][stamps == top].astype(str))
        if latest is None or top > latest:
            latest, uuids = top, here
        elif top == latest:
            uuids |= here
    if latest is None:
        return None, set()
    return latest.strftime("%Y-%m-%dT%H:%M:%S.") + f"{latest.microsecond // 1000:03d}Z", uuids


def check_continuable(path: str | os.PathLike[str]) -> None:
    """A ValueError saying why, unless ``path`` (when it exists) is a file of its suffix's format with the System
    Log's ``published`` and ``uuid`` columns (an empty CSV or JSON Lines file will do): what ``append`` reads."""
    fmt, where = file_format(path), Path(path)
    if not where.exists():
        return
    if not where.is_file():
        raise ValueError("it is not a file")
    names = _columns_of(where, fmt)
    if names is None:
        return  # an empty text file: nothing to continue from
    missing = [n for n in ("published", "uuid") if n not in names]
    if missing:
        raise ValueError(f"it has no {' or '.join(missing)} column, so it is not a System Log file")


def _columns_of(where: Path, fmt: str) -> list[str] | None:
    """The columns a file's head names (None for an empty text file); a ValueError when it is not of ``fmt``."""
    what = {"parquet": "a Parquet file", "csv": "CSV text (UTF-8)", "jsonl": "JSON Lines"}[fmt]
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(where).names)
        with open(where, encoding="utf-8", newline="") as f:
            if fmt == "csv":
                return next(csv.reader(f), None)
            first = next((line for line in f if line.strip()), None)
        if first is None:
            return None
        row = json.loads(first)
    except (OSError, ValueError, csv.Error) as exc:  # pyarrow's ArrowInvalid and UnicodeDecodeError are ValueErrors
        raise ValueError(f"it is not {what} ({_first_line(exc)})") from None
    if not isinstance(row, dict):
        raise ValueError(f"it is not {what} (its first line is not a JSON object)")
    return list(row)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _last_row_groups(path: Path) -> Iterable[pd.DataFrame]:
    """The ``published``/``uuid`` columns of a Parquet file's row groups, last first, while they reach the latest."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(path)
    latest = None
    for i in reversed(range(f.num_row_groups)):
        chunk = f.read_row_group(i, columns=["published", "uuid"]).to_pandas()
        yield chunk
        top = chunk["published"].max()
        latest = top if latest is None or top > latest else latest
        if chunk["published"].min() < latest:  # the events before this group are all earlier (ascending order)
            return
