"""The sandbox's Org Authorization Server: discovery, authorize + sign-in, token, revoke, keys,
userinfo, introspect, device authorization and activation, logout.

Follows RFC 6749 (authorization code, implicit, refresh, client credentials; §4.1.2.1
error redirects, §5.1/§5.2 token responses), RFC 7636 (PKCE, S256 only, as Okta),
RFC 7523 (private_key_jwt client assertions), RFC 7009 (revocation), RFC 7662
(introspection), RFC 8628 (device grant), RFC 8414 / OIDC Discovery, and Okta's
documented behaviour: exact redirect URI match (port included), codes valid 300 s
and single-use, one-hour access tokens. The sandbox-only ``sandbox_user`` parameter
signs a demo person in without the page (documented in docs/sandbox.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

import jwt
import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from okta_magic.sandbox import pages
from okta_magic.sandbox.api import dpop_header, error_body
from okta_magic.sandbox.data import DemoApp, DemoUser
from okta_magic.sandbox.state import OrgState
from okta_magic.sandbox.tokens import DPoPRefused

CODE_LIFETIME = 300  # Okta: "The authorization code is valid for 300 seconds" (OAuth spec, token endpoint)
REFRESH_LIFETIME = 90 * 86400  # Okta KB: refresh tokens last 90 days on the org AS
DEVICE_LIFETIME = 600
DEVICE_INTERVAL = 5
TXN_LIFETIME = 600
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OIDC_SCOPES = ("openid", "profile", "email", "address", "phone", "offline_access")
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}\Z")  # RFC 7636 §4.1
_CHALLENGE = re.compile(r"[A-Za-z0-9\-_]{43}\Z")  # base64url(SHA-256), no padding
REDIRECT_MISMATCH = "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings"
INVALID_SCOPES = "One or more scopes are not configured for the authorization server resource."
INVALID_CODE = "The authorization code is invalid or has expired."
# OSPEC OAuthError400InvalidGrant_MismatchedClient
MISMATCHED_CLIENT = (
    "The grant was issued to another client. Ensure that the `client_id` matches the one used at the authorize request."
)
# OSPEC OAuthError400InvalidRequest_MultipleClientCreds
MULTIPLE_CREDENTIALS = (
    "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, "
    "credentials in the post body, or a `client_assertion` in the post body."
)
# OSPEC ResponseMode: the modes Okta accepts; the sandbox answers the first three.
OKTA_RESPONSE_MODES = ("query", "fragment", "form_post", "okta_post_message")
SANDBOX_RESPONSE_MODES = ("query", "fragment", "form_post")
# Grants Okta's org AS knows: any other grant_type is unsupported_grant_type (RFC 6749 §5.2).
KNOWN_GRANTS = ("authorization_code", "refresh_token", "client_credentials", "password", DEVICE_GRANT)


def s256(verifier: str) -> str:
    """RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier)))."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode("ascii")


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
    client_id: str
    scopes: list[str]
    user_id: str
    expires_at: float
    access_jti: str
    revoked: bool = False


@dataclass
class DeviceRecord:
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


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def oauth_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    """RFC 6749 §5.2 error body; token responses are never cached (§5.1)."""
    merged = {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})}
    return json_response({"error": error, "error_description": description}, status, merged)


def single_params(pairs: dict[str, list[str]]) -> tuple[dict[str, str], str | None]:
    """Parameters as single values; RFC 6749 §3.1: a parameter must not be sent more than once."""
    duplicate = next((name for name, values in pairs.items() if len(values) > 1), None)
    return {name: values[0] for name, values in pairs.items()}, duplicate


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
        return HTMLResponse(
            pages.form_post_page(uri, fields), headers={"Cache-Control": "no-store", "Pragma": "no-cache"}
        )
    return RedirectResponse(
        with_params(uri, params, mode == "fragment"), status_code=302, headers={"Referrer-Policy": "no-referrer"}
    )


