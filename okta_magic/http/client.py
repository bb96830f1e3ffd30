"""The Management API client: it speaks HTTP only (authentication, retries, pacing, paging) and yields pages.

    client = OktaClient("https://dev-123.okta.com", session.authorization_header)
    for page in client.pages("GET", "/api/v1/users", params={"limit": 200}):
        page.status, page.headers, page.body, page.data     # bytes, and their JSON

Turning pages into a DataFrame belongs to :mod:`okta_magic.frames`; ``okta_magic.pulls.pull`` composes
the two. What this module owns:

* **The token's destination** (:mod:`okta_magic.http.orgauth`). The Authorization header goes only to
  the org's scheme, host and port; absolute URLs on other hosts are refused before sending;
  ``next`` links on another host are followed on the org's host only for ``/api/v1/...`` paths
  (rules in :mod:`okta_magic.http.stream`). Redirects are reported, never followed.
* **Paging** (:class:`~okta_magic.http.stream.PageStream`): ``Link: <...>; rel="next"`` (RFC 8288)
  with ``max_pages`` / ``max_rows``; System Log polling stops on an empty page; page N+1 is
  requested on a background thread while the caller reads page N.
* **Pacing** (:mod:`okta_magic.http.pacer`). One pacer per client, shared by every thread that sends
  through it: at most ``concurrency`` requests in flight (16 by default, under half of Okta's
  smallest per-org concurrency limit), and each rate-limit bucket's requests held back before its
  budget is used up, until the window's reset (Okta: "Rate limits", "Concurrent rate limits").
  ``client.pacer.figures()`` says what it did.
* **Rate limits and retries** (:mod:`okta_magic.http.ratelimit`). A 429 waits until
  ``X-Rate-Limit-Reset`` measured on the answer's ``Date`` header, plus 1 s and jitter (longer if
  a ``Retry-After`` header asks for it, RFC 9110 §10.2.3), at most ``max_retries`` times, for any
  method (Okta did not process a request it answered with 429). A concurrency 429
  (``X-Rate-Limit-Limit: 0``) lowers the pacer's cap and waits at most
  :data:`CONCURRENCY_WAIT` seconds, since its reset is only an estimate. GET/HEAD/PUT/DELETE/OPTIONS (idempotent,
  RFC 9110 §9.2.2) are retried with exponential backoff (or after ``Retry-After``) on connection
  errors and 500/502/503/504; POST and PATCH never retry on their own. All waiting goes through
  the injected ``sleep``; a long wait is said once, in one line (:mod:`okta_magic.http.progress`).
* **Errors**: an error answer raises the structured error of :mod:`okta_magic.http.apierrors`, a
  failed connection that of :mod:`okta_magic.http.neterrors`; neither words the fix.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import httpx
import orjson

from okta_magic.http.apierrors import api_error
from okta_magic.dpop import DPoPKey
from okta_magic.errors import RequestError
from okta_magic.held import InMemoryOnly
from okta_magic.http.neterrors import network_error
from okta_magic.http.orgauth import OrgAuth
from okta_magic.http.pacer import DEFAULT_CONCURRENCY, Pacer, Ticket
from okta_magic.http.page import Page, decode_json
from okta_magic.http.stream import AHEAD, PageStream, resolve
from okta_magic.http.progress import Progress, ProgressView, say_line
from okta_magic.http.ratelimit import LONG_WAIT, MAX_WAIT, RateLimit, backoff, bucket_of, retry_wait, wait_line
from okta_magic.version import __version__

__all__ = ["OktaClient", "Page", "PageStream", "Progress"]

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})  # RFC 9110 §9.2.2
RETRY_STATUSES = frozenset({500, 502, 503, 504})
CONCURRENCY_WAIT = 5.0  # seconds at most after a concurrency 429: its Reset is only an estimate (Okta)
DEFAULT_USER_AGENT = f"okta_magic/{__version__} httpx/{httpx.__version__} python/{sys.version.split()[0]}"


class _Borrowed(httpx.BaseTransport):
    """A transport lent to another client: closing that client does not close it."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        """The owner closes the transport, not the borrower."""


class _Stop(Exception):
    """Internal: the pull was closed while the worker waited."""


class OktaClient(InMemoryOnly):
    """A Management API client for one org.

    Args:
        org_url: the org's URL (``https://dev-123.okta.com``), also the only host that sees the token.
        credentials: returns the Authorization header value (``"Bearer ..."`` / ``"SSWS ..."`` /
            ``"DPoP ..."``); may raise NotSignedIn or TokenExpired.
        dpop_key: returns the key a DPoP-bound token is bound to (proofs are signed with it).
        renew: called with the refused Authorization value after a 401 ``invalid_token``; returns the value
            to retry with once (a refreshed token), or None to let the 401 stand.
        held_scopes: returns the scopes the token holds (used to tell which scope a 403 lacks).
        transport: an httpx transport (``httpx.MockTransport`` in tests).
        timeout: seconds per request.
        sleep, clock, random: injected waiting, time (epoch seconds) and jitter in [0, 1).
        max_retries: retries after a 429, and (idempotent methods) after connection errors or 5xx.
        progress: True for a tqdm bar on multi-page pulls, False for none, or a callable taking :class:`Progress`.
        user_agent: the User-Agent header.
        say: where the one-line notice of a long wait goes when no progress callable takes it (stderr).
        concurrency: the most requests in flight at once, from all threads together (see :mod:`okta_magic.http.pacer`).
        pacer: the org's pacer shared with other clients of the same org (``Pacers.for_org``); else its own.
    """

    def __init__(
        self,
        org_url: str,
        credentials: Callable[[], str],
        *,
        dpop_key: Callable[[], DPoPKey | None] | None = None,
        renew: Callable[[str], str | None] | None = None,
        held_scopes: Callable[[], Sequence[str]] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.time,
        random: Callable[[], float] = random.random,
        max_retries: int = 4,
        progress: bool | Callable[[Progress], object] = True,
        user_agent: str = DEFAULT_USER_AGENT,
        say: Callable[[str], object] | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        pacer: Pacer | None = None,
    ) -> None:
        org = httpx.URL(org_url.rstrip("/"))
        if org.scheme not in ("http", "https") or not org.host:
            raise RequestError(f"The org URL {org_url!r} must look like https://your-org.okta.com")
        self.org_url = str(org.copy_with(path="/")).rstrip("/")
        self._org = httpx.URL(self.org_url + "/")
        self._held_scopes = held_scopes
        self._sleep = sleep
        self._clock = clock
        self._random = random
        self.max_retries = max_retries
        self.progress = progress
        self._say = say
        self._pacer = pacer if pacer is not None else Pacer(clock, concurrency)  # the org's, shared when given
        self._auth = OrgAuth(self._org, credentials, dpop_key, renew)
        self._transport = transport
        self._http = httpx.Client(
            base_url=self.org_url,
            auth=self._auth,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": user_agent},
            follow_redirects=False,
        )
        # A session that moves on (a new sign-in, a sign-out) drops this client instead of closing it: a pull in
        # flight keeps it until it ends, and its connections close when the last holder lets go.
        weakref.finalize(self, self._http.close)

    def __repr__(self) -> str:
        return f"OktaClient({self.org_url!r})"

    def __enter__(self) -> OktaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def say(self, line: str, bar: Any = None) -> None:
        """Tell the user one line: to ``say`` if given, else to stderr (through ``bar`` so that it stays whole)."""
        say_line(line, self._say, bar)

    @property
    def http(self) -> httpx.Client:
        """This client's own authenticated httpx.Client (closed with it; for your own code use :meth:`new_http`)."""
        return self._http

    def new_http(self) -> httpx.Client:
        """A new httpx.Client for your own code, yours to close: same auth (the token only goes to the org),
        base URL, headers and timeouts; closing it leaves this client open."""
        transport = _Borrowed(self._transport) if self._transport is not None else None
        return httpx.Client(base_url=self.org_url, auth=self._auth, transport=transport, timeout=self._http.timeout,
                            headers=self._http.headers, follow_redirects=False)

    @property
    def pacer(self) -> Pacer:
        """The org's pacer, shared by every request of this client: ``figures()``, ``set_concurrency(n)``."""
        return self._pacer

    @property
    def default_concurrency(self) -> int:
        """The most requests in flight this client allows (the pacer's configured cap): a batch's default."""
        return self._pacer.max_concurrency

    @property
    def host(self) -> str:
        """The org's host name, the only one that receives the token."""
        return self._org.host

    # -- single requests -------------------------------------------------------------------

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request to the org (retrying as the module docstring says); error answers raise.

        Raises:
            HostNotAllowed, NetworkError, OktaApiError (InsufficientScope, PermissionDenied, RateLimited),
            NotSignedIn, TokenExpired.
        """
        url = resolve(self._org, path_or_url)
        if params:
            url = url.copy_merge_params(params)
        return self._send(method.upper(), url, json=json, headers=headers, timeout=timeout)

    def _send(
        self,
        method: str,
        url: httpx.URL,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        notify: Callable[[float, str], None] | None = None,
        stop: threading.Event | None = None,
    ) -> httpx.Response:
        """Send with pacing and retries (the body read, so a connection lost mid-body is retried too); an error
        answer raises."""
        bucket = bucket_of(url.path)
        retried_429 = retried_other = 0
        content = orjson.dumps(json) if json is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers.setdefault("Content-Type", "application/json")

        def wait(seconds: float, why: str) -> None:
            self._wait(seconds, why, notify, stop, method, url)

        def check() -> None:
            if stop is not None and stop.is_set():
                raise _Stop()

        while True:
            ticket = self._pacer.acquire(bucket, wait, check)
            request = self._http.build_request(
                method, url, content=content, headers=send_headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            log.debug("%s %s", method, url)
            try:
                response, rate = self._exchange(ticket, request)
            except httpx.TransportError as exc:
                if method in IDEMPOTENT and retried_other < self.max_retries:
                    retried_other += 1
                    wait(backoff(retried_other - 1, self._random()), f"{type(exc).__name__}; retrying")
                    continue
                raise network_error(exc, url, timeout=_seconds(timeout, self._http.timeout)) from None
            status = response.status_code
            if status == 429 and retried_429 < self.max_retries:
                retried_429 += 1
                self._wait_429(bucket, rate, retried_429, wait)
                continue
            if status in RETRY_STATUSES and method in IDEMPOTENT and retried_other < self.max_retries:
                pause = backoff(retried_other, self._random())
                if rate.retry_after is not None:  # RFC 9110 §10.2.3: a 503 may say how long to stay away
                    pause = min(MAX_WAIT, max(pause, rate.retry_after))
                retried_other += 1
                wait(pause, f"server error {status}; retrying")
                continue
            if status >= 400:
                held = tuple(self._held_scopes()) if self._held_scopes else ()
                raise api_error(response, held_scopes=held, retries=retried_429)
            return response

    def _exchange(self, ticket: Ticket, request: httpx.Request) -> tuple[httpx.Response, RateLimit]:
        """Send one request under its pacer ticket, freed once the body is read (the org counts it until then)."""
        try:
            response = self._http.send(request, stream=True)
        except BaseException:
            self._pacer.release(ticket)
            raise
        rate = RateLimit.from_headers(response.headers)
        self._pacer.answered(ticket, rate, response.status_code)
        try:
            response.read()
        finally:
            self._pacer.release(ticket)
        # httpx's stream wrapper and the response refer to each other, so a read response (and its body,
        # a whole page) would wait for the cyclic garbage collector; with the cycle broken it goes at once.
        response.stream = httpx.ByteStream(b"")
        return response, rate

    def _wait_429(self, bucket: str, rate: RateLimit, retry: int, wait: Callable[[float, str], None]) -> None:
        """Wait after a 429: until the bucket's reset (Okta: "Rate limits"), or briefly for a concurrency 429."""
        pause = retry_wait(rate, now=self._clock(), jitter=self._random(), attempt=retry - 1)
        if rate.concurrency:  # the pacer has lowered its cap; Okta calls this Reset only an estimate
            wait(min(pause, CONCURRENCY_WAIT), f"too many requests in flight for the org (429); retry {retry}/"
                 f"{self.max_retries}")
            return
        wait(pause, f"rate limited (429); retry {retry}/{self.max_retries}")
        self._pacer.window_passed(bucket, rate.reset)

    def _wait(self, seconds: float, why: str, notify: Callable[[float, str], None] | None,
              stop: threading.Event | None, method: str, url: httpx.URL) -> None:
        log.info("waiting %.1f s: %s", seconds, why)
        if notify is not None:
            notify(seconds, why)  # a pull shows it its own way (and says a long wait itself)
        elif seconds > LONG_WAIT:
            self.say(wait_line(seconds, f"{method} {url.path}", why))
        if stop is not None and stop.is_set():
            raise _Stop()
        if stop is not None and self._sleep is time.sleep:
            stop.wait(seconds)  # a pull closed meanwhile wakes its worker at once (a backoff or reset is minutes)
        else:
            self._sleep(seconds)  # an injected sleep (a test's clock) is called as given
        if stop is not None and stop.is_set():
            raise _Stop()

    # -- paged pulls -----------------------------------------------------------------------

    def stream(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        max_pages: int | None = None,
        max_rows: int | None = None,
        timeout: float | None = None,
        progress: bool | Callable[[Progress], object] | None = False,
        decode: Callable[[Page], Any] = decode_json,
        ahead: int = AHEAD,
    ) -> PageStream:
        """A paged pull, not started yet: iterate it for its pages, then read how it went; close it when done.

        ``progress`` None means the client's own setting; ``decode`` reads each page's body into its ``data``;
        ``ahead``: pages fetched beyond the one the caller waits for (each of many streams at once: fewer).
        """
        url = resolve(self._org, path_or_url)
        if params:
            url = url.copy_merge_params(params)
        method = method.upper()
        view = ProgressView(self.progress if progress is None else progress, f"{method} {url.path}", self._say)
        return PageStream(self._send, self._org, method, url, json=json, headers=headers, max_pages=max_pages,
                          max_rows=max_rows, timeout=timeout, view=view, decode=decode, ahead=ahead)

    def pages(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        max_pages: int | None = None,
        max_rows: int | None = None,
    ) -> Iterator[Page]:
        """Every page of a list, following ``rel="next"``; only GET follows links.

        ``max_rows`` trims the last page. Closing the iterator stops the pull.
        """
        pull = self.stream(method, path_or_url, params=params, json=json, headers=headers, max_pages=max_pages,
                           max_rows=max_rows)
        try:
            yield from pull
        finally:
            pull.close()


def _seconds(timeout: float | None, default: httpx.Timeout) -> float | None:
    """The per-request timeout in seconds, for a message."""
    return timeout if timeout is not None else default.read
