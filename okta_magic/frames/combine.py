"""Frames from many page streams: one frame over several requests' pages, a fan-out column, stacking, failures.

A fan-out (one request per value) and a partitioned pull (one list in disjoint windows) both hand
over their pages grouped by part, in the order the result should have; :func:`build_parts` feeds
them to one :class:`~okta_magic.frames.builder.FrameBuilder`, so the columns and dtypes are those
of a plain pull of one request. :func:`insert_first` puts the fan-out value in front of each part's
rows; :func:`stack` joins two such frames (an earlier result and the rows of a resumed run) keeping
the categoricals; :func:`failures_frame` is the small table of the requests that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from okta_magic.frames.builder import FrameBuilder, _strings_for_old_pandas

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["build_parts", "insert_first", "stack", "failures_frame", "FAILURE_COLUMNS", "rows_of", "column_values",
           "order_by"]

FAILURE_COLUMNS = ("value", "status", "errorCode", "summary")


def build_parts(resource: str | None, parts: Iterable[Sequence[Any]], *, keep_links: bool = False,
                schema: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, list[int]]:
    """One frame from each part's page data in order (Arrow tables, JSON arrays or one object each); the rows
    of each part. ``schema``: the org's user schema, to type a users frame by."""
    builder = FrameBuilder(resource, keep_links=keep_links, schema=schema, managers=True)
    counts: list[int] = []
    for pages in parts:
        before = builder.rows
        for data in pages:
            if isinstance(data, dict):
                builder.add([data])  # a request whose answer is one object gives one row
            elif isinstance(data, list):
                builder.add(data)
            elif data is not None:
                builder.add_table(data)
        counts.append(builder.rows - before)
    return builder.build(), counts


def _column(values: Sequence[Any]) -> Any:
    """A fan-out column: text as the frame's other text columns (Arrow-backed), anything else as pandas infers."""
    import pandas as pd
    import pyarrow as pa

    if values and all(isinstance(v, str) for v in values):
        return pa.array(values, type=pa.string()).to_pandas(types_mapper=_strings_for_old_pandas())
    return pd.Series(list(values), dtype=None if values else object)


def insert_first(frame: pd.DataFrame, name: str, values: Sequence[Any], counts: Sequence[int]) -> pd.DataFrame:
    """``frame`` with a first column ``name`` holding ``values[i]`` on each of the ``counts[i]`` rows of part i.

    Raises ValueError when the answer already has a column of that name.
    """
    repeated = [value for value, count in zip(values, counts, strict=True) for _ in range(count)]
    if len(repeated) != len(frame):
        raise ValueError(f"{len(repeated)} fan-out values for {len(frame)} rows")
    if name in frame.columns:
        raise ValueError(f"the answer already has a column {name!r}")
    column = _column(repeated)
    column.index = frame.index
    frame.insert(0, name, column)
    return frame


def stack(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames one under the other (columns in first appearance), categoricals kept as categoricals."""
    import pandas as pd
    from pandas.api.types import union_categoricals

    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return pd.DataFrame()
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    joined = pd.concat(frames, ignore_index=True, sort=False)
    for name in joined.columns:
        parts = [f[name] for f in frames if name in f.columns]
        if any(isinstance(p.dtype, pd.CategoricalDtype) for p in parts) and not isinstance(
                joined[name].dtype, pd.CategoricalDtype):
            cats = [p.astype("category") if not isinstance(p.dtype, pd.CategoricalDtype) else p for p in parts]
            categories = union_categoricals(cats, ignore_order=True).categories
            joined[name] = joined[name].astype(pd.CategoricalDtype(categories))
    return joined


def rows_of(frame: pd.DataFrame, name: str, values: Iterable[Any]) -> pd.DataFrame:
    """The rows of ``frame`` whose column ``name`` holds one of ``values``."""
    wanted = list(values)
    if not len(frame) or name not in frame.columns:
        return frame.iloc[0:0]
    return frame[frame[name].isin(wanted)]


def order_by(frame: pd.DataFrame, name: str, values: Sequence[Any]) -> pd.DataFrame:
    """``frame``'s rows in the order of ``values`` (by column ``name``; rows of one value keep their order)."""
    position = {value: i for i, value in enumerate(values)}
    keys = frame[name].map(position).to_numpy()
    return frame.iloc[keys.argsort(kind="stable")].reset_index(drop=True)


def column_values(frame: pd.DataFrame, name: str) -> list[Any]:
    """The values of one column as plain Python objects."""
    return list(frame[name].tolist()) if name in frame.columns else []


def failures_frame(rows: Sequence[tuple[Any, int | None, str | None, str | None]]) -> pd.DataFrame:
    """The small table of failed requests: value, status, errorCode, summary."""
    import pandas as pd

    frame = pd.DataFrame(list(rows), columns=list(FAILURE_COLUMNS))
    frame["status"] = frame["status"].astype("Int64")
    return frame
