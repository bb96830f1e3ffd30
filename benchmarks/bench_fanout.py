"""Real-org speed: fan-out, partitioned pulls and pacing against the sandbox at 200 ms a request.

Figures, not tests. One sandbox org serves every contender, each run in a fresh subprocess (so the
org's server thread and the client never share one interpreter), in alternating rounds:

1. **Fan-out of 500 requests**: each of 500 users' groups (``GET /api/v1/users/{id}/groups``), by

   * ``okta_magic.get_each`` at ``--concurrency`` requests in flight (one table per value given; 16, the
     default, is also the most the session's client lets through unless configured otherwise);
   * a plain loop of ``okta_magic.get``, one request after another (run once, on ``--loop-requests``
     users; when that is fewer than 500 the time is extrapolated linearly, and said so);
   * the Okta SDK (PyPI ``okta``, 3.x) with ``asyncio.gather`` as its README shows, at the same
     concurrency (an ``asyncio.Semaphore``), one ``aiohttp`` session (``async with Client(...)``);
     it runs in its own virtual environment (``--sdk-python``): the SDK is not a dependency of okta_magic;
   * the floor: raw ``httpx`` at the same concurrency, pages parsed with ``orjson`` and nothing else
     (no DataFrame), once with asyncio and once with a thread pool; the faster is the floor.

   Every contender must return the same (user, group) pairs; the run stops if they differ.
   Before each run the sandbox clock moves 60 s ahead, so every contender starts in a fresh
   rate-limit window (the ``/api/v1/users/{id}`` bucket allows 2,000 a minute).

2. **100,000 users**: ``okta_magic.get("/api/v1/users", parallel=8)`` against the plain pull, same
   rows (same set of ids, no duplicates) required.

3. **A bucket limited to 600 a minute**: ``get_each`` over more users than three windows allow
   (``/api/v1/users/{id}`` set to 600/min); the requests the org answered 200 in the first
   180 s after the first one, against 3 x 600, and every 429 the org sent (``sb.stats()``).
   Three real minutes.

4. **Written to a file** (``--to .parquet``): peak memory of every group's members (``get_each`` over
   the groups) into a DataFrame and into a file, and of ``--parallel`` users into a file, at 10,000
   users and at ``--users``; 20 ms a request, the members' bucket raised so that no window is waited out.

    python benchmarks/bench_fanout.py [--sdk-python .venv-bench/bin/python] [--concurrency 8,16]
        [--rounds 3] [--loop-requests 500] [--users 100000] [--skip fanout,parallel,limit,file]

``make bench`` creates ``.venv-bench`` with the SDK and runs this with its defaults.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _harness as harness
from _harness import ROOT, machine, rss_high_water_mb

FANOUT_PATH = "/api/v1/users/{uid}/groups"
FANOUT_BUCKET = "/api/v1/users/{id}"
LATENCY = 0.2
FILE_LATENCY = 0.02
MEMBERS_BUCKET = "/api/v1/groups/{id}"


# -- the workers (each runs in its own subprocess) ----------------------------------------------


def digest(pairs: list[tuple[str, str]]) -> str:
    """A short fingerprint of a set of pairs (order-free), to check that contenders agree."""
    return hashlib.sha256("\n".join(sorted(f"{a} {b}" for a, b in pairs)).encode()).hexdigest()[:16]


def okta_magic_session(spec: dict[str, Any]) -> Any:
    """Import what a kernel would already have loaded, sign in with the SSWS token, and make the session's
    client (its httpx.Client, 25-50 ms here) before the clock starts, as the floor and the SDK make theirs."""
    import pandas  # noqa: F401

    import okta_magic
    import okta_magic.pulls.pull  # noqa: F401  (the request runner, imported on first use otherwise)

    okta_magic.use_token(spec["token"], org_url=spec["url"], api_token=True)
    okta_magic.current_session().client  # noqa: B018  (made on first use otherwise; no request is sent)
    return okta_magic


def work_each(spec: dict[str, Any]) -> dict[str, Any]:
    okta_magic = okta_magic_session(spec)
    started = time.perf_counter()
    options = {"concurrency": spec["concurrency"]} if spec["concurrency"] else {}  # none: get_each's default
    frame = okta_magic.get_each(FANOUT_PATH, uid=spec["ids"], **options)
    wall = time.perf_counter() - started
    pairs = list(zip(frame["uid"], frame["id"], strict=False))
    return {"wall": wall, "requests": len(spec["ids"]), "rows": len(frame), "digest": digest(pairs),
            "columns": list(frame.columns[:3])}


def work_loop(spec: dict[str, Any]) -> dict[str, Any]:
    okta_magic = okta_magic_session(spec)
    pairs: list[tuple[str, str]] = []
    started = time.perf_counter()
    for uid in spec["ids"]:
        frame = okta_magic.get(f"/api/v1/users/{uid}/groups")
        pairs += [(uid, gid) for gid in (frame["id"] if len(frame) else [])]
    wall = time.perf_counter() - started
    return {"wall": wall, "requests": len(spec["ids"]), "rows": len(pairs), "digest": digest(pairs)}


def work_sdk(spec: dict[str, Any]) -> dict[str, Any]:
    """The Okta SDK's way: one coroutine per request, ``asyncio.gather``, pages followed with ``resp.next()``."""
    import asyncio
    from importlib.metadata import version

    from okta.client import Client as OktaClient
    from okta.pagination import PaginationHelper

    # The SDK refuses an http:// org URL unless its testing switch is on. Client(dict) files the whole
    # dict under "client", where the switch is not read, so it is set the other documented way.
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    # This SDK writes its Authorization header as authorizationMode + token, with no space between
    # ("SSWS00ab..."), which the sandbox refuses (401) as RFC 9110 would; a leading space restores
    # "SSWS 00ab...". Whether a real org tolerates the missing space was not checked here.
    config = {"orgUrl": spec["url"], "token": " " + spec["token"]}

    async def main() -> tuple[float, list[tuple[str, str]], int]:
        async with OktaClient(config) as client:
            limit = asyncio.Semaphore(spec["concurrency"])

            async def groups_of(uid: str) -> tuple[str, list[Any], Any]:
                async with limit:
                    groups, resp, err = await client.list_user_groups(uid)
                    # 3.x pages with PaginationHelper and after=; this operation takes no after= (one page)
                    if resp is not None and PaginationHelper.extract_next_cursor(resp.headers or {}):
                        err = err or "a next page the SDK's list_user_groups cannot ask for"
                    return uid, list(groups or []), err

            started = time.perf_counter()
            results = await asyncio.gather(*(groups_of(uid) for uid in spec["ids"]))
            wall = time.perf_counter() - started
        errors = sum(1 for _, _, err in results if err is not None)
        return wall, [(uid, g.id) for uid, groups, _ in results for g in groups], errors

    wall, pairs, errors = asyncio.run(main())
    return {"wall": wall, "requests": len(spec["ids"]), "rows": len(pairs), "digest": digest(pairs),
            "errors": errors, "sdk": version("okta")}