class AuthorizationServer:
    """The Org AS routes of one sandbox org."""

    def __init__(self, state: OrgState) -> None:
        self.s = state
        self._lock = threading.Lock()
        self._txns: dict[str, AuthorizationTxn] = {}
        self._codes: dict[str, CodeRecord] = {}
        self._refresh: dict[str, RefreshRecord] = {}
        self._devices: dict[str, DeviceRecord] = {}
        self._user_codes: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"AuthorizationServer(issuer={self.s.url!r})"

    # ---- discovery and keys --------------------------------------------------------

    def metadata(self) -> dict[str, Any]:
        base = self.s.url
        scopes = sorted({s for app in self.s.apps.values() for s in app.scopes} | set(OIDC_SCOPES))
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/oauth2/v1/authorize",
            "token_endpoint": f"{base}/oauth2/v1/token",
            "userinfo_endpoint": f"{base}/oauth2/v1/userinfo",
            "registration_endpoint": f"{base}/oauth2/v1/clients",
            "jwks_uri": f"{base}/oauth2/v1/keys",
            "response_types_supported": ["code", "token", "id_token", "id_token token"],
            "response_modes_supported": list(SANDBOX_RESPONSE_MODES),
            "grant_types_supported": [
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
                DEVICE_GRANT,
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": scopes,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ],
            "claims_supported": [
                "iss",
                "ver",
                "sub",
                "aud",
                "iat",
                "exp",
                "jti",
                "auth_time",
                "amr",
                "idp",
                "nonce",
                "name",
                "given_name",
                "family_name",
                "email",
                "email_verified",
                "preferred_username",
                "locale",
                "zoneinfo",
                "updated_at",
                "at_hash",
            ],
            "code_challenge_methods_supported": ["S256"],
            "introspection_endpoint": f"{base}/oauth2/v1/introspect",
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ],
            "revocation_endpoint": f"{base}/oauth2/v1/revoke",
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ],
            "end_session_endpoint": f"{base}/oauth2/v1/logout",
            "request_parameter_supported": False,
            "device_authorization_endpoint": f"{base}/oauth2/v1/device/authorize",
            "dpop_signing_alg_values_supported": ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
        }

    async def discovery(self, request: Request) -> Response:
        """OIDC Discovery; OSPEC: an optional ``client_id`` that must name a client (400 invalid_client otherwise)."""
        client_id = request.query_params.get("client_id")
        if client_id is not None and client_id not in self.s.clients:
            # OSPEC Error400InvalidClientId / ErrorInvalidClientId: Okta's error object, not RFC 6749's.
            return Response(
                error_body("invalid_client", "Invalid value for `client_id` parameter"),
                status_code=400,
                media_type="application/json",
            )
        return json_response(self.metadata())

    async def keys(self, request: Request) -> Response:
        return json_response(self.s.authority.jwks(), headers={"Cache-Control": "max-age=3600"})

    # ---- authorize -----------------------------------------------------------------

    def _demo_user(self, name: str) -> DemoUser | None:
        users = self.s.directory.demo_users
        if name in users:
            return users[name]
        lowered = name.lower()
        return next((u for u in users.values() if u.login.lower() == lowered or u.name == lowered), None)

    async def authorize(self, request: Request) -> Response:
        params, duplicate = single_params(parse_qs(request.url.query, keep_blank_values=True))
        if request.method == "POST":
            body, dup2 = single_params(
                parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
            )
            params.update(body)
            duplicate = duplicate or dup2
        app = self.s.clients.get(params.get("client_id", ""))
        if app is None:
            return HTMLResponse(
                pages.error_page(
                    title="400 Bad Request",
                    message="Invalid value for 'client_id' parameter.",
                    error_code="invalid_client",
                ),
                status_code=400,
            )
        redirect_uri = params.get("redirect_uri", "")
        # Okta matches the whole URI exactly, port included (no RFC 8252 §7.3 any-port rule).
        if redirect_uri not in app.redirect_uris:
            return HTMLResponse(
                pages.error_page(title="400 Bad Request", message=REDIRECT_MISMATCH, error_code="invalid_request"),
                status_code=400,
            )
        state = params.get("state")
        response_type = " ".join(sorted(params.get("response_type", "").split()))
        implicit = response_type in ("token", "id_token", "id_token token")
        default_mode = "fragment" if implicit else "query"
        mode = params.get("response_mode") or default_mode

        def fail(error: str, description: str) -> Response:
            return deliver(redirect_uri, {"error": error, "error_description": description, "state": state}, mode)

        if mode not in SANDBOX_RESPONSE_MODES:
            asked, mode = mode, default_mode
            if asked not in OKTA_RESPONSE_MODES:
                # OSPEC OAuthError400UnsupportedResponseMode
                return fail(
                    "unsupported_response_mode",
                    "The response mode isn't supported by the authorization server. "
                    "Valid response modes: [`query`, `fragment`, `form_post`, `okta_post_message`].",
                )
            return fail("unsupported_response_mode", f"The sandbox org does not offer the '{asked}' response mode.")
        if duplicate:
            return fail("invalid_request", f"The '{duplicate}' parameter was sent more than once.")
        if mode == "query" and implicit:
            # OSPEC: "If id_token or token is specified in the response_type, then query isn't allowed."
            mode = "fragment"
            return fail(
                "invalid_request",
                "The 'response_mode' of 'query' is not allowed when the 'response_type' "
                "includes 'token' or 'id_token'.",
            )
        if response_type not in ("code", "token", "id_token", "id_token token"):
            return fail(
                "unsupported_response_type",
                f"The response type is not supported by the authorization server. Configured response "
                f"types: {['code', 'token'] if 'implicit' in app.grant_types else ['code']}.",
            )
        needed_grant = "implicit" if implicit else "authorization_code"
        if needed_grant not in app.grant_types:
            return fail(
                "unauthorized_client",
                "The client is not authorized to use the provided grant type. "
                f"Configured grant types: {app.grant_types}.",
            )
        if not state:
            return fail("invalid_request", "The authorization request is missing the 'state' parameter.")
        scopes = params.get("scope", "").split()
        if not scopes:
            return fail("invalid_scope", "The authorization request must include the 'scope' parameter.")
        if any(s not in app.scopes for s in scopes):
            return fail("invalid_scope", INVALID_SCOPES)
        if "id_token" in response_type and ("openid" not in scopes or not params.get("nonce")):
            return fail("invalid_request", "An ID token request requires the 'openid' scope and a 'nonce'.")
        challenge = params.get("code_challenge")
        method = params.get("code_challenge_method")
        if not implicit:
            if challenge is None and app.is_public:
                return fail(
                    "invalid_request",
                    "PKCE code challenge is required when the token endpoint authentication method is 'NONE'.",
                )
            if challenge is not None:
                if method is None:
                    return fail("invalid_request", "PKCE code challenge method is required. Use S256.")
                if method != "S256":
                    return fail("invalid_request", f"PKCE code challenge method '{method}' is not supported. Use S256.")
                if not _CHALLENGE.match(challenge):
                    return fail(
                        "invalid_request",
                        "PKCE code challenge is invalid: it must be the base64url "
                        "SHA-256 of the code verifier (43 characters).",
                    )
        if params.get("prompt") == "none":
            return fail("login_required", "The client specified not to prompt, but the user is not logged in.")
        txn = AuthorizationTxn(
            app, redirect_uri, response_type, mode, scopes, state, params.get("nonce"), challenge, self.s.clock()
        )
        unattended = params.get("sandbox_user")
        if unattended is not None:
            user = self._demo_user(unattended)
            if user is None:
                return fail(
                    "access_denied",
                    f"Unknown sandbox_user '{unattended}'. Use one of: {', '.join(self.s.directory.demo_users)}.",
                )
            return self._complete(txn, user)
        txn_id = secrets.token_urlsafe(24)
        with self._lock:
            self._txns[txn_id] = txn
        return self._sign_in(txn, txn_id)

    def _sign_in(
        self, txn: AuthorizationTxn, txn_id: str, error: str | None = None, username: str = "", status: int = 200
    ) -> Response:
        html = pages.sign_in_page(
            org_url=self.s.url,
            app_label=txn.app.label or txn.app.name,
            scopes=txn.scopes,
            txn=txn_id,
            users=self.s.directory.demo_users.values(),
            error=error,
            username=username,
        )
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    async def login(self, request: Request) -> Response:
        form, _ = single_params(parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        txn_id = form.get("txn", "")
        with self._lock:
            txn = self._txns.get(txn_id)
        if txn is None or self.s.clock() - txn.created > TXN_LIFETIME:
            return HTMLResponse(
                pages.error_page(
                    title="Sign-in expired",
                    message="This sign-in page has expired. Start the sign-in again.",
                    error_code="invalid_request",
                ),
                status_code=400,
            )
        if "cancel" in form:
            with self._lock:
                self._txns.pop(txn_id, None)
            return deliver(
                txn.redirect_uri,
                {
                    "error": "access_denied",
                    "error_description": "User cancelled the sign-in request.",
                    "state": txn.state,
                },
                txn.response_mode,
            )
        username = form.get("username", "").strip()
        user = self._demo_user(username)
        if user is None or not hmac.compare_digest(user.password.encode(), form.get("password", "").encode()):
            return self._sign_in(
                txn,
                txn_id,
                error="Unable to sign in. Check the username and password (the demo passwords are listed below).",
                username=username,
            )
        with self._lock:
            self._txns.pop(txn_id, None)
        return self._complete(txn, user)

    def _complete(self, txn: AuthorizationTxn, user: DemoUser) -> Response:
        """The redirect a successful sign-in produces (RFC 6749 §4.1.2 / §4.2.2)."""
        now = self.s.clock()
        if txn.response_type == "code":
            code = secrets.token_urlsafe(32)
            with self._lock:
                self._codes[code] = CodeRecord(
                    txn.app.client_id,
                    txn.redirect_uri,
                    txn.scopes,
                    user.id,
                    txn.nonce,
                    txn.code_challenge,
                    now + CODE_LIFETIME,
                    int(now),
                )
            return deliver(txn.redirect_uri, {"code": code, "state": txn.state}, txn.response_mode)
        params: dict[str, str | None] = {}
        access = None
        if "token" in txn.response_type.split():
            access, _ = self.s.authority.mint_access_token(
                client_id=txn.app.client_id, scopes=txn.scopes, user_id=user.id, subject=user.login
            )
            params.update(
                {"access_token": access, "token_type": "Bearer", "expires_in": "3600", "scope": " ".join(txn.scopes)}
            )
        if "id_token" in txn.response_type.split():
            params["id_token"] = self.s.authority.mint_id_token(
                client_id=txn.app.client_id,
                user=self.s.directory.users[user.id],
                nonce=txn.nonce,
                access_token=access,
                auth_time=int(now),
            )
        params["state"] = txn.state or ""
        return deliver(txn.redirect_uri, params, txn.response_mode)

    # ---- client authentication -----------------------------------------------------

    def _authenticate(self, request: Request, form: dict[str, str]) -> DemoApp | Response:
        """RFC 6749 §2.3 / RFC 7523 §2.2: the calling client, or a 401 invalid_client answer."""
        basic_id = basic_secret = None
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
                raw_id, _, raw_secret = decoded.partition(":")
                # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
                basic_id, basic_secret = unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))
            except (binascii.Error, UnicodeDecodeError):
                return self._client_refused("The client credentials are malformed.", basic=True)
        basic = basic_id is not None

        def refused(description: str) -> Response:
            return self._client_refused(description, basic=basic)

        assertion = form.get("client_assertion")
        if sum((basic, bool(form.get("client_secret")), bool(assertion))) > 1:
            return oauth_error("invalid_request", MULTIPLE_CREDENTIALS)
        if assertion and form.get("client_assertion_type") != ASSERTION_TYPE:
            # OSPEC OAuthError400InvalidRequest_AssertionTypeInvalid
            return oauth_error("invalid_request", "The `client_assertion_type` is invalid.")
        client_id = basic_id if basic else form.get("client_id")
        if client_id is None and assertion:
            try:
                client_id = str(jwt.decode(assertion, options={"verify_signature": False}).get("iss"))
            except jwt.PyJWTError:
                client_id = None
        if not client_id:
            # OSPEC OAuthError401InvalidClient_NoCreds
            return refused("No client credentials found.")
        app = self.s.clients.get(client_id)
        if app is None:
            return refused("Invalid value for 'client_id' parameter.")
        method = app.token_endpoint_auth_method
        if method == "none":
            if basic_secret or form.get("client_secret") or assertion:
                return refused("Client authentication failed: this public client must not send client credentials.")
            return app
        if method in ("client_secret_basic", "client_secret_post"):
            secret = basic_secret if basic else form.get("client_secret")
            if not secret:
                return refused("Client authentication failed. Either the client or the client credentials are invalid.")
            if not hmac.compare_digest(secret.encode(), (app.client_secret or "").encode()):
                return refused("The client secret supplied for a confidential client is invalid.")
            return app
        # private_key_jwt: the only method for API service apps with Okta scopes.
        if not assertion:
            return refused(
                "Client authentication failed: this client must use "
                "private_key_jwt (client_assertion and client_assertion_type)."
            )
        reason = self.s.authority.verify_client_assertion(
            assertion,
            client_id=app.client_id,
            public_key_pem=app.public_key_pem or "",
            audience=f"{self.s.url}/oauth2/v1/token"
            if request.url.path.endswith("/token")
            else f"{self.s.url}{request.url.path}",
        )
        if reason is not None:
            return oauth_error("invalid_client", reason, 401)
        return app

    def _client_refused(self, description: str, *, basic: bool) -> Response:
        """401 invalid_client; RFC 6749 §5.2: a client that used HTTP Basic gets a matching WWW-Authenticate."""
        headers = {"WWW-Authenticate": f'Basic realm="{self.s.url}"'} if basic else None
        return oauth_error("invalid_client", description, 401, headers)

    async def _client_form(self, request: Request) -> tuple[dict[str, str], DemoApp] | Response:
        """The form of a client's POST and the client it authenticates as, or the error answer."""
        form, problem = await self._form(request)
        if problem:
            return problem
        client = self._authenticate(request, form)
        if isinstance(client, Response):
            return client
        return form, client

    async def _form(self, request: Request) -> tuple[dict[str, str], Response | None]:
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("application/x-www-form-urlencoded"):
            return {}, oauth_error("invalid_request", "The request body must be application/x-www-form-urlencoded.")
        form, duplicate = single_params(
            parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
        )
        if duplicate:
            return {}, oauth_error("invalid_request", f"The '{duplicate}' parameter was sent more than once.")
        return form, None

    # ---- token ---------------------------------------------------------------------

    def _token_response(
        self,
        app: DemoApp,
        scopes: list[str],
        user_id: str | None,
        *,
        nonce: str | None = None,
        auth_time: int | None = None,
        origin: str | None = None,
        allow_refresh: bool = True,
        jkt: str | None = None,
    ) -> Response:
        directory = self.s.directory
        user = directory.users.get(user_id) if user_id else None
        subject = user["profile"]["login"] if user else app.client_id
        access, grant = self.s.authority.mint_access_token(
            client_id=app.client_id, scopes=scopes, user_id=user_id, subject=subject, origin=origin, jkt=jkt
        )
        body: dict[str, Any] = {
            "token_type": "DPoP" if jkt else "Bearer",
            "expires_in": 3600,
            "access_token": access,
            "scope": " ".join(scopes),
        }
        if allow_refresh and user_id and "offline_access" in scopes and "refresh_token" in app.grant_types:
            refresh = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh[refresh] = RefreshRecord(
                    app.client_id, scopes, user_id, self.s.clock() + REFRESH_LIFETIME, grant.jti
                )
            body["refresh_token"] = refresh
        if user is not None and "openid" in scopes:
            body["id_token"] = self.s.authority.mint_id_token(
                client_id=app.client_id,
                user=user,
                nonce=nonce,
                access_token=access,
                auth_time=auth_time if auth_time is not None else int(self.s.clock()),
            )
        return json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def token(self, request: Request) -> Response:
        caller = await self._client_form(request)
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
                jkt = self.s.authority.verify_dpop_proof(
                    dpop_header(request), method="POST", url=f"{self.s.url}/oauth2/v1/token", need_nonce=True)
            except DPoPRefused as refused:
                return oauth_error(refused.error, refused.description, 400, self._nonce_header())
        if grant_type == "authorization_code":
            response = self._code_grant(client, form, jkt)
        elif grant_type == "refresh_token":
            response = self._refresh_grant(client, form, jkt)
        elif grant_type == "client_credentials":
            response = self._client_credentials(client, form, jkt)
        elif grant_type == DEVICE_GRANT:
            response = self._device_grant(client, form, jkt)
        else:
            return oauth_error("unsupported_grant_type", f"The grant type '{grant_type}' is not supported.")
        if client.dpop:
            response.headers.update(self._nonce_header())
        return response

    def _nonce_header(self) -> dict[str, str]:
        return {"DPoP-Nonce": self.s.authority.dpop_nonce}

    def _code_grant(self, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
        code = form.get("code", "")
        now = self.s.clock()
        with self._lock:
            record = self._codes.get(code)
            if record is None:
                return oauth_error("invalid_grant", INVALID_CODE)
            if record.client_id != app.client_id:
                # RFC 6749 §4.1.3: the code is bound to the client it was issued to.
                return oauth_error("invalid_grant", MISMATCHED_CLIENT)
            if record.used:
                # RFC 6749 §4.1.2: a code used twice revokes what it produced.
                self.s.authority.revoke_origin(code)
                return oauth_error("invalid_grant", INVALID_CODE)
            if now >= record.expires_at:
                return oauth_error("invalid_grant", INVALID_CODE)
            if form.get("redirect_uri") != record.redirect_uri:
                return oauth_error(
                    "invalid_grant",
                    "The 'redirect_uri' does not match the redirection URI used in the authorization request.",
                )
            verifier = form.get("code_verifier")
            if record.code_challenge is not None:
                # RFC 7636 §4.6: recompute the challenge from the verifier and compare.
                if verifier is None:
                    return oauth_error(
                        "invalid_request",
                        "PKCE code verifier is required when the authorization request included a code challenge.",
                    )
                if not _VERIFIER.match(verifier):
                    return oauth_error(
                        "invalid_request",
                        "PKCE code verifier must be 43 to 128 characters from "
                        "[A-Z] / [a-z] / [0-9] / '-' / '.' / '_' / '~'.",
                    )
                if not hmac.compare_digest(s256(verifier), record.code_challenge):
                    return oauth_error("invalid_grant", "PKCE verification failed.")
            elif verifier is not None:
                return oauth_error(
                    "invalid_grant", "PKCE verification failed: the authorization request had no code challenge."
                )
            record.used = True
        return self._token_response(
            app, record.scopes, record.user_id, nonce=record.nonce, auth_time=record.auth_time, origin=code, jkt=jkt
        )

    def _refresh_grant(self, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
        token = form.get("refresh_token", "")
        with self._lock:
            record = self._refresh.get(token)
            if (
                record is None
                or record.revoked
                or record.client_id != app.client_id
                or self.s.clock() >= record.expires_at
            ):
                return oauth_error("invalid_grant", "The refresh token is invalid or expired.")
            scopes = record.scopes
            if form.get("scope"):
                asked = form["scope"].split()
                if any(s not in record.scopes for s in asked):
                    return oauth_error("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
                scopes = asked if "offline_access" in asked else asked + ["offline_access"]
            # Rotation: the old refresh token stops working once used.
            record.revoked = True
        return self._token_response(app, scopes, record.user_id, jkt=jkt)

    def _client_credentials(self, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
        scopes = form.get("scope", "").split()
        if not scopes:
            return oauth_error(
                "invalid_scope",
                "The authorization server resource does not have any configured "
                "default scopes, 'scope' must be provided.",
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
        return self._token_response(app, scopes, None, allow_refresh=False, jkt=jkt)

    # ---- device authorization (RFC 8628) -------------------------------------------

    async def device_authorize(self, request: Request) -> Response:
        caller = await self._client_form(request)
        if isinstance(caller, Response):
            return caller
        form, client = caller
        if DEVICE_GRANT not in client.grant_types:
            return oauth_error("unauthorized_client", "The client is not authorized to use the device grant.")
        scopes = form.get("scope", "").split()
        if not scopes or any(s not in client.scopes for s in scopes):
            return oauth_error("invalid_scope", INVALID_SCOPES)
        device_code = secrets.token_urlsafe(32)
        user_code = "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        with self._lock:
            self._devices[device_code] = DeviceRecord(
                client.client_id, scopes, user_code, self.s.clock() + DEVICE_LIFETIME
            )
            self._user_codes[user_code] = device_code
        verification = f"{self.s.url}/activate"
        return json_response(
            {
                "device_code": device_code,
                "user_code": user_code,
                "verification_uri": verification,
                "verification_uri_complete": f"{verification}?user_code={user_code}",
                "expires_in": DEVICE_LIFETIME,
                "interval": DEVICE_INTERVAL,
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    def _device_grant(self, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
        now = self.s.clock()
        with self._lock:
            record = self._devices.get(form.get("device_code", ""))
            if record is None or record.client_id != app.client_id or record.consumed:
                return oauth_error("invalid_grant", "The device code is invalid or has expired.")
            if now >= record.expires_at:
                return oauth_error("expired_token", "The device code has expired.")
            if record.denied:
                return oauth_error("access_denied", "The resource owner or authorization server denied the request.")
            if record.user_id is None:
                # RFC 8628 §3.5: polling faster than the interval earns slow_down and 5 more seconds.
                too_fast = record.last_poll is not None and now - record.last_poll < record.interval
                record.last_poll = now
                if too_fast:
                    record.interval += 5
                    return oauth_error("slow_down", "The client is polling too frequently.")
                return oauth_error(
                    "authorization_pending", "The device authorization is pending. Please try again later."
                )
            record.consumed = True
        return self._token_response(app, record.scopes, record.user_id, jkt=jkt)

    async def activate(self, request: Request) -> Response:
        """GET shows the page; POST (or GET with ``sandbox_user``) approves or denies the device."""
        query, _ = single_params(parse_qs(request.url.query, keep_blank_values=True))
        form = query
        if request.method == "POST":
            form, _ = single_params(parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        user_code = form.get("user_code", "").strip().upper().replace("-", "")
        users = self.s.directory.demo_users.values()
        unattended = form.get("sandbox_user")
        if request.method == "GET" and unattended is None:
            return HTMLResponse(pages.activate_page(org_url=self.s.url, user_code=user_code, users=users))
        with self._lock:
            record = self._devices.get(self._user_codes.get(user_code, ""))
        if record is None or self.s.clock() >= record.expires_at:
            return HTMLResponse(
                pages.activate_page(
                    org_url=self.s.url, user_code=user_code, users=users, error="Invalid or expired activation code."
                ),
                status_code=400,
            )
        if "cancel" in form:
            record.denied = True
            return HTMLResponse(
                pages.activate_page(org_url=self.s.url, user_code="", users=users, done="Device activation was denied.")
            )
        if unattended is not None:
            user = self._demo_user(unattended)
        else:
            user = self._demo_user(form.get("username", "").strip())
            if user is not None and not hmac.compare_digest(user.password.encode(), form.get("password", "").encode()):
                user = None
        if user is None:
            return HTMLResponse(
                pages.activate_page(org_url=self.s.url, user_code=user_code, users=users, error="Unable to sign in."),
                status_code=401,
            )
        record.user_id = user.id
        return HTMLResponse(pages.activate_page(org_url=self.s.url, user_code="", users=users, done="Device activated"))

    # ---- revoke, introspect, userinfo, logout --------------------------------------

    async def revoke(self, request: Request) -> Response:
        """RFC 7009: always 200 for a valid client; the token stops working if it was this client's."""
        caller = await self._client_form(request)
        if isinstance(caller, Response):
            return caller
        form, client = caller
        token = form.get("token")
        if not token:
            return oauth_error("invalid_request", "The 'token' parameter is required.")
        with self._lock:
            record = self._refresh.get(token)
            if record is not None and record.client_id == client.client_id:
                record.revoked = True
                self.s.authority.revoke_jti(record.access_jti)
        grant = self.s.authority.check_access_token(token)
        if grant is not None and grant.client_id == client.client_id:
            self.s.authority.revoke_jti(grant.jti)
        return Response(status_code=200, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    async def introspect(self, request: Request) -> Response:
        caller = await self._client_form(request)
        if isinstance(caller, Response):
            return caller
        form, client = caller
        token = form.get("token", "")
        grant = self.s.authority.check_access_token(token)
        if grant is not None:
            claims = grant.claims
            return json_response(
                {
                    "active": True,
                    "scope": " ".join(grant.scopes),
                    "username": grant.subject,
                    "exp": claims["exp"],
                    "iat": claims["iat"],
                    "sub": grant.subject,
                    "aud": claims["aud"],
                    "iss": claims["iss"],
                    "jti": grant.jti,
                    "token_type": "Bearer",
                    "client_id": grant.client_id,
                    **({"uid": grant.user_id} if grant.user_id else {}),
                }
            )
        with self._lock:
            record = self._refresh.get(token)
        if record is not None and not record.revoked and self.s.clock() < record.expires_at:
            user = self.s.directory.users.get(record.user_id)
            return json_response(
                {
                    "active": True,
                    "scope": " ".join(record.scopes),
                    "token_type": "refresh_token",
                    "client_id": record.client_id,
                    "exp": int(record.expires_at),
                    "sub": user["profile"]["login"] if user else record.user_id,
                    "uid": record.user_id,
                }
            )
        return json_response({"active": False})

    async def userinfo(self, request: Request) -> Response:
        header = request.headers.get("authorization", "")
        grant = self.s.authority.check_access_token(header[7:].strip()) if header[:7].lower() == "bearer " else None
        realm = f'authorization_uri="{self.s.url}/oauth2/v1/authorize", realm="{self.s.url}"'
        if grant is None or grant.user_id is None:
            return Response(
                status_code=401,
                headers={
                    "WWW-Authenticate": f'Bearer {realm}, error="invalid_token", '
                    'error_description="The access token is invalid."'
                },
            )
        if "openid" not in grant.scopes:
            return Response(
                status_code=403,
                headers={
                    "WWW-Authenticate": (
                        f'Bearer {realm}, scope="openid", error="insufficient_scope", '
                        'error_description="The access token provided does not contain the required scopes.", '
                        'resource="/oauth2/v1/userinfo"'
                    )
                },
            )
        user = self.s.directory.users.get(grant.user_id)
        if user is None:
            return Response(status_code=401)
        p = user["profile"]
        info: dict[str, Any] = {"sub": user["id"]}
        if "profile" in grant.scopes:
            info.update(
                {
                    "name": f"{p['firstName']} {p['lastName']}",
                    "locale": p.get("locale"),
                    "preferred_username": p["login"],
                    "given_name": p["firstName"],
                    "family_name": p["lastName"],
                    "zoneinfo": p.get("timezone"),
                    "updated_at": int(self.s.clock()),
                }
            )
        if "email" in grant.scopes:
            info.update({"email": p["email"], "email_verified": True})
        return json_response(info)

    async def logout(self, request: Request) -> Response:
        params, _ = single_params(parse_qs(request.url.query, keep_blank_values=True))
        target = params.get("post_logout_redirect_uri")
        if target and any(
            target.split("?")[0].startswith(u.rsplit("/", 1)[0]) for a in self.s.apps.values() for u in a.redirect_uris
        ):
            return RedirectResponse(with_params(target, {"state": params.get("state")}, False), status_code=302)
        return HTMLResponse(pages.message_page("Signed out", "You are signed out of the sandbox org."))
