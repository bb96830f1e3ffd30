"""Partitioned pulls: one large list split into disjoint windows pulled at once, the same rows as one pull.

    outcome = run_parallel(session, "GET /api/v1/users", namespace, parallel=8)

Only lists that Okta lets us split exactly are split:

* **Users** (``/api/v1/users``): windows on ``created`` with Okta's ``search``
  (``created ge "..." and created lt "..."``), between the oldest and the newest user found with
  ``sortBy=created`` and ``limit=1``; the first window has no lower bound and the last no upper one,
  so every user falls in exactly one. The plain list leaves DEPROVISIONED users out and ``search``
  does not, so without a search of the user's own each window adds
  ``(status lt "DEPROVISIONED" or status gt "DEPROVISIONED")`` (Okta's search has no ``ne``); a
  search the user gave is AND-ed with each window (and, like the plain pull, includes them).
  Each window is sorted by ``created`` (unless the request sorts), so the result is in
  ``created`` order. ``q`` and ``filter`` cannot be combined with ``search`` and are refused.
* **System Log** (``/api/v1/logs``): ``[since, until)`` cut into time windows, each a bounded
  request (ordered by ``published``), concatenated in window order (reversed for
  ``sortOrder=DESCENDING``), so Okta's ordering is kept. A request without ``until`` (a polling
  request) gets ``until`` = the org's time now; without ``since``, Okta's default of 7 days before.

With ``to=PATH`` the windows' pages go to the file as they arrive, in the result's order
(:class:`~okta_magic.pulls.inorder.InOrder`): only an unbroken prefix of the list is written, so an
interrupted or failed pull leaves a file that ``append`` continues without a gap (System Log).

Any other list is refused in one line. The windows are more than the workers (four each) so that
an uneven window does not leave the others idle.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from okta_magic.errors import InvalidResponse, RequestError
from okta_magic.pulls.fanout import pull_many
from okta_magic.pulls.pull import Outcome, Result

if TYPE_CHECKING:
    from okta_magic.http.client import OktaClient
    from okta_magic.http.progress import Progress
    from okta_magic.pulls.request import ApiRequest
    from okta_magic.sessions.session import Session

__all__ = ["run_parallel", "plan", "WINDOWS_PER_WORKER", "NOT_DEPROVISIONED"]

WINDOWS_PER_WORKER = 4
NOT_DEPROVISIONED = '(status lt "DEPROVISIONED" or status gt "DEPROVISIONED")'
USERS_PAGE = 200  # the users list's largest page
LOGS_PAGE = 1000  # the System Log's largest page
LOG_DEFAULT_WINDOW = 7 * 86400.0  # Okta: since defaults to 7 days before until


def _iso(seconds: float) -> str:
    """Okta's timestamp form, to the millisecond: 2026-01-02T03:04:05.678Z."""
    stamp = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _seconds(text: str, name: str) -> float:
    """An ISO 8601 timestamp (Z or an offset) as epoch seconds; a RequestError when it is not one."""
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise RequestError(f"{name}={text!r} is not a timestamp: write e.g. {name}=2026-01-02T03:04:05.000Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _cuts(low: float, high: float, count: int) -> list[float]:
    """``count - 1`` inner boundaries spread evenly over ``(low, high)``, distinct at the millisecond."""
    cuts = sorted({round(low + (high - low) * i / count, 3) for i in range(1, count)})
    return [c for c in cuts if low < c < high]


def _with(request: ApiRequest, changes: Mapping[str, str | None]) -> ApiRequest:
    """The request with some query parameters set (or removed, for None), the others kept in order."""
    pairs = [(k, v) for k, v in request.params if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None]
    return replace(request, params=tuple(pairs), query=urlencode(pairs, quote_via=quote))


def _refuse(request: ApiRequest, names: tuple[str, ...], why: str) -> None:
    for name in names:
        if request.param(name) is not None:
            raise RequestError(f"A parallel pull cannot split a request with {name}= ({why}).").with_fix(
                "drop_parallel")


def _first_created(client: OktaClient, search: str, order: str) -> float | None:
    """The ``created`` time of the oldest (``asc``) or newest (``desc``) user the search finds."""
    response = client.request("GET", "/api/v1/users", params={"search": search, "sortBy": "created",
                                                               "sortOrder": order, "limit": 1})
    if 300 <= response.status_code < 400:  # not followed (the token stays on the org): say where it pointed
        from okta_magic.http.apierrors import api_error

        raise api_error(response)
    try:
        users = response.json()
        return _seconds(users[0]["created"], "created") if users else None
    except (ValueError, TypeError, LookupError):  # not JSON, or not a list of users with a created time
        raise InvalidResponse(f"GET /api/v1/users answered HTTP {response.status_code} without the list of users "
                              "that a parallel pull splits by their created time.", status=response.status_code,
                              url=str(response.url)) from None


def _user_windows(client: OktaClient, request: ApiRequest, count: int) -> list[ApiRequest]:
    """The users list as ``count`` windows on ``created`` (see the module docstring)."""
    _refuse(request, ("q", "filter", "after"), "Okta combines neither q nor filter with the search that splits "
                                                "it; write it as search=")
    own = request.param("search")
    base = f"({own})" if own else NOT_DEPROVISIONED
    oldest = _first_created(client, base, "asc")
    newest = _first_created(client, base, "desc")
    cuts = _cuts(oldest, newest, count) if oldest is not None and newest is not None else []
    bounds: list[str | None] = [None, *(_iso(c) for c in cuts), None]
    extra: dict[str, str | None] = {}
    if request.param("sortBy") is None:
        extra.update(sortBy="created", sortOrder="asc")
    if request.param("limit") is None:
        extra["limit"] = str(USERS_PAGE)
    windows = []
    for low, high in zip(bounds, bounds[1:], strict=False):
        terms = [base] + ([f'created ge "{low}"'] if low else []) + ([f'created lt "{high}"'] if high else [])
        windows.append(_with(request, {**extra, "search": " and ".join(terms)}))
    return windows


def _org_now(client: OktaClient) -> float:
    """The org's clock (its ``Date`` header), rounded up to the next second, else this machine's."""
    import email.utils

    response = client.request("GET", "/api/v1/logs", params={"limit": 1, "sortOrder": "DESCENDING"})
    try:
        now = email.utils.parsedate_to_datetime(response.headers.get("date", "")).timestamp()
    except (TypeError, ValueError, IndexError):
        return time.time()
    return now + 1.0


def _log_windows(client: OktaClient, request: ApiRequest, count: int) -> list[ApiRequest]:
    """The System Log between ``since`` and ``until`` as ``count`` bounded windows, in the request's order."""
    _refuse(request, ("after",), "a cursor continues one pull")
    until_text = request.param("until") or _iso(_org_now(client))
    until = _seconds(until_text, "until")
    since_text = request.param("since") or _iso(until - LOG_DEFAULT_WINDOW)
    since = _seconds(since_text, "since")
    bounds = [since_text, *(_iso(c) for c in _cuts(since, until, count)), until_text]
    extra = {} if request.param("limit") is not None else {"limit": str(LOGS_PAGE)}
    windows = [_with(request, {**extra, "since": low, "until": high})
               for low, high in zip(bounds, bounds[1:], strict=False)]
    descending = (request.param("sortOrder") or "ASCENDING").upper() == "DESCENDING"
    return windows[::-1] if descending else windows


def plan(client: OktaClient, request: ApiRequest, parallel: int) -> list[ApiRequest]:
    """The disjoint windows of a list, in the order their rows go in the result; a RequestError for a list
    that cannot be split exactly."""
    path = request.path.rstrip("/")
    if request.method != "GET":
        raise RequestError(f"A parallel pull splits a GET list, not {request.method}.").with_fix("drop_parallel")
    count = max(1, parallel) * WINDOWS_PER_WORKER if parallel > 1 else 1
    if path == "/api/v1/users":
        return _user_windows(client, request, count)
    if path == "/api/v1/logs":
        return _log_windows(client, request, count)
    raise RequestError(f"A parallel pull splits /api/v1/users and /api/v1/logs only, not {path}.").with_fix(
        "drop_parallel")


def run_parallel(session: Session, text: str, namespace: Mapping[str, Any], *, parallel: int,
                 progress: bool | Callable[[Progress], object] = True, keep_links: bool = False,
                 timeout: float | None = None, sign_in_wait: float | None = None,
                 to: str | os.PathLike[str] | None = None, append: bool = False) -> Outcome:
    """Pull one list in ``parallel`` streams at once; the rows of the plain pull, in the order the module
    docstring gives (``to``: written to that file as they arrive; ``append``: a System Log file continued)."""
    from okta_magic.frames import resource_for_path
    from okta_magic.frames.combine import build_parts
    from okta_magic.pulls.request import parse_request
    from okta_magic.pulls.targets import check_target, resume_request
    from okta_magic.pulls.userschema import user_schema

    started = time.monotonic()
    request = parse_request(text, namespace)
    check_target(request, to, append=append)
    skip: set[str] = set()
    if to is not None and append:
        request, skip = resume_request(request, to)
    token = session.current_token(on_wait=print, wait_for=sign_in_wait)  # first: a sign-in replaces the client
    client = session.client
    windows = plan(client, request, parallel)
    if to is not None:
        schema = user_schema(session, token, client) if resource_for_path(request.path) == "users" else None
        return _to_file(client, request, windows, to, started, parallel=parallel, progress=progress,
                        keep_links=keep_links, timeout=timeout, append=append, skip=skip, schema=schema)
    batch = pull_many(client, list(enumerate(windows)), concurrency=parallel, progress=progress,
                      keep_links=keep_links, timeout=timeout, where=f"GET {request.path}")
    keys = [key for key in range(len(windows)) if key in batch.data]
    resource = resource_for_path(request.path)
    schema = user_schema(session, token, client) if resource == "users" else None
    frame, _ = build_parts(resource, (batch.data[k] for k in keys), keep_links=keep_links, schema=schema)
    error = batch.fatal or next((batch.errors[k] for k in sorted(batch.errors)), None)
    if error is not None:  # a missing window would be a list that silently lacks rows
        error.partial = frame
        raise error
    result = Result(data=frame, status=200, content_type="application/json", url=request.target,
                    pages=batch.pages, rows=len(frame), interrupted=batch.interrupted,
                    elapsed=time.monotonic() - started)
    if batch.interrupted:
        result.note = (f"Interrupted after {len(batch.done)} of {len(windows)} windows: the {len(frame):,} rows "
                       "fetched so far are in the result.")
    return Outcome(frame, result, [result.note] if result.note else [])


def _to_file(client: OktaClient, request: ApiRequest, windows: list[ApiRequest], to: str | os.PathLike[str],
             started: float, *, parallel: int, progress: bool | Callable[[Progress], object], keep_links: bool,
             timeout: float | None, append: bool, skip: set[str], schema: Mapping[str, Any] | None = None) -> Outcome:
    """The windows written to ``to`` as their pages arrive, in order; the outcome's value is the file's summary
    (``schema``: the org's user schema, to type a users file by)."""
    from okta_magic.frames import resource_for_path
    from okta_magic.frames.tofile import FileSink
    from okta_magic.pulls.inorder import InOrder

    sink = FileSink(to, resource_for_path(request.path), keep_links=keep_links, append=append, skip=skip,
                    schema=schema)
    feed = InOrder(range(len(windows)), lambda _key, data: sink.add_page(data), prefix=True,
                   keys_ahead=2 * WINDOWS_PER_WORKER * parallel)
    try:
        batch = pull_many(client, list(enumerate(windows)), concurrency=parallel, progress=progress,
                          keep_links=keep_links, timeout=timeout, where=f"GET {request.path}", feed=feed)
    except BaseException:
        sink.close()  # a valid file of what was written, whatever stopped the pull
        raise
    written = sink.close()
    left = (f"; {feed.unwritten_rows:,} rows fetched after a window that did not finish were left out, so that the "
            "file is the list's beginning without a gap" if feed.unwritten_rows else "")
    error = batch.fatal or next((batch.errors[k] for k in sorted(batch.errors)), None)
    if error is not None:
        error.partial = written
        raise error
    result = Result(data=written, status=200, content_type="application/json", url=request.target,
                    pages=batch.pages, rows=written.rows, interrupted=batch.interrupted,
                    elapsed=time.monotonic() - started)
    if batch.interrupted:
        result.note = f"Interrupted after {len(batch.done)} of {len(windows)} windows: {written!r}{left}."
    return Outcome(written, result, [result.note] if result.note else [])
