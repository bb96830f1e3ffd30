"""The device authorization grant's protocol (RFC 8628): the device code request and the token polls.

Owns: asking the device authorization endpoint for a device code and a user code (§3.1-3.2,
the client authenticated as at the token endpoint), and reading one token poll (§3.4-3.5):
``authorization_pending`` and ``slow_down`` mean keep polling, ``access_denied`` and
``expired_token`` end the sign-in. The device code is a credential, held as a
:class:`Secret`. Timing, the polling thread and status reporting are ``device.py``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.oauth.discovery import ProviderMetadata, network_error
from okta_magic.dpop import DPoPKey
from okta_magic.errors import AuthorizationDenied, ConfigError, LoginError, LoginTimeout, TokenExchangeError
from okta_magic.oauth.token_endpoint import DEVICE_CODE_GRANT, post_token
from okta_magic.tokens import InMemoryOnly, Secret

__all__ = ["DEVICE_CODE_GRANT", "DeviceAuthorization", "code_expired", "poll", "request_device_authorization"]

SLOW_DOWN_STEP = 5.0  # RFC 8628 §3.5: "the interval MUST be increased by 5 seconds"
DEFAULT_INTERVAL = 5.0  # RFC 8628 §3.2: default when the server sends none
DEFAULT_EXPIRES_IN = 600.0  # expires_in is REQUIRED (§3.2); used only if a server leaves it out
#: poll answers that mean "ask again" (§3.5), and the one that asks for a DPoP proof (RFC 9449 §5)
PENDING, SLOW_DOWN, NEEDS_DPOP = "authorization_pending", "slow_down", "invalid_dpop_proof"

_REFUSAL_HINTS = {  # RFC 8628 §3.2 / RFC 6749 §5.2 error of the device authorization request -> what to check
    "unauthorized_client": "enable the Device Authorization grant for the app in Okta Admin Console > "
    "Applications > the app > General",
    "invalid_client": "check the client id (Okta offers the device grant to native apps); an app with a "
    "client secret must send it too",
    "invalid_scope": "grant the scopes to the app in Okta Admin Console > Applications > the app > Okta "
    "API Scopes",
}


@dataclass(frozen=True)
class DeviceAuthorization(InMemoryOnly):
    """The device authorization response (RFC 8628 §3.2); ``device_code`` stays out of the repr."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "device_code", Secret(self.device_code))  # a credential until redeemed


def _seconds(value: object, default: float) -> float:
    """A positive number of seconds from a JSON number or numeric string, else ``default``."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return default
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if 0 < seconds < float("inf") else default


def request_device_authorization(
    metadata: ProviderMetadata, auth: ClientAuth, scopes: Sequence[str], http: httpx.Client, now: float
) -> DeviceAuthorization:
    """Ask for a device code and user code (RFC 8628 §3.1), authenticated as at the token endpoint.

    Raises:
        ConfigError: the provider has no device authorization endpoint.
        TokenExchangeError: the provider refused the request (e.g. grant not enabled for the app).
        LoginError: the answer lacks a required member.
        NetworkError.
    """
    endpoint = metadata.device_authorization_endpoint
    if not endpoint:
        raise ConfigError("This org does not offer the device authorization grant; sign in with the browser instead.")
    data = {"scope": " ".join(scopes)}
    headers = {"Accept": "application/json"}
    auth.apply(data, headers, endpoint, now)
    try:
        response = http.post(endpoint, data=data, headers=headers)
    except httpx.TransportError as exc:
        raise network_error(endpoint, exc) from None
    body: Any
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise _refusal(response.status_code, body, endpoint)
    if not body.get("verification_uri") and body.get("verification_url"):
        # the pre-RFC name some providers still send (Google), same meaning as RFC 8628 §3.2 verification_uri
        body["verification_uri"] = body["verification_url"]
    for required in ("device_code", "user_code", "verification_uri"):
        if not body.get(required):
            raise LoginError(f"The device authorization response has no {required}; try again.")
    complete = body.get("verification_uri_complete")  # OPTIONAL, RFC 8628 §3.2
    return DeviceAuthorization(
        device_code=str(body["device_code"]),
        user_code=str(body["user_code"]),
        verification_uri=str(body["verification_uri"]),
        verification_uri_complete=str(complete) if complete else None,
        expires_in=_seconds(body.get("expires_in"), DEFAULT_EXPIRES_IN),
        interval=max(_seconds(body.get("interval"), DEFAULT_INTERVAL), 1.0),
    )


def _refusal(status: int, body: object, endpoint: str) -> TokenExchangeError:
    """The structured error for a refused device authorization request (RFC 6749 §5.2 body, or a bare status)."""
    error = body.get("error") if isinstance(body, dict) else None
    description = body.get("error_description") if isinstance(body, dict) else None
    hint = _REFUSAL_HINTS.get(str(error), "check the app's settings in Okta Admin Console")
    desc = f" ({' '.join(str(description).split())})" if description else ""
    return TokenExchangeError(
        f"The device sign-in was refused: {error or f'HTTP {status}'}{desc}; {hint}.",
        error=str(error) if error else None,
        description=str(description) if description else None,
        endpoint=endpoint,
        grant=DEVICE_CODE_GRANT,
    )


def code_expired(user_code: str) -> LoginTimeout:
    """The device code expired before anyone completed the sign-in (RFC 8628 §3.5 ``expired_token``)."""
    error = LoginTimeout(f"The device code {user_code} expired before the sign-in was completed.")
    error.with_fix("device_again")
    return error


def poll(
    metadata: ProviderMetadata,
    auth: ClientAuth,
    authorization: DeviceAuthorization,
    http: httpx.Client,
    now: float,
    *,
    dpop: DPoPKey | None = None,
) -> dict[str, Any] | str:
    """One token poll (RFC 8628 §3.4): the token response, or why to ask again.

    Returns the token response body, or :data:`PENDING`, :data:`SLOW_DOWN` (add
    :data:`SLOW_DOWN_STEP` to the interval, §3.5) or :data:`NEEDS_DPOP` (the app requires
    DPoP and no proof was sent: poll again with a key, RFC 9449 §5).

    Raises:
        AuthorizationDenied: ``access_denied`` (§3.5).
        LoginTimeout: ``expired_token`` (§3.5).
        TokenExchangeError: any other refusal.
        NetworkError.
    """
    data = {"grant_type": DEVICE_CODE_GRANT, "device_code": authorization.device_code}
    try:
        return post_token(metadata, auth, data, http, now, dpop=dpop)
    except TokenExchangeError as exc:
        if exc.error in (PENDING, SLOW_DOWN) or (exc.error == NEEDS_DPOP and dpop is None):
            return str(exc.error)
        if exc.error == "access_denied":
            raise AuthorizationDenied(
                "The device sign-in was refused or cancelled (access_denied). If you did not cancel, ask an Okta "
                "admin to assign you to the app.",
                error="access_denied",
                description=exc.description,
            ) from None
        if exc.error == "expired_token":
            raise code_expired(authorization.user_code) from None
        raise
