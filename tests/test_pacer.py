"""The org's pacer: one concurrency cap and per-bucket budgets shared by every thread of a client.

Unit tests drive the bucket math with httpx.MockTransport and a fake clock; the sandbox tests send
from many threads through one client over real HTTP and read ``sb.stats()``: no 429 caused by the
client, never more in flight than its cap, and a bucket's budget used to at least 97 % over several
windows. Waits move the sandbox's clock (the client's clock is the sandbox's) instead of sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from typing import Any

import httpx
import pytest

from okta_magic.http.client import OktaClient
from okta_magic.http.pacer import RAISE_AFTER, Pacer
from okta_magic.http.ratelimit import RateLimit, bucket_of
from okta_magic.sandbox import Sandbox

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z
SCOPES = ["okta.users.read", "okta.groups.read"]


class FakeTime:
    """A clock that only a sleep moves, safe across threads: sleeping to a time already passed costs nothing."""

    def __init__(self, now: float = EPOCH) -> None:
        self.now = now
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)
            self.now += seconds


class SandboxTime:
    """Sleeps that move the sandbox's clock to the sleeper's wake-up time (never past it): threads that
    wait at once for the same moment move the clock once, as they would in real time."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.slept = 0.0
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        target = self.sandbox.clock() + seconds
        with self._lock:
            ahead = target - self.sandbox.clock()
            if ahead > 0:
                self.slept += ahead
                self.sandbox.advance_clock(ahead)


def rate_headers(limit: int, remaining: int, reset: int, date: float) -> dict[str, str]:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset), "Date": formatdate(date, usegmt=True)}


class Window:
    """A mock bucket: ``limit`` requests per 60-second window on the fake clock, then 429, as Okta counts."""

    def __init__(self, fake: FakeTime, limit: int) -> None:
        self.fake, self.limit = fake, limit
        self.start: float | None = None
        self.count = self.refused = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            now = self.fake.clock()
            if self.start is None or now >= self.start + 60:
                self.start, self.count = float(int(now)), 0
            reset = int(self.start) + 60
            if self.count >= self.limit:
                self.refused += 1
                return httpx.Response(429, json={"errorCode": "E0000047"},
                                      headers=rate_headers(self.limit, 0, reset, now))
            self.count += 1
            return httpx.Response(200, json={"id": "00u1"},
                                  headers=rate_headers(self.limit, self.limit - self.count, reset, now))


def mock_client(handler: Callable[[httpx.Request], httpx.Response], fake: FakeTime, **options: Any) -> OktaClient:
    return OktaClient("https://dev-1.okta.com", lambda: "Bearer t", transport=httpx.MockTransport(handler),
                      sleep=fake.sleep, clock=fake.clock, random=lambda: 0.5, progress=False,
                      say=lambda line: None, **options)


def run_all(work: Callable[[int], object], items: Iterable[int], threads: int) -> list[object]:
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(work, items))


# -- buckets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "bucket"), [
    ("/api/v1/users", "/api/v1/users"),
    ("/api/v1/users/", "/api/v1/users"),
    ("/api/v1/users/00u1abcdEFGH2345ijk6", "/api/v1/users/{id}"),
    ("/api/v1/users/ann@example.com/groups", "/api/v1/users/{id}"),
    ("/api/v1/users/me", "/api/v1/users/{id}"),
    ("/api/v1/groups/00g1abcdEFGH2345ijk6/users", "/api/v1/groups/{id}"),
    ("/api/v1/apps/0oa1abcdEFGH2345ijk6/users", "/api/v1/apps/{id}"),
    ("/api/v1/logs", "/api/v1/logs"),
    ("/api/v1/authorizationServers", "/api/v1"),
    ("/api/v1/iam/roles", "/api/v1"),
    ("/oauth2/v1/token", "/oauth2/v1"),
    ("/oauth2/default/v1/token", "/oauth2/default/v1/token"),
    ("/oauth2/aus1abcdEFGH2345ijk6/v1/token", "/oauth2/{id}/v1/token"),
])
def test_a_path_counts_against_the_most_specific_okta_bucket(path: str, bucket: str) -> None:
    assert bucket_of(path) == bucket


# -- the bucket math, on a fake clock ---------------------------------------------------------------


def test_requests_are_held_before_the_limit_and_go_on_after_the_reset() -> None:
    fake = FakeTime(EPOCH + 0.25)
    window = Window(fake, limit=20)
    client = mock_client(window, fake)
    for _ in range(65):
        client.request("GET", "/api/v1/users/00u1abcdEFGH2345ijk6")
    assert window.refused == 0
    figures = client.pacer.figures()
    assert figures.throttled == {"rate": 0, "concurrency": 0, "other": 0}
    assert figures.held >= 3 and figures.sent == 65
    # Three windows used whole: each lasts 60 s from its first request, and the next starts 1 s after its reset.
    assert fake.now - (EPOCH + 0.25) == pytest.approx(3 * 61, abs=1.5)


