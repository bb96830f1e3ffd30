"""What a file already on disk is and holds for ``append``: a System Log file of its suffix's format and its last
events (an append continues from them). How each format is read is its format object's (``formats.py``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from okta_magic.frames.formats import LAST_SECOND, file_format, format_for

__all__ = ["file_format", "last_events", "check_continuable"]


def last_events(path: str | os.PathLike[str]) -> tuple[str | None, set[str]]:
    """The latest ``published`` in a System Log file (Okta's ISO 8601, ms) and the ``uuid`` values of its last second.

    An append asks for ``since`` = that instant and leaves out the uuids returned here. Okta's ``since`` is exact,
    so the events at that instant would do; the whole last second is kept so that a server whose ``since`` is a
    little coarse (one that read the instant through a float lost a millisecond) cannot make an event twice.
    """
    import pandas as pd

    kind, where = format_for(path), Path(path)
    if not where.exists() or kind.holds_nothing(where):
        return None, set()
    latest: Any = None
    recent: dict[str, Any] = {}  # uuid -> published, within LAST_SECOND of the latest seen so far
    for chunk in kind.events(where):  # each chunk reduced here, one at a time
        stamps = pd.to_datetime(chunk["published"], utc=True, format="ISO8601")
        if not len(stamps) or stamps.isna().all():
            continue
        top = stamps.max()
        latest = top if latest is None or top > latest else latest
        near = stamps >= latest - LAST_SECOND
        recent.update(zip(chunk["uuid"][near].astype(str), stamps[near], strict=True))
        recent = {uuid: stamp for uuid, stamp in recent.items() if stamp >= latest - LAST_SECOND}
    if latest is None:
        return None, set()
    return latest.strftime("%Y-%m-%dT%H:%M:%S.") + f"{latest.microsecond // 1000:03d}Z", set(recent)


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

