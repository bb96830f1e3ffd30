"""``/oauth2/v1/authorize`` and its sign-in page: validate the request, sign a person in, redirect back.

RFC 6749 §4.1 (code) and §4.2 (implicit), RFC 7636 (PKCE, S256 only, required for
public clients, as Okta), OAuth 2.0 Form Post Response Mode, and Okta's documented
behaviour: the redirect URI matches exactly, port included; a bad client or redirect
URI gets an error page, any other error goes back to the redirect URI (§4.1.2.1).
The sandbox-only ``sandbox_user`` parameter signs a demo person in without the page.
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from okta_magic.sandbox import pages
from okta_magic.sandbox.data import DemoApp, DemoUser
from okta_magic.sandbox.oauth.clients import body_params, query_params
from okta_magic.sandbox.oauth.discovery import OKTA_RESPONSE_MODES, SANDBOX_RESPONSE_MODES
from okta_magic.sandbox.oauth.grants import CODE_LIFETIME, TXN_LIFETIME, AuthorizationTxn, CodeRecord
from okta_magic.sandbox.responses import NO_STORE
from okta_magic.sandbox.state import OrgState

_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}\Z")  # RFC 7636 §4.2: base64url(SHA-256), no padding
RESPONSE_TYPES = ("code", "token", "id_token", "id_token token")
IMPLICIT_TYPES = ("token", "id_token", "id_token token")
REDIRECT_MISMATCH = "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings"
INVALID_SCOPES = "One or more scopes are not configured for the authorization server resource."
# OSPEC OAuthError400UnsupportedResponseMode
UNSUPPORTED_MODE = (
    "The response mode isn't supported by the authorization server. "
    "Valid response modes: [`query`, `fragment`, `form_post`, `okta_post_message`]."
)

Refusal = tuple[str, str]  # (error, error_description) sent back to the redirect URI


def with_params(uri: str, params: dict[str, str | None], fragment: bool) -> str:
    """RFC 6749 §4.1.2: add to the redirect URI's query (keeping its own), or the fragment for implicit."""
    encoded = urlencode({k: v for k, v in params.items() if v is not None})
    if fragment:
        return f"{uri}#{encoded}"
    return f"{uri}{'&' if '?' in uri else '?'}{encoded}"


def deliver(uri: str, params: dict[str, str | None], mode: str) -> Response:
    """An authorization response in its response mode: a 302 (query or fragment) or a form_post page.

    OSPEC /authorize ``response_mode``: query and fragment redirects carry
    ``Referrer-Policy: no-referrer``; form_post follows OAuth 2.0 Form Post Response Mode.
    """
    if mode == "form_post":
        fields = {k: v for k, v in params.items() if v is not None}
        return HTMLResponse(pages.form_post_page(uri, fields), headers=dict(NO_STORE))
    return RedirectResponse(
        with_params(uri, params, mode == "fragment"), status_code=302, headers={"Referrer-Policy": "no-referrer"}
    )


def demo_user(org: OrgState, name: str) -> DemoUser | None:
    """The demo person a sign-in names: short username, or login or name in any case."""
    users = org.directory.demo_users
    if name in users:
        return users[name]
    lowered = name.lower()
    return next((u for u in users.values() if u.login.lower() == lowered or u.name == lowered), None)


def _bad_request_page(message: str, error_code: str) -> Response:
    """Okta's HTML error page: for errors that must not be sent to an unverified redirect URI."""
    return HTMLResponse(
        pages.error_page(title="400 Bad Request", message=message, error_code=error_code), status_code=400
    )


def _pkce_refusal(app: DemoApp, challenge: str | None, method: str | None) -> Refusal | None:
    """RFC 7636 §4.3 as Okta applies it: S256 only, and a challenge required of public clients."""
    if challenge is None and app.is_public:
        return (
            "invalid_request",
            "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.",
        )
    if challenge is None:
        return None
    if method is None:
        return "invalid_request", "PKCE code challenge method is required. Use S256."
    if method != "S256":
        return "invalid_request", f"PKCE code challenge method '{method}' is not supported. Use S256."
    if not _CHALLENGE.match(challenge):
        return (
            "invalid_request",
            "PKCE code challenge is invalid: it must be the base64url SHA-256 of the code verifier (43 characters).",
        )
    return None


