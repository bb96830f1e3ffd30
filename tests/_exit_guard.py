"""The suite ends when its tests end: a guard against okta_magic worker threads left waiting.

okta_magic's fan-out, page and decoder workers (threads named ``okta-fanout_N``, ``okta-page_N``,
``okta-decode_N``) are not daemon threads, so Python's exit waits for each of them: one left waiting
for ever would hang the run after its last test, with every test passed. When the session ends, each
such thread that is still busy gets :data:`GRACE` seconds to finish (a request in flight, a page being
decoded); one still busy then fails the run, its stack is printed, and the process ends with the
failure instead of hanging. An idle pool thread (its stream or batch gone, never shut down) is not
waiting for anything: Python's exit wakes it and it ends.

``tests/conftest.py`` takes the hooks from here; ``tests/test_reliability_exit.py`` runs them on a
test that leaves a thread stuck (``-p _exit_guard``).
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

import pytest

GRACE = float(os.environ.get("OKTA_MAGIC_TEST_WORKER_GRACE", "30"))
_stuck: list[str] = []


def _busy_workers() -> list[threading.Thread]:
    """okta_magic's non-daemon threads that are doing or waiting for something (not idle in their pool)."""
    frames = sys._current_frames()
    busy = []
    for thread in threading.enumerate():
        if not thread.name.startswith("okta-") or thread.daemon or not thread.is_alive():
            continue
        frame = frames.get(thread.ident or -1)
        idle = (frame is not None and frame.f_code.co_name == "_worker"
                and frame.f_code.co_filename.endswith(os.path.join("concurrent", "futures", "thread.py")))
        if not idle:  # (an idle pool thread waits in _worker for its next job: the exit's wake-up ends it)
            busy.append(thread)
    return busy


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Give busy okta_magic workers GRACE seconds; any still busy fails the run (with its stack)."""
    deadline = time.monotonic() + GRACE
    while (busy := _busy_workers()) and time.monotonic() < deadline:
        busy[0].join(min(0.2, max(0.0, deadline - time.monotonic())))
    if not busy:
        return
    frames = sys._current_frames()
    lines = [f"{len(busy)} okta_magic worker thread(s) still busy {GRACE:g} s after the last test; Python's exit "
             "would wait for them for ever:"]
    for thread in busy:
        lines.append(f"--- {thread.name}")
        frame = frames.get(thread.ident or -1)
        if frame is not None:
            lines += [line.rstrip() for line in traceback.format_stack(frame)]
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True)
        else:
            print(line, file=sys.stderr)
    _stuck.extend(thread.name for thread in busy)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """End the process once everything is reported when a worker is stuck: the exit would wait for it."""
    if _stuck:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(int(pytest.ExitCode.TESTS_FAILED))
