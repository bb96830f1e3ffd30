"""Partitioned pulls (``--parallel N`` / ``get(..., parallel=N)``) against the sandbox org over real HTTP: exactly
the rows of the plain pull (users as sets, deprovisioned users in the org; the System Log in the same order), and
never more requests in flight than N."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from IPython.core.error import UsageError

import okta_magic
from okta_magic.api import current_session
from okta_magic.errors import RequestError

SCOPES = "openid okta.users.read okta.groups.read okta.logs.read"


@pytest.fixture
def nb(shell):
    """The shell signed in to its sandbox as admin."""
    shell.run_line_magic("okta_login", f'--sandbox --as admin --scopes "{SCOPES}"')
    return shell


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def test_users_in_parallel_are_exactly_the_plain_list(nb):
    sandbox = current_session().sandbox
    assert len(sandbox.user_ids(include_deprovisioned=True)) > len(sandbox.user_ids())  # some are deprovisioned
    plain = nb.run_line_magic("okta", "GET /api/v1/users")
    parallel = nb.run_line_magic("okta", "GET /api/v1/users --parallel 4")
    assert parallel["id"].is_unique and len(parallel) == len(plain)
    assert set(parallel["id"]) == set(plain["id"]) == set(sandbox.user_ids())
    assert "DEPROVISIONED" not in set(parallel["status"])
    assert parallel["created"].is_monotonic_increasing  # the order: by created
    assert set(parallel.columns) == set(plain.columns)  # custom attributes come in order of first appearance
    assert (parallel.dtypes[plain.columns] == plain.dtypes).all()
    same = parallel.set_index("id").loc[plain["id"]].reset_index()[plain.columns]
    pd.testing.assert_frame_equal(same, plain, check_categorical=False)


def test_a_search_of_ones_own_is_anded_and_keeps_deprovisioned_users(nb):
    search = 'GET /api/v1/users?search=profile.department eq "Engineering" or status eq "DEPROVISIONED"'
    plain = nb.run_line_magic("okta", search)
    parallel = okta_magic.get("/api/v1/users", parallel=3,
                              search='profile.department eq "Engineering" or status eq "DEPROVISIONED"')
    assert "DEPROVISIONED" in set(plain["status"])
    assert parallel["id"].is_unique and set(parallel["id"]) == set(plain["id"])


@pytest.mark.parametrize("order", ["ASCENDING", "DESCENDING"])
def test_the_system_log_in_parallel_is_the_bounded_pull_in_the_same_order(nb, order):
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    since = until - dt.timedelta(days=30)
    line = f"GET /api/v1/logs?since={_iso(since)}&until={_iso(until)}&sortOrder={order}"
    plain = nb.run_line_magic("okta", line)
    parallel = nb.run_line_magic("okta", line + " --parallel 4")
    assert len(plain) > 100
    assert parallel["uuid"].tolist() == plain["uuid"].tolist()
    pd.testing.assert_frame_equal(parallel, plain, check_categorical=False)


def test_a_polling_log_request_is_bounded_at_the_orgs_time_now(nb):
    parallel = nb.run_line_magic("okta", "GET /api/v1/logs --parallel 3")
    plain = nb.run_line_magic("okta", "GET /api/v1/logs")
    assert parallel["uuid"].is_unique and parallel["published"].is_monotonic_increasing
    assert set(parallel["uuid"]) <= set(plain["uuid"]) and len(parallel) >= len(plain) - 2


def test_never_more_in_flight_than_n_and_no_429_caused(nb):
    sandbox = current_session().sandbox
    sandbox.set_knobs(concurrency_limit=3, latency=0.02)
    try:
        sandbox.reset_stats()
        users = okta_magic.get("/api/v1/users", parallel=3, limit=50)
        stats = sandbox.stats()
    finally:
        sandbox.set_knobs(concurrency_limit=75, latency=0.0)
    assert set(users["id"]) == set(sandbox.user_ids())
    assert stats.throttled["rate"] == 0 and stats.throttled["concurrency"] == 0
    assert 1 < stats.peak_in_flight <= 3


@pytest.mark.parametrize(("line", "words"), [
    ("GET /api/v1/groups --parallel 4", "splits /api/v1/users and /api/v1/logs only"),
    ("GET /api/v1/users?filter=status eq \"ACTIVE\" --parallel 4", "cannot split a request with filter="),
    ("GET /api/v1/users --parallel 0", "from 1 to 75"),
    ("GET /api/v1/users --parallel 2 --max-pages 3", "--max-pages does not go with --parallel"),
])
def test_what_cannot_be_split_is_refused_in_one_line(nb, line, words):
    with pytest.raises(UsageError) as info:
        nb.run_line_magic("okta", line)
    assert words in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(("path", "params"), [("/api/v1/groups", {}),
                                              ("/api/v1/users", {"filter": "status eq \"ACTIVE\""})])
def test_what_cannot_be_split_says_what_to_drop_to_each_reader(nb, path, params):
    query = "".join(f"?{name}={value}" for name, value in params.items())
    with pytest.raises(UsageError) as info:
        nb.run_line_magic("okta", f"GET {path}{query} --parallel 4")
    assert str(info.value).endswith("Drop --parallel to pull it in one stream.")
    with pytest.raises(RequestError) as error:
        okta_magic.get(path, parallel=4, **params)
    assert str(error.value).endswith("Drop parallel= to pull it in one stream.") and "--" not in str(error.value)
