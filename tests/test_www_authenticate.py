"""The WWW-Authenticate parser (RFC 9110 §11.6.1): several challenges, quoted strings, token68."""

from __future__ import annotations

from okta_magic.www_authenticate import parse_challenges, parse_www_authenticate


def test_parse_www_authenticate_handles_quoted_commas_and_escapes() -> None:
    params = parse_www_authenticate('Bearer realm="a, b", error="insufficient_scope", scope=okta.users.read, '
                                    'error_description="say \\"hi\\""')
    assert params == {"": "Bearer", "realm": "a, b", "error": "insufficient_scope", "scope": "okta.users.read",
                      "error_description": 'say "hi"'}


def test_challenges_with_quoted_commas_escapes_token68_and_no_comma_between_them() -> None:
    value = ('Basic abc==, Newauth realm="apps, \\"x=y\\"", type=1, '
             'Bearer realm="r", error="invalid_token", error_description="expired, sign in"')
    assert parse_challenges(value) == [
        ("Basic", {"token68": "abc=="}),
        ("Newauth", {"realm": 'apps, "x=y"', "type": "1"}),
        ("Bearer", {"realm": "r", "error": "invalid_token", "error_description": "expired, sign in"}),
    ]
