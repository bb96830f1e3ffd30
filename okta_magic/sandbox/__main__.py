"""Command line: serve a sandbox org in the foreground until Ctrl-C.

    python -m okta_magic.sandbox [--host 127.0.0.1] [--port 8800] [--users 1000] [--seed 1]

Prints the org URL, the demo apps (client ids, redirect URIs, granted scopes) and
the demo people (username, login, password, admin role).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

from okta_magic.errors import OktaMagicError
from okta_magic.sandbox.policy import DEFAULT_TIER, RATE_LIMIT_TIERS
from okta_magic.sandbox.server import DEFAULT_PORT, Sandbox


def summarize_scopes(scopes: list[str]) -> str:
    """Scopes for display: the long run of ``okta.*.read`` scopes is counted, not listed."""
    reads = [s for s in scopes if s.startswith("okta.") and s.endswith(".read")]
    if len(reads) <= 6:
        return " ".join(scopes)
    others = [s for s in scopes if s not in reads]
    return " ".join(others[:3]) + f" + all {len(reads)} okta.*.read scopes + " + " ".join(others[3:])


def describe(sb: Sandbox, show_secrets: bool = False) -> str:
    """The text the CLI prints: where the org is and how to sign in to it."""
    lines = [
        f"okta_magic sandbox org: {sb.url}",
        f"  issuer / discovery: {sb.url}/.well-known/openid-configuration",
        "",
        "Demo apps:",
    ]
    for name, app in sb.apps.items():
        lines.append(
            f"  {name:<12} client_id={app.client_id}  auth={app.token_endpoint_auth_method}  "
            f"grants={','.join(app.grant_types)}" + ("  DPoP required" if app.dpop else "")
        )
        if app.redirect_uris:
            lines.append(f"              redirect URIs: {' '.join(app.redirect_uris)}")
        lines.append(f"              scopes: {summarize_scopes(app.scopes)}")
        if app.client_secret:
            secret = app.client_secret if show_secrets else "(hidden; --show-secrets prints it)"
            lines.append(f"              client secret: {secret}")
        if app.private_key_pem:
            lines.append(
                f"              private key: Sandbox(...).apps['{name}'].private_key_pem (in-process use only)"
            )
    lines += ["", "Demo people (sign-in page username / password):"]
    for user in sb.demo_users.values():
        lines.append(f"  {user.name:<9} {user.login:<22} {user.password:<20} {user.role or 'no admin role'}")
    lines += ["", "Unattended sign-in: add sandbox_user=<username> to an authorize URL.", "Ctrl-C stops the org."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m okta_magic.sandbox", description="Serve a local sandbox Okta org.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--users", type=int, default=1000, help="number of seeded users (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated data (default 1)")
    parser.add_argument("--show-secrets", action="store_true", help="also print the web app's client secret")
    parser.add_argument(
        "--rate-limits",
        choices=sorted(RATE_LIMIT_TIERS),
        default=DEFAULT_TIER,
        help=f"column of Okta's rate-limit table to enforce (default {DEFAULT_TIER})",
    )
    parser.add_argument("--concurrency", type=int, default=None,
                        help="requests in flight at once (default: the tier's)")
    args = parser.parse_args(argv)
    try:
        sb = Sandbox(
            port=args.port,
            users=args.users,
            seed=args.seed,
            host=args.host,
            rate_limits=args.rate_limits,
            concurrency_limit=args.concurrency,
        ).start()
    except OktaMagicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(describe(sb, args.show_secrets), flush=True)
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    time.sleep(0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
