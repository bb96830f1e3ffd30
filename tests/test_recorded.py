"""Real recorded Okta answers (lists, errors, a 429) replayed through the client and the frame code.

The cassettes in tests/fixtures/recorded/ are VCR recordings from Okta's own Python SDK
(see SOURCE.md). A MockTransport serves each recorded response for its recorded request.
"""

from __future__ import annotations

import email.utils
import re
from pathlib import Path
from typing import Any

import httpx
import jwt
import orjson
import pandas as pd
import pytest
import yaml

from okta_magic.advice import render
from okta_magic.http.client import OktaClient
from okta_magic.errors import OktaApiError, PermissionDenied, RateLimited
from okta_magic.pulls.pull import fetch
from okta_magic.pulls.request import parse_request

RECORDED = Path(__file__).parent / "fixtures" / "recorded"
ORG = "https://test.okta.com"
# Transport headers that described the original bytes, not the decoded body stored in the cassette.
_WIRE_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


def load(name: str) -> list[dict[str, Any]]:
    return yaml.safe_load((RECORDED / name).read_text(encoding="utf-8"))["interactions"]


def headers_of(recorded: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for key, value in recorded.items():
        if key.lower() in _WIRE_HEADERS:
            continue
        for item in value if isinstance(value, list) else [value]:
            out.append((key, str(item)))
    return out


class Replay:
    """Serves the cassette's responses in order for matching (method, URL) requests."""

    def __init__(self, name: str) -> None:
        self.interactions = load(name)
        self.used: set[int] = set()
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        for index, interaction in enumerate(self.interactions):
            recorded = interaction["request"]
            if index in self.used or recorded["method"] != request.method:
                continue
            if httpx.URL(recorded["uri"]) != request.url or not same_json(recorded.get("body"), request.content):
                continue
            self.used.add(index)
            response = interaction["response"]
            body = (response["body"] or {}).get("string") or ""
            return httpx.Response(response["status"]["code"], headers=headers_of(response["headers"]),
                                  content=body.encode("utf-8"))
        raise AssertionError(f"not in the cassette: {request.method} {request.url}")


def same_json(recorded: Any, sent: bytes) -> bool:
    """Two requests to one URL (two POSTs) are told apart by their JSON bodies."""
    if not sent or not isinstance(recorded, str) or not recorded:
        return True
    try:
        return bool(orjson.loads(recorded) == orjson.loads(sent))
    except orjson.JSONDecodeError:
        return True


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def client_for(replay: Replay, fake: FakeTime | None = None, **options: Any) -> OktaClient:
    fake = fake or FakeTime()
    return OktaClient(ORG, lambda: "SSWS myAPIToken", transport=httpx.MockTransport(replay), sleep=fake.sleep,
                      clock=lambda: fake.now, random=lambda: 0.5, progress=False,
                      held_scopes=lambda: ("okta.users.read",), **options)


def recorded_list(name: str, uri: str) -> list[dict[str, Any]]:
    for interaction in load(name):
        if interaction["request"]["uri"] == uri and interaction["request"]["method"] == "GET":
            return orjson.loads(interaction["response"]["body"]["string"])
    raise AssertionError(uri)


# -- lists ----------------------------------------------------------------------------------------

USERS_PAGING = "test_users_it/TestUsersResource.test_user_pagination.yaml"
USERS_2026 = "test_dpop_it/TestDPoPBackwardCompatibility.test_ssws_auth_unchanged.yaml"
GROUPS = "test_groups_it/TestGroupsResource.test_list_groups.yaml"
APPS = "test_applications_it/TestApplicationsResource.test_list_applications_pagination_with_after.yaml"
BRANDS = ("test_associated_domain_customizations_it/"
          "TestAssociatedDomainCustomizationsResource.test_well_known_uris_lifecycle.yaml")
AGENT_POOLS = "test_agent_pools_it/TestAgentPoolsResource.test_list_agent_pools_with_multiple_pool_types.yaml"
DPOP = "test_dpop_it/TestDPoPIntegration.test_dpop_api_request.yaml"


def test_2020_user_pages_with_a_single_link_line_are_followed_in_order() -> None:
    replay = Replay(USERS_PAGING)
    result = fetch(client_for(replay), parse_request("GET /api/v1/users?limit=1"), max_pages=2)
    first = recorded_list(USERS_PAGING, f"{ORG}/api/v1/users?limit=1")
    second = recorded_list(USERS_PAGING, f"{ORG}/api/v1/users?after=000usfdsyqnIjEmHNm4x6&limit=1")
    frame = result.data
    assert frame["id"].tolist() == [first[0]["id"], second[0]["id"]]
    assert frame["profile.login"].tolist() == [first[0]["profile"]["login"], second[0]["profile"]["login"]]
    assert str(replay.requests[1].url) == f"{ORG}/api/v1/users?after=000usfdsyqnIjEmHNm4x6&limit=1"
    assert result.stopped_early and result.next_url == f"{ORG}/api/v1/users?after=000usfgmn9xhwtA6f74x6&limit=1"
    assert str(frame["created"].dtype) == "datetime64[ms, UTC]"
    assert frame["created"].iloc[0] == pd.Timestamp(first[0]["created"])
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert frame["credentials.emails"].iloc[0] == first[0]["credentials"]["emails"]
    assert all(r.headers["Authorization"] == "SSWS myAPIToken" for r in replay.requests)


def test_2026_user_page_with_one_link_line_per_rel() -> None:
    replay = Replay(USERS_2026)
    result = fetch(client_for(replay), parse_request("GET /api/v1/users?limit=1"), max_pages=1)
    user = recorded_list(USERS_2026, f"{ORG}/api/v1/users?limit=1")[0]
    assert result.data["id"].tolist() == [user["id"]]
    assert result.next_url == f"{ORG}/api/v1/users?after=200unwlw0tbo8E6aVj5d7&limit=1"
    assert result.rate_limit_remaining == 49
    assert result.request_id  # X-Okta-Request-Id is kept
    for key, value in user["profile"].items():  # every attribute, exact names
        cell = result.data[f"profile.{key}"].iloc[0]
        assert (pd.isna(cell) if value is None else cell == value)


def test_groups_list_becomes_a_group_frame() -> None:
    groups = recorded_list(GROUPS, f"{ORG}/api/v1/groups")
    result = fetch(client_for(Replay(GROUPS)), parse_request("GET /api/v1/groups"))
    frame = result.data
    assert frame["id"].tolist() == [g["id"] for g in groups]
    assert frame["profile.name"].tolist() == [g["profile"]["name"] for g in groups]
    assert list(frame.columns[:4]) == ["profile.name", "profile.description", "id", "type"]
    assert isinstance(frame["type"].dtype, pd.CategoricalDtype)
    assert frame["objectClass"].iloc[0] == groups[0]["objectClass"]
    assert str(frame["lastMembershipUpdated"].dtype) == "datetime64[ms, UTC]"
    assert not result.stopped_early and result.pages == 1


def test_apps_next_link_on_the_orgs_other_name_is_moved_to_the_org_host() -> None:
    apps = recorded_list(APPS, f"{ORG}/api/v1/apps?limit=2")
    result = fetch(client_for(Replay(APPS)), parse_request("GET /api/v1/apps?limit=2"), max_pages=1)
    frame = result.data
    assert frame["id"].tolist() == [a["id"] for a in apps]
    assert frame["label"].tolist() == [a["label"] for a in apps]
    assert isinstance(frame["signOnMode"].dtype, pd.CategoricalDtype)
    assert list(frame.columns[:3]) == ["label", "name", "id"]
    # recorded Link: <https://dev-20982288.okta.com/api/v1/apps?after=...>; rel="next"
    assert result.next_url == f"{ORG}/api/v1/apps?after=0oanwlw0so3WcfOQi5d7&limit=2"


@pytest.mark.parametrize(
    ("name", "text", "resource_columns"),
    [
        (APPS, "GET /api/v1/apps?q=PaginationTestAppOnly&limit=1", ["id", "name", "label", "status"]),
        (DPOP, "GET /api/v1/users?limit=1", ["id", "status", "profile.login"]),
        (AGENT_POOLS, "GET /api/v1/agentPools?limitPerPoolType=5&poolType=LDAP", []),
    ],
)
def test_recorded_empty_lists(name: str, text: str, resource_columns: list[str]) -> None:
    result = fetch(client_for(Replay(name)), parse_request(text))
    assert isinstance(result.data, pd.DataFrame) and len(result.data) == 0
    assert set(resource_columns) <= set(result.data.columns)


def test_brands_list() -> None:
    brands = recorded_list(BRANDS, f"{ORG}/api/v1/brands")
    frame = fetch(client_for(Replay(BRANDS)), parse_request("GET /api/v1/brands")).data
    assert frame["id"].tolist() == [b["id"] for b in brands]
    assert frame["name"].tolist() == [b["name"] for b in brands]


# -- the 429 --------------------------------------------------------------------------------------


def test_recorded_429_waits_reset_minus_date_then_gets_the_list() -> None:
    fake = FakeTime()
    replay = Replay(AGENT_POOLS)
    result = fetch(client_for(replay, fake), parse_request("GET /api/v1/agentPools?limitPerPoolType=5&poolType=Radius"))
    date = email.utils.parsedate_to_datetime("Thu, 11 Sep 2025 16:21:50 GMT").timestamp()
    assert fake.waits == [1757607758 - date + 1 + 0.5]  # 48 s by the server's clock, +1 s, + jitter
    assert result.status == 200 and len(result.data) == 0
    assert len(replay.requests) == 2


def test_recorded_429_without_retries_left_is_rate_limited() -> None:
    with pytest.raises(RateLimited) as info:
        fetch(client_for(Replay(AGENT_POOLS), max_retries=0),
              parse_request("GET /api/v1/agentPools?limitPerPoolType=5&poolType=Radius"))
    assert render(info.value, "notebook") == (
        "GET /api/v1/agentPools still hits Okta's rate limit after 0 retries (429 E0000047 (API call exceeded rate "
        "limit due to too many requests.); limit 10 per window). [errorId oae_A2-4_P9RtWIEh-N4O0qfg] Wait a minute, "
        "then run it again or pull fewer pages (--max-pages).")


# -- errors ----------------------------------------------------------------------------------------


def recorded_json_body(name: str, method: str, uri: str) -> Any:
    """The JSON body the recorded request sent (None when it sent none or a form)."""
    for interaction in load(name):
        request = interaction["request"]
        if request["method"] == method and request["uri"] == uri and interaction["response"]["status"]["code"] >= 400:
            body = request.get("body")
            try:
                return orjson.loads(body) if isinstance(body, str) and body else None
            except orjson.JSONDecodeError:
                return None
    raise AssertionError(uri)


ERRORS = [
    ("test_agent_pools_it/TestAgentPoolsResource.test_get_agent_pools_update_settings_nonexistent.yaml",
     "GET", "/api/v1/agentPools/nonexistent-pool-id/updates/settings", OktaApiError, 404,
     "GET /api/v1/agentPools/nonexistent-pool-id/updates/settings failed: 404 E0000007 (Not found: Resource not "
     "found:"),
    (USERS_PAGING, "GET", "/api/v1/users/00usfgmn9xhwtA6f74x6", OktaApiError, 404,
     "GET /api/v1/users/00usfgmn9xhwtA6f74x6 failed: 404 E0000007 (Not found: Resource not found: "
     "00usfgmn9xhwtA6f74x6 (User)). Check the id and the path"),
    (APPS, "POST", "/api/v1/apps", OktaApiError, 400,
     "POST /api/v1/apps failed: 400 E0000001 (Api validation failed: "),
    (APPS, "GET", "/api/v1/apps?q=PaginationTestAppOnly&after=00u1testcursorvalue&limit=1", OktaApiError, 400,
     "GET /api/v1/apps failed: 400 E0000029 (Invalid paging request.: Invalid cursor.). Fix the request"),
    (BRANDS, "GET", "/api/v1/brands/bndnwlw0p87d5HCgg5d7/well-known-uris", OktaApiError, 401,
     "GET /api/v1/brands/bndnwlw0p87d5HCgg5d7/well-known-uris was refused: 401 E0000015 (You do not have "
     "permission to access the feature you are requesting). The feature is not enabled in this org"),
    ("test_authenticator_it/TestAuthenticatorResource.test_create_authenticator.yaml", "POST",
     "/api/v1/authenticators", OktaApiError, 400, "POST /api/v1/authenticators failed: 400 E0000001 (Api validation "
     "failed:"),
    ("test_users_it/TestUsersResource.test_reactivate_user.yaml", "POST",
     "/api/v1/users/00uqrku6swqIv4Y1T5d7/lifecycle/reactivate?sendEmail=false", OktaApiError, 403,
     "POST /api/v1/users/00uqrku6swqIv4Y1T5d7/lifecycle/reactivate failed: 403 E0000038 (This operation is not "
     "allowed in the user's current status.)."),
    ("test_dpop_it/TestDPoPBackwardCompatibility.test_private_key_auth_without_dpop.yaml", "POST", "/oauth2/v1/token",
     OktaApiError, 400, "POST /oauth2/v1/token failed: 400 invalid_dpop_proof (The DPoP proof JWT header is "
     "missing.). The org refused the request's DPoP proof"),
    (DPOP, "POST", "/oauth2/v1/token", OktaApiError, 400, "POST /oauth2/v1/token failed: 400 use_dpop_nonce ("),
]


@pytest.mark.parametrize(("name", "method", "target", "kind", "status", "start"), ERRORS,
                         ids=[f"{e[1]} {e[2].split('?')[0]}" for e in ERRORS])
def test_recorded_errors_give_one_actionable_line(name: str, method: str, target: str, kind: type, status: int,
                                                  start: str) -> None:
    replay = Replay(name)
    client = client_for(replay)
    body = recorded_json_body(name, method, f"{ORG}{target}")
    text = f"{method} {target}" + (f"\n\n{orjson.dumps(body).decode()}" if body is not None else "")
    with pytest.raises(OktaApiError) as info:
        fetch(client, parse_request(text))
    error = info.value
    assert type(error) is kind and not isinstance(error, PermissionDenied)
    assert error.status == status
    message = render(error, "notebook")  # the error, then the fix the advice layer words
    assert re.sub(r" \[errorId [^]]*\]", "", message).startswith(start), message
    assert "\n" not in message and "myAPIToken" not in message
    assert len(replay.requests) == 1  # POSTs and 4xx are never retried


def test_recorded_dpop_round_trip_through_the_sign_in_and_the_client() -> None:
    """Okta's recorded DPoP exchange: use_dpop_nonce, then a DPoP token, then an API call with a proof."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from okta_magic.oauth.client_auth import ClientAuth
    from okta_magic.oauth.discovery import ProviderMetadata
    from okta_magic.oauth.token_endpoint import client_credentials

    replay = Replay(DPOP)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    metadata = ProviderMetadata.okta_org_defaults(ORG)
    auth = ClientAuth("0oa_sanitized_client_id", "private_key_jwt", private_key=key)
    with httpx.Client(transport=httpx.MockTransport(replay)) as http:
        token = client_credentials(metadata, auth, ["okta.users.read"], http)
    assert token.token_type == "DPoP" and token.dpop_key is not None
    assert token.scopes_granted == ("okta.users.read", "okta.apps.read", "okta.groups.read")
    client = OktaClient(ORG, token.authorization_header, dpop_key=lambda: token.dpop_key,
                        transport=httpx.MockTransport(replay), progress=False)
    users = fetch(client, parse_request("GET /api/v1/users?limit=1")).data
    assert len(users) == 0 and "profile.login" in users.columns  # the recorded answer is an empty list
    token_request, api_call = replay.requests[-2], replay.requests[-1]
    proof = jwt.decode(token_request.headers["DPoP"], options={"verify_signature": False})
    assert proof["htm"] == "POST" and proof["htu"] == f"{ORG}/oauth2/v1/token"
    assert api_call.headers["Authorization"] == f"DPoP {token.access_token}"
    api_proof = jwt.decode(api_call.headers["DPoP"], options={"verify_signature": False})
    assert api_proof["htm"] == "GET" and api_proof["htu"] == f"{ORG}/api/v1/users" and api_proof["ath"]
