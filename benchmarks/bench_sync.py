"""The snapshot's sync against the sandbox org at 200 ms a request and Okta's default (Workforce) rate limits.

Figures, not tests. One sandbox org (``--users``, seed 1) serves every run; each sync runs in a fresh
subprocess (so the org's server thread and the client never share one interpreter), with an API token.
Before each run the sandbox clock moves 60 s ahead, so every run starts in fresh rate-limit windows.

1. **Full sync** (``okta_magic.snapshot.sync.sync_org``, every table): its requests against the minimum the
   tables need at the page sizes used (one request per parent object for the per-object tables, one per
   page for the lists, counted from the snapshot it wrote), its wall time against the lower bound (the
   requests of each rate-limit bucket over its per-minute limit, or all of them over the org's concurrency
   limit times the latency, whichever is longer), and the 429s the org sent.
2. **Incremental sync** after 1% of the people changed (a profile update each) and as many memberships
   (added or removed): its requests as a share of the full sync's, and whether it is exact: every table
   equal to a full sync's of the same org (that full sync at latency 0, rate limits raised: the data does
   not depend on either).
3. **Steampipe-style**: users, then each user's factors, one call per row, 10 in flight, no pacing, a 429
   retried after the reset its headers give (as the Okta SDK's retry does), against okta_magic's sync of
   the same two tables, side by side in one run. Beside them, when its interpreter is there
   (``--sdk-python``: the SDK is not a dependency of okta_magic), **the Okta SDK's asyncio way** (PyPI
   ``okta``, 3.x, one ``aiohttp`` session): ``list_users`` (the same search, 200 a page) following the
   ``after`` cursor of each page's ``Link`` header (``PaginationHelper``), then ``list_factors(user_id)``
   for every user under ``asyncio.gather``, 10 in flight (an ``asyncio.Semaphore``, as Steampipe: the SDK
   has no concurrency setting of its own; an unbounded gather is held only by aiohttp's 100 connections,
   over the org's concurrency limit of 75); a 429 retried by the SDK itself at its defaults (``rateLimit.maxRetries`` 2,
   waiting until ``X-Rate-Limit-Reset`` - ``Date`` + 1 s; ``requestTimeout`` 0: none). Every contender's
   requests and 429s are the org's counts (``sb.stats()``), and all must return the same factor rows.
4. **Peak memory** (the worker's ``VmHWM``) of a full sync at 10,000 and ``--memory-users`` users, at
   latency 0 with the rate limits raised (at 200 ms and Okta's limits a 100,000-user sync takes about
   an hour: 100,000 factor requests at 2,000 a minute).

    python benchmarks/bench_sync.py [--users 10000] [--memory-users 100000] [--skip full,steampipe,memory]
        [--sdk-python .venv-bench/bin/python]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as harness
from _harness import ROOT, machine, rss_high_water_mb

LATENCY = 0.2
RAISED = 10_000_000  # a bucket's per-minute limit that no run reaches
STEAMPIPE_IN_FLIGHT = 10
# the page sizes the sync asks for (okta_magic.snapshot.steps and fetch; the sandbox's maxima, Okta's too)
PAGES = {"users": 200, "groups": 10_000, "group_members": 1000, "apps": 200, "app_user_assignments": 500,
         "app_group_assignments": 500, "system_log": 1000, "assignees": 200, "list": 200, "list_default": 20}


# -- the workers (each runs in its own subprocess) ----------------------------------------------


def work_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """okta_magic's sync, as a script would call it."""
    import okta_magic
    from okta_magic.snapshot.sync import sync_org

    okta_magic.use_token(spec["token"], org_url=spec["url"], api_token=True)
    session = okta_magic.current_session()
    session.client  # noqa: B018  (made before the clock starts; no request is sent)
    started = time.perf_counter()
    report = sync_org(session, spec["path"], full=spec.get("full", False), since=spec.get("since"),
                      tables=spec.get("tables"))
    wall = time.perf_counter() - started
    return {"wall": wall, "requests": report.requests, "rss_mb": rss_high_water_mb(),
            "tables": {t.name: [t.status, t.mode, t.requests, t.rows] for t in report.tables}}


