"""Pulls written to a file while the file may not grow past a size: a disk that fills up, reproduced with
``RLIMIT_FSIZE`` in a process of its own (a write past the limit fails with EFBIG; SIGXFSZ is ignored so
that the process lives to say so).

The parent (a test, with the sandbox org) calls :func:`run_cases`; this file, run as a script, is the
child: for each case it makes a good file with the pull unlimited, notes its bytes and rows, then runs
the same pull again (``--append``: continues a copy of a file made earlier) with the file size limited
to a fraction of what the pull writes, and reports what happened. The parent judges: the pull fails
with one typed line naming the cause, the good file is byte for byte as it was and still opens, no
part is left beside it, and the error's ``partial`` holds exactly the rows fetched before (a prefix
of the pull's rows).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

FORMATS = ("parquet", "csv", "jsonl")
KINDS = ("plain", "fan-out", "parallel", "append", "parallel append")
SCOPES = ["okta.users.read", "okta.groups.read", "okta.logs.read"]
PULL_BUCKETS = ("/api/v1/users", "/api/v1/groups", "/api/v1/groups/{id}", "/api/v1/logs")


def run_cases(sandbox: Any, folder: Path, cases: list[dict[str, Any]], *, since: str,
              until: str) -> list[dict[str, Any]]:
    """Run ``cases`` (each ``{"format", "kind", "fraction", "via": "script" or "magic"}``) in a child process
    against ``sandbox``; each case's report (see :func:`_case`) with the case's own keys."""
    for bucket in PULL_BUCKETS:  # many pulls in a row: the org's per-minute limits are not what is tried here
        sandbox.set_rate_limit(bucket, 100_000)
    job = {"url": sandbox.url, "token": sandbox.issue_token(user="admin", scopes=SCOPES), "since": since,
           "until": until, "folder": str(folder), "cases": cases}
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, __file__], input=json.dumps(job), capture_output=True, text=True, env=env,
                          timeout=900, check=False)
    results = folder / "results.json"
    assert done.returncode == 0 and results.exists(), f"the child failed ({done.returncode}):\n{done.stderr[-3000:]}"
    return json.loads(results.read_text())


# -- the child ---------------------------------------------------------------------------------


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _read(path: Path, fmt: str) -> Any:
    import pandas as pd

    if fmt == "parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str) if fmt == "csv" else pd.read_json(path, lines=True, dtype=False)


def _keys(frame: Any, kind: str) -> list[str]:
    """What identifies each row, in order: the event's uuid, the user's id, with a fan-out the group's id too."""
    if frame is None or not len(frame):
        return []
    if "append" in kind:
        return [str(v) for v in frame["uuid"]]
    if kind == "fan-out":
        return [f"{g}/{i}" for g, i in zip(frame["gid"], frame["id"], strict=True)]
    return [str(v) for v in frame["id"]]


class Child:
    """The child's session (signed in with the parent's token) and an IPython shell for the magic's cases."""

    def __init__(self, job: dict[str, Any]) -> None:
        import okta_magic

        self.job = job
        okta_magic.use_token(job["token"], org_url=job["url"])
        self.gids = list(okta_magic.get("/api/v1/groups")["id"])
        self.shell: Any = None

    def magic(self) -> Any:
        if self.shell is None:
            from IPython.core.interactiveshell import InteractiveShell

            self.shell = InteractiveShell.instance(history_length=0)
            self.shell.history_manager.enabled = False
            self.shell.run_line_magic("load_ext", "okta_magic")
            self.shell.user_ns["gids"] = self.gids
        return self.shell

    def pull(self, kind: str, target: Path, via: str, *, first: bool = False) -> Any:
        """The case's pull to ``target`` (``first``: the pull that makes the file an append continues)."""
        import okta_magic

        since, until = self.job["since"], self.job["until"]
        logs = f"/api/v1/logs?since={since}" + (f"&until={until}" if first else "") + "&limit=10"
        line = {"plain": "GET /api/v1/users?limit=10", "fan-out": "GET /api/v1/groups/{{gid}}/users?limit=20 "
                "--each gid=gids --concurrency 4", "parallel": "GET /api/v1/users?limit=10 --parallel 3",
                "append": f"GET {logs}", "parallel append": f"GET {logs}" + ("" if first else " --parallel 3")}[kind]
        append = "append" in kind and not first
        if via == "magic":
            return self.magic().run_line_magic("okta", f"{line} --to {target}" + (" --append" if append else ""))
        if kind == "fan-out":
            return okta_magic.get_each("/api/v1/groups/{gid}/users", gid=self.gids, limit=20, concurrency=4,
                                       to=str(target))
        if kind == "plain":
            return okta_magic.get("/api/v1/users", limit=10, to=str(target))
        if kind == "parallel":
            return okta_magic.get("/api/v1/users", limit=10, parallel=3, to=str(target))
        params = {"since": since, "limit": 10, **({"until": until} if first else {})}
        parallel = 3 if kind == "parallel append" and not first else None
        return okta_magic.get("/api/v1/logs", parallel=parallel, to=str(target), append=append, **params)


