"""The sandbox org's ASGI application: the route table and the per-response wrapper.

Every route of the Org Authorization Server (``oauth``, one module per endpoint) and
of the Management API (``api``, one module per resource, behind ``api.pipeline``'s
gates) is listed here. The outer wrapper counts every request in flight and refuses
the ones over Okta's concurrency limit, applies the latency knob, rate-limits the
Org Authorization Server's bucket, stamps every response with
``X-Okta-Request-Id`` and a ``Date`` taken from the sandbox clock (so
``X-Rate-Limit-Reset - Date`` is the real wait even after ``advance_clock``),
tallies every answer for ``Sandbox.stats()``, implements the ``drop_rate`` knob by
closing the connection without any response, and lets a client that goes away
mid-request go with one debug line instead of uvicorn's "Exception in ASGI
application" traceback.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from okta_magic.sandbox.api import apps, assignments, config, factors, grants, groups, iam, logs, roles, rules, users
from okta_magic.sandbox.api.calls import Routes
from okta_magic.sandbox.api.pipeline import ManagementApi
from okta_magic.sandbox.oauth import authorize, device, discovery, introspect, keys, logout, revoke, token, userinfo
from okta_magic.sandbox.responses import RATE_LIMITED, json_response, okta_error
from okta_magic.sandbox.state import OrgState
from okta_magic.sandbox.traffic import CONCURRENCY, RATE, TALLY, Tally, concurrency_refusal, rate_headers

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]

log = logging.getLogger(__name__)

# The Management API subset, under /api/v1: path template -> method -> handler.
API_ROUTES: Routes = (
    ("/users", {"GET": users.list_users, "POST": users.create_user}),
    (
        "/users/{id}",
        {"GET": users.get_user, "POST": users.update_user, "PUT": users.replace_user, "DELETE": users.delete_user},
    ),
    ("/users/{id}/groups", {"GET": users.user_groups}),
    ("/users/{id}/roles", {"GET": roles.user_roles, "POST": roles.grant_user_role}),
    ("/users/{id}/roles/{rid}", {"GET": roles.get_user_role, "DELETE": roles.revoke_user_role}),
    ("/users/{id}/lifecycle/{op}", {"POST": users.lifecycle}),
    ("/users/{id}/factors", {"GET": factors.list_factors, "POST": factors.enroll_factor}),
    ("/users/{id}/factors/{fid}", {"GET": factors.get_factor, "DELETE": factors.delete_factor}),
    ("/users/{id}/factors/{fid}/lifecycle/activate", {"POST": factors.activate_factor}),
    ("/users/{id}/authenticator-enrollments", {"GET": factors.list_enrollments}),
    ("/users/{id}/authenticator-enrollments/{eid}", {"GET": factors.get_enrollment,
                                                     "DELETE": factors.delete_enrollment}),
    ("/users/{id}/appLinks", {"GET": assignments.app_links}),
    ("/users/{id}/devices", {"GET": config.user_devices}),
    ("/groups", {"GET": groups.list_groups, "POST": groups.create_group}),
    ("/groups/rules", {"GET": rules.list_rules, "POST": rules.create_rule}),
    ("/groups/rules/{rid}", {"GET": rules.get_rule, "DELETE": rules.delete_rule}),
    ("/groups/rules/{rid}/lifecycle/activate", {"POST": rules.activate_rule}),
    ("/groups/rules/{rid}/lifecycle/deactivate", {"POST": rules.deactivate_rule}),
    ("/groups/{id}", {"GET": groups.get_group, "PUT": groups.replace_group, "DELETE": groups.delete_group}),
    ("/groups/{id}/users", {"GET": groups.group_users}),
    ("/groups/{id}/users/{uid}", {"PUT": groups.add_member, "DELETE": groups.remove_member}),
    ("/groups/{id}/roles", {"GET": roles.group_roles, "POST": roles.grant_group_role}),
    ("/groups/{id}/roles/{rid}", {"GET": roles.get_group_role, "DELETE": roles.revoke_group_role}),
    ("/apps", {"GET": apps.list_apps}),
    ("/apps/{id}", {"GET": apps.get_app}),
    ("/apps/{id}/users", {"GET": apps.app_users, "POST": assignments.assign_user}),
    ("/apps/{id}/users/{uid}", {"GET": assignments.get_app_user, "DELETE": assignments.unassign_user}),
    ("/apps/{id}/groups", {"GET": assignments.app_groups}),
    ("/apps/{id}/grants", {"GET": grants.list_grants, "POST": grants.create_grant}),
    ("/apps/{id}/grants/{gid}", {"GET": grants.get_grant, "DELETE": grants.revoke_grant}),
    ("/apps/{id}/groups/{gid}", {"GET": assignments.get_app_group, "PUT": assignments.assign_group,
                                 "DELETE": assignments.unassign_group}),
    ("/logs", {"GET": logs.list_logs}),
    ("/iam/assignees/users", {"GET": iam.assignees}),
    ("/iam/roles", {"GET": iam.list_roles}),
    ("/iam/roles/{ref}", {"GET": iam.get_role}),
    ("/iam/roles/{ref}/permissions", {"GET": iam.role_permissions}),
    ("/iam/resource-sets", {"GET": iam.list_resource_sets}),
    ("/iam/resource-sets/{ref}", {"GET": iam.get_resource_set}),
    ("/iam/resource-sets/{ref}/resources", {"GET": iam.resource_set_resources}),
    ("/iam/resource-sets/{ref}/bindings", {"GET": iam.bindings}),
    ("/iam/resource-sets/{ref}/bindings/{role}/members", {"GET": iam.binding_members}),
    ("/policies", {"GET": config.list_policies}),
    ("/policies/{id}", {"GET": config.get_policy}),
    ("/policies/{id}/rules", {"GET": config.list_policy_rules}),
    ("/policies/{id}/rules/{rid}", {"GET": config.get_policy_rule}),
    ("/zones", {"GET": config.list_zones}),
    ("/zones/{id}", {"GET": config.get_zone}),
    ("/idps", {"GET": config.list_idps}),
    ("/idps/{id}", {"GET": config.get_idp}),
    ("/authorizationServers", {"GET": config.list_auth_servers}),
    ("/authorizationServers/{id}", {"GET": config.get_auth_server}),
    ("/trustedOrigins", {"GET": config.list_origins}),
    ("/trustedOrigins/{id}", {"GET": config.get_origin}),
    ("/authenticators", {"GET": config.list_authenticators}),
    ("/authenticators/{id}", {"GET": config.get_authenticator}),
    ("/devices", {"GET": config.list_devices}),
    ("/devices/{id}", {"GET": config.get_device}),
    ("/devices/{id}/users", {"GET": config.device_users}),
    ("/api-tokens", {"GET": config.list_api_tokens}),
    ("/api-tokens/{id}", {"GET": config.get_api_token}),
    ("/meta/types/user", {"GET": config.list_user_types}),
    ("/meta/types/user/{id}", {"GET": config.get_user_type}),
    ("/meta/schemas/user/{id}", {"GET": config.user_schema}),
)


def build_app(state: OrgState) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The complete ASGI app of one sandbox org."""
    api = ManagementApi(state, API_ROUTES)

    async def home(request: Request) -> Response:
        """What this org is, and where to start."""
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

    def org(endpoint: Callable[[OrgState, Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        """An OAuth endpoint bound to this org."""
        return partial(endpoint, state)

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/.well-known/openid-configuration", org(discovery.discovery), methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", org(discovery.discovery), methods=["GET"]),
        Route("/oauth2/v1/authorize", org(authorize.authorize), methods=["GET", "POST"]),
        Route("/oauth2/v1/authorize/login", org(authorize.login), methods=["POST"]),
        Route("/oauth2/v1/token", org(token.token), methods=["POST"]),
        Route("/oauth2/v1/revoke", org(revoke.revoke), methods=["POST"]),
        Route("/oauth2/v1/introspect", org(introspect.introspect), methods=["POST"]),
        Route("/oauth2/v1/keys", org(keys.keys), methods=["GET"]),
        Route("/oauth2/v1/userinfo", org(userinfo.userinfo), methods=["GET", "POST"]),
        Route("/oauth2/v1/logout", org(logout.logout), methods=["GET"]),
        Route("/oauth2/v1/device/authorize", org(device.device_authorize), methods=["POST"]),
        Route("/activate", org(device.activate), methods=["GET", "POST"]),
        Route("/api/v1", api.dispatch, methods=ALL_METHODS),
        Route("/api/v1/{rest:path}", api.dispatch, methods=ALL_METHODS),
    ]
    inner = Starlette(routes=routes)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """The org: the concurrency limit, knobs that act before any route, stamped and tallied answers."""
        if scope["type"] != "http":
            await inner(scope, receive, send)
            return
        tally = Tally(bucket=state.limiter.limited_bucket(scope["path"]))
        scope[TALLY] = tally
        admitted = state.traffic.arrive()
        try:
            await _gated(state, inner, scope, receive, send, tally, admitted)
        except ClientDisconnect:
            # The ASGI spec's http.disconnect arrived while a handler read the body: nobody is left to answer.
            log.debug(
                "sandbox: %s %s: the client went away before its request body arrived", scope["method"], scope["path"]
            )
        finally:
            state.traffic.leave(tally)

    return app


async def _gated(
    state: OrgState, inner: Starlette, scope: Scope, receive: Receive, send: Send, tally: Tally, admitted: bool
) -> None:
    """One request past the org-wide gates: concurrency, dropped connections, latency, the OAuth rate limit."""
    path = scope["path"]
    if admitted and path.startswith("/api/") and state.knobs.roll(state.knobs.drop_rate):
        state.traffic.dropped()
        _drop_connection(send)
        return
    stamped = _stamper(state, send, tally)
    if not admitted:
        # Okta: "Concurrent rate limits": the request over the org's limit is refused at once.
        tally.cause = CONCURRENCY
        await concurrency_refusal(state.clock())(scope, receive, stamped)
        return
    delay = state.knobs.latency_for(path)
    if delay > 0:
        await asyncio.sleep(delay)
    if tally.bucket is not None and not path.startswith("/api/"):
        # The Org Authorization Server's bucket (/oauth2/v1); /api/v1 is limited in api.pipeline.
        tally.decision = state.limiter.hit(path)
        if not tally.decision.allowed:
            tally.cause = RATE
            await okta_error(429, "E0000047", RATE_LIMITED)(scope, receive, stamped)
            return
    await inner(scope, receive, stamped)


def _stamper(state: OrgState, send: Send, tally: Tally) -> Send:
    """``send`` that stamps ``Date``, ``X-Okta-Request-Id`` (and OAuth rate headers) and tallies the answer."""
    request_id = secrets.token_hex(16).encode("ascii")

    async def stamped(message: Message) -> None:
        """Send with the sandbox clock's ``Date`` and a fresh ``X-Okta-Request-Id``."""
        if message["type"] == "http.response.start":
            headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
            headers.append((b"date", formatdate(state.clock(), usegmt=True).encode("ascii")))
            headers.append((b"x-okta-request-id", request_id))
            if tally.decision is not None:
                headers.extend(rate_headers(tally.decision))
            message["headers"] = headers
            state.traffic.answered(tally, int(message["status"]))
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            state.traffic.leave(tally)  # the answer is complete: the client may send its next request
        await send(message)

    return stamped


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
