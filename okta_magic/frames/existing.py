"""What a file already on disk is and holds for ``append``: a System Log file of its suffix's format and its last
events (an append continues from them). How each format is read is its format object's (``formats.py``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from okta_magic.frames.formats import file_format, format_for

__all__ = ["file_format", "last_events", "check_continuable"]


def last_events(path: str | os.PathLike[str]) -> tuple[str | None, set[str]]:
    """The latest ``published`` in a System Log file (Okta's ISO 8601, ms) and the ``uuid`` values at that instant."""
    import pandas as pd

    kind, where = format_for(path), Path(path)
    if not where.exists() or kind.holds_nothing(where):
        return None, set()
    frames = kind.events(where)  # each chunk reduced below, one at a time
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
    kind, where = format_for(path), Path(path)
    if not where.exists():
        return
    if not where.is_file():
        raise ValueError("it is not a file")
    names = kind.columns(where)  # a ValueError when it is not of that format
    if names is None:
        return  # an empty text file: nothing to continue from
    missing = [n for n in ("published", "uuid") if n not in names]
    if missing:
        raise ValueError(f"it has no {' or '.join(missing)} column, so it is not a System Log file")

