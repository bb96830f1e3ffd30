"""Queries over a snapshot: the DuckDB connection (read-only by default) and SQL with ``{{var}}`` values.

    con = connect("dev-123.okta.com.duckdb")              # duckdb.DuckDBPyConnection, read-only
    frame = query(path, "SELECT * FROM users WHERE department = {{dept}}", {"dept": "IT"})

A ``{{name}}`` is bound as a query parameter (``$name``), never pasted into the text: a value holding a
quote stays a value. A list binds as a DuckDB list (``user_id IN (SELECT unnest({{ids}}))``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from okta_magic.errors import OktaMagicError, RequestError

__all__ = ["connect", "query", "SnapshotMissing", "bind"]

_VAR = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class SnapshotMissing(OktaMagicError):
    """There is no snapshot at the path asked for (sync first)."""


def connect(path: str | os.PathLike[str], *, read_only: bool = True) -> Any:
    """The DuckDB connection to the snapshot at ``path`` (read-only unless asked: a sync swaps the file whole)."""
    if read_only and not Path(path).exists():
        raise SnapshotMissing(f"There is no snapshot at {path}.").with_fix("sync_first")
    import duckdb  # only when a snapshot is used

    return duckdb.connect(str(path), read_only=read_only)


def bind(text: str, namespace: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The SQL with each ``{{name}}`` as ``$name``, and the values to bind (a name not defined: one line)."""
    values: dict[str, Any] = {}

    def swap(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in namespace:
            raise RequestError(f"{{{{{name}}}}} names nothing defined: set {name} = ... first.")
        value = namespace[name]
        if hasattr(value, "tolist"):  # a pandas Series or a NumPy array
            value = value.tolist()
        values[name] = list(value) if isinstance(value, (tuple, set, frozenset)) else value
        return f"${name}"

    return _VAR.sub(swap, text), values


def query(path: str | os.PathLike[str], text: str, namespace: Mapping[str, Any] | None = None) -> Any:
    """Run DuckDB SQL over the snapshot; a pandas DataFrame (DuckDB makes it: the snapshot reads no pandas)."""
    sql, values = bind(text, namespace or {})
    if not sql.strip():
        raise RequestError("There is no SQL to run: write a query, e.g. SELECT count(*) FROM users.")
    con = connect(path)
    try:
        import duckdb

        try:
            return con.execute(sql, values or None).df()
        except duckdb.Error as exc:
            raise RequestError(f"The snapshot refused the query: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
