"""The device sign-in (RFC 8628), for kernels the browser cannot reach: the flow, not the protocol.

Owns: :class:`DeviceLogin`, which shows the person the user code and where to enter it, polls
the token endpoint on a background thread at the server's pace while they sign in on any
device, checks the ID token as the browser flow does (OIDC Core §3.1.3.7), and reports status
like :class:`okta_magic.flows.browser.LoginFlow`. The requests and the reading of each answer are
``device_grant.py``'s. Okta's org authorization server offers the grant to native apps
(guides/device-authorization-grant).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from okta_magic.flows.browser import LoginStatus, Phase, SignInProgress
from okta_magic.oauth.client_auth import AuthMethod, ClientAuth
from okta_magic.oauth.device_grant import (
    NEEDS_DPOP,
    SLOW_DOWN,
    SLOW_DOWN_STEP,
    DeviceAuthorization,
    code_expired,
    poll,
    request_device_authorization,
)
from okta_magic.oauth.discovery import ProviderMetadata, discover, fetch_jwks
from okta_magic.dpop import DPoPKey
from okta_magic.errors import LoginError, LoginTimeout, NetworkError, OktaMagicError
from okta_magic.oauth.idtoken import check_id_token
from okta_magic.tokens import Token

__all__ = ["DeviceLogin", "start_device_login"]

log = logging.getLogger(__name__)


class DeviceLogin(SignInProgress):
    """A device sign-in in progress: show ``user_code`` and ``verification_uri`` to the person.

    Polling runs on a daemon thread from :func:`start_device_login`; use :attr:`status`,
    :attr:`done`, :meth:`wait` and :meth:`cancel` as with ``LoginFlow``.
    """

    def __init__(
        self,
        authorization: DeviceAuthorization,
        *,
        expires_at: float,
        metadata: ProviderMetadata,
        auth: ClientAuth,
        scopes: tuple[str, ...],
        http: httpx.Client,
        clock: Callable[[], float],
        sleep: Callable[[float], None] | None,
        on_change: Callable[[LoginStatus], None] | None,
        on_token: Callable[[Token], None] | None,
        org: str | None = None,
    ) -> None:
        self._org = org  # the org URL asked: the token is bound to it (sent to that org only)
        self.user_code = authorization.user_code
        self.verification_uri = authorization.verification_uri
        self.verification_uri_complete = authorization.verification_uri_complete
        self.expires_at = expires_at
        self.interval = authorization.interval
        self._authorization = authorization  # holds the device code, a Secret
        self._metadata = metadata
        self._auth = auth
        self._scopes = scopes
        self._http = http
        self._clock = clock
        self._sleep = sleep
        super().__init__(LoginStatus("waiting", f"Open {self.verification_uri} on any device and enter the code "
                                                f"{self.user_code}."), on_change)
        self._on_token = on_token
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._poll, name="okta-device-poll", daemon=True)

    def __repr__(self) -> str:
        return f"DeviceLogin(user_code={self.user_code}, {self.verification_uri}, phase={self._status.phase})"

    def wait(self, timeout: float | None = None) -> Token:
        """Block until the device sign-in ends; return the token or raise its error."""
        token = self._outcome(timeout)
        if token is None:
            raise LoginTimeout(
                f"Still waiting for the device sign-in after {timeout:.0f} s; enter the code {self.user_code} at "
                f"{self.verification_uri}."
            )
        return token

    def cancel(self) -> None:
        """Stop polling (the code stays valid at Okta until it expires)."""
        self._cancelled.set()
        error = LoginError("The device sign-in was cancelled.")
        error.with_fix("device_start_again")
        self._finish("cancelled", "Device sign-in cancelled.", error=error)

    # -- polling thread ---------------------------------------------------------------------------

    def _start(self) -> None:
        self._set(self._status)
        self._thread.start()

    def _pause(self, seconds: float) -> None:
        if self._sleep is not None:
            self._sleep(seconds)
        else:
            self._cancelled.wait(seconds)

    def _poll(self) -> None:
        """Poll at the server's interval (RFC 8628 §3.5) until a token, a refusal, expiry or cancel."""
        interval = self.interval
        dpop: DPoPKey | None = None  # set once the app turns out to require DPoP (RFC 9449 §5)
        while not self._cancelled.is_set():
            self._pause(interval)
            if self._cancelled.is_set():
                return
            if self._clock() >= self.expires_at:
                self._fail(code_expired(self.user_code))
                return
            now = self._clock()
            try:
                answer = poll(self._metadata, self._auth, self._authorization, self._http, now, dpop=dpop)
            except NetworkError as exc:
                # a dropped poll is retried at the next interval; the code's expiry bounds the retries
                log.warning("device poll failed, retrying: %s", exc)
                continue
            except OktaMagicError as exc:
                self._fail(exc)
                return
            if answer == NEEDS_DPOP:
                dpop = DPoPKey()
            elif answer == SLOW_DOWN:
                interval += SLOW_DOWN_STEP
                log.debug("device poll: slow_down, interval now %s s", interval)
            if isinstance(answer, dict):
                self._signed_in(answer, now, dpop)
                return

    def _signed_in(self, body: dict[str, object], now: float, dpop: DPoPKey | None) -> None:
        """Turn the token response into a Token, check its ID token, and finish."""
        try:
            token = Token.from_token_response(body, issuer=self._metadata.issuer, client_id=self._auth.client_id,
                                              scopes_requested=self._scopes, now=now, dpop_key=dpop)
            if self._org is not None:
                token = token.for_org(self._org)
            if token.id_token:
                # OIDC Core §3.1.3.7, as the browser flow; no nonce is sent in RFC 8628 §3.1
                check_id_token(token.id_token, issuer=self._metadata.issuer, client_id=self._auth.client_id,
                               nonce=None, now=now, jwks=fetch_jwks(self._metadata, self._http),
                               client_secret=self._auth.client_secret,
                               algorithms=self._metadata.id_token_signing_alg_values_supported)
        except OktaMagicError as exc:
            self._fail(exc)
            return
        self._finish("signed_in", f"Signed in with {len(token.scopes_granted)} scopes.", token=token)
        if self._on_token is not None:
            try:
                self._on_token(token)
            except Exception:  # noqa: BLE001
                log.exception("on_token callback failed")

    def _fail(self, exc: OktaMagicError) -> None:
        self._finish("failed", str(exc), error=exc)

    def _finish(
        self, phase: Phase, message: str, *, token: Token | None = None, error: OktaMagicError | None = None
    ) -> None:
        with self._lock:
            if self._done.is_set():
                return
            self._set(LoginStatus(phase, message, token=token, error=error))
            self._done.set()


