"""An okta_magic client of a test's sandbox org, signed in as one of its people with the scopes a test names."""

from __future__ import annotations

from typing import Any

from okta_magic.http.client import OktaClient
from okta_magic.sandbox import Sandbox


class SandboxSleep:
    """An injected sleep that moves the sandbox's clock instead of waiting, and keeps each wait."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sandbox.advance_clock(seconds)


def client(sandbox: Sandbox, scopes: list[str], *, user: str = "admin", **options: Any) -> OktaClient:
    """A client with ``user``'s token from the sandbox's native app, granted ``scopes``; no progress bar, and
    waits (retries, pacing) that move the sandbox's clock. ``options`` go to ``OktaClient`` (``transport=`` ...)."""
    token = sandbox.issue_token(user=user, app="native", scopes=scopes)
    options.setdefault("progress", False)
    options.setdefault("sleep", SandboxSleep(sandbox))
    return OktaClient(sandbox.url, lambda: f"Bearer {token}", held_scopes=lambda: scopes, **options)