def _limit(size: int | None) -> None:
    soft = resource.RLIM_INFINITY if size is None else max(size, 1)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


class Made:
    """A pull's good file (what the limited pull must leave as it was) and what the pull writes unlimited."""

    def __init__(self, child: Child, fmt: str, kind: str, folder: Path) -> None:
        folder.mkdir(parents=True)
        self.good = folder / f"rows.{fmt}"
        child.pull(kind, self.good, "script", first=True)
        self.rows = len(_read(self.good, fmt))
        full = folder / "full" / self.good.name
        full.parent.mkdir()
        if "append" in kind:
            shutil.copyfile(self.good, full)
        child.pull(kind, full, "script")
        self.size = full.stat().st_size
        self.wanted = _keys(_read(full, fmt), kind)[self.rows if "append" in kind else 0:]


def _case(child: Child, made: Made, case: dict[str, Any], where: Path) -> dict[str, Any]:
    """One case: the good file copied in, the same pull under the size limit; what a person would check."""
    from okta_magic.errors import OktaMagicError

    fmt, kind, via = case["format"], case["kind"], case["via"]
    where.mkdir(parents=True)
    target = where / made.good.name
    shutil.copyfile(made.good, target)
    before = _digest(target)
    report: dict[str, Any] = {**case, "size": made.size, "limit": max(int(made.size * case["fraction"]), 1),
                              "wanted": len(made.wanted)}
    _limit(report["limit"])
    try:
        child.pull(kind, target, via)
        report.update(outcome="wrote the file", message="")
    except OktaMagicError as exc:
        report.update(outcome="failed", typed=True, error=type(exc).__name__, message=str(exc),
                      partial=_keys(exc.partial, kind) if exc.partial is not None and not hasattr(exc.partial, "path")
                      else None)
    except Exception as exc:  # noqa: BLE001 - the magic's UsageError, or anything untyped
        report.update(outcome="failed", typed=type(exc).__name__ == "UsageError", error=type(exc).__name__,
                      message=str(exc))
        if via == "magic":
            partial = child.magic().user_ns.pop("_okta_partial", None)
            report["partial"] = _keys(partial, kind) if partial is not None else None
    finally:
        _limit(None)
    report["unchanged"] = _digest(target) == before
    try:
        report["opens"] = len(_read(target, fmt)) == made.rows
    except Exception:  # noqa: BLE001 - a file that does not open is what this looks for
        report["opens"] = False
    report["left"] = sorted(p.name for p in where.iterdir() if p.name != target.name)
    report["rows"] = len(report.get("partial") or [])
    report["prefix"] = report.get("partial") is not None and report["partial"] == made.wanted[:report["rows"]]
    return report


def main() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
    job = json.loads(sys.stdin.read())
    folder = Path(job["folder"])
    child = Child(job)
    made: dict[tuple[str, str], Made] = {}
    results = []
    for i, case in enumerate(job["cases"]):
        key = (case["format"], case["kind"])
        if key not in made:
            made[key] = Made(child, *key, folder / f"made{len(made)}")
        results.append(_case(child, made[key], case, folder / f"case{i}"))
    (folder / "results.json").write_text(json.dumps(results))


if __name__ == "__main__":
    main()
