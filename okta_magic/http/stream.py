"""Paging: which URL comes next in a paged list, which hosts may receive the token, and the page stream.

Okta pages with cursors carried in RFC 8288 ``Link`` headers: one header line
per relation (``rel="self"``, ``rel="next"``); the list ends at the first answer
without ``rel="next"`` (Okta: "Design principles" > Pagination, Link header).
Some HTTP stacks join repeated lines with ", " (RFC 9110 §5.3); httpx's
``Response.links`` joins the lines itself and parses the joined form, so both
wire forms give the same links. ``rel`` may be unquoted, in any case, and carry
several space-separated types (``rel="next last"``, RFC 8288 §3.3); a relative
URI reference is resolved against the request URL (§3.2).

Host rule (the token never leaves the org):

* A request goes to the org given at sign-in: same scheme, host and port.
  An absolute URL on any other host is refused before anything is sent
  (:class:`~okta_magic.errors.HostNotAllowed`).
* A ``next`` link on another host is followed on the org's own host when its
  path is a Management API path (``/api/v1/...``): real orgs have answered a
  request to ``test.okta.com`` with links on the ``-admin`` host or on another
  name of the same org, and the cursor is valid on the org's own host. Any other
  ``next`` link on a foreign host is refused (HostNotAllowed).

System Log polling (``GET /api/v1/logs`` without ``until``): Okta always sends
``rel="next"``, even when no new events exist, so such a pull stops at the
first empty page instead (Okta: "System Log API" > Polling requests).

:class:`PageStream` is one pull: it follows those links with ``max_pages`` / ``max_rows``,
requesting page N+1 on a background thread while page N is decoded on a second one and the
caller takes in page N-1: against a real org the reading hides behind the network, and against
a fast one the three overlap (the socket wait and Arrow's parser release the GIL). A page of a
list that is not a list (cut short, HTML, an object) or a ``next`` link back to a page already
fetched stops the pull with :class:`~okta_magic.errors.InvalidResponse` instead of returning a
list that silently lacks rows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout  # (the builtin TimeoutError from Python 3.11)
from typing import Any, Protocol, TypeVar

import httpx

from okta_magic.http.apierrors import api_error
from okta_magic.errors import HostNotAllowed, InvalidResponse
from okta_magic.http.page import Page, decode_json, is_rows
from okta_magic.http.progress import Progress, ProgressView
from okta_magic.http.ratelimit import RateLimit

__all__ = ["Origin", "origin_of", "next_url", "is_log_polling", "resolve", "PageStream"]

Origin = tuple[str, str, int]
_Fetched = tuple[httpx.Response, "Future[Page]"]  # a prefetched answer and its decoding
AHEAD = 4  # pages the worker may fetch beyond the one the caller waits for (memory: a few pages' bytes)
POLL = 0.2  # seconds between looks at the stop flag while the caller waits for a page
_T = TypeVar("_T")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: httpx.URL) -> Origin:
    """(scheme, host, port) with the default port filled in (RFC 6454 origin)."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme, 0)


def _describe(origin: Origin) -> str:
    scheme, host, port = origin
    return host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"


def resolve(org: httpx.URL, path_or_url: str | httpx.URL) -> httpx.URL:
    """The absolute URL of a request: paths are joined to the org, absolute URLs must be on it."""
    text = str(path_or_url)
    if text.startswith("/"):
        return org.copy_with(raw_path=text.encode("ascii", errors="strict")) if _ascii(text) else org.join(text)
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise HostNotAllowed(f"{text[:80]!r} is not a usable URL ({exc}); give a path such as /api/v1/users") from None
    if not url.is_absolute_url:
        raise HostNotAllowed(f"{text[:80]!r} is neither a /api/v1/... path nor an absolute URL of the org")
    if origin_of(url) != origin_of(org):
        host = _describe(origin_of(org))
        raise HostNotAllowed(
            f"{_describe(origin_of(url))} is not on the signed-in org {host}; the token is only sent to {host}"
        )
    return url


def _ascii(text: str) -> bool:
    return text.isascii() and not any(ch.isspace() for ch in text)


def _next_reference(response: httpx.Response) -> str | None:
    """The URI reference of the ``next`` link, as httpx parses the ``Link`` lines (joined, RFC 9110 §5.3).

    A link may carry several relation types (``rel="next last"``, RFC 8288 §3.3), and parameter
    names and registered types are case-insensitive, so ``rel`` is matched per token, in any case.
    """
    for link in response.links.values():
        params = {key.lower(): value for key, value in link.items()}
        if "next" in params.get("rel", "").lower().split():
            return params.get("url") or None
    return None