def work_steampipe(spec: dict[str, Any]) -> dict[str, Any]:
    """One call per row, ``STEAMPIPE_IN_FLIGHT`` in flight, no pacing; a 429 waits for its reset, then again."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    headers = {"Authorization": f"SSWS {spec['token']}", "Accept": "application/json"}
    calls = {"requests": 0, "retries": 0}

    def get(http: httpx.Client, url: str, params: dict[str, str] | None = None) -> httpx.Response:
        while True:
            calls["requests"] += 1
            response = http.get(url, params=params)
            if response.status_code != 429:
                response.raise_for_status()
                return response
            calls["retries"] += 1
            reset = float(response.headers.get("X-Rate-Limit-Reset", "0"))
            now = httpx_date(response)
            time.sleep(max(0.0, reset - now) + 1.0)

    started = time.perf_counter()
    with httpx.Client(base_url=spec["url"], headers=headers, timeout=60,
                      limits=httpx.Limits(max_connections=STEAMPIPE_IN_FLIGHT + 2)) as http:
        users: list[dict[str, Any]] = []
        url: str | None = "/api/v1/users"
        params: dict[str, str] | None = {"search": 'lastUpdated gt "1970-01-01T00:00:00.000Z"', "limit": "200"}
        while url:
            page = get(http, url, params)
            users += page.json()
            url, params = page.links.get("next", {}).get("url"), None

        def factors(uid: str) -> int:
            return len(get(http, f"/api/v1/users/{uid}/factors").json())

        with ThreadPoolExecutor(STEAMPIPE_IN_FLIGHT) as pool:
            rows = sum(pool.map(factors, [u["id"] for u in users]))
    return {"wall": time.perf_counter() - started, "requests": calls["requests"], "retries": calls["retries"],
            "users": len(users), "factors": rows, "rss_mb": rss_high_water_mb()}


def work_sdk(spec: dict[str, Any]) -> dict[str, Any]:
    """The Okta SDK's asyncio way: the users list by ``after`` cursors, then every user's factors gathered,
    ``STEAMPIPE_IN_FLIGHT`` in flight; 429s retried by the SDK at its default settings (reported back)."""
    import asyncio
    from importlib.metadata import version

    from okta.client import Client as OktaClient
    from okta.pagination import PaginationHelper

    # The two work-arounds of bench_fanout.py's SDK contender: the SDK refuses an http:// org URL unless its
    # testing switch is on (set through the environment: Client(dict) does not read it from the dict), and
    # it writes "SSWS" + token with no space between, which the org refuses (401); a leading space restores it.
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    config = {"orgUrl": spec["url"], "token": " " + spec["token"]}
    search = 'lastUpdated gt "1970-01-01T00:00:00.000Z"'

    async def main() -> dict[str, Any]:
        async with OktaClient(config) as client:
            settings = client.get_config()["client"]
            started = time.perf_counter()
            users: list[Any] = []
            after: str | None = None
            while True:
                page, resp, err = await client.list_users(search=search, limit=200, after=after)
                if err is not None:
                    raise RuntimeError(f"list_users: {err}")
                users += page or []
                after = PaginationHelper.extract_next_cursor(resp.headers or {})
                if not after:
                    break
            gate = asyncio.Semaphore(STEAMPIPE_IN_FLIGHT)

            async def factors(uid: str) -> tuple[int, Any]:
                async with gate:
                    got, _, err = await client.list_factors(uid)
                    return len(got or []), err

            results = await asyncio.gather(*(factors(u.id) for u in users))
            wall = time.perf_counter() - started
        errors = [str(err) for _, err in results if err is not None]
        return {"wall": wall, "users": len(users), "factors": sum(n for n, _ in results), "errors": len(errors),
                "first_error": errors[0][:200] if errors else None, "sdk": version("okta"),
                "max_retries": settings["rateLimit"]["maxRetries"], "request_timeout": settings["requestTimeout"],
                "rss_mb": rss_high_water_mb()}

    return asyncio.run(main())


def httpx_date(response: Any) -> float:
    """The org's clock from the answer's ``Date`` header (the reset is in the org's time), else ours."""
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(response.headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return time.time()


WORKERS = {"sync": work_sync, "steampipe": work_steampipe, "sdk": work_sdk}


def run_worker(mode: str, spec: dict[str, Any], python: str = sys.executable) -> dict[str, Any]:
    """One worker of this script in a fresh interpreter (``python``); a failed one stops the run."""
    figures = harness.run_worker(__file__, mode, spec, python)
    if "failed" in figures:
        raise SystemExit(f"{mode} worker failed: {figures['tail']}")
    return figures


# -- the conductor ------------------------------------------------------------------------------


def measured(sb: Any, mode: str, spec: dict[str, Any], python: str = sys.executable) -> tuple[dict[str, Any], Any]:
    """A worker's figures and the org's count of what it answered meanwhile (fresh rate-limit windows)."""
    sb.advance_clock(60)
    sb.reset_stats()
    result = run_worker(mode, spec, python)
    return result, sb.stats()


def lower_bound(stats: Any, limits: dict[str, int], latency: float) -> tuple[float, str]:
    """The least wall time the requests answered could take: per bucket, the 60 s windows its requests fill
    (all but the last waited out) plus one latency; or every request over the concurrency limit, times the
    latency. The longer of the two, and which it is."""
    served: dict[str | None, int] = {}
    for (status, bucket), n in stats.responses.items():
        if status != 429:
            served[bucket] = served.get(bucket, 0) + n
    by_rate = {b: (math.ceil(n / limits[b]) - 1) * 60 + latency for b, n in served.items() if b in limits and n}
    rate_bucket = max(by_rate, key=by_rate.get) if by_rate else None
    by_concurrency = sum(served.values()) * latency / stats.concurrency_limit
    if rate_bucket and by_rate[rate_bucket] >= by_concurrency:
        return by_rate[rate_bucket], f"{served[rate_bucket]:,} requests of {rate_bucket} at {limits[rate_bucket]:,}/min"
    return by_concurrency, f"{sum(served.values()):,} requests, {stats.concurrency_limit} in flight"


# every user who holds a role, directly or through a group (the iam/assignees/users list)
ADMINS = ("SELECT user_id FROM admin_roles WHERE assignee_type = 'USER' UNION SELECT m.user_id FROM admin_roles r "
          "JOIN group_members m USING (group_id) WHERE r.assignee_type = 'GROUP'")


def minimum_requests(path: str) -> dict[str, int]:
    """The requests each table needs at the page sizes used, counted from the snapshot it wrote."""
    import duckdb

    con = duckdb.connect(path, read_only=True)

    def one(sql: str) -> int:
        return int(con.execute(sql).fetchone()[0] or 0)

    def pages(table: str, size: int) -> int:
        return max(1, math.ceil(one(f"SELECT count(*) FROM {table}") / size))

    def per_parent(table: str, parent: str, parents: str, size: int) -> int:
        return one(f"SELECT sum(greatest(1, ceil(coalesce(n, 0) / {size}))) FROM (SELECT {parent} FROM {parents}) "
                   f"LEFT JOIN (SELECT {parent}, count(*) AS n FROM {table} GROUP BY ALL) USING ({parent})")

    try:
        out = {
            "users": pages("users", PAGES["users"]), "groups": pages("groups", PAGES["groups"]),
            "group_members": per_parent("group_members", "group_id", "groups", PAGES["group_members"]),
            "group_rules": pages("group_rules", PAGES["list"]), "apps": pages("apps", PAGES["apps"]),
            "app_user_assignments": per_parent("app_user_assignments", "app_id", "apps",
                                               PAGES["app_user_assignments"]),
            "app_group_assignments": per_parent("app_group_assignments", "app_id", "apps",
                                                PAGES["app_group_assignments"]),
            "app_grants": one("SELECT count(*) FROM apps WHERE signOnMode = 'OPENID_CONNECT'"),
            "user_factors": one("SELECT count(*) FROM users"),
            "admin_roles": max(1, math.ceil(one(f"SELECT count(*) FROM ({ADMINS})") / PAGES["assignees"]))
            + one(f"SELECT count(*) FROM ({ADMINS})") + one(
                "SELECT count(DISTINCT group_id) FROM admin_roles WHERE assignee_type = 'GROUP'"),
            "policies": 6, "policy_rules": one("SELECT count(*) FROM policies"),
            "system_log": pages("system_log", PAGES["system_log"]),
        }
        for name in ("devices", "authenticators", "network_zones", "identity_providers", "authorization_servers",
                     "trusted_origins", "api_tokens"):
            out[name] = pages(name, PAGES["list"])
        return out
    finally:
        con.close()


def full_and_incremental(sb: Any, token: str, work: Path, args: argparse.Namespace, log: Any) -> None:
    from tests._snapshot_changes import tables_of

    limits = sb.rate_limits()
    path = str(work / "org.duckdb")
    sb.set_knobs(latency=LATENCY)
    full, stats = measured(sb, "sync", {"url": sb.url, "token": token, "path": path, "since": "7d"})
    bound, why = lower_bound(stats, limits, LATENCY)
    floor = minimum_requests(path)
    log(f"\n## Full sync, {args.users:,} users, {LATENCY * 1000:.0f} ms a request, Okta's Workforce limits")
    log(f"requests {full['requests']:,} (the org answered {stats.total:,}: {stats.count(200):,} 200s, "
        f"{stats.count(429):,} 429s; peak in flight {stats.peak_in_flight}); minimum at the page sizes used "
        f"{sum(floor.values()):,} ({full['requests'] / sum(floor.values()):.2f}x)")
    log(f"wall {full['wall']:.1f} s; lower bound {bound:.1f} s ({why}): {full['wall'] / bound:.2f}x; "
        f"worker peak RSS {full['rss_mb']:.0f} MB")
    log("| table | requests | minimum | rows |\n|---|---|---|---|")
    for name, (status, mode, requests, rows) in full["tables"].items():
        log(f"| {name} | {requests:,} | {floor.get(name, '')} | {rows:,} |")
    by_bucket: dict[str | None, int] = {}
    for (status, bucket), n in stats.responses.items():
        by_bucket[bucket] = by_bucket.get(bucket, 0) + n
    log("answers by bucket: " + ", ".join(f"{b} {n:,}" for b, n in sorted(by_bucket.items(), key=lambda x: -x[1])))

    changed = change_org(sb, max(1, args.users // 100))
    incremental, stats = measured(sb, "sync", {"url": sb.url, "token": token, "path": path})
    log(f"\n## Incremental sync after {changed}")
    log(f"requests {incremental['requests']:,} = {incremental['requests'] / full['requests']:.1%} of the full "
        f"sync's; wall {incremental['wall']:.1f} s; 429s {stats.count(429):,}")
    log("| table | mode | requests | rows |\n|---|---|---|---|")
    for name, (status, mode, requests, rows) in incremental["tables"].items():
        log(f"| {name} | {mode} | {requests:,} | {rows:,} |")
    check = str(work / "check.duckdb")
    sb.set_knobs(latency=0)
    for bucket in limits:
        sb.set_rate_limit(bucket, RAISED)
    try:
        since = _first_since(path)
        run_worker("sync", {"url": sb.url, "token": token, "path": check, "full": True, "since": since})
    finally:
        for bucket, limit in limits.items():
            sb.set_rate_limit(bucket, limit)
    got, want = tables_of(path), tables_of(check)
    differ = [name for name in sorted(set(got) | set(want)) if got.get(name) != want.get(name)]
    log("exact: every table equals a full sync's" if not differ else
        "NOT exact: these tables differ from a full sync's: " + ", ".join(
            f"{n} ({len(got.get(n, []))} rows against {len(want.get(n, []))})" for n in differ))


def _first_since(path: str) -> str | None:
    import duckdb

    con = duckdb.connect(path, read_only=True)
    try:
        row = con.execute("SELECT since FROM _tables WHERE table_name = 'system_log'").fetchone()
        return row[0] if row else None
    finally:
        con.close()


def change_org(sb: Any, n: int) -> str:
    """``n`` people's profiles updated and ``n`` memberships added or removed, by an admin over HTTP."""
    import httpx

    rng = random.Random(7)
    token = sb.issue_token("admin", "native", ["okta.users.manage", "okta.groups.manage"])
    with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        ids = sb.user_ids()
        groups = [g["id"] for g in http.get("/api/v1/groups").json() if g["type"] == "OKTA_GROUP"]
        for uid in rng.sample(ids, n):
            http.post(f"/api/v1/users/{uid}", json={"profile": {"title": f"Title {rng.randrange(999)}"}})
        for uid in rng.sample(ids, n):
            verb = http.put if rng.random() < 0.6 else http.delete
            verb(f"/api/v1/groups/{rng.choice(groups)}/users/{uid}")
    return f"{n} profile updates and {n} membership changes (1% of {len(ids):,} people each)"


def steampipe(sb: Any, token: str, work: Path, args: argparse.Namespace, log: Any) -> None:
    limits = sb.rate_limits()
    sb.set_knobs(latency=LATENCY)
    log(f"\n## Users and each user's factors, {args.users:,} users, {LATENCY * 1000:.0f} ms a request")
    contenders = [("Steampipe-style: a call per row, 10 in flight, retry after 429", "steampipe", {}),
                  ("okta_magic sync of users + user_factors", "sync",
                   {"path": str(work / "two.duckdb"), "tables": ["users", "user_factors"], "full": True})]
    if Path(args.sdk_python).exists():
        contenders.insert(1, ("Okta SDK: asyncio.gather, 10 in flight, its own 429 retry", "sdk", {}))
    else:
        log(f"(the SDK's interpreter {args.sdk_python} is missing: the SDK is skipped)")
    log("| contender | requests | 429s | wall s | lower bound s |\n|---|---|---|---|---|")
    notes, rows = [], {}
    for name, mode, spec in contenders:
        python = args.sdk_python if mode == "sdk" else sys.executable
        result, stats = measured(sb, mode, {"url": sb.url, "token": token, **spec}, python)
        bound, why = lower_bound(stats, limits, LATENCY)
        log(f"| {name} | {stats.total:,} | {stats.count(429):,} | {result['wall']:.1f} | {bound:.1f} ({why}) |")
        rows[mode] = result["tables"]["user_factors"][3] if mode == "sync" else result["factors"]
        notes.append(f"{mode}: {json.dumps({k: v for k, v in result.items() if k != 'tables'})}; peak in flight "
                     f"{stats.peak_in_flight}; 429s by cause {stats.throttled}")
    log("\n".join(notes))
    log(f"factor rows: {rows}" + ("" if len(set(rows.values())) == 1 else " !! the contenders differ"))


def memory(args: argparse.Namespace, work: Path, log: Any) -> None:
    from okta_magic.sandbox import Sandbox
    from okta_magic.sandbox.policy import DEFAULT_RATE_LIMITS

    log("\n## Peak memory of a full sync (worker VmHWM), latency 0, rate limits raised")
    log("| users | peak RSS | requests | wall s |\n|---|---|---|---|")
    for users in (10_000, args.memory_users):
        with Sandbox(port=0, users=users, seed=1, rate_limits={b: RAISED for b in DEFAULT_RATE_LIMITS}) as sb:
            token = sb.create_api_token("admin")
            path = work / f"mem{users}.duckdb"
            result = run_worker("sync", {"url": sb.url, "token": token, "path": str(path), "since": "7d"})
            path.unlink(missing_ok=True)
        log(f"| {users:,} | {result['rss_mb']:.0f} MB | {result['requests']:,} | {result['wall']:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--memory-users", type=int, default=100_000)
    parser.add_argument("--skip", default="", help="comma-separated: full, steampipe, memory")
    parser.add_argument("--sdk-python", default=str(ROOT / ".venv-bench/bin/python"),
                        help="an interpreter with the Okta SDK installed (kept out of okta_magic's environment)")
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--spec")
    args = parser.parse_args()
    if args.worker:
        harness.serve(WORKERS, args.worker, args.spec)
        return
    sys.path.insert(0, str(ROOT))
    from okta_magic.sandbox import Sandbox

    skip = set(filter(None, args.skip.split(",")))

    def log(line: str) -> None:
        print(line, flush=True)

    log(f"# bench_sync: {machine()}")
    log(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    try:
        if not {"full", "steampipe"} <= skip:
            with Sandbox(port=0, users=args.users, seed=1) as sb:
                token = sb.create_api_token("admin")
                log(f"sandbox: {args.users:,} users, limits {sb.rate_limits()}, concurrency limit "
                    f"{sb.stats().concurrency_limit}")
                if "full" not in skip:
                    full_and_incremental(sb, token, work, args, log)
                if "steampipe" not in skip:
                    steampipe(sb, token, work, args, log)
        if "memory" not in skip:
            memory(args, work, log)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
