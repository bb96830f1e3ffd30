"""The client over real HTTP against the sandbox org: paging, search, 429 recovery, errors, writes, interrupts."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pandas as pd
import pytest

from _sandbox_client import SandboxSleep, client
from okta_magic.advice import render
from okta_magic.http.client import OktaClient
from okta_magic.errors import InsufficientScope, OktaApiError, PermissionDenied
from okta_magic.pulls.pull import fetch
from okta_magic.pulls.request import parse_request
from okta_magic.sandbox import Sandbox

READ_SCOPES = ["okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"]
SCOPES = [*READ_SCOPES, "okta.groups.manage"]  # what most tests here are granted


SANDBOX = {"users": 5000, "seed": 7}  # this module's sandbox org (conftest.py)


@pytest.fixture(autouse=True)
def calm(sandbox: Sandbox) -> Iterator[None]:
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
    yield
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)


def test_5000_users_across_pages_match_the_orgs_own_list(sandbox: Sandbox) -> None:
    with client(sandbox, SCOPES) as c:
        result = fetch(c, parse_request("GET /api/v1/users?limit=200"))
    frame = result.data
    expected = sandbox.user_ids()
    assert frame["id"].tolist() == expected
    assert frame["id"].is_unique
    assert result.pages == -(-len(expected) // 200) and result.rows == len(expected)
    assert str(frame["created"].dtype) == "datetime64[ms, UTC]"
    assert frame["lastLogin"].isna().any() or str(frame["lastLogin"].dtype) == "datetime64[ms, UTC]"
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert "DEPROVISIONED" not in set(frame["status"].astype(str))  # a plain list omits them, as Okta does
    dtype = frame["profile.login"].dtype  # Arrow-backed text (pandas 3 "str"; string[pyarrow] on pandas 2)
    assert isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    assert isinstance(frame["credentials.emails"].iloc[0], list)
    assert list(frame.columns[:7]) == ["profile.login", "profile.firstName", "profile.lastName",
                                       "profile.displayName", "profile.email", "status", "id"]  # who first


def test_search_with_quotes_and_spaces(sandbox: Sandbox) -> None:
    with client(sandbox, SCOPES) as c:
        everyone = fetch(c, parse_request('GET /api/v1/users?search=status eq "ACTIVE" or status eq "SUSPENDED"'
                                         "&limit=200")).data
        department = everyone["profile.department"].dropna().iloc[0]
        engineers = fetch(c, parse_request("GET /api/v1/users?search=profile.department eq {{d}}&limit=200",
                                          {"d": f'"{department}"'})).data
        assert len(engineers) > 0
        assert set(engineers["profile.department"]) == {department}
        login = everyone["profile.login"].iloc[3]
        one = fetch(c, parse_request(f'GET /api/v1/users?filter=profile.login eq "{login}"')).data
        assert one["profile.login"].tolist() == [login]


def test_429_in_the_middle_of_a_pull_loses_and_repeats_nothing(sandbox: Sandbox) -> None:
    sandbox.set_rate_limit("/api/v1/users", 8)
    try:
        sleep = SandboxSleep(sandbox)
        with client(sandbox, SCOPES, sleep=sleep, max_retries=10) as c:
            result = fetch(c, parse_request("GET /api/v1/users?limit=200"))
        assert result.data["id"].tolist() == sandbox.user_ids()
        assert sleep.waits  # it did wait (or pace) for the window to reset
    finally:
        sandbox.set_rate_limit("/api/v1/users", 600)
        sandbox.advance_clock(61)


def test_random_429_and_5xx_are_recovered(sandbox: Sandbox) -> None:
    sandbox.set_knobs(rate_429=0.2, error_rate=0.1)
    with client(sandbox, SCOPES, max_retries=10) as c:
        result = fetch(c, parse_request("GET /api/v1/users?limit=500"))
    assert result.data["id"].tolist() == sandbox.user_ids()


def test_401_for_a_bad_token(sandbox: Sandbox) -> None:
    with OktaClient(sandbox.url, lambda: "Bearer not-a-token", progress=False) as c:
        with pytest.raises(OktaApiError) as info:
            fetch(c, parse_request("GET /api/v1/users"))
    assert info.value.status == 401
    assert "Sign in again with %okta_login" in render(info.value, "notebook")  # the fix, worded by the advice layer


def test_403_insufficient_scope_names_the_missing_scope(sandbox: Sandbox) -> None:
    with client(sandbox, ["okta.users.read"]) as c:
        with pytest.raises(InsufficientScope) as info:
            fetch(c, parse_request("GET /api/v1/groups"))
    assert info.value.needed == ("okta.groups.read",)
    assert str(info.value).startswith("GET /api/v1/groups needs okta.groups.read, which the token does not hold "
                                      "(it holds: okta.users.read).")


def test_403_e0000006_when_the_role_forbids_it(sandbox: Sandbox) -> None:
    with client(sandbox, SCOPES, user="readonly") as c:
        with pytest.raises(PermissionDenied) as info:
            fetch(c, parse_request('POST /api/v1/groups\n\n{"profile": {"name": "Not allowed"}}'))
    assert info.value.error_code == "E0000006"
    assert "silent downscoping" in str(info.value)


def test_404_and_400_messages(sandbox: Sandbox) -> None:
    with client(sandbox, SCOPES) as c:
        with pytest.raises(OktaApiError) as missing:
            fetch(c, parse_request("GET /api/v1/users/00uNOPE"))
        with pytest.raises(OktaApiError) as bad:
            fetch(c, parse_request("GET /api/v1/users?limit=2&after=not-a-cursor"))
    assert missing.value.status == 404 and "404 E0000007" in str(missing.value)
    assert "Check the id and the path" in render(missing.value, "notebook")
    assert bad.value.status == 400 and str(bad.value).startswith("GET /api/v1/users failed: 400 E00000")


def test_post_with_a_json_body_creates_a_group(sandbox: Sandbox) -> None:
    with client(sandbox, SCOPES) as c:
        created = fetch(c, parse_request('POST /api/v1/groups\n\n{"profile": {"name": "{{n}}", "description": "d"}}',
                                        {"n": 'Analysts "EU"'})).data
        assert created["profile.name"] == 'Analysts "EU"'
        found = fetch(c, parse_request("GET /api/v1/groups/{{gid}}", {"gid": created["id"]})).data
        assert found["id"] == created["id"]


def test_interrupted_pull_keeps_its_rows(sandbox: Sandbox) -> None:
    calls = 0

    class Interrupting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal calls
            calls += 1
            if calls == 4:
                raise KeyboardInterrupt
            return super().handle_request(request)

    with client(sandbox, SCOPES, transport=Interrupting()) as c:
        result = fetch(c, parse_request("GET /api/v1/users?limit=100"))
    assert result.interrupted
    assert result.data["id"].tolist() == sandbox.user_ids()[:300]
    assert "300 rows" in (result.note or "")


def test_search_values_with_ampersand_hash_quote_and_non_ascii(sandbox: Sandbox) -> None:
    profile = {"firstName": "Zoë", "lastName": 'O"Brien', "email": "zoe.obrien@example.com",
               "login": "zoe.obrien@example.com", "department": "R&D #2 Zürich"}
    with client(sandbox, [*READ_SCOPES, "okta.users.manage"]) as c:
        created = fetch(c, parse_request("POST /api/v1/users?activate=false\n\n{{p}}", {"p": {"profile": profile}})).data
        typed = fetch(c, parse_request('GET /api/v1/users?search=profile.department eq "R&D #2 Zürich"&limit=5')).data
        interpolated = fetch(c, parse_request('GET /api/v1/users?search=profile.lastName eq "{{last}}"&limit=5',
                                             {"last": 'O"Brien'})).data
    assert typed["id"].tolist() == [created["id"]]
    assert interpolated["id"].tolist() == [created["id"]]
