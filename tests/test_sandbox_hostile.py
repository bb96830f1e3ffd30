"""The sandbox under hostile input: deeply nested search expressions and clients that vanish mid-request."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest

from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.search import MAX_DEPTH, SearchError, compile_expression

APP_LOGGER = "okta_magic.sandbox.app"


SANDBOX = {"users": 50, "seed": 1}  # this module's sandbox org (conftest.py)


def nested(depth: int, core: str = 'status eq "ACTIVE"') -> str:
    return "(" * depth + core + ")" * depth


def negated(depth: int) -> str:
    return "not " * depth + 'type eq "OKTA_GROUP"'


# ---- nesting depth --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [nested(1000), nested(100_000), negated(1000), nested(MAX_DEPTH + 1)])
def test_the_parser_refuses_deep_nesting_with_a_search_error(text: str) -> None:
    with pytest.raises(SearchError, match="levels deep"):
        compile_expression(text)


def test_nesting_up_to_the_limit_still_parses_and_evaluates() -> None:
    assert compile_expression(nested(MAX_DEPTH))({"status": "ACTIVE"})
    assert compile_expression(negated(MAX_DEPTH))({"type": "OKTA_GROUP"})  # an even number of nots
    # Depth is nesting, not count: many sibling groups are fine.
    wide = " or ".join(['(status eq "X")'] * (MAX_DEPTH * 3))
    assert not compile_expression(wide)({"status": "ACTIVE"})


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/users", {"search": nested(1000)}),
        ("/api/v1/users", {"search": negated(1000).replace("type", "profile.firstName")}),
        ("/api/v1/users", {"filter": nested(1000)}),
        ("/api/v1/groups", {"search": negated(1000)}),
        ("/api/v1/groups", {"filter": nested(1000, 'type eq "OKTA_GROUP"')}),
        ("/api/v1/apps", {"filter": nested(1000, 'status eq "ACTIVE"')}),
    ],
)
def test_deeply_nested_search_is_okta_400_e0000031(admin: httpx.Client, path: str, params: dict[str, str]) -> None:
    response = admin.get(path, params=params)
    assert response.status_code == 400, response.text[:200]
    body = response.json()
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}
    assert (body["errorCode"], body["errorSummary"], body["errorLink"]) == (
        "E0000031",
        "Invalid search criteria.",
        "E0000031",
    )
    assert body["errorId"].startswith("oae") and "levels deep" in body["errorCauses"][0]["errorSummary"]


def test_deeply_nested_system_log_filter_is_its_invalid_filter_error(admin: httpx.Client) -> None:
    response = admin.get("/api/v1/logs", params={"filter": nested(1000, 'eventType eq "user.session.start"')})
    assert response.status_code == 400 and response.json()["errorCode"] == "E0000053"


def test_a_search_at_the_limit_answers_200(admin: httpx.Client) -> None:
    response = admin.get("/api/v1/users", params={"search": nested(MAX_DEPTH)})
    assert response.status_code == 200 and all(u["status"] == "ACTIVE" for u in response.json())


# ---- clients that go away -------------------------------------------------------------------


def _vanish(sandbox: Sandbox, method: str, path: str, headers: dict[str, str]) -> None:
    """Send the head and a few bytes of a 1000-byte body, then close the connection."""
    host, port = sandbox.url.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Length: 1000"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + b"grant_type=")
        time.sleep(0.05)


def _wait_for(caplog: pytest.LogCaptureFixture, count: int) -> list[logging.LogRecord]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [r for r in caplog.records if r.name == APP_LOGGER]
        if len(records) >= count:
            return records
        time.sleep(0.02)
    return [r for r in caplog.records if r.name == APP_LOGGER]


def test_a_client_that_vanishes_mid_body_is_one_debug_line_and_no_traceback(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="okta_magic.sandbox")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Started inside the test so that uvicorn's own log handler writes to the captured stderr.
    with Sandbox(port=0, users=10, seed=1) as sandbox:
        bearer = {"Authorization": f"Bearer {sandbox.issue_token()}", "Content-Type": "application/json"}
        calls = [
            ("POST", "/oauth2/v1/token", form),
            ("POST", "/oauth2/v1/revoke", form),
            ("POST", "/oauth2/v1/introspect", form),
            ("POST", "/oauth2/v1/device/authorize", form),
            ("POST", "/oauth2/v1/authorize", form),
            ("POST", "/oauth2/v1/authorize/login", form),
            ("POST", "/activate", form),
            ("POST", "/api/v1/users", bearer),
            ("POST", "/api/v1/groups", bearer),
            ("PUT", "/api/v1/users/me", bearer),
        ]
        for method, path, headers in calls:
            _vanish(sandbox, method, path, headers)
        records = _wait_for(caplog, len(calls))
        # The org still answers afterwards.
        assert httpx.get(f"{sandbox.url}/oauth2/v1/keys").status_code == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception in ASGI application" not in err, err[:2000]
    assert len(records) == len(calls)
    assert all(r.levelno == logging.DEBUG and "\n" not in r.getMessage() for r in records)
    assert {tuple(r.getMessage().split()[1:3]) for r in records} == {(m, f"{p}:") for m, p, _ in calls}


def test_a_client_that_leaves_before_reading_the_answer_costs_nothing(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with Sandbox(port=0, users=300, seed=1) as sandbox:
        token = sandbox.issue_token()
        host, port = sandbox.url.removeprefix("http://").split(":")
        for _ in range(5):
            with socket.create_connection((host, int(port)), timeout=5) as conn:
                head = f"GET /api/v1/users?limit=200 HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
                conn.sendall(head.encode())
        assert httpx.get(f"{sandbox.url}/api/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err, err[:2000]
