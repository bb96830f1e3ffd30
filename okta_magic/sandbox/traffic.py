"""Requests in flight and what the sandbox answered: Okta's concurrency limit and ``Sandbox.stats()``.

Okta limits the requests an org has in flight at once: 75 for Workforce and Customer
Identity orgs, 35 for Integrator Free Plan orgs ("Concurrent rate limits",
developer.okta.com/docs/reference/rl-additional-limits/). The first request over the
limit is answered at once with 429 E0000047, ``X-Rate-Limit-Limit: 0`` and
``X-Rate-Limit-Remaining: 0``, and its ``X-Rate-Limit-Reset`` is only an estimate
("Monitor rate limits", rl2-monitor). ``Traffic`` counts a request from its arrival to
the last byte of its answer, and tallies every answer by status and rate-limit bucket,
with the 429s split by cause, so a test can check a client's pacing from the server's side.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from starlette.responses import Response

from okta_magic.sandbox.policy import RateDecision
from okta_magic.sandbox.responses import RATE_LIMITED, okta_error

TALLY = "okta_sandbox.tally"  # the ASGI scope key of a request's Tally
RATE = "rate"  # a per-minute bucket was used up
CONCURRENCY = "concurrency"  # more requests in flight than the org allows
KNOB = "knob"  # the rate_429 knob answered 429 on purpose
CAUSES = (RATE, CONCURRENCY, KNOB)
_ANY = "*"


@dataclass
class Tally:
    """What the gates learnt about one request: its bucket, why it was refused, its rate headers."""

    bucket: str | None = None
    cause: str | None = None
    decision: RateDecision | None = None
    left: bool = False


@dataclass(frozen=True)
class SandboxStats:
    """What the sandbox answered since it started or since ``reset_stats()``.

    ``responses`` counts answers by ``(status, bucket)``; the bucket is the rate-limit
    bucket the request counted against (``"/api/v1/users"``, ``"/oauth2/v1"``), None for
    endpoints Okta does not rate-limit. ``throttled`` counts 429s by cause: ``"rate"``
    (a bucket's per-minute limit), ``"concurrency"`` (too many in flight), ``"knob"``
    (``rate_429``). ``peak_in_flight`` counts every request received and not yet
    answered, the refused ones included, so ``peak_in_flight <= N`` means a client
    never had more than N requests at the org at once.
    """

    total: int
    responses: dict[tuple[int, str | None], int]
    throttled: dict[str, int]
    dropped: int
    in_flight: int
    peak_in_flight: int
    concurrency_limit: int

    def count(self, status: int | None = None, bucket: str | None = _ANY) -> int:
        """Answers with that status (any if None) in that bucket (any if left out)."""
        return sum(
            n
            for (s, b), n in self.responses.items()
            if (status is None or s == status) and (bucket == _ANY or b == bucket)
        )

    def by_status(self) -> dict[int, int]:
        """Answers by status, all buckets together."""
        out: Counter[int] = Counter()
        for (status, _), n in self.responses.items():
            out[status] += n
        return dict(sorted(out.items()))

    def by_bucket(self) -> dict[str | None, int]:
        """Answers by bucket, all statuses together."""
        out: Counter[str | None] = Counter()
        for (_, bucket), n in self.responses.items():
            out[bucket] += n
        return dict(out)


@dataclass
class Traffic:
    """The org's requests in flight, its concurrency limit, and the tally of its answers."""

    concurrency_limit: int = 75
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _in_flight: int = 0
    _peak: int = 0
    _total: int = 0
    _dropped: int = 0
    _responses: Counter[tuple[int, str | None]] = field(default_factory=Counter, repr=False)
    _throttled: Counter[str] = field(default_factory=Counter, repr=False)

    def set_concurrency_limit(self, limit: int) -> None:
        """Change the number of requests the org lets be in flight at once."""
        if int(limit) < 1:
            raise ValueError("concurrency_limit must be at least 1")
        with self._lock:
            self.concurrency_limit = int(limit)

    def arrive(self) -> bool:
        """Count a request in; False when it is one more than the concurrency limit allows."""
        with self._lock:
            self._total += 1
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return self._in_flight <= self.concurrency_limit

    def answered(self, tally: Tally, status: int) -> None:
        """Tally an answer as its status line goes out."""
        with self._lock:
            self._responses[(status, tally.bucket)] += 1
            if status == 429 and tally.cause in CAUSES:
                self._throttled[tally.cause] += 1

    def dropped(self) -> None:
        """Tally a connection closed without an answer (the ``drop_rate`` knob)."""
        with self._lock:
            self._dropped += 1

    def leave(self, tally: Tally) -> None:
        """Count a request out, once, when the last byte of its answer is handed over (or it ended)."""
        if tally.left:
            return
        tally.left = True
        with self._lock:
            self._in_flight -= 1

    def stats(self) -> SandboxStats:
        """A snapshot of the tally."""
        with self._lock:
            return SandboxStats(
                total=self._total,
                responses=dict(self._responses),
                throttled={cause: self._throttled[cause] for cause in CAUSES},
                dropped=self._dropped,
                in_flight=self._in_flight,
                peak_in_flight=self._peak,
                concurrency_limit=self.concurrency_limit,
            )

    def reset(self) -> None:
        """Start a new tally; requests still in flight stay counted (and set the new peak)."""
        with self._lock:
            self._total = self._dropped = 0
            self._responses.clear()
            self._throttled.clear()
            self._peak = self._in_flight


def concurrency_refusal(now: float) -> Response:
    """Okta's concurrency 429: E0000047 with Limit and Remaining 0 and an estimated Reset."""
    headers = {"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(now) + 1)}
    return okta_error(429, "E0000047", RATE_LIMITED, headers=headers)


def rate_headers(decision: RateDecision) -> list[tuple[bytes, bytes]]:
    """Okta's three rate-limit headers as raw ASGI header pairs."""
    return [
        (b"x-rate-limit-limit", str(decision.limit).encode("ascii")),
        (b"x-rate-limit-remaining", str(decision.remaining).encode("ascii")),
        (b"x-rate-limit-reset", str(decision.reset).encode("ascii")),
    ]