def _refusal(app: DemoApp, params: dict[str, str], response_type: str, implicit: bool) -> Refusal | None:
    """The first thing wrong with a request whose client, redirect URI and mode are fine, in Okta's order."""
    if response_type not in RESPONSE_TYPES:
        return (
            "unsupported_response_type",
            "The response type is not supported by the authorization server. Configured response "
            f"types: {['code', 'token'] if 'implicit' in app.grant_types else ['code']}.",
        )
    if ("implicit" if implicit else "authorization_code") not in app.grant_types:
        return (
            "unauthorized_client",
            f"The client is not authorized to use the provided grant type. Configured grant types: {app.grant_types}.",
        )
    if not params.get("state"):
        return "invalid_request", "The authorization request is missing the 'state' parameter."
    scopes = params.get("scope", "").split()
    if not scopes:
        return "invalid_scope", "The authorization request must include the 'scope' parameter."
    if any(s not in app.scopes for s in scopes):
        return "invalid_scope", INVALID_SCOPES
    if "id_token" in response_type and ("openid" not in scopes or not params.get("nonce")):
        return "invalid_request", "An ID token request requires the 'openid' scope and a 'nonce'."
    if not implicit:
        refusal = _pkce_refusal(app, params.get("code_challenge"), params.get("code_challenge_method"))
        if refusal is not None:
            return refusal
    if params.get("prompt") == "none":
        return "login_required", "The client specified not to prompt, but the user is not logged in."
    return None


async def authorize(org: OrgState, request: Request) -> Response:
    """GET or POST /authorize: an error page, an error redirect, the sign-in page, or (sandbox_user) the answer."""
    params, duplicate = query_params(request)
    if request.method == "POST":
        form, duplicate_in_form = await body_params(request)
        params.update(form)
        duplicate = duplicate or duplicate_in_form
    app = org.clients.get(params.get("client_id", ""))
    if app is None:
        return _bad_request_page("Invalid value for 'client_id' parameter.", "invalid_client")
    redirect_uri = params.get("redirect_uri", "")
    # Okta matches the whole URI exactly, port included (no RFC 8252 §7.3 any-port rule).
    if redirect_uri not in app.redirect_uris:
        return _bad_request_page(REDIRECT_MISMATCH, "invalid_request")
    state = params.get("state")
    response_type = " ".join(sorted(params.get("response_type", "").split()))
    implicit = response_type in IMPLICIT_TYPES
    default_mode = "fragment" if implicit else "query"
    mode = params.get("response_mode") or default_mode

    def fail(error: str, description: str) -> Response:
        """RFC 6749 §4.1.2.1: the error goes back to the redirect URI, with ``state``."""
        return deliver(redirect_uri, {"error": error, "error_description": description, "state": state}, mode)

    if mode not in SANDBOX_RESPONSE_MODES:
        asked, mode = mode, default_mode
        if asked not in OKTA_RESPONSE_MODES:
            return fail("unsupported_response_mode", UNSUPPORTED_MODE)
        return fail("unsupported_response_mode", f"The sandbox org does not offer the '{asked}' response mode.")
    if duplicate:
        return fail("invalid_request", f"The '{duplicate}' parameter was sent more than once.")
    if mode == "query" and implicit:
        # OSPEC: "If id_token or token is specified in the response_type, then query isn't allowed."
        mode = "fragment"
        return fail(
            "invalid_request",
            "The 'response_mode' of 'query' is not allowed when the 'response_type' includes 'token' or 'id_token'.",
        )
    refusal = _refusal(app, params, response_type, implicit)
    if refusal is not None:
        return fail(*refusal)
    scopes = params.get("scope", "").split()
    txn = AuthorizationTxn(
        app,
        redirect_uri,
        response_type,
        mode,
        scopes,
        state,
        params.get("nonce"),
        params.get("code_challenge"),
        org.clock(),
    )
    unattended = params.get("sandbox_user")
    if unattended is not None:
        user = demo_user(org, unattended)
        if user is None:
            return fail(
                "access_denied",
                f"Unknown sandbox_user '{unattended}'. Use one of: {', '.join(org.directory.demo_users)}.",
            )
        return _complete(org, txn, user)
    txn_id = secrets.token_urlsafe(24)
    with org.grants.lock:
        org.grants.txns[txn_id] = txn
    return _sign_in(org, txn, txn_id, request=request)


