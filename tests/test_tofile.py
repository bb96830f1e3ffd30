"""``--to PATH`` / ``to=``: a pull written to Parquet, CSV or JSON Lines as it arrives (a plain pull, a fan-out, a
partitioned pull); ``--append`` on the System Log."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
from IPython.core.error import UsageError

import okta_magic
from _file_limits import FORMATS, KINDS, run_cases
from _sandbox_client import client
from okta_magic.errors import RequestError

from okta_magic.http.client import OktaClient
from okta_magic.frames import FrameBuilder
from okta_magic.frames.tofile import FileSink
from okta_magic.pulls.pull import fetch, fetch_to
from okta_magic.pulls.request import parse_request
from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 1200, "seed": 11}
SCOPES = ["okta.users.read", "okta.logs.read", "okta.groups.manage", "okta.groups.read"]


@pytest.fixture(autouse=True)
def calm(sandbox: Sandbox) -> Iterator[None]:
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
    yield
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)


# A frame's column that needs the whole answer (docs/frames.md): a file written in several batches has none.
FRAME_ONLY = ["profile.managerLogin"]


def _same(frame: pd.DataFrame, back: pd.DataFrame, *, batches: int = 1) -> None:
    """Values and dtypes equal; a categorical's categories may come in another order. A file written in one piece
    holds every column of the frame; one written in several ``batches`` all but FRAME_ONLY's."""
    if batches > 1:
        assert not set(FRAME_ONLY) & set(back.columns)
        frame = frame.drop(columns=FRAME_ONLY, errors="ignore")
    assert list(back.columns) == list(frame.columns)
    assert {n: str(t) for n, t in back.dtypes.items()} == {n: str(t) for n, t in frame.dtypes.items()}
    pd.testing.assert_frame_equal(back, frame, check_categorical=False)


