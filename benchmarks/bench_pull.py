"""How fast and how lean is one big pull? Figures, not tests.

Starts the sandbox org with 100,000 users (no added latency, the users bucket's limit lifted: this
measures our work, not the network or the pacing) and pulls every user, 200 a page, side by side in
alternating rounds (the order of the contenders rotates each round), each contender in a fresh
subprocess so that memory peaks are separate:

* ``floor``: the least any Python client can do: an httpx page loop that only parses each page with
  ``orjson.loads`` (no DataFrame). Timed from before its imports, as a fresh process would run it.
* ``cold``: okta_magic's pull (``okta_magic.pulls.pull.fetch``: the client's pages into the frame builder)
  into a DataFrame, timed from before its imports (pandas and pyarrow included).
* ``warm``: one process that has imported everything (as a kernel has), then runs the floor and
  okta_magic's pull alternately, ``--warm-rounds`` times each, in that same process.
* ``normalize``: the naive way: collect every page's ``response.json()`` and ``pandas.json_normalize``.
* ``sdk``: the Okta SDK 3.x (``list_users`` with ``after=`` cursors, as its README pages), in its own
  interpreter (``--sdk-python``): it is not a dependency of okta_magic.
* ``parquet``: ``fetch_to(..., "users.parquet")``: pages streamed to a file, at 10,000 rows and at every
  row, for the peak memory of each.
* ``parts`` (pre-rendered pages only): the CPU seconds of each part of okta_magic's pull (httpx's page loop,
  ``orjson.loads``, the client and page stream, Arrow's reader, the frame builder, ``build()``), each alone
  on one thread, best of 3: where the time goes when the ratio to the floor is above what is wanted.

Two servers, one after the other (``--servers``):

* ``prerendered``: every page's answer (status line, headers with the ``Link`` lines, body) is fetched
  from the sandbox once and held as bytes by a tiny asyncio server in its own process, before any clock
  starts; a request costs it a dictionary look-up and one write. The floor is then the client's own cost.
* ``sandbox``: the sandbox org serves each page as it is asked for (it pages, serialises and counts the
  rate limit on its server thread), so its floor holds the server's work as well.

Wall times, peak RSS (VmHWM) of each process, rows and columns, and the machine's load average at
each run are printed as a log and as the Markdown table that ``benchmarks/RESULTS.md`` holds.

    python benchmarks/bench_pull.py [--users 100000] [--rounds 3] [--servers prerendered,sandbox]
                                    [--sdk-python .venv-bench/bin/python]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()  # a worker's clock starts before any of its imports

import _harness as harness  # noqa: E402 (after the clock starts)
from _harness import ROOT, machine, rss_high_water_mb  # noqa: E402

CONTENDERS = ("floor", "cold", "warm", "normalize", "sdk")


# -- the contenders (each runs in a subprocess) -------------------------------------------------


def first_url(spec: dict[str, Any]) -> str:
    return f"{spec['url']}/api/v1/users?limit={spec['limit']}"


def floor_pull(spec: dict[str, Any]) -> dict[str, Any]:
    """An httpx page loop that parses each page with orjson and keeps nothing but the count."""
    import httpx
    import orjson

    rows = pages = 0
    headers = {"Authorization": f"SSWS {spec['token']}", "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=60) as http:
        url: str | None = first_url(spec)
        while url and (spec["max_pages"] is None or pages < spec["max_pages"]):
            response = http.get(url)
            response.raise_for_status()
            rows += len(orjson.loads(response.content))
            pages += 1
            link = response.links.get("next")
            url = link["url"] if link else None
    return {"rows": rows, "pages": pages}


def our_pull(spec: dict[str, Any]) -> dict[str, Any]:
    """okta_magic's pull into a DataFrame, through its client (pacing, retries, paging, the frame builder)."""
    from okta_magic.http.client import OktaClient
    from okta_magic.pulls.pull import fetch
    from okta_magic.pulls.request import parse_request

    with OktaClient(spec["url"], lambda: f"SSWS {spec['token']}", progress=False, timeout=60) as client:
        result = fetch(client, parse_request(f"GET /api/v1/users?limit={spec['limit']}"),
                       max_pages=spec["max_pages"])
    frame = result.data
    return {"rows": len(frame), "pages": result.pages, "columns": frame.shape[1]}