def work_floor_async(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor with asyncio: httpx.AsyncClient, a semaphore, orjson, nothing else."""
    import asyncio

    import httpx
    import orjson

    async def main() -> tuple[float, list[tuple[str, str]]]:
        headers = {"Authorization": f"SSWS {spec['token']}", "Accept": "application/json"}
        limits = httpx.Limits(max_connections=spec["concurrency"], max_keepalive_connections=spec["concurrency"])
        async with httpx.AsyncClient(base_url=spec["url"], headers=headers, limits=limits, timeout=60) as http:
            gate = asyncio.Semaphore(spec["concurrency"])

            async def groups_of(uid: str) -> list[tuple[str, str]]:
                found: list[tuple[str, str]] = []
                url: str | None = f"/api/v1/users/{uid}/groups"
                while url:
                    async with gate:
                        response = await http.get(url)
                    response.raise_for_status()
                    found += [(uid, g["id"]) for g in orjson.loads(response.content)]
                    url = response.links.get("next", {}).get("url")
                return found

            started = time.perf_counter()
            results = await asyncio.gather(*(groups_of(uid) for uid in spec["ids"]))
            return time.perf_counter() - started, [pair for found in results for pair in found]

    wall, pairs = asyncio.run(main())
    return {"wall": wall, "requests": len(spec["ids"]), "rows": len(pairs), "digest": digest(pairs)}


def work_floor_threads(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor with threads: one httpx.Client shared by a pool of ``concurrency`` threads, orjson."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import orjson

    headers = {"Authorization": f"SSWS {spec['token']}", "Accept": "application/json"}
    limits = httpx.Limits(max_connections=spec["concurrency"], max_keepalive_connections=spec["concurrency"])
    with httpx.Client(base_url=spec["url"], headers=headers, limits=limits, timeout=60) as http:

        def groups_of(uid: str) -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            url: str | None = f"/api/v1/users/{uid}/groups"
            while url:
                response = http.get(url)
                response.raise_for_status()
                found += [(uid, g["id"]) for g in orjson.loads(response.content)]
                url = response.links.get("next", {}).get("url")
            return found

        with ThreadPoolExecutor(spec["concurrency"]) as pool:
            started = time.perf_counter()
            results = list(pool.map(groups_of, spec["ids"]))
            wall = time.perf_counter() - started
    pairs = [pair for found in results for pair in found]
    return {"wall": wall, "requests": len(spec["ids"]), "rows": len(pairs), "digest": digest(pairs)}


def work_pull(spec: dict[str, Any]) -> dict[str, Any]:
    """The 100,000-user list: plain (``parallel`` 0) or partitioned."""
    okta_magic = okta_magic_session(spec)
    options = {"parallel": spec["parallel"]} if spec["parallel"] else {}
    started = time.perf_counter()
    frame = okta_magic.get("/api/v1/users", **options)
    wall = time.perf_counter() - started
    ids = list(frame["id"])
    return {"wall": wall, "rows": len(ids), "unique": len(set(ids)),
            "digest": hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16],
            "in_list_order": ids == spec.get("order", ids), "rss_peak_mb": rss_high_water_mb()}


def work_members(spec: dict[str, Any]) -> dict[str, Any]:
    """Every group's members, into a DataFrame or (``to``) written to a Parquet file as they arrive."""
    import pyarrow.parquet as pq

    okta_magic = okta_magic_session(spec)
    with tempfile.TemporaryDirectory() as folder:
        target = str(Path(folder) / "members.parquet") if spec["to"] else None
        started = time.perf_counter()
        got = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=spec["ids"], to=target)
        wall = time.perf_counter() - started
        rows = pq.read_metadata(target).num_rows if target else len(got)
    return {"wall": wall, "rows": rows, "rss_peak_mb": rss_high_water_mb()}


