"""Okta's rate-limit headers and Retry-After read as the server meant them (its clock, its units)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from okta_magic.http.ratelimit import RateLimit, retry_wait

EPOCH = 1_767_225_600  # 2026-01-01T00:00:00Z


@pytest.fixture
def far_from_utc() -> Iterator[None]:
    """Run with a local time zone far from UTC, as a user in Tokyo would."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Tokyo"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.parametrize("date", ["Thu, 01 Jan 2026 00:00:00 GMT",  # IMF-fixdate
                                  "Thursday, 01-Jan-26 00:00:00 GMT",  # obsolete RFC 850 form
                                  "Thu Jan  1 00:00:00 2026"],  # obsolete asctime form: no zone, still UTC
                         ids=["imf", "rfc850", "asctime"])
def test_every_http_date_form_is_utc(date: str, far_from_utc: None) -> None:
    rate = RateLimit.from_headers(httpx.Headers({"Date": date, "X-Rate-Limit-Reset": str(EPOCH + 40)}))
    assert rate.date == EPOCH
    assert retry_wait(rate, now=0, jitter=0.0, attempt=0) == 41


def test_several_reset_values_count_by_the_smallest() -> None:
    headers = httpx.Headers([("X-Rate-Limit-Reset", str(EPOCH + 50)), ("X-Rate-Limit-Reset", str(EPOCH + 20)),
                             ("X-Rate-Limit-Remaining", "0, 3"), ("Date", "Thu, 01 Jan 2026 00:00:00 GMT")])
    rate = RateLimit.from_headers(headers)
    assert (rate.reset, rate.remaining) == (EPOCH + 20, 0)
    assert retry_wait(rate, now=0, jitter=0.25, attempt=0) == 21.25


def test_without_a_date_header_the_local_clock_is_used() -> None:
    rate = RateLimit.from_headers(httpx.Headers({"X-Rate-Limit-Reset": str(EPOCH + 30)}))
    assert rate.date is None
    assert retry_wait(rate, now=EPOCH + 10, jitter=0.0, attempt=0) == 21


@pytest.mark.parametrize(("value", "seconds"), [
    ("17", 17.0),
    ("17, 17", 17.0),
    ("Thu, 01 Jan 2026 00:00:45 GMT", 45.0),  # an HTTP-date, measured against Date
    ("Wed, 31 Dec 2025 23:59:00 GMT", 0.0),  # already past
    ("soon", None),
], ids=["seconds", "joined", "http-date", "past", "garbage"])
def test_retry_after_is_read_as_seconds_or_an_http_date(value: str, seconds: float | None) -> None:
    rate = RateLimit.from_headers(httpx.Headers({"Retry-After": value, "Date": "Thu, 01 Jan 2026 00:00:00 GMT"}))
    assert rate.retry_after == seconds


def test_the_longer_of_retry_after_and_the_reset_is_waited() -> None:
    date = "Thu, 01 Jan 2026 00:00:00 GMT"
    short = RateLimit.from_headers(httpx.Headers({"Retry-After": "5", "X-Rate-Limit-Reset": str(EPOCH + 30),
                                                  "Date": date}))
    long = RateLimit.from_headers(httpx.Headers({"Retry-After": "50", "X-Rate-Limit-Reset": str(EPOCH + 30),
                                                 "Date": date}))
    only = RateLimit.from_headers(httpx.Headers({"Retry-After": "9"}))
    assert retry_wait(short, now=0, jitter=0.5, attempt=0) == 31.5
    assert retry_wait(long, now=0, jitter=0.5, attempt=0) == 50.5
    assert retry_wait(only, now=0, jitter=0.5, attempt=3) == 9.5


def test_a_concurrency_429_is_recognised() -> None:
    headers = {"X-Rate-Limit-Limit": "0", "X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(EPOCH + 2)}
    assert RateLimit.from_headers(httpx.Headers(headers)).concurrency
    assert not RateLimit.from_headers(httpx.Headers({**headers, "X-Rate-Limit-Limit": "600"})).concurrency
    assert not RateLimit.from_headers(httpx.Headers({})).concurrency


def test_requests_for_different_objects_of_one_endpoint_share_the_pacing() -> None:
    from okta_magic.http.client import OktaClient

    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"id": request.url.path.rsplit("/", 1)[-1]}, headers={
            "X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "4", "X-Rate-Limit-Reset": str(EPOCH + 50),
            "Date": "Thu, 01 Jan 2026 00:00:00 GMT"})

    client = OktaClient("https://dev-1.okta.com", lambda: "Bearer t", transport=httpx.MockTransport(handler),
                        sleep=waits.append, clock=lambda: EPOCH, progress=False)
    client.request("GET", "/api/v1/users/00u1abcdEFGH2345ijk6")
    client.request("GET", "/api/v1/users/00u2abcdEFGH2345ijk7")  # same endpoint, another user: 4 left
    client.request("GET", "/api/v1/users/ann@example.com")
    assert waits == [pytest.approx(10), pytest.approx(10)]  # 50 s left over 4 remaining (+1)
    client.request("GET", "/api/v1/authorizationServers")  # another endpoint is not slowed
    assert len(waits) == 2