def work_floor(spec: dict[str, Any]) -> dict[str, Any]:
    return floor_pull(spec)


def work_cold(spec: dict[str, Any]) -> dict[str, Any]:
    return our_pull(spec)


def work_warm(spec: dict[str, Any]) -> dict[str, Any]:
    """Everything imported first (untimed), then the floor and okta_magic alternately in this process."""
    import httpx  # noqa: F401
    import orjson  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow  # noqa: F401
    import pyarrow.json  # noqa: F401

    import okta_magic.http.client  # noqa: F401
    import okta_magic.frames  # noqa: F401
    import okta_magic.pulls.pull  # noqa: F401

    floors, ours, rows = [], [], set()
    cpu: dict[str, list[float]] = {"floor": [], "ours": []}
    for _ in range(spec["warm_rounds"]):
        for name, pull, walls in (("floor", floor_pull, floors), ("ours", our_pull, ours)):
            started, used = time.perf_counter(), time.process_time()
            figures = pull(spec)
            walls.append(time.perf_counter() - started)
            cpu[name].append(round(time.process_time() - used, 3))
            rows.add((name, figures["rows"]))
    return {"floor_walls": floors, "our_walls": ours, "floor_cpu": cpu["floor"], "our_cpu": cpu["ours"],
            "rows": sorted(rows), "timed": "pulls only"}