def work_pull_to(spec: dict[str, Any]) -> dict[str, Any]:
    """The users list in ``parallel`` windows, written to a Parquet file as the pages arrive."""
    import pyarrow.parquet as pq

    okta_magic = okta_magic_session(spec)
    with tempfile.TemporaryDirectory() as folder:
        target = str(Path(folder) / "users.parquet")
        started = time.perf_counter()
        okta_magic.get("/api/v1/users", parallel=spec["parallel"], to=target)
        wall = time.perf_counter() - started
        ids = pq.read_table(target, columns=["id"])["id"].to_pylist()
    return {"wall": wall, "rows": len(ids), "unique": len(set(ids)), "rss_peak_mb": rss_high_water_mb()}


WORKERS = {"each": work_each, "loop": work_loop, "sdk": work_sdk, "floor-async": work_floor_async,
           "floor-threads": work_floor_threads, "pull": work_pull, "members": work_members, "pull-to": work_pull_to}


def run_worker(mode: str, spec: dict[str, Any], python: str = sys.executable,
               timeout: float | None = None) -> dict[str, Any]:
    """One contender of this script in a fresh interpreter; a failed one is a ``failed`` figure."""
    figures = harness.run_worker(__file__, mode, spec, python, timeout)
    figures.pop("tail", None)
    return figures


# -- the conductor ------------------------------------------------------------------------------


