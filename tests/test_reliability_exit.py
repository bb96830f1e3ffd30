"""Reliability: Python exits after interrupted, failed and closed fan-outs and partitioned pulls.

A fan-out's, a partitioned pull's and a page stream's workers are not daemon threads: Python's exit
waits for each. One left waiting (a page's decoding dropped when its pull was closed, a retry's
backoff slept out after the stop) hung a script at exit, and ``make test`` after its last test.

Each case is a script of its own (``python -c``) with its own sandbox org: it pulls one kind of
request, and mid-pull the pull ends one way: interrupted (a real SIGINT, Ctrl-C), failed (the org
answers 5xx to everything from then on: retries, then the values or windows fail), or closed (the
access token revoked, so the first 401 stops the batch and closes every stream under its workers;
for one paged pull, its generator closed after three pages with the read-ahead in flight). The
script then ends and must exit within :data:`GRACE` seconds on its own; a watchdog thread in it
ends it with status 3 otherwise, and the run is killed after :data:`OUTER` seconds in any case.
The figures go to docs/reliability.md through ``reliability.record``; the test fails if any case did
not hold.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from reliability import record

GRACE = 5.0  # seconds a script may take to exit once its pull is over
OUTER = 180.0  # seconds before a case's script is killed, whatever it does
KINDS = ("fan-out", "fan-out to a file", "partitioned pull", "partitioned pull to a file", "one paged pull")
ENDINGS = ("interrupted", "failed", "closed")

# One case: argv = kind, ending, folder, GRACE. It prints one JSON line once its pull is over.
SCRIPT = textwrap.dedent('''
    import json, os, signal, sys, threading, time

    import httpx
    import okta_magic
    from okta_magic.sandbox import Sandbox

    kind, ending, folder, grace = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    sandbox = Sandbox(port=0, users=400, seed=3).start()
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
    token = sandbox.issue_token(user="admin", scopes=["okta.users.read", "okta.groups.read"])
    okta_magic.use_token(token, org_url=sandbox.url)
    groups = list(okta_magic.get("/api/v1/groups", limit=200)["id"]) if kind.startswith("fan-out") else []


    def pull(name):
        to = os.path.join(folder, name + ".parquet") if kind.endswith("to a file") else None
        if kind.startswith("fan-out"):
            return okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups, limit=10, to=to)
        if kind.startswith("partitioned pull"):
            return okta_magic.get("/api/v1/users", parallel=4, limit=10, to=to)
        if ending == "closed":  # a generator of pages closed early, its read-ahead and decodings in flight
            pages = okta_magic.current_session().client.pages("GET", "/api/v1/users", params={"limit": 10})
            for number, _ in enumerate(pages):
                if number == 2:
                    break
            pages.close()
            return "closed after 3 pages"
        return okta_magic.get("/api/v1/users", limit=10)


    def end_the_pull():
        if ending == "interrupted":
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C
        elif ending == "failed":
            sandbox.set_knobs(error_rate=1.0)
        else:  # closed: the first 401 stops the batch and closes every stream in flight
            httpx.post(sandbox.url + "/oauth2/v1/revoke", data={
                "token": token, "token_type_hint": "access_token", "client_id": sandbox.apps["native"].client_id})


    pull("clean")  # the same pull undisturbed: how many requests it makes
    requests = sandbox.stats().total
    sandbox.reset_stats()
    sandbox.set_knobs(latency=0.01)
    fired = threading.Event()
    at = requests // 2 if ending != "failed" else max(1, requests * 3 // 4)


    def watch():
        while sandbox.stats().total < at:
            time.sleep(0.005)
        end_the_pull()
        fired.set()


    if not (kind == "one paged pull" and ending == "closed"):
        threading.Thread(target=watch, daemon=True).start()
    else:
        fired.set()
    try:
        value = pull("disturbed")
        rows = value.rows if hasattr(value, "rows") else None if isinstance(value, str) else len(value)
        outcome = value if isinstance(value, str) else f"returned {rows} rows"
    except BaseException as exc:  # how it ended is reported, whatever it was
        outcome = type(exc).__name__
    during = fired.is_set()
    workers = sorted(t.name for t in threading.enumerate() if t.name.startswith("okta-") and not t.daemon)
    print(json.dumps({"outcome": str(outcome)[:200], "during": during, "requests": requests,
                      "workers": workers}), flush=True)
    watchdog = threading.Timer(grace, os._exit, args=(3,))  # the exit is not waited for longer than this
    watchdog.daemon = True
    watchdog.start()
''')


@dataclass
class Case:
    """One script: a kind of pull ended one way, and how its process ended."""

    kind: str
    ending: str
    held: bool = False
    detail: str = ""


def _run(case: Case, folder: Path) -> Case:
    """Run the case's script; it holds when the pull ended as meant, mid-pull, and the process exited by itself."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run([sys.executable, "-c", SCRIPT, case.kind, case.ending, str(folder), str(GRACE)],
                              capture_output=True, text=True, timeout=OUTER, env=env)
    except subprocess.TimeoutExpired:
        case.detail = f"still running after {OUTER:g} s: killed"
        return case
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        case.detail = f"exit status {done.returncode} before its pull was over: {done.stderr.strip()[-300:]}"
        return case
    report = json.loads(lines[-1])
    said = re.findall(r"Interrupted after \d+ of \d+ \w+|\d+ of \d+ requests failed", done.stderr)
    if said:  # what the script was told (the fan-out's and the partitioned pull's notes)
        report["outcome"] += f" ({said[0]})"
    if done.returncode == 3:
        case.detail = f"{report['outcome']}; did not exit within {GRACE:g} s (workers then: {report['workers']})"
    elif done.returncode != 0:
        case.detail = f"{report['outcome']}; exit status {done.returncode}: {done.stderr.strip()[-300:]}"
    elif not report["during"]:
        case.detail = f"{report['outcome']}; the pull was over before it was {case.ending}"
    else:
        case.held = True
        case.detail = f"{report['outcome']}; exited within {GRACE:g} s"
    return case