def _sign_in(
    org: OrgState, txn: AuthorizationTxn, txn_id: str, error: str | None = None, username: str = "", status: int = 200,
    *, request: Request,
) -> Response:
    """The sign-in page of a transaction (again, with an error, after a wrong password)."""
    html = pages.sign_in_page(
        org_url=org.url,
        app_label=txn.app.label or txn.app.name,
        scopes=txn.scopes,
        txn=txn_id,
        users=org.directory.demo_users.values(),
        error=error,
        username=username,
        base=pages.base_path(request.headers.get("x-forwarded-context")),
    )
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def login(org: OrgState, request: Request) -> Response:
    """POST /authorize/login: the sign-in page's form; a good password completes the authorization."""
    form, _ = await body_params(request)
    txn_id = form.get("txn", "")
    with org.grants.lock:
        txn = org.grants.txns.get(txn_id)
    if txn is None or org.clock() - txn.created > TXN_LIFETIME:
        return HTMLResponse(
            pages.error_page(
                title="Sign-in expired",
                message="This sign-in page has expired. Start the sign-in again.",
                error_code="invalid_request",
            ),
            status_code=400,
        )
    if "cancel" in form:
        with org.grants.lock:
            org.grants.txns.pop(txn_id, None)
        cancelled = {"error": "access_denied", "error_description": "User cancelled the sign-in request."}
        return deliver(txn.redirect_uri, {**cancelled, "state": txn.state}, txn.response_mode)
    username = form.get("username", "").strip()
    user = demo_user(org, username)
    if user is None or not hmac.compare_digest(user.password.encode(), form.get("password", "").encode()):
        return _sign_in(
            org,
            txn,
            txn_id,
            error="Unable to sign in. Check the username and password (the demo passwords are listed below).",
            username=username,
            request=request,
        )
    with org.grants.lock:
        org.grants.txns.pop(txn_id, None)
    return _complete(org, txn, user)


def _complete(org: OrgState, txn: AuthorizationTxn, user: DemoUser) -> Response:
    """The redirect a successful sign-in produces (RFC 6749 §4.1.2 / §4.2.2)."""
    now = org.clock()
    if txn.response_type == "code":
        code = secrets.token_urlsafe(32)
        record = CodeRecord(
            txn.app.client_id,
            txn.redirect_uri,
            txn.scopes,
            user.id,
            txn.nonce,
            txn.code_challenge,
            now + CODE_LIFETIME,
            int(now),
        )
        with org.grants.lock:
            org.grants.codes[code] = record
        return deliver(txn.redirect_uri, {"code": code, "state": txn.state}, txn.response_mode)
    params: dict[str, str | None] = {}
    access = None
    if "token" in txn.response_type.split():
        access, grant = org.authority.mint_access_token(
            client_id=txn.app.client_id, scopes=txn.scopes, user_id=user.id, subject=user.login
        )
        lifetime = str(grant.expires_at - grant.claims["iat"])
        params.update(
            {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": " ".join(txn.scopes)}
        )
    if "id_token" in txn.response_type.split():
        params["id_token"] = org.authority.mint_id_token(
            client_id=txn.app.client_id,
            user=org.directory.users[user.id],
            nonce=txn.nonce,
            access_token=access,
            auth_time=int(now),
        )
    params["state"] = txn.state or ""
    return deliver(txn.redirect_uri, params, txn.response_mode)
