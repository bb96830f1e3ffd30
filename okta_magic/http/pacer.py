"""One org's pacer: how many requests may be in flight, and when the next request of a rate-limit bucket may go.

Every request an :class:`~okta_magic.http.client.OktaClient` sends, from any thread, passes through its
one :class:`Pacer` (:meth:`Pacer.acquire` before sending, :meth:`Pacer.answered` when the headers
arrive, :meth:`Pacer.release` when the body has been read). It does four things:

* **Concurrency.** At most ``concurrency`` requests are in flight at once. Okta limits the requests
  an org has in flight to 75 (35 for Integrator Free Plan orgs), counted for the whole org, every
  integration together, and by default gives each API token or OAuth app 50 % of that share
  (Okta: "Concurrent rate limits", "API rate limits by API token or OAuth 2.0 app"). The default
  here, :data:`DEFAULT_CONCURRENCY` = 16, stays under half of the smallest org limit (35), so it fits
  within a token's default share on every plan and leaves the rest to the org's other integrations;
  16 requests at once already hide 200-300 ms of latency behind each other.
* **Per-bucket budget.** Okta counts requests per endpoint bucket (the most specific bucket wins;
  :func:`~okta_magic.http.ratelimit.bucket_of`) over windows that start with a bucket's first request.
  Each answer's ``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` (UTC epoch seconds) are read
  (Okta: "Monitor rate limits"); a request is held back when the bucket's remaining count, less its
  requests already in flight, is used up, until the window's reset plus :data:`RESET_PAD` (one second,
  as Okta's own SDK pads). ``Reset`` is turned into local time by the server's ``Date`` header: the
  smallest ``local arrival - Date`` seen is an upper bound of the clock offset (``Date`` is stamped
  before the answer arrives and truncated to the second), so the local reset is never early. Until
  the first answer of a bucket has told its limit, as many of its requests go at once as a fresh window
  allows one token on any plan (:func:`~okta_magic.http.ratelimit.first_budget`: half of the smallest limit
  Okta documents for the bucket, 50 for users and groups, 10 for ``/api/v1/apps`` and ``/api/v1/logs``);
  a bucket without such a figure (``/api/v1``, whose endpoints go as low as 10 a minute, or one not
  in Okta's table) sends one request first and the rest once its answer is back.
* **Spreading the last of a window.** When 10 % or less of a bucket's window is left, the rest are
  spread evenly over the time to the reset instead of being spent at once, so the bucket's last
  requests do not all hit the org together (Okta: "Rate limit best practices"). Above that, requests
  go as fast as concurrency allows: a fan-out of a few hundred requests should not be slowed to
  the per-minute average while the budget lasts.
* **Concurrency 429s.** A 429 with ``X-Rate-Limit-Limit: 0`` means the org had too many requests in
  flight (Okta: "Concurrent rate limits"): the cap is halved (at least 1; once per cap, however many
  answers say it together), and raised by one again after :data:`RAISE_AFTER` answers in a row without
  one, never above the configured cap. The client retries such a request after a short wait.

Nothing here sleeps on its own: time waits go through the ``wait`` the client passes (its injected
sleep, so tests move a clock instead of waiting); only the hand-over between threads (a slot freed,
an answer arrived) is waited for on a condition variable, in real time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from okta_magic.http.ratelimit import MAX_WAIT, RETRY_PAD, RateLimit, first_budget

__all__ = ["Pacer", "PacerFigures", "Ticket", "DEFAULT_CONCURRENCY", "RESET_PAD", "RAISE_AFTER"]

DEFAULT_CONCURRENCY = 16  # under half of Okta's smallest per-org limit (35); see the module docstring
RESET_PAD = RETRY_PAD  # seconds after a window's reset before its bucket is used again (Okta's SDK adds 1 s)
TAIL_FRACTION = 0.10  # the last 10 % of a window is spread over the time left
RAISE_AFTER = 32  # answers in a row without a concurrency 429 before the cap goes up by one
POLL = 0.05  # real seconds between looks while another thread's answer or wait is awaited
CAUSES = ("rate", "concurrency", "other")


@dataclass(frozen=True)
class PacerFigures:
    """What the pacer did so far, for a progress bar: cap, requests, holds, 429s by cause."""

    concurrency: int  # the cap now (lowered after a concurrency 429)
    max_concurrency: int  # the cap asked for
    in_flight: int
    peak_in_flight: int
    sent: int
    held: int  # requests held back for a bucket's budget (until a reset, or spread over a window's end)
    held_seconds: float
    throttled: dict[str, int]  # 429s received: "rate" (a bucket), "concurrency", "other" (no rate headers)


@dataclass
class _Bucket:
    """What one bucket's answers said, and this client's requests of it not yet answered."""

    limit: int | None = None
    remaining: int | None = None  # the smallest Remaining reported in the current window
    reset: int | None = None  # server epoch seconds: the current (or last) window's end
    ends: float | None = None  # local clock time that window ends; None once passed or unknown
    seen: bool = False  # an answer of this bucket came back
    in_flight: int = 0  # sent or due to go, not answered yet
    reserved: int = 0  # ... of which waiting for their slot at a window's end
    last: float = 0.0  # local time the latest request left (or is due to)
    sleeper: bool = False  # a thread waits for this bucket's reset; the others wait for it
    first: int = 1  # requests that may be in flight before the first answer (ratelimit.first_budget)


@dataclass(eq=False)
class Ticket:
    """One request's place in the pacer, from acquire to release."""

    bucket: str
    epoch: int  # the cap's generation when sent: one concurrency 429 episode lowers it once
    answered: bool = False
    released: bool = False


