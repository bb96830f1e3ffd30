"""Frames for people, end to end against the sandbox org: who each user is in the first columns, custom
attributes typed by the org's user schema (read once, and only with okta.schemas.read), each manager's login,
and a System Log event's first target as columns; through ``okta_magic.get`` and ``%okta`` in a real shell."""

from __future__ import annotations

import logging
from pathlib import Path

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
    _check_types(users)
    _check_managers(users, users)


def _check_types(users: pd.DataFrame, *, read_back: bool = False) -> None:
    """The custom attributes in the types the user schema gives them (``read_back``: a Parquet file read by pandas,
    which gives numpy's bool for a boolean column with no value missing)."""
    hired = users["profile.HireDate"]
    assert str(hired.dtype) == "datetime64[ms, UTC]" and hired.notna().all()
    assert users["profile.isContractor"].dtype == ("bool" if read_back else "boolean")
    clearance = users["profile.clearanceLevel"]
    assert list(clearance.cat.categories) == ["Confidential", "Secret", "Restricted"]
    assert isinstance(users["profile.badgeID"].dtype, pd.StringDtype)  # a pattern, not a date: text


def _check_managers(users: pd.DataFrame, everyone: pd.DataFrame) -> None:
    """Each manager by login (``everyone``: the org's users, each once), right after the manager's id."""
    login_of = dict(zip(everyone["id"], everyone["profile.login"], strict=True))
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


# -- fan-outs and files: the same people as a plain pull's frame --------------------------------------------------


def test_get_each_types_its_users_by_the_schema_and_finds_their_managers(default: Session, sandbox: Sandbox) -> None:
    api.use_token(sandbox.issue_token(user="admin", scopes=[*READ, "okta.groups.read"]), org_url=sandbox.url)
    groups = okta_magic.get("/api/v1/groups", limit=3, max_pages=1)  # Everyone first: every user is a member
    members = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"])
    assert list(members.columns[:1 + len(WHO)]) == ["gid", *WHO]
    _check_types(members)
    _check_managers(members, members[members["gid"] == groups["id"].iloc[0]])
    assert len(members) > len(sandbox.user_ids())  # (the other groups' members came too, some twice)


def test_okta_each_in_a_shell_types_its_users_as_a_plain_pull_does(shell) -> None:
    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read okta.schemas.read '
                                       'okta.groups.read"')
    groups = shell.user_ns["groups"] = shell.run_line_magic("okta", "GET /api/v1/groups?limit=2 --max-pages 1")
    members = shell.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=groups.id")
    everyone = members[members["gid"] == groups["id"].iloc[0]]
    assert set(shell.run_line_magic("okta", "GET /api/v1/users")["id"]) <= set(everyone["id"])
    _check_types(members)
    _check_managers(members, everyone)


def test_a_users_file_written_in_one_piece_is_its_frame_with_managers(default: Session, sandbox: Sandbox,
                                                                      tmp_path: Path) -> None:
    api.use_token(sandbox.issue_token(user="admin", scopes=[*READ, "okta.groups.read"]), org_url=sandbox.url)
    users = okta_magic.get("/api/v1/users")
    okta_magic.get("/api/v1/users", to=str(tmp_path / "users.parquet"))  # 3 pages: one batch, the whole pull
    back = pd.read_parquet(tmp_path / "users.parquet")
    assert list(back.columns[:len(WHO)]) == WHO
    _check_types(back, read_back=True)
    _check_managers(back, back)
    pd.testing.assert_frame_equal(_as_in(back, users), users, check_categorical=False)
    groups = okta_magic.get("/api/v1/groups", limit=3, max_pages=1)
    members = okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"])
    okta_magic.get_each("/api/v1/groups/{gid}/users", gid=groups["id"], to=str(tmp_path / "members.parquet"))
    back = pd.read_parquet(tmp_path / "members.parquet")
    pd.testing.assert_frame_equal(_as_in(back, members), members, check_categorical=False)


def _as_in(back: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """A Parquet file read back, its numpy bool and int64 columns in the frame's nullable types again."""
    nullable = {c: frame[c].dtype for c in back.columns if str(frame[c].dtype) in ("boolean", "Int64")}
    return back.astype(nullable)


def test_a_users_file_written_in_several_batches_is_typed_and_has_no_managers_column(
        default: Session, sandbox: Sandbox, tmp_path: Path) -> None:
    """A manager may be in a batch written before or after (docs/frames.md): no column rather than a part-filled one."""
    api.use_token(sandbox.issue_token(user="admin", scopes=READ), org_url=sandbox.url)
    okta_magic.get("/api/v1/users", limit=10, to=str(tmp_path / "users.parquet"))  # 60 pages: batches of 32
    back = pd.read_parquet(tmp_path / "users.parquet")
    assert back["id"].tolist() == sandbox.user_ids()
    assert "profile.managerLogin" not in back.columns and back["profile.managerId"].notna().any()
    _check_types(back, read_back=True)