def work_normalize(spec: dict[str, Any]) -> dict[str, Any]:
    """The naive way: every page's records in one list, then pandas.json_normalize."""
    import httpx
    import pandas as pd

    records: list[Any] = []
    headers = {"Authorization": f"SSWS {spec['token']}", "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=60) as http:
        url: str | None = first_url(spec)
        while url:
            response = http.get(url)
            response.raise_for_status()
            records.extend(response.json())
            link = response.links.get("next")
            url = link["url"] if link else None
    frame = pd.json_normalize(records)
    return {"rows": len(frame), "columns": frame.shape[1]}


def work_sdk(spec: dict[str, Any]) -> dict[str, Any]:
    """The Okta SDK 3.x: ``list_users`` page by page with the ``after`` cursor of each Link header."""
    import asyncio
    from importlib.metadata import version

    from okta.client import Client
    from okta.pagination import PaginationHelper

    # As in bench_fanout.py: the SDK's http:// switch only works from the environment, and 3.x writes
    # "SSWS<token>" with no space, which the sandbox refuses as RFC 9110 would; a leading space fixes it.
    os.environ["OKTA_TESTING_TESTINGDISABLEHTTPSCHECK"] = "true"
    config = {"orgUrl": spec["url"], "token": " " + spec["token"]}

    async def main() -> tuple[int, int]:
        users_seen = pages = 0
        async with Client(config) as client:
            after = None
            while True:
                users, resp, err = await client.list_users(limit=spec["limit"], after=after)
                if err is not None:
                    raise RuntimeError(f"the SDK's list_users failed: {err}")
                users_seen += len(users or [])
                pages += 1
                after = PaginationHelper.extract_next_cursor(resp.headers or {})
                if not after:
                    return users_seen, pages

    rows, pages = asyncio.run(main())
    return {"rows": rows, "pages": pages, "sdk": version("okta")}


def work_parquet(spec: dict[str, Any]) -> dict[str, Any]:
    """``--to users.parquet``: pages streamed to a file; the summary and the file's own metadata."""
    import tempfile

    import pyarrow.parquet as pq

    from okta_magic.http.client import OktaClient
    from okta_magic.pulls.pull import fetch_to
    from okta_magic.pulls.request import parse_request

    with tempfile.TemporaryDirectory() as folder, \
            OktaClient(spec["url"], lambda: f"SSWS {spec['token']}", progress=False, timeout=60) as client:
        target = Path(folder) / "users.parquet"
        result = fetch_to(client, parse_request(f"GET /api/v1/users?limit={spec['limit']}"), target,
                          max_pages=spec["max_pages"])
        meta = pq.read_metadata(target)
        return {"rows": meta.num_rows, "pages": result.pages, "columns": meta.num_columns,
                "bytes": target.stat().st_size}


def work_parts(spec: dict[str, Any]) -> dict[str, Any]:
    """CPU seconds of each part of okta_magic's pull, each alone on this one thread, best of 3."""
    import httpx
    import orjson

    from okta_magic.frames import FrameBuilder, JsonPages
    from okta_magic.http.client import OktaClient

    headers = {"Authorization": f"SSWS {spec['token']}", "Accept": "application/json"}
    bodies: list[bytes] = []

    def best(step: Any) -> float:
        spent = []
        for _ in range(3):
            used = time.process_time()
            step()
            spent.append(time.process_time() - used)
        return round(min(spent), 3)

    def transport() -> None:
        bodies.clear()
        with httpx.Client(headers=headers, timeout=60) as http:
            url: str | None = first_url(spec)
            while url:
                response = http.get(url)
                bodies.append(response.content)
                link = response.links.get("next")
                url = link["url"] if link else None

    def stream() -> None:  # every thread's CPU: the page worker's and this one's
        with OktaClient(spec["url"], lambda: f"SSWS {spec['token']}", progress=False, timeout=60) as client:
            pull = client.stream("GET", f"/api/v1/users?limit={spec['limit']}", decode=lambda page: [])
            for _ in pull:
                pass
            pull.close()

    tables: list[Any] = []

    def arrow() -> None:
        reader = JsonPages()
        tables[:] = [t for i in range(0, len(bodies), 4) for t in reader.read_many(bodies[i:i + 4])]

    def converted() -> FrameBuilder:
        builder = FrameBuilder("users", managers=True)
        for table in tables:
            builder.add_table(table)
        builder._convert_tables()
        return builder

    figures = {"httpx page loop": best(transport),
               "orjson.loads per page": best(lambda: sum(len(orjson.loads(b)) for b in bodies)),
               "okta_magic client + stream, no decoding": best(stream),
               "Arrow JSON reader, 4 pages a call": best(arrow),
               "frame builder, batches converted": best(converted)}
    builders = [converted() for _ in range(3)]
    figures["build() and finish"] = best(lambda: builders.pop().build())
    return {"cpu_s": figures}


# -- the pre-rendered pages' server -------------------------------------------------------------


def record_pages(url: str, token: str, limit: int) -> list[tuple[str, int, list[tuple[str, str]], bytes]]:
    """Every page of the users list as the sandbox answers it: (request target, status, headers, body)."""
    import httpx

    pages = []
    headers = {"Authorization": f"SSWS {token}", "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=60) as http:
        next_page: str | None = f"{url}/api/v1/users?limit={limit}"
        while next_page:
            response = http.get(next_page)
            response.raise_for_status()
            kept = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in ("content-length", "date")]
            pages.append((response.request.url.raw_path.decode("ascii"), response.status_code, kept, response.content))
            link = response.links.get("next")
            next_page = link["url"] if link else None
    return pages


def _target_key(target: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """A request target with its query parameters in a canonical order (clients may order them differently)."""
    from urllib.parse import parse_qsl, urlsplit

    parts = urlsplit(target)
    return parts.path, tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


def serve_pages(recorded: str, origin: str) -> None:
    """Serve the recorded answers from memory (HTTP/1.1, keep-alive) until stdin closes; prints the port.

    Each answer is rendered to its bytes before the first request, its Link URLs moved from the sandbox's
    ``origin`` to this server's; a request is parsed only as far as its request line.
    """
    import asyncio
    import pickle
    import socket

    pages = pickle.loads(Path(recorded).read_bytes())
    sock = socket.create_server(("127.0.0.1", 0))
    here = f"http://127.0.0.1:{sock.getsockname()[1]}"
    answers: dict[Any, bytes] = {}
    for target, status, headers, body in pages:
        head = [f"HTTP/1.1 {status} OK", *(f"{k}: {v.replace(origin, here)}" for k, v in headers),
                f"Content-Length: {len(body)}", "", ""]
        answers[_target_key(target)] = "\r\n".join(head).encode("latin-1") + body
    del pages
    missing = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    unauthorized = b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"

    class Pages(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport, self.buffer = transport, b""
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def data_received(self, data: bytes) -> None:
            self.buffer += data
            while b"\r\n\r\n" in self.buffer:  # GETs only: no request body
                head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                target = head.split(b"\r\n", 1)[0].split(b" ")[1].decode("ascii")
                if b"\r\nauthorization:" not in head.lower():
                    self.transport.write(unauthorized)
                else:
                    self.transport.write(answers.get(_target_key(target), missing))

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Pages, sock=sock)
        print(here, flush=True)
        async with server:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the conductor closes it

    asyncio.run(main())


class PrerenderedPages:
    """The pre-rendered server in a process of its own, for a ``with`` block; ``url`` is its origin."""

    def __init__(self, pages: list[Any], origin: str) -> None:
        import pickle
        import tempfile

        with tempfile.NamedTemporaryFile("wb", suffix=".pickle", delete=False) as handle:
            pickle.dump(pages, handle)
        self._file = handle.name
        self._origin = origin
        self.url = ""

    def __enter__(self) -> PrerenderedPages:
        self._process = subprocess.Popen([sys.executable, __file__, "--serve-pages", self._file, "--origin", self._origin],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.url = self._process.stdout.readline().strip()  # type: ignore[union-attr]
        os.unlink(self._file)
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.stdin.close()  # type: ignore[union-attr]
        self._process.wait(timeout=30)


WORKERS = {"parts": work_parts, "floor": work_floor, "cold": work_cold, "warm": work_warm, "normalize": work_normalize,
           "sdk": work_sdk, "parquet": work_parquet}


def worker(mode: str, spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    figures = WORKERS[mode](spec)
    times = os.times()  # CPU of every thread since the process started, imports included
    figures.update(wall=time.perf_counter() - STARTED, cpu=round(times.user + times.system, 3),
                   rss_peak_mb=round(rss_high_water_mb(), 1))
    print(json.dumps(figures))


def run_worker(mode: str, spec: dict[str, Any], python: str) -> dict[str, Any]:
    """One contender of this script in a fresh interpreter, with the load average when it ended."""
    figures = harness.run_worker(__file__, mode, spec, python, timeout=1800)
    if "failed" in figures:
        return {"failed": figures["failed"]}
    figures["load"] = round(os.getloadavg()[0], 2)
    return figures


# -- the conductor ------------------------------------------------------------------------------


def rounds(spec: dict[str, Any], args: argparse.Namespace, log: Any) -> dict[str, list[dict[str, Any]]]:
    """Every contender once per round, the order rotating, each in a fresh process."""
    contenders = [c for c in CONTENDERS if c not in args.skip]
    if "sdk" in contenders and not Path(args.sdk_python).exists():
        log(f"(the SDK's interpreter {args.sdk_python} is missing: the SDK is skipped; `make bench` creates it)")
        contenders.remove("sdk")
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in contenders}
    for round_no in range(args.rounds):
        shift = round_no % max(1, len(contenders))
        for name in contenders[shift:] + contenders[:shift]:
            figures = run_worker(name, spec, args.sdk_python if name == "sdk" else sys.executable)
            results[name].append(figures)
            log(f"round {round_no + 1} {name:9s} {json.dumps(figures)}")
    return results


def walls(runs: list[dict[str, Any]]) -> list[float]:
    return sorted(r["wall"] for r in runs if "wall" in r)


def summarize(results: dict[str, list[dict[str, Any]]], small: list[dict[str, Any]],
              large: list[dict[str, Any]], log: Any) -> None:
    """The table for RESULTS.md: best of the rounds, every run listed, ratios to the floor."""
    floor = walls(results.get("floor", []))
    base = floor[0] if floor else float("nan")

    def rss(name: str) -> str:
        peaks = [r["rss_peak_mb"] for r in results.get(name, []) if "rss_peak_mb" in r]
        return f"{max(peaks):.0f} MB" if peaks else ""

    floor_cpu = min((r["cpu"] for r in results.get("floor", []) if "cpu" in r), default=float("nan"))

    def line(label: str, name: str, note: str = "") -> None:
        times = walls(results.get(name, []))
        if not times:
            return
        runs = ", ".join(f"{t:.2f}" for t in times)
        cpu = min(r["cpu"] for r in results[name] if "cpu" in r)
        log(f"| {label} | {times[0]:.2f} | {runs} | {times[0] / base:.2f}x | {cpu:.2f} ({cpu / floor_cpu:.2f}x) | "
            f"{rss(name)} | {note} |")

    log("\n| contender | best s | all runs s | / floor | CPU s, best (/ floor's) | peak RSS | |")
    log("|---|---|---|---|---|---|---|")
    line("floor: httpx page loop + `orjson.loads`, fresh process, imports included", "floor")
    line("okta_magic `pull.fetch` into a DataFrame, fresh process, imports included", "cold", "**cold**")
    line("naive: `response.json()` per page, then `pandas.json_normalize`", "normalize")
    line("Okta SDK 3.x `list_users`, `after` cursors", "sdk")
    warm = [r for r in results.get("warm", []) if "our_walls" in r]
    if warm:
        ours = sorted(w for r in warm for w in r["our_walls"])
        floors = sorted(w for r in warm for w in r["floor_walls"])
        pairs = sorted(o / f for r in warm for o, f in zip(r["our_walls"], r["floor_walls"], strict=True))
        floor_cpus = sorted(c for r in warm for c in r.get("floor_cpu", []))
        our_cpus = sorted(c for r in warm for c in r.get("our_cpu", []))
        cpu_note = (f"{our_cpus[0]:.2f} ({our_cpus[0] / floor_cpus[0]:.2f}x)" if floor_cpus and our_cpus else "")
        log(f"| warm process: floor (same loop, imports done) | {floors[0]:.2f} | "
            f"{', '.join(f'{t:.2f}' for t in floors)} | | {f'{floor_cpus[0]:.2f}' if floor_cpus else ''} | | |")
        log(f"| warm process: okta_magic `pull.fetch` | {ours[0]:.2f} | {', '.join(f'{t:.2f}' for t in ours)} | "
            f"**{ours[0] / floors[0]:.2f}x** the warm floor (median of pairs {statistics.median(pairs):.2f}x) | "
            f"{cpu_note} | {rss('warm')} (both pulls) | **warm** |")
    for label, runs in (("10,000 rows", small), ("every row", large)):
        ok = [r for r in runs if "rss_peak_mb" in r]
        if ok:
            peaks = sorted(r["rss_peak_mb"] for r in ok)
            times = ", ".join(f"{r['wall']:.2f}" for r in ok)
            log(f"| `fetch_to(..., 'users.parquet')`, {label} | {min(r['wall'] for r in ok):.2f} | {times} | | | "
                f"median {statistics.median(peaks):.0f} MB ({', '.join(f'{p:.0f}' for p in peaks)}) | "
                f"{ok[0]['rows']:,} rows, {ok[0]['bytes'] / 2**20:.1f} MiB |")
    small_peaks = [r["rss_peak_mb"] for r in small if "rss_peak_mb" in r]
    large_peaks = [r["rss_peak_mb"] for r in large if "rss_peak_mb" in r]
    if small_peaks and large_peaks:
        growth = statistics.median(large_peaks) - statistics.median(small_peaks)
        log(f"\n--to parquet: median peak RSS {growth:+.0f} MB from 10,000 rows to every row "
            f"(at most {max(large_peaks) - min(small_peaks):+.0f} MB)")
    rows = {name: {r.get("rows") if name != "warm" else tuple(map(tuple, r.get("rows", []))) for r in runs}
            for name, runs in results.items()}
    log(f"rows per contender (every run): {rows}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warm-rounds", type=int, default=3, help="floor/okta_magic pairs in the warm process")
    parser.add_argument("--skip", default="", help="contenders to leave out, comma-separated: " + ", ".join(CONTENDERS)
                        + "; parts (the CPU of each part of the pull, against pre-rendered pages)")
    parser.add_argument("--sdk-python", default=str(ROOT / ".venv-bench/bin/python"),
                        help="an interpreter with the Okta SDK installed (kept out of okta_magic's environment)")
    parser.add_argument("--servers", default="prerendered,sandbox",
                        help="where the pages come from, in this order: prerendered (held in memory), sandbox")
    parser.add_argument("--parquet-rounds", type=int, default=None, help="--to parquet runs (default: --rounds; 0: none)")
    parser.add_argument("--worker", choices=sorted(WORKERS))
    parser.add_argument("--spec")
    parser.add_argument("--serve-pages", help=argparse.SUPPRESS)
    parser.add_argument("--origin", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_pages:
        serve_pages(args.serve_pages, args.origin)
        return
    if args.worker:
        worker(args.worker, args.spec)
        return
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not servers or set(servers) - {"prerendered", "sandbox"}:
        parser.error("--servers takes prerendered, sandbox or both")

    sys.path.insert(0, str(ROOT))
    from okta_magic.sandbox import Sandbox

    log = print
    log(f"# bench_pull: {machine()}")
    started = time.perf_counter()
    with Sandbox(port=0, users=args.users, seed=1) as sb:
        log(f"sandbox with {args.users:,} users ready in {time.perf_counter() - started:.1f} s at {sb.url}")
        sb.set_rate_limit("/api/v1/users", 1_000_000)  # measure our work, not the pacing
        sb.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
        spec = {"url": sb.url, "token": sb.create_api_token("admin"), "limit": args.limit, "max_pages": None,
                "warm_rounds": args.warm_rounds}
        for server in servers:
            if server == "sandbox":
                run_worker("floor", spec, sys.executable)  # warm the server's caches
                log(f"\n## pages served by the sandbox as they are asked for ({sb.url})")
                measure(spec, args, log)
                continue
            pages = record_pages(sb.url, spec["token"], args.limit)
            with PrerenderedPages(pages, sb.url) as prerendered:
                size = sum(len(body) for *_, body in pages)
                del pages
                log(f"\n## pre-rendered pages: {size / 2**20:.0f} MiB of answers held in memory ({prerendered.url})")
                measure({**spec, "url": prerendered.url}, args, log)
                if "parts" not in args.skip:
                    log(f"CPU s of each part, alone, best of 3: {json.dumps(run_worker('parts', {**spec, 'url': prerendered.url}, sys.executable))}")


def measure(spec: dict[str, Any], args: argparse.Namespace, log: Any) -> None:
    """The contenders' rounds and the --to parquet runs against one server, then their table."""
    results = rounds(spec, args, log)
    smalls, larges = [], []
    for _ in range(args.rounds if args.parquet_rounds is None else args.parquet_rounds):
        # alternating, as the peaks vary from run to run by 10-20 MB
        smalls.append(run_worker("parquet", {**spec, "max_pages": max(1, 10_000 // args.limit)}, sys.executable))
        larges.append(run_worker("parquet", spec, sys.executable))
        log(f"parquet 10k {json.dumps(smalls[-1])}\nparquet all {json.dumps(larges[-1])}")
    summarize(results, smalls, larges, log)


if __name__ == "__main__":
    main()
