"""Sandbox speed figures: start-up time and page serve times over real HTTP.

    python benchmarks/bench_sandbox.py [--users 1000 100000] [--requests 200]

For each org size: seconds from ``Sandbox(...)`` to accepting requests (seeding
included), then the median and p95 of many ``GET /api/v1/users?limit=200`` round
trips with httpx on loopback, cold (first pass over the org, serializing users)
and warm (serialized users cached), and of small 10-user pages. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time

import httpx

from okta_magic.sandbox import Sandbox


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def page_times(client: httpx.Client, requests: int, limit: int = 200) -> list[float]:
    """Follow next links (wrapping around at the end) and time each page of ``limit`` users."""
    times: list[float] = []
    first = f"/api/v1/users?limit={limit}"
    url: str | None = first
    while len(times) < requests:
        started = time.perf_counter()
        response = client.get(url or first)
        times.append(time.perf_counter() - started)
        assert response.status_code == 200 and len(response.json()) > 0
        url = response.links.get("next", {}).get("url")
    return times


def bench(users: int, requests: int) -> None:
    started = time.perf_counter()
    sb = Sandbox(port=0, users=users, seed=1, rate_limits={"/api/v1/users": 10**9})
    seeded = time.perf_counter()
    sb.start()
    ready = time.perf_counter()
    try:
        token = sb.issue_token(user="admin", scopes=["okta.users.read"])
        with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}) as client:
            cold = page_times(client, requests)
            warm = page_times(client, requests)
            small = page_times(client, requests, limit=10)  # a few KB: shows any Nagle/delayed-ACK stall
            pull_started = time.perf_counter()
            pages = 0
            url: str | None = "/api/v1/users?limit=200"
            while url:
                response = client.get(url)
                pages += 1
                url = response.links.get("next", {}).get("url")
            pull = time.perf_counter() - pull_started
    finally:
        sb.stop()
    print(
        f"users={users:>7}: start-up {ready - started:6.2f} s (seeding {seeded - started:.2f} s, "
        f"serving {ready - seeded:.2f} s)"
    )
    for label, times in (("200-user page cold", cold), ("200-user page warm", warm), (" 10-user page warm", small)):
        print(
            f"               {label}: median {statistics.median(times) * 1000:6.1f} ms, "
            f"p95 {percentile(times, 0.95) * 1000:6.1f} ms over {len(times)} requests"
        )
    print(f"               whole listing (warm): {pages} pages in {pull:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    for users in args.users:
        bench(users, args.requests)


if __name__ == "__main__":
    main()
