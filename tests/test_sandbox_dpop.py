"""The sandbox's DPoP-required service app answers as Okta's recorded DPoP exchanges do (RFC 9449)."""

from __future__ import annotations

import time

import httpx
import jwt

from okta_magic.oauth.client_auth import client_assertion
from okta_magic.dpop import DPoPKey
from okta_magic.pulls.pull import fetch
from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 30, "seed": 5}  # this module's sandbox org (conftest.py)


def _token_request(sandbox: Sandbox, key: DPoPKey | None, app: str = "service-dpop",
                   scope: str = "okta.users.read") -> httpx.Response:
    demo = sandbox.apps[app]
    endpoint = f"{sandbox.url}/oauth2/v1/token"
    assert demo.private_key_pem
    headers = {"DPoP": key.proof("POST", endpoint)} if key is not None else {}
    return httpx.post(endpoint, headers=headers, data={
        "grant_type": "client_credentials", "scope": scope,
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        "client_assertion": client_assertion(demo.client_id, endpoint, demo.private_key_pem, now=time.time()),
    })


def _dpop_token(sandbox: Sandbox, key: DPoPKey) -> str:
    first = _token_request(sandbox, key)
    assert first.status_code == 400 and first.json()["error"] == "use_dpop_nonce"
    assert key.remember_nonce(first.headers)
    second = _token_request(sandbox, key)
    assert second.status_code == 200, second.text
    assert second.json()["token_type"] == "DPoP"
    return str(second.json()["access_token"])


def _users(sandbox: Sandbox, token: str, key: DPoPKey | None, scheme: str = "DPoP") -> httpx.Response:
    url = f"{sandbox.url}/api/v1/users?limit=2"
    headers = {"Authorization": f"{scheme} {token}"}
    if key is not None:
        headers["DPoP"] = key.proof("GET", url, access_token=token)
    return httpx.get(url, headers=headers)


def test_a_token_request_without_a_proof_is_refused_as_okta_refuses_it(sandbox: Sandbox) -> None:
    answer = _token_request(sandbox, None)
    assert answer.status_code == 400
    missing = "The DPoP proof JWT header is missing."  # Okta's recorded answer
    assert answer.json() == {"error": "invalid_dpop_proof", "error_description": missing}


def test_the_first_proof_gets_a_nonce_and_the_second_a_bound_token(sandbox: Sandbox) -> None:
    key = DPoPKey()
    first = _token_request(sandbox, key)
    assert first.json()["error_description"] == "Authorization server requires nonce in DPoP proof."
    assert first.headers["DPoP-Nonce"]
    token = _dpop_token(sandbox, key)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"jkt": key.thumbprint()}
    assert _users(sandbox, token, key).status_code == 200


def test_a_bound_token_needs_its_own_key_and_the_dpop_scheme(sandbox: Sandbox) -> None:
    key = DPoPKey()
    token = _dpop_token(sandbox, key)
    assert _users(sandbox, token, None).status_code == 401  # no proof
    assert _users(sandbox, token, DPoPKey()).status_code == 401  # a proof by another key
    stolen = _users(sandbox, token, None, scheme="Bearer")  # RFC 9449 §7.2: never accepted as a bearer token
    assert stolen.status_code == 401 and stolen.json()["errorCode"] == "E0000011"
    url = f"{sandbox.url}/api/v1/users?limit=2"
    replayed = key.proof("GET", url, access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": replayed}
    assert httpx.get(url, headers=headers).status_code == 200
    refused = httpx.get(url, headers=headers)  # the same proof twice
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("DPoP ")
    wrong_target = key.proof("GET", f"{sandbox.url}/api/v1/groups", access_token=token)
    assert httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": wrong_target}).status_code == 401


def test_apps_without_dpop_are_unchanged_and_say_so_in_their_settings(sandbox: Sandbox) -> None:
    plain = _token_request(sandbox, None, app="service", scope="okta.apps.read")
    assert plain.status_code == 200 and plain.json()["token_type"] == "Bearer"
    bearer = {"Authorization": f"Bearer {plain.json()['access_token']}"}
    apps = httpx.get(f"{sandbox.url}/api/v1/apps?limit=200", headers=bearer)
    settings = {a["id"]: a["settings"].get("oauthClient", {}) for a in apps.json()}
    assert settings[sandbox.apps["service-dpop"].client_id]["dpop_bound_access_tokens"] is True
    assert settings[sandbox.apps["service"].client_id]["dpop_bound_access_tokens"] is False


def test_the_client_signs_a_proof_for_every_page_of_a_pull(sandbox: Sandbox) -> None:
    from okta_magic.http.client import OktaClient
    from okta_magic.pulls.request import parse_request

    key = DPoPKey()
    token = _dpop_token(sandbox, key)
    with OktaClient(sandbox.url, lambda: f"DPoP {token}", dpop_key=lambda: key, progress=False) as client:
        result = fetch(client, parse_request("GET /api/v1/users?limit=7"))
    assert result.pages > 3
    assert list(result.data["id"]) == sandbox.user_ids()


def test_a_resource_server_nonce_is_answered_once() -> None:
    from okta_magic.http.client import OktaClient
    from okta_magic.pulls.request import parse_request

    seen: list[dict] = []

    def server(request: httpx.Request) -> httpx.Response:
        proof = jwt.decode(request.headers["DPoP"], options={"verify_signature": False})
        seen.append(proof)
        if proof.get("nonce") != "n-7":
            challenge = 'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce"'
            return httpx.Response(401, headers={"DPoP-Nonce": "n-7", "WWW-Authenticate": challenge})
        return httpx.Response(200, json={"id": "00u1"})

    key = DPoPKey()
    with OktaClient("https://dev-1.okta.com", lambda: "DPoP at-1", dpop_key=lambda: key,
                    transport=httpx.MockTransport(server), progress=False) as client:
        record = fetch(client, parse_request("GET /api/v1/users/me")).data
    assert record["id"] == "00u1"
    assert [p.get("nonce") for p in seen] == [None, "n-7"]
    assert seen[0]["jti"] != seen[1]["jti"] and seen[1]["htu"] == "https://dev-1.okta.com/api/v1/users/me"
