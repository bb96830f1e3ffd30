"""The sandbox's JSON and headers held against real Okta responses recorded by okta-sdk-python.

Same keys at every level and the same value types for users, groups and apps
(apps compared with recorded apps of the same signOnMode), the same response
header names, and the same error body for a bad cursor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from okta_magic.sandbox import Sandbox

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
USERS = "test_users_it/TestUsersResource.test_user_pagination.yaml"
USERS_2026 = "test_dpop_it/TestDPoPBackwardCompatibility.test_ssws_auth_unchanged.yaml"
GROUPS = "test_groups_it/TestGroupsResource.test_list_groups.yaml"
APPS = "test_applications_it/TestApplicationsResource.test_list_applications_pagination_with_after.yaml"


def interactions(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((RECORDED / name).read_text(encoding="utf-8"))["interactions"]


def recorded_get(name: str, path_prefix: str, status: int = 200) -> tuple[Any, dict[str, Any]]:
    """Body and headers of the first recorded GET whose path starts with ``path_prefix``."""
    for item in interactions(name):
        request, response = item["request"], item["response"]
        path = httpx.URL(request["uri"]).path
        if request["method"] == "GET" and path.startswith(path_prefix) and response["status"]["code"] == status:
            return json.loads(response["body"]["string"]), response["headers"]
    raise AssertionError(f"no recorded GET {path_prefix} in {name}")


def shape(value: Any) -> Any:
    """Keys at every level and value types (null kept apart: Okta sends null for unset dates)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def assert_same_shape(ours: Any, theirs: Any, where: str, *, extra_ok: bool = False) -> None:
    """Our object has the recorded object's keys (exactly, unless extra keys are allowed) and value types."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), where
        missing = set(theirs) - set(ours)
        assert not missing, f"{where}: keys missing {sorted(missing)}"
        if not extra_ok:
            assert set(ours) == set(theirs), f"{where}: extra keys {sorted(set(ours) - set(theirs))}"
        for key in theirs:
            assert_same_shape(ours[key], theirs[key], f"{where}.{key}", extra_ok=extra_ok)
    elif isinstance(theirs, list):
        assert isinstance(ours, list), where
        if theirs and ours:
            assert_same_shape(ours[0], theirs[0], f"{where}[0]", extra_ok=extra_ok)
    elif theirs is None:
        pass  # a null in the record may hold a value in ours (e.g. lastLogin)
    else:
        assert type(ours).__name__ == type(theirs).__name__ or ours is None, f"{where}: {ours!r} vs {theirs!r}"


def header_names(headers: dict[str, Any]) -> set[str]:
    return {k.lower() for k in headers}


SANDBOX = {"users": 300, "seed": 1}  # this module's sandbox org (conftest.py)


@pytest.fixture(scope="module")
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"SSWS {sandbox.create_api_token('admin')}"}) as c:
        yield c


@pytest.mark.parametrize("cassette", [USERS, USERS_2026])
def test_listed_users_have_the_recorded_keys_and_types(api: httpx.Client, cassette: str) -> None:
    (theirs,), _ = recorded_get(cassette, "/api/v1/users")
    ours_all = api.get("/api/v1/users", params={"limit": 200}).json()
    for ours in ours_all:
        top = {k: v for k, v in ours.items()}
        assert set(top) == set(theirs), f"top-level keys differ: {set(top) ^ set(theirs)}"
        for part in ("credentials", "type", "_links"):
            assert_same_shape(ours[part], theirs[part], part)
        # Profiles carry custom attributes too; the recorded base attributes must all be there.
        assert_same_shape(ours["profile"], theirs["profile"], "profile", extra_ok=True)
        for key in ("id", "status", "created", "lastUpdated"):
            assert isinstance(ours[key], str)
        for key in ("activated", "statusChanged", "lastLogin", "passwordChanged"):
            assert ours[key] is None or isinstance(ours[key], str)


def test_user_list_response_headers_match_the_recording(api: httpx.Client) -> None:
    _, theirs = recorded_get(USERS_2026, "/api/v1/users")
    ours = api.get("/api/v1/users", params={"limit": 1})
    wanted = {
        "content-type",
        "link",
        "x-okta-request-id",
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
        "date",
    }
    assert wanted <= header_names(theirs) and wanted <= set(ours.headers.keys())
    assert ours.headers["content-type"] == theirs["Content-Type"][0] == "application/json"
    recorded_links = theirs["Link"]
    assert len(ours.headers.get_list("link")) == len(recorded_links) == 2
    for mine, real in zip(ours.headers.get_list("link"), recorded_links, strict=False):
        assert mine.split(">; ")[1] == real.split(">; ")[1]  # rel="self" then rel="next"
    assert int(ours.headers["x-rate-limit-reset"]) > 1_700_000_000  # UTC epoch seconds


def test_groups_have_the_recorded_keys_and_types(api: httpx.Client) -> None:
    theirs, headers = recorded_get(GROUPS, "/api/v1/groups")
    ours = api.get("/api/v1/groups").json()
    by_type = {g["type"]: g for g in theirs}
    for group in ours:
        assert_same_shape(group, by_type[group["type"]], f"group[{group['type']}]")
    assert {"BUILT_IN", "OKTA_GROUP"} <= {g["type"] for g in ours}
    assert "x-okta-request-id" in header_names(headers)


def test_apps_have_the_recorded_keys_per_sign_on_mode(api: httpx.Client) -> None:
    theirs, _ = recorded_get(APPS, "/api/v1/apps")
    posted = [
        json.loads(i["response"]["body"]["string"])
        for i in interactions(APPS)
        if i["request"]["method"] == "POST"
        and i["response"]["status"]["code"] == 200
        and httpx.URL(i["request"]["uri"]).path == "/api/v1/apps"
    ]
    recorded = {a["signOnMode"]: a for a in theirs + posted}
    ours = api.get("/api/v1/apps", params={"limit": 200}).json()
    compared = set()
    for app in ours:
        real = recorded.get(app["signOnMode"])
        if real is None:
            continue
        compared.add(app["signOnMode"])
        assert set(app) == set(real), f"{app['label']}: {set(app) ^ set(real)}"
        for part in ("accessibility", "_links"):
            assert_same_shape(app[part], real[part], f"{app['label']}.{part}", extra_ok=part == "_links")
        # Subtype settings and OAuth client credentials add keys; the recorded ones must be there.
        for part in ("credentials", "settings", "visibility"):
            assert_same_shape(app[part], real[part], f"{app['label']}.{part}", extra_ok=True)
    assert compared == {"OPENID_CONNECT", "BOOKMARK"}


def test_bad_cursor_error_matches_the_recording(api: httpx.Client) -> None:
    theirs, _ = recorded_get(APPS, "/api/v1/apps", status=400)
    ours = api.get("/api/v1/apps", params={"after": "00u1testcursorvalue", "limit": 1})
    assert ours.status_code == 400
    body = ours.json()
    assert set(body) == set(theirs)
    for key in ("errorCode", "errorSummary", "errorLink", "errorCauses"):
        assert body[key] == theirs[key]


def test_not_found_error_matches_the_recording(api: httpx.Client) -> None:
    for item in interactions(USERS):
        if item["response"]["status"]["code"] == 404:
            theirs = json.loads(item["response"]["body"]["string"])
            break
    ours = api.get("/api/v1/users/00usfgmn9xhwtA6f74x6").json()
    assert set(ours) == set(theirs) and ours["errorCode"] == theirs["errorCode"]
    assert ours["errorSummary"] == theirs["errorSummary"]


def recorded_call(name: str, method: str, path_prefix: str) -> tuple[int, Any, dict[str, Any]]:
    """Status, body (None when empty) and headers of the first recorded call of that method and path."""
    for item in interactions(name):
        request, response = item["request"], item["response"]
        if request["method"] == method and httpx.URL(request["uri"]).path.startswith(path_prefix):
            text = (response["body"] or {}).get("string") or ""
            return response["status"]["code"], json.loads(text) if text else None, response["headers"]
    raise AssertionError(f"no recorded {method} {path_prefix} in {name}")


REACTIVATE = "test_users_it/TestUsersResource.test_reactivate_user.yaml"


def test_created_user_and_its_lifecycle_answers_match_the_recording(api: httpx.Client) -> None:
    """POST /api/v1/users?activate=false, reactivate refused, deactivate, delete: as recorded in 2025."""
    for item in interactions(REACTIVATE):
        if item["request"]["method"] == "POST" and httpx.URL(item["request"]["uri"]).path == "/api/v1/users":
            sent = json.loads(item["request"]["body"])
            break
    status, theirs, _ = recorded_call(REACTIVATE, "POST", "/api/v1/users")
    created = api.post("/api/v1/users", params={"activate": "false"}, json=sent)
    assert created.status_code == status == 200
    ours = created.json()
    # The same keys at every level, profile included (Okta adds mobilePhone and secondEmail as null).
    assert_same_shape(ours, theirs, "created user")
    assert ours["status"] == theirs["status"] == "STAGED"
    uid = ours["id"]
    status, theirs, _ = recorded_call(REACTIVATE, "POST", f"/api/v1/users/{theirs['id']}/lifecycle/reactivate")
    refused = api.post(f"/api/v1/users/{uid}/lifecycle/reactivate", params={"sendEmail": "false"})
    assert refused.status_code == status == 403
    mine = refused.json()
    assert set(mine) == set(theirs)
    assert {k: mine[k] for k in ("errorCode", "errorSummary", "errorLink", "errorCauses")} == {
        k: theirs[k] for k in ("errorCode", "errorSummary", "errorLink", "errorCauses")
    }
    status, theirs, _ = recorded_call(REACTIVATE, "POST", "/api/v1/users/00uqrku6swqIv4Y1T5d7/lifecycle/deactivate")
    deactivated = api.post(f"/api/v1/users/{uid}/lifecycle/deactivate")
    assert (deactivated.status_code, deactivated.json()) == (status, theirs) == (200, {})
    status, _, _ = recorded_call(REACTIVATE, "DELETE", "/api/v1/users/")
    assert api.delete(f"/api/v1/users/{uid}").status_code == status == 204


def test_created_group_matches_the_recording(api: httpx.Client) -> None:
    status, theirs, _ = recorded_call(GROUPS, "POST", "/api/v1/groups")
    ours = api.post("/api/v1/groups", json={"profile": theirs["profile"]})  # the request body was not recorded
    assert ours.status_code == status == 200
    assert_same_shape(ours.json(), theirs, "created group")
    status, _, _ = recorded_call(GROUPS, "DELETE", "/api/v1/groups/")
    assert api.delete(f"/api/v1/groups/{ours.json()['id']}").status_code == status == 204


def test_rate_limited_answer_matches_the_recorded_429() -> None:
    pools = "test_agent_pools_it/TestAgentPoolsResource.test_list_agent_pools_with_multiple_pool_types.yaml"
    theirs = next(i["response"] for i in interactions(pools) if i["response"]["status"]["code"] == 429)
    body = json.loads(theirs["body"]["string"])
    with Sandbox(port=0, users=20, seed=1, rate_limits={"/api/v1/users": 1}) as sandbox:
        token = sandbox.create_api_token("admin")
        with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"SSWS {token}"}) as client:
            assert client.get("/api/v1/users").status_code == 200
            ours = client.get("/api/v1/users")
    assert ours.status_code == 429
    mine = ours.json()
    assert set(mine) == set(body)
    assert (mine["errorCode"], mine["errorSummary"], mine["errorCauses"]) == (
        body["errorCode"],
        body["errorSummary"],
        body["errorCauses"],
    )
    wanted = {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset", "x-okta-request-id", "date"}
    assert wanted <= header_names(theirs["headers"]) and wanted <= set(ours.headers.keys())
    # Okta sends no Retry-After on a 429; the reset header is the wait.
    assert "retry-after" not in header_names(theirs["headers"]) and "retry-after" not in ours.headers
    assert ours.headers["x-rate-limit-remaining"] == "0"
