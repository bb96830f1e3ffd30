"""Okta's rate-limit headers, how long to wait after a 429, and pacing before the limit.

Okta sends ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and
``X-Rate-Limit-Reset`` (UTC epoch *seconds*) on every Management API answer;
windows are per endpoint bucket and not aligned to the wall-clock minute
(Okta: "Rate limits" / "Monitor rate limits"). After a 429 (E0000047) the time
to wait is ``Reset - Date`` measured on the *server's* ``Date`` header, not on
the local clock, plus one second, as Okta's own SDK does
(``request_executor.calculate_backoff``), plus a little jitter so that several
kernels do not retry in lockstep. Repeated reset headers (or one joined by a
proxy) count by their smallest value, as the SDK does. A ``Retry-After`` header
(RFC 9110 §10.2.3: delay-seconds or an HTTP-date, also read against ``Date``)
is honoured when present: the wait is the longer of the two.

A concurrency 429 (too many requests in flight for the org) says
``X-Rate-Limit-Limit: 0`` and ``Remaining: 0`` and its ``Reset`` is only an
estimate (Okta: "Concurrent rate limits"); :attr:`RateLimit.concurrency` tells
it apart so the message can say so.

Pacing before the limit (holding requests back, spreading the end of a window, the
concurrency cap) is :mod:`okta_magic.http.pacer`'s; :func:`bucket_of` names the bucket a path
counts against.

Nothing here sleeps; the client does, with its injected ``sleep``. A wait longer
than :data:`LONG_WAIT` is always told to the user in one line (:func:`wait_line`),
progress bar or not: a minute of silence looks like a hung kernel.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RateLimit", "retry_wait", "backoff", "bucket_of", "BUCKETS", "LONG_WAIT", "wait_line", "first_budget",
           "FIRST_BUDGETS"]

RETRY_PAD = 1.0  # seconds added to Reset - Date (Okta's SDK adds one second)
MAX_WAIT = 120.0  # an absurd Reset (clock skew, bad header) never freezes the kernel for long
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0
LONG_WAIT = 5.0  # seconds: a longer wait is always said, in one line


def wait_line(seconds: float, where: str, why: str) -> str:
    """The one line that tells the user a request waits (``where`` is e.g. ``GET /api/v1/users``)."""
    return f"Waiting {seconds:.0f} s before {where} goes on: {why}."


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        # A proxy may join repeated headers ("50, 50"): the smallest value is the binding one.
        return min(int(part.strip()) for part in value.split(","))
    except ValueError:
        return None


def http_date(value: str | None) -> float | None:
    """An HTTP-date (RFC 9110 §5.6.7, all three formats) as epoch seconds, or None.

    HTTP-dates are always UTC; the obsolete asctime form carries no zone, and Python
    would otherwise read it as local time.
    """
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def server_time(headers: Mapping[str, str]) -> float | None:
    """The server's clock (RFC 9110 §6.6.1 ``Date``) as epoch seconds, or None."""
    return http_date(headers.get("date"))


def _retry_after(value: str | None, date: float | None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (RFC 9110 §10.2.3), an HTTP-date read against ``Date``."""
    if value is None:
        return None
    first = value.split(",")[0].strip()  # a proxy may join repeated delay-seconds ("20, 20")
    if first.isdigit():
        return float(first)
    when = http_date(value.strip())
    if when is None or date is None:
        return None  # no Date to measure against: the local clock may be off, use Okta's own headers
    return max(0.0, when - date)


@dataclass(frozen=True)
class RateLimit:
    """The rate-limit state one answer reported (None where a header was absent)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None  # UTC epoch seconds
    date: float | None = None  # the answer's Date header, epoch seconds
    retry_after: float | None = None  # seconds, from a Retry-After header

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimit:
        """The state an answer's headers report."""
        date = server_time(headers)
        return cls(
            _int(headers.get("x-rate-limit-limit")),
            _int(headers.get("x-rate-limit-remaining")),
            _int(headers.get("x-rate-limit-reset")),
            date,
            _retry_after(headers.get("retry-after"), date),
        )

    @property
    def concurrency(self) -> bool:
        """A concurrency 429: Limit and Remaining both 0 (Okta: "Concurrent rate limits")."""
        return self.limit == 0 and self.remaining == 0

    def seconds_to_reset(self, now: float) -> float | None:
        """Seconds until the window resets, measured against the server's clock when known."""
        if self.reset is None:
            return None
        reference = self.date if self.date is not None else now
        return max(0.0, self.reset - reference)


def retry_wait(rate: RateLimit, *, now: float, jitter: float, attempt: int) -> float:
    """Seconds to wait after a 429: Reset - Date + 1 s + jitter (or Retry-After if longer); backoff without either.

    Args:
        rate: the 429 answer's headers.
        now: local clock, used only when the answer has no Date header.
        jitter: a random number in [0, 1).
        attempt: 0 for the first retry.
    """
    to_reset = rate.seconds_to_reset(now)
    if to_reset is None and rate.retry_after is None:
        return backoff(attempt, jitter)
    wait = max(to_reset + RETRY_PAD if to_reset is not None else 0.0, rate.retry_after or 0.0)
    return min(MAX_WAIT, wait + jitter)


def backoff(attempt: int, jitter: float) -> float:
    """Exponential backoff with jitter for connection errors and 5xx: 0.5 s, 1 s, 2 s ... capped at 8 s."""
    return float(min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.5 + jitter))


