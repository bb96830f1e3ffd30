"""A request, start to finish: the client's pages composed with the frame builder into one result.

    result = fetch(client, parse_request("GET /api/v1/users?limit=200"))
    result.data            # a DataFrame of every user

The client (:mod:`okta_magic.http.client`) speaks HTTP and yields pages; :mod:`okta_magic.frames`
turns pages into a DataFrame; this module composes the two and keeps what arrived when a pull
fails (the error's ``partial``) or is interrupted (Ctrl-C during a multi-page GET returns what
arrived, with ``interrupted=True`` and a ``note``). :func:`run_request` is what ``%okta`` and
``okta_magic.request`` run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from okta_magic.errors import OktaMagicError, RequestError
from okta_magic.http.page import Page, decode_json, is_rows

if TYPE_CHECKING:
    from okta_magic.http.client import OktaClient
    from okta_magic.http.stream import PageStream
    from okta_magic.http.progress import Progress
    from okta_magic.pulls.request import ApiRequest
    from okta_magic.sessions.session import Session
    from okta_magic.tokens import Token

__all__ = ["Result", "PlainAnswer", "Outcome", "fetch", "fetch_to", "run_request", "user_schema_for"]


@dataclass
class Result:
    """What :func:`fetch` got: the data and how the pull went.

    ``data`` is a DataFrame for a JSON array, a Series for a JSON object (both as
    parsed JSON with ``raw=True``), the text of a non-JSON answer, or None for an
    empty one (204).
    """

    data: Any
    status: int
    content_type: str | None
    url: str
    pages: int = 0
    rows: int = 0
    rate_limit_remaining: int | None = None
    interrupted: bool = False
    stopped_early: bool = False
    next_url: str | None = None
    elapsed: float = 0.0
    request_id: str | None = None
    note: str | None = None

    @property
    def is_json(self) -> bool:
        """True when the answer said it is JSON."""
        return self.content_type is not None and "json" in self.content_type


@dataclass
class _Gathered:
    """What a pull's pages added up to: the first page, the rows, and a single answer's value."""

    first: Page | None = None
    records: list[Any] = field(default_factory=list)
    single: Any = None
    interrupted: bool = False


def _gather(pull: PageStream, builder: Any, gathered: _Gathered, *, raw: bool, method: str) -> None:
    """Feed every page to ``builder`` (or to ``records`` with ``raw``); a failure carries the rows so far."""
    from okta_magic.frames import add_page

    try:
        for page in pull:
            if gathered.first is None:
                gathered.first = page
            if not is_rows(page.data):
                gathered.single = page.data  # an object, a scalar or a non-JSON answer: one page only
                break
            if raw:
                gathered.records.extend(page.data)
            else:
                add_page(builder, page.data)
            page.data = None  # free the page's objects: the builder holds compact arrays now
    except KeyboardInterrupt:
        if method != "GET":
            raise  # a write may or may not have happened: let the user see the interrupt
        gathered.interrupted = True
    except OktaMagicError as exc:
        if pull.is_list and pull.rows:  # a failure on a later page: the rows so far go with the error
            exc.partial = gathered.records if raw else builder.build()
        raise


def fetch(
    client: OktaClient,
    request: ApiRequest,
    *,
    max_pages: int | None = None,
    max_rows: int | None = None,
    raw: bool = False,
    keep_links: bool = False,
    timeout: float | None = None,
    progress: bool | Callable[[Progress], object] | None = None,
    user_schema: Mapping[str, Any] | None = None,
) -> Result:
    """Send a parsed request and gather every page into one result.

    ``timeout`` (seconds per request) and ``progress`` override the client's for this call; ``user_schema`` (the
    body of ``GET /api/v1/meta/schemas/user/default``) types a users frame's custom attributes.

    A JSON array becomes a DataFrame (``raw=True``: the list of records), a JSON object a
    Series (``raw=True``: the dict), other answers their text; 204 gives None.
    Ctrl-C during a multi-page GET returns what arrived, with ``interrupted=True``.
    """
    from okta_magic.frames import FrameBuilder, PageReader, resource_for_path, to_record

    started = time.monotonic()
    # Arrays go straight from bytes to Arrow; anything Arrow declines takes the orjson path.
    decode = decode_json if raw else PageReader(keep_links=keep_links)
    pull = client.stream(request.method, request.target, json=request.body, headers=request.headers,
                         max_pages=max_pages, max_rows=max_rows, timeout=timeout, progress=progress, decode=decode)
    builder = FrameBuilder(resource_for_path(request.path), keep_links=keep_links, schema=user_schema, managers=True)
    gathered = _Gathered()
    try:
        _gather(pull, builder, gathered, raw=raw, method=request.method)
    finally:
        pull.close()
    first, single = gathered.first, gathered.single
    data: Any
    if first is None or pull.is_list:
        data = gathered.records if raw else builder.build()
    elif isinstance(single, dict):
        data = single if raw else to_record(single, builder.resource, keep_links=keep_links, schema=user_schema)
    elif single is None:
        data = first.text if first.body else None  # a non-JSON answer as text (None when empty, e.g. 204)
    else:
        data = single  # a bare JSON scalar
    result = Result(
        data=data,
        status=first.status if first is not None else 0,
        content_type=first.content_type if first is not None else None,
        url=first.url if first is not None else request.target,
        pages=pull.pages,
        rows=pull.rows,
        rate_limit_remaining=pull.remaining,
        interrupted=gathered.interrupted,
        stopped_early=pull.stopped_early,
        next_url=str(pull.next) if pull.next is not None else None,
        elapsed=time.monotonic() - started,
        request_id=first.request_id if first is not None else None,
    )
    result.note = _note(result)
    return result


def fetch_to(
    client: OktaClient,
    request: ApiRequest,
    to: str | os.PathLike[str],
    *,
    append: bool = False,
    max_pages: int | None = None,
    max_rows: int | None = None,
    keep_links: bool = False,
    timeout: float | None = None,
    progress: bool | Callable[[Progress], object] | None = None,
    user_schema: Mapping[str, Any] | None = None,
) -> Result:
    """Send a GET and write every page to ``to`` as it arrives; the result's data is the :class:`Written` summary.
    ``user_schema`` types a users file's custom attributes, as :func:`fetch` types a frame's.

    Ctrl-C keeps the file of every row fetched, with ``interrupted=True``; a failure leaves the same
    file and carries the summary as the error's ``partial``. A file that cannot be written (disk full, file too
    large) stops the pull with a FileWriteError: ``to`` is as it was, the rows fetched are its ``partial``.
    """
    from okta_magic.frames import PageReader, resource_for_path
    from okta_magic.frames.tofile import FileSink
    from okta_magic.pulls.targets import check_target, resume_request

    check_target(request, to, append=append)
    skip: set[str] = set()
    if append:
        request, skip = resume_request(request, to)
    started = time.monotonic()
    sink = FileSink(to, resource_for_path(request.path), keep_links=keep_links, append=append, skip=skip,
                    schema=user_schema)
    pull = client.stream(request.method, request.target, json=request.body, headers=request.headers,
                         max_pages=max_pages, max_rows=max_rows, timeout=timeout, progress=progress,
                         decode=PageReader(keep_links=keep_links))
    first, interrupted = None, False
    try:
        for page in pull:
            first = first or page
            if not is_rows(page.data):
                raise RequestError(f"Only a list is written to a file; {request.path} answered one object.").with_fix(
                    "drop_to")
            sink.add_page(page.data)
            page.data = None
    except KeyboardInterrupt:
        interrupted = True
    except OktaMagicError as exc:
        if exc is not sink.error:  # (the sink's own failure already holds the rows fetched)
            exc.partial = sink.close()  # or the sink's failure, when the file cannot be finished
        raise
    finally:
        pull.close()
        written = sink.close()  # the sink's failure, again, if it failed
    result = Result(data=written, status=first.status if first is not None else 0,
                    content_type=first.content_type if first is not None else None,
                    url=first.url if first is not None else request.target, pages=pull.pages, rows=written.rows,
                    rate_limit_remaining=pull.remaining, interrupted=interrupted, stopped_early=pull.stopped_early,
                    next_url=str(pull.next) if pull.next is not None else None, elapsed=time.monotonic() - started,
                    request_id=first.request_id if first is not None else None)
    result.note = _note(result)
    if interrupted:
        result.note = (f"Interrupted after {result.pages} page(s): {written!r} holds every row fetched"
                       + (f"; the pull stopped before {result.next_url}." if result.next_url else "."))
    return result


def _note(result: Result) -> str | None:
    """One line about a pull that did not get everything (interrupted, or stopped by max_pages/max_rows)."""
    if result.interrupted:
        where = f"; the pull stopped before {result.next_url}" if result.next_url else ""
        return (f"Interrupted after {result.pages} page(s): the {result.rows} rows fetched so far are in the "
                f"result{where}.")
    if result.stopped_early:
        return (f"Stopped after {result.pages} page(s) and {result.rows} rows (max_pages/max_rows); "
                "more are available.")
    return None


@dataclass
class PlainAnswer:
    """A non-JSON or empty answer (204, text/html …), shown plainly."""

    status: int
    content_type: str | None
    text: str | None

    def __repr__(self) -> str:
        head = f"HTTP {self.status}" + (f" ({self.content_type})" if self.content_type else "")
        return head + (f"\n{self.text}" if self.text else ": no content")


@dataclass
class Outcome:
    """What a request produced, for the magic to show or store."""

    value: Any
    result: Result
    notes: list[str] = field(default_factory=list)

    fallback_name = "_okta_partial"

    @property
    def interrupted(self) -> bool:
        """True when Ctrl-C stopped the pull (``value`` holds what arrived)."""
        return self.result.interrupted

    def describe(self) -> str:
        """The value's size in a few words (rows × columns, records, or its type)."""
        value = self.value
        shape = getattr(value, "shape", None)
        if shape is not None and len(shape) == 2:
            return f"{shape[0]:,} rows × {shape[1]} columns from {self.result.pages} page(s)"
        if isinstance(value, list):
            return f"{len(value):,} records"
        if hasattr(value, "path"):  # a pull written to a file
            return repr(value)
        return type(value).__name__


