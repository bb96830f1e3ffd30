"""The sandbox's Org Authorization Server, over real HTTP on loopback."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest
from _sandbox_fixtures import authorize_params, exchange, redirect_params, sign_in, unattended_code

from okta_magic.sandbox import Sandbox

SANDBOX = {"users": 60, "seed": 3}  # this module's sandbox org (conftest.py)


@pytest.fixture()
def fresh(sandbox_factory: Callable[..., Sandbox]) -> Sandbox:
    """A sandbox of its own, for tests that move the clock."""
    return sandbox_factory(users=20, seed=4)


@pytest.fixture()
def http(sandbox: Sandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, follow_redirects=False) as client:
        yield client


def api_get(sandbox: Sandbox, token: str, path: str = "/api/v1/users?limit=1") -> httpx.Response:
    return httpx.get(sandbox.url + path, headers={"Authorization": f"Bearer {token}"})


def test_discovery_lists_the_org_endpoints(sandbox: Sandbox, http: httpx.Client) -> None:
    meta = http.get("/.well-known/openid-configuration").json()
    assert meta["issuer"] == sandbox.url and not sandbox.url.endswith("/")
    for key, path in (
        ("authorization_endpoint", "/oauth2/v1/authorize"),
        ("token_endpoint", "/oauth2/v1/token"),
        ("revocation_endpoint", "/oauth2/v1/revoke"),
        ("jwks_uri", "/oauth2/v1/keys"),
        ("userinfo_endpoint", "/oauth2/v1/userinfo"),
        ("introspection_endpoint", "/oauth2/v1/introspect"),
        ("device_authorization_endpoint", "/oauth2/v1/device/authorize"),
        ("end_session_endpoint", "/oauth2/v1/logout"),
    ):
        assert meta[key] == sandbox.url + path
    assert set(meta["grant_types_supported"]) >= {
        "authorization_code",
        "implicit",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
    }
    assert set(meta["token_endpoint_auth_methods_supported"]) >= {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert "okta.users.read" in meta["scopes_supported"]
    assert http.get("/.well-known/oauth-authorization-server").json()["issuer"] == sandbox.url


def test_sign_in_page_form_yields_a_code_and_tokens(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    page = http.get("/oauth2/v1/authorize", params=auth.params)
    html = page.text
    assert '<form id="okta-sign-in" method="post" action="/oauth2/v1/authorize/login">' in html
    assert 'id="okta-signin-submit"' in html and ">Sign in<" in html and 'name="cancel"' in html
    for user in sandbox.demo_users.values():
        assert user.password in html  # every demo password is shown on the page
    back = redirect_params(sign_in(http, sandbox, auth))
    assert back["state"] == auth.params["state"]
    token = exchange(http, auth, back["code"])
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "openid okta.users.read" and "refresh_token" not in body
    assert token.headers["cache-control"] == "no-store"
    id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
    assert id_claims["nonce"] == auth.params["nonce"] and id_claims["sub"] == sandbox.demo_users["admin"].id
    assert api_get(sandbox, body["access_token"]).status_code == 200


def test_access_token_claims_and_signature_match_the_key_set(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox, scope="okta.users.read okta.groups.read")
    token = exchange(http, auth, unattended_code(http, auth, "readonly")).json()["access_token"]
    jwks = jwt.PyJWKSet.from_dict(http.get("/oauth2/v1/keys").json())
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=sandbox.url, issuer=sandbox.url)
    assert claims["ver"] == 1 and claims["jti"] and claims["exp"] - claims["iat"] == 3600
    assert claims["cid"] == sandbox.apps["native"].client_id
    assert claims["uid"] == sandbox.demo_users["readonly"].id and claims["sub"] == sandbox.demo_users["readonly"].login
    assert claims["scp"] == ["okta.users.read", "okta.groups.read"]


def test_wrong_password_shows_the_page_again_with_an_error(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    page = http.get("/oauth2/v1/authorize", params=auth.params)
    txn = page.text.split('name="txn" value="')[1].split('"')[0]
    again = http.post("/oauth2/v1/authorize/login", data={"txn": txn, "username": "admin", "password": "nope"})
    assert again.status_code == 200 and 'id="okta-sign-in"' in again.text and "Unable to sign in" in again.text
    # The same transaction still works with the right password.
    ok = http.post(
        "/oauth2/v1/authorize/login",
        data={"txn": txn, "username": "admin@example.com", "password": sandbox.demo_users["admin"].password},
    )
    assert "code" in redirect_params(ok)


def test_cancel_redirects_with_access_denied(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    page = http.get("/oauth2/v1/authorize", params=auth.params)
    txn = page.text.split('name="txn" value="')[1].split('"')[0]
    back = redirect_params(http.post("/oauth2/v1/authorize/login", data={"txn": txn, "cancel": "1"}))
    assert back["error"] == "access_denied" and back["state"] == auth.params["state"]


def test_unattended_sandbox_user_yields_a_code(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    response = http.get("/oauth2/v1/authorize", params={**auth.params, "sandbox_user": "helpdesk"})
    back = redirect_params(response)
    assert response.headers["location"].startswith(auth.params["redirect_uri"] + "?")
    assert back["state"] == auth.params["state"]
    token = exchange(http, auth, back["code"]).json()
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["uid"] == sandbox.demo_users["helpdesk"].id


def test_wrong_code_verifier_is_refused(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    refused = exchange(http, auth, unattended_code(http, auth), code_verifier=secrets.token_urlsafe(48))
    assert refused.status_code == 400
    assert refused.json() == {"error": "invalid_grant", "error_description": "PKCE verification failed."}


def test_reused_code_is_refused_and_revokes_its_token(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    code = unattended_code(http, auth)
    first = exchange(http, auth, code)
    assert first.status_code == 200
    second = exchange(http, auth, code)
    assert second.status_code == 400 and second.json()["error"] == "invalid_grant"
    assert api_get(sandbox, first.json()["access_token"]).status_code == 401  # RFC 6749 §4.1.2


def test_expired_code_is_refused(fresh: Sandbox) -> None:
    with httpx.Client(base_url=fresh.url) as http:
        auth = authorize_params(fresh)
        code = unattended_code(http, auth)
        fresh.advance_clock(301)
        refused = exchange(http, auth, code)
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_redirect_uri_must_match_the_authorize_one(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    refused = exchange(http, auth, unattended_code(http, auth), redirect_uri=sandbox.apps["native"].redirect_uris[1])
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(sandbox: Sandbox, http: httpx.Client) -> None:
    for uri in ("http://127.0.0.1:9999/callback", "http://localhost:8765/callback/", "http://localhost:8765/other"):
        auth = authorize_params(sandbox, redirect_uri=uri)
        page = http.get("/oauth2/v1/authorize", params=auth.params)
        assert page.status_code == 400 and "location" not in page.headers
        assert (
            "The &#x27;redirect_uri&#x27; parameter must be a Login redirect URI in the client app settings"
            in page.text
        )
    bad_client = http.get("/oauth2/v1/authorize", params={**authorize_params(sandbox).params, "client_id": "0oanope"})
    assert bad_client.status_code == 400 and "location" not in bad_client.headers


def test_added_redirect_uri_is_accepted(sandbox: Sandbox, http: httpx.Client) -> None:
    uri = "http://127.0.0.1:54321/callback"
    sandbox.add_redirect_uri("native", uri)
    auth = authorize_params(sandbox, redirect_uri=uri)
    assert http.get("/oauth2/v1/authorize", params=auth.params).status_code == 200


def test_missing_or_plain_pkce_is_an_error_redirect(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox, code_challenge=None, code_challenge_method=None)  # type: ignore[arg-type]
    back = redirect_params(http.get("/oauth2/v1/authorize", params=auth.params))
    assert back["error"] == "invalid_request" and "PKCE" in back["error_description"]
    assert back["state"] == auth.params["state"]
    plain = authorize_params(sandbox, code_challenge_method="plain")
    back = redirect_params(http.get("/oauth2/v1/authorize", params=plain.params))
    assert back["error"] == "invalid_request" and "plain" in back["error_description"]


def test_scope_not_granted_to_the_app_is_invalid_scope(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox, app="users-only", scope="openid okta.groups.read")
    back = redirect_params(http.get("/oauth2/v1/authorize", params=auth.params))
    assert back == {
        "error": "invalid_scope",
        "state": auth.params["state"],
        "error_description": "One or more scopes are not configured for the authorization server resource.",
    }


def test_unsupported_response_type(sandbox: Sandbox, http: httpx.Client) -> None:
    back = redirect_params(http.get("/oauth2/v1/authorize", params=authorize_params(sandbox, response_type="foo").params))
    assert back["error"] == "unsupported_response_type"


def test_implicit_grant_returns_the_token_in_the_fragment(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox, response_type="token", scope="okta.users.read")
    response = http.get("/oauth2/v1/authorize", params={**auth.params, "sandbox_user": "admin"})
    assert "#" in response.headers["location"] and "?" not in response.headers["location"].split("#")[0]
    back = redirect_params(response)
    assert back["token_type"] == "Bearer" and back["expires_in"] == "3600" and back["state"] == auth.params["state"]
    assert api_get(sandbox, back["access_token"]).status_code == 200
    # Apps without the implicit grant cannot use it.
    refused = redirect_params(
        http.get(
            "/oauth2/v1/authorize",
            params={
                **authorize_params(sandbox, app="users-only", response_type="token", scope="okta.users.read").params,
                "sandbox_user": "admin",
            },
        )
    )
    assert refused["error"] == "unauthorized_client"


def test_refresh_token_only_with_offline_access(sandbox: Sandbox, http: httpx.Client) -> None:
    without = authorize_params(sandbox, app="offline", scope="openid okta.users.read")
    assert "refresh_token" not in exchange(http, without, unattended_code(http, without)).json()
    # The native app is not granted offline_access at all.
    native = redirect_params(
        http.get("/oauth2/v1/authorize", params=authorize_params(sandbox, scope="openid offline_access").params)
    )
    assert native["error"] == "invalid_scope"
    auth = authorize_params(sandbox, app="offline", scope="openid offline_access okta.users.read")
    first = exchange(http, auth, unattended_code(http, auth)).json()
    assert first["refresh_token"]
    client_id = sandbox.apps["offline"].client_id
    refreshed = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": first["refresh_token"]},
    )
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"] and api_get(sandbox, second["access_token"]).status_code == 200
    # Rotation: the used refresh token no longer works.
    replay = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": first["refresh_token"]},
    )
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_confidential_web_app_authenticates_with_basic_or_post(sandbox: Sandbox, http: httpx.Client) -> None:
    web = sandbox.apps["web"]
    assert web.client_secret
    for style in ("basic", "post"):
        auth = authorize_params(
            sandbox, app="web", scope="openid okta.users.read", code_challenge=None, code_challenge_method=None
        )  # type: ignore[arg-type]
        code = unattended_code(http, auth)
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": auth.params["redirect_uri"]}
        if style == "basic":
            response = http.post("/oauth2/v1/token", data=data, auth=(web.client_id, web.client_secret))
        else:
            response = http.post(
                "/oauth2/v1/token", data={**data, "client_id": web.client_id, "client_secret": web.client_secret}
            )
        assert response.status_code == 200, response.text
    wrong = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": web.redirect_uris[0]},
        auth=(web.client_id, "wrong-secret"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def _assertion(sandbox: Sandbox, **claims: object) -> str:
    now = int(sandbox.clock())
    app = sandbox.apps["service"]
    body = {
        "iss": app.client_id,
        "sub": app.client_id,
        "aud": f"{sandbox.url}/oauth2/v1/token",
        "iat": now,
        "exp": now + 300,
        "jti": str(uuid.uuid4()),
    }
    body.update(claims)
    assert app.private_key_pem
    return jwt.encode(body, app.private_key_pem, algorithm="RS256")


def _client_credentials(http: httpx.Client, assertion: str, scope: str = "okta.users.read") -> httpx.Response:
    return http.post(
        "/oauth2/v1/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        },
    )


def test_client_credentials_with_a_signed_assertion(sandbox: Sandbox, http: httpx.Client) -> None:
    assertion = _assertion(sandbox)
    response = _client_credentials(http, assertion, "okta.users.read okta.logs.read")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["scope"] == "okta.users.read okta.logs.read" and "refresh_token" not in body
    assert api_get(sandbox, body["access_token"]).status_code == 200
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == sandbox.apps["service"].client_id and "uid" not in claims
    # The assertion's jti is single-use.
    assert _client_credentials(http, assertion).json()["error"] == "invalid_client"


def test_client_credentials_refusals(sandbox: Sandbox, http: httpx.Client) -> None:
    wrong_aud = _client_credentials(http, _assertion(sandbox, aud=f"{sandbox.url}/oauth2/v1/authorize"))
    assert wrong_aud.status_code == 401 and wrong_aud.json()["error"] == "invalid_client"
    too_far = _client_credentials(http, _assertion(sandbox, exp=int(sandbox.clock()) + 7200))
    assert too_far.status_code == 401
    expired = _client_credentials(http, _assertion(sandbox, exp=int(sandbox.clock()) - 10))
    assert expired.status_code == 401
    other_key = jwt.encode(
        {
            "iss": sandbox.apps["service"].client_id,
            "sub": sandbox.apps["service"].client_id,
            "aud": f"{sandbox.url}/oauth2/v1/token",
            "exp": int(sandbox.clock()) + 60,
            "jti": "x1",
        },
        "not-the-key" * 4,
        algorithm="HS256",
    )
    assert _client_credentials(http, other_key).status_code == 401
    assert _client_credentials(http, _assertion(sandbox), "okta.users.manage").json()["error"] == "invalid_scope"
    assert _client_credentials(http, _assertion(sandbox), "openid").json()["error"] == "invalid_scope"
    # A public app may not use client credentials.
    public = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "client_credentials", "scope": "okta.users.read", "client_id": sandbox.apps["native"].client_id},
    )
    assert public.json()["error"] == "unauthorized_client"


def test_revoked_access_and_refresh_tokens_stop_working(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox, app="offline", scope="offline_access okta.users.read")
    tokens = exchange(http, auth, unattended_code(http, auth)).json()
    client_id = sandbox.apps["offline"].client_id
    assert api_get(sandbox, tokens["access_token"]).status_code == 200
    revoked = http.post(
        "/oauth2/v1/revoke",
        data={"token": tokens["access_token"], "client_id": client_id, "token_type_hint": "access_token"},
    )
    assert revoked.status_code == 200
    assert api_get(sandbox, tokens["access_token"]).status_code == 401
    http.post("/oauth2/v1/revoke", data={"token": tokens["refresh_token"], "client_id": client_id})
    refresh = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "refresh_token", "client_id": client_id, "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.json()["error"] == "invalid_grant"
    introspection = http.post("/oauth2/v1/introspect", data={"token": tokens["access_token"], "client_id": client_id})
    assert introspection.json() == {"active": False}


def test_introspect_and_userinfo(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox, scope="openid profile email okta.users.read")
    token = exchange(http, auth, unattended_code(http, auth, "user")).json()["access_token"]
    info = http.post("/oauth2/v1/introspect", data={"token": token, "client_id": sandbox.apps["native"].client_id}).json()
    assert info["active"] is True and info["uid"] == sandbox.demo_users["user"].id and "okta.users.read" in info["scope"]
    me = http.get("/oauth2/v1/userinfo", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["sub"] == sandbox.demo_users["user"].id and me["email"] == sandbox.demo_users["user"].login
    no_openid = sandbox.issue_token(user="user", scopes=["okta.users.read"])
    denied = http.get("/oauth2/v1/userinfo", headers={"Authorization": f"Bearer {no_openid}"})
    assert denied.status_code == 403 and 'error="insufficient_scope"' in denied.headers["www-authenticate"]


def test_device_grant_pending_slow_down_then_tokens(fresh: Sandbox) -> None:
    with httpx.Client(base_url=fresh.url) as http:
        client_id = fresh.apps["native"].client_id
        start = http.post(
            "/oauth2/v1/device/authorize", data={"client_id": client_id, "scope": "openid okta.users.read"}
        ).json()
        assert start["verification_uri"] == f"{fresh.url}/activate" and start["interval"] == 5
        assert start["verification_uri_complete"].endswith(start["user_code"])
        poll = {
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": start["device_code"],
            "client_id": client_id,
        }
        assert http.post("/oauth2/v1/token", data=poll).json()["error"] == "authorization_pending"
        assert http.post("/oauth2/v1/token", data=poll).json()["error"] == "slow_down"
        page = http.get("/activate", params={"user_code": start["user_code"]})
        assert page.status_code == 200 and start["user_code"] in page.text
        approved = http.post(
            "/activate",
            data={
                "user_code": start["user_code"],
                "username": "readonly",
                "password": fresh.demo_users["readonly"].password,
            },
        )
        assert approved.status_code == 200 and "Device activated" in approved.text
        fresh.advance_clock(11)
        token = http.post("/oauth2/v1/token", data=poll)
        assert token.status_code == 200, token.text
        assert api_get(fresh, token.json()["access_token"]).status_code == 200
        assert http.post("/oauth2/v1/token", data=poll).json()["error"] == "invalid_grant"  # single use


def test_device_grant_denied_and_expired(fresh: Sandbox) -> None:
    with httpx.Client(base_url=fresh.url) as http:
        client_id = fresh.apps["native"].client_id

        def begin() -> dict[str, str]:
            return http.post(
                "/oauth2/v1/device/authorize", data={"client_id": client_id, "scope": "okta.users.read"}
            ).json()

        def poll(device_code: str) -> str:
            return http.post(
                "/oauth2/v1/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                    "device_code": device_code,
                    "client_id": client_id,
                },
            ).json()["error"]

        denied = begin()
        http.post("/activate", data={"user_code": denied["user_code"], "cancel": "1"})
        assert poll(denied["device_code"]) == "access_denied"
        expired = begin()
        fresh.advance_clock(601)
        assert poll(expired["device_code"]) == "expired_token"
        users_only = http.post(
            "/oauth2/v1/device/authorize",
            data={"client_id": fresh.apps["users-only"].client_id, "scope": "okta.users.read"},
        )
        assert users_only.json()["error"] == "unauthorized_client"


def test_expired_access_token_is_refused(fresh: Sandbox) -> None:
    token = fresh.issue_token(user="admin", app="native", scopes=["okta.users.read"])
    assert api_get(fresh, token).status_code == 200
    fresh.advance_clock(3601)
    expired = api_get(fresh, token)
    assert expired.status_code == 401 and 'error="invalid_token"' in expired.headers["www-authenticate"]


def test_duplicate_parameters_are_invalid_request(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    query = httpx.QueryParams(auth.params).add("scope", "openid")
    back = redirect_params(http.get("/oauth2/v1/authorize", params=query))
    assert back["error"] == "invalid_request"


def test_demo_apps_match_the_documented_registry(sandbox: Sandbox) -> None:
    assert set(sandbox.apps) == {"native", "users-only", "offline", "web", "service", "service-dpop"}
    native = sandbox.apps["native"]
    assert (
        "http://localhost:8765/callback" in native.redirect_uris
        and "http://127.0.0.1:8769/callback" in native.redirect_uris
    )
    assert {"okta.users.manage", "okta.groups.manage", "okta.logs.read", "okta.apps.read"} <= set(native.scopes)
    assert "offline_access" not in native.scopes and "offline_access" in sandbox.apps["offline"].scopes
    assert sandbox.apps["users-only"].scopes == ["openid", "profile", "email", "okta.users.read"]
    assert sandbox.apps["service"].token_endpoint_auth_method == "private_key_jwt"
    assert sandbox.apps["web"].client_secret not in repr(sandbox.apps["web"])
    assert "PRIVATE KEY" not in repr(sandbox.apps["service"])
    assert {u.name: u.role for u in sandbox.demo_users.values()} == {
        "admin": "SUPER_ADMIN",
        "readonly": "READ_ONLY_ADMIN",
        "helpdesk": "HELP_DESK_ADMIN",
        "user": None,
    }
    assert time.time() > 0


def test_discovery_checks_the_optional_client_id(sandbox: Sandbox, http: httpx.Client) -> None:
    known = http.get("/.well-known/openid-configuration", params={"client_id": sandbox.apps["native"].client_id})
    assert known.status_code == 200 and known.json()["issuer"] == sandbox.url
    unknown = http.get("/.well-known/openid-configuration", params={"client_id": "0oanope"})
    assert unknown.status_code == 400
    body = unknown.json()
    assert body["errorCode"] == body["errorLink"] == "invalid_client"
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}


def test_response_modes(sandbox: Sandbox, http: httpx.Client) -> None:
    # A token is never put in a query string (OSPEC response_mode): the error comes back in the fragment.
    auth = authorize_params(sandbox, response_type="token", scope="okta.users.read", response_mode="query")
    response = http.get("/oauth2/v1/authorize", params={**auth.params, "sandbox_user": "admin"})
    location = response.headers["location"]
    assert "access_token" not in location and "?" not in location.split("#")[0]
    assert redirect_params(response)["error"] == "invalid_request"
    # An unknown mode is unsupported_response_mode, returned in the default (query) mode.
    back = redirect_params(http.get("/oauth2/v1/authorize", params=authorize_params(sandbox, response_mode="bogus").params))
    assert back["error"] == "unsupported_response_mode" and back["state"]
    # form_post: an HTML form that posts code and state to the redirect URI.
    auth = authorize_params(sandbox, response_mode="form_post")
    page = http.get("/oauth2/v1/authorize", params={**auth.params, "sandbox_user": "admin"})
    assert page.status_code == 200 and "location" not in page.headers
    assert f'action="{auth.params["redirect_uri"]}"' in page.text and 'method="post"' in page.text
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
    assert fields["state"] == auth.params["state"]
    assert exchange(http, auth, fields["code"]).status_code == 200
    meta = http.get("/.well-known/openid-configuration").json()
    assert "form_post" in meta["response_modes_supported"]


def test_authorize_redirects_carry_no_referrer(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    ok = http.get("/oauth2/v1/authorize", params={**auth.params, "sandbox_user": "admin"})
    bad = http.get("/oauth2/v1/authorize", params=authorize_params(sandbox, scope="okta.nope.read").params)
    for response in (ok, bad):
        assert response.status_code == 302 and response.headers["referrer-policy"] == "no-referrer"


def test_token_endpoint_errors_follow_rfc_6749(sandbox: Sandbox, http: httpx.Client) -> None:
    web, native = sandbox.apps["web"], sandbox.apps["native"]
    # §5.2: a client that authenticated with HTTP Basic gets 401 with a Basic challenge.
    wrong = http.post(
        "/oauth2/v1/token", data={"grant_type": "client_credentials"}, auth=(web.client_id, "wrong-secret")
    )
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic realm=")
    assert wrong.headers["cache-control"] == "no-store" and wrong.headers["pragma"] == "no-cache"
    # Without Basic there is no challenge.
    posted = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "client_credentials", "client_id": web.client_id, "client_secret": "wrong"},
    )
    assert posted.status_code == 401 and "www-authenticate" not in posted.headers
    # An unknown grant type is unsupported_grant_type, whatever the client.
    unknown = http.post("/oauth2/v1/token", data={"grant_type": "urn:example:nope", "client_id": native.client_id})
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    # No client at all.
    nobody = http.post("/oauth2/v1/token", data={"grant_type": "authorization_code", "code": "x"})
    assert nobody.status_code == 401 and nobody.json()["error"] == "invalid_client"
    # Two ways of authenticating at once.
    both = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "client_credentials", "client_secret": web.client_secret},
        auth=(web.client_id, web.client_secret or ""),
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"
    # A client assertion of the wrong type.
    wrong_type = http.post(
        "/oauth2/v1/token",
        data={"grant_type": "client_credentials", "client_assertion": _assertion(sandbox), "client_assertion_type": "x"},
    )
    assert wrong_type.status_code == 400 and wrong_type.json()["error"] == "invalid_request"


def test_a_code_is_bound_to_its_client(sandbox: Sandbox, http: httpx.Client) -> None:
    auth = authorize_params(sandbox)
    code = unattended_code(http, auth)
    other = exchange(http, auth, code, client_id=sandbox.apps["offline"].client_id)
    assert other.status_code == 400 and other.json()["error"] == "invalid_grant"
    assert "another client" in other.json()["error_description"]
