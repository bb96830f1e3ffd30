"""How fast and how lean is a big pull? Figures, not tests.

Starts the sandbox org with 100,000 users, then, each in a fresh subprocess so
memory peaks are separate:

* the floor: a plain httpx loop over the same pages that only parses each page
  with ``response.json()`` (no DataFrame);
* our pull: ``okta_magic.pull.fetch`` (the client's pages into the frame builder) into a DataFrame.

Prints the wall-time ratio, the peak memory of each process (RSS high-water
mark, VmHWM; plus the tracemalloc peak of a separate traced run,
which sees Python allocations only, not Arrow's buffers), the import time of
the package, and a pull with 100 ms of added latency per page against
pages x 100 ms (how much of our work hides behind the network).

    python benchmarks/bench_pull.py [--users 100000] [--latency-pages 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ("okta_magic", "okta_magic.client", "okta_magic.query", "okta_magic.frames", "okta_magic.paging",
           "okta_magic.ratelimit", "okta_magic.pull")


def worker(mode: str, url: str, token: str, limit: int, max_pages: int | None, trace: bool) -> None:
    """Runs in a subprocess: one pull, then prints its figures as JSON."""
    if mode == "warm":
        # As in a notebook kernel that already has pandas loaded: the imports are not timed.
        import pandas  # noqa: F401
        import pyarrow  # noqa: F401

        import okta_magic.client  # noqa: F401
        import okta_magic.frames  # noqa: F401
        import okta_magic.pull  # noqa: F401
    if trace:
        import tracemalloc

        tracemalloc.start()
    started = time.perf_counter()
    rows = pages = 0
    if mode == "floor":
        import httpx

        with httpx.Client(headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                          timeout=60) as http:
            next_url: str | None = f"{url}/api/v1/users?limit={limit}"
            while next_url and (max_pages is None or pages < max_pages):
                response = http.get(next_url)
                response.raise_for_status()
                rows += len(response.json())
                pages += 1
                link = response.links.get("next")
                next_url = link["url"] if link else None
        columns = 0
    elif mode == "parquet":  # --to: pages streamed to a Parquet file, no DataFrame of the whole pull
        import tempfile

        from okta_magic.client import OktaClient
        from okta_magic.pull import fetch_to
        from okta_magic.query import parse_request

        with tempfile.TemporaryDirectory() as folder, \
                OktaClient(url, lambda: f"Bearer {token}", progress=False, timeout=60) as client:
            result = fetch_to(client, parse_request(f"GET /api/v1/users?limit={limit}"),
                              Path(folder) / "users.parquet", max_pages=max_pages)
            import pyarrow.parquet as pq

            meta = pq.read_metadata(Path(folder) / "users.parquet")
            rows, pages, columns = meta.num_rows, result.pages, meta.num_columns
    else:
        from okta_magic.client import OktaClient
        from okta_magic.pull import fetch
        from okta_magic.query import parse_request

        with OktaClient(url, lambda: f"Bearer {token}", progress=False, timeout=60) as client:
            result = fetch(client, parse_request(f"GET /api/v1/users?limit={limit}"), max_pages=max_pages)
        frame = result.data
        rows, pages, columns = len(frame), result.pages, frame.shape[1]
    wall = time.perf_counter() - started
    figures = {"wall": wall, "rows": rows, "pages": pages, "columns": columns, "rss_peak_mb": rss_high_water_mb()}
    if trace:
        import tracemalloc

        figures["tracemalloc_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(figures))


def rss_high_water_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: on Linux that
    survives exec, so a child of the big sandbox process would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(mode: str, url: str, token: str, limit: int, max_pages: int | None = None,
               trace: bool = False) -> dict[str, float]:
    command = [sys.executable, __file__, "--worker", mode, "--url", url, "--limit", str(limit)]
    if max_pages:
        command += ["--max-pages", str(max_pages)]
    if trace:
        command.append("--trace")
    env = {**os.environ, "BENCH_TOKEN": token, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def import_time() -> float:
    code = ("import time; t = time.perf_counter(); import " + ", ".join(MODULES) +
            "; print(time.perf_counter() - t)")
    best = min(float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                    env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout) for _ in range(3))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--latency-pages", type=int, default=100,
                        help="pages pulled with 100 ms of added latency each (0 skips)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of floor and pull (best wall time kept)")
    parser.add_argument("--worker", choices=("floor", "pull", "warm", "parquet"))
    parser.add_argument("--url")
    parser.add_argument("--max-pages", type=int)
    parser.add_argument("--trace", action="store_true")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, os.environ["BENCH_TOKEN"], args.limit, args.max_pages, args.trace)
        return

    sys.path.insert(0, str(ROOT))
    from okta_magic.sandbox import Sandbox

    print(f"import {', '.join(MODULES)}: {import_time() * 1000:.0f} ms (best of 3, fresh interpreters)")
    started = time.perf_counter()
    with Sandbox(port=0, users=args.users, seed=1) as sb:
        print(f"sandbox with {args.users:,} users ready in {time.perf_counter() - started:.1f} s at {sb.url}")
        sb.set_rate_limit("/api/v1/users", 1_000_000)  # measure parsing, not the pacing
        sb.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
        token = sb.issue_token(user="admin", app="native", scopes=["okta.users.read"])
        run_worker("floor", sb.url, token, args.limit, max_pages=3)  # warm the server's caches
        floor = min((run_worker("floor", sb.url, token, args.limit) for _ in range(args.repeat)),
                    key=lambda f: f["wall"])
        ours = min((run_worker("pull", sb.url, token, args.limit) for _ in range(args.repeat)),
                   key=lambda f: f["wall"])
        warm = min((run_worker("warm", sb.url, token, args.limit) for _ in range(args.repeat)),
                   key=lambda f: f["wall"])
        traced = run_worker("pull", sb.url, token, args.limit, trace=True)
        print(f"floor  (httpx + response.json): {floor['wall']:.2f} s, {floor['rows']:,.0f} rows in "
              f"{floor['pages']:.0f} pages, RSS peak {floor['rss_peak_mb']:.0f} MB")
        print(f"ours   (pull.fetch -> DataFrame): {ours['wall']:.2f} s, {ours['rows']:,.0f} rows x "
              f"{ours['columns']:.0f} columns, RSS peak {ours['rss_peak_mb']:.0f} MB, "
              f"tracemalloc peak {traced['tracemalloc_peak_mb']:.0f} MB (Python objects only)")
        print(f"ratio  ours / floor: {ours['wall'] / floor['wall']:.2f}x wall time "
              f"(timing includes importing pandas and pyarrow, {ours['wall'] - warm['wall']:.2f} s of it)")
        print(f"warm   (pandas already imported, as in a kernel): {warm['wall']:.2f} s, "
              f"{warm['wall'] / floor['wall']:.2f}x the floor")
        small = run_worker("parquet", sb.url, token, args.limit, max_pages=max(1, 10_000 // args.limit))
        large = run_worker("parquet", sb.url, token, args.limit)
        print(f"--to parquet: {small['rows']:,.0f} rows RSS peak {small['rss_peak_mb']:.0f} MB; "
              f"{large['rows']:,.0f} rows RSS peak {large['rss_peak_mb']:.0f} MB "
              f"({large['rss_peak_mb'] - small['rss_peak_mb']:+.0f} MB), {large['wall']:.2f} s")
        if args.latency_pages:
            sb.set_knobs(latency=0.1)
            slow = run_worker("pull", sb.url, token, args.limit, max_pages=args.latency_pages)
            floor_slow = run_worker("floor", sb.url, token, args.limit, max_pages=args.latency_pages)
            sb.set_knobs(latency=0.0)
            budget = slow["pages"] * 0.1
            print(f"latency 100 ms/page, {slow['pages']:.0f} pages ({slow['rows']:,.0f} rows): ours "
                  f"{slow['wall']:.2f} s, floor {floor_slow['wall']:.2f} s, pages x 100 ms = {budget:.1f} s "
                  f"(ours is {slow['wall'] / budget:.2f}x the pure network wait)")


if __name__ == "__main__":
    main()
