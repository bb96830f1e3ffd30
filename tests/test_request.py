"""The %okta request parser: what is typed becomes exactly what is sent."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from okta_magic.errors import RequestError
from okta_magic.pulls.request import ApiRequest, parse_request

NS = {
    "uid": "00u1abc",
    "odd": "a/b c?d",
    "dept": 'R&D "Lab"',
    "name": 'Group "One"',
    "count": 5,
    "flags": [1, "two"],
    "token": "abc 123",
    "when": dt.date(2026, 1, 2),
}


@pytest.mark.parametrize(
    ("text", "method", "target"),
    [
        ("GET /api/v1/users", "GET", "/api/v1/users"),
        ("/api/v1/users?limit=200", "GET", "/api/v1/users?limit=200"),
        ("get /api/v1/groups", "GET", "/api/v1/groups"),
        ("  DELETE /api/v1/users/00u1  ", "DELETE", "/api/v1/users/00u1"),
        (
            'GET /api/v1/users?search=profile.department eq "Engineering"',
            "GET",
            "/api/v1/users?search=profile.department%20eq%20%22Engineering%22",
        ),
        (  # already encoded: left exactly as typed, never %2520
            "GET /api/v1/users?filter=status%20eq%20%22ACTIVE%22&limit=2",
            "GET",
            "/api/v1/users?filter=status%20eq%20%22ACTIVE%22&limit=2",
        ),
        (  # lower-case escapes are normalised, a lone % is encoded
            "GET /api/v1/users?q=50%&x=%2f",
            "GET",
            "/api/v1/users?q=50%25&x=%2F",
        ),
        (  # '+' is a literal plus in a value (an e-mail address), not a space
            'GET /api/v1/users?filter=profile.login eq "a+b@example.com"',
            "GET",
            "/api/v1/users?filter=profile.login%20eq%20%22a%2Bb%40example.com%22".replace("%40", "@"),
        ),
        (
            "GET /api/v1/users?fields=profile:(firstName, city)",
            "GET",
            "/api/v1/users?fields=profile:(firstName,%20city)",
        ),
        ("GET https://dev-1.okta.com/api/v1/users?limit=2", "GET", "https://dev-1.okta.com/api/v1/users?limit=2"),
        ("GET /api/v1/users/{{uid}}/groups", "GET", "/api/v1/users/00u1abc/groups"),
        ("GET /api/v1/users/{{ odd }}", "GET", "/api/v1/users/a%2Fb%20c%3Fd"),
        (
            "GET /api/v1/users?search=profile.department eq {{dept}}&limit={{count}}",
            "GET",
            "/api/v1/users?search=profile.department%20eq%20R%26D%20%22Lab%22&limit=5",
        ),
        ("GET /api/v1/logs?since={{when}}", "GET", "/api/v1/logs?since=2026-01-02"),
    ],
)
def test_request_line_becomes_the_target_sent(text: str, method: str, target: str) -> None:
    request = parse_request(text, NS)
    assert request.method == method
    assert request.target == target


def test_params_hold_the_values_the_user_meant() -> None:
    request = parse_request('GET /api/v1/users?search=profile.department eq "R&D"&limit=200'.replace(
        '"R&D"', "{{dept}}"), NS)
    assert request.params == (("search", 'profile.department eq R&D "Lab"'), ("limit", "200"))
    assert request.param("limit") == "200"
    assert request.param("after") is None
    assert request.path == "/api/v1/users"


def test_httpx_sends_the_query_exactly_as_encoded() -> None:
    request = parse_request('GET /api/v1/users?search=profile.department eq "Engineering"')
    url = httpx.URL("https://dev-1.okta.com" + request.target)
    assert url.raw_path == b"/api/v1/users?search=profile.department%20eq%20%22Engineering%22"
    assert url.params["search"] == 'profile.department eq "Engineering"'


def test_cell_with_headers_and_json_body_interpolated_by_position() -> None:
    cell = """POST /api/v1/groups
Accept: application/json
X-Label: {{token}}

