"""``Sandbox``: the lifecycle of one sandbox org (seed, bind, serve in a thread, stop) and its test controls.

uvicorn runs in a background thread so a notebook or a test keeps its own thread;
the socket is bound here first, so ``port=0`` works and the real port is known
before the first request. The controls (``advance_clock``, ``set_knobs``,
``set_rate_limit``, ``issue_token`` ...) act on the live org.

``current()`` returns the in-kernel sandbox: the one a ``Session`` started (``in_kernel=True``), so
that a lesson can turn its knobs. For that this module keeps the sandbox package's one piece of
mutable module state, ``_IN_KERNEL``: weak references to the in-kernel sandboxes, newest last
(a stopped or dropped sandbox is skipped and pruned; nothing else is kept).
"""

from __future__ import annotations

import random
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Mapping
from types import TracebackType

import uvicorn
from cryptography.hazmat.primitives import serialization

from okta_magic.errors import ConfigError
from okta_magic.sandbox import data
from okta_magic.sandbox.app import build_app
from okta_magic.sandbox.data import DemoApp, DemoUser
from okta_magic.sandbox.directory import Directory
from okta_magic.sandbox.policy import Knobs, RateLimiter
from okta_magic.sandbox.security import Security
from okta_magic.sandbox.security_events import seed_events
from okta_magic.sandbox.state import OrgState, SandboxClock
from okta_magic.sandbox.tokens import ACCESS_TOKEN_LIFETIME, TokenAuthority, check_lifetime, new_rsa_key, private_pem
from okta_magic.sandbox.traffic import SandboxStats, Traffic
from okta_magic.scopes import catalogue

DEFAULT_PORT = 8800
START_TIMEOUT = 15.0

# The in-kernel sandboxes (started by a Session), newest last; weak, so a dropped Sandbox leaves no trace.
_IN_KERNEL: list[weakref.ref[Sandbox]] = []
_IN_KERNEL_LOCK = threading.Lock()


def current() -> Sandbox | None:
    """The in-kernel sandbox org (the newest running one a Session started), or None when none runs."""
    with _IN_KERNEL_LOCK:
        _IN_KERNEL[:] = [ref for ref in _IN_KERNEL if (sb := ref()) is not None and sb.running]
        newest = _IN_KERNEL[-1]() if _IN_KERNEL else None
    return newest


def _read_scopes() -> list[str]:
    """Every ``okta.*.read`` scope Okta defines (the demo apps are granted all of them)."""
    return sorted(s for s in catalogue().scope_descriptions if s.startswith("okta.") and s.endswith(".read"))


