"""What every benchmark script shares: each contender runs in a fresh interpreter (``SCRIPT --worker MODE --spec
FILE``) so that its memory peak is its own, and hands its figures back as the last line of JSON it prints.

Standard library only: a worker may run under another interpreter (the Okta SDK's environment).
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

Worker = Callable[[dict[str, Any]], dict[str, Any]]


def rss_high_water_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: on Linux that survives
    exec, so a child of the big sandbox process would report the parent's size."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def machine() -> str:
    """The machine in one line: system, Python, cores and CPU, memory, and the load when the run starts."""
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor() or "?")
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    return (f"{platform.system()} {platform.release()}, Python {platform.python_version()}, {os.cpu_count()} cores "
            f"({cpu}), {memory:,} MiB RAM, load {os.getloadavg()[0]:.2f} at start")


def run_worker(script: str, mode: str, spec: dict[str, Any], python: str = sys.executable,
               timeout: float | None = None) -> dict[str, Any]:
    """Run ``script``'s worker ``mode`` on ``spec`` in a fresh ``python``: its figures, or ``{"failed": its last
    line of stderr, "tail": its last 15}``."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec, handle)
    try:
        out = subprocess.run([python, script, "--worker", mode, "--spec", handle.name], capture_output=True,
                             text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)
    finally:
        os.unlink(handle.name)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["(no output)"]
        return {"failed": lines[-1], "tail": "\n".join(lines[-15:])}
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(workers: dict[str, Worker], mode: str, spec_path: str) -> None:
    """The worker side: run ``mode`` on the spec in ``spec_path`` and print its figures as one line of JSON."""
    print(json.dumps(workers[mode](json.loads(Path(spec_path).read_text()))))
