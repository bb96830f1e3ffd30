"""The authorization request URL and the redirect back (RFC 6749 §4.1.1-4.1.2, RFC 7636, RFC 9207)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from _oauth_fixtures import ISSUER, META, REDIRECT

from okta_magic import advice, pkce
from okta_magic.oauth.authorize import AuthorizationRequest, parse_callback
from okta_magic.errors import AuthorizationDenied, LoginError, StateMismatch


def test_authorize_url_carries_pkce_state_and_nonce_for_openid() -> None:
    req = AuthorizationRequest.new("0oaNATIVE", "http://127.0.0.1:8765/callback", ["openid", "okta.users.read"])
    url = req.url(META)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{ISSUER}/oauth2/v1/authorize"
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert q == {
        "client_id": "0oaNATIVE",
        "response_type": "code",
        "scope": "openid okta.users.read",
        "redirect_uri": "http://127.0.0.1:8765/callback",
        "state": req.state,
        "code_challenge": pkce.s256_challenge(req.code_verifier),
        "code_challenge_method": "S256",
        "nonce": req.nonce,
    }
    assert "%20" in url and "+" not in url  # scope separator encoded as %20
    assert req.code_verifier not in url
    assert req.code_verifier not in repr(req)


def test_no_nonce_without_openid_and_fresh_values_each_time() -> None:
    a = AuthorizationRequest.new("c", "http://localhost:8765/callback", ["okta.users.read"])
    b = AuthorizationRequest.new("c", "http://localhost:8765/callback", ["okta.users.read"])
    assert "nonce" not in parse_qs(urlsplit(a.url(META)).query)
    assert len({a.state, b.state, a.nonce, b.nonce, a.code_verifier, b.code_verifier}) == 6
    extra = parse_qs(urlsplit(a.url(META, {"sandbox_user": "admin"})).query)
    assert extra["sandbox_user"] == ["admin"]


def cb(**params: str) -> str:
    return f"{REDIRECT}?{urlencode(params)}"


def test_parse_callback_returns_the_code() -> None:
    assert parse_callback(cb(code="abc", state="S"), "S", ISSUER) == "abc"
    assert parse_callback("?" + urlencode({"code": "abc", "state": "S"}), "S", ISSUER) == "abc"
    assert parse_callback(cb(code="abc", state="S", iss=ISSUER), "S", ISSUER, iss_required=True) == "abc"


@pytest.mark.parametrize("state", [None, "", "T", "S "])
def test_parse_callback_state_mismatch(state: str | None) -> None:
    params = {"code": "abc"} if state is None else {"code": "abc", "state": state}
    with pytest.raises(StateMismatch, match="does not belong to this sign-in .state mismatch.") as info:
        parse_callback(cb(**params), "S", ISSUER)
    assert "abc" not in str(info.value)


def test_parse_callback_refuses_a_parameter_sent_twice() -> None:
    with pytest.raises(LoginError, match="carries code more than once"):
        parse_callback(f"{REDIRECT}?code=abc&code=evil&state=S", "S", ISSUER)
    with pytest.raises(LoginError, match="carries state more than once"):
        parse_callback(f"{REDIRECT}?code=abc&state=S&state=S", "S", ISSUER)
    assert parse_callback(f"{REDIRECT}?code=abc&state=S&x=1&x=2", "S", ISSUER) == "abc"  # not ours to judge


def test_parse_callback_state_is_checked_before_error() -> None:
    # a forged error redirect (wrong state) must not end the sign-in
    with pytest.raises(StateMismatch):
        parse_callback(cb(error="access_denied", state="forged"), "S", ISSUER)


@pytest.mark.parametrize(
    ("error", "description", "expected"),
    [
        (
            "access_denied",
            "User cancelled",
            "Sign-in was cancelled or refused (access_denied: User cancelled). If you did not cancel, ask an "
            "Okta admin",
        ),
        (
            "invalid_request",
            "bad redirect",
            "Okta rejected the sign-in request (invalid_request: bad redirect). Check the client id",
        ),
        ("unsupported_response_type", None, "Enable the Authorization Code grant for it in Okta Admin Console"),
        ("login_required", None, "Okta needs you to sign in interactively (login_required)"),
        ("temporarily_unavailable", None, "Wait a moment"),
        ("something_new", "odd", "Sign-in failed (something_new: odd). Run %okta_login again."),
    ],
)
def test_parse_callback_errors_give_one_line_hints(error: str, description: str | None, expected: str) -> None:
    params = {"error": error, "state": "S"}
    if description:
        params["error_description"] = description
    with pytest.raises(AuthorizationDenied) as info:
        parse_callback(cb(**params), "S", ISSUER)
    assert expected in advice.render(info.value, advice.NOTEBOOK)  # the fix line is worded by the advice layer
    assert "\n" not in str(info.value)
    assert info.value.error == error and info.value.description == description


def test_invalid_scope_names_the_scopes_and_where_to_grant_them() -> None:
    url = cb(error="invalid_scope", state="S", error_description="The following scopes are not allowed: okta.logs.read")
    with pytest.raises(AuthorizationDenied) as info:
        parse_callback(url, "S", ISSUER, requested_scopes=["openid", "okta.users.read", "okta.logs.read"])
    message = str(info.value)
    assert (
        "The scope okta.logs.read must be granted to the app in Okta Admin Console > Applications > the app > "
        "Okta API Scopes" in message
    )
    assert advice.render(info.value, advice.NOTEBOOK).endswith("Okta API Scopes. Or request fewer with --scopes.")
    assert advice.render(info.value, advice.SCRIPT).endswith("Okta API Scopes. Or request fewer with scopes='...'.")
    # no scope named in the description: the okta.* scopes requested are the suspects
    with pytest.raises(AuthorizationDenied, match="The scopes okta.users.read okta.apps.read must be granted"):
        parse_callback(
            cb(error="invalid_scope", state="S"),
            "S",
            ISSUER,
            requested_scopes=["openid", "okta.users.read", "okta.apps.read"],
        )


def test_rfc9207_iss_must_match_and_may_be_required() -> None:
    with pytest.raises(LoginError, match="came from issuer https://other.example, not https://example.okta.com"):
        parse_callback(cb(code="abc", state="S", iss="https://other.example"), "S", ISSUER)
    with pytest.raises(LoginError, match="no iss parameter"):
        parse_callback(cb(code="abc", state="S"), "S", ISSUER, iss_required=True)


def test_missing_code_and_implicit_fragment_are_login_errors() -> None:
    with pytest.raises(LoginError, match="no authorization code"):
        parse_callback(cb(state="S"), "S", ISSUER)
    with pytest.raises(LoginError, match="implicit flow"):
        parse_callback(f"{REDIRECT}#access_token=x&state=S", "S", ISSUER)
