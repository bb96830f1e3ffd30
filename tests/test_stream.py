"""Link headers as real servers write them (RFC 8288): every form leads to the same next page."""

from __future__ import annotations

import threading
import time
from concurrent.futures import CancelledError
from typing import Any

import httpx
import orjson
import pytest

from okta_magic.http.client import OktaClient
from okta_magic.errors import HostNotAllowed, OktaMagicError
from okta_magic.http.page import decode_json
from okta_magic.http.stream import next_url
from okta_magic.pulls.pull import fetch
from okta_magic.pulls.request import parse_request

ORG = httpx.URL("https://dev-1.okta.com/")
PAGE1 = "https://dev-1.okta.com/api/v1/users?limit=2"
NEXT = "https://dev-1.okta.com/api/v1/users?after=00u2&limit=2"


def answer(*links: str, url: str = PAGE1) -> httpx.Response:
    return httpx.Response(200, headers=[("Link", line) for line in links], request=httpx.Request("GET", url))


@pytest.mark.parametrize(
    "lines",
    [
        [f'<{PAGE1}>; rel="self"', f'<{NEXT}>; rel="next"'],  # Okta today: one line per rel
        [f'<{PAGE1}>; rel="self", <{NEXT}>; rel="next"'],  # joined by a proxy (RFC 9110 §5.3)
        [f"<{NEXT}>; rel=next"],  # unquoted token
        [f'<{NEXT}>; REL="NEXT"'],  # parameter names and registered types are case-insensitive
        [f'<{NEXT}>; rel="next last"'],  # several relation types (RFC 8288 §3.3)
        [f'<{NEXT}>;rel="last  next"'],
        [f'<{NEXT}>; title*=UTF-8\'\'%C3%BCbersicht; rel="next"'],
        ['</api/v1/users?after=00u2&limit=2>; rel="next"'],  # relative reference (RFC 8288 §3.2)
        ['<?after=00u2&limit=2>; rel="next"'],
    ],
    ids=["lines", "joined", "unquoted", "uppercase", "two-types", "two-types-reversed", "ext-value",
         "absolute-path", "query-only"],
)
def test_next_link_forms(lines: list[str]) -> None:
    assert str(next_url(answer(*lines), ORG)) == NEXT


@pytest.mark.parametrize(
    "lines",
    [
        [f'<{PAGE1}>; rel="self"'],
        [f'<{NEXT}>; rel="nextpage"'],
        [f'<{NEXT}>; title="rel=next; rel=\\"next\\""; rel="self"'],  # "next" only inside another value
        [],
    ],
    ids=["self-only", "other-type", "inside-title", "no-header"],
)
def test_no_next_link(lines: list[str]) -> None:
    assert next_url(answer(*lines), ORG) is None


def test_relative_next_is_resolved_against_the_url_of_the_page_it_came_from() -> None:
    response = answer('<users?after=00u9>; rel="next"', url="https://dev-1.okta.com/api/v1/groups?limit=2")
    assert str(next_url(response, ORG)) == "https://dev-1.okta.com/api/v1/users?after=00u9"


@pytest.mark.parametrize("host", ["https://dev-1-admin.okta.com", "https://login.example.com", "http://dev-1.okta.com"])
def test_a_management_api_next_link_on_another_name_is_moved_to_the_org(host: str) -> None:
    url = next_url(answer(f'<{host}/api/v1/users?after=00u2&limit=2>; rel="next"'), ORG)
    assert str(url) == NEXT


@pytest.mark.parametrize("target", ["https://evil.example.com/collect?after=1", "https://dev-1-admin.okta.com/admin/x",
                                    "https://dev-1-admin.okta.com/api/v1"])
def test_any_other_next_link_off_the_org_is_refused(target: str) -> None:
    with pytest.raises(HostNotAllowed, match="only sent to dev-1.okta.com"):
        next_url(answer(f'<{target}>; rel="next"'), ORG)