def fanout(sb: Any, token: str, args: argparse.Namespace, log: Any) -> None:
    ids = sb.user_ids()[: args.requests]
    sb.set_knobs(latency=LATENCY)
    contenders = ["each", "sdk", "floor-async", "floor-threads"]
    if not Path(args.sdk_python).exists():
        log(f"(the SDK's interpreter {args.sdk_python} is missing: the SDK is skipped; `make bench` creates it)")
        contenders.remove("sdk")
    # one table per concurrency, the loop (one request at a time) shared by all
    results: dict[tuple[str, int], list[dict[str, Any]]] = {(name, n): [] for n in args.concurrency
                                                             for name in contenders}
    results[("loop", 1)] = []
    reference: list[str] = []
    log(f"\n## Fan-out: {len(ids)} requests ({FANOUT_PATH}), {LATENCY * 1000:.0f} ms each, concurrency "
        f"{', '.join(map(str, args.concurrency))}, {args.rounds} rounds")

    def run(name: str, n: int, round_no: int) -> None:
        sb.advance_clock(61)  # a fresh rate-limit window for each contender
        sb.reset_stats()
        spec = {"url": sb.url, "token": token, "concurrency": n,
                "ids": ids[: args.loop_requests] if name == "loop" else ids}
        figures = run_worker(name, spec, args.sdk_python if name == "sdk" else sys.executable)
        stats = sb.stats()
        figures.update(peak_in_flight=stats.peak_in_flight, load=round(os.getloadavg()[0], 2),
                       **{"429s": stats.count(status=429)})
        results[(name, n)].append(figures)
        log(f"round {round_no + 1} {name:13s} concurrency {n:2d} {json.dumps(figures)}")
        if "digest" in figures and figures["requests"] == len(ids):
            reference.append(figures["digest"])
            if figures["digest"] != reference[0]:
                log(f"!! {name} returned other (user, group) pairs than the first contender")

    for round_no in range(args.rounds):
        for n in args.concurrency:
            shift = round_no % len(contenders)
            for name in contenders[shift:] + contenders[:shift]:
                run(name, n, round_no)
        if round_no == 0 and args.loop_requests:
            run("loop", 1, round_no)
    loop = best(results[("loop", 1)])
    for n in args.concurrency:
        summarize_fanout({name: results[(name, n)] for name in contenders}, loop, len(ids), n, log)