def run_request(
    session: Session,
    text: str,
    namespace: Mapping[str, Any],
    *,
    max_pages: int | None = None,
    max_rows: int | None = None,
    raw: bool = False,
    keep_links: bool = False,
    timeout: float | None = None,
    progress: bool = True,
    warn: Callable[[str], object] | None = None,
    sign_in_wait: float | None = None,
    to: str | os.PathLike[str] | None = None,
    append: bool = False,
) -> Outcome:
    """Parse a request as written in a cell, wait ``sign_in_wait`` s for a sign-in in flight, warn on a missing
    scope, send it."""
    from okta_magic.advice.coach import request_warning
    from okta_magic.pulls.request import parse_request
    from okta_magic.pulls.targets import check_target

    request = parse_request(text, namespace)
    check_target(request, to, append=append, raw=raw)  # before any sign-in wait: a bad path is said at once
    token = session.current_token(on_wait=warn or print, wait_for=sign_in_wait)  # first: a sign-in replaces the client
    client = session.client
    if warn is not None and token.token_type != "SSWS":
        warning = request_warning(request.method, request.path, token.scopes_granted)
        if warning:
            warn(warning)
    schema = user_schema_for(session, token, client, request) if not raw else None
    if to is not None:
        result = fetch_to(client, request, to, append=append, max_pages=max_pages, max_rows=max_rows,
                          keep_links=keep_links, timeout=timeout, progress=progress, user_schema=schema)
        return Outcome(result.data, result, [result.note] if result.note else [])
    result = fetch(client, request, max_pages=max_pages, max_rows=max_rows, raw=raw, keep_links=keep_links,
                   timeout=timeout, progress=progress, user_schema=schema)
    value = result.data
    if value is None or isinstance(value, str):
        # (a JSON "" is shown as what it is, not as no content)
        value = PlainAnswer(result.status, result.content_type, '""' if value == "" else value)
    elif getattr(value, "ndim", 0) == 1 and len(value) == 0:  # an empty JSON object (lifecycle calls answer {})
        value = PlainAnswer(result.status, result.content_type, "{}")
    return Outcome(value, result, [result.note] if result.note else [])


def user_schema_for(session: Session, token: Token, client: OktaClient,
                    request: ApiRequest) -> dict[str, Any] | None:
    """The org's user schema for a GET of users (read once per session), else None."""
    from okta_magic.frames import resource_for_path
    from okta_magic.pulls.userschema import user_schema

    if request.method != "GET" or resource_for_path(request.path) != "users":
        return None
    return user_schema(session, token, client)
