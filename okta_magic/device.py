"""The device authorization grant (RFC 8628), for kernels the browser cannot reach.

Owns: asking the org for a device code and user code (§3.1-3.2), and polling
the token endpoint on a background thread (§3.4-3.5) while the person signs in
on any device: ``authorization_pending`` keeps polling, ``slow_down`` adds 5 s
to the interval, ``access_denied`` and ``expired_token`` end it. Okta's org
authorization server offers it to native apps (guides/device-authorization-grant).
Status reporting mirrors :class:`okta_magic.login.LoginFlow`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from okta_magic import oauth
from okta_magic.client import network_error
from okta_magic.dpop import DPoPKey
from okta_magic.errors import (
    AuthorizationDenied,
    ConfigError,
    LoginError,
    LoginTimeout,
    NetworkError,
    OktaMagicError,
    TokenExchangeError,
)
from okta_magic.login import LoginStatus, Phase, SignInProgress
from okta_magic.tokens import Token

__all__ = ["DeviceLogin", "start_device_login"]

log = logging.getLogger(__name__)

SLOW_DOWN_STEP = 5.0  # RFC 8628 §3.5: "the interval MUST be increased by 5 seconds"
DEFAULT_INTERVAL = 5.0  # RFC 8628 §3.2: default when the server sends none
DEFAULT_EXPIRES_IN = 600.0  # expires_in is REQUIRED (§3.2); used only if a server leaves it out


def _seconds(value: object, default: float) -> float:
    """A positive number of seconds from a JSON number or numeric string, else ``default``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if 0 < seconds < float("inf") else default


