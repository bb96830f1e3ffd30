"""Device authorization grant (RFC 8628) polling rules, over httpx.MockTransport."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import jwt
import pytest
from _oauth_fixtures import KEY, jwks

from okta_magic import advice
from okta_magic.flows.browser import LoginStatus
from okta_magic.flows.device import start_device_login
from okta_magic.oauth.device_grant import DeviceAuthorization
from okta_magic.errors import AuthorizationDenied, ConfigError, LoginError, LoginTimeout, TokenExchangeError
from okta_magic.tokens import Secret, Token

ISSUER = "https://example.okta.com"


class FakeOrg:
    """Answers discovery, device authorization, then token polls from a script of errors."""

    def __init__(self, polls: list[str | None], *, device_status: int = 200, device_error: str | None = None) -> None:
        self.polls = list(polls)
        self.device_status = device_status
        self.device_error = device_error
        self.device_body: dict[str, object] = {
            "device_code": "dev-code-secret",
            "user_code": "WDJB-MJHT",
            "verification_uri": f"{ISSUER}/activate",
            "verification_uri_complete": f"{ISSUER}/activate?user_code=WDJB-MJHT",
            "expires_in": 600,
            "interval": 5,
        }
        self.token_forms: list[dict[str, str]] = []
        self.device_forms: list[dict[str, str]] = []
        self.token_extra: dict[str, object] = {}  # more members of the token response (an id_token)
        self.jwks: dict[str, object] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        form = {k: v[0] for k, v in parse_qs(request.read().decode()).items()}
        if path.startswith("/.well-known/"):
            return httpx.Response(404)  # neither metadata document: exercise the Okta org AS fallback paths
        if path == "/oauth2/v1/device/authorize":
            self.device_forms.append(form)
            if self.device_status != 200:
                return httpx.Response(
                    self.device_status, json={"error": self.device_error, "error_description": "Nope."}
                )
            return httpx.Response(200, json=self.device_body)
        if path == "/oauth2/v1/keys":
            return httpx.Response(200, json=self.jwks) if self.jwks else httpx.Response(404)
        assert path == "/oauth2/v1/token"
        self.token_forms.append(form)
        outcome = self.polls.pop(0)
        if outcome is None:
            return httpx.Response(
                200,
                json={
                    "access_token": "at-" + "d" * 40,
                    "token_type": "Bearer",
                    "expires_in": 3600,
                    "scope": "okta.users.read",
                    **self.token_extra,
                },
            )
        return httpx.Response(400, json={"error": outcome, "error_description": outcome.replace("_", " ")})


class Clock:
    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


def run(org: FakeOrg, clock: Clock | None = None) -> tuple[object, list[float], list[LoginStatus], list[Token]]:
    clock = clock or Clock()
    slept: list[float] = []
    statuses: list[LoginStatus] = []
    tokens: list[Token] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    login = start_device_login(
        ISSUER,
        "0oaNATIVE",
        ["openid", "okta.users.read"],
        http=httpx.Client(transport=httpx.MockTransport(org)),
        clock=clock,
        sleep=sleep,
        on_change=statuses.append,
        on_token=tokens.append,
    )
    return login, slept, statuses, tokens


def test_pending_then_slow_down_then_token() -> None:
    org = FakeOrg(["authorization_pending", "slow_down", "authorization_pending", None])
    login, slept, statuses, tokens = run(org)
    assert login.user_code == "WDJB-MJHT"  # type: ignore[attr-defined]
    assert login.verification_uri == f"{ISSUER}/activate"  # type: ignore[attr-defined]
    token = login.wait(10)  # type: ignore[attr-defined]
    assert token.scopes_granted == ("okta.users.read",)
    assert tokens == [token]
    # RFC 8628 §3.5: slow_down adds 5 s to the interval for all later polls
    assert slept == [5, 5, 10, 10]
    assert org.device_forms == [{"client_id": "0oaNATIVE", "scope": "openid okta.users.read"}]
    assert org.token_forms[0] == {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": "dev-code-secret",
        "client_id": "0oaNATIVE",
    }
    assert [s.phase for s in statuses] == ["waiting", "signed_in"]
    assert "WDJB-MJHT" in statuses[0].message and "dev-code-secret" not in repr(login)


def test_access_denied_and_expired_token() -> None:
    login, *_ = run(FakeOrg(["authorization_pending", "access_denied"]))
    with pytest.raises(AuthorizationDenied, match="refused or cancelled .access_denied."):
        login.wait(10)  # type: ignore[attr-defined]
    login, *_ = run(FakeOrg(["expired_token"]))
    with pytest.raises(LoginTimeout, match="The device code WDJB-MJHT expired"):
        login.wait(10)  # type: ignore[attr-defined]


def test_client_side_expiry_stops_polling() -> None:
    org = FakeOrg(["authorization_pending"] * 200)
    login, slept, *_ = run(org)
    with pytest.raises(LoginTimeout, match="expired before the sign-in was completed"):
        login.wait(10)  # type: ignore[attr-defined]
    assert sum(slept) >= 600 and len(org.token_forms) < 125


def test_device_endpoint_refusal_names_the_fix() -> None:
    with pytest.raises(TokenExchangeError, match="unauthorized_client .Nope..; enable the Device Authorization grant"):
        run(FakeOrg([], device_status=400, device_error="unauthorized_client"))


def test_cancel_stops_a_waiting_device_login() -> None:
    org = FakeOrg(["authorization_pending"] * 5)
    login = start_device_login(ISSUER, "c", "openid", http=httpx.Client(transport=httpx.MockTransport(org)))
    login.cancel()
    assert login.done and login.status.phase == "cancelled"
    with pytest.raises(Exception, match="cancelled"):
        login.wait(1)


def test_no_device_endpoint_is_a_config_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/a", "token_endpoint": f"{ISSUER}/t"}
        )

    with pytest.raises(ConfigError, match="does not offer the device authorization grant"):
        start_device_login(ISSUER, "c", "openid", http=httpx.Client(transport=httpx.MockTransport(handler)))


def test_optional_and_loosely_typed_device_response_members() -> None:
    org = FakeOrg(["authorization_pending", None])
    # Google's pre-RFC name, no verification_uri_complete (OPTIONAL, RFC 8628 §3.2), interval null, expires_in a string
    del org.device_body["verification_uri"], org.device_body["verification_uri_complete"]
    org.device_body.update(verification_url=f"{ISSUER}/device", interval=None, expires_in="1800")
    login, slept, _, _ = run(org)
    assert login.verification_uri == f"{ISSUER}/device"  # type: ignore[attr-defined]
    assert login.verification_uri_complete is None  # type: ignore[attr-defined]
    assert login.expires_at == 1_750_000_000.0 + 1800  # type: ignore[attr-defined]
    assert login.wait(10).scopes_granted == ("okta.users.read",)  # type: ignore[attr-defined]
    assert slept == [5, 5]  # RFC 8628 §3.2: 5 s when no interval is given


def _id_token(**claims: object) -> str:
    base: dict[str, object] = {"iss": ISSUER, "aud": "0oaNATIVE", "sub": "00u1", "iat": 1_750_000_000,
                               "exp": 1_750_000_000 + 3600}
    return jwt.encode({**base, **claims}, KEY, algorithm="RS256", headers={"kid": "k1"})


@pytest.mark.parametrize(("claims", "refused"), [({}, None), ({"aud": "another-app"}, "audience"),
                                                 ({"iss": "https://other.example"}, "issuer")])
def test_a_device_sign_in_checks_its_id_token_as_the_browser_flow_does(claims: dict[str, object],
                                                                      refused: str | None) -> None:
    """OIDC Core §3.1.3.7 (no nonce: RFC 8628 §3.1 sends none), signature checked with the org's keys."""
    org = FakeOrg(["authorization_pending", None])
    org.token_extra = {"id_token": _id_token(**claims)}
    org.jwks = jwks()
    login, *_ = run(org)
    if refused is None:
        assert login.wait(10).id_token == org.token_extra["id_token"]  # type: ignore[attr-defined]
        return
    with pytest.raises(LoginError, match=f"failed its {refused} check") as info:
        login.wait(10)  # type: ignore[attr-defined]
    assert login.status.phase == "failed"  # type: ignore[attr-defined]
    assert advice.render(info.value, advice.NOTEBOOK).endswith("Sign in again with %okta_login.")


def test_a_forged_device_id_token_signature_is_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    org = FakeOrg([None])
    org.token_extra = {"id_token": jwt.encode({"iss": ISSUER, "aud": "0oaNATIVE", "sub": "00u1", "iat": 1_750_000_000,
                                               "exp": 1_750_003_600}, other, algorithm="RS256", headers={"kid": "k1"})}
    org.jwks = jwks()
    login, *_ = run(org)
    with pytest.raises(LoginError, match="signature is invalid"):
        login.wait(10)  # type: ignore[attr-defined]


def test_the_device_code_is_held_as_a_secret() -> None:
    login, *_ = run(FakeOrg(["authorization_pending"] * 200))  # polls until the code expires (fake clock)
    authorization = login._authorization  # type: ignore[attr-defined]
    assert isinstance(authorization, DeviceAuthorization) and isinstance(authorization.device_code, Secret)
    assert authorization.device_code == "dev-code-secret"
    assert "dev-code-secret" not in repr(authorization) and "dev-code-secret" not in repr(vars(login))
