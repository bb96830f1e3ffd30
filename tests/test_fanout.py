"""Fan-out (``--each`` / ``get_each``) against the sandbox org over real HTTP: the same rows as a loop of single
requests, failures kept apart, Ctrl-C and ``--resume``, and the requests in flight."""

from __future__ import annotations

import threading

import pandas as pd
import pytest
from IPython.core.error import UsageError

import okta_magic
from okta_magic.api import current_session

SCOPES = "openid okta.users.read okta.groups.read"


@pytest.fixture
def nb(shell):
    """The shell signed in to its sandbox as admin, with the org's groups in ``groups``."""
    shell.run_line_magic("okta_login", f'--sandbox --as admin --scopes "{SCOPES}"')
    shell.user_ns["groups"] = shell.run_line_magic("okta", "GET /api/v1/groups")
    return shell


def _loop(values: list[str]) -> pd.DataFrame:
    """The one-by-one loop a user would otherwise write."""
    frames = [okta_magic.get(f"/api/v1/groups/{gid}/users").assign(gid=gid) for gid in values]
    return pd.concat(frames, ignore_index=True)


def test_each_equals_the_one_by_one_loop(nb):
    groups = nb.user_ns["groups"]
    each = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=groups.id")
    loop = _loop(list(groups["id"]))
    assert list(each.columns[:2]) == ["gid", "profile.login"]  # the value, then who each user is
    assert each["gid"].tolist() == loop["gid"].tolist()  # the values, in the order given, each group's rows
    assert each["id"].tolist() == loop["id"].tolist()
    assert each["profile.login"].tolist() == loop["profile.login"].tolist()
    assert set(each.columns) == set(loop.columns)
    one = okta_magic.get(f"/api/v1/groups/{groups['id'].iloc[0]}/users")  # dtypes of a plain pull of one request
    assert (each.dtypes[one.columns] == one.dtypes).all()
    assert each.attrs["okta_failures"].empty


def test_duplicates_are_requested_once_and_an_object_answer_is_one_row(nb):
    sandbox = current_session().sandbox
    ids = sandbox.user_ids()[:5]
    nb.user_ns["ids"] = ids + ids[:2]
    sandbox.reset_stats()
    users = nb.run_cell_magic("okta", "--each uid=ids", "GET /api/v1/users/{{uid}}\n")
    assert sandbox.stats().total == 5
    assert users["uid"].tolist() == ids and users["id"].tolist() == ids


def test_get_each_is_the_same_as_the_magic(nb):
    groups = nb.user_ns["groups"]
    magic = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=groups.id --concurrency 3")
    script = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"], concurrency=3)
    pd.testing.assert_frame_equal(magic, script)


def test_never_more_in_flight_than_the_cap_and_no_429_caused(nb):
    sandbox = current_session().sandbox
    sandbox.set_knobs(concurrency_limit=4, latency=0.02)
    sandbox.set_rate_limit("/api/v1/groups/{id}", 1000)
    try:
        sandbox.reset_stats()
        nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users?limit=50 --each gid=groups.id --concurrency 4")
        stats = sandbox.stats()
    finally:
        sandbox.set_knobs(concurrency_limit=75, latency=0.0)
    assert stats.throttled["rate"] == 0 and stats.throttled["concurrency"] == 0
    assert 1 < stats.peak_in_flight <= 4
    assert stats.count(status=200) == stats.total


@pytest.mark.parametrize("pacer_cap", [16, 5])
def test_spare_threads_never_put_more_than_the_concurrency_in_flight(nb, pacer_cap):
    # The batch runs half again as many threads as its concurrency (they decode while others send); each
    # request chain holds a slot until its last body is read, below the pacer's cap (16) and at it (5).
    sandbox, client = current_session().sandbox, current_session().client
    nb.user_ns["uids"] = sandbox.user_ids()[:60]
    sandbox.set_knobs(concurrency_limit=5, latency=0.02)
    client.pacer.set_concurrency(pacer_cap)
    try:
        sandbox.reset_stats()
        frame = nb.run_line_magic("okta", "GET /api/v1/users/{{uid}}/groups --each uid=uids --concurrency 5")
        stats = sandbox.stats()
    finally:
        sandbox.set_knobs(concurrency_limit=75, latency=0.0)
        client.pacer.set_concurrency(16)
    assert frame["uid"].nunique() == 60
    assert stats.throttled["concurrency"] == 0 and stats.count(status=429) == 0
    assert 1 < stats.peak_in_flight <= 5 and client.pacer.figures().peak_in_flight <= 5