{
  "profile": {"name": "{{name}}", "description": "owned by {{dept}}"},
  "count": "{{count}}",
  "flags": {{flags}}
}
"""
    request = parse_request(cell, NS)
    assert request == ApiRequest(
        "POST",
        "/api/v1/groups",
        (),
        {"Accept": "application/json", "X-Label": "abc 123"},
        {
            "profile": {"name": 'Group "One"', "description": 'owned by R&D "Lab"'},
            "count": 5,
            "flags": [1, "two"],
        },
        "",
    )


def test_cell_body_may_follow_the_request_line_directly() -> None:
    request = parse_request('PUT /api/v1/groups/00g1\n{"profile": {"name": "x"}}')
    assert request.method == "PUT"
    assert request.body == {"profile": {"name": "x"}}
    assert request.headers == {}


def test_cell_without_body_has_none() -> None:
    request = parse_request("GET /api/v1/users\nAccept: application/json\n\n")
    assert request.body is None
    assert request.headers == {"Accept": "application/json"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "No request given"),
        ("   \n  ", "No request given"),
        ("FETCH /api/v1/users", "Unknown HTTP method 'FETCH'"),
        ("GET", "GET needs a path"),
        ("GET api/v1/users", "must start with /api/v1/"),
        ("users", "Cannot read 'users'"),
        ("GET /api/v1/users/{{missing}}", "{{missing}} names no variable"),
        ("GET /api/v1/users?search={{nope}}", "{{nope}} names no variable"),
        ('POST /api/v1/groups\n\n{"a": {{gone}}}', "{{gone}} names no variable"),
        ("GET /api/v1/users\nX-A: {{absent}}", "{{absent}} names no variable"),
        ('POST /api/v1/groups\n\n{"profile": {"name": "x",}}', "The body is not valid JSON"),
        ("GET /api/v1/users\nnot a header", "is not a 'Header: value' line"),
        ("GET /api/v1/users#top", "Remove the '#...' fragment"),
        ("GET /api/v1/my users", "contains a space"),
        ("GET /api/v1/users?=x", "has no parameter name"),
        ("GET https:///api/v1/users", "has no host"),
    ],
)
def test_bad_input_gives_a_one_line_hint(text: str, fragment: str) -> None:
    with pytest.raises(RequestError) as info:
        parse_request(text, NS)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message


def test_header_values_cannot_smuggle_a_second_header() -> None:
    with pytest.raises(RequestError, match="single line"):
        parse_request("GET /api/v1/users\nX-A: {{v}}", {"v": "x\r\nAuthorization: SSWS stolen"})


def test_an_expression_in_braces_is_refused_not_sent_literally():
    from okta_magic.errors import RequestError

    with pytest.raises(RequestError, match=r"\{\{uid.iloc\[0\]\}\} is not a variable name"):
        parse_request("GET /api/v1/users/{{uid.iloc[0]}}/roles", {"uid": ["00u1"]})


@pytest.mark.parametrize(
    ("text", "sent", "params"),
    [
        ('GET /api/v1/users?search=profile.department eq "R&D"&limit=5',
         "search=profile.department%20eq%20%22R%26D%22&limit=5",
         (("search", 'profile.department eq "R&D"'), ("limit", "5"))),
        ('GET /api/v1/users?search=profile.title eq "C# developer"',
         "search=profile.title%20eq%20%22C%23%20developer%22", (("search", 'profile.title eq "C# developer"'),)),
        ('GET /api/v1/groups?search=profile.name sw "A&B" and type eq "OKTA_GROUP"&limit=2',
         "search=profile.name%20sw%20%22A%26B%22%20and%20type%20eq%20%22OKTA_GROUP%22&limit=2",
         (("search", 'profile.name sw "A&B" and type eq "OKTA_GROUP"'), ("limit", "2"))),
        ('GET /api/v1/users?q=O"Brien&limit=5',  # unbalanced quote: '&' still splits
         "q=O%22Brien&limit=5", (("q", 'O"Brien'), ("limit", "5"))),
    ],
    ids=["ampersand-in-quotes", "hash-in-quotes", "two-strings", "unbalanced"],
)
def test_ampersand_and_hash_inside_a_quoted_search_value_belong_to_it(text: str, sent: str,
                                                                      params: tuple[tuple[str, str], ...]) -> None:
    request = parse_request(text)
    assert request.query == sent
    assert request.params == params
    assert httpx.URL("https://dev-1.okta.com" + request.target).params.get_list(params[0][0]) == [params[0][1]]


def test_a_fragment_outside_quotes_is_still_refused() -> None:
    with pytest.raises(RequestError, match="fragment"):
        parse_request('GET /api/v1/users?search=profile.x eq "a"#top')


def test_a_value_interpolated_inside_a_quoted_search_string_cannot_end_it() -> None:
    request = parse_request('GET /api/v1/users?search=profile.lastName eq "{{last}}"&limit=2',
                            {"last": 'O"Brien \\ & co'})
    assert request.param("search") == 'profile.lastName eq "O\\"Brien \\\\ & co"'
    assert request.param("limit") == "2"
    # outside quotes the value is sent as it is (the user chose not to quote it)
    assert parse_request("GET /api/v1/users?q={{last}}", {"last": 'O"B'}).param("q") == 'O"B'


@pytest.mark.parametrize("value", ["ünï", "{{uni}}", "a\x00b", "tab\x7f"])
def test_a_header_value_that_http_cannot_carry_is_refused_with_the_reason(value: str) -> None:
    with pytest.raises(RequestError, match="The value of header X-Note holds .*ASCII"):
        parse_request(f"GET /api/v1/users\nX-Note: {value}\n", {"uni": "Zoë"})
    assert parse_request("GET /api/v1/users\nX-Note: plain\tascii ~!\n").headers == {"X-Note": "plain\tascii ~!"}


# -- a value stays in its path segment: "." and ".." are refused, never sent to be normalised away -----------


def _sent_path(request: ApiRequest) -> bytes:
    """The path httpx puts on the wire for ``request`` (it removes dot segments, RFC 3986 §5.2.4)."""
    return httpx.Request("GET", httpx.URL("https://dev-1.okta.com").copy_with(raw_path=request.target.encode())
                         ).url.raw_path


@pytest.mark.parametrize(("template", "value", "reached"), [
    ("/api/v1/groups/{{g}}/users", "..", "/api/v1/users"),  # the whole segment
    ("/api/v1/groups/{{ g }}/users", ".", "/api/v1/groups/users"),
    ("/api/v1/groups/{{g}}", "..", "/api/v1/"),  # the last segment
    ("/api/v1/groups/.{{g}}/users", ".", "/api/v1/users"),  # part of a segment that then reads '..'
    ("https://dev-1.okta.com/api/v1/groups/{{g}}/users", "..", "/api/v1/users"),  # an absolute URL
])
def test_a_value_that_is_a_dot_segment_is_refused_naming_it(template: str, value: str, reached: str) -> None:
    from okta_magic.errors import UnusableValue

    with pytest.raises(UnusableValue) as info:
        parse_request(f"GET {template}", {"g": value})
    message = str(info.value)
    assert "{{" in message and "g" in message and ("'..'" in message or "'.'" in message)
    assert f"would reach {reached}" in message and "not sent" in message and "\n" not in message
    assert info.value.names == ("g",)


@pytest.mark.parametrize("path", ["/api/v1/groups/../users", "/api/v1/groups/./users", "/api/v1/groups/%2E%2E/users",
                                  "/api/v1/groups/%2e./users", "https://dev-1.okta.com/api/v1/groups/../users"])
def test_a_dot_segment_typed_or_formatted_into_the_path_is_refused(path: str) -> None:
    # okta_magic.get("/api/v1/groups/{}/users".format(gid)) reaches the parser as typed text like these
    with pytest.raises(RequestError, match=r"holds the segment '\.\.?', which climbs out of its place .*not sent"):
        parse_request(f"GET {path}")


@pytest.mark.parametrize(("template", "value", "path", "param"), [
    ("/api/v1/groups/x{{g}}/users", "..", b"/api/v1/groups/x../users", None),  # part of a segment: one segment
    ("/api/v1/groups/{{g}}/users", "...", b"/api/v1/groups/.../users", None),
    ("/api/v1/groups/{{g}}/users", "../x", b"/api/v1/groups/..%2Fx/users", None),  # its "/" is %2F
    ("/api/v1/groups/{{g}}/users", "%2E%2E", b"/api/v1/groups/%252E%252E/users", None),  # its "%" is %25
    ("/api/v1/users?q={{g}}", "..", b"/api/v1/users?q=..", ".."),  # the query string: no segment to leave
    ('/api/v1/users?search=profile.nickName eq "{{g}}"', ".", None, 'profile.nickName eq "."'),
])
def test_a_value_with_dots_that_stays_in_its_place_is_sent_as_it_is(template: str, value: str, path: bytes | None,
                                                                     param: str | None) -> None:
    request = parse_request(f"GET {template}", {"g": value})
    if path is not None:
        assert _sent_path(request) == path
    if param is not None:
        assert request.params[0][1] == param
        assert request.path == "/api/v1/users"