class DeviceLogin(SignInProgress):
    """A device sign-in in progress: show ``user_code`` and ``verification_uri`` to the person.

    Polling runs on a daemon thread from :func:`start_device_login`; use :attr:`status`,
    :attr:`done`, :meth:`wait` and :meth:`cancel` as with ``LoginFlow``.
    """

    def __init__(
        self,
        *,
        user_code: str,
        verification_uri: str,
        verification_uri_complete: str | None,
        expires_at: float,
        interval: float,
        device_code: str,
        metadata: oauth.ProviderMetadata,
        auth: oauth.ClientAuth,
        scopes: tuple[str, ...],
        http: httpx.Client,
        clock: Callable[[], float],
        sleep: Callable[[float], None] | None,
        on_change: Callable[[LoginStatus], None] | None,
        on_token: Callable[[Token], None] | None,
    ) -> None:
        self.user_code = user_code
        self.verification_uri = verification_uri
        self.verification_uri_complete = verification_uri_complete
        self.expires_at = expires_at
        self.interval = interval
        self._device_code = device_code
        self._metadata = metadata
        self._auth = auth
        self._scopes = scopes
        self._http = http
        self._clock = clock
        self._sleep = sleep
        super().__init__(LoginStatus("waiting", f"Open {verification_uri} on any device and enter the code "
                                                f"{user_code}."), on_change)
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
        self._finish(
            "cancelled",
            "Device sign-in cancelled.",
            error=LoginError("The device sign-in was cancelled. Run %okta_login --device to start again."),
        )

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
        interval = self.interval
        data = {"grant_type": oauth.DEVICE_CODE_GRANT, "device_code": self._device_code}
        dpop: DPoPKey | None = None  # set once the app turns out to require DPoP (RFC 9449 §5)
        while not self._cancelled.is_set():
            self._pause(interval)
            if self._cancelled.is_set():
                return
            if self._clock() >= self.expires_at:
                self._fail(
                    LoginTimeout(
                        f"The device code {self.user_code} expired before the sign-in was completed. Run "
                        "%okta_login --device again."
                    )
                )
                return
            now = self._clock()
            try:
                body = oauth.post_token(self._metadata, self._auth, dict(data), self._http, now, dpop=dpop)
            except TokenExchangeError as exc:
                if exc.error == "authorization_pending":
                    continue
                if exc.error == "invalid_dpop_proof" and dpop is None:
                    dpop = DPoPKey()
                    continue
                if exc.error == "slow_down":
                    interval += SLOW_DOWN_STEP
                    log.debug("device poll: slow_down, interval now %s s", interval)
                    continue
                if exc.error == "access_denied":
                    self._fail(
                        AuthorizationDenied(
                            "The device sign-in was refused or cancelled (access_denied). If you did not cancel, "
                            "ask an Okta admin to assign you to the app.",
                            error="access_denied",
                            description=exc.description,
                        )
                    )
                elif exc.error == "expired_token":
                    self._fail(
                        LoginTimeout(
                            f"The device code {self.user_code} expired before the sign-in was completed. Run "
                            "%okta_login --device again."
                        )
                    )
                else:
                    self._fail(exc)
                return
            except NetworkError as exc:
                # a dropped poll is retried at the next interval; the code's expiry bounds the retries
                log.warning("device poll failed, retrying: %s", exc)
                continue
            except OktaMagicError as exc:
                self._fail(exc)
                return
            try:
                token = Token.from_token_response(
                    body,
                    issuer=self._metadata.issuer,
                    client_id=self._auth.client_id,
                    scopes_requested=self._scopes,
                    now=now,
                    dpop_key=dpop,
                )
            except OktaMagicError as exc:
                self._fail(exc)
                return
            self._finish("signed_in", f"Signed in with {len(token.scopes_granted)} scopes.", token=token)
            if self._on_token is not None:
                try:
                    self._on_token(token)
                except Exception:  # noqa: BLE001
                    log.exception("on_token callback failed")
            return

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
    auth_method: oauth.AuthMethod | None = None,
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
    metadata = oauth.discover(issuer, client)
    if not metadata.device_authorization_endpoint:
        raise ConfigError("This org does not offer the device authorization grant; sign in with the browser instead.")
    auth = oauth.ClientAuth.choose(client_id, metadata, client_secret=client_secret, method=auth_method)
    data = {"scope": " ".join(scope_list)}
    headers = {"Accept": "application/json"}
    auth.apply(data, headers, metadata.device_authorization_endpoint, clock())
    try:
        response = client.post(metadata.device_authorization_endpoint, data=data, headers=headers)
    except httpx.TransportError as exc:
        raise network_error(exc, httpx.URL(metadata.device_authorization_endpoint)) from None
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        hint = {
            "unauthorized_client": "enable the Device Authorization grant for the app in Okta Admin Console > "
            "Applications > the app > General",
            "invalid_client": "check the client id (Okta offers the device grant to native apps); an app with a "
            "client secret needs --client-secret",
            "invalid_scope": "grant the scopes to the app in Okta Admin Console > Applications > the app > Okta "
            "API Scopes",
        }.get(str(error), "check the app's settings in Okta Admin Console")
        desc = f" ({' '.join(str(description).split())})" if description else ""
        raise TokenExchangeError(
            f"The device sign-in was refused: {error or f'HTTP {response.status_code}'}{desc}; {hint}.",
            error=str(error) if error else None,
            description=str(description) if description else None,
        )
    if not body.get("verification_uri") and body.get("verification_url"):
        # the pre-RFC name some providers still send (Google), same meaning as RFC 8628 §3.2 verification_uri
        body["verification_uri"] = body["verification_url"]
    for required in ("device_code", "user_code", "verification_uri"):
        if not body.get(required):
            raise LoginError(f"The device authorization response has no {required}; try again.")
    now = clock()
    login = DeviceLogin(
        user_code=str(body["user_code"]),
        verification_uri=str(body["verification_uri"]),
        verification_uri_complete=str(body["verification_uri_complete"])  # OPTIONAL, RFC 8628 §3.2
        if body.get("verification_uri_complete")
        else None,
        expires_at=now + _seconds(body.get("expires_in"), DEFAULT_EXPIRES_IN),
        interval=max(_seconds(body.get("interval"), DEFAULT_INTERVAL), 1.0),
        device_code=str(body["device_code"]),
        metadata=metadata,
        auth=auth,
        scopes=scope_list,
        http=client,
        clock=clock,
        sleep=sleep,
        on_change=on_change,
        on_token=on_token,
    )
    login._start()
    return login