def test_many_threads_share_one_budget_and_one_cap() -> None:
    fake = FakeTime(EPOCH + 0.5)
    window = Window(fake, limit=30)
    in_flight = peak = 0
    lock = threading.Lock()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        try:
            threading.Event().wait(0.002)
            return window(request)
        finally:
            with lock:
                in_flight -= 1

    client = mock_client(handler, fake, concurrency=4)
    run_all(lambda i: client.request("GET", f"/api/v1/groups/00g{i:017d}/users"), range(100), threads=12)
    assert window.refused == 0
    assert peak <= 4 and client.pacer.figures().peak_in_flight <= 4


def test_an_answer_from_a_window_already_over_is_not_taken_for_the_new_one() -> None:
    now = [EPOCH + 0.2]
    pacer = Pacer(clock=lambda: now[0])

    def waits(seconds: float, why: str) -> None:
        raise AssertionError(f"should not wait {seconds} s: {why}")

    old = RateLimit(limit=10, remaining=0, reset=EPOCH + 60, date=EPOCH + 1)
    first = pacer.acquire("/api/v1/users", waits, lambda: None)
    pacer.answered(first, RateLimit(limit=10, remaining=9, reset=EPOCH + 60, date=EPOCH), 200)
    pacer.release(first)
    now[0] = EPOCH + 61.5
    second = pacer.acquire("/api/v1/users", waits, lambda: None)  # the window ended at EPOCH + 60: it goes
    pacer.answered(second, old, 200)  # a straggler of the old window: ignored
    pacer.release(second)
    assert pacer.limits()["/api/v1/users"] == (10, 10)


class Held(Exception):
    """The pacer held a request back (raised by ``check`` on the pacer's second look)."""


def sent_before_an_answer(pacer: Pacer, bucket: str) -> int:
    """How many requests of ``bucket`` the pacer lets go before any of them is answered."""
    def waits(seconds: float, why: str) -> None:
        raise AssertionError(f"should not wait {seconds} s: {why}")

    count = 0
    while True:
        looks: list[int] = []

        def check() -> None:
            looks.append(1)
            if len(looks) > 1:
                raise Held()

        try:
            pacer.acquire(bucket, waits, check)
        except Held:
            return count
        count += 1


def test_before_its_first_answer_a_bucket_sends_what_a_fresh_window_allows_any_token() -> None:
    # Half the Integrator Free Plan's limit (a token's default share); one first where Okta's table says nothing.
    pacer = Pacer(clock=lambda: EPOCH, concurrency=75)
    assert sent_before_an_answer(pacer, bucket_of("/api/v1/users/00u1abcdEFGH2345ijk6/groups")) == 50
    assert sent_before_an_answer(pacer, bucket_of("/api/v1/apps")) == 10
    assert sent_before_an_answer(pacer, bucket_of("/api/v1/iam/roles")) == 1
    assert sent_before_an_answer(pacer, bucket_of("/oauth2/default/v1/token")) == 1
    assert sent_before_an_answer(Pacer(clock=lambda: EPOCH, concurrency=16), "/api/v1/groups/{id}") == 16  # the cap
    # Once the first answer tells a larger limit, the cap is what holds the rest back.
    pacer = Pacer(clock=lambda: EPOCH, concurrency=75)
    tickets = [pacer.acquire("/api/v1/logs", lambda s, w: None, lambda: None) for _ in range(10)]
    pacer.answered(tickets[0], RateLimit(limit=1000, remaining=990, reset=EPOCH + 60, date=EPOCH), 200)
    pacer.release(tickets[0])
    assert sent_before_an_answer(pacer, "/api/v1/logs") == 75 - 9


def test_a_concurrency_429_halves_the_cap_once_and_successes_raise_it_back() -> None:
    fake = FakeTime()
    refuse = threading.Event()
    refuse.set()

    def handler(request: httpx.Request) -> httpx.Response:
        if refuse.is_set():
            refuse.clear()
            return httpx.Response(429, json={"errorCode": "E0000047"},
                                  headers=rate_headers(0, 0, EPOCH + 1, EPOCH))
        return httpx.Response(200, json={}, headers=rate_headers(1000, 900, EPOCH + 60, EPOCH))

    client = mock_client(handler, fake, concurrency=12)
    client.request("GET", "/api/v1/users")
    figures = client.pacer.figures()
    assert (figures.concurrency, figures.max_concurrency) == (6, 12)
    assert figures.throttled["concurrency"] == 1
    assert fake.waits == [pytest.approx(1 + 1 + 0.5)]  # a short wait: Reset is 1 s ahead, + 1 s + jitter
    for _ in range(RAISE_AFTER * 6):
        client.request("GET", "/api/v1/users")
    assert client.pacer.concurrency == 12  # back up, one step per run of successes, never above the cap


