"""What a pull written to a file needs before it starts (``--to PATH``, ``to=``): the target checked, and for
``append`` the System Log request continued from the file's last event.

:func:`okta_magic.pulls.pull.fetch_to` runs the pull. With ``append``, a System Log pull continues from the
last event in the file: ``since`` becomes its ``published`` and the events of that instant already
written (by ``uuid``) are skipped, so no event is written twice and none is missed.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from okta_magic.errors import RequestError

if TYPE_CHECKING:
    from okta_magic.pulls.request import ApiRequest

__all__ = ["check_target", "check_path", "resume_request"]


def check_target(request: ApiRequest | None, to: str | os.PathLike[str] | None, *, append: bool,
                 raw: bool = False) -> None:
    """Refuse, in one line, a target that cannot work: unknown suffix, unwritable place, ``append`` misused.

    ``request`` is None for a fan-out or a partitioned pull, checked before its request is read (``append`` is
    then refused for a fan-out and checked again by the partitioned pull).
    """
    if to is None:
        if append:
            raise RequestError("Appending needs the file to continue, and none is named.").with_fix(
                "name_the_file_to_continue")
        return
    check_path(to)
    if raw:
        raise RequestError("A pull written to a file writes its rows, not the raw answer.").with_fix(
            "drop_raw_for_file")
    if request is not None and request.method != "GET":
        raise RequestError(f"A pull written to a file writes a list: it goes with GET, not {request.method}.").with_fix(
            "drop_to")
    if append and (request is None or request.path.rstrip("/") != "/api/v1/logs"):
        where = request.path if request is not None else "a fan-out"
        raise RequestError(f"Appending continues a System Log file (GET /api/v1/logs?since=...), not {where}."
                           ).with_fix("drop_append")
    if append:
        from okta_magic.frames.tofile import check_continuable

        try:
            check_continuable(to)  # its format read now, not once the pull is over
        except ValueError as exc:
            raise RequestError(f"Appending cannot continue that file ({to}): {exc}.").with_fix(
                "name_another_file") from None


def check_path(to: str | os.PathLike[str]) -> None:
    """A file whose suffix names a format (.parquet, .csv, .jsonl) in a folder where a file can be made.

    Tried by making and removing a file beside it: permission bits do not tell (a read-only disk, ``/proc``
    as root), and a pull should not run for minutes to find that out when it writes.
    """
    from okta_magic.frames.tofile import file_format

    try:
        file_format(to)
    except ValueError as exc:
        raise RequestError(f"Cannot write to {to}: {exc}.").with_fix(
            "name_a_file", example=f"{Path(to).stem or 'rows'}.parquet") from None
    target = Path(to)
    if target.is_dir():
        raise RequestError(f"Cannot write to {to}: that is a folder.").with_fix(
            "name_a_file", example=str(target / ("rows" + target.suffix)))
    if target.exists() and not target.is_file():
        raise RequestError(f"Cannot write to {to}: that is not a regular file.").with_fix("name_another_file")
    if not target.parent.is_dir():
        raise RequestError(f"Cannot write to {to}: no such folder.").with_fix("write_elsewhere")
    if target.exists() and not os.access(target, os.W_OK):
        raise RequestError(f"Cannot write to {to}: the file is read-only.").with_fix("write_elsewhere")
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".check", dir=target.parent)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise RequestError(f"Cannot write to {to}: a file could not be made beside it "
                           f"({exc.strerror or type(exc).__name__}).").with_fix("write_elsewhere") from None


def resume_request(request: ApiRequest, to: str | os.PathLike[str]) -> tuple[ApiRequest, set[str]]:
    """The request from the file's last event on (``since`` = its ``published``) and the uuids already there."""
    from okta_magic.frames.tofile import last_events

    try:
        published, uuids = last_events(to)
    except (ValueError, KeyError, OSError) as exc:  # a file that check_target's look at its head did not catch
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise RequestError(f"Appending cannot continue that file ({to}): its last events cannot be read "
                           f"({reason}).").with_fix("name_another_file") from None
    if published is None:
        return request, set()
    since = request.param("since")
    if since is not None and _instant(since) > _instant(published):
        return request, set()  # the user asks for later events than the file holds: theirs is the start
    params = tuple((k, v) for k, v in request.params if k not in ("since", "after")) + (("since", published),)
    kept = [p for p in request.query.split("&") if p and p.split("=", 1)[0] not in ("since", "after")]
    query = "&".join([*kept, "since=" + quote(published, safe="")])
    return dataclasses.replace(request, params=params, query=query), uuids


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
