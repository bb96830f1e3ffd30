"""The device authorization grant (RFC 8628): ``/oauth2/v1/device/authorize``, ``/activate``, and its polling.

The client gets a device code and a user code (§3.2); a person approves or denies it
on the activation page (or with ``sandbox_user``); the client polls the token
endpoint (§3.4), which answers ``authorization_pending``, ``slow_down`` (polling
faster than the interval adds 5 seconds, §3.5), ``access_denied``, ``expired_token``
or the tokens.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from okta_magic.sandbox import pages
from okta_magic.sandbox.data import DemoApp
from okta_magic.sandbox.oauth.authorize import INVALID_SCOPES, demo_user
from okta_magic.sandbox.oauth.clients import body_params, client_form, query_params
from okta_magic.sandbox.oauth.grants import DEVICE_GRANT, DEVICE_INTERVAL, DEVICE_LIFETIME, DeviceRecord
from okta_magic.sandbox.oauth.issue import token_response
from okta_magic.sandbox.responses import NO_STORE, json_response, oauth_error
from okta_magic.sandbox.state import OrgState

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: no vowels, so no words by accident


async def device_authorize(org: OrgState, request: Request) -> Response:
    """POST /device/authorize (RFC 8628 §3.1-3.2): a device code, a user code and where to enter it."""
    caller = await client_form(org, request)
    if isinstance(caller, Response):
        return caller
    form, client = caller
    if DEVICE_GRANT not in client.grant_types:
        return oauth_error("unauthorized_client", "The client is not authorized to use the device grant.")
    scopes = form.get("scope", "").split()
    if not scopes or any(s not in client.scopes for s in scopes):
        return oauth_error("invalid_scope", INVALID_SCOPES)
    device_code = secrets.token_urlsafe(32)
    user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(8))
    with org.grants.lock:
        org.grants.devices[device_code] = DeviceRecord(
            client.client_id, scopes, user_code, org.clock() + DEVICE_LIFETIME
        )
        org.grants.user_codes[user_code] = device_code
    verification = f"{org.url}/activate"
    return json_response(
        {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": verification,
            "verification_uri_complete": f"{verification}?user_code={user_code}",
            "expires_in": DEVICE_LIFETIME,
            "interval": DEVICE_INTERVAL,
        },
        headers=dict(NO_STORE),
    )


def poll(org: OrgState, app: DemoApp, form: dict[str, str], jkt: str | None = None) -> Response:
    """The token endpoint's device code grant (RFC 8628 §3.4-3.5)."""
    now = org.clock()
    with org.grants.lock:
        record = org.grants.devices.get(form.get("device_code", ""))
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
            return oauth_error("authorization_pending", "The device authorization is pending. Please try again later.")
        record.consumed = True
    return token_response(org, app, record.scopes, record.user_id, jkt=jkt)


async def activate(org: OrgState, request: Request) -> Response:
    """GET shows the page; POST (or GET with ``sandbox_user``) approves or denies the device."""
    form, _ = query_params(request)
    if request.method == "POST":
        form, _ = await body_params(request)
    user_code = form.get("user_code", "").strip().upper().replace("-", "")
    users = org.directory.demo_users.values()
    unattended = form.get("sandbox_user")

    def page(
        status: int = 200, *, code: str = user_code, error: str | None = None, done: str | None = None
    ) -> Response:
        """The activation page, with an error or the outcome when there is one."""
        html = pages.activate_page(org_url=org.url, user_code=code, users=users, error=error, done=done,
                                   base=pages.base_path(request.headers.get("x-forwarded-context")))
        return HTMLResponse(html, status_code=status)

    if request.method == "GET" and unattended is None:
        return page()
    with org.grants.lock:
        record = org.grants.devices.get(org.grants.user_codes.get(user_code, ""))
    if record is None or org.clock() >= record.expires_at:
        return page(400, error="Invalid or expired activation code.")
    if "cancel" in form:
        record.denied = True
        return page(code="", done="Device activation was denied.")
    if unattended is not None:
        user = demo_user(org, unattended)
    else:
        user = demo_user(org, form.get("username", "").strip())
        if user is not None and not hmac.compare_digest(user.password.encode(), form.get("password", "").encode()):
            user = None
    if user is None:
        return page(401, error="Unable to sign in.")
    record.user_id = user.id
    return page(code="", done="Device activated")
