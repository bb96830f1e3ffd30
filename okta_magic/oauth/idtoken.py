"""ID token validation (OpenID Connect Core 1.0 §3.1.3.7, and §12.2 for a refreshed one).

Owns: the checks a client makes on an ID token it received from the token endpoint: the
signature algorithm (one the provider advertises and this client can check), the signature
(the provider's JWKS, or the client secret for HS*), then ``iss``, ``aud``, ``azp``, ``exp``,
``iat`` and ``nonce``. Errors say which check failed, never the token, and carry the fix key
``sign_in_again``; ``advice.py`` words it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from typing import Any

from okta_magic import pkce
from okta_magic.oauth.discovery import normalize_issuer
from okta_magic.errors import LoginError, TokenExchangeError
from okta_magic.tokens import decode_jwt_claims

__all__ = ["IdTokenTimeError", "check_id_token", "check_refreshed_id_token", "id_token_alg", "id_token_signature_checked"]

#: JWS algorithms verified with the provider's published keys (RFC 7518 §3.1; OIDC Core §10.1)
_ASYMMETRIC_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
_HMAC_ALGS = frozenset({"HS256", "HS384", "HS512"})
#: claims PyJWT leaves to us: the checks below word their own failures
_SIGNATURE_ONLY = {"verify_aud": False, "verify_exp": False, "verify_iat": False, "verify_nbf": False}


class IdTokenTimeError(LoginError):
    """An ID token that failed only a time check (exp or iat against this machine's clock): a clock matter."""


def _refused(message: str) -> LoginError:
    """A failed check: what failed, and the fix key that says to sign in again."""
    error = LoginError(message)
    error.with_fix("sign_in_again")
    return error


def id_token_alg(id_token: str) -> str | None:
    """The ``alg`` of an ID token's JWS header, or ``None`` when it cannot be read."""
    segment = id_token.split(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    alg = header.get("alg") if isinstance(header, dict) else None
    return str(alg) if alg is not None else None


def check_id_token(
    id_token: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    now: float,
    jwks: Mapping[str, Any] | None = None,
    client_secret: str | None = None,
    leeway: float = 300.0,
    algorithms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Check an ID token (OIDC Core §3.1.3.7): its algorithm, signature, iss, aud, azp, exp, iat and nonce.

    The ``alg`` must be one the provider advertises (``algorithms``, its
    ``id_token_signing_alg_values_supported``; RS256 when it advertises none, the OIDC default)
    and one this client can check: an HS* signature is keyed with the client secret (OIDC Core
    §10.1), so only a confidential client accepts it, and verifies it; an asymmetric one
    (RS/PS/ES/EdDSA) is verified with ``jwks``, or left to TLS when the provider publishes no keys,
    as the token came straight from the token endpoint (§3.1.3.7 item 6). ``alg: none`` is refused.
    ``iat`` must be present and not later than now plus ``leeway`` (clock skew). ``nonce`` None
    skips the nonce check (no nonce was sent: a device sign-in, a refresh). Returns the claims.

    Raises:
        LoginError: a check failed (the message names which one, never the token).
    """
    claims = decode_jwt_claims(id_token)
    if claims is None:
        raise _refused("The ID token is not a JWT.")
    alg = _checked_alg(id_token, client_secret, algorithms)
    if alg in _HMAC_ALGS:
        _verify_hmac(id_token, alg, client_secret or "")
    elif jwks is not None:
        _verify_signature(id_token, alg, jwks)
    _check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now, leeway=leeway)
    return claims


def _checked_alg(id_token: str, client_secret: str | None, algorithms: Sequence[str] | None) -> str:
    """The token's ``alg``, once it is one this client can check and the provider advertises (OIDC Core §10.1)."""
    alg = id_token_alg(id_token)
    if alg is None or (alg not in _ASYMMETRIC_ALGS and alg not in _HMAC_ALGS):
        raise _refused(f"The ID token uses an unsupported signature algorithm ({alg}).")
    if alg in _HMAC_ALGS and not client_secret:
        # OIDC Core §10.1: the HMAC key is the client secret, which a public client does not have.
        raise _refused(f"The ID token is signed with {alg}, which only an app with a client secret can check, and "
                       "this sign-in has none (public client); it was refused. Ask the provider to sign ID tokens "
                       "with RS256.")
    advertised = tuple(algorithms or ()) or ("RS256",)
    if alg not in advertised:
        raise _refused(f"The ID token is signed with {alg}, which the provider does not advertise "
                       f"(id_token_signing_alg_values_supported: {', '.join(advertised)}); it was refused.")
    return alg


def _check_claims(
    claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str | None, now: float, leeway: float
) -> None:
    """OIDC Core §3.1.3.7 items 2-5 and 9-11: iss, aud, azp, exp, iat and nonce."""

    def fail(what: str) -> LoginError:
        return _refused(f"The ID token failed its {what} check.")

    if claims.get("iss") != normalize_issuer(issuer) and claims.get("iss") != issuer:
        raise fail("issuer")
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if client_id not in audiences:
        raise fail("audience")
    azp = claims.get("azp")
    # items 4-5: with several audiences azp names the client; when present it must be us
    if (azp is not None or len(audiences) > 1) and azp != client_id:
        raise fail("authorized party (azp)")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        raise fail("expiry")
    if exp + leeway < now:
        raise IdTokenTimeError("The ID token failed its expiry check.").with_fix("sign_in_again")
    iat = claims.get("iat")
    # OIDC Core §2: iat is REQUIRED; item 10: one issued in the future (beyond clock skew) is refused
    if not isinstance(iat, (int, float)) or isinstance(iat, bool):
        raise fail("issued-at (iat)")
    if iat > now + leeway:
        raise IdTokenTimeError(f"The ID token failed its issued-at (iat) check: it was issued {(iat - now) / 60:.0f} "
                               "min in the future by this machine's clock; check the clock.").with_fix("sign_in_again")
    if nonce is not None and not pkce.states_equal(nonce, claims.get("nonce")):
        raise fail("nonce")


def check_refreshed_id_token(fresh: str, first: str, **checks: Any) -> dict[str, Any]:
    """OIDC Core §12.2: a refreshed ID token passes the usual checks and names the same issuer and subject.

    ``checks`` are :func:`check_id_token`'s keyword arguments (``nonce`` is not sent on a refresh).
    """
    claims = check_id_token(fresh, nonce=None, **checks)
    before = decode_jwt_claims(first) or {}
    if claims.get("sub") != before.get("sub") or claims.get("iss") != before.get("iss"):
        refused = TokenExchangeError("The refreshed ID token names another user than the sign-in did; the refresh was "
                                     "refused.", grant="refresh_token")
        refused.with_fix("sign_in_again")
        raise refused
    return claims


def id_token_signature_checked(id_token: str, jwks: Mapping[str, Any] | None, client_secret: str | None) -> bool:
    """Whether :func:`check_id_token` verified this token's signature with these keys (for display)."""
    alg = id_token_alg(id_token)
    return bool(client_secret) if alg in _HMAC_ALGS else jwks is not None


def _verify_hmac(id_token: str, alg: str, client_secret: str) -> None:
    """Verify an HS* signature keyed with the client secret (OIDC Core §10.1)."""
    import jwt  # lazy: keeps `import okta_magic` fast

    try:
        jwt.decode(id_token, client_secret.encode("utf-8"), algorithms=[alg], options=_SIGNATURE_ONLY)
    except jwt.InvalidSignatureError:
        raise _refused("The ID token signature is invalid.") from None
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise _refused(f"The ID token could not be verified ({type(exc).__name__}).") from None


def _verify_signature(id_token: str, alg: str, jwks: Mapping[str, Any]) -> None:
    """Verify an asymmetric signature with one of the provider's published keys (OIDC Core §10.1.1)."""
    import jwt  # lazy: keeps `import okta_magic` fast

    try:
        header = jwt.get_unverified_header(id_token)
        keyset = jwt.PyJWKSet.from_dict(dict(jwks))
    except jwt.PyJWTError as exc:
        raise _refused(f"The ID token could not be verified ({type(exc).__name__}).") from None
    # RFC 7517 §4.2: keys marked for encryption never sign; with a kid, only that key (OIDC Core §10.1.1)
    candidates = [k for k in keyset.keys if k.public_key_use in (None, "sig") and header.get("kid") in (None, k.key_id)]
    if not candidates:
        raise _refused("The ID token is signed with a key the provider does not publish.")
    failure: str | None = None
    for key in candidates:
        try:
            jwt.decode(id_token, key.key, algorithms=[alg], options=_SIGNATURE_ONLY)
            return
        except jwt.InvalidSignatureError:
            continue
        except (jwt.PyJWTError, TypeError, ValueError) as exc:
            # a key of another type (an EC key for an RS256 token) cannot verify it; try the next one
            failure = failure or type(exc).__name__
    if failure is not None and len(candidates) == 1:
        raise _refused(f"The ID token could not be verified ({failure}).")
    raise _refused("The ID token signature is invalid.")
