"""The Management API client: authenticated requests, every page, rate limits and readable errors.

    client = OktaClient("https://dev-123.okta.com", session.authorization_header)
    result = client.fetch(parse_request("GET /api/v1/users?limit=200"))
    result.data            # a DataFrame of every user

What it owns:

* **The token's destination.** An :class:`httpx.Auth` adds the Authorization
  header (``Bearer ...`` or ``SSWS ...``, from the ``credentials`` callable) only
  to requests whose scheme, host and port are the org's. Absolute URLs on other
  hosts are refused before sending; ``next`` links on another host are followed
  on the org's host only for ``/api/v1/...`` paths (rules in
  :mod:`okta_magic.paging`). No header carrying the token is ever logged.
* **Paging.** :meth:`OktaClient.pages` follows ``Link: <...>; rel="next"``
  (RFC 8288) with ``max_pages`` / ``max_rows`` and stops System Log polling on an
  empty page. Page N+1 is requested on a background thread while the caller's
  thread parses page N (the socket wait releases the GIL), so against a real org
  the parsing hides behind the network.
* **Rate limits and retries** (:mod:`okta_magic.ratelimit`). A 429 waits until
  ``X-Rate-Limit-Reset`` measured on the answer's ``Date`` header, plus 1 s and
  jitter (longer if a ``Retry-After`` header asks for it, RFC 9110 §10.2.3), at
  most ``max_retries`` times, for any method (Okta did not process a request it
  answered with 429). Requests slow down when 10 % or less of the
  window remains. GET/HEAD/PUT/DELETE/OPTIONS (idempotent, RFC 9110 §9.2.2) are
  retried with exponential backoff (or after ``Retry-After``) on connection
  errors and 500/502/503/504; POST and PATCH never retry on their own. All waiting goes through the
  injected ``sleep``; a wait longer than a few seconds is said once, in one line (to the progress
  callable when there is one, else to stderr, beside any bar).
* **Errors.** Every failure is a typed error from :mod:`okta_magic.errors` with
  one line saying what to do (:func:`api_error`, :func:`network_error`).
  ``WWW-Authenticate`` is parsed per RFC 9110 §11.6.1 (several challenges; the
  one with an ``error`` counts). An error page that is not Okta's JSON (a proxy's
  HTML) is named as such, not blamed on a scope. Redirects are reported, never
  followed. A page of a list that is not a list (cut short, HTML, an object) or a
  ``next`` link back to a page already fetched stops the pull with
  :class:`~okta_magic.errors.InvalidResponse` instead of returning a list that
  silently lacks rows. JSON in a declared charset other than UTF-8, or with a
  byte order mark, is decoded (RFC 8259 §8.1).
* **Interrupts.** Ctrl-C during a multi-page GET keeps what arrived:
  :meth:`OktaClient.fetch` returns the partial result with ``interrupted=True``
  and a ``note`` for the user.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from . import __version__
from .dpop import NONCE_ERROR, DPoPKey
from .errors import (
    ApiErrorDetails,
    HostNotAllowed,
    InsufficientScope,
    InvalidResponse,
    NetworkError,
    OktaApiError,
    OktaMagicError,
    PermissionDenied,
    RateLimited,
    RequestError,
)
from .paging import is_log_polling, next_url, origin_of, resolve
from .query import ApiRequest
from .tokens import InMemoryOnly
from .ratelimit import LONG_WAIT, MAX_WAIT, Pacer, RateLimit, backoff, bucket_of, retry_wait, wait_line

__all__ = ["OktaClient", "Page", "Result", "Progress", "api_error", "network_error", "parse_www_authenticate"]

log = logging.getLogger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})  # RFC 9110 §9.2.2
RETRY_STATUSES = frozenset({500, 502, 503, 504})
DEFAULT_USER_AGENT = f"okta_magic/{__version__} httpx/{httpx.__version__} python/{sys.version.split()[0]}"


# -- values ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """What a pull is doing, for a progress callback (``waiting`` > 0 while it sleeps)."""

    pages: int
    rows: int
    remaining: int | None
    waiting: float = 0.0
    message: str = ""


@dataclass
class Page(InMemoryOnly):
    """One answer of a paged pull: its parsed JSON (``data``) and rate-limit state (in memory only: its
    ``response`` carries the request's Authorization header)."""

    index: int
    url: str
    status: int
    data: Any
    rate_limit: RateLimit
    response: httpx.Response = field(repr=False)

    @property
    def records(self) -> list[Any]:
        """The page as a list of records (a JSON object counts as one)."""
        if isinstance(self.data, list):
            return self.data
        if _is_rows(self.data):
            return list(self.data.to_pylist())
        return [] if self.data is None else [self.data]


@dataclass
class Result:
    """What :meth:`OktaClient.fetch` got: the data and how the pull went.

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
        return self.content_type is not None and "json" in self.content_type


# -- errors ----------------------------------------------------------------------------------

# RFC 9110 §11.6.1: challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ];
# auth-param = token BWS "=" BWS ( token / quoted-string ); several challenges are comma-separated.
_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_SCHEME = re.compile(rf"[\s,]*({_TCHAR}+)")
_AUTH_PARAM = re.compile(rf'[\s,]*({_TCHAR}+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|{_TCHAR}+)[ \t]*(?=,|$)')
_TOKEN68 = re.compile(r"[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*(?=,|$)")
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_challenges(value: str | None) -> list[tuple[str, dict[str, str]]]:
    """Every challenge of ``WWW-Authenticate`` lines (joined or not): (scheme, params with lower-case names).

    Quoted strings may hold commas, ``=`` and escaped quotes (RFC 9110 §5.6.4); a token68
    is kept under ``"token68"``.
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    if not value:
        return challenges
    pos, end = 0, len(value)
    while pos < end:
        scheme = _SCHEME.match(value, pos)
        if scheme is None:
            pos += 1  # not a token: skip it
            continue
        if _AUTH_PARAM.match(value, scheme.start()):  # params with no scheme before them
            name, pos = "", scheme.start()
        else:
            name, pos = scheme.group(1), scheme.end()
        params: dict[str, str] = {}
        token68 = _TOKEN68.match(value, pos)
        if token68 is not None:
            params["token68"], pos = token68.group(1), token68.end()
        while (param := _AUTH_PARAM.match(value, pos)) is not None:
            raw = param.group(2)
            if raw.startswith('"'):
                raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
            params.setdefault(param.group(1).lower(), raw)
            pos = param.end()
        challenges.append((name, params))
    return challenges


def parse_www_authenticate(value: str | None) -> dict[str, str]:
    """The auth-params of the challenge that matters in ``WWW-Authenticate`` (RFC 9110 §11.6.1, RFC 6750 §3).

    That is the first challenge carrying an ``error``, else the first Bearer one, else the first.
    The scheme is returned under the key ``""``.
    """
    challenges = parse_challenges(value)
    if not challenges:
        return {}
    chosen = next((c for c in challenges if "error" in c[1]), None) or next(
        (c for c in challenges if c[0].lower() == "bearer"), challenges[0])
    return {"": chosen[0], **chosen[1]}


_UTF8 = frozenset({"utf-8", "utf8"})
_BOM = b"\xef\xbb\xbf"


def _loads(response: httpx.Response, content: bytes, content_type: str) -> Any:
    """Parse JSON bytes; raises orjson.JSONDecodeError.

    RFC 8259 §8.1 asks for UTF-8, but a server or proxy may declare another charset
    (decoded as declared) or prefix a byte order mark (ignored, as §8.1 allows).
    """
    if "charset" in content_type:
        charset = (response.charset_encoding or "utf-8").lower()
        if charset not in _UTF8:
            try:
                return orjson.loads(content.decode(charset))
            except (LookupError, UnicodeDecodeError):
                pass  # an unknown or wrong charset: try the bytes as UTF-8
    if content[:3] == _BOM:
        content = content[3:]
    return orjson.loads(content)


def _body(response: httpx.Response) -> Any:
    try:
        return _loads(response, response.content, response.headers.get("content-type", "")) \
            if response.content else None
    except orjson.JSONDecodeError:
        return None


def _one_line(text: Any, limit: int = 300) -> str:
    """Text squeezed onto one line (Okta's summaries and causes may hold line breaks), cut at ``limit``."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def _not_okta(response: httpx.Response) -> str:
    """For an error answer without Okta's JSON body: what came instead, and who probably sent it."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    title = _TITLE.search(response.content[:4096])
    named = f" titled {_one_line(title.group(1).decode('utf-8', 'replace'), 80)!r}" if title else ""
    return (f"the answer was {content_type}{named}, not Okta's JSON error: a proxy, firewall or load balancer "
            f"between you and {response.request.url.host} may have answered")


def _where(response: httpx.Response) -> str:
    request = response.request
    return f"{request.method} {request.url.path}"


def api_error(response: httpx.Response, *, held_scopes: Sequence[str] = (), retries: int = 0) -> OktaApiError:
    """The typed error for an error answer, with a one-line message saying what to do next.

    Args:
        response: an answer with status >= 400.
        held_scopes: the scopes the token holds (to explain a 403).
        retries: how many 429 retries were already spent (for the RateLimited message).
    """
    from .scopes import catalogue, missing_scopes

    status = response.status_code
    body = _body(response)
    challenge = parse_www_authenticate(response.headers.get("www-authenticate"))
    code = summary = error_id = None
    causes: list[str] = []
    if isinstance(body, dict) and ("errorCode" in body or "errorSummary" in body):
        code, summary, error_id = body.get("errorCode"), body.get("errorSummary"), body.get("errorId")
        raw_causes = body.get("errorCauses")
        causes = [_one_line(c.get("errorSummary") if isinstance(c, dict) else c)
                  for c in (raw_causes if isinstance(raw_causes, list) else ())
                  if (c.get("errorSummary") if isinstance(c, dict) else c)]
    elif isinstance(body, dict) and "error" in body:  # OAuth endpoints: RFC 6749 §5.2
        code, summary = str(body["error"]), body.get("error_description")
    elif challenge.get("error"):
        code, summary = challenge["error"], challenge.get("error_description")
    code = _one_line(code, 80) if code is not None else None
    summary = _one_line(summary) if summary else None
    error_id = _one_line(error_id, 80) if error_id else None
    # An answer with a body that is not JSON (an HTML page) did not come from Okta's API.
    foreign = body is None and bool(response.content.strip()) and code is None
    request = response.request
    details = ApiErrorDetails(
        status=status, method=request.method, url=str(request.url), error_code=code, summary=summary,
        causes=tuple(causes), error_id=error_id, request_id=response.headers.get("x-okta-request-id"),
        www_authenticate={k: v for k, v in challenge.items() if k},
    )
    where = _where(response)
    said = f"{status} {code}" if code else f"{status} {response.reason_phrase}".rstrip()
    if summary:
        said += f" ({summary}"
        said += f": {'; '.join(causes)})" if causes else ")"
    elif causes:
        said += f" ({'; '.join(causes)})"
    tail = f" [errorId {error_id}]" if error_id else ""
    held = list(held_scopes)
    # An SSWS API token has no scopes: a bare 403 means its creator's admin role lacks the permission.
    ssws = request.headers.get("Authorization", "").startswith("SSWS ")

    if status == 403 and (challenge.get("error") == "insufficient_scope" or (code is None and not foreign
                                                                              and not ssws)):
        # RFC 6750 §3: scope is a space-delimited list of the scopes the token needs.
        needed = challenge["scope"].split() if challenge.get("scope") else list(
            catalogue().scopes_for(request.method, request.url.path))
        lacking = missing_scopes(held, needed, path=request.url.path) if held else needed
        if challenge.get("error") == "insufficient_scope" or (needed and lacking):
            scopes = " and ".join(lacking or needed) or "a scope this token lacks"
            holds = ", ".join(held) if held else "no Okta API scopes we know of"
            return InsufficientScope(
                f"{where} needs {scopes}, which the token does not hold (it holds: {holds}). "
                f"Sign in again with %okta_login asking for {scopes} (the app must be granted it in Okta).",
                details, needed=needed, held=held,
            )
    if status == 403 and code == "E0000006":
        return PermissionDenied(
            f"{where} was refused: {said}. The token carries the scope, but the signed-in user's admin role does "
            f"not allow this call (Okta's silent downscoping): sign in as an admin whose role allows it (built-in "
            f"and app groups cannot be changed by any role).{tail}", details)
    if status == 429:
        rate = RateLimit.from_headers(response.headers)
        if rate.concurrency:
            return RateLimited(
                f"{where} still hits Okta's concurrent-request limit after {retries} retries ({said}): too many "
                f"requests are in flight for this org at once, from every client and integration; wait, "
                f"then run it again with fewer parallel requests.{tail}", details)
        limit = f"; limit {rate.limit} per window" if rate.limit else ""
        return RateLimited(
            f"{where} still hits Okta's rate limit after {retries} retries ({said}{limit}): wait a minute, "
            f"then run it again or pull fewer pages (max_pages).{tail}", details)
    if foreign:
        said += f"; {_not_okta(response)}"
    if 300 <= status < 400:
        location = response.headers.get("location")
        target = request.url.join(location).copy_with(query=None, fragment=None) if location else None
        to = f" to {target}" if target else ""
        return OktaApiError(
            f"{where} was redirected{to} ({status}). okta_magic does not follow redirects, so that the token "
            f"stays on {request.url.host}: if that is the org's own address, use it as the org URL.", details)
    if status == 401 and code == "E0000015":
        return OktaApiError(
            f"{where} was refused: {said}. The feature is not enabled in this org: "
            f"an Okta administrator has to turn it on.{tail}", details)
    if code in ("invalid_dpop_proof", "use_dpop_nonce"):
        return OktaApiError(
            f"{where} failed: {said}. The org refused the request's DPoP proof (RFC 9449): check this machine's "
            f"clock, then sign in again with %okta_login.{tail}", details)
    if status == 401:
        return OktaApiError(
            f"{where} was refused: {said}. The token is missing, invalid or expired: "
            f"sign in again with %okta_login.{tail}", details)
    hint = {
        400: "Fix the request (path, query or body) and run it again.",
        403: "" if code or foreign else ("The API token acts with its creator's admin role, which does not "
                                         "allow this." if ssws else "Your account may not do this in this org."),
        404: "Check the id and the path (GET /api/v1/users/{id}, /api/v1/groups ...).",
        405: f"This endpoint does not accept {request.method}: check the method.",
        409: "The object changed or already exists: fetch it again and retry.",
    }.get(status, ("Try again later." if foreign else "Okta could not process it; try again later.")
          if status >= 500 else "")
    return OktaApiError(f"{where} failed: {said}. {hint}".rstrip() + tail, details)


_DNS_WORDS = ("name or service not known", "nodename nor servname", "getaddrinfo failed", "name resolution",
              "no address associated", "name does not resolve")
_REFUSED_WORDS = ("connection refused", "actively refused")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and the ones it was raised from (httpx wraps httpcore, which wraps the OS error)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def network_error(exc: httpx.TransportError, url: httpx.URL, *, timeout: float | None = None) -> NetworkError:
    """A NetworkError naming the host and what to check (never a traceback, never a header).

    Tells apart a name that does not resolve, a refused connection, a TLS failure, a proxy
    failure, a dropped connection and the timeouts, since each has a different fix.
    """
    host = url.host
    port = url.port
    where = f"{host}:{port}" if port else host
    chain = _causes(exc)
    text = " ".join(str(e) for e in chain).lower()
    reason = _one_line(str(exc) or type(exc).__name__, 120)
    within = f" within {timeout:g} s" if timeout else " in time"
    if isinstance(exc, httpx.ConnectTimeout):
        message = (f"{host} did not accept a connection{within} (ConnectTimeout): check your network or VPN "
                   "and any proxy settings, then try again.")
    elif isinstance(exc, httpx.TimeoutException):
        message = (f"{host} did not answer{within} ({type(exc).__name__}): try again, ask for smaller pages "
                   "(limit=...), or allow more time (--timeout).")
    elif isinstance(exc, httpx.ProxyError):
        message = (f"The proxy could not take the request to {host} ({reason}): check HTTPS_PROXY / NO_PROXY "
                   "and the proxy itself.")
    elif any(isinstance(e, socket.gaierror) for e in chain) or any(w in text for w in _DNS_WORDS):
        message = (f"Could not reach {host}: the name does not resolve (DNS). Check the org URL for a typo "
                   "(https://your-org.okta.com), your network or VPN, and any proxy settings.")
    elif any(isinstance(e, ConnectionRefusedError) for e in chain) or any(w in text for w in _REFUSED_WORDS):
        message = (f"Could not reach {where}: the connection was refused. Check the org URL (and its port) "
                   "and any proxy settings.")
    elif any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate verify failed" in text:
        message = (f"Could not reach {host} securely: its TLS certificate was not accepted ({reason}). If a proxy "
                   "inspects TLS, point SSL_CERT_FILE at its CA certificate; otherwise check the org URL.")
    elif any(isinstance(e, ssl.SSLError) for e in chain) or "[ssl" in text:
        message = (f"Could not reach {host}: the TLS handshake failed ({reason}). Check that the org URL is the "
                   "https:// address of the org, and any proxy settings.")
    elif isinstance(exc, httpx.RemoteProtocolError):
        message = (f"{host} closed the connection without a complete answer ({reason}): try again; if it keeps "
                   "happening, check any proxy settings.")
    else:
        message = (f"Could not reach {host} ({type(exc).__name__}): check the org URL, your network or VPN, "
                   "and any proxy settings, then try again.")
    return NetworkError(message, host=host)


# -- auth ------------------------------------------------------------------------------------


class _OrgAuth(httpx.Auth):
    """Adds the Authorization header only when the request goes to the org's origin.

    A DPoP-bound token (``Authorization: DPoP ...``) also gets a fresh proof by its key
    in the ``DPoP`` header (RFC 9449 §7.1); a 401 asking for a server nonce is answered
    once with a proof carrying it (§9). A 401 ``invalid_token`` (RFC 6750 §3.1: revoked,
    expired early, clock skew) is answered once with the header ``renew`` gives for the
    refused one (a refreshed token), when it gives one.
    """

    def __init__(self, org: httpx.URL, credentials: Callable[[], str],
                 dpop_key: Callable[[], DPoPKey | None] | None = None,
                 renew: Callable[[str], str | None] | None = None) -> None:
        self._origin = origin_of(org)
        self._credentials = credentials
        self._dpop_key = dpop_key
        self._renew = renew

    def _sign(self, request: httpx.Request, value: str) -> DPoPKey | None:
        """Put ``value`` in the Authorization header, with a fresh DPoP proof when the token is bound."""
        request.headers["Authorization"] = value
        key = self._dpop_key() if self._dpop_key is not None and value.startswith("DPoP ") else None
        if key is not None:
            request.headers["DPoP"] = key.proof(request.method, str(request.url), access_token=value[5:])
        return key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if origin_of(request.url) != self._origin:
            yield request
            return
        value = self._credentials()
        key = self._sign(request, value)
        response = yield request
        if (key is not None and response.status_code == 401 and _asks_for_nonce(response)
                and key.remember_nonce(response.headers)):
            self._sign(request, value)
            response = yield request
        if response.status_code == 401 and self._renew is not None and _token_refused(response):
            fresh = self._renew(value)
            if fresh is not None and fresh != value:
                log.info("the org refused the access token (401 invalid_token); retrying once with a refreshed one")
                self._sign(request, fresh)
                yield request

    def __repr__(self) -> str:
        return f"_OrgAuth(origin={self._origin!r})"


def _token_refused(response: httpx.Response) -> bool:
    """A 401 saying the token itself is bad: ``error="invalid_token"`` (RFC 6750 §3.1) or Okta's E0000011."""
    challenge = parse_www_authenticate(response.headers.get("WWW-Authenticate"))
    if challenge.get("error"):
        return challenge["error"] == "invalid_token"
    response.read()  # a 401 body is small
    body = _body(response)
    return isinstance(body, dict) and body.get("errorCode") == "E0000011"


def _asks_for_nonce(response: httpx.Response) -> bool:
    """A resource server's ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` (RFC 9449 §9)."""
    return any(params.get("error") == NONCE_ERROR
               for _scheme, params in parse_challenges(response.headers.get("WWW-Authenticate")))


# -- the client ------------------------------------------------------------------------------


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
        held_scopes: returns the scopes the token holds (used to explain 403s).
        transport: an httpx transport (``httpx.MockTransport`` in tests).
        timeout: seconds per request.
        sleep, clock, random: injected waiting, time (epoch seconds) and jitter in [0, 1).
        max_retries: retries after a 429, and (idempotent methods) after connection errors or 5xx.
        progress: True for a tqdm bar on multi-page pulls, False for none, or a callable taking :class:`Progress`.
        user_agent: the User-Agent header.
        say: where the one-line notice of a long wait goes when no progress callable takes it (stderr).
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
        self._pacer = Pacer(clock)
        self._auth = _OrgAuth(self._org, credentials, dpop_key, renew)
        self._transport = transport
        self._http = httpx.Client(
            base_url=self.org_url,
            auth=self._auth,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json", "User-Agent": user_agent},
            follow_redirects=False,
        )

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
        if self._say is not None:
            self._say(line)
        elif bar is not None:
            bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

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
    def host(self) -> str:
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
        stream: bool = False,
    ) -> httpx.Response:
        bucket = bucket_of(url.path)
        retried_429 = retried_other = 0
        content = orjson.dumps(json) if json is not None else None
        send_headers = dict(headers or {})
        if content is not None:
            send_headers.setdefault("Content-Type", "application/json")
        while True:
            pause = self._pacer.delay(bucket)
            if pause > 0:
                rate = self._pacer.last(bucket)
                left = rate.remaining if rate else None
                self._wait(pause, f"pacing: {left} requests left in this rate-limit window", notify, stop,
                           method, url)
            request = self._http.build_request(
                method, url, content=content, headers=send_headers,
                timeout=timeout if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
            log.debug("%s %s", method, url)
            try:
                response = self._http.send(request, stream=True)
                if not stream or response.status_code >= 400:
                    response.read()  # error bodies are small; a streamed success is read by the caller
            except httpx.TransportError as exc:
                if method in IDEMPOTENT and retried_other < self.max_retries:
                    wait = backoff(retried_other, self._random())
                    retried_other += 1
                    self._wait(wait, f"{type(exc).__name__}; retrying", notify, stop, method, url)
                    continue
                raise network_error(exc, url, timeout=_seconds(timeout, self._http.timeout)) from None
            rate = RateLimit.from_headers(response.headers)
            self._pacer.record(bucket, rate)
            status = response.status_code
            if status == 429 and retried_429 < self.max_retries:
                wait = retry_wait(rate, now=self._clock(), jitter=self._random(), attempt=retried_429)
                retried_429 += 1
                self._wait(wait, f"rate limited (429); retry {retried_429}/{self.max_retries}", notify, stop,
                           method, url)
                continue
            if status in RETRY_STATUSES and method in IDEMPOTENT and retried_other < self.max_retries:
                wait = backoff(retried_other, self._random())
                if rate.retry_after is not None:  # RFC 9110 §10.2.3: a 503 may say how long to stay away
                    wait = min(MAX_WAIT, max(wait, rate.retry_after))
                retried_other += 1
                self._wait(wait, f"server error {status}; retrying", notify, stop, method, url)
                continue
            if status >= 400:
                held = tuple(self._held_scopes()) if self._held_scopes else ()
                raise api_error(response, held_scopes=held, retries=retried_429)
            return response

    def _wait(self, seconds: float, why: str, notify: Callable[[float, str], None] | None,
              stop: threading.Event | None, method: str, url: httpx.URL) -> None:
        log.info("waiting %.1f s: %s", seconds, why)
        if notify is not None:
            notify(seconds, why)  # a pull shows it its own way (and says a long wait itself)
        elif seconds > LONG_WAIT:
            self.say(wait_line(seconds, f"{method} {url.path}", why))
        if stop is not None and stop.is_set():
            raise _Stop()
        self._sleep(seconds)
        if stop is not None and stop.is_set():
            raise _Stop()

    # -- paged pulls -----------------------------------------------------------------------

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
        pull = _Pull(self, method.upper(), path_or_url, params=params, json=json, headers=headers,
                     max_pages=max_pages, max_rows=max_rows, progress=False)
        try:
            yield from pull
        finally:
            pull.close()

    def fetch(
        self,
        request: ApiRequest,
        *,
        max_pages: int | None = None,
        max_rows: int | None = None,
        raw: bool = False,
        keep_links: bool = False,
        timeout: float | None = None,
        progress: bool | Callable[[Progress], object] | None = None,
    ) -> Result:
        """Send a parsed request and gather every page into one result.

        ``timeout`` (seconds per request) and ``progress`` override the client's for this call.

        A JSON array becomes a DataFrame (``raw=True``: the list of records), a JSON object a
        Series (``raw=True``: the dict), other answers their text; 204 gives None.
        Ctrl-C during a multi-page GET returns what arrived, with ``interrupted=True``.
        """
        from .frames import FrameBuilder, JsonPages, resource_for_path, to_record

        started = time.monotonic()
        parse = _parse
        if not raw:
            # Arrays go straight from bytes to Arrow; anything Arrow declines takes the orjson path.
            arrays = JsonPages(keep_links=keep_links)

            def parse(response: httpx.Response) -> Any:
                content = response.content
                content_type = response.headers.get("content-type", "json")
                if content[:1] == b"[" and "json" in content_type and _utf8(response, content_type):
                    table = arrays.read(content)
                    if table is not None:
                        return table
                return _parse(response)

        pull = _Pull(self, request.method, request.target, json=request.body, headers=request.headers,
                     max_pages=max_pages, max_rows=max_rows, timeout=timeout,
                     progress=self.progress if progress is None else progress, parse=parse)
        builder = FrameBuilder(resource_for_path(request.path), keep_links=keep_links)
        records: list[Any] = []
        first: Page | None = None
        single: Any = None
        interrupted = False
        try:
            for page in pull:
                if first is None:
                    first = page
                if not _is_rows(page.data):
                    single = page.data  # an object, a scalar or a non-JSON answer: one page only
                    break
                if raw:
                    records.extend(page.data)
                elif isinstance(page.data, list):
                    builder.add(page.data)
                else:
                    builder.add_table(page.data)
                page.data = None  # free the page's objects: the builder holds compact arrays now
        except KeyboardInterrupt:
            if request.method != "GET":
                raise  # a write may or may not have happened: let the user see the interrupt
            interrupted = True
        except OktaMagicError as exc:
            if pull.is_list and pull.rows:  # a failure on a later page: the rows so far go with the error
                exc.partial = records if raw else builder.build()
            raise
        finally:
            pull.close()
        response = first.response if first is not None else None
        data: Any
        if first is None or pull.is_list:
            data = records if raw else builder.build()
        elif isinstance(single, dict):
            data = single if raw else to_record(single, builder.resource, keep_links=keep_links)
        elif single is None:
            data = _plain(response) if response is not None else None
        else:
            data = single  # a bare JSON scalar
        content_type = response.headers.get("content-type") if response is not None else None
        result = Result(
            data=data,
            status=response.status_code if response is not None else 0,
            content_type=content_type,
            url=str(response.url) if response is not None else request.target,
            pages=pull.pages,
            rows=pull.rows,
            rate_limit_remaining=pull.remaining,
            interrupted=interrupted,
            stopped_early=pull.stopped_early,
            next_url=str(pull.next) if pull.next is not None else None,
            elapsed=time.monotonic() - started,
            request_id=response.headers.get("x-okta-request-id") if response is not None else None,
        )
        result.note = _note(result)
        return result


def _seconds(timeout: float | None, default: httpx.Timeout) -> float | None:
    """The per-request timeout in seconds, for a message."""
    return timeout if timeout is not None else default.read


def _plain(response: httpx.Response) -> Any:
    """A non-JSON answer as text (None when empty, e.g. 204 No Content)."""
    if not response.content:
        return None
    return response.text


def _note(result: Result) -> str | None:
    if result.interrupted:
        where = f"; the pull stopped before {result.next_url}" if result.next_url else ""
        return (f"Interrupted after {result.pages} page(s): the {result.rows} rows fetched so far are in the "
                f"result{where}.")
    if result.stopped_early:
        return (f"Stopped after {result.pages} page(s) and {result.rows} rows (max_pages/max_rows); "
                "more are available.")
    return None


class _Pull:
    """One paged pull: fetches page N+1 on a worker thread while the caller parses page N."""

    def __init__(
        self,
        client: OktaClient,
        method: str,
        path_or_url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        max_pages: int | None = None,
        max_rows: int | None = None,
        timeout: float | None = None,
        progress: bool | Callable[[Progress], object] = False,
        parse: Callable[[httpx.Response], Any] | None = None,
    ) -> None:
        self.client = client
        self._parse = parse or _parse
        self.timeout = timeout
        self.method = method
        self.url = resolve(client._org, path_or_url)
        if params:
            self.url = self.url.copy_merge_params(params)
        self.json = json
        self.headers = headers
        self.max_pages = max_pages
        self.max_rows = max_rows
        self.polling = method == "GET" and is_log_polling(self.url.path, self.url.params.keys())
        self.pages = 0
        self.rows = 0
        self.remaining: int | None = None
        self.stopped_early = False
        self.is_list = False
        self.next: httpx.URL | None = None
        self._progress = progress
        self._bar: Any = None
        self._stop = threading.Event()
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[httpx.Response] | None = None
        self._visited: set[str] = set()

    # progress ------------------------------------------------------------------------------

    def _report(self, waiting: float = 0.0, message: str = "") -> None:
        if callable(self._progress):
            self._progress(Progress(self.pages, self.rows, self.remaining, waiting, message))
            return
        bar = self._bar
        if bar is None:
            return
        bar.set_postfix(rows=self.rows, remaining=self.remaining, refresh=False)
        bar.set_description_str(f"waiting {waiting:.0f} s ({message})" if waiting else "okta", refresh=False)
        bar.n = self.pages
        bar.refresh()

    def _notify(self, seconds: float, why: str) -> None:
        # Any wait is shown, even before the first page: a 429 can mean a minute of silence otherwise.
        self._open_bar()
        self._report(seconds, why)
        if seconds > LONG_WAIT and not callable(self._progress):
            # Said once, in one line, bar or no bar (progress=False would otherwise be silent).
            self.client.say(wait_line(seconds, f"{self.method} {self.url.path}", why), self._bar)

    def _open_bar(self) -> None:
        # A bar only for multi-page pulls: opened when the second page is requested.
        if self._progress is True and self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc="okta", unit=" pages", initial=self.pages, leave=False)

    # the pull --------------------------------------------------------------------------------

    def _get(self, url: httpx.URL, *, stream: bool = False) -> httpx.Response:
        return self.client._send(self.method, url, json=self.json, headers=self.headers, timeout=self.timeout,
                                 notify=self._notify, stop=self._stop, stream=stream)

    def _body(self, future: Future[httpx.Response], url: httpx.URL) -> httpx.Response:
        """The prefetched answer with its body read here, on the caller's thread.

        The worker only sends the request and reads the status line and headers; the body
        waits in the socket while this thread parses the previous page, so the two threads
        do not fight over the GIL. A connection lost while reading is retried (GET only).
        """
        response = future.result()
        self._pending = None
        try:
            response.read()
        except httpx.TransportError:
            response.close()
            return self._get(url)
        return response

    def __iter__(self) -> Iterator[Page]:
        response = self._get(self.url)
        if 300 <= response.status_code < 400:  # not followed (the token stays on the org): say where it pointed
            response.read()
            raise api_error(response)
        future: Future[httpx.Response] | None = None
        while True:
            refused: HostNotAllowed | None = None
            try:
                following = next_url(response, self.client._org) if self.method == "GET" else None
            except HostNotAllowed as exc:  # the token stays home, but this page is still handed over first
                following, refused = None, exc
            if following is not None and not self.polling:
                self._visited.add(str(response.url))
                if str(following) in self._visited:
                    # A server that ignores the cursor would otherwise send the same rows forever.
                    raise InvalidResponse(
                        f"Page {self.pages + 1} of {self.method} {self.url.path} links back to a page already "
                        f"fetched ({following}): the server ignored the cursor; the pull stopped.",
                        status=response.status_code, url=str(response.url))
            self.remaining = RateLimit.from_headers(response.headers).remaining
            last_allowed = self.max_pages is not None and self.pages + 1 >= self.max_pages
            # Overlap: ask for the next page before parsing this one, unless this page decides
            # whether there is a next one (log polling stops on empty; max_rows may be reached).
            early = following is not None and not last_allowed and not self.polling and self.max_rows is None
            if early:
                assert following is not None
                future = self._submit(following)
            data = self._parse(response)
            if self.is_list and not _is_rows(data):
                # Keeping the pages so far would hand back a list that silently lacks the rest.
                raise InvalidResponse(
                    f"Page {self.pages + 1} of {self.method} {self.url.path} is not a JSON array like the pages "
                    f"before it (status {response.status_code}, "
                    f"{response.headers.get('content-type') or 'no content type'}): the pull stopped; run it again.",
                    status=response.status_code, url=str(response.url))
            if _is_rows(data):
                self.is_list = True
                if self.max_rows is not None and self.rows + len(data) >= self.max_rows:
                    keep = self.max_rows - self.rows
                    if keep < len(data) or following is not None:
                        self.stopped_early = True
                    data = data[:keep]
                    following = None if self.stopped_early else following
                    if self.stopped_early:
                        self.next = next_url(response, self.client._org)
                self.rows += len(data)
            self.pages += 1
            if self.polling and _is_rows(data) and not len(data):
                following = None  # Okta always links a next page while polling: an empty page is the end
            if following is not None and last_allowed:
                self.stopped_early = True
                self.next = following
                following = None
            page = Page(self.pages - 1, str(response.url), response.status_code, data,
                        RateLimit.from_headers(response.headers), response)
            if following is None:
                if not self.stopped_early:
                    self.next = None
                if self._bar is not None or callable(self._progress):
                    self._report()
                yield page
                if refused is not None:
                    raise refused
                return
            if not early:
                future = self._submit(following)
            self.next = following
            if self.pages == 1:
                self._open_bar()
            self._report()
            yield page
            del page, data
            assert future is not None and following is not None
            response = self._body(future, following)
            future = None

    def _submit(self, url: httpx.URL) -> Future[httpx.Response]:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okta-page")
        future = self._executor.submit(self._get, url, stream=True)
        self._pending = future
        return future

    def close(self) -> None:
        """Stop the worker (a request in flight finishes in the background) and close the bar."""
        self._stop.set()
        if self._pending is not None:
            # A prefetched answer nobody will read: give its connection back to the pool.
            self._pending.add_done_callback(_close_unread)
            self._pending = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _close_unread(future: Future[httpx.Response]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().close()


def _is_rows(data: Any) -> bool:
    """A page of a list: parsed JSON array, or the Arrow table it was read into (both have len and slices)."""
    if isinstance(data, list):
        return True
    arrow = sys.modules.get("pyarrow")  # only ever a Table when frames.JsonPages (and so pyarrow) was used
    return arrow is not None and isinstance(data, arrow.Table)


def _utf8(response: httpx.Response, content_type: str) -> bool:
    """True unless the answer declares a charset other than UTF-8 (cheap for Okta's usual headers)."""
    return "charset" not in content_type or (response.charset_encoding or "utf-8").lower() in _UTF8


def _parse(response: httpx.Response) -> Any:
    """The JSON of an answer (orjson on the raw bytes), or None when it is empty or not JSON.

    Raises:
        InvalidResponse: the Content-Type says JSON but the body does not parse (cut short on the way?).
    """
    content = response.content
    if not content:
        return None
    content_type = response.headers.get("content-type", "")
    declared = "json" in content_type
    if not declared and content[:1] not in (b"[", b"{"):
        return None
    try:
        return _loads(response, content, content_type)
    except orjson.JSONDecodeError as exc:
        if not declared:
            return None  # text that merely starts like JSON: shown as text
        request = response.request
        raise InvalidResponse(
            f"{request.method} {request.url.path} answered {response.status_code} with a body that is not valid "
            f"JSON although it says {content_type.split(';')[0]} ({_one_line(exc, 100)}; {len(content)} bytes): "
            "it may have been cut short on the way; run it again.",
            status=response.status_code, url=str(request.url)) from None
