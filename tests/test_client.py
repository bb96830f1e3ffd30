"""The Management API client against a fake Okta (httpx.MockTransport): paging, host rule, waits, errors."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pandas as pd
import pytest

from okta_magic.advice import render
from okta_magic.http.apierrors import api_error
from okta_magic.http.client import OktaClient, Progress
from okta_magic.errors import (
    HostNotAllowed,
    InsufficientScope,
    NetworkError,
    NotSignedIn,
    OktaApiError,
    PermissionDenied,
    RateLimited,
)
from okta_magic.pulls.pull import fetch
from okta_magic.pulls.request import parse_request

ORG = "https://dev-1.okta.com"
TOKEN = "eyJ.secret-token.sig"
EPOCH = 1_767_225_600.0  # 2026-01-01T00:00:00Z

def said(error: Exception) -> str:
    """What a notebook user reads: the error and its fix, worded by the advice layer."""
    return render(error, "notebook")  # type: ignore[arg-type]


class FakeTime:
    """A clock and a sleep that only moves the clock; records every wait."""

    def __init__(self) -> None:
        self.now = EPOCH
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


class FakeOkta:
    """Serves /api/v1/users from a list, 2 per page, with Link headers; records every request."""

    def __init__(self, users: int = 5, *, link_host: str = ORG, joined_links: bool = False,
                 link_path: str = "/api/v1/users") -> None:
        self.users = [{"id": f"00u{i}", "status": "ACTIVE", "profile": {"login": f"u{i}@example.com"}}
                      for i in range(users)]
        self.link_host = link_host
        self.link_path = link_path
        self.joined_links = joined_links
        self.requests: list[httpx.Request] = []
        self.before: Callable[[httpx.Request, int], httpx.Response | None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.before is not None:
            answer = self.before(request, len(self.requests))
            if answer is not None:
                return answer
        if request.url.path != "/api/v1/users":
            return okta_error(404, "E0000007", "Not found: Resource not found: x (User)")
        after = int(request.url.params.get("after", "0"))
        limit = int(request.url.params.get("limit", "2"))
        chunk = self.users[after : after + limit]
        links = [f'<{self.link_host}/api/v1/users?limit={limit}>; rel="self"']
        if after + limit < len(self.users):
            links.append(f'<{self.link_host}{self.link_path}?after={after + limit}&limit={limit}>; rel="next"')
        headers = [("Content-Type", "application/json"), ("X-Rate-Limit-Limit", "600"),
                   ("X-Rate-Limit-Remaining", "599"), ("X-Rate-Limit-Reset", str(int(EPOCH) + 60)),
                   ("Date", http_date(EPOCH))]
        if self.joined_links:
            headers.append(("Link", ", ".join(links)))
        else:
            headers += [("Link", link) for link in links]
        return httpx.Response(200, headers=headers, content=orjson.dumps(chunk))


def okta_error(status: int, code: str, summary: str, causes: tuple[str, ...] = (), **headers: str) -> httpx.Response:
    body = {"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": "oaeTEST123",
            "errorCauses": [{"errorSummary": c} for c in causes]}
    return httpx.Response(status, json=body, headers={"X-Okta-Request-Id": "req-1", **headers})


def make_client(handler: Callable[[httpx.Request], httpx.Response], fake: FakeTime | None = None,
                **options: Any) -> OktaClient:
    fake = fake or FakeTime()
    options.setdefault("progress", False)
    return OktaClient(ORG, lambda: f"Bearer {TOKEN}", transport=httpx.MockTransport(handler),
                      sleep=fake.sleep, clock=fake.clock, random=lambda: 0.5, **options)


def ids(result: Any) -> list[str]:
    return result.data["id"].tolist()


# -- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("joined", [False, True], ids=["one-line-per-rel", "joined-line"])
def test_every_page_is_followed_whatever_the_link_header_form(joined: bool) -> None:
    okta = FakeOkta(5, joined_links=joined)
    result = fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))
    assert ids(result) == ["00u0", "00u1", "00u2", "00u3", "00u4"]
    assert result.pages == 3 and result.rows == 5
    assert not result.stopped_early and not result.interrupted and result.note is None
    assert [r.url.params.get("after") for r in okta.requests] == [None, "2", "4"]


def test_pages_iterator_and_limits() -> None:
    okta = FakeOkta(5)
    client = make_client(okta)
    pages = list(client.pages("GET", "/api/v1/users", params={"limit": 2}))
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert pages[0].rate_limit.remaining == 599
    result = fetch(client, parse_request("GET /api/v1/users?limit=2"), max_pages=2)
    assert ids(result) == ["00u0", "00u1", "00u2", "00u3"]
    assert result.stopped_early and "max_pages" in (result.note or "")
    assert result.next_url == f"{ORG}/api/v1/users?after=4&limit=2"
    result = fetch(client, parse_request("GET /api/v1/users?limit=2"), max_rows=3)
    assert ids(result) == ["00u0", "00u1", "00u2"]
    assert result.stopped_early


def test_next_link_on_another_name_of_the_org_is_followed_on_the_org_host() -> None:
    okta = FakeOkta(4, link_host="https://dev-1-admin.okta.com")
    result = fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))
    assert ids(result) == ["00u0", "00u1", "00u2", "00u3"]
    assert {r.url.host for r in okta.requests} == {"dev-1.okta.com"}
    assert all(r.headers["Authorization"] == f"Bearer {TOKEN}" for r in okta.requests)


def test_next_link_on_another_host_outside_the_management_api_is_refused() -> None:
    okta = FakeOkta(4, link_host="https://evil.example.com", link_path="/collect")
    with pytest.raises(HostNotAllowed) as info:
        fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))
    assert "evil.example.com" in str(info.value) and "only sent to dev-1.okta.com" in str(info.value)
    assert len(okta.requests) == 1
    assert info.value.partial["id"].tolist() == ["00u0", "00u1"]  # the page that carried the link is kept


def test_a_failure_on_a_later_page_hands_over_the_rows_fetched_before_it() -> None:
    def failing_from_page_3() -> FakeOkta:
        okta = FakeOkta(9)
        okta.before = lambda request, n: okta_error(500, "E0000009", "Internal Server Error") if n >= 3 else None
        return okta

    with pytest.raises(OktaApiError) as info:
        fetch(make_client(failing_from_page_3()), parse_request("GET /api/v1/users?limit=2"))
    assert info.value.partial["id"].tolist() == ["00u0", "00u1", "00u2", "00u3"]
    with pytest.raises(OktaApiError) as info:
        fetch(make_client(failing_from_page_3()), parse_request("GET /api/v1/users?limit=2"), raw=True)
    assert [r["id"] for r in info.value.partial] == ["00u0", "00u1", "00u2", "00u3"]
    okta = FakeOkta(9)
    okta.before = lambda request, n: okta_error(500, "E0000009", "Internal Server Error")
    with pytest.raises(OktaApiError) as info:
        fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))
    assert info.value.partial is None  # nothing had arrived


def test_absolute_url_on_another_host_is_refused_before_sending() -> None:
    okta = FakeOkta()
    client = make_client(okta)
    for target in ("https://evil.example.com/api/v1/users", "http://dev-1.okta.com/api/v1/users",
                   "https://dev-1.okta.com:8443/api/v1/users"):
        with pytest.raises(HostNotAllowed, match="is not on the signed-in org dev-1.okta.com"):
            fetch(client, parse_request(f"GET {target}"))
    assert okta.requests == []
    assert ids(fetch(client, parse_request(f"GET {ORG}/api/v1/users?limit=9"))) == [f"00u{i}" for i in range(5)]


def test_the_token_only_goes_to_the_org() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("Authorization")
        return httpx.Response(200, json=[])

    client = make_client(handler)
    client.http.get("/api/v1/users")
    client.http.get("https://other.example.com/api/v1/users")
    client.http.get("https://dev-1.okta.com.evil.example.com/api/v1/users")
    assert seen == {"dev-1.okta.com": f"Bearer {TOKEN}", "other.example.com": None,
                    "dev-1.okta.com.evil.example.com": None}
    assert TOKEN not in repr(client) and TOKEN not in repr(client.http.auth)


def test_log_polling_stops_on_the_first_empty_page() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        n = len(calls)
        events = [] if n == 3 else [{"uuid": f"e{n}", "published": "2026-01-01T00:00:00.000Z",
                                      "eventType": "user.session.start"}]
        nxt = f'<{ORG}/api/v1/logs?after=c{n}>; rel="next"'  # Okta always sends next while polling
        return httpx.Response(200, json=events, headers={"Link": nxt})

    result = fetch(make_client(handler), parse_request("GET /api/v1/logs?since=2026-01-01T00:00:00Z"))
    assert result.data["uuid"].tolist() == ["e1", "e2"]
    assert len(calls) == 3 and result.pages == 3
    assert str(result.data["published"].dtype) == "datetime64[ms, UTC]"


def test_bounded_log_query_follows_next_links_even_past_an_empty_page() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url)
        n = len(calls)
        events = [] if n == 1 else [{"uuid": f"e{n}"}]
        headers = {"Link": f'<{ORG}/api/v1/logs?until=x&after=c{n}>; rel="next"'} if n < 2 else {}
        return httpx.Response(200, json=events, headers=headers)

    result = fetch(make_client(handler), parse_request("GET /api/v1/logs?since=a&until=b"))
    assert result.data["uuid"].tolist() == ["e2"]


# -- answers that are not lists ------------------------------------------------------------------


def test_object_answer_is_a_record_and_204_is_none_and_text_is_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        if request.url.path.endswith("/me"):
            return httpx.Response(200, json={"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@b"}})
        return httpx.Response(200, text="hello", headers={"Content-Type": "text/plain"})

    client = make_client(handler)
    me = fetch(client, parse_request("GET /api/v1/users/me"))
    assert isinstance(me.data, pd.Series) and me.data["profile.login"] == "a@b"
    assert fetch(client, parse_request("GET /api/v1/users/me"), raw=True).data["profile"] == {"login": "a@b"}
    gone = fetch(client, parse_request("DELETE /api/v1/users/00u1"))
    assert gone.status == 204 and gone.data is None
    text = fetch(client, parse_request("GET /robots.txt"))
    assert text.data == "hello" and text.content_type == "text/plain"


def test_what_okta_embeds_is_shown_not_no_content() -> None:
    # GET /api/v1/hook-keys/public/{keyId} answers the key inside _embedded (Okta's spec example
    # RetrievePublicKeyResponse); groups?expand=stats puts the member counts there.
    from okta_magic.pulls.pull import PlainAnswer, run_request
    from okta_magic.sessions.session import Session

    stats = [{"id": f"00g{i}", "profile": {"name": f"G{i}"}, "_links": {"users": {"href": f"{ORG}/g{i}/users"}},
              "_embedded": {"stats": {"usersCount": i * 10, "_links": {"self": {"href": f"{ORG}/g{i}/stats"}}}}}
             for i in range(3)]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/groups":
            after = int(request.url.params.get("after", "0"))
            more = {"Link": f'<{ORG}/api/v1/groups?expand=stats&after={after + 2}>; rel="next"'} if after == 0 else {}
            return httpx.Response(200, content=orjson.dumps(stats[after:after + 2]),
                                  headers={"Content-Type": "application/json", **more})
        if request.url.path == "/api/v1/x":
            return httpx.Response(200, content=b'""', headers={"Content-Type": "application/json"})
        return httpx.Response(200, json={"_embedded": {"kty": "RSA", "kid": "7fbc27fd", "e": "AQAB", "n": "2naqCnv6"},
                                         "_links": {"self": {"href": f"{ORG}{request.url.path}"}}})

    session = Session(transport=httpx.MockTransport(handler))
    session.use_api_token("00" + "a" * 40, org_url=ORG)
    key = run_request(session, "GET /api/v1/hook-keys/public/{{k}}", {"k": "7fbc27fd"}, progress=False).value
    assert isinstance(key, pd.Series) and key["_embedded.n"] == "2naqCnv6" and key["_embedded.kty"] == "RSA"
    assert "no content" not in repr(key) and "_links.self.href" not in key.index
    groups = run_request(session, "GET /api/v1/groups?expand=stats", {}, progress=False).value
    assert groups["_embedded.stats.usersCount"].tolist() == [0, 10, 20]
    assert not [c for c in groups.columns if "_links" in c]
    kept = run_request(session, "GET /api/v1/groups?expand=stats", {}, progress=False, keep_links=True).value
    assert kept["_embedded.stats._links.self.href"].tolist() == [f"{ORG}/g{i}/stats" for i in range(3)]
    empty_text = run_request(session, "GET /api/v1/x", {}, progress=False).value
    assert isinstance(empty_text, PlainAnswer) and repr(empty_text) == 'HTTP 200 (application/json)\n""'


def test_post_sends_the_json_body() -> None:
    sent = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.method, request.headers["Content-Type"], orjson.loads(request.content)))
        return httpx.Response(200, json={"id": "00g1", "profile": {"name": "G"}})

    result = fetch(make_client(handler), parse_request('POST /api/v1/groups\n\n{"profile": {"name": "G"}}'))
    assert sent == [("POST", "application/json", {"profile": {"name": "G"}})]
    assert result.data["id"] == "00g1"


def test_raw_gives_the_records() -> None:
    result = fetch(make_client(FakeOkta(3)), parse_request("GET /api/v1/users?limit=2"), raw=True)
    assert [u["id"] for u in result.data] == ["00u0", "00u1", "00u2"]


# -- rate limits and retries ---------------------------------------------------------------------


def too_many(reset_in: int = 30) -> httpx.Response:
    return okta_error(429, "E0000047", "API call exceeded rate limit due to too many requests.",
                      **{"X-Rate-Limit-Limit": "10", "X-Rate-Limit-Remaining": "0",
                         "X-Rate-Limit-Reset": str(int(EPOCH) + reset_in), "Date": http_date(EPOCH)})


def test_429_waits_until_reset_by_the_server_date_then_retries() -> None:
    okta = FakeOkta(4)
    okta.before = lambda request, n: too_many(30) if n == 2 else None
    fake = FakeTime()
    fake.now = EPOCH + 5000  # the local clock is off: the wait must follow the server's Date header
    events: list[Progress] = []
    result = fetch(make_client(okta, fake, progress=events.append), parse_request("GET /api/v1/users?limit=2"))
    assert ids(result) == ["00u0", "00u1", "00u2", "00u3"]
    assert fake.waits == [30 + 1 + 0.5]  # Reset - Date + 1 s + jitter
    assert any(e.waiting == 31.5 and "429" in e.message for e in events)


def test_429_retries_are_bounded_then_rate_limited() -> None:
    okta = FakeOkta()
    okta.before = lambda request, n: too_many(10)
    fake = FakeTime()
    with pytest.raises(RateLimited) as info:
        fetch(make_client(okta, fake, max_retries=3), parse_request("GET /api/v1/users"))
    assert len(okta.requests) == 4 and len(fake.waits) == 3
    message = str(info.value)
    assert "still hits Okta's rate limit after 3 retries" in message and "E0000047" in message
    assert info.value.details.error_id == "oaeTEST123" and info.value.details.request_id == "req-1"


def test_requests_slow_down_when_few_remain_in_the_window() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[], headers={"X-Rate-Limit-Limit": "100", "X-Rate-Limit-Remaining": "4",
                                                     "X-Rate-Limit-Reset": str(int(EPOCH) + 50),
                                                     "Date": http_date(EPOCH)})

    fake = FakeTime()
    client = make_client(handler, fake)
    client.request("GET", "/api/v1/users")
    assert fake.waits == []
    client.request("GET", "/api/v1/users")
    assert fake.waits == [pytest.approx(50 / 5)]  # the 50 s left spread over the 4 remaining (+1)
    client.request("GET", "/api/v1/groups")  # another bucket is not slowed
    assert len(fake.waits) == 1


def test_5xx_is_retried_for_get_but_never_for_post() -> None:
    okta = FakeOkta(1)
    okta.before = lambda request, n: httpx.Response(503) if n <= 2 else None
    fake = FakeTime()
    result = fetch(make_client(okta, fake), parse_request("GET /api/v1/users"))
    assert ids(result) == ["00u0"] and len(fake.waits) == 2 and fake.waits[1] > fake.waits[0]

    posts = []

    def handler(request: httpx.Request) -> httpx.Response:
        posts.append(request)
        return httpx.Response(503, json={"errorCode": "E0000009", "errorSummary": "Internal Server Error"})

    with pytest.raises(OktaApiError, match="503 E0000009"):
        make_client(handler).request("POST", "/api/v1/users", json={"profile": {}})
    assert len(posts) == 1


def test_connection_errors_are_retried_for_get_then_reported_as_network_error() -> None:
    okta = FakeOkta(1)

    def flaky(request: httpx.Request, n: int) -> httpx.Response | None:
        if n == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return None

    okta.before = flaky
    assert ids(fetch(make_client(okta), parse_request("GET /api/v1/users"))) == ["00u0"]

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("name resolution failed", request=request)

    fake = FakeTime()
    with pytest.raises(NetworkError) as info:
        make_client(down, fake, max_retries=2).request("GET", "/api/v1/users")
    assert len(fake.waits) == 2
    assert info.value.host == "dev-1.okta.com"
    assert said(info.value) == ("Could not reach dev-1.okta.com: the name does not resolve (DNS). Check the org URL "
                                "for a typo (https://your-org.okta.com), your network or VPN, and any proxy settings.")
    posted = []

    def down_post(request: httpx.Request) -> httpx.Response:
        posted.append(request)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(NetworkError):
        make_client(down_post).request("POST", "/api/v1/groups", json={})
    assert len(posted) == 1


# -- error messages -------------------------------------------------------------------------------


def answer(response: httpx.Response, method: str = "GET", path: str = "/api/v1/groups",
           held: tuple[str, ...] = ("okta.users.read",)) -> OktaApiError:
    def handler(request: httpx.Request) -> httpx.Response:
        return response

    with pytest.raises(OktaApiError) as info:
        make_client(handler, held_scopes=lambda: held).request(method, path)
    message = str(info.value)
    assert "\n" not in message and TOKEN not in message
    return info.value


def test_401_says_sign_in_again() -> None:
    error = answer(okta_error(401, "E0000011", "Invalid token provided", **{
        "WWW-Authenticate": f'Bearer authorization_uri="{ORG}/oauth2/v1/authorize", realm="{ORG}", '
                            'error="invalid_token", error_description="The access token is invalid."'}))
    assert said(error) == ("GET /api/v1/groups was refused: 401 E0000011 (Invalid token provided). The token is "
                           "missing, invalid or expired. [errorId oaeTEST123] Sign in again with %okta_login.")
    assert error.details.www_authenticate["error"] == "invalid_token"


def test_403_insufficient_scope_from_the_header_names_needed_and_held() -> None:
    header = (f'Bearer authorization_uri="{ORG}/oauth2/v1/authorize", realm="{ORG}", scope="okta.groups.read", '
              'error="insufficient_scope", error_description="The access token provided does not contain the '
              'required scopes.", resource="/api/v1/groups"')
    error = answer(httpx.Response(403, headers={"WWW-Authenticate": header}))
    assert isinstance(error, InsufficientScope)
    assert error.needed == ("okta.groups.read",) and error.held == ("okta.users.read",)
    assert said(error) == ("GET /api/v1/groups needs okta.groups.read, which the token does not hold (it holds: "
                           "okta.users.read). Sign in again with %okta_login asking for okta.groups.read (the app "
                           "must be granted it in Okta).")


def test_403_without_header_uses_the_scope_catalogue() -> None:
    error = answer(httpx.Response(403), path="/api/v1/apps")
    assert isinstance(error, InsufficientScope)
    assert error.needed == ("okta.apps.read",)
    assert "needs okta.apps.read" in str(error)


def test_403_e0000006_is_silent_downscoping() -> None:
    error = answer(okta_error(403, "E0000006", "You do not have permission to perform the requested action"),
                   path="/api/v1/users", held=("okta.users.read",))
    assert isinstance(error, PermissionDenied)
    assert said(error) == ("GET /api/v1/users was refused: 403 E0000006 (You do not have permission to perform the "
                           "requested action). The token carries the scope, but the signed-in user's admin role "
                           "does not allow this call (Okta's silent downscoping). [errorId oaeTEST123] Sign in as an "
                           "admin whose role allows it (built-in and app groups cannot be changed by any role).")


def test_404_400_405_messages() -> None:
    not_found = answer(okta_error(404, "E0000007", "Not found: Resource not found: 00ux (User)"),
                       path="/api/v1/users/00ux")
    assert said(not_found) == ("GET /api/v1/users/00ux failed: 404 E0000007 (Not found: Resource not found: 00ux "
                               "(User)). [errorId oaeTEST123] Check the id and the path (GET /api/v1/users/{id}, "
                               "/api/v1/groups ...).")
    bad = answer(okta_error(400, "E0000001", "Api validation failed: login",
                            ("login: An object with this field already exists in the current organization",)),
                 method="POST", path="/api/v1/users")
    assert said(bad) == ("POST /api/v1/users failed: 400 E0000001 (Api validation failed: login: login: An object "
                         "with this field already exists in the current organization). [errorId oaeTEST123] Fix the "
                         "request (path, query or body) and run it again.")
    assert bad.details.causes == ("login: An object with this field already exists in the current organization",)
    wrong = answer(okta_error(405, "E0000022", "The endpoint does not support the provided HTTP method"),
                   method="PUT", path="/api/v1/users")
    assert "405 E0000022" in str(wrong) and "does not accept PUT. [errorId oaeTEST123] Check the method" in said(wrong)
    oauth = answer(httpx.Response(400, json={"error": "invalid_dpop_proof",
                                             "error_description": "The DPoP proof JWT header is missing."}),
                   method="POST", path="/oauth2/v1/token")
    assert str(oauth).startswith("POST /oauth2/v1/token failed: 400 invalid_dpop_proof (The DPoP proof JWT header "
                                 "is missing.)")


def test_a_bare_403_to_an_ssws_token_blames_the_role_not_a_scope() -> None:
    forbidden = httpx.MockTransport(lambda r: httpx.Response(403))
    client = OktaClient(ORG, lambda: "SSWS 00abcdefSECRET", transport=forbidden, progress=False)
    with pytest.raises(OktaApiError) as info:
        client.request("GET", "/api/v1/groups")
    assert not isinstance(info.value, InsufficientScope)
    assert "acts with its creator's admin role, which does not allow this" in str(info.value)
    assert "okta.groups.read" not in str(info.value) and "SECRET" not in str(info.value)


def test_credentials_errors_reach_the_caller() -> None:
    def no_token() -> str:
        raise NotSignedIn("Not signed in: run %okta_login first.")

    client = OktaClient(ORG, no_token, transport=httpx.MockTransport(FakeOkta()), progress=False)
    with pytest.raises(NotSignedIn):
        client.request("GET", "/api/v1/users")


def test_api_error_for_a_bare_response() -> None:
    response = httpx.Response(418, request=httpx.Request("GET", f"{ORG}/api/v1/teapot"))
    assert str(api_error(response)) == "GET /api/v1/teapot failed: 418 I'm a teapot."


# -- interrupts ------------------------------------------------------------------------------------


def test_ctrl_c_during_a_pull_keeps_the_rows_already_fetched() -> None:
    okta = FakeOkta(9)

    def interrupt(request: httpx.Request, n: int) -> httpx.Response | None:
        if n == 3:
            raise KeyboardInterrupt
        return None

    okta.before = interrupt
    result = fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))
    assert result.interrupted
    assert ids(result) == ["00u0", "00u1", "00u2", "00u3"]
    assert result.note == (f"Interrupted after 2 page(s): the 4 rows fetched so far are in the result; the pull "
                           f"stopped before {ORG}/api/v1/users?after=4&limit=2.")


def test_ctrl_c_during_a_rate_limit_wait_keeps_the_rows() -> None:
    okta = FakeOkta(6)
    okta.before = lambda request, n: too_many(20) if n == 2 else None

    def sleep(seconds: float) -> None:
        raise KeyboardInterrupt

    client = OktaClient(ORG, lambda: f"Bearer {TOKEN}", transport=httpx.MockTransport(okta), sleep=sleep,
                        progress=False)
    result = fetch(client, parse_request("GET /api/v1/users?limit=2"))
    assert result.interrupted and ids(result) == ["00u0", "00u1"]


def test_ctrl_c_during_a_post_is_not_swallowed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch(make_client(handler), parse_request('POST /api/v1/groups\n\n{"profile": {"name": "G"}}'))


def test_progress_bar_shows_only_on_multi_page_pulls(capsys: pytest.CaptureFixture[str]) -> None:
    client = make_client(FakeOkta(5), progress=True)
    fetch(client, parse_request("GET /api/v1/users?limit=10"))
    assert "pages" not in capsys.readouterr().err
    fetch(client, parse_request("GET /api/v1/users?limit=2"))
    assert "pages" in capsys.readouterr().err


def test_a_429_on_the_first_page_shows_the_wait(capsys: pytest.CaptureFixture[str]) -> None:
    okta = FakeOkta(2)
    okta.before = lambda request, n: too_many(20) if n == 1 else None
    fake = FakeTime()
    result = fetch(make_client(okta, fake, progress=True), parse_request("GET /api/v1/users?limit=2"))
    assert ids(result) == ["00u0", "00u1"]
    assert "waiting 22 s (rate limited (429)" in capsys.readouterr().err


@pytest.mark.parametrize("progress", [False, True], ids=["no-bar", "bar"])
def test_a_long_rate_limit_wait_is_said_once_in_one_line(progress: bool, capsys: pytest.CaptureFixture[str]) -> None:
    okta = FakeOkta(4)
    okta.before = lambda request, n: too_many(60) if n == 2 else None
    result = fetch(make_client(okta, progress=progress), parse_request("GET /api/v1/users?limit=2"))
    assert ids(result) == ["00u0", "00u1", "00u2", "00u3"]
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("Waiting ")]
    assert said == ["Waiting 62 s before GET /api/v1/users goes on: rate limited (429); retry 1/4."]


def test_a_long_wait_goes_to_a_progress_callable_and_short_waits_stay_quiet(
        capsys: pytest.CaptureFixture[str]) -> None:
    okta = FakeOkta(4)
    okta.before = lambda request, n: too_many(60) if n == 2 else None
    events: list[Progress] = []
    fetch(make_client(okta, progress=events.append), parse_request("GET /api/v1/users?limit=2"))
    assert [e.waiting for e in events if e.waiting] == [61.5] and capsys.readouterr().err == ""
    okta = FakeOkta(4)
    okta.before = lambda request, n: okta_error(503, "E0000009", "Service Unavailable") if n == 2 else None
    fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))  # a 0.5 s backoff: nothing to say
    assert capsys.readouterr().err == ""


def test_a_long_wait_of_a_single_request_is_said_too() -> None:
    okta = FakeOkta(2)
    okta.before = lambda request, n: too_many(30) if n == 1 else None
    lines: list[str] = []
    make_client(okta, say=lines.append).request("GET", "/api/v1/users")
    assert lines == ["Waiting 32 s before GET /api/v1/users goes on: rate limited (429); retry 1/4."]


def test_new_http_is_a_fresh_client_with_the_same_auth_base_headers_and_timeouts() -> None:
    seen: dict[str, str | None] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[request.url.host] = request.headers.get("Authorization")
        return httpx.Response(200, json=[])

    client = make_client(handler, timeout=7)
    with client.new_http() as http:
        assert http is not client.http and http is not client.new_http()
        assert http.base_url == client.http.base_url and http.timeout == client.http.timeout
        assert http.headers["User-Agent"] == client.http.headers["User-Agent"]
        http.get("/api/v1/users")
        http.get("https://other.example.com/api/v1/users")
    assert seen == {"dev-1.okta.com": f"Bearer {TOKEN}", "other.example.com": None}
    assert not client.http.is_closed  # closing the handed-out client leaves the client's own open
    assert ids(fetch(client, parse_request("GET /api/v1/users"))) == []


def _invalid_token() -> httpx.Response:
    return okta_error(401, "E0000011", "Invalid token provided", **{
        "WWW-Authenticate": f'Bearer realm="{ORG}", error="invalid_token", error_description="The access token '
                            'is invalid."'})


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_401_invalid_token_is_retried_once_with_a_renewed_token(method: str) -> None:
    sent: list[tuple[str | None, bytes]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append((request.headers.get("Authorization"), request.content))
        if request.headers.get("Authorization") != "Bearer fresh-token":
            return _invalid_token()
        return httpx.Response(200, json={"id": "00g1"})

    renewed: list[str] = []
    client = OktaClient(ORG, lambda: f"Bearer {TOKEN}", transport=httpx.MockTransport(handler), progress=False,
                        renew=lambda refused: renewed.append(refused) or "Bearer fresh-token")
    body = '\n\n{"profile": {"name": "G"}}' if method == "POST" else ""
    result = fetch(client, parse_request(f"{method} /api/v1/groups{body}"))
    assert result.data["id"] == "00g1" and renewed == [f"Bearer {TOKEN}"]
    assert [auth for auth, _ in sent] == [f"Bearer {TOKEN}", "Bearer fresh-token"]
    assert sent[0][1] == sent[1][1]  # the same body, sent again


def test_a_401_that_cannot_be_renewed_says_sign_in_again_and_other_401s_are_not_renewed() -> None:
    client = OktaClient(ORG, lambda: f"Bearer {TOKEN}", transport=httpx.MockTransport(lambda r: _invalid_token()),
                        progress=False, renew=lambda refused: None)
    with pytest.raises(OktaApiError) as info:
        client.request("GET", "/api/v1/groups")
    assert "Sign in again with %okta_login" in said(info.value)
    renewed: list[str] = []
    feature_off = okta_error(401, "E0000015", "You do not have permission to access the feature you are requesting")
    client = OktaClient(ORG, lambda: f"Bearer {TOKEN}", transport=httpx.MockTransport(lambda r: feature_off),
                        progress=False, renew=lambda refused: renewed.append(refused) or "Bearer x")
    with pytest.raises(OktaApiError, match="not enabled"):
        client.request("GET", "/api/v1/groups")
    assert renewed == []
