"""The sandbox's Management API subset under ``/api/v1``: one module of handlers per resource.

``pipeline`` runs every request through Okta's gates (knobs, rate limit,
authentication, scope, route, admin role) before a handler of ``users``, ``groups``,
``apps``, ``roles`` or ``logs`` sees it; ``calls`` is what those handlers share.
The route table itself is in ``okta_magic.sandbox.app``.
"""
