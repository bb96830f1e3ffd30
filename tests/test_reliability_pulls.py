"""Reliability: seeded faulty pulls through the sandbox org's fault knobs, on a fake clock.

Each run pulls every user of the sandbox org (several pages) while the sandbox misbehaves in one
seeded way: 5xx answers, 429s (the knob, or a real per-minute limit low enough to hit), dropped
connections, latency, a mix, or the access token revoked in the middle of the pull (with and
without a refresh token). Waits go through a sleep that moves the sandbox's clock instead of
waiting, so a 60-second rate-limit window costs no real time.

A run holds when it ends in one of two ways: the result equals the clean pull exactly (same rows,
same order, same values), or it fails with a typed okta_magic error whose ``partial`` is an exact
prefix of the clean pull (the rows fetched before the failure, none lost, none invented). Anything
else (an untyped exception, a row missing or doubled, a hang) does not hold. The figures go to
docs/reliability.md through ``reliability.record``; the test fails if any run did not hold.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from reliability import record

from okta_magic.oauth import revocation
from okta_magic.http.client import OktaClient, Progress
from okta_magic.errors import OktaMagicError
from okta_magic.http.stream import AHEAD
from okta_magic.pulls.pull import fetch
from okta_magic.pulls.request import parse_request
from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session
from okta_magic.tokens import Token

RUNS = 64
USERS = 450
SEED = 20_251_101
SCOPES = ["okta.users.read"]
KINDS = ("5xx", "429 knob", "429 limit", "drops", "latency", "mixed", "revoked, refreshable",
         "revoked, not refreshable")


class SandboxSleep:
    """A sleep that moves the sandbox's clock instead of waiting."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.slept = 0.0

    def __call__(self, seconds: float) -> None:
        self.slept += seconds
        self.sandbox.advance_clock(seconds)


@dataclass
class Run:
    """One seeded run: what was done to the sandbox and how the pull ended."""

    index: int
    kind: str
    limit: int
    raw: bool
    knobs: dict[str, float]
    outcome: str = ""
    held: bool = False
    detail: str = ""


SANDBOX = {"users": USERS, "seed": SEED % 1000}  # this module's sandbox org (conftest.py)


def _calm(sandbox: Sandbox) -> None:
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
    sandbox.set_rate_limit("/api/v1/users", 600)


def _client(sandbox: Sandbox, token: str, sleep: SandboxSleep) -> OktaClient:
    return OktaClient(sandbox.url, lambda: f"Bearer {token}", held_scopes=lambda: SCOPES, sleep=sleep, clock=sandbox.clock,
                      progress=False, say=lambda line: None)


def _cells(frame: pd.DataFrame, column: str) -> list[Any]:
    """A column as plain values, every kind of missing as None (a partial frame may type a column otherwise)."""
    values = frame[column].astype(object).tolist()
    return [None if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)) else
            v.isoformat() if isinstance(v, pd.Timestamp) else v for v in values]


def _same_rows(got: Any, clean: Any, rows: int) -> bool:
    """``got`` holds exactly the first ``rows`` rows of ``clean`` (records, or a frame's columns and values)."""
    if isinstance(clean, list):
        return isinstance(got, list) and got == clean[:rows]
    if not isinstance(got, pd.DataFrame) or len(got) != rows or not set(got.columns) <= set(clean.columns):
        return False
    head = clean.iloc[:rows].reset_index(drop=True)
    empty = [c for c in clean.columns if c not in got.columns]  # only columns with no value in those rows
    if any(head[c].notna().any() for c in empty):
        return False
    return all(_cells(got.reset_index(drop=True), c) == _cells(head, c) for c in got.columns)


