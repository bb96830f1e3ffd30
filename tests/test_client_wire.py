"""The client against answers a real Okta org, or something between it and us, can send.

Error bodies that are not Okta's (a proxy's HTML), challenges with several schemes,
Retry-After, a concurrency 429, other charsets, broken JSON, and the ways a
connection can fail: each gives the rows or one line saying what to do.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpx
import orjson
import pytest
from test_client import EPOCH, ORG, TOKEN, FakeOkta, FakeTime, answer, http_date, ids, make_client, okta_error

from okta_magic.advice import render
from okta_magic.http.client import OktaClient
from okta_magic.errors import InsufficientScope, InvalidResponse, NetworkError, OktaApiError, RateLimited
from okta_magic.http.neterrors import network_error
from okta_magic.pulls.pull import fetch
from okta_magic.pulls.request import parse_request
from okta_magic.sandbox import Sandbox

# -- WWW-Authenticate (RFC 9110 §11.6.1, RFC 6750 §3) ----------------------------------------------

SCOPE_CHALLENGE = (f'Bearer authorization_uri="{ORG}/oauth2/v1/authorize", realm="{ORG}", scope="okta.groups.read", '
                   'error="insufficient_scope", error_description="The access token provided does not contain '
                   'the required scopes.", resource="/api/v1/groups"')

def said(error: Exception) -> str:
    """What a notebook user reads: the error and its fix, worded by the advice layer."""
    return render(error, "notebook")  # type: ignore[arg-type]


def test_a_dpop_challenge_before_the_bearer_one_does_not_hide_the_missing_scope() -> None:
    response = httpx.Response(403, headers=[("WWW-Authenticate", 'DPoP algs="RS256 ES256"'),
                                            ("WWW-Authenticate", SCOPE_CHALLENGE)])
    error = answer(response)
    assert isinstance(error, InsufficientScope)
    assert error.needed == ("okta.groups.read",)
    assert error.details.www_authenticate["resource"] == "/api/v1/groups"


def test_a_scope_list_in_the_challenge_names_each_scope() -> None:
    header = 'Bearer error="insufficient_scope", scope="okta.groups.read okta.users.read"'
    error = answer(httpx.Response(403, headers={"WWW-Authenticate": header}), held=("okta.users.read",))
    assert isinstance(error, InsufficientScope)
    assert error.needed == ("okta.groups.read", "okta.users.read")
    assert str(error).startswith("GET /api/v1/groups needs okta.groups.read, which the token does not hold")


# -- error answers that are not Okta's JSON -------------------------------------------------------

PROXY_PAGE = b"<html><head><title>Access Denied</title></head><body>Blocked by policy</body></html>"


def test_an_html_403_from_a_proxy_is_not_blamed_on_a_scope() -> None:
    error = answer(httpx.Response(403, content=PROXY_PAGE, headers={"Content-Type": "text/html"}),
                   path="/api/v1/users")
    assert not isinstance(error, InsufficientScope)
    assert str(error) == ("GET /api/v1/users failed: 403 Forbidden; the answer was text/html titled 'Access Denied', "
                          "not Okta's JSON error: a proxy, firewall or load balancer between you and dev-1.okta.com "
                          "may have answered.")


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_gateway_error_page_is_one_line(status: int) -> None:
    page = b"<html>\n<head><title>502 Bad\n Gateway</title></head>\n<body>nginx</body>\n</html>\n"
    error = answer(httpx.Response(status, content=page, headers={"Content-Type": "text/html"}))
    message = said(error)
    assert message.startswith(f"GET /api/v1/groups failed: {status} ")
    assert "titled '502 Bad Gateway'" in message and message.endswith("Try again later.")


def test_an_empty_403_without_a_challenge_still_uses_the_scope_catalogue() -> None:
    error = answer(httpx.Response(403), path="/api/v1/logs", held=("okta.users.read",))
    assert isinstance(error, InsufficientScope) and error.needed == ("okta.logs.read",)


def test_okta_error_text_with_line_breaks_stays_on_one_line() -> None:
    body = {"errorCode": "E0000001", "errorSummary": "Api validation failed:\nlogin",
            "errorCauses": [{"errorSummary": "login: already\r\nexists"}, {"reason": "no summary"}, "plain cause"],
            "errorId": "oae1"}
    error = answer(httpx.Response(400, json=body), method="POST", path="/api/v1/users")
    assert said(error) == ("POST /api/v1/users failed: 400 E0000001 (Api validation failed: login: login: already "
                           "exists; plain cause). [errorId oae1] Fix the request (path, query or body) and run it "
                           "again.")


# -- rate limits ----------------------------------------------------------------------------------


def rate_headers(limit: int, remaining: int, reset_in: int, **more: str) -> dict[str, str]:
    return {"X-Rate-Limit-Limit": str(limit), "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(int(EPOCH) + reset_in), "Date": http_date(EPOCH), **more}


def test_a_longer_retry_after_on_a_429_is_honoured() -> None:
    okta = FakeOkta(1)
    okta.before = lambda request, n: okta_error(429, "E0000047", "rate", **rate_headers(
        10, 0, 5, **{"Retry-After": "20"})) if n == 1 else None
    fake = FakeTime()
    assert ids(fetch(make_client(okta, fake), parse_request("GET /api/v1/users"))) == ["00u0"]
    assert fake.waits == [20 + 0.5]  # Retry-After (20 s) is longer than Reset - Date + 1 s (6 s); + jitter


def test_a_retry_after_date_is_read_against_the_server_date() -> None:
    okta = FakeOkta(1)
    okta.before = lambda request, n: httpx.Response(
        503, headers={"Retry-After": http_date(EPOCH + 12), "Date": http_date(EPOCH)}) if n == 1 else None
    fake = FakeTime()
    fake.now = EPOCH - 3600  # the local clock is an hour behind: it must not matter
    assert ids(fetch(make_client(okta, fake), parse_request("GET /api/v1/users"))) == ["00u0"]
    assert fake.waits == [12]


def test_a_503_with_retry_after_is_not_retried_for_a_post() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(503, headers={"Retry-After": "1"})

    with pytest.raises(OktaApiError):
        make_client(handler).request("POST", "/api/v1/groups", json={"profile": {"name": "x"}})
    assert len(calls) == 1


def test_a_concurrency_429_says_too_many_requests_are_in_flight() -> None:
    okta = FakeOkta(1)
    okta.before = lambda request, n: okta_error(429, "E0000047", "API call exceeded rate limit due to too many "
                                                "requests.", **rate_headers(0, 0, 3))
    fake = FakeTime()
    with pytest.raises(RateLimited) as info:
        fetch(make_client(okta, fake, max_retries=2), parse_request("GET /api/v1/users"))
    assert fake.waits == [3 + 1 + 0.5] * 2  # Reset is an estimate, but still the best wait there is
    assert "concurrent-request limit after 2 retries" in str(info.value)
    assert "fewer parallel requests" in said(info.value)


# -- bodies ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content_type", "encode"), [
    ("application/json; charset=ISO-8859-1", lambda text: text.encode("latin-1")),
    ("application/json; charset=utf-16", lambda text: text.encode("utf-16")),
    ("application/json", lambda text: b"\xef\xbb\xbf" + text.encode()),
    ("application/json; okta-response=omitCredentials", lambda text: text.encode()),
], ids=["latin-1", "utf-16", "bom", "okta-response"])
def test_json_in_another_charset_or_with_a_bom_is_still_a_frame(content_type: str, encode: Any) -> None:
    text = '[{"id": "00u1", "status": "ACTIVE", "profile": {"lastName": "Müller"}}]'

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=encode(text), headers={"Content-Type": content_type})

    result = fetch(make_client(handler), parse_request("GET /api/v1/users"))
    assert result.data["profile.lastName"].tolist() == ["Müller"]
    assert fetch(make_client(handler), parse_request("GET /api/v1/users"), raw=True).data[0]["id"] == "00u1"


def test_invalid_json_with_a_200_is_an_error_not_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b'[{"id": "00u1", "sta', headers={"Content-Type": "application/json"})

    with pytest.raises(InvalidResponse) as info:
        fetch(make_client(handler), parse_request("GET /api/v1/users"))
    assert str(info.value).startswith("GET /api/v1/users answered 200 with a body that is not valid JSON although "
                                      "it says application/json")
    assert str(info.value).endswith("bytes): it may have been cut short on the way; run it again.")


@pytest.mark.parametrize("broken", [
    httpx.Response(200, content=b'[{"id": "00u2"', headers={"Content-Type": "application/json"}),
    httpx.Response(200, content=b"<html>maintenance</html>", headers={"Content-Type": "text/html"}),
    httpx.Response(200, json={"id": "00u2"}),
    httpx.Response(204),
], ids=["cut-short", "html", "object", "empty"])
def test_a_later_page_that_is_not_a_list_stops_the_pull_with_an_error(broken: httpx.Response) -> None:
    okta = FakeOkta(6)
    okta.before = lambda request, n: broken if n == 2 else None
    with pytest.raises(InvalidResponse) as info:
        fetch(make_client(okta), parse_request("GET /api/v1/users?limit=2"))
    assert str(info.value).startswith(("Page 2 of GET /api/v1/users is not a JSON array like the pages before it",
                                       "GET /api/v1/users answered 200 with a body that is not valid JSON"))
    assert len(okta.requests) == 2  # nothing after the broken page was asked for


def test_204_and_plain_text_are_shown_plainly() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, content=b"OK", headers={"Content-Type": "text/plain"})

    client = make_client(handler)
    assert fetch(client, parse_request("DELETE /api/v1/groups/00g1")).data is None
    assert fetch(client, parse_request("GET /api/v1/org/health")).data == "OK"


# -- network errors -------------------------------------------------------------------------------


def failing(exc: BaseException) -> httpx.TransportError:
    """An httpx error raised from ``exc``, as httpx raises it from the OS error."""
    request = httpx.Request("GET", f"{ORG}/api/v1/users")
    try:
        try:
            raise exc
        except BaseException as inner:
            raise httpx.ConnectError(str(inner), request=request) from inner
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize(("exc", "says"), [
    (failing(socket.gaierror(-2, "Name or service not known")), "the name does not resolve (DNS)"),
    (failing(ConnectionRefusedError(111, "Connection refused")), "the connection was refused"),
    (failing(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                             "self-signed certificate in certificate chain")),
     "its TLS certificate was not accepted"),
    (httpx.ConnectTimeout("timed out"), "did not accept a connection within 30 s"),
    (httpx.ReadTimeout("timed out"), "did not answer within 30 s (ReadTimeout)"),
    (httpx.RemoteProtocolError("Server disconnected without sending a response."), "closed the connection"),
    (httpx.ProxyError("407 Proxy Authentication Required"), "HTTPS_PROXY"),
], ids=["dns", "refused", "certificate", "connect-timeout", "read-timeout", "dropped", "proxy"])
def test_network_errors_name_the_host_and_what_to_check(exc: httpx.TransportError, says: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    fake = FakeTime()
    with pytest.raises(NetworkError) as info:
        make_client(handler, fake, max_retries=1, timeout=30).request("GET", "/api/v1/users")
    message = said(info.value)
    assert says in message and "dev-1.okta.com" in message and "\n" not in message and TOKEN not in message
    assert info.value.host == "dev-1.okta.com" and len(fake.waits) == 1


def test_real_connection_failures_are_told_apart() -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with OktaClient(f"https://127.0.0.1:{port}", lambda: f"Bearer {TOKEN}", max_retries=0, progress=False) as c:
        with pytest.raises(NetworkError, match=rf"^Could not reach 127.0.0.1:{port}: the connection was refused"):
            c.request("GET", "/api/v1/users")
    with Sandbox(port=0, users=10, seed=1) as sb:  # plain HTTP: https:// to it fails in the TLS handshake
        tls_url = sb.url.replace("http://", "https://")
        with OktaClient(tls_url, lambda: f"Bearer {TOKEN}", max_retries=0, progress=False) as c:
            with pytest.raises(NetworkError, match=r"^Could not reach 127.0.0.1: the TLS handshake failed"):
                c.request("GET", "/api/v1/users")
    with OktaClient("https://no-such-org.invalid", lambda: f"Bearer {TOKEN}", max_retries=0, progress=False) as c:
        with pytest.raises(NetworkError, match=r"^Could not reach no-such-org.invalid: the name does not resolve"):
            c.request("GET", "/api/v1/users")


def test_network_error_for_an_unknown_failure_keeps_the_general_advice() -> None:
    exc = httpx.ConnectError("something odd", request=httpx.Request("GET", f"{ORG}/"))
    assert said(network_error(exc, httpx.URL(ORG))) == (
        "Could not reach dev-1.okta.com (ConnectError). Check the org URL, your network or VPN, and any proxy "
        "settings, then try again.")


def test_orjson_is_what_parses_pages() -> None:  # guards the fast path: plain UTF-8 JSON skips any decoding
    users = [{"id": "00u1", "status": "ACTIVE"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=orjson.dumps(users),
                              headers={"Content-Type": "application/json;charset=UTF-8"})

    assert fetch(make_client(handler), parse_request("GET /api/v1/users"), raw=True).data == users


def test_a_redirect_is_not_followed_and_says_where_it_pointed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(301, headers={"Location": "https://dev-1.okta.com/api/v1/users?limit=2"})

    client = OktaClient("http://dev-1.okta.com", lambda: f"Bearer {TOKEN}", transport=httpx.MockTransport(handler),
                        progress=False)
    with pytest.raises(OktaApiError) as info:
        fetch(client, parse_request("GET /api/v1/users?limit=2"))
    assert said(info.value) == ("GET /api/v1/users was redirected to https://dev-1.okta.com/api/v1/users (301). "
                                "okta_magic does not follow redirects, so that the token stays on dev-1.okta.com. "
                                "If that is the org's own address, use it as the org URL.")
    assert len(seen) == 1


def test_a_next_link_back_to_a_page_already_fetched_stops_the_pull() -> None:
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:  # ignores `after`: always the first page
        calls.append(request)
        return httpx.Response(200, json=[{"id": "00u1"}], headers={
            "Link": '<https://dev-1.okta.com/api/v1/users?limit=1>; rel="self", '
                    '<https://dev-1.okta.com/api/v1/users?after=00u1&limit=1>; rel="next"'
            if "after" not in request.url.params else
            '<https://dev-1.okta.com/api/v1/users?limit=1>; rel="next"'})

    with pytest.raises(InvalidResponse, match="links back to a page already fetched"):
        fetch(make_client(handler), parse_request("GET /api/v1/users?limit=1"))
    assert len(calls) == 2