class Sandbox:
    """A local org that behaves like Okta: Org Authorization Server plus a Management API subset.

    Example::

        with Sandbox(port=0, users=500, seed=1) as sb:
            token = sb.issue_token(user="admin", app="native", scopes=["okta.users.read"])
            httpx.get(f"{sb.url}/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    """

    def __init__(
        self,
        port: int = 0,
        users: int = 1000,
        seed: int = 1,
        *,
        host: str = "127.0.0.1",
        rate_limits: Mapping[str, int] | str | None = None,
        concurrency_limit: int | None = None,
        latency: float = 0.0,
        error_rate: float = 0.0,
        rate_429: float = 0.0,
        drop_rate: float = 0.0,
        token_lifetime: int = ACCESS_TOKEN_LIFETIME,
        in_kernel: bool = False,
    ) -> None:
        """``rate_limits``: a tier name or per-bucket limits; ``token_lifetime``: an access token's seconds.

        ``concurrency_limit``: requests in flight; ``in_kernel``: a Session's own sandbox, which ``current()`` returns.
        """
        if users < len(data.DEMO_PEOPLE):
            raise ConfigError(
                f"The sandbox needs at least {len(data.DEMO_PEOPLE)} users (its demo people); got users={users}."
            )
        self._host = host
        self._port = port
        self.clock = SandboxClock()
        anchor = self.clock() // data.DAY * data.DAY
        seeded = data.seed(users, seed, anchor)
        rng = random.Random(seed * 7919 + 17)
        directory = Directory(seeded, self.clock, rng)
        self._url = ""
        try:
            authority = TokenAuthority(lambda: self._url, self.clock, check_lifetime(token_lifetime))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        service_key = new_rsa_key()
        service_pems = (
            private_pem(service_key),
            service_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii"),
        )
        web_secret = "".join(rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", k=40))
        apps = data.demo_apps(_read_scopes(), service_pems, web_secret)
        directory.register_demo_apps(apps.values())
        security = Security(directory, seed, anchor)  # its own generator: the directory above is unchanged
        for event in seed_events(security, random.Random(f"{seed}-security-events")):
            directory.add_event(event)  # kept in published order among the directory's own events
        try:
            limiter = RateLimiter(rate_limits, self.clock)
            traffic = Traffic(limiter.concurrency_limit)
            if concurrency_limit is not None:
                traffic.set_concurrency_limit(concurrency_limit)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        self._state = OrgState(
            directory,
            authority,
            limiter,
            Knobs(seed, latency, error_rate, rate_429, drop_rate),
            self.clock,
            apps,
            traffic=traffic,
            security=security,
        )
        self._app = build_app(self._state)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._in_kernel = in_kernel

    def __repr__(self) -> str:
        return f"Sandbox(url={self._url or 'not started'!r}, users={len(self._state.directory.users)})"

    # ---- lifecycle ---------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind the port, start serving in a background thread, return once requests are accepted."""
        if self._thread is not None:
            return self
        # IPPROTO_TCP named explicitly: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
        # whose proto says TCP; with proto 0 a response's body waited ~40 ms for the ACK of its headers.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"The sandbox cannot listen on {self._host}:{self._port} ({exc.strerror}); "
                "choose another port (port=0 picks a free one)."
            ) from None
        sock.listen(128)
        port = sock.getsockname()[1]
        shown_host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        self._url = f"http://{shown_host}:{port}"
        self._state.url = self._url
        self._state.directory.set_base_url(self._url)
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            date_header=False,
            server_header=False,
            lifespan="off",
            http="h11",
            loop="asyncio",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"okta-sandbox-{port}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise ConfigError(f"The sandbox org did not start on {self._url}; see the log above.")
            time.sleep(0.005)
        self._server, self._thread, self._sock = server, thread, sock
        if self._in_kernel:
            with _IN_KERNEL_LOCK:
                _IN_KERNEL.append(weakref.ref(self))
        return self

    def stop(self) -> None:
        """Stop serving and wait for the server thread to end."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(timeout=5)
        self._sock.close()
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- what the org holds ------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True from ``start()`` until ``stop()`` (while the server thread lives)."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def token_lifetime(self) -> int:
        """Seconds an access token minted from now on lasts (``exp - iat`` and ``expires_in``)."""
        return self._state.authority.access_lifetime

    @property
    def url(self) -> str:
        """The org URL, which is also the issuer (no trailing slash)."""
        return self._url

    @property
    def apps(self) -> dict[str, DemoApp]:
        """The demo OAuth clients by short name: native, users-only, offline, web, service."""
        return self._state.apps

    @property
    def demo_users(self) -> dict[str, DemoUser]:
        """The people who can sign in: admin, readonly, helpdesk, user."""
        return self._state.directory.demo_users

    def user_ids(self, include_deprovisioned: bool = False) -> list[str]:
        """The org's user ids in list order (DEPROVISIONED left out unless asked, like the default listing)."""
        return self._state.directory.user_ids(include_deprovisioned)

    # ---- controls ----------------------------------------------------------------------

    def add_redirect_uri(self, app: str, uri: str) -> None:
        """Register one more login redirect URI on a demo app (exact match, like Okta)."""
        demo = self._app_named(app)
        if uri not in demo.redirect_uris:
            demo.redirect_uris.append(uri)
            oauth_client = self._state.directory.apps[demo.client_id]["settings"]["oauthClient"]
            oauth_client["redirect_uris"] = list(demo.redirect_uris)

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox clock forward (codes last 300 s, access tokens ``token_lifetime``, rate windows 60 s)."""
        self.clock.advance(seconds)

    def set_knobs(
        self,
        latency: float | None = None,
        error_rate: float | None = None,
        rate_429: float | None = None,
        drop_rate: float | None = None,
        concurrency_limit: int | None = None,
        token_lifetime: int | None = None,
    ) -> None:
        """Change the fault knobs, the concurrency limit and the access-token lifetime; left out keeps its value.

        A new ``token_lifetime`` applies to tokens minted from now on; tokens already issued keep their ``exp``.
        """
        lifetime = None if token_lifetime is None else check_lifetime(token_lifetime)
        self._state.knobs.set(latency, error_rate, rate_429, drop_rate)
        if concurrency_limit is not None:
            self._state.traffic.set_concurrency_limit(concurrency_limit)
        if lifetime is not None:
            self._state.authority.access_lifetime = lifetime

    def set_latency(self, pattern: str, seconds: float | None) -> None:
        """Hold the requests whose path a template matches (``"/api/v1/groups/{id}/users"``); None removes it."""
        self._state.knobs.set_latency(pattern, seconds)

    def set_rate_limit(self, bucket: str, per_minute: int) -> None:
        """Set the per-minute limit of an endpoint bucket (e.g. ``"/api/v1/users"``) and restart its window."""
        self._state.limiter.set_limit(bucket, per_minute)

    def rate_limits(self) -> dict[str, int]:
        """The per-minute limit of every bucket now in force."""
        return self._state.limiter.limits()

    def stats(self) -> SandboxStats:
        """What the org answered: by status and bucket, 429s by cause, requests in flight and their peak."""
        return self._state.traffic.stats()

    def reset_stats(self) -> None:
        """Start counting afresh (requests still in flight stay counted)."""
        self._state.traffic.reset()

    def issue_token(self, user: str = "admin", app: str = "native", scopes: list[str] | None = None) -> str:
        """Mint an access token directly, skipping the sign-in (for tests; scopes are not checked)."""
        demo = self._app_named(app)
        person = self._person(user)
        token, _ = self._state.authority.mint_access_token(
            client_id=demo.client_id,
            scopes=list(scopes if scopes is not None else demo.scopes),
            user_id=person.id,
            subject=person.login,
        )
        return token

    def create_api_token(self, user: str = "admin") -> str:
        """A new ``SSWS`` API token acting as that demo user (with the user's admin role)."""
        person = self._person(user)
        token = "00" + secrets.token_urlsafe(30)
        self._state.directory.api_tokens[token] = person.id
        security = self._state.security
        if security is not None:
            token_id = "00T" + secrets.token_hex(7) + "5d7"
            security.by_secret[token] = token_id
            security.add_api_token(token_id, person.id, f"okta_magic {user}")
        return token

    def assign_role(self, user: str, role: str) -> str:
        """Give a demo person (or any user, by id or login) a standard admin role; the assignment's id.

        An instructor's shortcut for a lesson's set-up; ``POST /api/v1/users/{id}/roles`` does the same
        through the API (with ``okta.roles.manage``, as a super admin).
        """
        directory = self._state.directory
        people = directory.demo_users
        uid = people[user].id if user in people else directory.find_user(user)
        if uid is None:
            raise ConfigError(f"No user {user!r} in the sandbox org.")
        with directory.lock:
            assignment = directory.assign_role(uid, role)
            directory.touch(uid)
        return str(assignment["id"])

    def _app_named(self, name: str) -> DemoApp:
        try:
            return self._state.apps[name]
        except KeyError:
            raise ConfigError(f"No demo app {name!r}; the sandbox has {', '.join(self._state.apps)}.") from None

    def _person(self, name: str) -> DemoUser:
        people = self._state.directory.demo_users
        found = people.get(name) or next((p for p in people.values() if p.login == name or p.id == name), None)
        if found is None:
            raise ConfigError(f"No demo user {name!r}; the sandbox has {', '.join(people)}.")
        return found