# An Okta object id (20 letters and digits, e.g. 00u1abcdEFGH2345ijk6) or a login standing in for one.
_ID_SEGMENT = re.compile(r"(?=[^/]*\d)[0-9A-Za-z]{20}|[^/]*@[^/]*")

# The buckets of Okta's "Management rate limits" table (developer.okta.com/docs/reference/rl-global-mgmt/),
# as the sandbox org has them: "{id}" is any one path segment, a bucket also covers the paths below it
# (``/api/v1/groups/{id}/users`` counts against ``/api/v1/groups/{id}``), and the most specific bucket that
# matches wins. ``/api/v1`` is "Most other API actions"; ``/oauth2/v1`` the Org Authorization Server.
BUCKETS = (
    "/api/v1/users/{id}", "/api/v1/groups/{id}", "/api/v1/apps/{id}",
    "/api/v1/users", "/api/v1/groups", "/api/v1/apps", "/api/v1/logs", "/api/v1/events",
    "/api/v1/certificateAuthorities", "/api/v1/devices", "/oauth2/v1/clients",
    "/api/v1", "/oauth2/v1",
)
_BUCKET_PARTS = tuple((bucket, bucket.split("/")) for bucket in BUCKETS)  # most specific first

# What a fresh window of a bucket allows one token on any plan, before an answer has told its limit: the
# smallest per-minute limit of Okta's "Management rate limits" table for the bucket (the Integrator Free
# Plan column: 100 for users and groups, 20 for /api/v1/apps and /api/v1/logs, 300 for /oauth2/v1) at
# the share one API token or OAuth 2.0 app gets by default, 50 % (Okta: "Token and OAuth 2.0 app rate
# limits"). Answers recorded from an Integrator Free org report exactly these limits (50 for
# /api/v1/users, /api/v1/users/{id} and /api/v1/apps/{id}, 10 for /api/v1/apps, 150 for /oauth2/v1).
# "/api/v1" ("Most other API actions") is left out: some endpoints counted there allow 10 a minute or
# fewer (agentPools), so, like any bucket not named here, it sends one request first.
FIRST_BUDGETS = {
    "/api/v1/users": 50, "/api/v1/users/{id}": 50, "/api/v1/groups": 50, "/api/v1/groups/{id}": 50,
    "/api/v1/apps": 10, "/api/v1/apps/{id}": 50, "/api/v1/logs": 10, "/oauth2/v1": 150,
}


def first_budget(bucket: str) -> int:
    """Requests of ``bucket`` that may be in flight before its first answer tells the limit (1 if unknown)."""
    return FIRST_BUDGETS.get(bucket, 1)


def _covers(parts: list[str], path: list[str]) -> bool:
    """True when the bucket's segments are a prefix of the path's ("{id}" matching any one segment)."""
    return len(path) >= len(parts) and all(p == "{id}" or p == q for p, q in zip(parts, path, strict=False))


@functools.lru_cache(maxsize=4096)
def bucket_of(path: str) -> str:
    """The rate-limit bucket a path counts against: the most specific of Okta's buckets that covers it.

    ``/api/v1/users/00u1abcdEFGH2345ijk6``, ``/api/v1/users/ann@example.com`` and ``/api/v1/users/me/groups``
    share ``/api/v1/users/{id}``; ``/api/v1/authorizationServers`` is in ``/api/v1`` (Okta: "Management
    rate limits"). A path outside them all (``/oauth2/default/v1/token``) is its own bucket, ids as ``{id}``.
    """
    segments = path.rstrip("/").split("/") or [""]
    for bucket, parts in _BUCKET_PARTS:
        if _covers(parts, segments):
            return bucket
    return "/".join("{id}" if _ID_SEGMENT.fullmatch(part) else part for part in segments)