def test_a_failed_value_is_reported_after_the_frame_and_the_others_kept(nb, capsys):
    groups = nb.user_ns["groups"]
    nb.user_ns["gids"] = ["00gDELETED0000000000", *groups["id"][:3]]
    outcome = nb.run_cell("df = %okta GET /api/v1/groups/{{gid}}/users --each gid=gids\ndf")
    assert outcome.error_in_exec is None
    df = nb.user_ns["df"]
    assert set(df["gid"]) == set(groups["id"][:3])
    failures = df.attrs["okta_failures"]
    assert failures["value"].tolist() == ["00gDELETED0000000000"]
    assert failures["status"].tolist() == [404] and failures["errorCode"].tolist() == ["E0000007"]
    captured = capsys.readouterr()
    assert "1 of 4 requests failed" in captured.err
    out = captured.out
    assert "00gDELETED0000000000" in out and out.index("00gDELETED0000000000") > out.index(" columns]")


@pytest.mark.parametrize("dots", ["..", "."])
def test_a_dot_segment_value_is_that_value_s_failure_and_never_sent(nb, capsys, dots):
    # ".." in /groups/{{gid}}/users would reach /api/v1/users: every user of the org labelled as the group's
    sandbox = current_session().sandbox
    groups = nb.user_ns["groups"]
    nb.user_ns["gids"] = [dots, groups["id"].iloc[0]]
    sandbox.reset_stats()
    each = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=gids")
    assert sandbox.stats().total == 1  # only the real group's request went out
    one = okta_magic.get(f"/api/v1/groups/{groups['id'].iloc[0]}/users")
    assert set(each["gid"]) == {groups["id"].iloc[0]} and each["id"].tolist() == one["id"].tolist()
    failures = each.attrs["okta_failures"]
    assert failures["value"].tolist() == [dots] and pd.isna(failures["status"].iloc[0])
    assert f"{{{{gid}}}} is {dots!r}" in failures["summary"].iloc[0] and "not sent" in failures["summary"].iloc[0]
    assert "1 of 2 requests failed" in capsys.readouterr().err
    assert dots not in each.attrs["okta_fanout"].done  # a resume tries it again (and says the same)


def test_a_dot_segment_from_the_script_api_is_refused_or_listed(nb, tmp_path):
    from okta_magic.errors import RequestError

    gid = nb.user_ns["groups"]["id"].iloc[0]
    with pytest.raises(RequestError, match=r"/api/v1/groups/\.\./users holds the segment '\.\.'.*would reach "
                                           r"/api/v1/users"):
        okta_magic.get("/api/v1/groups/{}/users".format(".."))
    each = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=["..", gid])
    assert set(each["gid"]) == {gid} and each.attrs["okta_failures"]["value"].tolist() == [".."]
    written = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=["..", gid], to=str(tmp_path / "m.csv"))
    assert written.rows == len(each) and written.failures["value"].tolist() == [".."]
    assert set(pd.read_csv(tmp_path / "m.csv")["gid"]) == {gid}


def test_a_dot_segment_in_another_variable_stops_the_fan_out(nb):
    nb.user_ns["base"] = ".."
    with pytest.raises(UsageError, match=r"\{\{base\}\} is '\.\.'"):
        nb.run_line_magic("okta", "GET /api/v1/groups/{{base}}/{{gid}} --each gid=groups.id")


def test_resume_fetches_only_what_is_missing(nb):
    sandbox = current_session().sandbox
    groups = nb.user_ns["groups"]
    nb.user_ns["gids"] = ["00gDELETED0000000000", *groups["id"][:4]]
    first = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=gids")
    assert len(first.attrs["okta_failures"]) == 1
    nb.user_ns["gids"] = [*groups["id"][:6]]  # the deleted one dropped, two more groups
    sandbox.reset_stats()
    resumed = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=gids --resume")
    assert sandbox.stats().total == 2  # only the two new groups
    full = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=gids")
    pd.testing.assert_frame_equal(resumed, full)


def test_ctrl_c_keeps_the_rows_with_the_value_column_and_resume_finishes(nb):
    import _thread

    sandbox = current_session().sandbox
    sandbox.set_knobs(latency=0.1)
    try:
        timer = threading.Timer(0.7, _thread.interrupt_main)
        timer.start()
        outcome = nb.run_cell("df = %okta GET /api/v1/groups/{{gid}}/users?limit=20 --each gid=groups.id "
                              "--concurrency 2")
        timer.cancel()
    finally:
        sandbox.set_knobs(latency=0.0)
    assert "df" not in nb.user_ns
    assert isinstance(outcome.error_in_exec, UsageError)
    partial = nb.user_ns["_okta_partial"]
    assert str(outcome.error_in_exec) == (f"Interrupted: the {len(partial):,} rows fetched so far are in "
                                          "`_okta_partial` (--resume fetches the rest).")
    assert 0 < len(partial) and partial.columns[0] == "gid"
    assert set(partial["gid"]) < set(nb.user_ns["groups"]["id"])
    done = partial.attrs["okta_fanout"].done
    sandbox.reset_stats()
    resumed = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users?limit=20 --each gid=groups.id "
                                        "--concurrency 2 --resume")
    assert sandbox.stats().total >= len(nb.user_ns["groups"]) - len(done)
    full = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users?limit=20 --each gid=groups.id")
    pd.testing.assert_frame_equal(resumed, full)


