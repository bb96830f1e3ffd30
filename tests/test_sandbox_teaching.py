"""The sandbox's teaching aids, over real HTTP: the in-kernel sandbox (``current()``) and the token lifetime."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import jwt
import pytest
from _sandbox_fixtures import authorize_params, exchange, redirect_params, unattended_code

import okta_magic.sandbox
from okta_magic.errors import ConfigError, TokenExpired
from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session

OFFLINE = {"scopes": "openid offline_access okta.users.read"}


@pytest.fixture()
def lesson() -> Iterator[Session]:
    """A session whose clock is its sandbox's, so that moving the sandbox clock moves the session's too."""
    holder: list[Session] = []

    def clock() -> float:
        sb = holder[0].sandbox
        assert sb is not None
        return sb.clock()

    session = Session(name="lesson", clock=clock)
    holder.append(session)
    try:
        yield session
    finally:
        session.close()


def _me(sb: Sandbox, authorization: str) -> int:
    """The status of GET /api/v1/users/me sent with that Authorization value."""
    return httpx.get(f"{sb.url}/api/v1/users/me", headers={"Authorization": authorization}).status_code


def _lifetime(access_token: str) -> int:
    """``exp - iat`` of an access token."""
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return int(claims["exp"] - claims["iat"])


def test_current_is_the_sandbox_a_session_started_and_none_once_it_stops(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    plain = sandbox_factory(users=20, seed=2)
    assert okta_magic.sandbox.current() is not plain  # a sandbox of one's own is not the kernel's
    first, second = Session(name="first"), Session(name="second")
    try:
        a = first.kernel_sandbox.start(users=20, seed=2)
        assert okta_magic.sandbox.current() is a and a.running
        b = second.kernel_sandbox.start(users=20, seed=2)
        assert okta_magic.sandbox.current() is b  # the newest one
        second.close()
        assert not b.running and okta_magic.sandbox.current() is a
    finally:
        first.close()
        second.close()
    assert okta_magic.sandbox.current() not in (plain, a, b)


def test_an_instructor_turns_the_knobs_of_the_kernels_sandbox(lesson: Session) -> None:
    lesson.sign_in_sandbox("admin", layers=[{"scopes": "okta.users.read"}])
    sb = okta_magic.sandbox.current()
    assert sb is lesson.sandbox and sb is not None
    sb.set_knobs(rate_429=1.0)
    assert _me(sb, lesson.authorization_header()) == 429  # the lesson's next request meets the knob
    sb.set_knobs(rate_429=0.0, token_lifetime=300)
    assert sb.token_lifetime == 300 and _lifetime(sb.issue_token()) == 300


def test_token_lifetime_sets_exp_and_expires_in_of_every_grant(sandbox_factory: Callable[..., Sandbox]) -> None:
    sb = sandbox_factory(users=20, seed=2, token_lifetime=120)
    assert sb.token_lifetime == 120 and _lifetime(sb.issue_token()) == 120
    with httpx.Client(base_url=sb.url, follow_redirects=False) as http:
        auth = authorize_params(sb, app="offline", scope="openid offline_access okta.users.read")
        body = exchange(http, auth, unattended_code(http, auth)).json()
        assert body["expires_in"] == 120 and _lifetime(body["access_token"]) == 120
        id_claims = jwt.decode(body["id_token"], options={"verify_signature": False})
        assert id_claims["exp"] - id_claims["iat"] == 3600  # the ID token keeps Okta's hour
        refreshed = http.post("/oauth2/v1/token", data={
            "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
            "client_id": sb.apps["offline"].client_id}).json()
        assert refreshed["expires_in"] == 120 and _lifetime(refreshed["access_token"]) == 120
        implicit = authorize_params(sb, response_type="token", code_challenge=None, code_challenge_method=None,
                                    scope="okta.users.read", sandbox_user="admin")
        fragment = redirect_params(http.get("/oauth2/v1/authorize", params=implicit.params))
        assert fragment["expires_in"] == "120" and _lifetime(fragment["access_token"]) == 120
    token = sb.issue_token()
    sb.advance_clock(121)
    assert _me(sb, f"Bearer {token}") == 401  # expired after two minutes, not an hour


def test_set_knobs_changes_the_lifetime_of_tokens_minted_from_then_on(
    sandbox_factory: Callable[..., Sandbox],
) -> None:
    sb = sandbox_factory(users=20, seed=2)
    assert sb.token_lifetime == 3600  # Okta's hour by default
    before = sb.issue_token()
    sb.set_knobs(token_lifetime=90)
    assert _lifetime(before) == 3600 and _lifetime(sb.issue_token()) == 90
    with pytest.raises(ValueError, match="token_lifetime"):
        sb.set_knobs(token_lifetime=0)
    with pytest.raises(ConfigError, match="token_lifetime"):
        Sandbox(users=20, token_lifetime=-5)


def test_a_short_token_is_refreshed_in_its_last_quarter_and_the_refresh_token_keeps_working(
    lesson: Session,
) -> None:
    sb = lesson.kernel_sandbox.start(users=30, seed=2, token_lifetime=120)
    first = lesson.sign_in_sandbox("admin", app="offline", layers=[OFFLINE])
    assert first.expires_at is not None and first.issued_at is not None
    assert first.expires_at - first.issued_at == 120 and first.refresh_token
    old = first.authorization_header()
    sb.advance_clock(60)
    assert lesson.current_token() is first  # half-way: not refreshed on every request
    sb.advance_clock(35)
    second = lesson.current_token()
    assert second is not first and second.expires_at == pytest.approx(sb.clock() + 120, abs=2)
    sb.advance_clock(30)  # the first token is now past its two minutes
    assert _me(sb, old) == 401 and _me(sb, lesson.authorization_header()) == 200
    for _ in range(3):  # and again, each time on the same refresh grant
        sb.advance_clock(100)
        assert _me(sb, lesson.current_token().authorization_header()) == 200


def test_without_a_refresh_token_the_short_token_expires_and_says_how_long_it_lived(lesson: Session) -> None:
    lesson.kernel_sandbox.start(users=30, seed=2, token_lifetime=120)
    lesson.sign_in_sandbox("admin", layers=[{"scopes": "okta.users.read"}])
    assert lesson.sandbox is not None
    lesson.sandbox.advance_clock(121)
    with pytest.raises(TokenExpired, match="The 2-minute access token expired at"):
        lesson.current_token(wait=False)


def test_start_sandbox_passes_the_lifetime_through_and_applies_it_to_a_running_one() -> None:
    session = Session(name="lifetime")
    try:
        sb = session.kernel_sandbox.start(users=20, seed=2, token_lifetime=600)
        assert sb.token_lifetime == 600
        assert session.kernel_sandbox.start(token_lifetime=240) is sb and sb.token_lifetime == 240
        assert session.kernel_sandbox.start() is sb and sb.token_lifetime == 240  # left out: unchanged
        with pytest.raises(ConfigError, match="token_lifetime"):
            session.kernel_sandbox.start(token_lifetime=0)
    finally:
        session.close()
