"""Frames for people, end to end against the sandbox org: who each user is in the first columns, custom
attributes typed by the org's user schema (read once, and only with okta.schemas.read), each manager's login,
and a System Log event's first target as columns; through ``okta_magic.get`` and ``%okta`` in a real shell."""

from __future__ import annotations

import logging

import httpx
import pandas as pd
import pytest

import okta_magic
from okta_magic import api
from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session

SANDBOX = {"users": 600, "seed": 3, "calm": True}  # clearanceLevel: from the 450th person on
WHO = ["profile.login", "profile.firstName", "profile.lastName", "profile.displayName", "profile.email", "status"]
READ = ["okta.users.read", "okta.schemas.read"]


def _check_people(users: pd.DataFrame) -> None:
    """What a person checks on a users frame: who first, the hire date a date, managers by login."""
    assert list(users.columns[:len(WHO)]) == WHO
    hired = users["profile.HireDate"]
    assert str(hired.dtype) == "datetime64[ms, UTC]" and hired.notna().all()
    assert users["profile.isContractor"].dtype == "boolean"
    clearance = users["profile.clearanceLevel"]
    assert list(clearance.cat.categories) == ["Confidential", "Secret", "Restricted"]
    assert isinstance(users["profile.badgeID"].dtype, pd.StringDtype)  # a pattern, not a date: text
    login_of = dict(zip(users["id"], users["profile.login"], strict=True))
    managed = users[users["profile.managerId"].notna()]
    assert len(managed) > 10
    assert managed["profile.managerLogin"].tolist() == [login_of[m] for m in managed["profile.managerId"]]
    columns = list(users.columns)
    assert columns.index("profile.managerLogin") == columns.index("profile.managerId") + 1


def test_get_users_puts_who_first_and_types_the_schema(default: Session, sandbox: Sandbox) -> None:
    api.use_token(sandbox.issue_token(user="admin", scopes=READ), org_url=sandbox.url)
    users = okta_magic.get("/api/v1/users")
    _check_people(users)
    assert users["id"].tolist() == sandbox.user_ids()  # every user, every column Okta sent
    assert {"id", "created", "lastLogin", "profile.manager", "profile.costCenterCode", "type.id",
            "credentials.provider.type"} <= set(users.columns)


def test_the_schema_is_read_once_per_session(default: Session, sandbox: Sandbox) -> None:
    api.use_token(sandbox.issue_token(user="admin", scopes=[*READ, "okta.groups.read"]), org_url=sandbox.url)
    group = _some_group(sandbox)
    sandbox.reset_stats()
    okta_magic.get("/api/v1/users", limit=200)
    first = sandbox.stats().by_bucket()
    sandbox.reset_stats()
    again = okta_magic.get(f"/api/v1/groups/{group}/users")
    second = sandbox.stats().by_bucket()
    assert first == {"/api/v1": 1, "/api/v1/users": 3}  # the schema (the org's general bucket), then 3 pages
    assert "/api/v1" not in second and sum(second.values()) == 1  # one page only: the schema was kept
    assert str(again["profile.HireDate"].dtype) == "datetime64[ms, UTC]"


def _some_group(sandbox: Sandbox) -> str:
    token = sandbox.issue_token(user="admin", scopes=["okta.groups.read"])
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}) as http:
        return http.get("/api/v1/groups", params={"limit": 1}).json()[0]["id"]


def test_without_the_schema_scope_custom_attributes_stay_as_sent_and_nothing_is_said(
        default: Session, sandbox: Sandbox, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    api.use_token(sandbox.issue_token(user="admin", scopes=["okta.users.read"]), org_url=sandbox.url)
    sandbox.reset_stats()
    with caplog.at_level(logging.DEBUG, logger="okta_magic.pulls.userschema"):
        users = okta_magic.get("/api/v1/users")
    assert set(sandbox.stats().by_bucket()) == {"/api/v1/users"}  # no request for the schema
    assert list(users.columns[:len(WHO)]) == WHO
    assert users["profile.HireDate"].tolist()[0][4] == "-"  # the text Okta sent
    assert users["profile.managerLogin"].notna().any()  # managers need no schema
    assert "okta.schemas.read" in caplog.text
    said = capsys.readouterr()
    assert "schema" not in said.out + said.err  # only the progress bar: the pull is not at fault


def test_okta_magic_in_a_shell_gives_people_first_and_log_targets(shell) -> None:
    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read okta.schemas.read '
                                       'okta.logs.read"')
    users = shell.run_line_magic("okta", "GET /api/v1/users")
    _check_people(users)
    events = shell.run_line_magic("okta", "GET /api/v1/logs?limit=500")
    columns = list(events.columns)
    at = columns.index("target")
    assert columns[at:at + 5] == ["target", "target.0.id", "target.0.type", "target.0.alternateId",
                                  "target.0.displayName"]
    targeted = events[events["target"].map(lambda t: isinstance(t, list) and len(t) > 0)]
    assert len(targeted) > 0
    for name in ("id", "type", "alternateId", "displayName"):
        assert targeted[f"target.0.{name}"].tolist() == [t[0].get(name) for t in targeted["target"]]
    assert isinstance(events["target.0.type"].dtype, pd.CategoricalDtype)
    assert events["client.geographicalContext.country"].notna().any()
    assert events["client.geographicalContext.city"].notna().any()