def start_device_login(
    issuer: str,
    client_id: str,
    scopes: Sequence[str] | str,
    *,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] | None = None,
    on_change: Callable[[LoginStatus], None] | None = None,
    on_token: Callable[[Token], None] | None = None,
    client_secret: str | None = None,
    auth_method: AuthMethod | None = None,
) -> DeviceLogin:
    """Request a device code (RFC 8628 §3.1) and start polling for the token in the background.

    A confidential client authenticates both requests as at the token endpoint (RFC 8628 §3.1,
    RFC 6749 §2.3); a public one (Okta's native apps) sends only its client_id.

    Args:
        issuer: the org URL.
        client_id: a native app with the Device Authorization grant enabled.
        scopes: scopes to request.
        http: HTTP client (one is made if omitted).
        clock: epoch seconds now.
        sleep: waits between polls (default: an interruptible wait of ``interval`` s).
        on_change: status callback (from the polling thread).
        on_token: called with the token once issued.

    Raises:
        ConfigError: the org has no device authorization endpoint.
        TokenExchangeError: the org refused the request (e.g. grant not enabled for the app).
        NetworkError.
    """
    client = http if http is not None else httpx.Client(timeout=30.0)
    scope_list = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
    metadata = discover(issuer, client)
    auth = ClientAuth.choose(client_id, metadata, client_secret=client_secret, method=auth_method)
    authorization = request_device_authorization(metadata, auth, scope_list, client, clock())
    login = DeviceLogin(
        authorization,
        expires_at=clock() + authorization.expires_in,
        metadata=metadata,
        auth=auth,
        scopes=scope_list,
        http=client,
        clock=clock,
        sleep=sleep,
        on_change=on_change,
        on_token=on_token,
        org=issuer,
    )
    login._start()
    return login