def test_parquet_file_equals_the_dataframe_of_the_same_pull(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "users.parquet"
    with client(sandbox, SCOPES) as c:
        pulled = fetch(c, parse_request("GET /api/v1/users?limit=20"))
        written = fetch_to(c, parse_request("GET /api/v1/users?limit=20"), target).data
    frame = pulled.data
    assert (written.rows, written.pages, written.path) == (len(frame), pulled.pages, str(target))
    assert written.size == target.stat().st_size and "users.parquet" in repr(written)
    assert pq.ParquetFile(target).num_row_groups == 2  # a row group per 32 pages
    assert "profile.managerLogin" in frame.columns
    _same(frame, pd.read_parquet(target), batches=2)
    assert pq.read_table(target).num_rows == len(frame)


def test_csv_and_json_lines_hold_the_same_rows(sandbox: Sandbox, tmp_path: Path) -> None:
    with client(sandbox, SCOPES) as c:
        frame = fetch(c, parse_request("GET /api/v1/users?limit=200")).data
        for name in ("users.csv", "users.jsonl"):
            assert fetch_to(c, parse_request("GET /api/v1/users?limit=200"), tmp_path / name).data.rows == len(frame)
    csv_back = pd.read_csv(tmp_path / "users.csv")
    lines = pd.read_json(tmp_path / "users.jsonl", lines=True)
    assert list(csv_back.columns) == list(frame.columns)  # 6 pages, one batch: managers' logins too
    assert csv_back["id"].tolist() == frame["id"].tolist()
    assert lines["id"].tolist() == frame["id"].tolist()
    assert csv_back["profile.login"].tolist() == frame["profile.login"].tolist()
    managers = frame["profile.managerLogin"]
    assert managers.notna().any()
    assert csv_back["profile.managerLogin"].fillna("").tolist() == managers.fillna("").tolist()


def _pages() -> list[list[dict[str, Any]]]:
    """Pages where a column first appears late and another widens from integers to decimals."""
    one = [{"id": f"a{i}", "status": "ACTIVE", "n": i, "created": "2024-01-02T03:04:05.000Z"} for i in range(3)]
    two = [{"id": f"b{i}", "status": "SUSPENDED", "n": i + 0.5, "profile": {"costCenter": "CC1"}} for i in range(2)]
    three = [{"id": f"c{i}", "status": "ACTIVE", "n": 7, "extra": [1, 2]} for i in range(2)]
    return [one, two, three]


@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_columns_that_appear_on_later_pages(tmp_path: Path, suffix: str) -> None:
    builder = FrameBuilder("users")
    sink = FileSink(tmp_path / f"out.{suffix}", "users", batch_pages=1)
    for page in _pages():
        builder.add(page)
        sink.add_page(page)
    written = sink.close()
    frame = builder.build()
    assert written.rows == 7 and written.pages == 3
    assert [p.name for p in tmp_path.iterdir()] == [f"out.{suffix}"]  # the parts are merged away
    if suffix == "parquet":
        assert pq.ParquetFile(tmp_path / "out.parquet").num_row_groups == 3
        back = pd.read_parquet(tmp_path / "out.parquet")
        pd.testing.assert_frame_equal(back.drop(columns="extra"), frame.drop(columns="extra"), check_categorical=False)
        assert [list(v) if v is not None else None for v in back["extra"]] == frame["extra"].tolist()
    else:
        back = pd.read_csv(tmp_path / "out.csv") if suffix == "csv" else pd.read_json(tmp_path / "out.jsonl",
                                                                                       lines=True)
        assert set(back.columns) == set(frame.columns) and back["id"].tolist() == frame["id"].tolist()
        assert back["profile.costCenter"].tolist()[3:5] == ["CC1", "CC1"]


class Interrupting(httpx.HTTPTransport):
    """Ctrl-C on the fourth request."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls == 4:
            raise KeyboardInterrupt
        return super().handle_request(request)


def test_an_interrupted_pull_leaves_a_file_of_exactly_the_rows_fetched(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "users.parquet"
    with client(sandbox, SCOPES, transport=Interrupting()) as c:
        result = fetch_to(c, parse_request("GET /api/v1/users?limit=100"), target)
    assert result.interrupted and result.data.rows == 300
    assert "Interrupted after 3 page(s)" in (result.note or "") and "users.parquet" in (result.note or "")
    assert pd.read_parquet(target)["id"].tolist() == sandbox.user_ids()[:300]
    assert [p.name for p in tmp_path.iterdir()] == ["users.parquet"]


def _days_ago(sandbox: Sandbox, days: int) -> str:
    moment = datetime.fromtimestamp(sandbox.clock() - days * 86_400, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _make_events(c: OktaClient, n: int, tag: str) -> None:
    for i in range(n):
        fetch(c, parse_request('POST /api/v1/groups\n\n{"profile": {"name": "' + f"{tag}-{i}" + '"}}'))


def test_append_continues_the_system_log_without_duplicates_or_gaps(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "logs.parquet"
    line = f"GET /api/v1/logs?since={_days_ago(sandbox, 30)}&limit=100"
    with client(sandbox, SCOPES) as c:
        first = fetch_to(c, parse_request(line), target, append=True).data
        _make_events(c, 3, "morning-one")
        second = fetch_to(c, parse_request(line), target, append=True).data
        sandbox.advance_clock(60)
        _make_events(c, 4, "morning-two")
        third = fetch_to(c, parse_request(line), target, append=True).data
        everything = fetch(c, parse_request(line)).data
    assert second.appended_to == first.rows and third.appended_to == first.rows + second.rows
    assert second.rows >= 3 and third.rows >= 4
    back = pd.read_parquet(target)
    assert back["uuid"].is_unique
    assert sorted(back["uuid"]) == sorted(everything["uuid"])
    assert back["published"].is_monotonic_increasing
    assert pq.read_table(target).num_rows == len(everything)
    import duckdb
    import polars as pl

    assert duckdb.sql(f"select count(distinct uuid) from read_parquet('{target}')").fetchall()[0][0] == len(everything)
    in_polars = pl.read_parquet(target)
    assert in_polars["uuid"].n_unique() == in_polars.height == len(everything)
    assert in_polars["published"].is_sorted()


def test_append_with_nothing_new_keeps_the_file(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "logs.jsonl"
    line = f"GET /api/v1/logs?since={_days_ago(sandbox, 30)}&limit=500"
    with client(sandbox, SCOPES) as c:
        first = fetch_to(c, parse_request(line), target, append=True).data
        again = fetch_to(c, parse_request(line), target, append=True).data
    assert again.rows == 0 and again.appended_to == first.rows
    assert pd.read_json(target, lines=True)["uuid"].is_unique


@pytest.mark.parametrize(("options", "words"), [
    ("--to users.xlsx", "suffix says its format: .parquet, .csv or .jsonl (not '.xlsx'). Name a file with --to, "
                        "e.g. --to users.parquet."),
    ("--to /no/such/folder/users.parquet", "no such folder. Write the file where you may with --to PATH."),
    ("--append", "Appending needs the file to continue, and none is named. Name it with --to, e.g. --to "
                 "logs.parquet --append."),
    ("--to users.parquet --append", "System Log file (GET /api/v1/logs?since=...), not /api/v1/users. Drop --append."),
    ("--to users.parquet --raw", "not the raw answer. Drop --raw (or --to, for the raw answer)."),
])
def test_bad_targets_are_one_usage_line(shell: Any, options: str, words: str) -> None:
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("okta", f"GET /api/v1/users {options}")
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("options", "words"), [
    ({"to": "users.xlsx"}, "Name a file with to=, e.g. to='users.parquet'."),
    ({"to": "/no/such/folder/users.parquet"}, "no such folder. Write the file where you may with to=PATH."),
    ({"append": True}, "Appending needs the file to continue, and none is named. Name it with to=, e.g. "
                       "to='logs.parquet', append=True."),
    ({"to": "users.parquet", "append": True}, "not /api/v1/users. Drop append=True."),
    ({"to": "users.parquet", "raw": True}, "not the raw answer. Drop raw=True (or to=, for the raw answer)."),
])
def test_bad_targets_in_a_script_are_worded_for_a_script(options: dict[str, Any], words: str) -> None:
    with pytest.raises(RequestError) as info:
        okta_magic.request("GET /api/v1/users", **options)
    message = str(info.value)
    assert words in message and "\n" not in message and "--" not in message


def test_magic_writes_and_returns_a_summary(shell: Any, tmp_path: Path, capsys: Any) -> None:
    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read"')
    target = tmp_path / "users.parquet"
    summary = shell.run_line_magic("okta", f"GET /api/v1/users?limit=200 --to {target}")
    assert summary.rows == len(pd.read_parquet(target)) and summary.path == str(target)
    shell.run_line_magic("okta", f"-o w GET /api/v1/users?limit=200 --to {target}")
    assert "users.parquet" in capsys.readouterr().out


def test_script_api_get_and_get_each_write_files(shell: Any, tmp_path: Path) -> None:
    import okta_magic

    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read okta.groups.read"')
    users = okta_magic.get("/api/v1/users", limit=200)
    written = okta_magic.get("/api/v1/users", limit=200, to=str(tmp_path / "users.parquet"))
    _same(users, pd.read_parquet(tmp_path / "users.parquet"))
    assert written.rows == len(users)
    groups = okta_magic.get("/api/v1/groups", limit=3, max_pages=1)
    members = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"])
    each = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"], to=str(tmp_path / "members.parquet"))
    assert each.rows == len(members)
    _same(members, pd.read_parquet(tmp_path / "members.parquet"))
    with pytest.raises(Exception, match="suffix"):
        okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"], to=str(tmp_path / "members.xls"))


class Failing(httpx.HTTPTransport):
    """The connection drops from the fourth request on."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        if self.calls >= 4:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return super().handle_request(request)


def test_a_failed_pull_leaves_a_file_of_the_rows_fetched_and_says_so(sandbox: Sandbox, tmp_path: Path) -> None:
    from okta_magic.errors import OktaMagicError

    target = tmp_path / "users.csv"
    with client(sandbox, SCOPES, transport=Failing()) as c, pytest.raises(OktaMagicError) as info:
        fetch_to(c, parse_request("GET /api/v1/users?limit=100"), target)
    assert info.value.partial.rows == 300 and "users.csv" in repr(info.value.partial)
    assert pd.read_csv(target)["id"].tolist() == sandbox.user_ids()[:300]


# -- fan-outs and partitioned pulls written as they arrive ----------------------------------


@pytest.fixture
def nb(shell: Any) -> Any:
    """The shell signed in to its sandbox as admin, with the org's groups in ``groups``."""
    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read okta.groups.read '
                                       'okta.logs.read okta.groups.manage"')
    shell.user_ns["groups"] = shell.run_line_magic("okta", "GET /api/v1/groups")
    return shell


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_a_fan_out_file_equals_its_dataframe_and_a_failed_value_is_in_the_summary(nb: Any, tmp_path: Path,
                                                                                 capsys: Any, suffix: str) -> None:
    nb.user_ns["gids"] = [*nb.user_ns["groups"]["id"], "00gDELETED0000000000"]
    frame = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users?limit=50 --each gid=gids --concurrency 4")
    target = tmp_path / f"members{suffix}"
    summary = nb.run_line_magic("okta", f"GET /api/v1/groups/{{{{gid}}}}/users?limit=50 --each gid=gids "
                                        f"--concurrency 4 --to {target}")
    assert summary.rows == len(frame) > 50 and summary.pages > len(nb.user_ns["gids"])
    assert summary.failures["value"].tolist() == ["00gDELETED0000000000"]
    assert summary.failures["status"].tolist() == [404]
    assert f"1 of {len(nb.user_ns['gids'])} requests failed" in capsys.readouterr().err
    if suffix == ".parquet":
        _same(frame, pd.read_parquet(target))
    else:
        back = pd.read_json(target, lines=True, dtype=False)
        assert back["gid"].tolist() == frame["gid"].tolist() and back["id"].tolist() == frame["id"].tolist()
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_a_fan_out_of_many_small_answers_makes_few_row_groups(nb: Any, tmp_path: Path) -> None:
    import okta_magic

    ids = okta_magic.get("/api/v1/users", limit=200, max_pages=2)["id"]
    frame = okta_magic.get_each("/api/v1/users/{uid}", uid=ids)  # one object, one row, per request
    target = tmp_path / "users.parquet"
    summary = okta_magic.get_each("/api/v1/users/{uid}", uid=ids, to=str(target))
    assert summary.rows == len(ids) == 400
    assert pq.ParquetFile(target).num_row_groups == 1  # row groups by rows, not one per request
    _same(frame, pd.read_parquet(target))