def test_a_pull_follows_relative_multi_type_links_and_the_token_stays_on_the_org() -> None:
    users = [{"id": f"00u{i}", "status": "ACTIVE"} for i in range(5)]
    seen: list[tuple[str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers.get("authorization")))
        after = int(request.url.params.get("after", "0"))
        headers = [("Content-Type", "application/json"), ("Link", f'</api/v1/users?after={after}&limit=2>; REL=self')]
        if after + 2 < len(users):
            headers.append(("Link", f'<?after={after + 2}&limit=2>; rel="next last"'))
        return httpx.Response(200, headers=headers, content=orjson.dumps(users[after:after + 2]))

    client = OktaClient("https://dev-1.okta.com", lambda: "SSWS key", transport=httpx.MockTransport(handler),
                        progress=False)
    result = fetch(client, parse_request("GET /api/v1/users?limit=2"))
    assert result.data["id"].tolist() == [u["id"] for u in users]
    assert [url for url, _ in seen] == [PAGE1, "https://dev-1.okta.com/api/v1/users?after=2&limit=2",
                                        "https://dev-1.okta.com/api/v1/users?after=4&limit=2"]
    assert {auth for _, auth in seen} == {"SSWS key"}


def _numbered_pages(total: int, seen: list[int]) -> OktaClient:
    """An org of ``total`` pages of two users; ``seen`` gets each page number asked for."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("after", "0"))
        seen.append(page)
        headers = [("Content-Type", "application/json")]
        if page + 1 < total:
            headers.append(("Link", f'<https://dev-1.okta.com/api/v1/users?after={page + 1}&limit=2>; rel="next"'))
        return httpx.Response(200, headers=headers,
                              content=orjson.dumps([{"id": f"00u{page}x{i}"} for i in range(2)]))

    return OktaClient("https://dev-1.okta.com", lambda: "SSWS key", transport=httpx.MockTransport(handler),
                      progress=False)


@pytest.mark.parametrize("max_pages", [None, 1, 2, 3, 7])
def test_the_read_ahead_asks_for_each_page_once_and_never_past_max_pages(max_pages: int | None) -> None:
    seen: list[int] = []
    result = fetch(_numbered_pages(12, seen), parse_request("GET /api/v1/users?limit=2"), max_pages=max_pages)
    wanted = 12 if max_pages is None else max_pages
    assert sorted(seen) == list(range(wanted))  # each page once, none beyond the limit
    assert result.pages == wanted and len(result.data) == 2 * wanted
    assert result.stopped_early == (max_pages is not None)


def test_a_pull_stopped_by_the_caller_asks_for_at_most_the_read_ahead_beyond_it() -> None:
    from okta_magic.http.stream import AHEAD

    seen: list[int] = []
    client = _numbered_pages(50, seen)
    stream = client.stream("GET", "/api/v1/users?limit=2")
    pages = iter(stream)
    next(pages)
    stream.close()
    time.sleep(0.2)  # a request already handed to the worker may still finish
    assert 1 <= len(seen) <= 2 + AHEAD  # the first page, the one asked for next, and at most AHEAD more


def _org_of_pages(total: int, asked: dict[int, threading.Event], hold: dict[int, threading.Event]) -> OktaClient:
    """An org of ``total`` pages of one user; ``asked[n]`` is set once page ``n`` is asked for, and page ``n``
    is answered once ``hold[n]`` is set."""

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("after", "0"))
        if page in asked:
            asked[page].set()
        if page in hold:
            assert hold[page].wait(10)
        headers = [("Content-Type", "application/json")]
        if page + 1 < total:
            headers.append(("Link", f'<https://dev-1.okta.com/api/v1/users?after={page + 1}&limit=2>; rel="next"'))
        return httpx.Response(200, headers=headers, content=orjson.dumps([{"id": f"00u{page}"}]))

    return OktaClient("https://dev-1.okta.com", lambda: "SSWS key", transport=httpx.MockTransport(handler),
                      progress=False)


def test_a_page_queued_for_decoding_when_the_pull_closes_is_cancelled_not_waited_for_forever() -> None:
    """The race behind a fan-out worker that never ended (and a script that never exited): page 1 was queued
    on the decoder thread while page 0 was being decoded, then the pull was closed; the decoder's queue was
    cancelled with page 1's decoding in it, and the caller waited for page 1 for ever."""
    asked, decoding_first = {2: threading.Event()}, threading.Event()
    client = _org_of_pages(50, asked, hold={1: decoding_first})  # page 1 comes once page 0's decoding began
    stream: Any = None

    def decode(page: Any) -> Any:
        if "after=" not in page.url:  # page 0: hold the decoder until page 1 is queued behind it (the read-ahead
            decoding_first.set()      # asks for page 2 once page 1 is), then close the pull under it
            assert asked[2].wait(10)
            stream.close()
        return decode_json(page)

    stream = client.stream("GET", "/api/v1/users?limit=2", decode=decode)
    pages = iter(stream)
    assert next(pages).data == [{"id": "00u0"}]
    second: list[BaseException | Any] = []

    def take() -> None:
        try:
            second.append(next(pages))
        except BaseException as exc:  # noqa: BLE001 (what the caller gets is the point)
            second.append(exc)

    taker = threading.Thread(target=take, daemon=True)
    taker.start()
    taker.join(10)  # a guard so that a regression fails here instead of hanging the suite
    assert not taker.is_alive(), "the caller waits for a page whose decoding the closed pull dropped"
    assert isinstance(second[0], CancelledError)
    pages.close()


