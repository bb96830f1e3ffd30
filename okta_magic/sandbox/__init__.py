"""The sandbox org: a local HTTP server that behaves like an Okta org.

It serves the Org Authorization Server (discovery, a sign-in page, PKCE, tokens,
device grant, revocation) and a Management API subset (users, groups, apps, admin
roles, System Log) with Okta's paging, rate-limit headers, error bodies and scope
and role checks, over deterministically seeded data. The quickstart, the lessons
and the tests run against it with no network. See docs/sandbox.md.

    from okta_magic.sandbox import Sandbox
    with Sandbox(port=0, users=500, seed=1) as sb:
        print(sb.url, sb.apps["native"].client_id)

``current()`` is the in-kernel sandbox (the one a Session started), None when none runs.
"""

from __future__ import annotations

from okta_magic.sandbox.data import DemoApp, DemoUser
from okta_magic.sandbox.server import DEFAULT_PORT, Sandbox, current
from okta_magic.sandbox.traffic import SandboxStats

__all__ = ["DEFAULT_PORT", "DemoApp", "DemoUser", "Sandbox", "SandboxStats", "current"]