def test_an_interrupted_fan_out_leaves_a_file_of_the_rows_fetched_in_the_values_order(nb: Any, tmp_path: Path) -> None:
    import _thread
    import threading

    from okta_magic.api import current_session

    sandbox = current_session().sandbox
    full = nb.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users?limit=5 --each gid=groups.id")
    target = tmp_path / "members.parquet"
    sandbox.set_knobs(latency=0.1)
    try:
        timer = threading.Timer(0.8, _thread.interrupt_main)
        timer.start()
        outcome = nb.run_cell(f"w = %okta GET /api/v1/groups/{{{{gid}}}}/users?limit=5 --each gid=groups.id "
                              f"--concurrency 2 --to {target}")
        timer.cancel()
    finally:
        sandbox.set_knobs(latency=0.0)
    assert isinstance(outcome.error_in_exec, UsageError) and "w" not in nb.user_ns
    message = str(outcome.error_in_exec)
    assert message.startswith("Interrupted after") and "members.parquet" in message and "\n" not in message
    back = pd.read_parquet(target)
    assert 0 < len(back) < len(full)
    gids = list(dict.fromkeys(back["gid"]))
    assert gids == [g for g in full["gid"].unique() if g in set(gids)]  # in the values' order
    for gid in gids:  # each value's rows as the full pull has them (the last one's perhaps cut short)
        got = back.loc[back["gid"] == gid, "id"].tolist()
        assert got == full.loc[full["gid"] == gid, "id"].tolist()[:len(got)]
    assert [p.name for p in tmp_path.iterdir()] == ["members.parquet"]


