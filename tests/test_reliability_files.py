"""Reliability: pulls written to a file that the disk refuses part-way, under a file size limit.

Each case makes a good file with a pull (Parquet, CSV or JSON Lines; a plain pull, a fan-out, a
partitioned pull, a System Log ``append``, a partitioned ``append``), then runs the same pull again
over it in a process whose files may not grow past a fraction of what the pull writes
(``RLIMIT_FSIZE``: a write past it fails with EFBIG, as on a full disk). The limit falls in the first
row group, the middle of the pull, near its end, or in the merge of an append, depending on the
fraction and the format. See ``tests/_file_limits.py``.

A case holds when the pull fails with one typed line that names the cause (file too large), the good
file is byte for byte as it was and still opens, nothing is left beside it, and the error's
``partial`` holds exactly the rows fetched before the failure (a prefix of the pull's rows, never
empty). The figures go to docs/reliability.md through ``reliability.record``; the test fails if any
case did not hold.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from _file_limits import FORMATS, KINDS, run_cases
from reliability import record

from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 600, "seed": 23, "calm": True}
FRACTIONS = (0.01, 0.3, 0.6, 0.95)


def _days_ago(sandbox: Sandbox, days: int) -> str:
    moment = datetime.fromtimestamp(sandbox.clock() - days * 86_400, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _held(report: dict[str, Any]) -> bool:
    message = report["message"]
    return (report["outcome"] == "failed" and report.get("error") == "FileWriteError" and "\n" not in message
            and "file too large" in message and report["unchanged"] and report["opens"] and not report["left"]
            and report["rows"] > 0 and report["prefix"])


def test_files_under_a_size_limit_fail_in_one_line_leaving_the_old_file_and_keeping_the_rows(
        sandbox: Sandbox, tmp_path: Path) -> None:
    cases = [{"format": fmt, "kind": kind, "fraction": fraction, "via": "script"}
             for fmt in FORMATS for kind in KINDS for fraction in FRACTIONS]
    reports = run_cases(sandbox, tmp_path, cases, since=_days_ago(sandbox, 30), until=_days_ago(sandbox, 15))
    held = [_held(r) for r in reports]
    by_kind: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    stopped: dict[str, int] = defaultdict(int)
    for report, ok in zip(reports, held, strict=True):
        tally = by_kind[report["kind"]][report["format"]]
        tally[0] += ok
        tally[1] += 1
        stopped[report["kind"]] += ok and report["rows"] < report["wanted"]
    rows = [(kind, ", ".join(f"{fmt} {n} of {of}" for fmt, (n, of) in by_kind[kind].items())
             + f"; {stopped[kind]} stopped mid-pull, the others as the file was finished") for kind in KINDS]
    record(
        "test_reliability_files",
        "Files under a size limit",
        len(reports),
        sum(held),
        f"Each case makes a good file with a pull ({', '.join(FORMATS)}; {', '.join(KINDS)}) from a sandbox org "
        f"of {SANDBOX['users']} users, then runs the same pull over it in a process whose files may not grow past "
        f"{', '.join(f'{f:.0%}' for f in FRACTIONS)} of what the pull writes (RLIMIT_FSIZE: a write past it fails, "
        "as on a full disk). A case holds when the pull fails with one typed line naming the cause, the good file "
        "is byte for byte as it was and still opens, no part is left beside it, and the error's `partial` holds "
        "exactly the rows fetched before the failure.",
        rows,
    )
    broken = [f"{r['format']} {r['kind']} at {r['fraction']:.0%} of {r['size']:,} bytes: {r.get('error')}: "
              f"{r['message'][:160]} (unchanged {r['unchanged']}, opens {r['opens']}, left {r['left']}, "
              f"rows {r['rows']} of {r['wanted']}, prefix {r['prefix']})" for r, ok in zip(reports, held, strict=True)
              if not ok]
    assert not broken, "\n".join(broken)
    if not any(r["rows"] < r["wanted"] for r in reports):
        pytest.fail("no case stopped in the middle of a pull: the limits no longer reach the writes in flight")
