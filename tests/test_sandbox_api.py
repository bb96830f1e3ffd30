"""The sandbox's Management API over real HTTP: paging, search, errors, scopes, roles, rate limits, System Log."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Any

import httpx
import orjson
import pytest

from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 1000, "seed": 1}  # this module's sandbox org (conftest.py)


def client_for(sandbox: Sandbox, user: str, scopes: list[str] | None = None) -> httpx.Client:
    token = sandbox.issue_token(user=user, app="native", scopes=scopes)
    return httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"})


def next_link(response: httpx.Response) -> str | None:
    for line in response.headers.get_list("link"):
        if line.endswith('rel="next"'):
            return line[1 : line.index(">")]
    return None


def pull(client: httpx.Client, url: str) -> list[dict]:
    items: list[dict] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        items += response.json()
        next_url = next_link(response)
    return items


def okta_error(response: httpx.Response) -> tuple[int, str, list[str]]:
    body = response.json()
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert body["errorLink"] == body["errorCode"] and body["errorId"].startswith("oae")
    return response.status_code, body["errorCode"], [c["errorSummary"] for c in body["errorCauses"]]


# ---- paging --------------------------------------------------------------------------------


def test_paging_1000_users_by_following_links(sandbox: Sandbox, admin: httpx.Client) -> None:
    ids = [u["id"] for u in pull(admin, "/api/v1/users?limit=200")]
    expected = sandbox.user_ids()
    assert ids == expected and len(set(ids)) == len(ids)
    with_deprovisioned = sandbox.user_ids(include_deprovisioned=True)
    assert len(with_deprovisioned) == 1000 and len(expected) < 1000  # the default listing omits DEPROVISIONED
    everyone = pull(admin, f"/api/v1/users?search={httpx.QueryParams({'x': 'id pr'})['x']}&limit=200")
    assert [u["id"] for u in everyone] == with_deprovisioned


def test_link_header_lines_one_per_rel_absolute_and_limit_kept(sandbox: Sandbox, admin: httpx.Client) -> None:
    first = admin.get("/api/v1/users", params={"limit": 7})
    lines = first.headers.get_list("link")
    assert len(lines) == 2
    assert lines[0] == f'<{sandbox.url}/api/v1/users?limit=7>; rel="self"'
    assert lines[1].startswith(f"<{sandbox.url}/api/v1/users?after=") and lines[1].endswith('&limit=7>; rel="next"')
    assert len(first.json()) == 7
    assert len(admin.get(next_link(first) or "").json()) == 7
    last_page = admin.get("/api/v1/users", params={"limit": 200, "after": sandbox.user_ids()[-2]})
    assert len(last_page.json()) == 1 and len(last_page.headers.get_list("link")) == 1


def test_limit_is_clamped_to_200(admin: httpx.Client) -> None:
    assert len(admin.get("/api/v1/users", params={"limit": 500}).json()) == 200
    assert len(admin.get("/api/v1/users").json()) == 200


def test_bad_cursor_is_e0000029(admin: httpx.Client) -> None:
    response = admin.get("/api/v1/users", params={"after": "00unotacursor"})
    assert okta_error(response) == (400, "E0000029", ["Invalid cursor."])
    assert response.json()["errorSummary"] == "Invalid paging request."


def test_sparse_custom_attribute_first_appears_after_page_two(admin: httpx.Client) -> None:
    users = pull(admin, "/api/v1/users?limit=200")
    first = next(i for i, u in enumerate(users) if "clearanceLevel" in u["profile"])
    assert first >= 400  # page 3 of 200 or later
    assert 0 < sum("clearanceLevel" in u["profile"] for u in users) < len(users)
    profile = users[0]["profile"]
    assert isinstance(profile["isContractor"], bool) and profile["badgeID"] and profile["HireDate"]
    assert "costCenterCode" in profile


def test_seeded_statuses_and_timestamps_look_like_okta(sandbox: Sandbox, admin: httpx.Client) -> None:
    users = pull(admin, "/api/v1/users?search=id%20pr&limit=200")
    statuses = {u["status"] for u in users}
    assert statuses == {
        "ACTIVE",
        "STAGED",
        "PROVISIONED",
        "RECOVERY",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    }
    assert sum(u["status"] == "ACTIVE" for u in users) > len(users) / 2
    assert any(u["lastLogin"] is None for u in users)
    stale = _iso(sandbox.clock() - 90 * 86400)
    assert any(u["lastLogin"] and u["lastLogin"] < stale for u in users)  # not signed in for over 90 days

    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\Z")
    for u in users[:50]:
        for key in ("created", "lastUpdated"):
            assert stamp.match(u[key])


def _iso(epoch: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(epoch))


# ---- search, filter, q -------------------------------------------------------------------


def test_search_semantics(sandbox: Sandbox, admin: httpx.Client) -> None:
    def search(expr: str) -> list[dict]:
        return pull(admin, "/api/v1/users?" + str(httpx.QueryParams({"search": expr, "limit": 200})))

    everyone = search("id pr")
    some = everyone[10]
    last = some["profile"]["lastName"]
    exact = search(f'profile.lastName eq "{last}"')
    assert exact and all(u["profile"]["lastName"] == last for u in exact)
    assert [u["id"] for u in search(f'profile.lastName EQ "{last.upper()}"')] == [u["id"] for u in exact]
    assert search(f'profile.LastName eq "{last}"') == []  # attribute names are case-sensitive
    deprovisioned = search('status eq "DEPROVISIONED"')
    assert deprovisioned and all(u["status"] == "DEPROVISIONED" for u in deprovisioned)
    starts = search('profile.firstName sw "Al"')
    assert starts and all(u["profile"]["firstName"].lower().startswith("al") for u in starts)
    contains = search('profile.email co "son"')
    assert contains and all("son" in u["profile"]["email"] for u in contains)
    both = search('(profile.department eq "IT" or profile.department eq "Legal") and status eq "ACTIVE"')
    assert both and {u["profile"]["department"] for u in both} == {"IT", "Legal"}
    assert all(u["status"] == "ACTIVE" for u in both)
    negated = search('not (status eq "ACTIVE")')
    assert len(negated) + len(search('status eq "ACTIVE"')) == len(everyone)
    contractors = search("profile.isContractor eq true")
    assert contractors and all(u["profile"]["isContractor"] is True for u in contractors)
    cleared = search("profile.clearanceLevel pr")
    assert cleared and all("clearanceLevel" in u["profile"] for u in cleared)
    recent = search(f'lastUpdated gt "{some["lastUpdated"]}"')
    assert all(u["lastUpdated"] > some["lastUpdated"] for u in recent)
    quoted = search('profile.lastName eq "O\'Brien"')
    assert all(u["profile"]["lastName"] == "O'Brien" for u in quoted)


def test_fields_projection_keeps_id_and_the_fields_asked_for(sandbox: Sandbox, admin: httpx.Client) -> None:
    users = pull(admin, "/api/v1/users?fields=status,profile:(firstName, city)&limit=150")
    assert [u["id"] for u in users] == sandbox.user_ids()  # id always, every page
    assert all(set(u) == {"id", "status", "profile"} for u in users)
    assert all(set(u["profile"]) <= {"firstName", "city"} and "firstName" in u["profile"] for u in users)
    refused = admin.get("/api/v1/users?fields=credentials:(provider)")
    assert okta_error(refused)[:2] == (400, "E0000001")


def test_search_sorted_by_an_attribute_pages_in_that_order(sandbox: Sandbox, admin: httpx.Client) -> None:
    expr = 'status eq "ACTIVE"'
    plain = pull(admin, f"/api/v1/users?search={expr}&limit=200")
    ascending = pull(admin, f"/api/v1/users?search={expr}&sortBy=profile.lastName&limit=37")
    assert sorted(u["id"] for u in ascending) == sorted(u["id"] for u in plain)  # same users, none twice
    keys = [(u["profile"]["lastName"].lower(), u["id"]) for u in ascending]
    assert keys == sorted(keys)  # ties ordered by id, as Okta documents
    descending = pull(admin, f"/api/v1/users?search={expr}&sortBy=created&sortOrder=desc&limit=50")
    created = [u["created"] for u in descending]
    assert created == sorted(created, reverse=True) and len(descending) == len(plain)
    groups = pull(admin, '/api/v1/groups?search=type eq "OKTA_GROUP"&sortBy=profile.name&limit=5')
    names = [g["profile"]["name"].lower() for g in groups]
    assert names == sorted(names) and len(names) > 5
    # sortBy is for search queries only: a plain list keeps its order
    assert [u["id"] for u in pull(admin, "/api/v1/users?sortBy=profile.lastName&limit=200")] == sandbox.user_ids()
    refused = admin.get(f"/api/v1/users?search={expr}&sortBy=created&sortOrder=sideways")
    assert okta_error(refused)[:2] == (400, "E0000001")


@pytest.mark.parametrize(
    "expr",
    [
        'profile.title co "Engineer"',
        'profile.lastName ne "Smith"',
        'profile.lastName eq "unterminated',
        "status eq",
        '(status eq "ACTIVE"',
    ],
)
def test_invalid_search_is_e0000031(admin: httpx.Client, expr: str) -> None:
    status, code, _ = okta_error(admin.get("/api/v1/users", params={"search": expr}))
    assert (status, code) == (400, "E0000031")


def test_filter_semantics(admin: httpx.Client) -> None:
    active = pull(admin, "/api/v1/users?" + str(httpx.QueryParams({"filter": 'status eq "ACTIVE"', "limit": 200})))
    assert active and all(u["status"] == "ACTIVE" for u in active)
    stamp = active[5]["lastUpdated"]
    newer = pull(admin, "/api/v1/users?" + str(httpx.QueryParams({"filter": f'lastUpdated ge "{stamp}"'})))
    assert newer and all(u["lastUpdated"] >= stamp for u in newer)
    either = admin.get("/api/v1/users", params={"filter": 'status eq "SUSPENDED" or status eq "DEPROVISIONED"'})
    assert {u["status"] for u in either.json()} == {"SUSPENDED", "DEPROVISIONED"}
    for bad in ('profile.department eq "IT"', 'status sw "ACT"', 'profile.firstName co "a"', "status pr"):
        assert okta_error(admin.get("/api/v1/users", params={"filter": bad}))[:2] == (400, "E0000031")


def test_q_is_starts_with_unpaged_and_skips_deprovisioned(sandbox: Sandbox, admin: httpx.Client) -> None:
    found = admin.get("/api/v1/users", params={"q": "a"})
    users = found.json()
    assert len(users) == 10 and next_link(found) is None
    for u in users:
        p = u["profile"]
        assert any(p[k].lower().startswith("a") for k in ("firstName", "lastName", "email"))
    gone = admin.get("/api/v1/users", params={"search": 'status eq "DEPROVISIONED"', "limit": 1}).json()[0]
    by_q = admin.get("/api/v1/users", params={"q": gone["profile"]["email"], "limit": 200}).json()
    assert gone["id"] not in {u["id"] for u in by_q}
    assert len(admin.get("/api/v1/users", params={"q": "a", "limit": 30}).json()) == 30


# ---- single objects, writes, errors --------------------------------------------------------


def test_get_user_by_id_login_and_me(sandbox: Sandbox, admin: httpx.Client) -> None:
    demo = sandbox.demo_users["readonly"]
    by_id = admin.get(f"/api/v1/users/{demo.id}").json()
    assert by_id["profile"]["login"] == demo.login and "self" in by_id["_links"]
    assert admin.get(f"/api/v1/users/{demo.login}").json()["id"] == demo.id
    assert admin.get("/api/v1/users/me").json()["id"] == sandbox.demo_users["admin"].id


def test_unknown_id_wrong_method_and_unknown_path(admin: httpx.Client) -> None:
    status, code, _ = okta_error(admin.get("/api/v1/users/00unosuchuser0000000"))
    assert (status, code) == (404, "E0000007")
    assert "00unosuchuser0000000" in admin.get("/api/v1/users/00unosuchuser0000000").json()["errorSummary"]
    assert okta_error(admin.patch("/api/v1/users"))[:2] == (405, "E0000022")
    assert okta_error(admin.get("/api/v1/nothing-here"))[:2] == (404, "E0000007")


def test_malformed_and_invalid_bodies(admin: httpx.Client) -> None:
    malformed = admin.post("/api/v1/users", content=b"{not json", headers={"Content-Type": "application/json"})
    assert okta_error(malformed)[:2] == (400, "E0000003")
    status, code, causes = okta_error(admin.post("/api/v1/users", json={"profile": {"firstName": "Ann"}}))
    assert (status, code) == (400, "E0000001") and any(c.startswith("login:") for c in causes)


def test_create_update_lifecycle_and_delete_a_user(sandbox: Sandbox, admin: httpx.Client) -> None:
    profile = {
        "firstName": "Testy",
        "lastName": "McTest",
        "email": "testy@example.com",
        "login": "testy@example.com",
        "favouriteColour": "teal",
    }
    created = admin.post("/api/v1/users", params={"activate": "false"}, json={"profile": profile})
    assert created.status_code == 200, created.text
    user = created.json()
    assert user["status"] == "STAGED" and user["profile"]["favouriteColour"] == "teal"
    uid = user["id"]
    duplicate = admin.post("/api/v1/users", json={"profile": profile})
    assert okta_error(duplicate)[:2] == (400, "E0000001")
    updated = admin.post(f"/api/v1/users/{uid}", json={"profile": {"title": "Tester"}}).json()
    assert updated["profile"]["title"] == "Tester" and updated["profile"]["firstName"] == "Testy"
    assert okta_error(admin.post(f"/api/v1/users/{uid}/lifecycle/reactivate"))[:2] == (403, "E0000038")
    assert admin.post(f"/api/v1/users/{uid}/lifecycle/activate", params={"sendEmail": "false"}).status_code == 200
    assert admin.get(f"/api/v1/users/{uid}").json()["status"] == "PROVISIONED"
    assert okta_error(admin.post(f"/api/v1/users/{uid}/lifecycle/suspend"))[:2] == (403, "E0000038")
    assert admin.delete(f"/api/v1/users/{uid}").status_code == 204
    assert admin.get(f"/api/v1/users/{uid}").json()["status"] == "DEPROVISIONED"
    assert admin.delete(f"/api/v1/users/{uid}").status_code == 204
    assert admin.get(f"/api/v1/users/{uid}").status_code == 404
    events = admin.get("/api/v1/logs", params={"filter": f'target.id eq "{uid}"', "since": _iso(sandbox.clock() - 60)})
    types = [e["eventType"] for e in events.json()]
    assert types[0] == "user.lifecycle.create" and "user.lifecycle.deactivate" in types


def test_groups_membership_and_user_groups(sandbox: Sandbox, admin: httpx.Client) -> None:
    groups = pull(admin, "/api/v1/groups?limit=5")
    names = [g["profile"]["name"] for g in groups]
    assert names[0] == "Everyone" and groups[0]["type"] == "BUILT_IN" and "Engineering" in names
    everyone = groups[0]["id"]
    members = pull(admin, f"/api/v1/groups/{everyone}/users?limit=300")
    assert [m["id"] for m in members] == sandbox.user_ids(include_deprovisioned=True)  # Everyone has every user
    assert len({m["id"] for m in members}) == len(members)
    created = admin.post("/api/v1/groups", json={"profile": {"name": "Notebook Analysts", "description": "x"}})
    gid = created.json()["id"]
    uid = sandbox.demo_users["user"].id
    assert admin.put(f"/api/v1/groups/{gid}/users/{uid}").status_code == 204
    assert [m["id"] for m in admin.get(f"/api/v1/groups/{gid}/users").json()] == [uid]
    assert gid in {g["id"] for g in admin.get(f"/api/v1/users/{uid}/groups").json()}
    assert admin.delete(f"/api/v1/groups/{gid}/users/{uid}").status_code == 204
    assert admin.get(f"/api/v1/groups/{gid}/users").json() == []
    assert admin.get("/api/v1/groups", params={"q": "Office - L"}).json()
    assert okta_error(admin.post("/api/v1/groups", json={"profile": {}}))[:2] == (400, "E0000001")


def test_apps_roles_and_app_users(sandbox: Sandbox, admin: httpx.Client) -> None:
    apps = pull(admin, "/api/v1/apps?limit=4")
    ids = [a["id"] for a in apps]
    assert len(ids) == len(set(ids)) and sandbox.apps["native"].client_id in ids
    assert {a["signOnMode"] for a in apps} >= {"OPENID_CONNECT", "BOOKMARK", "SAML_2_0"}
    native = admin.get(f"/api/v1/apps/{sandbox.apps['native'].client_id}").json()
    assert native["settings"]["oauthClient"]["redirect_uris"] == sandbox.apps["native"].redirect_uris
    assigned = admin.get(f"/api/v1/apps/{sandbox.apps['native'].client_id}/users").json()
    assert {a["id"] for a in assigned} == {u.id for u in sandbox.demo_users.values()}
    roles = admin.get(f"/api/v1/users/{sandbox.demo_users['helpdesk'].id}/roles").json()
    assert [r["type"] for r in roles] == ["HELP_DESK_ADMIN"]
    assert admin.get(f"/api/v1/users/{sandbox.demo_users['user'].id}/roles").json() == []


# ---- auth, scopes, roles -----------------------------------------------------------------


def test_missing_bad_and_revoked_tokens_are_401(sandbox: Sandbox) -> None:
    expected = (
        f'Bearer authorization_uri="{sandbox.url}/oauth2/v1/authorize", realm="{sandbox.url}", '
        'error="invalid_token", error_description="The access token is invalid."'
    )
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "SSWS wrong"}):
        response = httpx.get(f"{sandbox.url}/api/v1/users", headers=headers)
        assert response.status_code == 401 and response.headers["www-authenticate"] == expected
        assert okta_error(response)[:2] == (401, "E0000011")


def test_insufficient_scope_header_exactly_as_okta(sandbox: Sandbox) -> None:
    with client_for(sandbox, "admin", ["okta.users.read"]) as client:
        response = client.get("/api/v1/groups")
    assert response.status_code == 403 and response.content == b""
    assert response.headers["www-authenticate"] == (
        f'Bearer authorization_uri="{sandbox.url}/oauth2/v1/authorize", realm="{sandbox.url}", scope="okta.groups.read", '
        'error="insufficient_scope", error_description="The access token provided does not contain the required '
        'scopes.", resource="/api/v1/groups"'
    )
    with client_for(sandbox, "admin", ["okta.users.read"]) as client:
        assert 'scope="okta.users.manage"' in client.post("/api/v1/users", json={}).headers["www-authenticate"]
    with client_for(sandbox, "admin", ["okta.groups.manage"]) as client:  # .manage covers .read
        assert client.get("/api/v1/groups").status_code == 200


def test_admin_roles_limit_calls_with_e0000006(sandbox: Sandbox) -> None:
    scopes = [
        "okta.users.read",
        "okta.users.manage",
        "okta.groups.read",
        "okta.apps.read",
        "okta.logs.read",
        "okta.roles.read",
    ]
    with client_for(sandbox, "readonly", scopes) as readonly:
        assert readonly.get("/api/v1/logs").status_code == 200
        assert okta_error(readonly.post("/api/v1/users", json={"profile": {}})) == (403, "E0000006", [])
    with client_for(sandbox, "helpdesk", scopes) as helpdesk:
        assert helpdesk.get("/api/v1/users?limit=1").status_code == 200
        assert okta_error(helpdesk.get("/api/v1/apps"))[:2] == (403, "E0000006")
        assert okta_error(helpdesk.get("/api/v1/logs"))[:2] == (403, "E0000006")
        locked = helpdesk.get("/api/v1/users", params={"search": 'status eq "LOCKED_OUT"', "limit": 1}).json()[0]
        assert helpdesk.post(f"/api/v1/users/{locked['id']}/lifecycle/unlock").status_code == 200
        assert okta_error(helpdesk.post(f"/api/v1/users/{locked['id']}/lifecycle/suspend"))[:2] == (403, "E0000006")
    with client_for(sandbox, "user", scopes) as plain:
        assert okta_error(plain.get("/api/v1/users"))[:2] == (403, "E0000006")
        me = plain.get("/api/v1/users/me")
        assert me.status_code == 200 and me.json()["id"] == sandbox.demo_users["user"].id
        assert plain.get("/api/v1/users/me/groups").status_code == 200
    with client_for(sandbox, "user", ["okta.users.read.self"]) as self_only:
        assert self_only.get("/api/v1/users/me").status_code == 200
        assert self_only.get("/api/v1/users").status_code == 403


def test_ssws_api_token_acts_as_the_user(sandbox: Sandbox) -> None:
    token = sandbox.create_api_token(user="readonly")
    headers = {"Authorization": f"SSWS {token}"}
    assert httpx.get(f"{sandbox.url}/api/v1/users?limit=1", headers=headers).status_code == 200
    assert httpx.post(f"{sandbox.url}/api/v1/groups", headers=headers, json={"profile": {"name": "x"}}).status_code == 403


def test_every_api_response_carries_request_id_and_rate_headers(sandbox: Sandbox, admin: httpx.Client) -> None:
    for response in (
        admin.get("/api/v1/users?limit=1"),
        admin.get("/api/v1/users/nope"),
        httpx.get(f"{sandbox.url}/api/v1/users"),
        admin.get("/api/v1/logs?limit=1"),
    ):
        for header in (
            "x-okta-request-id",
            "x-rate-limit-limit",
            "x-rate-limit-remaining",
            "x-rate-limit-reset",
            "date",
        ):
            assert header in response.headers, (response.url, header)
    assert "x-okta-request-id" in httpx.get(f"{sandbox.url}/.well-known/openid-configuration").headers
    assert admin.get("/api/v1/users?limit=1").headers["content-type"] == "application/json"


# ---- rate limits ---------------------------------------------------------------------------


def test_low_limit_gives_429_with_consistent_headers() -> None:
    with Sandbox(port=0, users=20, seed=2, rate_limits={"/api/v1/users": 3}) as sandbox, client_for(sandbox, "admin") as client:
        remaining = [client.get("/api/v1/users").headers["x-rate-limit-remaining"] for _ in range(3)]
        assert remaining == ["2", "1", "0"]
        limited = client.get("/api/v1/users")
        assert okta_error(limited)[:2] == (429, "E0000047")
        assert limited.json()["errorSummary"] == "API call exceeded rate limit due to too many requests."
        assert limited.headers["x-rate-limit-limit"] == "3" and limited.headers["x-rate-limit-remaining"] == "0"
        reset = int(limited.headers["x-rate-limit-reset"])
        date = email.utils.parsedate_to_datetime(limited.headers["date"]).timestamp()
        assert 0 < reset - date <= 60
        # Another bucket is not affected; a single user is in its own bucket.
        assert client.get("/api/v1/groups").status_code == 200
        assert client.get(f"/api/v1/users/{sandbox.demo_users['admin'].id}").status_code == 200
        sandbox.advance_clock(61)
        assert client.get("/api/v1/users").status_code == 200
        sandbox.set_rate_limit("/api/v1/users", 1)
        assert client.get("/api/v1/users").status_code == 200
        assert client.get("/api/v1/users").status_code == 429


# ---- System Log ----------------------------------------------------------------------------


def test_system_log_polling_always_links_next(sandbox: Sandbox, admin: httpx.Client) -> None:
    first = admin.get("/api/v1/logs", params={"limit": 1000})
    events = first.json()
    assert events and next_link(first)
    published = [e["published"] for e in events]
    assert published == sorted(published)
    url = next_link(first)
    for _ in range(20):
        page = admin.get(url)
        assert page.status_code == 200
        url = next_link(page)
        assert url is not None  # even when the page is empty
        if not page.json():
            break
    else:
        pytest.fail("polling never reached the end")
    empty_again = admin.get(url)
    assert empty_again.json() == [] and next_link(empty_again)
    admin.post(f"/api/v1/users/{sandbox.demo_users['user'].id}", json={"profile": {"nickName": "U"}})
    fresh = admin.get(url).json()
    assert [e["eventType"] for e in fresh] == ["user.account.update_profile"]


def test_system_log_bounded_request_ends_without_next(sandbox: Sandbox, admin: httpx.Client) -> None:
    since, until = _iso(sandbox.clock() - 10 * 86400), _iso(sandbox.clock() - 86400)
    first = admin.get("/api/v1/logs", params={"since": since, "until": until, "limit": 100})
    events = pull(admin, str(first.url))
    assert events and all(since <= e["published"] < until for e in events)
    assert len({e["uuid"] for e in events}) == len(events)
    descending = pull(
        admin,
        "/api/v1/logs?"
        + str(httpx.QueryParams({"since": since, "until": until, "limit": 100, "sortOrder": "DESCENDING"})),
    )
    assert [e["uuid"] for e in descending] == [e["uuid"] for e in reversed(events)]


def test_system_log_filter_and_shape(sandbox: Sandbox, admin: httpx.Client) -> None:
    starts = admin.get("/api/v1/logs", params={"filter": 'eventType eq "user.session.start"', "limit": 50}).json()
    assert starts and {e["eventType"] for e in starts} == {"user.session.start"}
    failures = admin.get(
        "/api/v1/logs",
        params={"filter": 'eventType eq "user.session.start" and outcome.result eq "FAILURE"', "limit": 1000},
    ).json()
    assert failures and all(e["outcome"]["result"] == "FAILURE" for e in failures)
    actor = starts[0]["actor"]["id"]
    mine = admin.get("/api/v1/logs", params={"filter": f'actor.id eq "{actor}"'}).json()
    assert mine and all(e["actor"]["id"] == actor for e in mine)
    assert set(starts[0]) >= {
        "uuid",
        "published",
        "eventType",
        "version",
        "severity",
        "legacyEventType",
        "displayMessage",
        "actor",
        "client",
        "outcome",
        "target",
        "transaction",
        "debugContext",
        "authenticationContext",
        "securityContext",
        "request",
    }
    assert okta_error(admin.get("/api/v1/logs", params={"after": "garbage"}))[:2] == (400, "E0000029")
    assert len(admin.get("/api/v1/logs", params={"limit": 5000}).json()) <= 1000


def test_system_log_keyword_search(sandbox: Sandbox, admin: httpx.Client) -> None:
    recent = admin.get("/api/v1/logs", params={"limit": 1000}).json()
    sample = next(e for e in recent if e["actor"]["type"] == "User")
    login, event_type = sample["actor"]["alternateId"], sample["eventType"]
    # Keywords are case-insensitive and must all match a word of the event exactly.
    found = admin.get("/api/v1/logs", params={"q": login.upper(), "limit": 1000}).json()
    assert found and all(login in orjson.dumps(e).decode() for e in found)
    assert len(found) < len(recent)
    both = admin.get("/api/v1/logs", params={"q": f"{login} {event_type}", "limit": 1000}).json()
    assert sample["uuid"] in {e["uuid"] for e in both} and {e["eventType"] for e in both} == {event_type}
    assert admin.get("/api/v1/logs", params={"q": login[:-3]}).json() == []
    # A hyphenated value is matched by each of its parts too (the query guide's note).
    part = sample["uuid"].split("-")[1]
    assert sample["uuid"] in [e["uuid"] for e in admin.get("/api/v1/logs", params={"q": part}).json()]
    # q and filter together.
    narrowed = admin.get(
        "/api/v1/logs", params={"q": login, "filter": f'eventType eq "{event_type}"', "limit": 1000}
    ).json()
    assert [e["uuid"] for e in narrowed] == [e["uuid"] for e in both]
    # Limits: 40 characters per keyword, 10 keywords.
    assert okta_error(admin.get("/api/v1/logs", params={"q": "x" * 41}))[:2] == (400, "E0000001")
    assert okta_error(admin.get("/api/v1/logs", params={"q": " ".join("abcdefghijk")}))[:2] == (400, "E0000001")


def test_system_log_errors_as_the_query_guide_shows(admin: httpx.Client) -> None:
    old = admin.get("/api/v1/logs", params={"since": "2001-01-01T00:00:00.000Z"})
    assert okta_error(old)[:2] == (400, "E0000053") and "180 days" in old.json()["errorSummary"]
    bad = admin.get("/api/v1/logs", params={"filter": 'eventType eqq "user.session.start"'})
    assert okta_error(bad)[:2] == (400, "E0000053") and bad.json()["errorSummary"].startswith("Invalid filter")
    published = admin.get("/api/v1/logs", params={"filter": 'published gt "2020-01-01T00:00:00.000Z"'})
    assert okta_error(published)[:2] == (400, "E0000053")
    url = admin.get("/api/v1/logs", params={"filter": 'debugContext.debugData.url co "/oauth/"'})
    assert okta_error(url)[:2] == (400, "E0000031")


def test_reset_factors_is_linked_and_keeps_the_status(sandbox: Sandbox, admin: httpx.Client) -> None:
    uid = next(u["id"] for u in admin.get("/api/v1/users", params={"search": 'status eq "ACTIVE"'}).json())
    link = admin.get(f"/api/v1/users/{uid}").json()["_links"]["resetFactors"]
    assert link == {"href": f"{sandbox.url}/api/v1/users/{uid}/lifecycle/reset_factors", "method": "POST"}
    done = admin.post(link["href"])
    assert done.status_code == 200 and done.content == b""
    assert admin.get(f"/api/v1/users/{uid}").json()["status"] == "ACTIVE"
    gone = next(u for u in admin.get("/api/v1/users", params={"search": 'status eq "DEPROVISIONED"'}).json())
    assert "resetFactors" not in admin.get(f"/api/v1/users/{gone['id']}").json()["_links"]
    assert okta_error(admin.post(f"/api/v1/users/{gone['id']}/lifecycle/reset_factors"))[:2] == (403, "E0000038")


def test_insufficient_scope_names_a_path_outside_latin1_percent_encoded(sandbox: Sandbox) -> None:
    """A header carries Latin-1 only: the resource is the path as sent on the wire, not a 500."""
    with client_for(sandbox, "readonly", ["okta.users.read"]) as client:
        response = client.delete("/api/v1/users/%E2%9C%93%22x")
    assert response.status_code == 403
    assert 'resource="/api/v1/users/%E2%9C%93%22x"' in response.headers["www-authenticate"]


def test_a_configuration_list_of_many_pages_follows_its_next_links_to_the_end(sandbox, admin):
    """Devices (740 at 1,000 users) in pages of 200: every next cursor is a device id, not a user's."""
    url, seen, pages = "/api/v1/devices?limit=200", [], 0
    while url:
        response = admin.get(url)
        assert response.status_code == 200, response.text  # was: 400 E0000029 Invalid cursor on page 2
        seen += [d["id"] for d in response.json()]
        pages += 1
        url = response.links.get("next", {}).get("url")
    assert pages > 1 and len(seen) == len(set(seen)) == len(sandbox._state.security.devices())



