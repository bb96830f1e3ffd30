"""The sandbox org's ASGI application: route table and the per-response wrapper.

Routes the Org Authorization Server (``oauth``) and the Management API (``api``).
The outer wrapper stamps every response with ``X-Okta-Request-Id`` and a ``Date``
taken from the sandbox clock (so ``X-Rate-Limit-Reset - Date`` is the real wait even
after ``advance_clock``), implements the ``drop_rate`` knob by closing the
connection without any response, and lets a client that goes away mid-request go
with one debug line instead of uvicorn's "Exception in ASGI application" traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from okta_magic.sandbox.api import ManagementApi
from okta_magic.sandbox.oauth import AuthorizationServer, json_response
from okta_magic.sandbox.state import OrgState

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

log = logging.getLogger(__name__)


def build_app(state: OrgState) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The complete ASGI app of one sandbox org."""
    oauth = AuthorizationServer(state)
    api = ManagementApi(state)

    async def home(request: Request) -> Response:
        return json_response(
            {
                "org": state.url,
                "issuer": state.url,
                "discovery": f"{state.url}/.well-known/openid-configuration",
                "docs": "docs/sandbox.md in the okta_magic repository",
                "demo_apps": {name: app.client_id for name, app in state.apps.items()},
                "demo_users": list(state.directory.demo_users),
            }
        )

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/.well-known/openid-configuration", oauth.discovery, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", oauth.discovery, methods=["GET"]),
        Route("/oauth2/v1/authorize", oauth.authorize, methods=["GET", "POST"]),
        Route("/oauth2/v1/authorize/login", oauth.login, methods=["POST"]),
        Route("/oauth2/v1/token", oauth.token, methods=["POST"]),
        Route("/oauth2/v1/revoke", oauth.revoke, methods=["POST"]),
        Route("/oauth2/v1/introspect", oauth.introspect, methods=["POST"]),
        Route("/oauth2/v1/keys", oauth.keys, methods=["GET"]),
        Route("/oauth2/v1/userinfo", oauth.userinfo, methods=["GET", "POST"]),
        Route("/oauth2/v1/logout", oauth.logout, methods=["GET"]),
        Route("/oauth2/v1/device/authorize", oauth.device_authorize, methods=["POST"]),
        Route("/activate", oauth.activate, methods=["GET", "POST"]),
        Route("/api/v1", api.dispatch, methods=ALL_METHODS),
        Route("/api/v1/{rest:path}", api.dispatch, methods=ALL_METHODS),
    ]
    inner = Starlette(routes=routes)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        if scope["path"].startswith("/api/") and state.knobs.roll(state.knobs.drop_rate):
            _drop_connection(send)
            return
        request_id = secrets.token_hex(16).encode("ascii")

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(state.clock(), usegmt=True).encode("ascii")))
                headers.append((b"x-okta-request-id", request_id))
                message["headers"] = headers
            await send(message)

        try:
            await inner(scope, receive, stamped)
        except ClientDisconnect:
            # The ASGI spec's http.disconnect arrived while a handler read the body: nobody is left to answer.
            log.debug("sandbox: %s %s: the client went away before its request body arrived",
                      scope["method"], scope["path"])

    return app


def _drop_connection(send: Send) -> None:
    """Close the TCP connection with no response at all (the ``drop_rate`` knob).

    uvicorn's ``send`` is a bound method of its request cycle, which holds the
    transport; marking the cycle disconnected stops uvicorn from answering 500.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("drop_rate knob: connection dropped")
    cycle.disconnected = True  # type: ignore[union-attr]
    transport.close()
