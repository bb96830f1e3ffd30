"""The coach's explanations of refused calls, from Okta's real headers and from the sandbox's answers.

The two insufficient_scope headers are the ones Okta documents (support article "insufficient_scope
Error when Making a Request to an OAuth or Management Endpoint", and one reported from a Management API
call in okta/okta-sdk-golang#145, sent with no body); the 403 E0000038 is a recorded real response.
"""

from __future__ import annotations

import pathlib

import httpx
import pytest
import yaml

from okta_magic.http.apierrors import api_error
from okta_magic.advice.coach import explain_api_error
from okta_magic.errors import InsufficientScope, OktaApiError, PermissionDenied
from okta_magic.sandbox import Sandbox

RECORDED = pathlib.Path(__file__).parent / "fixtures" / "recorded"

KB_HEADER = ('Bearer authorization_uri="http://subdomain.okta.com/oauth2/v1/authorize", '
             'realm="http://subdomain.okta.com", scope="openid", error="insufficient_scope", '
             'error_description="The access token provided does not contain the required scopes.", '
             'resource="/oauth2/v1/userinfo"')
GOLANG_HEADER = ('Bearer authorization_uri="http://***.okta.com/oauth2/v1/authorize", '
                 'realm="http://dev-***.okta.com", scope="okta.groups.read", error="insufficient_scope", '
                 'error_description="The access token provided does not contain the required scopes.", '
                 'resource="/api/v1/groups/12345"')


def _response(method: str, url: str, status: int, headers: dict, body: bytes = b"") -> httpx.Response:
    return httpx.Response(status, headers=headers, content=body, request=httpx.Request(method, url))


def test_okta_documented_management_api_header_names_the_scope_and_the_fix():
    response = _response("GET", "https://dev-1.okta.com/api/v1/groups/12345", 403, {"WWW-Authenticate": GOLANG_HEADER})
    error = api_error(response, held_scopes=("openid", "okta.users.read"))
    assert isinstance(error, InsufficientScope) and error.needed == ("okta.groups.read",)
    text = explain_api_error(error, ["openid", "okta.users.read"])
    assert "okta.groups.read" in text and "okta.users.read" in text
    assert text.endswith("Fix: %okta_login --scopes 'openid okta.users.read okta.groups.read'")
    assert "\n" not in text


def test_okta_kb_header_on_userinfo_asks_for_openid():
    response = _response("GET", "https://dev-1.okta.com/oauth2/v1/userinfo", 403, {"WWW-Authenticate": KB_HEADER})
    error = api_error(response, held_scopes=("okta.users.read",))
    assert isinstance(error, InsufficientScope) and error.needed == ("openid",)
    assert "%okta_login --scopes 'openid okta.users.read'" in explain_api_error(error, ["okta.users.read"])


def test_a_403_with_no_header_and_no_body_falls_back_to_the_catalogue():
    response = _response("GET", "https://dev-1.okta.com/api/v1/logs?since=2026-01-01T00:00:00Z", 403, {})
    error = api_error(response, held_scopes=("okta.users.read",))
    assert isinstance(error, InsufficientScope) and "okta.logs.read" in error.needed


def test_recorded_403_e0000038_is_not_mistaken_for_a_scope_problem():
    cassette = yaml.safe_load((RECORDED / "test_users_it" / "TestUsersResource.test_reactivate_user.yaml").read_text())
    for interaction in cassette["interactions"]:
        if interaction["response"]["status"]["code"] == 403:
            request, answer = interaction["request"], interaction["response"]
            break
    else:
        pytest.fail("the cassette holds no 403")
    # The cassette stores the body decoded, so its content-encoding header no longer applies.
    headers = {k: (v[0] if isinstance(v, list) else v) for k, v in answer["headers"].items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")}
    body = answer["body"]["string"]
    response = _response(request["method"], request["uri"], 403, headers,
                         body.encode() if isinstance(body, str) else body)
    error = api_error(response, held_scopes=("okta.users.manage",))
    assert type(error) is OktaApiError and error.error_code == "E0000038"
    text = explain_api_error(error, ["okta.users.manage"])
    assert "E0000038" in text and "Fix:" not in text


def test_explanations_of_the_sandboxs_own_refusals():
    with Sandbox(port=0, users=50) as sb:
        missing = sb.issue_token(user="helpdesk", app="native", scopes=["okta.users.read"])
        answer = httpx.get(sb.url + "/api/v1/groups", headers={"Authorization": f"Bearer {missing}"})
        error = api_error(answer, held_scopes=("okta.users.read",))
        assert isinstance(error, InsufficientScope) and error.needed == ("okta.groups.read",)
        assert "Fix: %okta_login --scopes 'openid okta.users.read okta.groups.read'" in explain_api_error(
            error, ["okta.users.read"])

        downscoped = sb.issue_token(user="readonly", app="native", scopes=["okta.users.manage"])
        answer = httpx.post(sb.url + "/api/v1/users", headers={"Authorization": f"Bearer {downscoped}"},
                            json={"profile": {"login": "x@example.com", "email": "x@example.com",
                                              "firstName": "X", "lastName": "Y"}})
        error = api_error(answer, held_scopes=("okta.users.manage",))
        assert isinstance(error, PermissionDenied)
        assert "silent downscoping" in explain_api_error(error, ["okta.users.manage"])