def next_url(response: httpx.Response, org: httpx.URL) -> httpx.URL | None:
    """The ``rel="next"`` URL of an answer, moved onto the org's host when allowed (see module docstring)."""
    reference = _next_reference(response)
    if not reference:
        return None
    try:
        target = response.url.join(reference)  # RFC 8288 §3.2: relative to the request URL
    except httpx.InvalidURL:
        raise HostNotAllowed(f"The next page link {reference[:80]!r} is not a usable URL") from None
    if origin_of(target) == origin_of(org):
        return target
    if target.path.startswith("/api/v1/"):
        return org.copy_with(raw_path=target.raw_path)
    raise HostNotAllowed(
        f"The next page link points at {_describe(origin_of(target))}{target.path}, not at the signed-in org "
        f"{_describe(origin_of(org))}; the token is only sent to {_describe(origin_of(org))}"
    )


def is_log_polling(path: str, params: Iterable[str]) -> bool:
    """True for a System Log request without ``until`` (Okta then always sends a next link)."""
    return path.rstrip("/") == "/api/v1/logs" and "until" not in set(params)


# -- the page stream ---------------------------------------------------------------------------


class Send(Protocol):
    """How the stream sends one request (the client's send: auth, retries, pacing)."""

    def __call__(self, method: str, url: httpx.URL, *, json: Any = None, headers: Mapping[str, str] | None = None,
                 timeout: float | None = None, notify: Callable[[float, str], None] | None = None,
                 stop: threading.Event | None = None) -> httpx.Response: ...


