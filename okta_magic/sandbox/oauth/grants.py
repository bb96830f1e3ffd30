"""What the authorization server holds between requests: sign-ins in progress, codes, refresh tokens, devices.

One ``Grants`` per org, shared by the endpoint modules under one lock, plus the
vocabulary they share (grant type names, OIDC scopes, lifetimes). Access and ID
tokens themselves are JWTs kept by ``okta_magic.sandbox.tokens``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from okta_magic.sandbox.data import DemoApp

CODE_LIFETIME = 300  # Okta: "The authorization code is valid for 300 seconds" (OAuth spec, token endpoint)
REFRESH_LIFETIME = 90 * 86400  # Okta KB: refresh tokens last 90 days on the org AS
DEVICE_LIFETIME = 600
DEVICE_INTERVAL = 5
TXN_LIFETIME = 600
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"  # RFC 8628 §3.4
OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")


@dataclass
class AuthorizationTxn:
    """An authorization request waiting for a person to sign in."""

    app: DemoApp
    redirect_uri: str
    response_type: str
    response_mode: str
    scopes: list[str]
    state: str | None
    nonce: str | None
    code_challenge: str | None
    created: float


@dataclass
class CodeRecord:
    """An authorization code (RFC 6749 §4.1.2): single-use, bound to its client, redirect URI and PKCE challenge."""

    client_id: str
    redirect_uri: str
    scopes: list[str]
    user_id: str
    nonce: str | None
    code_challenge: str | None
    expires_at: float
    auth_time: int
    used: bool = False


@dataclass
class RefreshRecord:
    """A refresh token (RFC 6749 §6), rotated on use, with the access token it was issued beside."""

    client_id: str
    scopes: list[str]
    user_id: str
    expires_at: float
    access_jti: str
    revoked: bool = False


@dataclass
class DeviceRecord:
    """A device authorization (RFC 8628 §3.2) waiting for a person to approve or deny it."""

    client_id: str
    scopes: list[str]
    user_code: str
    expires_at: float
    interval: int = DEVICE_INTERVAL
    last_poll: float | None = None
    user_id: str | None = None
    denied: bool = False
    consumed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Grants:
    """Every grant in flight in one org; change them only while holding ``lock``."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    txns: dict[str, AuthorizationTxn] = field(default_factory=dict)
    codes: dict[str, CodeRecord] = field(default_factory=dict)
    refresh: dict[str, RefreshRecord] = field(default_factory=dict)
    devices: dict[str, DeviceRecord] = field(default_factory=dict)
    user_codes: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Grants(codes={len(self.codes)}, refresh={len(self.refresh)}, devices={len(self.devices)})"