@pytest.mark.parametrize(("line", "words"), [
    ("GET /api/v1/groups/{{gid}}/users --each gid", "--each takes NAME=EXPRESSION"),
    ("GET /api/v1/groups/{{gid}}/users --each gid=nothing_here", "NameError"),
    ("GET /api/v1/groups/{{gid}}/users --each gid=groups", "whole table"),
    ("GET /api/v1/groups/{{x}}/users --each gid=groups.id", "no {{gid}}"),
    ("GET /api/v1/groups/{{gid}}/users --each gid=groups.id --concurrency 0", "from 1 to 75"),
    ("GET /api/v1/groups/{{gid}}/users --each gid=groups.id --parallel 2", "do not combine"),
    ("GET /api/v1/groups/{{gid}}/users --each gid=groups.id --max-rows 5", "--max-rows does not go with --each"),
    ("GET /api/v1/groups --concurrency 4", "goes with --each"),
    ("GET /api/v1/groups/{{gid}}/roles --each gid=groups.id --resume", "Nothing to resume"),
    ("DELETE /api/v1/groups/{{gid}} --each gid=groups.id", "GET requests only"),
])
def test_bad_values_are_one_line(nb, line, words):
    with pytest.raises(UsageError) as info:
        nb.run_line_magic("okta", line)
    assert words in str(info.value) and "\n" not in str(info.value)


class _Broken:
    """A client whose every stream fails with a bug (not an Okta error)."""

    def stream(self, *args, **kwargs):
        class Stream:
            def __iter__(self):
                raise RuntimeError("a bug in the page reader")

            def close(self) -> None:
                pass

        return Stream()


def test_a_bug_in_a_worker_surfaces_and_an_empty_batch_returns_at_once():
    from okta_magic.pulls.fanout import pull_many
    from okta_magic.pulls.request import parse_request

    request = parse_request("GET /api/v1/groups")
    broken = _Broken()
    with pytest.raises(RuntimeError, match="a bug"):
        pull_many(broken, [(n, request) for n in range(40)], concurrency=4, progress=False)
    empty = pull_many(broken, [], concurrency=4, progress=False)
    assert (empty.data, empty.done, empty.failures) == ({}, set(), [])


class _Counted:
    """A long list of parts that counts how many have been taken from it."""

    def __init__(self, parts: list) -> None:
        self.parts, self.taken = parts, 0

    def __len__(self) -> int:
        return len(self.parts)

    def __iter__(self):
        for part in self.parts:
            self.taken += 1
            yield part


def test_a_long_fan_out_hands_its_requests_to_the_workers_a_few_at_a_time():
    # 100,000 values used to become 100,000 futures before the first answer (about 200 MB); now the pool
    # gets a few per worker and more as they finish, and every value is still pulled once.
    import httpx

    from okta_magic.http.client import OktaClient
    from okta_magic.pulls.fanout import QUEUED_PER_WORKER, pull_many
    from okta_magic.pulls.request import parse_request

    gate, seen = threading.Event(), []

    def handler(request: httpx.Request) -> httpx.Response:
        gate.wait(10)
        seen.append(request.url.path)
        return httpx.Response(200, json=[{"id": request.url.path.rsplit("/", 1)[-1]}])

    client = OktaClient("https://dev-1.okta.com", lambda: "Bearer x", transport=httpx.MockTransport(handler),
                        progress=False)
    parts = _Counted([(n, parse_request(f"GET /api/v1/users/u{n}")) for n in range(3000)])
    result: dict = {}
    worker = threading.Thread(target=lambda: result.setdefault("batch", pull_many(
        client, parts, concurrency=2, progress=False)))
    worker.start()
    try:
        deadline = threading.Event()
        deadline.wait(1.0)  # the workers are blocked in their first requests by now
        assert 0 < parts.taken <= QUEUED_PER_WORKER * 3 + 1  # concurrency 2: three threads
    finally:
        gate.set()
        worker.join(60)
    batch = result["batch"]
    assert batch.done == set(range(3000)) and len(seen) == 3000 and not batch.errors