class Pulls:
    """The clean pulls (one per page size and shape) every faulty run is compared with."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._clean: dict[tuple[int, bool], Any] = {}

    def clean(self, limit: int, raw: bool) -> Any:
        if (limit, raw) not in self._clean:
            _calm(self.sandbox)
            token = self.sandbox.issue_token(user="admin", scopes=SCOPES)
            result = fetch(_client(self.sandbox, token, SandboxSleep(self.sandbox)), self.request(limit), raw=raw)
            assert result.rows == len(self.sandbox.user_ids()) and result.pages == -(-result.rows // limit)
            self._clean[(limit, raw)] = result.data
        return self._clean[(limit, raw)]

    @staticmethod
    def request(limit: int) -> Any:
        return parse_request(f"GET /api/v1/users?limit={limit}")


def _judge(run: Run, pull: Callable[[], Any], clean: Any) -> None:
    """Run the pull and decide whether it held: exact, or a typed failure keeping an exact prefix."""
    total = len(clean)
    try:
        result = pull()
    except OktaMagicError as exc:
        partial = exc.partial
        kept = 0 if partial is None else len(partial)
        run.outcome = "failed, prefix kept"
        run.held = kept < total and (partial is None or _same_rows(partial, clean, kept))
        run.detail = f"{type(exc).__name__} after {kept} of {total} rows"
        return
    except Exception as exc:  # noqa: BLE001 - anything untyped is what this suite looks for
        run.outcome, run.held, run.detail = "untyped error", False, f"{type(exc).__name__}: {exc}"[:200]
        return
    run.outcome = "exact"
    run.held = not result.interrupted and _same_rows(result.data, clean, total) and result.rows == total
    run.detail = f"{result.rows} rows in {result.pages} pages"


def _knobs(kind: str, rng: random.Random) -> dict[str, float]:
    """The fault knobs of one run, drawn from its own seeded generator."""
    if kind == "5xx":
        return {"error_rate": rng.uniform(0.1, 0.75)}
    if kind == "429 knob":
        return {"rate_429": rng.uniform(0.1, 0.75)}
    if kind == "429 limit":
        return {"per_minute": float(rng.randint(2, 6))}
    if kind == "drops":
        return {"drop_rate": rng.uniform(0.2, 0.8)}
    if kind == "latency":
        return {"latency": rng.uniform(0.001, 0.01)}
    if kind == "mixed":
        return {"error_rate": rng.uniform(0, 0.4), "rate_429": rng.uniform(0, 0.4),
                "drop_rate": rng.uniform(0, 0.3), "latency": rng.uniform(0, 0.003)}
    return {"error_rate": rng.uniform(0, 0.15)}  # the revoked runs: a few 5xx as well


def _apply(sandbox: Sandbox, knobs: dict[str, float]) -> None:
    _calm(sandbox)
    if "per_minute" in knobs:
        sandbox.set_rate_limit("/api/v1/users", int(knobs["per_minute"]))
    sandbox.set_knobs(**{k: v for k, v in knobs.items() if k != "per_minute"})


def _revoke_after(pages: int, revoke: Callable[[], None]) -> Callable[[Progress], None]:
    """A progress callable that revokes the access token once ``pages`` pages have arrived."""
    done = []

    def on_progress(progress: Progress) -> None:
        if progress.pages >= pages and not done:
            done.append(True)
            revoke()

    return on_progress


def _refreshable_session(sandbox: Sandbox, sleep: SandboxSleep) -> Session:
    """A session signed in to the sandbox's offline app (a refresh token), on the sandbox clock."""
    session = Session(clock=sandbox.clock, sleep=sleep, sandbox=sandbox)  # the module's sandbox, never stopped here
    config = session.resolve_config({**session.kernel_sandbox.settings("offline"),
                                     "scopes": "openid offline_access okta.users.read"})
    session.sign_in_browser(config, open_browser=session.kernel_sandbox.browser("admin"), timeout=30).wait(30)
    return session


