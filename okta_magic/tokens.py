"""Access tokens held in kernel memory, and keeping them fresh.

Owns: :class:`Token` (a frozen value whose secrets never appear in its repr,
str or summary), building one from a token endpoint response (RFC 6749 §5.1),
from a pasted access token or from an SSWS API key, and :class:`TokenKeeper`,
which refreshes a token shortly before it expires when a refresh token exists.
It does not talk HTTP: the refresh itself is a callable passed in (see
``token_endpoint.refresher``).

Okta says org authorization server access tokens are "not for client
validation" and their contents may change, so :meth:`Token.claims` decodes the
payload for display only; expiry comes from ``expires_in`` whenever we have it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from okta_magic.config import origin_of
from okta_magic.errors import LoginError, OktaMagicError, TokenExpired
from okta_magic.held import InMemoryOnly, Secret, mask_secret, secret

if TYPE_CHECKING:
    from okta_magic.dpop import DPoPKey

__all__ = ["InMemoryOnly", "Secret", "Token", "TokenKeeper", "decode_jwt_claims", "front_channel_parameters",
           "mask_secret", "refresh_if_needed", "secret"]

log = logging.getLogger(__name__)

TokenType = Literal["Bearer", "SSWS", "DPoP"]

#: seconds before expiry at which a token counts as expired (clock skew, request time)
DEFAULT_SKEW = 30.0
#: seconds before expiry at which a TokenKeeper refreshes
DEFAULT_LEEWAY = 300.0


def _b64url_decode(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_jwt_claims(value: str) -> dict[str, Any] | None:
    """The payload of a compact JWS without verifying its signature, or ``None`` if not a JWT.

    For display and expiry hints only: nothing here proves who issued the token.
    """
    parts = value.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(_b64url_decode(parts[1]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def front_channel_parameters(text: str) -> dict[str, str] | None:
    """The parameters of a pasted redirect URL (or its ``#fragment``) that carries an access token, else None.

    Only a response type that issues the token at the authorization endpoint puts ``access_token``
    in the redirect (the implicit flow, RFC 6749 §4.2.2, and hybrid ones); the authorization code
    flow never does. A bare token says nothing about how it was obtained.
    """
    from urllib.parse import parse_qs, urlsplit

    text = text.strip()
    if "access_token=" not in text:
        return None
    parts = urlsplit(text)
    for candidate in (parts.fragment, parts.query, text.lstrip("#?")):
        values = parse_qs(candidate, keep_blank_values=True)
        token = values.get("access_token", [""])[0].strip()
        if token:
            return {name: found[0] for name, found in values.items()}
    return None


def _scope_tuple(value: object) -> tuple[str, ...]:
    """Scopes from a space-separated string (RFC 6749 §3.3) or a JSON list (Okta's ``scp``)."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, (list, tuple)):
        return tuple(str(s) for s in value)
    return ()


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _expiry(expires_in: object, now: float) -> float | None:
    """``now + expires_in`` (RFC 6749 §5.1, RECOMMENDED, so it may be absent); ``None`` when
    absent or not a number of seconds. Some servers send it as a JSON string ("3600")."""
    if isinstance(expires_in, bool) or not isinstance(expires_in, (int, float, str)):
        return None
    try:
        seconds = float(expires_in)
    except ValueError:
        log.debug("ignoring a non-numeric expires_in in the token response")
        return None
    return now + seconds if math.isfinite(seconds) else None


def _clock_time(epoch: float) -> str:
    return time.strftime("%H:%M", time.localtime(epoch))


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@dataclass(frozen=True)
class Token(InMemoryOnly):
    """An access token and what we know about it.

    The secret fields (``access_token``, ``refresh_token``, ``id_token``) are left out
    of the dataclass repr; ``repr``/``str`` show a masked one-line description.
    :meth:`authorization_header` is the only method that returns a secret.
    Times are epoch seconds; ``expires_at`` is ``None`` when unknown (SSWS keys,
    pasted opaque tokens).
    """

    access_token: str = field(repr=False)
    token_type: TokenType = "Bearer"
    issued_at: float | None = None
    expires_at: float | None = None
    scopes_granted: tuple[str, ...] = ()
    scopes_requested: tuple[str, ...] = ()
    refresh_token: str | None = field(default=None, repr=False)
    id_token: str | None = field(default=None, repr=False)
    issuer: str | None = None
    client_id: str | None = None
    # The key a DPoP-bound token (token_type DPoP, RFC 9449) is bound to; every request signs a proof with it.
    dpop_key: DPoPKey | None = field(default=None, repr=False, compare=False)
    # The origin (RFC 6454, ``scheme://host:port``) of the org the token was issued for: the only one it is sent to.
    org: str | None = None

    def __post_init__(self) -> None:
        # The secrets are held as Secret: their repr is masked wherever they travel (locals, dicts, tracebacks).
        for name in ("access_token", "refresh_token", "id_token"):
            object.__setattr__(self, name, secret(getattr(self, name)))

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_token_response(
        cls,
        body: Mapping[str, Any],
        *,
        issuer: str | None,
        client_id: str | None,
        scopes_requested: Sequence[str],
        now: float,
        previous: Token | None = None,
        scopes_if_omitted: Sequence[str] | None = None,
        dpop_key: DPoPKey | None = None,
    ) -> Token:
        """Build a token from a successful token endpoint response (RFC 6749 §5.1).

        ``scope`` absent (or null) means exactly the requested scopes were granted (§5.1);
        ``scopes_if_omitted`` overrides that (a refresh that asked for no scope keeps the
        scopes originally granted, §6). On a refresh, pass ``previous``: a response without
        ``refresh_token`` keeps the old one (RFC 6749 §6), and ``id_token`` likewise.
        ``token_type`` is case-insensitive (§5.1); unknown extra members are ignored.
        ``dpop_key`` is the key whose proofs the request carried (a DPoP token is bound to it).

        Raises:
            LoginError: the response has no ``access_token`` or an unknown ``token_type``.
        """
        access_token = body.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise LoginError("The token endpoint answered without an access token.").with_fix("sign_in_again")
        raw_type = str(body.get("token_type", "Bearer"))
        token_type = {"bearer": "Bearer", "dpop": "DPoP"}.get(raw_type.lower())
        if token_type is None:
            raise LoginError(f"The token endpoint returned an unsupported token type {raw_type!r}; expected Bearer.")
        dpop_key = dpop_key or (previous.dpop_key if previous else None)
        if token_type == "DPoP" and dpop_key is None:
            raise LoginError("The token endpoint returned a DPoP-bound token for a request without a DPoP proof; "
                             "the token cannot be used.").with_fix("sign_in_again")
        expires_at = _expiry(body.get("expires_in"), now)
        if body.get("scope") is not None:
            granted = _scope_tuple(body["scope"])
        else:
            granted = tuple(scopes_requested if scopes_if_omitted is None else scopes_if_omitted)
        refresh_token = _text(body.get("refresh_token")) or (previous.refresh_token if previous else None)
        id_token = _text(body.get("id_token")) or (previous.id_token if previous else None)
        return cls(
            access_token=access_token,
            token_type=token_type,  # type: ignore[arg-type]
            issued_at=now,
            expires_at=expires_at,
            scopes_granted=granted,
            scopes_requested=tuple(scopes_requested),
            refresh_token=refresh_token,
            id_token=id_token,
            issuer=issuer,
            client_id=client_id,
            dpop_key=dpop_key if token_type == "DPoP" else None,
            org=previous.org if previous else None,  # a refresh stays with the org that issued the token
        )

    @classmethod
    def from_access_token(cls, access_token: str, issuer: str | None = None, *, now: float | None = None) -> Token:
        """Wrap an access token pasted by the user (e.g. from another tool).

        If it is a JWT, expiry, scopes, client and issuer are read from its claims
        (unverified); otherwise they stay unknown. A pasted redirect URL carrying the token
        (:func:`front_channel_parameters`) gives the token, and its ``expires_in`` and ``scope``
        where the claims say nothing.
        """
        redirect = front_channel_parameters(access_token) or {}
        access_token = redirect.get("access_token", access_token).strip()
        if access_token.lower().startswith("bearer "):
            access_token = access_token[7:].strip()
        claims = decode_jwt_claims(access_token) or {}
        exp, iat = claims.get("exp"), claims.get("iat")
        expires_at = float(exp) if isinstance(exp, (int, float)) else None
        if expires_at is None and "expires_in" in redirect:
            expires_at = _expiry(redirect["expires_in"], time.time() if now is None else now)
        return cls(
            access_token=access_token,
            token_type="Bearer",
            issued_at=float(iat) if isinstance(iat, (int, float)) else None,
            expires_at=expires_at,
            scopes_granted=_scope_tuple(claims.get("scp", claims.get("scope", redirect.get("scope")))),
            issuer=issuer or (str(claims["iss"]) if "iss" in claims else None),
            client_id=str(claims["cid"]) if "cid" in claims else None,
        )

    @classmethod
    def from_api_token(cls, api_token: str, issuer: str | None = None) -> Token:
        """Wrap an Okta API token (``Authorization: SSWS ...``); it has no expiry and no scopes."""
        api_token = api_token.strip()
        if api_token.upper().startswith("SSWS "):
            api_token = api_token[5:].strip()
        return cls(access_token=api_token, token_type="SSWS", issuer=issuer)

    def for_org(self, org_url: str) -> Token:
        """This token bound to the org at ``org_url`` (its origin); a token bound to another org is refused.

        Raises:
            LoginError: the token was issued for another org.
        """
        origin = origin_of(org_url)
        if self.org is not None and self.org != origin:
            raise LoginError(f"This token was issued for {self.org}, not {origin}; it is sent to its own org only.")
        return self if self.org == origin else replace(self, org=origin)

    def sent_to(self, org_url: str) -> bool:
        """True when requests to ``org_url`` may carry this token: it is bound to that org's origin."""
        return self.org is not None and self.org == origin_of(org_url)

    # -- questions ------------------------------------------------------------------

    def claims(self) -> dict[str, Any] | None:
        """The access token's JWT payload, NOT verified; ``None`` for opaque tokens and SSWS keys.

        For display only: Okta does not support validating org AS tokens in clients.
        """
        if self.token_type == "SSWS":
            return None
        return decode_jwt_claims(self.access_token)

    def id_token_claims(self) -> dict[str, Any] | None:
        """The ID token's payload (checked for iss/aud/nonce at sign-in, decoded again here)."""
        return decode_jwt_claims(self.id_token) if self.id_token else None

    @property
    def subject(self) -> str | None:
        """Who signed in: the access token's ``sub``, else the ID token's (opaque access tokens, RFC 6749 §1.4)."""
        sub = (self.claims() or {}).get("sub") or (self.id_token_claims() or {}).get("sub")
        return str(sub) if sub is not None else None

    def expires_in(self, now: float) -> float | None:
        """Seconds until expiry (negative once expired), or ``None`` if unknown."""
        return None if self.expires_at is None else self.expires_at - now

    def is_expired(self, now: float, skew: float = DEFAULT_SKEW) -> bool:
        """True when the token expires within ``skew`` seconds; unknown expiry is never expired."""
        return self.expires_at is not None and now >= self.expires_at - skew

    @property
    def can_refresh(self) -> bool:
        """True when a refresh token is held."""
        return bool(self.refresh_token)

    def authorization_header(self) -> str:
        """The ``Authorization`` header value, e.g. ``Bearer eyJ...`` or ``SSWS 00a...``.

        This is the ONLY method that returns the secret; never print or log its result
        (its repr is masked, its text is not).
        """
        return Secret(f"{self.token_type} {self.access_token}")

    def summary(self, now: float) -> dict[str, Any]:
        """Safe facts for display: no secret, only decoded (unverified) claims."""
        claims = self.claims() or {}
        remaining = self.expires_in(now)
        return {
            "token_type": self.token_type,
            "access_token": mask_secret(self.access_token),
            "issuer": self.issuer or claims.get("iss"),
            "client_id": self.client_id or claims.get("cid"),
            "subject": self.subject,
            "user_id": claims.get("uid"),
            "scopes_granted": list(self.scopes_granted),
            "scopes_requested": list(self.scopes_requested),
            "scopes_not_granted": [s for s in self.scopes_requested if s not in self.scopes_granted],
            "issued_at": _iso(self.issued_at),
            "expires_at": _iso(self.expires_at),
            "expires_in_seconds": None if remaining is None else int(remaining),
            "expired": self.is_expired(now, skew=0),
            "refresh_token": "held" if self.refresh_token else "none",
            "id_token": "held" if self.id_token else "none",
            "claims_unverified": {k: v for k, v in claims.items() if k not in {"jti"}},
        }

    def __repr__(self) -> str:
        scopes = " ".join(self.scopes_granted) or "?"
        expiry = self._expiry_phrase(time.time())
        return f"Token({self.token_type} {mask_secret(self.access_token)}, scopes={scopes}, {expiry})"

    __str__ = __repr__

    def _expiry_phrase(self, now: float) -> str:
        remaining = self.expires_in(now)
        if remaining is None:
            return "no expiry known"
        if remaining <= 0:
            return f"expired at {_clock_time(self.expires_at or now)}"
        return f"expires in {max(1, round(remaining / 60))} min"

    def _lifetime_words(self) -> str:
        """How long the token was issued for, as in "one-hour" (Okta's), "2-minute" or "90-second"."""
        if self.issued_at is None or self.expires_at is None or round(self.expires_at - self.issued_at) == 3600:
            return "one-hour"
        seconds = max(0, round(self.expires_at - self.issued_at))
        return f"{seconds // 60}-minute" if seconds % 60 == 0 and seconds else f"{seconds}-second"

    def expired_error(self, reason: str | None = None) -> TokenExpired:
        """The one-line TokenExpired a user sees when this token can no longer be used."""
        at = _clock_time(self.expires_at) if self.expires_at is not None else "an unknown time"
        because = f" and could not be refreshed ({reason})" if reason else ""
        error = TokenExpired(f"The {self._lifetime_words()} access token expired at {at}{because}.")
        error.with_fix("sign_in_again")
        return error


def refresh_if_needed(
    token: Token,
    refresher: Callable[[Token], Token] | None,
    *,
    now: float,
    leeway: float = DEFAULT_LEEWAY,
) -> Token:
    """Return ``token``, or a refreshed one if it expires within ``leeway`` seconds (a quarter of a shorter lifetime).

    A failed refresh keeps the old token while it is still valid (it is retried
    on the next call).

    Raises:
        TokenExpired: the token has expired and cannot be refreshed.
    """
    if token.issued_at is not None and token.expires_at is not None:
        # a short-lived token (a sandbox lesson's) is refreshed in its last quarter, not at once
        leeway = min(leeway, max(0.0, token.expires_at - token.issued_at) / 4)
    if token.expires_at is None or now < token.expires_at - leeway:
        return token
    if refresher is not None and token.refresh_token:
        try:
            return refresher(token)
        except OktaMagicError as exc:
            if not token.is_expired(now):
                log.warning("token refresh failed, the current token is still valid: %s", exc)
                return token
            raise token.expired_error(getattr(exc, "error", None) or "refresh refused") from exc
    if token.is_expired(now):
        raise token.expired_error()
    return token


class TokenKeeper(InMemoryOnly):
    """Holds the current token and refreshes it before expiry (thread-safe).

    Args:
        token: the token obtained at sign-in.
        refresher: called with the current token to get a new one (``token_endpoint.refresher(...)``);
            ``None`` when the token cannot be refreshed.
        clock: epoch seconds now.
        leeway: refresh this many seconds before expiry.
        on_refresh: called with the new token after each successful refresh.
    """

    def __init__(
        self,
        token: Token,
        refresher: Callable[[Token], Token] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        leeway: float = DEFAULT_LEEWAY,
        on_refresh: Callable[[Token], None] | None = None,
    ) -> None:
        self._token = token
        self._refresher = refresher
        self._clock = clock
        self._leeway = leeway
        self._on_refresh = on_refresh
        self._lock = threading.Lock()

    @property
    def token(self) -> Token:
        """The token held now, without refreshing."""
        return self._token

    def current(self) -> Token:
        """The token to use for the next request, refreshed first if it is about to expire.

        Raises:
            TokenExpired: it expired and there is no (working) refresh token.
        """
        with self._lock:
            before = self._token
            self._token = refresh_if_needed(before, self._refresher, now=self._clock(), leeway=self._leeway)
            changed = self._token is not before
        if changed and self._on_refresh is not None:
            self._on_refresh(self._token)
        return self._token

    def renew(self, refused: str) -> Token | None:
        """The token to retry with after the org refused the Authorization value ``refused`` (401 invalid_token).

        Another request may have refreshed it already (that token is returned); otherwise it is refreshed
        now, whatever its expiry says (revoked, expired early, clock skew). None when it cannot be refreshed
        or the refresh is refused: the 401 stands and the user is told to sign in again.
        """
        with self._lock:
            current = self._token
            if current.authorization_header() != refused:
                return current
            if self._refresher is None or not current.refresh_token:
                return None
            try:
                fresh = self._refresher(current)
            except OktaMagicError as exc:
                log.warning("the org refused the access token and the refresh failed too: %s", exc)
                return None
            self._token = fresh
        if self._on_refresh is not None:
            self._on_refresh(fresh)
        return fresh

    def replace(self, token: Token) -> None:
        """Swap in a token obtained elsewhere (a new sign-in)."""
        with self._lock:
            self._token = token

    def __repr__(self) -> str:
        return (
            f"TokenKeeper({self._token!r}, refresh={'yes' if self._refresher and self._token.refresh_token else 'no'})"
        )