def best(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    ok = [r for r in runs if "wall" in r]
    return min(ok, key=lambda r: r["wall"]) if ok else None


def summarize_fanout(results: dict[str, list[dict[str, Any]]], loop: dict[str, Any] | None, requests: int,
                     concurrency: int, log: Any) -> None:
    walls = {name: sorted(r["wall"] for r in runs if "wall" in r) for name, runs in results.items()}
    floors = [name for name in ("floor-async", "floor-threads") if walls.get(name)]
    floor = min(walls[name][0] for name in floors) if floors else None
    loop_full = loop["wall"] * requests / loop["requests"] if loop else None
    log(f"\n### concurrency {concurrency}\n")
    log("| contender | best s | all runs s | / floor | loop / this | 429s | peak in flight |")
    log("|---|---|---|---|---|---|---|")
    rows = [(name, times) for name, times in walls.items()]
    for name, times in rows:
        worst429 = max((r.get("429s", 0) for r in results[name]), default=0)
        peak = max((r.get("peak_in_flight", 0) for r in results[name]), default=0)
        if not times:
            failed = [r.get("failed") for r in results[name] if "failed" in r]
            log(f"| {name} | not measured: {failed[:1]} | | | | | |")
            continue
        log(f"| {name} | {times[0]:.2f} | {', '.join(f'{t:.2f}' for t in times)} | "
            f"{times[0] / floor:.2f}x | {f'{loop_full / times[0]:.1f}x' if loop_full else '?'} | {worst429} | {peak} |")
    if loop and loop_full is not None:
        note = "" if loop["requests"] == requests else \
            f", extrapolated linearly from {loop['requests']} requests in {loop['wall']:.1f} s"
        log(f"| loop of get (one at a time{note}) | {loop_full:.2f} | {loop['wall']:.2f} | "
            f"{loop_full / floor:.1f}x | 1.0x | {loop.get('429s', 0)} | {loop.get('peak_in_flight', 0)} |"
            if floor else f"| loop | {loop_full:.2f} | | | | | |")
    if walls.get("each") and loop_full:
        log(f"\nget_each is {loop_full / walls['each'][0]:.1f}x faster than the loop (target >= 10x)")
    if walls.get("each") and floor:
        log(f"get_each takes {walls['each'][0] / floor:.2f}x the floor's time (target <= 1.3x)")
    if walls.get("each") and walls.get("sdk"):
        log(f"the SDK takes {walls['sdk'][0] / walls['each'][0]:.2f}x get_each's time")


def parallel_pull(args: argparse.Namespace, log: Any) -> None:
    from okta_magic.sandbox import Sandbox

    started = time.perf_counter()
    with Sandbox(port=0, users=args.users, seed=1, latency=LATENCY) as sb:
        log(f"\n## {args.users:,} users: --parallel {args.parallel} against the plain pull, "
            f"{LATENCY * 1000:.0f} ms a page (sandbox ready in {time.perf_counter() - started:.0f} s)")
        token = sb.create_api_token("admin")
        spec = {"url": sb.url, "token": token, "order": sb.user_ids()}
        runs: dict[str, list[dict[str, Any]]] = {"plain": [], f"parallel={args.parallel}": []}
        for round_no in range(args.pull_rounds):
            pair = [("plain", 0), (f"parallel={args.parallel}", args.parallel)]
            for name, parallel in pair if round_no % 2 == 0 else pair[::-1]:
                sb.advance_clock(61)
                sb.reset_stats()
                figures = run_worker("pull", {**spec, "parallel": parallel})
                stats = sb.stats()
                figures.update(requests=stats.total, peak_in_flight=stats.peak_in_flight,
                               load=round(os.getloadavg()[0], 2), **{"429s": stats.count(status=429)})
                runs[name].append(figures)
                log(f"round {round_no + 1} {name:11s} {json.dumps(figures)}")
        plain, part = best(runs["plain"]), best(runs[f"parallel={args.parallel}"])
        if plain and part:
            same = plain["digest"] == part["digest"] and part["rows"] == part["unique"] == plain["rows"]
            log(f"\nplain {plain['wall']:.1f} s, parallel={args.parallel} {part['wall']:.1f} s: "
                f"{plain['wall'] / part['wall']:.2f}x faster (target >= 4x); same rows: {same}; "
                f"parallel keeps list order: {part['in_list_order']}")


def bucket_limit(sb: Any, token: str, args: argparse.Namespace, log: Any) -> None:
    limit, windows = 600, args.limit_windows
    ids = sb.user_ids()[: limit * (windows + 1)]
    log(f"\n## A bucket limited to {limit}/min ({FANOUT_BUCKET}): get_each over {len(ids)} users, "
        f"concurrency {args.limit_concurrency or 'default'}, {LATENCY * 1000:.0f} ms each, "
        f"{windows} windows in real time")
    sb.set_knobs(latency=LATENCY)
    sb.advance_clock(61)
    sb.set_rate_limit(FANOUT_BUCKET, limit)
    sb.reset_stats()
    spec = {"url": sb.url, "token": token, "concurrency": args.limit_concurrency, "ids": ids}
    spec_file = write_spec(spec)
    worker = subprocess.Popen([sys.executable, __file__, "--worker", "each", "--spec", spec_file],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    # The span starts when the bucket's first request arrives (its first window opens then) and ends
    # windows x 60 s later; the 200s counted are those answered by the end plus the 200 ms that the
    # requests sent just before it spend at the org (a request sent after the end cannot be answered sooner).
    first: float | None = None
    timeline: list[tuple[float, int]] = []
    try:
        while True:
            stats = sb.stats()
            now = time.monotonic()
            if first is None and stats.count(bucket=FANOUT_BUCKET):
                first = now - LATENCY  # the first answer in the bucket left the org 200 ms after it arrived
            if first is not None:
                timeline.append((now - first, stats.count(status=200, bucket=FANOUT_BUCKET)))
                if now - first >= windows * 60 + LATENCY:
                    break
            if worker.poll() is not None:
                break
            time.sleep(0.02)
    finally:
        worker.kill()
        worker.wait()
        os.unlink(spec_file)
    stats = sb.stats()
    served = timeline[-1][1] if timeline else 0
    ends = [max([c for t, c in timeline if t <= (w + 1) * 60 + LATENCY], default=0) for w in range(windows)]
    per_window = [b - a for a, b in zip([0] + ends, ends, strict=False)]
    log(f"answered 200 in the {windows * 60} s from the first request's arrival: {served} of {limit * windows} "
        f"({served / (limit * windows):.1%}, target >= 97%); per 60 s: {per_window}")
    log(f"load {os.getloadavg()[0]:.2f}; 429s received: {stats.count(status=429)} "
        f"(rate {stats.throttled['rate']}, concurrency {stats.throttled['concurrency']}, "
        f"knob {stats.throttled['knob']}); peak in flight {stats.peak_in_flight}")


def to_file(args: argparse.Namespace, log: Any) -> None:
    """Peak memory of fan-outs and partitioned pulls written to Parquet, at 10,000 and at ``--users`` users."""
    from okta_magic.sandbox import Sandbox

    log(f"\n## Written to a file as they arrive (--to .parquet): peak RSS at two org sizes, "
        f"{FILE_LATENCY * 1000:.0f} ms a request (memory, not speed, is measured here)")
    for users in (10_000, args.users):
        with Sandbox(port=0, users=users, seed=1, latency=FILE_LATENCY) as sb:
            sb.set_rate_limit(MEMBERS_BUCKET, 100_000)  # the members' pages of a big org: not a rate-limit test
            token = sb.create_api_token("admin")
            gids = _group_ids(sb.url, token)
            spec = {"url": sb.url, "token": token, "ids": gids}
            for name, mode, extra in (("members, DataFrame", "members", {"to": False}),
                                      ("members, --to", "members", {"to": True}),
                                      (f"users --parallel {args.parallel} --to", "pull-to",
                                       {"parallel": args.parallel})):
                sb.advance_clock(61)
                figures = run_worker(mode, {**spec, **extra})
                figures["load"] = round(os.getloadavg()[0], 2)
                log(f"{users:>7,} users, {len(gids)} groups: {name:28s} {json.dumps(figures)}")


def _group_ids(url: str, token: str) -> list[str]:
    import httpx

    answer = httpx.get(f"{url}/api/v1/groups", headers={"Authorization": f"SSWS {token}"}, timeout=60)
    answer.raise_for_status()
    return [group["id"] for group in answer.json()]


def write_spec(spec: dict[str, Any]) -> str:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    return handle.name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sdk-python", default=str(ROOT / ".venv-bench/bin/python"),
                        help="an interpreter with the Okta SDK installed (kept out of okta_magic's environment)")
    parser.add_argument("--concurrency", type=lambda v: [int(n) for n in v.split(",")], default=[8, 16],
                        help="comma-separated: one table per concurrency (16 is get_each's default, the "
                             "client's cap on requests in flight; a higher value is held to it)")
    parser.add_argument("--limit-windows", type=int, default=3, help="60 s windows of the limit run")
    parser.add_argument("--limit-concurrency", type=int, default=0,
                        help="get_each's concurrency in the limit run (0: its default)")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loop-requests", type=int, default=500, help="users the plain loop asks (0 skips it)")
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--pull-rounds", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma-separated: fanout, parallel, limit, file")
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

    log(f"# bench_fanout: {machine()}")
    log(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    if "fanout" not in skip or "limit" not in skip:
        with Sandbox(port=0, users=max(args.requests, 2500), seed=1) as sb:
            token = sb.create_api_token("admin")
            if "fanout" not in skip:
                fanout(sb, token, args, log)
            if "limit" not in skip:
                bucket_limit(sb, token, args, log)
    if "parallel" not in skip:
        parallel_pull(args, log)
    if "file" not in skip:
        to_file(args, log)


if __name__ == "__main__":
    main()
