"""Token: masking, claims, expiry, construction; TokenKeeper refresh rules."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_magic import advice
from okta_magic.errors import LoginError, TokenExchangeError, TokenExpired
from okta_magic.tokens import Token, TokenKeeper, decode_jwt_claims, mask_secret, refresh_if_needed

NOW = 1_750_000_000.0
ISSUER = "https://example.okta.com"
_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_jwt(**claims: object) -> str:
    return jwt.encode(dict(claims), _KEY, algorithm="RS256", headers={"kid": "k1"})


ACCESS = make_jwt(
    ver=1,
    jti="AT.abc",
    iss=ISSUER,
    aud=ISSUER,
    iat=int(NOW),
    exp=int(NOW) + 3600,
    cid="0oaCLIENT",
    uid="00uADMIN",
    scp=["okta.users.read", "openid"],
    sub="admin@example.com",
)
REFRESH = "refresh-secret-value-0123456789"
ID_TOKEN = make_jwt(iss=ISSUER, aud="0oaCLIENT", sub="00uADMIN", nonce="n", exp=int(NOW) + 3600)


def full_token(**overrides: object) -> Token:
    body = {
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": ACCESS,
        "scope": "okta.users.read openid",
        "refresh_token": REFRESH,
        "id_token": ID_TOKEN,
    }
    body.update(overrides)
    return Token.from_token_response(
        body,
        issuer=ISSUER,
        client_id="0oaCLIENT",
        scopes_requested=["openid", "okta.users.read", "okta.groups.read"],
        now=NOW,
    )


def secrets_of(token: Token) -> list[str]:
    return [s for s in (token.access_token, token.refresh_token, token.id_token) if s]


def test_repr_and_str_are_masked_and_useful() -> None:
    token = full_token()
    for text in (repr(token), str(token), f"{token}", repr([token]), repr(TokenKeeper(token))):
        for secret in secrets_of(token):
            assert secret not in text
            assert secret[:20] not in text
    assert repr(token).startswith(f"Token(Bearer …{ACCESS[-4:]} [masked], scopes=okta.users.read openid,")


def test_summary_has_no_secret_but_says_what_was_granted() -> None:
    token = full_token()
    summary = token.summary(NOW + 60)
    dumped = json.dumps(summary)
    for secret in secrets_of(token):
        assert secret not in dumped
    assert summary["issuer"] == ISSUER
    assert summary["client_id"] == "0oaCLIENT"
    assert summary["subject"] == "admin@example.com"
    assert summary["scopes_granted"] == ["okta.users.read", "openid"]
    assert summary["scopes_not_granted"] == ["okta.groups.read"]
    assert summary["expires_in_seconds"] == 3540
    assert summary["expires_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW + 3600))
    assert summary["claims_unverified"]["scp"] == ["okta.users.read", "openid"]
    assert summary["refresh_token"] == "held"


def test_short_secrets_are_masked_completely() -> None:
    assert mask_secret("abc123") == "[masked]"
    assert mask_secret(None) == "[none]"
    assert mask_secret("x" * 40 + "WXYZ") == "…WXYZ [masked]"
    assert "abc123" not in repr(Token.from_api_token("abc123"))


def test_claims_decode_without_verification_and_none_for_opaque() -> None:
    assert full_token().claims()["uid"] == "00uADMIN"  # type: ignore[index]
    assert full_token().id_token_claims()["nonce"] == "n"  # type: ignore[index]
    assert Token(access_token="opaque-token-value-xyz").claims() is None
    assert decode_jwt_claims("a.b.c") is None
    assert decode_jwt_claims("a.!!!.c") is None
    assert decode_jwt_claims("one.two") is None
    assert Token.from_api_token("00abcdefghijklmnopqrstuvwxyz").claims() is None


def test_scope_absent_means_requested_scopes_were_granted() -> None:
    # RFC 6749 §5.1: scope is OPTIONAL if identical to the scope requested
    body = {"access_token": ACCESS, "token_type": "Bearer", "expires_in": 3600}
    token = Token.from_token_response(
        body, issuer=ISSUER, client_id="c", scopes_requested=["openid", "okta.users.read"], now=NOW
    )
    assert token.scopes_granted == ("openid", "okta.users.read")
    assert token.expires_at == NOW + 3600
    assert token.refresh_token is None


def test_refresh_response_without_refresh_token_keeps_the_old_one() -> None:
    old = full_token()
    body = {"access_token": make_jwt(x=1), "token_type": "Bearer", "expires_in": 3600}
    new = Token.from_token_response(
        body, issuer=ISSUER, client_id="c", scopes_requested=["openid"], now=NOW + 10, previous=old
    )
    assert new.refresh_token == REFRESH
    assert new.id_token == ID_TOKEN


def test_bad_token_responses_are_login_errors_without_secrets() -> None:
    with pytest.raises(LoginError, match="without an access token"):
        Token.from_token_response({"token_type": "Bearer"}, issuer=None, client_id=None, scopes_requested=[], now=NOW)
    with pytest.raises(LoginError, match="unsupported token type 'mac'") as info:
        Token.from_token_response(
            {"access_token": ACCESS, "token_type": "mac"}, issuer=None, client_id=None, scopes_requested=[], now=NOW
        )
    assert ACCESS not in str(info.value)
    with pytest.raises(LoginError, match="DPoP-bound token for a request without a DPoP proof") as info:
        Token.from_token_response(
            {"access_token": ACCESS, "token_type": "DPoP"}, issuer=None, client_id=None, scopes_requested=[], now=NOW
        )
    assert ACCESS not in str(info.value)
    from okta_magic.dpop import DPoPKey

    dpop = Token.from_token_response({"access_token": ACCESS, "token_type": "DPoP"}, issuer=None, client_id=None,
                                     scopes_requested=[], now=NOW, dpop_key=DPoPKey())
    assert dpop.authorization_header() == f"DPoP {ACCESS}" and dpop.dpop_key is not None


def test_from_access_token_reads_claims_of_a_jwt_and_leaves_opaque_unknown() -> None:
    token = Token.from_access_token(f"Bearer {ACCESS}\n")
    assert token.access_token == ACCESS
    assert token.expires_at == NOW + 3600
    assert token.scopes_granted == ("okta.users.read", "openid")
    assert token.issuer == ISSUER
    assert token.client_id == "0oaCLIENT"
    opaque = Token.from_access_token("opaque-token-value-123456", issuer=ISSUER)
    assert opaque.expires_at is None and opaque.scopes_granted == () and opaque.issuer == ISSUER
    assert not opaque.is_expired(NOW + 10**9)
    assert "no expiry known" in repr(opaque)


def test_api_token_uses_ssws_header() -> None:
    key = "00" + "abcdefghijklmnopqrstuvwxyz"  # built at run time: no key-shaped literal in the repository
    token = Token.from_api_token(f"SSWS {key}", issuer=ISSUER)
    assert token.authorization_header() == f"SSWS {key}"
    assert token.expires_at is None
    assert key[:18] not in repr(token)
    assert full_token().authorization_header() == f"Bearer {ACCESS}"


def test_expiry_questions() -> None:
    token = full_token()
    assert token.expires_in(NOW + 100) == 3500
    assert not token.is_expired(NOW + 3569)
    assert token.is_expired(NOW + 3570)  # default 30 s skew
    assert not token.is_expired(NOW + 3599, skew=0)
    assert "expires in 60 min" in token._expiry_phrase(NOW)
    assert "expired at" in token._expiry_phrase(NOW + 4000)


def test_expired_error_is_one_line_with_clock_time_and_no_secret() -> None:
    token = full_token()
    err = token.expired_error()
    hhmm = time.strftime("%H:%M", time.localtime(NOW + 3600))
    assert str(err) == f"The one-hour access token expired at {hhmm}."  # what happened; the fix is a key
    assert advice.render(err, advice.NOTEBOOK) == (
        f"The one-hour access token expired at {hhmm}. Sign in again with %okta_login.")
    assert "\n" not in str(err)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_keeper_refreshes_within_leeway_and_reports() -> None:
    calls: list[Token] = []
    seen: list[Token] = []

    clock = Clock(NOW)

    def refresher(old: Token) -> Token:
        calls.append(old)
        body = {"access_token": make_jwt(n=len(calls)), "token_type": "Bearer", "expires_in": 3600}
        return Token.from_token_response(
            body, issuer=ISSUER, client_id="c", scopes_requested=[], now=clock.now, previous=old
        )

    keeper = TokenKeeper(full_token(), refresher, clock=clock, on_refresh=seen.append)
    first = keeper.current()
    assert calls == []
    clock.now = NOW + 3600 - 299  # inside the 300 s leeway
    second = keeper.current()
    assert len(calls) == 1 and calls[0] is first
    assert second is not first and seen == [second]
    assert second.refresh_token == REFRESH
    assert keeper.current() is second  # the fresh token is good for another hour: no second refresh
    assert len(calls) == 1


def test_keeper_without_refresh_token_raises_token_expired_after_expiry() -> None:
    token = full_token(refresh_token=None)
    clock = Clock(NOW + 3500)
    keeper = TokenKeeper(token, lambda t: pytest.fail("no refresh without a refresh token"), clock=clock)
    assert keeper.current() is token  # within leeway but still valid: keep using it
    clock.now = NOW + 3600
    with pytest.raises(TokenExpired, match="expired at ") as info:
        keeper.current()
    assert "Sign in again with %okta_login" in advice.render(info.value, advice.NOTEBOOK)


def test_failed_refresh_keeps_valid_token_then_expires_with_reason() -> None:
    def refresher(old: Token) -> Token:
        raise TokenExchangeError("The refresh token is invalid or expired. Sign in again.", error="invalid_grant")

    token = full_token()
    assert refresh_if_needed(token, refresher, now=NOW + 3400) is token
    with pytest.raises(TokenExpired, match=r"could not be refreshed \(invalid_grant\)") as info:
        refresh_if_needed(token, refresher, now=NOW + 3601)
    assert REFRESH not in str(info.value)


def test_refresh_if_needed_leaves_unknown_expiry_alone() -> None:
    token = Token.from_api_token("00abcdefghijklmnopqrstuvwxyz")
    assert refresh_if_needed(token, None, now=NOW) is token


def test_token_responses_from_other_providers() -> None:
    def build(**body: object) -> Token:
        base: dict[str, object] = {"access_token": "opaque-" + "o" * 30}
        base.update(body)
        return Token.from_token_response(
            base,
            issuer="https://sso.example.com/realms/demo",
            client_id="c",
            scopes_requested=["openid", "email"],
            now=NOW,
        )

    # lower-case token_type (RFC 6749 §5.1 case-insensitive), extra members, scope null = omitted
    token = build(token_type="bearer", expires_in=300, scope=None, **{"not-before-policy": 0, "session_state": "s"})
    assert token.token_type == "Bearer" and token.scopes_granted == ("openid", "email")
    assert token.authorization_header().startswith("Bearer opaque-")
    assert token.expires_at == NOW + 300
    assert build(expires_in="3600").expires_at == NOW + 3600  # a string, as some servers send it
    for odd in ("soon", None, True, "nan", [1]):
        assert build(expires_in=odd).expires_at is None  # unknown, never a traceback
    assert build().expires_at is None and build().summary(NOW)["expires_in_seconds"] is None
    # an opaque access token decodes to nothing; the ID token names the user
    id_token = "e30." + base64url({"sub": "00uX", "iss": "https://sso.example.com/realms/demo"}) + ".sig"
    opaque = build(id_token=id_token)
    assert opaque.claims() is None and opaque.subject == "00uX"
    assert opaque.summary(NOW)["subject"] == "00uX" and opaque.summary(NOW)["claims_unverified"] == {}
    assert "opaque-" not in repr(opaque)


def test_refresh_without_scope_keeps_the_scopes_originally_granted() -> None:
    first = Token.from_token_response(
        {"access_token": "a" * 20, "scope": "openid", "refresh_token": "r" * 20},
        issuer=None,
        client_id=None,
        scopes_requested=["openid", "okta.users.read"],
        now=NOW,
    )
    fresh = Token.from_token_response(
        {"access_token": "b" * 20},
        issuer=None,
        client_id=None,
        scopes_requested=first.scopes_requested,
        now=NOW,
        previous=first,
        scopes_if_omitted=first.scopes_granted,  # RFC 6749 §6
    )
    assert fresh.scopes_granted == ("openid",) and fresh.refresh_token == "r" * 20


def base64url(claims: dict[str, object]) -> str:
    import base64

    return base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()


def test_keeper_renews_a_refused_token_once_whatever_its_expiry_says() -> None:
    calls: list[Token] = []
    seen: list[Token] = []

    def refresher(old: Token) -> Token:
        calls.append(old)
        body = {"access_token": make_jwt(n=len(calls)), "token_type": "Bearer", "expires_in": 3600}
        return Token.from_token_response(body, issuer=ISSUER, client_id="c", scopes_requested=[], now=NOW,
                                         previous=old)

    keeper = TokenKeeper(full_token(), refresher, clock=Clock(NOW), on_refresh=seen.append)
    refused = keeper.current().authorization_header()
    fresh = keeper.renew(refused)  # revoked long before its expiry
    assert fresh is not None and fresh.access_token != ACCESS and keeper.token is fresh and seen == [fresh]
    assert keeper.renew(refused) is fresh and len(calls) == 1  # a second request refused with the old one
    assert TokenKeeper(full_token(refresh_token=None), refresher).renew(f"Bearer {ACCESS}") is None

    def refused_refresh(old: Token) -> Token:
        raise TokenExchangeError("The refresh token is invalid or expired.", error="invalid_grant")

    assert TokenKeeper(full_token(), refused_refresh).renew(f"Bearer {ACCESS}") is None


def _refuses_pickling(value: object, secret: str) -> None:
    import copy
    import pickle

    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        for wrapped in (value, [value], {"kept": value}):
            with pytest.raises(TypeError, match="in memory only, so it cannot be pickled or copied to disk") \
                    as info:
                pickle.dumps(wrapped, protocol=protocol)
            assert "\n" not in str(info.value) and secret not in str(info.value)
    assert copy.copy(value) is value and copy.deepcopy({"kept": value})["kept"] is value  # memory only


def test_tokens_keys_and_client_credentials_refuse_pickling() -> None:
    from okta_magic.oauth.authorize import AuthorizationRequest
    from okta_magic.oauth.client_auth import ClientAuth
    from okta_magic.dpop import DPoPKey

    token = full_token()
    _refuses_pickling(token, ACCESS)
    _refuses_pickling(Token.from_api_token("00" + "k" * 40), "k" * 40)
    _refuses_pickling(TokenKeeper(token), ACCESS)
    key = DPoPKey()
    _refuses_pickling(key, jwt.algorithms.ECAlgorithm.to_jwk(key._key, as_dict=True)["d"])
    _refuses_pickling(ClientAuth("0oaWEB", "client_secret_basic", client_secret="s" * 40), "s" * 40)
    request = AuthorizationRequest.new("0oa1", "http://127.0.0.1:8765/callback", ["openid"])
    _refuses_pickling(request, request.code_verifier)


def test_a_pasted_redirect_url_carrying_the_token_gives_the_token_and_says_it_came_from_the_front_channel() -> None:
    from okta_magic.tokens import front_channel_parameters

    opaque = "opaque-access-token-" + "x" * 30
    fragment = f"access_token={opaque}&token_type=Bearer&expires_in=3600&scope=okta.users.read%20openid&state=s1"
    for pasted in (f"http://localhost:8080/callback#{fragment}", f"#{fragment}", fragment, f"  {fragment}\n"):
        assert front_channel_parameters(pasted)["access_token"] == opaque  # type: ignore[index]
        token = Token.from_access_token(pasted, issuer=ISSUER, now=NOW)
        assert token.access_token == opaque and token.expires_at == NOW + 3600
        assert token.scopes_granted == ("okta.users.read", "openid")
    for bare in (ACCESS, f"Bearer {ACCESS}", "http://localhost:8080/callback?code=abc&state=s1", "access_token="):
        assert front_channel_parameters(bare) is None
    claims = Token.from_access_token(f"https://x/cb#access_token={ACCESS}&expires_in=60", now=NOW)
    assert claims.access_token == ACCESS and claims.expires_at == NOW + 3600  # the JWT's own exp wins


def test_secrets_are_held_with_a_masked_repr_wherever_they_travel() -> None:
    import pickle

    from okta_magic.tokens import Secret

    token = full_token()
    form = {"grant_type": "refresh_token", "refresh_token": token.refresh_token}
    header = token.authorization_header()
    for value, secret in ((form, REFRESH), ([token.access_token], ACCESS), ((token.id_token,), ID_TOKEN),
                          (header, ACCESS)):
        assert secret not in repr(value) and "[masked]" in repr(value)
    assert header == f"Bearer {ACCESS}" and str(header) == f"Bearer {ACCESS}" and f"{header}" == f"Bearer {ACCESS}"
    assert isinstance(token.access_token, Secret) and token == full_token()  # equal by their text
    with pytest.raises(TypeError, match="in memory only"):
        pickle.dumps(token.refresh_token)