def test_a_value_name_the_answers_already_have_leaves_the_file_as_it_was(nb: Any, tmp_path: Path) -> None:
    target = tmp_path / "members.parquet"
    target.write_bytes(b"what was there")
    with pytest.raises(UsageError, match="already have a column 'id'"):
        nb.run_line_magic("okta", f"GET /api/v1/groups/{{{{id}}}}/users --each id=groups.id --to {target}")
    assert target.read_bytes() == b"what was there"
    assert [p.name for p in tmp_path.iterdir()] == ["members.parquet"]


def test_resume_does_not_go_with_a_file(nb: Any, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--resume continues a fan-out held in memory"):
        nb.run_line_magic("okta", f"GET /api/v1/groups/{{{{gid}}}}/users --each gid=groups.id --resume "
                                  f"--to {tmp_path / 'm.parquet'}")


def test_users_in_parallel_to_a_file_are_the_parallel_dataframe(nb: Any, tmp_path: Path) -> None:
    import okta_magic

    frame = okta_magic.get("/api/v1/users", parallel=4)
    target = tmp_path / "users.parquet"
    summary = okta_magic.get("/api/v1/users", parallel=4, to=str(target))
    assert summary.rows == len(frame) and summary.path == str(target)
    _same(frame, pd.read_parquet(target))


def test_the_system_log_in_parallel_appended_over_three_runs_has_every_event_once(nb: Any, tmp_path: Path) -> None:
    from okta_magic.api import current_session

    sandbox = current_session().sandbox
    target = tmp_path / "logs.parquet"
    line = f"GET /api/v1/logs?since={_days_ago(sandbox, 30)}&limit=100 --parallel 4 --to {target} --append"
    first = nb.run_line_magic("okta", line)
    plain = nb.run_line_magic("okta", f"GET /api/v1/logs?since={_days_ago(sandbox, 30)}&limit=100")
    _same(plain, pd.read_parquet(target))  # the first run: the plain pull's rows, in its order
    for tag in ("one", "two"):
        for i in range(3):
            nb.run_cell_magic("okta", "", f'POST /api/v1/groups\n\n{{"profile": {{"name": "p-{tag}-{i}"}}}}')
        sandbox.advance_clock(30)
        again = nb.run_line_magic("okta", line)
        assert again.rows >= 3 and again.appended_to >= first.rows
    everything = nb.run_line_magic("okta", f"GET /api/v1/logs?since={_days_ago(sandbox, 31)}&limit=1000")
    back = pd.read_parquet(target)
    assert back["uuid"].is_unique and back["published"].is_monotonic_increasing
    assert set(back["uuid"]) == set(everything["uuid"][everything["published"] >= back["published"].min()])


def test_an_interrupted_partitioned_log_pull_leaves_the_beginning_of_the_log_and_append_finishes_it(
        nb: Any, tmp_path: Path) -> None:
    import _thread
    import threading

    from okta_magic.api import current_session

    sandbox = current_session().sandbox
    since = _days_ago(sandbox, 30)
    plain = nb.run_line_magic("okta", f"GET /api/v1/logs?since={since}&limit=100")
    target = tmp_path / "logs.parquet"
    line = f"GET /api/v1/logs?since={since}&limit=100 --parallel 3 --to {target} --append"
    sandbox.advance_clock(61)  # a fresh rate-limit window for the System Log's bucket
    sandbox.set_knobs(latency=0.1)
    try:
        timer = threading.Timer(0.8, _thread.interrupt_main)
        timer.start()
        outcome = nb.run_cell(f"w = %okta {line}")
        timer.cancel()
    finally:
        sandbox.set_knobs(latency=0.0)
    assert isinstance(outcome.error_in_exec, UsageError) and "w" not in nb.user_ns
    assert str(outcome.error_in_exec).startswith("Interrupted after") and "logs.parquet" in str(outcome.error_in_exec)
    first = pd.read_parquet(target)["uuid"].tolist()
    assert 0 < len(first) < len(plain)
    assert first == plain["uuid"].tolist()[:len(first)]  # the log's beginning, in order, no gap
    nb.run_line_magic("okta", line)
    assert pd.read_parquet(target)["uuid"].tolist() == plain["uuid"].tolist()


def test_a_script_told_its_pull_failed_is_told_where_the_file_is(shell: Any, tmp_path: Path) -> None:
    import okta_magic
    from okta_magic.errors import InsufficientScope

    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read"')
    ids = okta_magic.get("/api/v1/users", limit=3, max_pages=1)["id"]
    target = tmp_path / "roles.parquet"
    with pytest.raises(InsufficientScope) as info:  # okta.roles.read was not asked for: every request would fail
        okta_magic.get_each("/api/v1/users/{uid}/roles", uid=ids, to=str(target))
    message = str(info.value)
    assert "okta.roles.read" in message and "%okta" not in message  # in a script's terms
    assert f"The file holds every row fetched before it: 0 rows from 0 page(s) → {target}" in message
    assert message.count("holds every row") == 1  # said once
    assert info.value.partial.path == str(target) and target.exists()


# -- a file the disk refuses: a file size limit, in a process of its own (tests/_file_limits.py) -----------


@pytest.fixture(scope="module")
def limited(sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Each format and kind of pull run once more with the file size limited to 60% of what it writes, over a good
    file of the same pull; the reports by (format, kind, "script" or "magic")."""
    cases = [{"format": fmt, "kind": kind, "fraction": 0.6, "via": "script"} for fmt in FORMATS for kind in KINDS]
    cases += [{"format": fmt, "kind": kind, "fraction": 0.6, "via": "magic"} for fmt in FORMATS
              for kind in ("plain", "append")]
    reports = run_cases(sandbox, tmp_path_factory.mktemp("limited"), cases, since=_days_ago(sandbox, 30),
                        until=_days_ago(sandbox, 15))
    return {(r["format"], r["kind"], r["via"]): r for r in reports}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_the_disk_refuses_leaves_the_old_file_as_it_was_and_keeps_the_rows_fetched(
        limited: dict[tuple[str, str, str], dict[str, Any]], fmt: str, kind: str) -> None:
    report = limited[(fmt, kind, "script")]
    assert (report["outcome"], report["error"]) == ("failed", "FileWriteError"), report["message"]
    message = report["message"]
    assert "\n" not in message and "file too large" in message
    assert f"rows.{fmt} is as it was before this pull" in message
    assert "to=PATH" in message and "--to" not in message  # a script's words
    assert report["unchanged"] and report["opens"]  # byte for byte as it was, and it still opens
    assert report["left"] == []  # no part (.rows.parquet.part0 ...) beside it
    assert report["rows"] > 0 and report["prefix"]  # the error's partial: the rows fetched, in the pull's order


@pytest.mark.parametrize("kind", ["plain", "append"])
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_the_disk_refuses_in_a_notebook_is_one_line_and_the_rows_are_in_okta_partial(
        limited: dict[tuple[str, str, str], dict[str, Any]], fmt: str, kind: str) -> None:
    report = limited[(fmt, kind, "magic")]
    message = report["message"]
    assert report["error"] == "UsageError" and "\n" not in message
    assert message.startswith("Could not write") and "file too large" in message and "--to PATH" in message
    assert "rows fetched before it are in `_okta_partial`" in message
    assert report["unchanged"] and report["opens"] and report["left"] == []
    assert report["rows"] > 0 and report["prefix"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("suffix", ["parquet", "csv", "jsonl"])
def test_a_full_disk_is_said_in_one_line_and_the_rows_are_kept(tmp_path: Path, suffix: str) -> None:
    from okta_magic.errors import FileWriteError

    target = tmp_path / f"out.{suffix}"
    target.write_bytes(b"what was there")
    part = ".out.jsonl.part" if suffix == "jsonl" else f".out.{suffix}.part0"
    (tmp_path / part).symlink_to("/dev/full")  # the part the sink writes: every write fails with ENOSPC
    sink = FileSink(target, "users", batch_pages=1)
    with pytest.raises(FileWriteError) as info:
        for page in _pages():
            sink.add_page(page)
        sink.close()
    message = str(info.value)
    assert message == (f"Could not write {target}: the disk is full (No space left on device); out.{suffix} is as it "
                       "was before this pull.")
    kept = info.value.partial["id"].tolist()  # the pages handed over until the disk's refusal was seen
    assert info.value.fix == "free_space" and kept and kept == [r["id"] for page in _pages() for r in page][:len(kept)]
    assert target.read_bytes() == b"what was there" and [p.name for p in tmp_path.iterdir()] == [target.name]
    with pytest.raises(FileWriteError):  # and it stays failed
        sink.close()


# -- targets refused in one line before the first request ---------------------------------------------------


def test_parallel_against_a_redirect_is_one_line() -> None:
    from okta_magic.errors import OktaMagicError
    from okta_magic.pulls.partition import plan

    answers = {"redirect": httpx.Response(302, headers={"location": "https://sso.example.com/login"},
                                          text="<html>moved</html>"),
               "html": httpx.Response(200, headers={"content-type": "text/html"}, text="<html>sign in</html>")}
    for kind, words in (("redirect", "was redirected to https://sso.example.com/login (302)"),
                        ("html", "answered HTTP 200 without the list of users")):
        transport = httpx.MockTransport(lambda request, kind=kind: answers[kind])
        with OktaClient("https://dev-1.okta.com", lambda: "Bearer x", transport=transport, progress=False) as c, \
                pytest.raises(OktaMagicError) as info:
            plan(c, parse_request("GET /api/v1/users"), 4)
        assert words in str(info.value) and "\n" not in str(info.value)


def _requests_sent(nb: Any) -> int:
    from okta_magic.api import current_session

    return current_session().sandbox.stats().total


@pytest.mark.parametrize(("fmt", "content"), [
    ("parquet", b"id,published,uuid\n1,2,3\n"),
    ("csv", b"PAR1\x15\x04\x15\xa0\xff\xfe\x00"),
    ("csv", b"id,name\n1,one\n"),
    ("jsonl", b"not JSON\n"),
])
@pytest.mark.parametrize("parallel", ["", " --parallel 2"])
def test_append_onto_a_file_not_in_its_format_is_one_line_before_any_request(
        nb: Any, tmp_path: Path, fmt: str, content: bytes, parallel: str) -> None:
    target = tmp_path / f"logs.{fmt}"
    target.write_bytes(content)
    sent = _requests_sent(nb)
    with pytest.raises(UsageError) as info:
        nb.run_line_magic("okta", f"GET /api/v1/logs?limit=100{parallel} --to {target} --append")
    message = str(info.value)
    assert "cannot continue that file" in message and "\n" not in message
    assert _requests_sent(nb) == sent and target.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


@pytest.mark.parametrize("options", ["", "--parallel 2", "--each gid=groups.id"])
def test_a_folder_named_like_a_file_is_one_line_before_any_request(nb: Any, tmp_path: Path, options: str) -> None:
    target = tmp_path / "x.parquet"
    target.mkdir()
    request = "GET /api/v1/groups/{{gid}}/users" if "--each" in options else "GET /api/v1/users"
    sent = _requests_sent(nb)
    with pytest.raises(UsageError, match="that is a folder") as info:
        nb.run_line_magic("okta", f"{request} {options} --to {target}")
    assert "\n" not in str(info.value) and _requests_sent(nb) == sent
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.parquet"] and not any(target.iterdir())


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="no /proc here")
def test_a_folder_where_no_file_can_be_made_is_one_line_before_any_request(nb: Any) -> None:
    import okta_magic
    from okta_magic.errors import RequestError

    sent = _requests_sent(nb)
    with pytest.raises(UsageError, match="Cannot write to /proc/x.parquet") as info:  # os.access approves it to root
        nb.run_line_magic("okta", "GET /api/v1/users --to /proc/x.parquet")
    assert "\n" not in str(info.value) and "with --to PATH" in str(info.value)
    with pytest.raises(RequestError, match="Cannot write to /proc/x.csv") as error:
        okta_magic.get_each("/api/v1/groups/{gid}/users", gid=["00g1"], to="/proc/x.csv")
    assert "with to=PATH" in str(error.value) and "--to" not in str(error.value)
    assert _requests_sent(nb) == sent