class PageStream:
    """One paged pull as an iterator of :class:`~okta_magic.http.page.Page`: fetches page N+1 on a worker thread
    while the caller reads page N.

    ``decode`` turns a page's bytes into its ``data`` (JSON by default; the frames layer reads arrays
    into Arrow tables); a decoder with a ``many(pages)`` method is given the pages waiting together.
    A list is anything with ``len`` and slices. After (or during) iteration,
    ``pages``, ``rows``, ``remaining``, ``stopped_early``, ``is_list`` and ``next`` say how it went.
    Close it to stop the worker: a caller still waiting for a page (on another thread) then gets
    ``concurrent.futures.CancelledError`` within :data:`POLL` seconds, and every future the stream
    queued is resolved or cancelled, so no thread waits for ever (nor Python's exit for that thread).
    """

    def __init__(self, send: Send, org: httpx.URL, method: str, url: httpx.URL, *, json: Any = None,
                 headers: Mapping[str, str] | None = None, max_pages: int | None = None,
                 max_rows: int | None = None, timeout: float | None = None, view: ProgressView | None = None,
                 decode: Callable[[Page], Any] = decode_json, ahead: int = AHEAD) -> None:
        self._send, self._org, self._decode = send, org, decode
        self._most_ahead = ahead
        self.method, self.url, self.json, self.headers, self.timeout = method, url, json, headers, timeout
        self.max_pages, self.max_rows = max_pages, max_rows
        self.polling = method == "GET" and is_log_polling(url.path, url.params.keys())
        self.pages = self.rows = 0
        self.remaining: int | None = None
        self.stopped_early = self.is_list = False
        self.next: httpx.URL | None = None
        self.view = view or ProgressView(False, f"{method} {url.path}")
        self._stop = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._decoding: ThreadPoolExecutor | None = None
        self._pending: Future[_Fetched] | None = None
        self._visited: set[str] = set()
        # Read-ahead (pure paging only): the worker follows next links by itself, up to AHEAD pages
        # beyond the caller; the decoder takes every page waiting at once (see _decode_waiting).
        self._lock = threading.Lock()
        self._ahead: dict[str, Future[_Fetched]] = {}
        self._requested: set[str] = {str(url)}  # the URLs asked for (a link back to one is the caller's to refuse)
        self._waiting: list[tuple[httpx.Response, Future[Page]]] = []
        self._chain = method == "GET" and not self.polling and max_rows is None
        # The next link of an answer the worker read ahead from, by id(answer): worked out once per page
        # (httpx's URL parsing is a good part of the client's own cost on a fast org).
        self._links: dict[int, tuple[httpx.Response, httpx.URL | None | Exception]] = {}

    def _state(self, waiting: float = 0.0, message: str = "") -> Progress:
        return Progress(self.pages, self.rows, self.remaining, waiting, message)

    def _notify(self, seconds: float, why: str) -> None:
        self.view.waiting(self._state(seconds, why))

    def _get(self, url: httpx.URL) -> httpx.Response:
        return self._send(self.method, url, json=self.json, headers=self.headers, timeout=self.timeout,
                          notify=self._notify, stop=self._stop)

    def _body(self, future: Future[_Fetched]) -> _Fetched:
        """The prefetched answer (its body read on the worker, a lost connection retried there) and its decoding."""
        fetched = self._wait(future)
        self._pending = None
        return fetched

    def _wait(self, future: Future[_T]) -> _T:
        """The future's result; CancelledError once the pull is closed: nobody waits for a closed pull's work
        (what is under way finishes on its own thread, and close() cancels what never started)."""
        while True:
            try:
                return future.result(timeout=POLL)
            except FutureTimeout:
                if self._stop.is_set():
                    raise CancelledError(f"{self.method} {self.url.path}: the pull was closed") from None

    def __iter__(self) -> Iterator[Page]:
        response = self._get(self.url)
        if 300 <= response.status_code < 400:  # not followed (the token stays on the org): say where it pointed
            response.read()
            raise api_error(response)
        decoding: Future[Page] | None = None  # this answer's decoding on the decoder thread, once one runs
        while True:
            following, refused = self._following(response)
            self.remaining = RateLimit.from_headers(response.headers).remaining
            last_allowed = self.max_pages is not None and self.pages + 1 >= self.max_pages
            # Overlap: ask for the next page before reading this one, unless this page decides
            # whether there is a next one (log polling stops on empty; max_rows may be reached).
            early = following is not None and not last_allowed and not self.polling and self.max_rows is None
            future = None
            if early and following is not None:
                # Pages are decoded in order on the decoder thread: this one goes first.
                decoding = decoding or self._queue_decoding(response)
                future = self._submit(following)
            page = self._page(response, decoding)
            following = self._count(page, response, following, last_allowed)
            if following is None:
                if not self.stopped_early:
                    self.next = None
                if self.view.shown:
                    self.view.update(self._state())
                yield page
                if refused is not None:
                    raise refused
                return
            future = future or self._submit(following)
            self.next = following
            if self.pages == 1:
                self.view.open(self.pages)
            self.view.update(self._state())
            yield page
            del page
            response, decoding = self._body(future)

    def _following(self, response: httpx.Response) -> tuple[httpx.URL | None, HostNotAllowed | None]:
        """The next page's URL (RFC 8288 ``rel="next"``; GET only) and a refusal to raise after this page."""
        try:
            following = self._next_url(response) if self.method == "GET" else None
        except HostNotAllowed as exc:  # the token stays home, but this page is still handed over first
            return None, exc
        if following is not None and not self.polling:
            self._visited.add(str(response.url))
            if str(following) in self._visited:
                # A server that ignores the cursor would otherwise send the same rows forever.
                raise InvalidResponse(
                    f"Page {self.pages + 1} of {self.method} {self.url.path} links back to a page already "
                    f"fetched ({following}): the server ignored the cursor; the pull stopped.",
                    status=response.status_code, url=str(response.url))
        return following, None

    def _next_url(self, response: httpx.Response) -> httpx.URL | None:
        """:func:`next_url` of an answer, as the worker found it when it read ahead (raising what it raised)."""
        known = self._links.pop(id(response), None)
        if known is None or known[0] is not response:
            return next_url(response, self._org)
        if isinstance(known[1], Exception):
            raise known[1]
        return known[1]

    def _wrap(self, response: httpx.Response) -> Page:
        """The answer as a Page, not decoded yet."""
        content_type = response.headers.get("content-type", "")
        return Page(0, self.method, str(response.url), response.status_code, response.headers,
                    response.content, response.charset_encoding if "charset" in content_type else None)

    def _read(self, response: httpx.Response) -> Page:
        """The answer as a Page with its ``data`` decoded, here and now."""
        page = self._wrap(response)
        page.data = self._decode(page)
        return page

    def _page(self, response: httpx.Response, decoding: Future[Page] | None) -> Page:
        """This answer's Page, in order; a list's later page must be a list too."""
        page = self._wait(decoding) if decoding is not None else self._read(response)
        page.index = self.pages
        if self.is_list and not is_rows(page.data):
            # Keeping the pages so far would hand back a list that silently lacks the rest.
            content_type = response.headers.get("content-type", "")
            raise InvalidResponse(
                f"Page {self.pages + 1} of {self.method} {self.url.path} is not a JSON array like the pages "
                f"before it (status {response.status_code}, {content_type or 'no content type'}): the pull "
                "stopped; run it again.", status=response.status_code, url=str(response.url))
        return page

    def _count(self, page: Page, response: httpx.Response, following: httpx.URL | None,
               last_allowed: bool) -> httpx.URL | None:
        """Count the page's rows (trimmed to ``max_rows``); the URL to follow, or None where the pull ends."""
        data = page.data
        if is_rows(data):
            self.is_list = True
            if self.max_rows is not None and self.rows + len(data) >= self.max_rows:
                keep = self.max_rows - self.rows
                if keep < len(data) or following is not None:
                    self.stopped_early = True
                page.data = data = data[:keep]
                following = None if self.stopped_early else following
                if self.stopped_early:
                    self.next = next_url(response, self._org)
            self.rows += len(data)
        self.pages += 1
        if self.polling and is_rows(data) and not len(data):
            following = None  # Okta always links a next page while polling: an empty page is the end
        if following is not None and last_allowed:
            self.stopped_early = True
            self.next = following
            following = None
        return following

    def _decoder(self) -> ThreadPoolExecutor:
        # One thread, so pages are decoded in order and a decoder's state (a learned schema) needs no lock.
        if self._decoding is None:
            self._decoding = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okta-decode")
        return self._decoding

    def _queue_decoding(self, response: httpx.Response) -> Future[Page]:
        """Queue an answer for the decoder thread; its Page arrives on the returned future."""
        future: Future[Page] = Future()
        with self._lock:  # close() sets _stop and takes what waits under this lock, then shuts the decoder down
            if self._stop.is_set():
                future.cancel()  # the pull is closed: nobody waits for this page
            else:
                self._decoder().submit(self._decode_waiting)  # (raises at interpreter exit: nothing queued then)
                self._waiting.append((response, future))
        return future

    def _decode_waiting(self) -> None:
        """Decode every answer waiting, in order, in one go when the decoder can (one call for several
        pages costs less than one per page: Arrow's JSON reader has a fixed cost per call)."""
        with self._lock:
            batch, self._waiting = self._waiting, []
        if not batch:
            return  # an earlier call took these
        try:
            pages = [self._wrap(response) for response, _ in batch]
            many = getattr(self._decode, "many", None)
            datas = list(many(pages)) if many is not None and len(pages) > 1 else [self._decode(p) for p in pages]
            if len(datas) != len(pages):
                raise RuntimeError(f"The decoder gave {len(datas)} pages' data for {len(pages)} pages (a bug)")
        except BaseException as exc:  # handed to whoever waits for these pages (every one is resolved)
            for _, future in batch:
                future.set_exception(exc)
            return
        for (_, future), page, data in zip(batch, pages, datas, strict=True):
            page.data = data
            future.set_result(page)

    def _fetch(self, url: httpx.URL) -> _Fetched:
        """The worker's job: send, read the body, queue its decoding, and (pure paging) go on to the next page."""
        response = self._get(url)
        decoding = self._queue_decoding(response)
        if self._chain:
            self._read_ahead(response)
        return response, decoding

    def _read_ahead(self, response: httpx.Response) -> None:
        """Ask for the page after ``response`` already, unless the caller is ``ahead`` pages behind, max_pages
        is reached, the pull is closing, or the link is refused or seen before (the caller then says why)."""
        try:
            following = next_url(response, self._org)
        except (HostNotAllowed, httpx.InvalidURL) as exc:
            self._links[id(response)] = (response, exc)  # the caller raises it in its turn
            return
        self._links[id(response)] = (response, following)
        if following is None:
            return
        key = str(following)
        with self._lock:
            if (self._stop.is_set() or self._executor is None or key in self._requested
                    or len(self._ahead) >= self._most_ahead
                    or (self.max_pages is not None and len(self._requested) >= self.max_pages)):
                return
            self._requested.add(key)
            self._ahead[key] = self._executor.submit(self._fetch, following)

    def _submit(self, url: httpx.URL) -> Future[_Fetched]:
        with self._lock:  # the executors are made here, on the caller's thread, and never once the pull is closed
            if self._stop.is_set():
                future: Future[_Fetched] = Future()
                future.cancel()  # closed under the caller (another thread): no new thread, no new request
                return future
            self._decoder()
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okta-page")
            found = self._ahead.pop(str(url), None)
            if found is None:
                self._requested.add(str(url))
                found = self._executor.submit(self._fetch, url)
        self._pending = found
        return found

    def close(self) -> None:
        """Stop the worker (a request in flight finishes in the background: the client's send sees the stop at
        its next wait) and close the bar. Every decoding queued and not begun is cancelled: the decoder's queue
        is dropped, and a page left in it would otherwise be waited for by nobody's hand."""
        with self._lock:
            self._stop.set()
            unread = [*self._ahead.values(), *([self._pending] if self._pending is not None else [])]
            self._ahead.clear()
            self._links.clear()
            undecoded, self._waiting = self._waiting, []
            executors = (self._executor, self._decoding)
            self._executor = self._decoding = None
        for executor in executors:
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
        for _, decoding in undecoded:
            decoding.cancel()
        for future in unread:  # prefetched answers nobody will read: their connections go back to the pool
            future.add_done_callback(_close_unread)
        self._pending = None
        self.view.close()


def _close_unread(future: Future[_Fetched]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result()[0].close()