class Pacer:
    """The org's pacer: a concurrency cap and per-bucket budgets shared by every thread of one client."""

    def __init__(self, clock: Callable[[], float], concurrency: int = DEFAULT_CONCURRENCY) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._max = self._cap = _positive(concurrency)
        self._epoch = 0
        self._streak = 0
        self._in_flight = self._peak = self._sent = self._held = 0
        self._held_seconds = 0.0
        self._throttled = dict.fromkeys(CAUSES, 0)
        self._skew: float | None = None  # an upper bound of (local clock - server clock), from Date headers
        self._buckets: dict[str, _Bucket] = {}

    def __repr__(self) -> str:
        return f"Pacer(concurrency={self._cap}/{self._max}, in_flight={self._in_flight})"

    @property
    def concurrency(self) -> int:
        """The cap on requests in flight now."""
        return self._cap

    @property
    def max_concurrency(self) -> int:
        """The configured cap: the most this pacer lets in flight, whatever happens."""
        return self._max

    def set_concurrency(self, n: int) -> None:
        """Configure the cap on requests in flight (the current cap starts there again)."""
        with self._cond:
            self._max = self._cap = _positive(n)
            self._epoch += 1
            self._cond.notify_all()

    def figures(self) -> PacerFigures:
        """A snapshot of the cap, the requests, the holds and the 429s by cause."""
        with self._cond:
            return PacerFigures(self._cap, self._max, self._in_flight, self._peak, self._sent, self._held,
                                self._held_seconds, dict(self._throttled))

    def limits(self) -> dict[str, tuple[int | None, int | None]]:
        """Each bucket's last known (limit, remaining)."""
        with self._cond:
            return {name: (b.limit, b.remaining) for name, b in self._buckets.items()}

    # -- before sending ------------------------------------------------------------------

    def acquire(self, bucket: str, wait: Callable[[float, str], None], check: Callable[[], None]) -> Ticket:
        """Wait for a slot and for the bucket's budget; the returned ticket goes back through :meth:`release`.

        ``wait(seconds, why)`` sleeps (the client's injected sleep); ``check()`` raises when the caller gave up.
        """
        with self._cond:
            while True:
                check()
                now = self._clock()
                state = self._bucket(bucket)
                self._roll(state, now)
                if self._in_flight >= self._cap:
                    self._cond.wait(POLL)
                    continue
                hold = self._hold(state, now)
                if hold is None or (hold > 0 and state.sleeper):
                    self._cond.wait(POLL)  # answers in flight will tell, or another thread waits for the reset
                    continue
                if hold > 0:
                    self._wait_reset(state, hold, wait)
                    continue
                return self._take(bucket, state, now, wait)

    def _bucket(self, bucket: str) -> _Bucket:
        state = self._buckets.get(bucket)
        if state is None:
            state = self._buckets[bucket] = _Bucket(first=first_budget(bucket))
        return state

    def _hold(self, state: _Bucket, now: float) -> float | None:
        """Seconds to hold for the bucket's reset, 0 to go, None to wait for an answer already in flight."""
        if not state.seen:  # no answer yet: what a fresh window allows on any plan, then its answers tell
            return None if state.in_flight >= state.first else 0.0
        if state.remaining is None or state.limit is None:
            return 0.0  # a bucket without rate headers: only concurrency applies
        if state.remaining - state.in_flight > 0:
            return 0.0
        if state.in_flight:
            return None
        if state.ends is None:
            return 0.0  # no reset to wait for: the server will say (a 429 is handled as usual)
        return max(0.0, min(MAX_WAIT, state.ends + RESET_PAD - now))

    def _wait_reset(self, state: _Bucket, seconds: float, wait: Callable[[float, str], None]) -> None:
        """Sleep (lock released) until the bucket's window is over; the other threads wait for this one."""
        state.sleeper = True
        why = f"pacing: the {state.limit} requests of this rate-limit window are used up"
        self._cond.release()
        try:
            wait(seconds, why)
        finally:
            self._cond.acquire()
            state.sleeper = False
            self._cond.notify_all()
        self._held += 1
        self._held_seconds += seconds
        self._pass(state)  # the wait covered the window, whatever the local clock says

    def _take(self, bucket: str, state: _Bucket, now: float, wait: Callable[[float, str], None]) -> Ticket:
        """Count the request in flight; at a window's end, wait (lock released) for its evenly spread slot."""
        ticket = Ticket(bucket, self._epoch)
        state.in_flight += 1
        self._in_flight += 1
        self._peak = max(self._peak, self._in_flight)
        self._sent += 1
        due = self._slot(state, now)
        if due <= now:
            state.last = now
            return ticket
        state.reserved += 1
        self._held += 1
        self._held_seconds += due - now
        self._cond.release()
        try:
            wait(min(MAX_WAIT, due - now), f"pacing: {state.remaining} requests left in this rate-limit window")
        except BaseException:
            self._cond.acquire()
            state.reserved -= 1
            self._free(ticket)
            self._cond.notify_all()
            raise
        self._cond.acquire()
        state.reserved -= 1
        if state.last == due:
            state.last = self._clock()  # the next slot counts from when this one really left
        return ticket

    def _slot(self, state: _Bucket, now: float) -> float:
        """When the request may leave: now, or its share of the time left when the window is nearly used."""
        if state.ends is None or state.limit is None or state.remaining is None:
            return now
        free = state.remaining - (state.in_flight - 1 - state.reserved)  # not counting this one nor the waiting
        if free > max(1, int(state.limit * TAIL_FRACTION)):
            return now
        left = state.ends - now
        if left <= 0:
            return now
        due = max(now, state.last + left / (free + 1))
        state.last = due
        return due

    # -- after sending -------------------------------------------------------------------

    def answered(self, ticket: Ticket, rate: RateLimit, status: int) -> None:
        """The answer's headers arrived: learn the bucket's budget, count a 429, adjust the cap."""
        with self._cond:
            if ticket.answered or ticket.released:
                return
            ticket.answered = True
            state = self._bucket(ticket.bucket)
            state.in_flight -= 1
            state.seen = True
            if status == 429:
                self._throttled["concurrency" if rate.concurrency else "rate" if rate.limit else "other"] += 1
            if rate.concurrency:
                self._lower(ticket)
            else:
                self._learn(state, rate)
                self._streak += status != 429
                if self._streak >= RAISE_AFTER and self._cap < self._max:
                    self._cap += 1
                    self._epoch += 1
                    self._streak = 0
            self._cond.notify_all()

    def release(self, ticket: Ticket) -> None:
        """The request has left the org (its body is read, or it failed): free its slot. Idempotent."""
        with self._cond:
            self._free(ticket)
            self._cond.notify_all()

    def window_passed(self, bucket: str, reset: int | None) -> None:
        """The caller waited out the window that ended at ``reset`` (after a 429): the bucket is fresh again."""
        with self._cond:
            state = self._buckets.get(bucket)
            if state is not None and reset is not None and state.reset == reset and state.ends is not None:
                self._pass(state)
                self._cond.notify_all()

    def _free(self, ticket: Ticket) -> None:
        if ticket.released:
            return
        ticket.released = True
        self._in_flight -= 1
        if not ticket.answered:  # no answer (connection failed): the bucket's count gives it back
            ticket.answered = True
            self._buckets[ticket.bucket].in_flight -= 1

    def _lower(self, ticket: Ticket) -> None:
        """Halve the cap after a concurrency 429, once per cap (answers sent under an older cap don't count)."""
        self._streak = 0
        if ticket.epoch == self._epoch and self._cap > 1:
            self._cap = max(1, self._cap // 2)
            self._epoch += 1

    def _learn(self, state: _Bucket, rate: RateLimit) -> None:
        """Take in what an answer said about its bucket's window (a stale answer of a passed window is ignored)."""
        if rate.date is not None:
            offset = self._clock() - rate.date
            self._skew = offset if self._skew is None else min(self._skew, offset)
        if rate.limit is None or rate.remaining is None or rate.reset is None:
            return
        ends = rate.reset + (self._skew if rate.date is not None and self._skew is not None else 0.0)
        if state.reset is None or rate.reset > state.reset:
            state.limit, state.remaining, state.reset, state.ends = rate.limit, rate.remaining, rate.reset, ends
        elif rate.reset == state.reset and state.ends is not None:
            state.limit = rate.limit
            state.remaining = min(rate.remaining, state.remaining if state.remaining is not None else rate.remaining)
            state.ends = min(state.ends, ends)

    def _roll(self, state: _Bucket, now: float) -> None:
        if state.ends is not None and now >= state.ends + RESET_PAD:
            self._pass(state)

    @staticmethod
    def _pass(state: _Bucket) -> None:
        """The window is over: a new one starts with the next request, with the whole limit (as far as we know)."""
        state.ends = None
        state.remaining = state.limit
        state.last = 0.0


def _positive(n: int) -> int:
    if int(n) < 1:
        raise ValueError(f"concurrency must be at least 1, not {n!r}")
    return int(n)


class Pacers:
    """One pacer per org (origin) for every session that shares this registry: the kernel's profiles share one.

    Okta counts rate limits and concurrency per org, not per client: two profiles on one org that each paced
    alone would together spend the limit twice over. A pacer keeps the clock it was made with, so sessions
    with another clock (a test's, a sandbox lesson's) get their own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pacers: dict[tuple[str, int], Pacer] = {}

    def for_org(self, origin: str, clock: Callable[[], float], concurrency: int = DEFAULT_CONCURRENCY) -> Pacer:
        """The org's pacer, made with ``concurrency`` on first use (later callers share its cap)."""
        with self._lock:
            key = (origin, id(clock))
            pacer = self._pacers.get(key)
            if pacer is None or pacer._clock is not clock:  # (an id reused after a clock was freed)
                pacer = self._pacers[key] = Pacer(clock, concurrency)
            return pacer

    def __repr__(self) -> str:
        return f"Pacers({len(self._pacers)} orgs)"

