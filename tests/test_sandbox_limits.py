"""The sandbox's rate and concurrency limits over real HTTP, and ``Sandbox.stats()``.

Okta's per-minute buckets (the most specific wins; ``X-Rate-Limit-*`` on every answer;
429 E0000047 at the limit; a new window after 60 s of the sandbox clock), the org's
concurrency limit (a request beyond N in flight answered 429 with ``X-Rate-Limit-Limit: 0``),
latency per path pattern, and the server-side tally tests use to check a client's pacing.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from okta_magic.errors import ConfigError
from okta_magic.sandbox import Sandbox, SandboxStats

HOLD = 1.0  # seconds the held requests stay in flight


def _client(sb: Sandbox, **kwargs: object) -> httpx.Client:
    token = sb.issue_token(user="admin", app="native")
    return httpx.Client(
        base_url=sb.url,
        headers={"Authorization": f"Bearer {token}"},
        limits=httpx.Limits(max_connections=50, max_keepalive_connections=50),
        timeout=30,
        **kwargs,  # type: ignore[arg-type]
    )


def _wait_in_flight(sb: Sandbox, n: int) -> None:
    deadline = time.monotonic() + 10
    while sb.stats().in_flight < n:
        assert time.monotonic() < deadline, f"never {n} in flight: {sb.stats()}"
        time.sleep(0.005)


def _date(response: httpx.Response) -> float:
    return email.utils.parsedate_to_datetime(response.headers["date"]).timestamp()


@pytest.fixture()
def small() -> Iterator[Sandbox]:
    with Sandbox(port=0, users=20, seed=3, concurrency_limit=4) as sb:
        yield sb


# ---- concurrency ---------------------------------------------------------------------------


def test_a_request_beyond_the_concurrency_limit_is_refused_at_once(small: Sandbox) -> None:
    small.set_latency("/api/v1/users", HOLD)
    with _client(small) as client, ThreadPoolExecutor(4) as pool:
        held = [pool.submit(client.get, "/api/v1/users", params={"limit": 5}) for _ in range(4)]
        _wait_in_flight(small, 4)
        started = time.monotonic()
        refused = [client.get("/api/v1/groups"), httpx.get(f"{small.url}/.well-known/openid-configuration")]
        assert time.monotonic() - started < HOLD  # answered at once, not queued behind the held ones
        assert all(f.result().status_code == 200 for f in held)
    for response in refused:
        assert response.status_code == 429
        body = response.json()
        assert body["errorCode"] == "E0000047" and body["errorLink"] == "E0000047"
        assert body["errorSummary"] == "API call exceeded rate limit due to too many requests."
        assert body["errorId"].startswith("oae") and body["errorCauses"] == []
        assert response.headers["x-rate-limit-limit"] == "0"
        assert response.headers["x-rate-limit-remaining"] == "0"
        assert 0 < int(response.headers["x-rate-limit-reset"]) - _date(response) <= 2
        assert "x-okta-request-id" in response.headers
    stats = small.stats()
    assert stats.throttled == {"rate": 0, "concurrency": 2, "knob": 0}
    assert stats.count(200, "/api/v1/users") == 4
    assert stats.count(429, "/api/v1/groups") == 1 and stats.count(429, None) == 1
    assert stats.peak_in_flight == 5 and stats.in_flight == 0 and stats.concurrency_limit == 4
    # Once the held requests are answered the org takes requests again.
    assert httpx.get(f"{small.url}/.well-known/openid-configuration").status_code == 200


def test_exactly_the_limit_in_flight_is_allowed(small: Sandbox) -> None:
    small.set_latency("/api/v1/groups", 0.3)
    with _client(small) as client, ThreadPoolExecutor(4) as pool:
        barrier = threading.Barrier(4)

        def one() -> int:
            barrier.wait()
            return client.get("/api/v1/groups").status_code

        assert [f.result() for f in [pool.submit(one) for _ in range(4)]] == [200] * 4
    stats = small.stats()
    assert stats.peak_in_flight == 4 and stats.throttled["concurrency"] == 0


def test_a_client_capped_below_the_limit_never_sees_a_concurrency_429() -> None:
    with Sandbox(port=0, users=60, seed=3, concurrency_limit=6) as sb, _client(sb) as client:
        sb.set_latency("/api/v1/users/{id}", 0.02)
        ids = sb.user_ids()[:48]
        with ThreadPoolExecutor(6) as pool:
            statuses = list(pool.map(lambda uid: client.get(f"/api/v1/users/{uid}").status_code, ids))
        stats = sb.stats()
    assert statuses == [200] * 48
    assert stats.total == 48 and stats.count(200, "/api/v1/users/{id}") == 48
    assert 2 <= stats.peak_in_flight <= 6 and sum(stats.throttled.values()) == 0


def test_the_concurrency_limit_is_a_knob_and_follows_the_tier() -> None:
    with Sandbox(port=0, users=10, seed=1) as sb:
        assert sb.stats().concurrency_limit == 75  # Workforce Identity
        sb.set_knobs(concurrency_limit=1)
        sb.set_latency("/api/v1/users", HOLD)
        with _client(sb) as client, ThreadPoolExecutor(1) as pool:
            held = pool.submit(client.get, "/api/v1/users")
            _wait_in_flight(sb, 1)
            assert client.get("/api/v1/apps").status_code == 429
            assert held.result().status_code == 200
        with pytest.raises(ValueError):
            sb.set_knobs(concurrency_limit=0)
    assert Sandbox(port=0, users=10, seed=1, rate_limits="developer").stats().concurrency_limit == 35


# ---- per-bucket limits -----------------------------------------------------------------------


def test_every_bucket_reports_its_own_limit_workforce_by_default() -> None:
    with Sandbox(port=0, users=20, seed=3) as sb, _client(sb) as client:
        uid, gid = sb.user_ids()[0], client.get("/api/v1/groups?limit=1").json()[0]["id"]
        app_id = sb.apps["native"].client_id
        expected = [  # path, bucket, limit
            ("/api/v1/users", "/api/v1/users", 600),
            (f"/api/v1/users/{uid}", "/api/v1/users/{id}", 2000),
            (f"/api/v1/users/{uid}/roles", "/api/v1/users/{id}", 2000),
            ("/api/v1/groups", "/api/v1/groups", 500),
            (f"/api/v1/groups/{gid}", "/api/v1/groups/{id}", 1000),
            ("/api/v1/apps", "/api/v1/apps", 100),
            (f"/api/v1/apps/{app_id}", "/api/v1/apps/{id}", 500),
            ("/api/v1/logs", "/api/v1/logs", 120),
            ("/api/v1/no-such-thing", "/api/v1", 1200),  # the default bucket
        ]
        for path, bucket, limit in expected:
            response = client.get(path)
            used = sb.stats().by_bucket()[bucket]  # this request included
            assert response.headers["x-rate-limit-limit"] == str(limit), path
            assert int(response.headers["x-rate-limit-remaining"]) == limit - used, path
            assert 0 < int(response.headers["x-rate-limit-reset"]) - _date(response) <= 60, path
        token = httpx.post(f"{sb.url}/oauth2/v1/token", data={"grant_type": "client_credentials"})
        assert token.headers["x-rate-limit-limit"] == "2000"
        assert "x-rate-limit-limit" not in httpx.get(f"{sb.url}/oauth2/v1/keys").headers
        assert sb.rate_limits()["/oauth2/v1"] == 2000
        buckets = sb.stats().by_bucket()
    assert buckets["/api/v1/users/{id}"] == 2 and buckets["/api/v1"] == 1 and buckets[None] == 1


def test_developer_tier_limits_and_the_429_at_the_limit() -> None:
    with Sandbox(port=0, users=20, seed=3, rate_limits="developer") as sb, _client(sb) as client:
        assert client.get("/api/v1/users").headers["x-rate-limit-limit"] == "100"
        answers = [client.get("/api/v1/logs", params={"limit": 1}) for _ in range(20)]
        assert [int(a.headers["x-rate-limit-remaining"]) for a in answers] == list(range(19, -1, -1))
        assert all(a.headers["x-rate-limit-limit"] == "20" for a in answers)
        reset = int(answers[0].headers["x-rate-limit-reset"])
        assert {a.headers["x-rate-limit-reset"] for a in answers} == {str(reset)}
        limited = client.get("/api/v1/logs")
        assert limited.status_code == 429 and limited.json()["errorCode"] == "E0000047"
        assert limited.headers["x-rate-limit-limit"] == "20" and limited.headers["x-rate-limit-remaining"] == "0"
        assert limited.headers["x-rate-limit-reset"] == str(reset)
        assert client.get("/api/v1/apps").headers["x-rate-limit-limit"] == "20"  # another bucket: unaffected
        stats = sb.stats()
        assert stats.throttled == {"rate": 1, "concurrency": 0, "knob": 0}
        assert stats.count(429, "/api/v1/logs") == 1 and stats.count(200, "/api/v1/logs") == 20
        # After the window (on the sandbox clock) the bucket is full again, with a new reset.
        sb.advance_clock(reset - sb.clock() + 0.5)
        again = client.get("/api/v1/logs", params={"limit": 1})
        assert again.status_code == 200 and again.headers["x-rate-limit-remaining"] == "19"
        assert int(again.headers["x-rate-limit-reset"]) >= reset + 60 - 1
        assert 0 < int(again.headers["x-rate-limit-reset"]) - _date(again) <= 60


def test_the_org_authorization_server_bucket_limits_the_token_endpoint() -> None:
    with Sandbox(port=0, users=10, seed=1, rate_limits={"/oauth2/v1": 2}) as sb:
        form = {"grant_type": "client_credentials", "client_id": "nobody"}
        first, second, third = (httpx.post(f"{sb.url}/oauth2/v1/token", data=form) for _ in range(3))
        assert [r.headers["x-rate-limit-remaining"] for r in (first, second)] == ["1", "0"]
        assert first.status_code == 401 and first.json()["error"] == "invalid_client"
        assert third.status_code == 429 and third.json()["errorCode"] == "E0000047"
        assert third.headers["x-rate-limit-limit"] == "2" and third.headers["x-rate-limit-remaining"] == "0"
        assert httpx.get(f"{sb.url}/oauth2/v1/keys").status_code == 200  # public metadata: not limited
        assert sb.stats().count(429, "/oauth2/v1") == 1 and sb.stats().throttled["rate"] == 1


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(ConfigError, match="workforce"):
        Sandbox(port=0, users=10, rate_limits="platinum")


# ---- latency and the tally -------------------------------------------------------------------


def test_latency_per_path_pattern(small: Sandbox) -> None:
    with _client(small) as client:
        gid = client.get("/api/v1/groups?limit=1").json()[0]["id"]
        small.set_latency("/api/v1/groups/{id}/users", 0.5)

        def timed(path: str) -> float:
            started = time.monotonic()
            assert client.get(path).status_code == 200
            return time.monotonic() - started

        assert timed(f"/api/v1/groups/{gid}/users") >= 0.5
        assert timed("/api/v1/groups") < 0.5
        small.set_knobs(latency=0.2)  # every other API request
        assert 0.2 <= timed("/api/v1/groups") < 0.5 and timed(f"/api/v1/groups/{gid}/users") >= 0.5
        small.set_latency("/api/v1/groups/{id}/users", None)
        assert 0.2 <= timed(f"/api/v1/groups/{gid}/users") < 0.5
        assert timed("/.well-known/openid-configuration") < 0.2  # the general knob is for /api/ only
        small.set_knobs(latency=0.0)


def test_stats_count_answers_by_status_and_bucket_and_reset(small: Sandbox) -> None:
    with _client(small) as client:
        for _ in range(3):
            client.get("/api/v1/users")
        client.get("/api/v1/users/nobody-here")
        httpx.get(f"{small.url}/api/v1/groups")  # no credentials
        httpx.get(f"{small.url}/.well-known/openid-configuration")
        small.set_knobs(rate_429=1.0)
        client.get("/api/v1/apps")
        small.set_knobs(rate_429=0.0, drop_rate=1.0)
        with pytest.raises(httpx.TransportError):
            client.get("/api/v1/apps")
        small.set_knobs(drop_rate=0.0)
    stats = small.stats()
    assert isinstance(stats, SandboxStats)
    assert stats.responses == {
        (200, "/api/v1/users"): 3,
        (404, "/api/v1/users/{id}"): 1,
        (401, "/api/v1/groups"): 1,
        (200, None): 1,
        (429, "/api/v1/apps"): 1,
    }
    assert stats.by_status() == {200: 4, 401: 1, 404: 1, 429: 1}
    assert stats.throttled == {"rate": 0, "concurrency": 0, "knob": 1}
    assert stats.total == 8 and stats.dropped == 1 and stats.in_flight == 0 and stats.peak_in_flight == 1
    small.reset_stats()
    empty = small.stats()
    assert (empty.total, empty.responses, empty.dropped, empty.peak_in_flight) == (0, {}, 0, 0)
    assert sum(empty.throttled.values()) == 0
