"""``/oauth2/v1/token``: the authorization code (with PKCE), refresh token and client credentials grants.

RFC 6749 §4.1.3, §6 and §4.4, RFC 7636 §4.6 (the verifier is checked against the
code's challenge), RFC 9449 (apps that require DPoP need a proof carrying the
server's nonce on every request), and Okta's rules: codes valid 300 s and single-use
(a reused code revokes what it produced), refresh tokens rotated on use, no OIDC
scopes in client credentials. The device code grant is ``device.poll``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.data import DemoApp
from okta_magic.sandbox.oauth.clients import client_form
from okta_magic.sandbox.oauth.device import poll
from okta_magic.sandbox.oauth.grants import DEVICE_GRANT, OIDC_SCOPES, CodeRecord
from okta_magic.sandbox.oauth.issue import token_response
from okta_magic.sandbox.responses import dpop_header, oauth_error
from okta_magic.sandbox.state import OrgState
from okta_magic.sandbox.tokens import DPoPRefused

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}\Z")  # RFC 7636 §4.1
INVALID_CODE = "The authorization code is invalid or has expired."
# OSPEC OAuthError400InvalidGrant_MismatchedClient
MISMATCHED_CLIENT = (
    "The grant was issued to another client. Ensure that the `client_id` matches the one used at the authorize request."
)
# Grants Okta's org AS knows: any other grant_type is unsupported_grant_type (RFC 6749 §5.2).
KNOWN_GRANTS = ("authorization_code", "refresh_token", "client_credentials", "password", DEVICE_GRANT)


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


def _nonce_header(org: OrgState) -> dict[str, str]:
    """RFC 9449 §8: the server's current DPoP nonce."""
    return {"DPoP-Nonce": org.authority.dpop_nonce}


async def token(org: OrgState, request: Request) -> Response:
    """POST /token: authenticate the client, check its grant type and DPoP proof, run the grant."""
    caller = await client_form(org, request)
    if isinstance(caller, Response):
        return caller
    form, client = caller
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return oauth_error("invalid_request", "The 'grant_type' parameter is required.")
    if grant_type not in KNOWN_GRANTS:
        # OSPEC OAuthError400UnsupportedGrantType
        return oauth_error("unsupported_grant_type", "The grant type in the request isn't supported.")
    if grant_type not in client.grant_types or grant_type == "implicit":
        return oauth_error(
            "unauthorized_client",
            "The client is not authorized to use the provided grant type. "
            f"Configured grant types: {client.grant_types}.",
        )
    jkt = None
    if client.dpop:
        # Okta's "Require DPoP" apps: a proof on every token request, carrying the server's nonce.
        try:
            jkt = org.authority.verify_dpop_proof(
                dpop_header(request), method="POST", url=f"{org.url}/oauth2/v1/token", need_nonce=True
            )
        except DPoPRefused as refused:
            return oauth_error(refused.error, refused.description, 400, _nonce_header(org))
    if grant_type == "authorization_code":
        response = _code_grant(org, client, form, jkt)
    elif grant_type == "refresh_token":
        response = _refresh_grant(org, client, form, jkt)
    elif grant_type == "client_credentials":
        response = _client_credentials(org, client, form, jkt)
    elif grant_type == DEVICE_GRANT:
        response = poll(org, client, form, jkt)
    else:
        return oauth_error("unsupported_grant_type", f"The grant type '{grant_type}' is not supported.")
    if client.dpop:
        response.headers.update(_nonce_header(org))
    return response


def _pkce_refusal(record: CodeRecord, verifier: str | None) -> Response | None:
    """RFC 7636 §4.6: recompute the challenge from the verifier and compare; None when they agree."""
    if record.code_challenge is None:
        if verifier is not None:
            return oauth_error(
                "invalid_grant", "PKCE verification failed: the authorization request had no code challenge."
            )
        return None
    if verifier is None:
        return oauth_error(
            "invalid_request",
            "PKCE code verifier is required when the authorization request included a code challenge.",
        )
    if not _VERIFIER.match(verifier):
        return oauth_error(
            "invalid_request",
            "PKCE code verifier must be 43 to 128 characters from [A-Z] / [a-z] / [0-9] / '-' / '.' / '_' / '~'.",
        )
    if not hmac.compare_digest(s256(verifier), record.code_challenge):
        return oauth_error("invalid_grant", "PKCE verification failed.")
    return None


def _code_grant(org: OrgState, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
    """RFC 6749 §4.1.3: a code for tokens, once, by the client it was issued to, with its redirect URI."""
    code = form.get("code", "")
    now = org.clock()
    with org.grants.lock:
        record = org.grants.codes.get(code)
        if record is None:
            return oauth_error("invalid_grant", INVALID_CODE)
        if record.client_id != app.client_id:
            # RFC 6749 §4.1.3: the code is bound to the client it was issued to.
            return oauth_error("invalid_grant", MISMATCHED_CLIENT)
        if record.used:
            # RFC 6749 §4.1.2: a code used twice revokes what it produced.
            org.authority.revoke_origin(code)
            return oauth_error("invalid_grant", INVALID_CODE)
        if now >= record.expires_at:
            return oauth_error("invalid_grant", INVALID_CODE)
        if form.get("redirect_uri") != record.redirect_uri:
            return oauth_error(
                "invalid_grant",
                "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
            )
        refused = _pkce_refusal(record, form.get("code_verifier"))
        if refused is not None:
            return refused
        record.used = True
    return token_response(
        org, app, record.scopes, record.user_id, nonce=record.nonce, auth_time=record.auth_time, origin=code, jkt=jkt
    )


def _refresh_grant(org: OrgState, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
    """RFC 6749 §6: a refresh token for new tokens; the old one stops working (rotation)."""
    presented = form.get("refresh_token", "")
    with org.grants.lock:
        record = org.grants.refresh.get(presented)
        if record is None or record.revoked or record.client_id != app.client_id or org.clock() >= record.expires_at:
            return oauth_error("invalid_grant", "The refresh token is invalid or expired.")
        scopes = record.scopes
        if form.get("scope"):
            asked = form["scope"].split()
            if any(s not in record.scopes for s in asked):
                return oauth_error("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
            scopes = asked if "offline_access" in asked else asked + ["offline_access"]
        # Rotation: the old refresh token stops working once used.
        record.revoked = True
    return token_response(org, app, scopes, record.user_id, jkt=jkt)


def _client_credentials(org: OrgState, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
    """RFC 6749 §4.4: the service app's own token, for API scopes only (Okta refuses OIDC scopes here)."""
    scopes = form.get("scope", "").split()
    if not scopes:
        return oauth_error(
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        )
    if any(s in OIDC_SCOPES for s in scopes):
        return oauth_error(
            "invalid_scope",
            "The following scopes are not allowed: " + ", ".join(s for s in scopes if s in OIDC_SCOPES),
        )
    if any(s not in app.scopes for s in scopes):
        return oauth_error(
            "invalid_scope",
            "The following scopes are not allowed: " + ", ".join(s for s in scopes if s not in app.scopes),
        )
    return token_response(org, app, scopes, None, allow_refresh=False, jkt=jkt)