def test_the_cap_can_be_set_and_is_at_least_one() -> None:
    client = mock_client(lambda request: httpx.Response(200, json={}), FakeTime(), concurrency=3)
    assert client.pacer.concurrency == 3
    client.pacer.set_concurrency(7)
    assert (client.pacer.concurrency, client.pacer.max_concurrency) == (7, 7)
    with pytest.raises(ValueError):
        client.pacer.set_concurrency(0)


# -- over real HTTP, against the sandbox ---------------------------------------------------------


def sandbox_client(sb: Sandbox, time: SandboxTime, **options: Any) -> OktaClient:
    token = sb.issue_token(user="admin", app="native", scopes=SCOPES)
    return OktaClient(sb.url, lambda: f"Bearer {token}", held_scopes=lambda: SCOPES, sleep=time,
                      clock=sb.clock, progress=False, say=lambda line: None, **options)


def test_sixteen_threads_on_the_developer_tier_get_no_429_and_stay_under_the_cap(
        sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(users=300, rate_limits="developer", concurrency_limit=10, calm=True)
    sb.set_latency("/api/v1/users/{id}", 0.01)  # holds each request open, so that threads overlap
    time = SandboxTime(sb)
    ids = sb.user_ids()[:250]  # 250 requests of a 100-per-minute bucket: three windows
    with sandbox_client(sb, time, concurrency=8) as client:
        sb.reset_stats()
        got = run_all(lambda i: client.request("GET", f"/api/v1/users/{ids[i]}/groups").status_code,
                      range(len(ids)), threads=16)
        figures = client.pacer.figures()
    stats = sb.stats()
    assert got == [200] * len(ids)
    assert stats.throttled == {"rate": 0, "concurrency": 0, "knob": 0}
    assert stats.count(429) == 0 and stats.count(200, "/api/v1/users/{id}") == len(ids)
    assert stats.peak_in_flight <= 8 and figures.peak_in_flight <= 8
    assert figures.held >= 2 and time.slept >= 120  # two windows waited out, on the sandbox's clock


def test_a_concurrency_429_lowers_the_cap_and_the_work_still_completes(
        sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(users=200, concurrency_limit=3, calm=True)
    sb.set_latency("/api/v1/groups/{id}", 0.02)
    groups = [g["id"] for g in httpx.get(f"{sb.url}/api/v1/groups", headers={
        "Authorization": f"Bearer {sb.issue_token(user='admin', app='native', scopes=SCOPES)}"}).json()]
    time = SandboxTime(sb)
    with sandbox_client(sb, time, concurrency=12, max_retries=8) as client:
        sb.reset_stats()
        got = run_all(lambda i: client.request("GET", f"/api/v1/groups/{groups[i % len(groups)]}/users").status_code,
                      range(90), threads=12)
        figures = client.pacer.figures()
    stats = sb.stats()
    assert got == [200] * 90
    assert stats.throttled["concurrency"] > 0 and stats.throttled["rate"] == 0
    assert figures.throttled["concurrency"] == stats.throttled["concurrency"]
    assert figures.concurrency < 12  # lowered (and, with few requests left, not all the way back up)
    # The first burst (12 at once against a limit of 3) trips it up to 9 times and the cap of 6 a few more;
    # after that only a probe upward now and then (one step per run of successes) may meet the limit.
    assert stats.throttled["concurrency"] <= 20


def test_a_bucket_is_used_to_97_percent_over_three_windows_with_no_429(
        sandbox_factory: Callable[..., Sandbox]) -> None:
    limit, windows = 60, 3
    sb = sandbox_factory(users=300, concurrency_limit=20, calm=True)
    sb.set_rate_limit("/api/v1/users/{id}", limit)
    time = SandboxTime(sb)
    ids = sb.user_ids()
    answered: list[float] = []
    lock = threading.Lock()
    target = windows * limit + 1  # the first request of the window after the last one measured

    def work(i: int) -> None:
        while True:
            with lock:
                if len(answered) >= target:
                    return
            client.request("GET", f"/api/v1/users/{ids[i % len(ids)]}")
            with lock:
                answered.append(sb.clock())
            i += 16

    with sandbox_client(sb, time, concurrency=16) as client:
        sb.reset_stats()
        run_all(work, range(16), threads=16)
    stats = sb.stats()
    answered.sort()
    elapsed = answered[target - 1] - answered[0]  # from the first window's start to the fourth's
    share = windows * limit / (limit * elapsed / 60)
    assert stats.throttled == {"rate": 0, "concurrency": 0, "knob": 0}
    assert share >= 0.97, f"{share:.1%} of the limit over {windows} windows ({elapsed:.1f} s)"
    assert share <= 1.0