def test_a_pull_closed_while_its_request_waits_out_a_retry_after_ends_at_once() -> None:
    """A worker waiting out a 503's Retry-After (up to two minutes) after its pull was closed kept a fan-out's
    thread, and so the script's exit, waiting; the wait now ends when the pull is closed."""
    told = threading.Event()
    unavailable = httpx.MockTransport(lambda request: httpx.Response(503, headers={"Retry-After": "100"}))
    client = OktaClient("https://dev-1.okta.com", lambda: "SSWS key", progress=False, transport=unavailable)
    stream = client.stream("GET", "/api/v1/users", progress=lambda state: told.set() if state.waiting else None)
    ended: list[BaseException] = []

    def pull() -> None:
        try:
            next(iter(stream))
        except BaseException as exc:  # noqa: BLE001 (how it ended is the point)
            ended.append(exc)

    puller = threading.Thread(target=pull, daemon=True)
    puller.start()
    assert told.wait(10)  # the 503 is answered: a 100-second wait begins
    stream.close()
    puller.join(10)  # a guard: the wait it ends is 100 s
    assert not puller.is_alive(), "the closed pull's request still waits out the Retry-After"
    assert ended and not isinstance(ended[0], OktaMagicError)  # stopped by the close, not a failure of its own


def test_a_decoder_that_loses_pages_fails_the_pull_instead_of_leaving_it_waiting() -> None:
    """A decoder's many() that gives fewer pages' data than it was given (a bug) left those pages' waiters
    waiting for ever; they now get the error."""
    asked, decoding_first = {3: threading.Event()}, threading.Event()
    client = _org_of_pages(8, asked, hold={1: decoding_first})

    class Short:
        def __call__(self, page: Any) -> Any:
            if "after=" not in page.url:  # page 0 alone; pages 1 and 2 (at least) then wait together
                decoding_first.set()
                assert asked[3].wait(10)
            return decode_json(page)

        def many(self, pages: list[Any]) -> list[Any]:
            return [decode_json(pages[0])]

    stream = client.stream("GET", "/api/v1/users?limit=2", decode=Short())
    ended: list[BaseException] = []

    def pull() -> None:
        try:
            list(stream)
        except BaseException as exc:  # noqa: BLE001 (how it ended is the point)
            ended.append(exc)
        finally:
            stream.close()

    puller = threading.Thread(target=pull, daemon=True)
    puller.start()
    puller.join(10)  # a guard so that a regression fails here instead of hanging the suite
    assert not puller.is_alive(), "the pull waits for pages its decoder lost"
    assert isinstance(ended[0], RuntimeError) and "decoder gave 1 pages' data for" in str(ended[0])