def test_python_exits_after_interrupted_failed_and_closed_fan_outs_and_partitioned_pulls(tmp_path: Path) -> None:
    cases = [Case(kind, ending) for kind in KINDS for ending in ENDINGS]
    with ThreadPoolExecutor(max_workers=3) as pool:  # the scripts wait on the network and on backoffs, mostly
        done = list(pool.map(lambda c: _run(c[1], tmp_path / str(c[0])), enumerate(cases)))
    held = sum(case.held for case in done)
    record(
        "test_reliability_exit",
        "Exit after interrupted, failed and closed fan-outs and partitioned pulls",
        tried=len(done),
        held=held,
        what=(
            "Each case is a script with a sandbox org of its own: a fan-out (`get_each`, to a DataFrame and to "
            "a Parquet file), a partitioned pull (`get(parallel=4)`, both ways) or one paged pull is ended "
            "mid-pull by a real SIGINT (interrupted), by the org answering 5xx to everything from then on "
            "(failed, after the retries), or by the access token being revoked so that the first 401 closes "
            "every stream under its workers (closed; one paged pull: its generator closed after three pages, "
            "the read-ahead in flight). A case holds when the pull ended that way while it ran and the script "
            f"then exited by itself within {GRACE:g} s (Python's exit waits for every fan-out, page and "
            "decoder worker)."
        ),
        rows=[(f"{case.kind}, {case.ending}", case.detail.replace("|", "/")) for case in done],
    )
    assert held == len(done), [f"{case.kind}, {case.ending}: {case.detail}" for case in done if not case.held]


STUCK_TEST = textwrap.dedent('''
    import threading
    from concurrent.futures import ThreadPoolExecutor

    forever = threading.Event()
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="okta-page")


    def test_leaves_a_worker_behind():
        pool.submit(lambda: None).result()  # an idle pool thread: the exit wakes it
        if WAITS:
            threading.Thread(target=forever.wait, name="okta-fanout_0").start()  # waits for ever
''')


def _guarded_run(tmp_path: Path, waits: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_stuck.py").write_text(f"WAITS = {waits}\n" + STUCK_TEST)
    tests = str(Path(__file__).resolve().parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
           "OKTA_MAGIC_TEST_WORKER_GRACE": "0.5"}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "_exit_guard", "-p", "no:cacheprovider", "-q",
                           "test_stuck.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)


def test_a_worker_left_waiting_fails_the_suite_and_it_still_ends(tmp_path: Path) -> None:
    """The guard tests/conftest.py installs: a stuck okta worker fails the run (named, with its stack) and the
    process ends instead of waiting for it; an idle pool thread is not stuck."""
    stuck = _guarded_run(tmp_path, waits=True)
    assert stuck.returncode == 1, stuck.stdout
    assert "1 passed" in stuck.stdout and "okta-fanout_0" in stuck.stdout and "still busy" in stuck.stdout
    assert ", in wait" in stuck.stdout  # its stack: where it waits
    idle = _guarded_run(tmp_path, waits=False)
    assert idle.returncode == 0, idle.stdout
    assert "still busy" not in idle.stdout