def test_seeded_faulty_pulls_are_exact_or_fail_keeping_an_exact_prefix(sandbox: Sandbox) -> None:
    pulls = Pulls(sandbox)
    sleep = SandboxSleep(sandbox)
    session = _refreshable_session(sandbox, sleep)
    runs: list[Run] = []
    try:
        for index in range(RUNS):
            rng = random.Random(SEED + index)
            kind = KINDS[index % len(KINDS)]
            limit = rng.choice((50, 100, 150))
            if kind.startswith("revoked"):
                limit = 50  # the most pages (9): some are still to be asked for after the read-ahead
            run = Run(index, kind, limit, rng.random() < 0.3, _knobs(kind, rng))
            clean = pulls.clean(run.limit, run.raw)
            # Up to AHEAD + 1 pages are already on their way when page k arrives (the read-ahead): revoking
            # after page k, at the latest AHEAD + 2 pages from the end, leaves at least one request that
            # meets the revoked token.
            revoke_at = rng.randint(1, max(1, -(-len(clean) // run.limit) - AHEAD - 2))
            _apply(sandbox, run.knobs)
            request = Pulls.request(run.limit)
            if kind == "revoked, refreshable":
                token = session.current_token()
                conf = session.config
                assert conf is not None
                revoke = _revoke_after(revoke_at, lambda: revocation.revoke_token(
                    conf.org_url, conf.client_id, session.current_token(), "access_token",
                    http=session.oauth_http()))
                _judge(run, lambda: fetch(session.client, request, raw=run.raw, progress=revoke), clean)
                if run.held and run.outcome == "exact" and session.current_token().access_token == token.access_token:
                    run.held, run.detail = False, "the token was not refreshed"
            elif kind == "revoked, not refreshable":
                secret = sandbox.issue_token(user="admin", scopes=SCOPES)
                revoke = _revoke_after(revoke_at, lambda: revocation.revoke_token(
                    sandbox.url, sandbox.apps["native"].client_id, Token.from_access_token(secret), "access_token"))
                _judge(run, lambda: fetch(_client(sandbox, secret, sleep), request, raw=run.raw, progress=revoke), clean)
            else:
                secret = sandbox.issue_token(user="admin", scopes=SCOPES)
                _judge(run, lambda: fetch(_client(sandbox, secret, sleep), request, raw=run.raw), clean)
            runs.append(run)
    finally:
        _calm(sandbox)
        session.close()  # (a shared sandbox: the module fixture stops it)

    held = sum(run.held for run in runs)
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        by_kind[run.kind][run.outcome if run.held else "did not hold"] += 1
    rows = [(kind, ", ".join(f"{n} {what}" for what, n in sorted(by_kind[kind].items()))) for kind in KINDS]
    record(
        "test_reliability_pulls",
        "Seeded faulty pulls",
        len(runs),
        held,
        f"Each run pulls all {len(pulls.clean(50, False))} users of the sandbox org (3 to 9 pages, as a DataFrame "
        "or as raw records) while the sandbox misbehaves in one seeded way: 5xx answers, 429s (from the knob, or "
        "from a per-minute limit of 2 to 6 requests), dropped connections, latency, all of them mixed, or the "
        "access token revoked in the middle of the pull, with a refresh token (the pull must refresh it and "
        "finish exactly) and without one. Waits move the sandbox's clock instead of sleeping, so 429 windows "
        f"cost no real time ({sleep.slept / 60:.0f} minutes of waiting were skipped). A run holds when its "
        "result equals the clean pull exactly, or when it fails with a typed okta_magic error whose `partial` "
        "is an exact prefix of the clean pull.",
        rows,
    )
    broken = [f"run {r.index} ({r.kind}, knobs {r.knobs}, limit {r.limit}): {r.outcome}: {r.detail}"
              for r in runs if not r.held]
    assert not broken, "\n".join(broken)
    outcomes = Counter(run.outcome for run in runs)
    assert outcomes["exact"] >= RUNS // 2 and outcomes["failed, prefix kept"] >= 1, outcomes
