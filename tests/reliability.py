"""The standing reliability suite's report: each suite records what it tried and what held.

Every reliability test module calls :func:`record` once with its figures; the section between
that suite's markers in ``docs/reliability.md`` is rewritten in place, so the document always
shows the figures of the last run and no suite can overwrite another's.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "reliability.md"
_LOCK = threading.Lock()
_HEADER = """# Reliability

What okta_magic is tried against on every test run, and how much of it held. Each section below is
written by the suite named in it (`make test` rewrites it); a run that does not hold fails the suite,
so a figure here below its "tried" count means that section's test is failing.
"""


def record(suite: str, title: str, tried: int, held: int, what: str, rows: list[tuple[str, str]] | None = None) -> None:
    """Rewrite ``suite``'s section of docs/reliability.md with ``tried``/``held`` and a short table."""
    lines = [f"<!-- {suite}:start -->", f"## {title}", "", what.strip(), "",
             f"**{held} of {tried} held** (`tests/{suite}.py`).", ""]
    if rows:
        lines += ["| case | outcome |", "|---|---|"]
        lines += [f"| {case} | {outcome} |" for case, outcome in rows]
        lines.append("")
    lines.append(f"<!-- {suite}:end -->")
    section = "\n".join(lines)
    with _LOCK:
        text = REPORT.read_text() if REPORT.exists() else _HEADER
        pattern = re.compile(rf"<!-- {re.escape(suite)}:start -->.*?<!-- {re.escape(suite)}:end -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: section, text)
        else:
            text = text.rstrip("\n") + "\n\n" + section
        REPORT.write_text(text.rstrip("\n") + "\n")
