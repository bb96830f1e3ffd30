"""The scope coach's text: token reports, scope checks, minimal scope sets, requested vs granted."""

from __future__ import annotations

import base64
import json

from okta_magic.advice import coach
from okta_magic.tokens import Token

NOW = 1_800_000_000.0


def _jwt(claims: dict) -> str:
    def seg(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    return f"{seg({'alg': 'RS256', 'kid': 'k1'})}.{seg(claims)}.c2lnbmF0dXJl"


def _token(scopes=("okta.users.read",), requested=("openid", "okta.users.read"), exp=NOW + 1800) -> Token:
    claims = {"iss": "https://dev-1.okta.com", "aud": "https://dev-1.okta.com", "sub": "helpdesk@example.com",
              "cid": "0oaNATIVE", "scp": list(scopes), "iat": NOW - 1800, "exp": exp}
    return Token(access_token=_jwt(claims), issued_at=NOW - 1800, expires_at=exp, scopes_granted=tuple(scopes),
                 scopes_requested=tuple(requested), issuer="https://dev-1.okta.com", client_id="0oaNATIVE")


def test_token_report_shows_who_what_and_when_but_never_the_token():
    token = _token()
    text = coach.token_report(token, NOW)
    assert "helpdesk@example.com" in text and "0oaNATIVE" in text
    assert "30 min left" in text
    assert "okta.users.read" in text
    assert token.access_token not in text
    assert token.access_token.split(".")[2] not in text  # not even the signature


def test_expired_token_says_so():
    assert "EXPIRED" in coach.describe_token(_token(exp=NOW - 5), NOW)


def test_requested_but_not_granted_scopes_are_explained():
    lines = coach.compare_scopes(["openid", "okta.users.read", "okta.groups.read", "offline_access"],
                                 ["okta.users.read"])
    text = "\n".join(lines)
    assert "okta.groups.read: requested but NOT granted" in text
    assert "Okta API Scopes" in text
    assert "offline_access: not granted, so there is no refresh token" in text
    assert "openid: an OpenID Connect scope" in text


def test_everything_granted_is_said_plainly():
    lines = coach.compare_scopes(["okta.users.read"], ["okta.users.read"])
    assert lines[-1].strip() == "Every requested scope was granted."


def test_scope_check_names_the_scope_and_the_fix():
    text = coach.scope_check("GET", "/api/v1/groups/{groupId}/users", ["okta.users.read"])
    assert "needs okta.groups.read" in text
    assert "lacks okta.groups.read" in text
    assert "%okta_login --scopes 'openid okta.users.read okta.groups.read'" in text
    assert "The token has it (okta.groups.manage)" in coach.scope_check("GET", "/api/v1/groups", ["okta.groups.manage"])


def test_minimal_scopes_line_is_ready_to_paste():
    text = coach.minimal_scopes_line(["GET /api/v1/users", "POST /api/v1/users", "GET /api/v1/logs"])
    assert text.splitlines()[-1] == "%okta_login --scopes 'openid okta.users.manage okta.logs.read'"


def test_overview_groups_operations_by_area():
    text = coach.scopes_overview(["okta.groups.read", "openid"])
    assert "okta.groups.read" in text and "Group:" in text and "GET /api/v1/groups" in text
    assert "openid: an ID token" in text


def test_warning_before_a_request_the_token_cannot_make():
    warning = coach.request_warning("GET", "/api/v1/logs?since=2026-01-01", ["okta.users.read"])
    assert warning and "okta.logs.read" in warning and "sending anyway" in warning
    assert coach.request_warning("GET", "/api/v1/users", ["okta.users.manage"]) is None


def test_an_opaque_access_token_names_the_person_from_the_id_token():
    token = Token(access_token="opaque-0123456789", issued_at=NOW, expires_at=NOW + 600, scopes_granted=("openid",),
                  scopes_requested=("openid",), id_token=_jwt({"sub": "kc-user-42", "aud": "app"}))
    assert "Signed in as kc-user-42" in coach.describe_token(token, NOW)
    assert "Subject    : kc-user-42" in coach.token_report(token, NOW)
    assert "opaque-0123456789" not in coach.token_report(token, NOW)


def test_a_scope_name_describes_every_operation_it_unlocks_grouped_by_resource():
    text = coach.describe_scope("okta.groups.read", ["openid", "okta.users.read"])
    lines = text.splitlines()
    assert lines[0].startswith("okta.groups.read: Allows the app to read information about groups")
    assert lines[1] == ("The token does not hold it; to ask for it: "
                        "%okta_login --scopes 'openid okta.users.read okta.groups.read'")
    from okta_magic.scopes import catalogue

    unlocked = catalogue().operations_for_scope("okta.groups.read")
    for op in unlocked:  # every one, none elided
        assert any(line.strip().startswith(f"{op.method} {op.path} ") for line in lines), op
    assert f"It unlocks {len(unlocked)} operations, by resource:" in text
    assert "  /api/v1/groups" in lines and "  /api/v1/groups/rules" in lines
    # Operations that need a second scope as well are listed apart, naming it.
    assert "(also needs okta.apps.read)" in text and "With another scope as well" in text
    assert "…" not in text


def test_a_scope_description_says_whether_the_token_holds_it():
    assert "The token holds okta.users.read." in coach.describe_scope("okta.users.read", ["okta.users.read"])
    assert "The token holds it through okta.users.manage." in coach.describe_scope("okta.users.read",
                                                                                   ["okta.users.manage"])
    assert "Not signed in, so there is no token to check." in coach.describe_scope("okta.users.read", None)
    manage = coach.describe_scope("okta.users.manage", None)
    assert "POST /api/v1/users " in manage and "GET /api/v1/users " in manage  # .manage covers .read


def test_oidc_and_self_scopes_are_described_too():
    assert coach.describe_scope("openid", ["openid"]) == (
        "openid: an ID token: who signed in (OpenID Connect); it unlocks no Management API operation.\n"
        "The token holds openid.")
    own = coach.describe_scope("okta.users.read.self", ["okta.users.read"])
    assert "limited to the signed-in user" in own and "GET /api/v1/users/me/groups" in own
    assert "The token holds it through okta.users.read." in own


def test_an_unknown_scope_name_suggests_the_nearest():
    import pytest

    from okta_magic.errors import ConfigError

    with pytest.raises(ConfigError, match="did you mean okta.users.read"):
        coach.describe_scope("okta.user.read", None)


def test_scope_names_are_told_from_requests():
    assert coach.is_scope_name("okta.users.read") and coach.is_scope_name("openid")
    assert not coach.is_scope_name("/api/v1/users") and not coach.is_scope_name("GET")
    assert coach.request_parts("/api/v1/users") == ("GET", "/api/v1/users")
    assert coach.request_parts("delete /api/v1/users/x") == ("DELETE", "/api/v1/users/x")