def _ms(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _float_unsafe_instants(start: float, count: int) -> list[dt.datetime]:
    """Millisecond instants from ``start`` on whose text, read as seconds since the epoch (a float) and cut back
    to the millisecond, names the millisecond before: what a server must not do with ``since``/``until``."""
    found: list[dt.datetime] = []
    when = dt.datetime.fromtimestamp(int(start), tz=dt.timezone.utc)
    while len(found) < count:
        when += dt.timedelta(milliseconds=1)
        seconds = when.timestamp()
        if int((seconds - int(seconds)) * 1000) != when.microsecond // 1000:
            found.append(when)
    return found


def test_system_log_since_and_until_are_exact_to_the_millisecond(sandbox_factory: Any) -> None:
    # Okta's System Log: since is the first instant a bounded request holds, until the first it does not.
    # A log continued from its file's last event (since = that event's published) must not take in the
    # event one millisecond before it, nor may until drop the events of its last millisecond.
    from okta_magic.sandbox.data import log_event

    sb = sandbox_factory(users=20, seed=5, calm=True)
    d = sb._state.directory
    one_ms = dt.timedelta(milliseconds=1)
    placed: dict[dt.datetime, tuple[str, str]] = {}
    for i, when in enumerate(_float_unsafe_instants(sb.clock() - 3600, 5)):
        pair = []
        for stamp in (when - one_ms, when):
            event = log_event(sb.clock() - 3600, "group.user_membership.add", f"test {i}", None,
                              {"id": "x", "type": "User"}, [])
            event["published"] = _ms(stamp)
            d.add_event(event)
            pair.append(event["uuid"])
        placed[when] = (pair[0], pair[1])
    token = sb.issue_token(user="admin", app="native")
    with httpx.Client(base_url=sb.url, headers={"Authorization": f"Bearer {token}"}) as admin:
        for when, (before, at) in placed.items():
            second = dt.timedelta(seconds=1)
            got = admin.get("/api/v1/logs", params={"since": _ms(when), "until": _ms(when + second), "limit": 1000})
            uuids = [e["uuid"] for e in got.json()]
            assert at in uuids and before not in uuids, _ms(when)
            upto = admin.get("/api/v1/logs", params={"since": _ms(when - second), "until": _ms(when), "limit": 1000})
            uuids = [e["uuid"] for e in upto.json()]
            assert before in uuids and at not in uuids, _ms(when)
