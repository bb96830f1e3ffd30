"""Sandbox fault knobs, deterministic seeding and the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 30, "seed": 5}  # this module's sandbox org (conftest.py)


@pytest.fixture()
def client(sandbox: Sandbox) -> Iterator[httpx.Client]:
    token = sandbox.issue_token(user="admin", scopes=["okta.users.read"])
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}) as c:
        yield c
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)


def test_latency_knob_delays_api_responses(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.set_knobs(latency=0.3)
    started = time.monotonic()
    assert client.get("/api/v1/users?limit=1").status_code == 200
    assert time.monotonic() - started >= 0.3  # the sandbox waited at least the configured latency


def test_error_rate_one_gives_okta_shaped_5xx(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.set_knobs(error_rate=1.0)
    for _ in range(5):
        response = client.get("/api/v1/users?limit=1")
        assert response.status_code in (500, 503)
        body = response.json()
        assert body["errorCode"] == "E0000009" and body["errorId"].startswith("oae")
        assert "x-okta-request-id" in response.headers
    sandbox.set_knobs(error_rate=0.0)
    assert client.get("/api/v1/users?limit=1").status_code == 200


def test_rate_429_knob_answers_e0000047_with_headers(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.set_knobs(rate_429=1.0)
    response = client.get("/api/v1/users?limit=1")
    assert response.status_code == 429 and response.json()["errorCode"] == "E0000047"
    assert response.headers["x-rate-limit-remaining"] == "0"
    assert int(response.headers["x-rate-limit-reset"]) >= int(sandbox.clock())


def test_drop_rate_one_closes_the_connection_without_a_response(sandbox: Sandbox, client: httpx.Client) -> None:
    sandbox.set_knobs(drop_rate=1.0)
    with pytest.raises(httpx.TransportError):
        client.get("/api/v1/users?limit=1")
    # Only API requests are dropped, and the server keeps serving.
    assert httpx.get(f"{sandbox.url}/.well-known/openid-configuration").status_code == 200
    sandbox.set_knobs(drop_rate=0.0)
    assert client.get("/api/v1/users?limit=1").status_code == 200


def test_knob_values_are_checked(sandbox: Sandbox) -> None:
    with pytest.raises(ValueError):
        sandbox.set_knobs(error_rate=1.5)


def test_same_seed_same_org_other_seed_other_org() -> None:
    a, b, c = Sandbox(users=50, seed=11), Sandbox(users=50, seed=11), Sandbox(users=50, seed=12)
    assert a.user_ids(include_deprovisioned=True) == b.user_ids(include_deprovisioned=True)
    assert a.user_ids(include_deprovisioned=True) != c.user_ids(include_deprovisioned=True)
    assert a.apps["native"].client_id == c.apps["native"].client_id == "0oasandboxnative05d7"


def test_cli_prints_the_org_apps_and_people_and_stops_on_ctrl_c() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "okta_magic.sandbox", "--port", "0", "--users", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        url = text.split("sandbox org: ")[1].split()[0]
        assert httpx.get(f"{url}/.well-known/openid-configuration").json()["issuer"] == url
        for expected in (
            "0oasandboxnative05d7",
            "http://localhost:8765/callback",
            "okta.users.read",
            "admin@example.com",
            "Admin-sandbox-1",
            "SUPER_ADMIN",
            "sandbox_user",
        ):
            assert expected in text
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
