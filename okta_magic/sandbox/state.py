"""The shared state one running sandbox org hands to its route handlers.

A plain container so that ``oauth`` (the authorization server) and ``api`` (the
Management API) see the same directory, token authority, clock, knobs and traffic
tally without importing each other; the grants in flight are the authorization server's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from okta_magic.sandbox.data import DemoApp
from okta_magic.sandbox.directory import Directory
from okta_magic.sandbox.oauth.grants import Grants
from okta_magic.sandbox.policy import Knobs, RateLimiter
from okta_magic.sandbox.security import Security
from okta_magic.sandbox.tokens import TokenAuthority
from okta_magic.sandbox.traffic import Traffic


class SandboxClock:
    """Real time plus an offset that only moves forward (``Sandbox.advance_clock``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("the sandbox clock only moves forward")
        self.offset += seconds


@dataclass
class OrgState:
    """Everything the handlers of one sandbox org share."""

    directory: Directory
    authority: TokenAuthority
    limiter: RateLimiter
    knobs: Knobs
    clock: SandboxClock
    apps: dict[str, DemoApp]
    url: str = ""
    clients: dict[str, DemoApp] = field(default_factory=dict)
    grants: Grants = field(default_factory=Grants)
    traffic: Traffic = field(default_factory=Traffic)
    security: Security | None = None  # roles, factors, devices, assignments, configuration (server.py seeds it)
    app_grants: dict[str, dict[str, dict[str, Any]]] | None = None  # the apps' scope grants (api/grants.py)

    def __post_init__(self) -> None:
        self.clients = {app.client_id: app for app in self.apps.values()}
