"""The one-shot loopback listener that receives the browser's redirect (RFC 8252 §7.3).

Owns: binding the loopback address and port of the registered redirect URI,
serving only its path on background threads, handing each callback URL to a
function that decides the reply, answering the browser with a short HTML page,
and closing after the final callback or at the timeout. It knows HTTP and one
OAuth rule, the one that keeps a forged request from touching the sign-in: a
callback must carry the sign-in's ``state`` exactly once (RFC 6749 §10.12);
validating the rest of the callback is the ``on_callback`` function's job
(``browser_login.py`` uses ``authorize.parse_callback``).

Policy: only a request that is addressed to the redirect URI (its ``Host``, a
DNS rebinding defence), on its path, with the sign-in's exact ``state`` once,
reaches ``on_callback``; anything else gets an error page (400, 404, 405) or
a closed connection, and the listener keeps waiting, so nobody who can reach
the port can end a sign-in in progress without knowing ``state``. A callback
that the function does not accept as final also keeps it waiting; the final
one (a code, or an ``error=`` with the right state) closes it. Each connection
must send its whole request head within a read timeout, at most
:data:`MAX_CONNECTIONS` are served at once (the oldest idle one makes way for a
new one), and closing the listener cuts every idle connection, so its threads
do not outlive it. Logs go to the ``okta_magic.flows.loopback`` logger, never stderr,
and never include the query string (it carries the code).

Behind jupyter-server-proxy (a single-user server on JupyterHub) the browser is sent to a proxied
redirect URI, ``https://hub.example.org/user/alice/proxy/<port>/callback``: the proxy strips
``/user/alice/proxy/<port>`` and forwards the request to the listener with the browser's own
``Host`` (the hub's name) and ``X-Forwarded-Context: /user/alice/proxy/<port>``. Given that
``public_uri``, the listener also accepts a request whose ``Host`` is the public URI's authority,
but only with exactly that ``X-Forwarded-Context``; every other rule stays as it is.
"""

from __future__ import annotations

import errno
import hmac
import html
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from okta_magic.errors import ConfigError

__all__ = ["CallbackReply", "LoopbackListener"]

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"localhost": "127.0.0.1", "127.0.0.1": "127.0.0.1", "::1": "::1"}
READ_TIMEOUT = 5.0
"""Seconds a connection has to send its whole request head (a browser sends it at once)."""
MAX_CONNECTIONS = 16
"""Connections served at once; a browser opens a few, the rest would only be an attack."""


@dataclass(frozen=True)
class CallbackReply:
    """What the browser is told about a callback, and whether it ends the listening.

    Attributes:
        final: True for the one callback that completes (or definitively fails) the
            sign-in; the listener closes after answering it.
        title: page heading, e.g. "Signed in".
        message: one or two sentences (plain text; it is HTML-escaped).
        status: HTTP status of the page.
    """

    final: bool
    title: str
    message: str
    status: int = 200


def _page(reply: CallbackReply) -> bytes:
    colour = "#0a7a2f" if reply.status < 400 else "#b00020"
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(reply.title)} - okta_magic</title></head>"
        '<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto">'
        f'<h1 style="color:{colour}">{html.escape(reply.title)}</h1>'
        f"<p>{html.escape(reply.message)}</p></body></html>"
    ).encode()


@dataclass
class _Connection:
    """One accepted connection: its socket, its thread, and until when it may take to send its request head."""

    sock: socket.socket
    thread: threading.Thread
    deadline: float
    busy: bool = False  # the request head has arrived; it is being answered
    cut: bool = False


def _cut(sock: socket.socket) -> None:
    """Shut a connection down from another thread; its blocked read returns at once (the owner closes it)."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(HTTPServer):
    # One thread per connection, tracked by the listener so that it can time them out, cap them and
    # cut them on close (socketserver.ThreadingMixIn keeps no such handle on its threads).
    request_queue_size = 64
    listener: LoopbackListener

    def process_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore
        if not self.listener._admit(self, request, client_address):
            self.shutdown_request(request)

    def serve_connection(self, request: socket.socket, client_address: tuple[str, int]) -> None:
        """Answer one connection (on its own thread) and forget it."""
        try:
            self.finish_request(request, client_address)
        except Exception:  # noqa: BLE001 - a dropped or garbled connection is routine here
            self.handle_error(request, client_address)
        finally:
            self.listener._forget(request)
            self.shutdown_request(request)

    def service_actions(self) -> None:
        # called by serve_forever between polls
        self.listener._cut_overdue()

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # socketserver prints these to stderr; a dropped or garbled connection is routine here
        log.debug("loopback connection from %s failed", client_address[0], exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "okta_magic-loopback"
    sys_version = ""
    default_request_version = "HTTP/1.0"  # a refusal before the version is read still gets a status line

    def setup(self) -> None:
        # a per-read (and per-write) timeout; the whole head's deadline is enforced by the server's sweep
        self.timeout = self.server.listener.read_timeout
        super().setup()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("loopback %s: " + format, self.client_address[0], *args)

    def log_error(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        # the stdlib's messages quote the request line, which may carry a code: log only the status
        status = args[0] if args and isinstance(args[0], int) else "read timed out"
        log.debug("loopback %s: refused a malformed request (%s)", self.client_address[0], status)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # the request line holds the authorization code; log only method, path and status
        path = urlsplit(getattr(self, "path", "") or "").path[:200].encode("unicode_escape").decode()
        log.debug("loopback %s %s -> %s", self.command, path, code)

    def parse_request(self) -> bool:
        if len(self.raw_requestline.split()) == 2:
            # HTTP/0.9 (no version, so no status line to answer with; RFC 9112 §3 requires one): hang up
            self.close_connection = True
            return False
        if not super().parse_request():
            return False
        self.server.listener._mark_busy(self.connection)
        return True

    def _send(self, reply: CallbackReply) -> None:
        body = _page(reply)
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")  # RFC 6749 §5.1 spirit: never cache a page reached with a code
        self.send_header("Referrer-Policy", "no-referrer")  # keep the code out of Referer headers
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def do_GET(self) -> None:
        listener = self.server.listener
        # the target as sent: self.path has had leading slashes collapsed ("//callback" -> "/callback")
        target = listener._target(self.requestline.split()[1], self.headers.get_all("Host") or [],
                                  self.headers.get_all("X-Forwarded-Context") or [])
        if isinstance(target, CallbackReply):
            self._send(target)
            return
        path, query = target
        if path != listener.path:
            self._send(CallbackReply(False, "Not found", "This address only receives the Okta sign-in redirect.", 404))
            return
        if not listener._carries_state(query):
            log.debug("loopback %s: refused a callback without this sign-in's state", self.client_address[0])
            self._send(_NOT_THIS_SIGN_IN)
            return
        reply = listener._handle(path, query)
        self._send(reply)
        if reply.final:
            listener._finish_soon()

    def do_HEAD(self) -> None:
        self._send(CallbackReply(False, "Not found", "Only GET is served here.", 404))

    def do_POST(self) -> None:
        self._send(CallbackReply(False, "Method not allowed", "Only GET is served here.", 405))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_CONNECT = do_TRACE = do_POST


def _proxied_authority(public_uri: str, port: int | None, path: str) -> tuple[str, str]:
    """The ``Host`` and ``X-Forwarded-Context`` a jupyter-server-proxy sends for ``public_uri`` (checked)."""
    parts = urlsplit(public_uri)
    context = f"/proxy/{port}"
    if (parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment
            or not parts.path.endswith(context + path) or not parts.path.startswith("/")):
        raise ConfigError(f"The proxied redirect URI {public_uri} is not <server>/proxy/{port}{path}.")
    default = {"http": 80, "https": 443}[parts.scheme]
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    authority = host if parts.port in (None, default) else f"{host}:{parts.port}"
    return authority.lower(), parts.path[: len(parts.path) - len(path)]


_BAD_REQUEST = CallbackReply(False, "Bad request", "This address only receives the Okta sign-in redirect.", 400)


def _wrong_host(authority: str) -> CallbackReply:
    """The refusal for a request addressed to another host (RFC 9112 §3.2: 400)."""
    return CallbackReply(False, "Wrong address", f"This listener only answers requests for {authority}.", 400)


_ALREADY_FINISHED = CallbackReply(
    False, "Already finished", "This sign-in is already over. Return to your notebook.", 410
)
_NOT_THIS_SIGN_IN = CallbackReply(
    False,
    "Not this sign-in",
    "This redirect does not carry the state of the sign-in in progress (state mismatch), so it was ignored and "
    "the sign-in is still waiting. Use the newest sign-in link.",
    400,
)


class LoopbackListener:
    """Listens on the redirect URI's loopback host and port for the sign-in redirect.

    Args:
        redirect_uri: the registered redirect URI, ``http://127.0.0.1:<port>/<path>``,
            ``http://localhost:...`` or ``http://[::1]:...``; port 0 picks a free port
            (tests), see :attr:`redirect_uri` for the actual one.
        on_callback: called (one call at a time) with the full redirect URL; returns the
            page to show and whether the listening is over.
        timeout: seconds to wait for a final callback; ``None`` waits until :meth:`close`.
        on_timeout: called once if the timeout passes first.
        state: the sign-in's ``state``; a callback that does not carry exactly this value, once,
            is refused before ``on_callback`` sees it. ``None`` leaves that check to ``on_callback``.
        read_timeout: seconds a connection has to send its request head (default :data:`READ_TIMEOUT`).
        max_connections: connections served at once (default :data:`MAX_CONNECTIONS`).
        public_uri: the redirect URI the browser is sent to when a jupyter-server-proxy carries it to this
            listener (``<scheme>://<hub host>/<prefix>/proxy/<port><path>``, the same port and path); its
            ``Host`` is accepted with the proxy's ``X-Forwarded-Context`` for that prefix.
    """

    def __init__(
        self,
        redirect_uri: str,
        on_callback: Callable[[str], CallbackReply],
        timeout: float | None = 300.0,
        *,
        on_timeout: Callable[[], None] | None = None,
        state: str | None = None,
        read_timeout: float | None = None,
        max_connections: int | None = None,
        public_uri: str | None = None,
    ) -> None:
        parts = urlsplit(redirect_uri)
        host = parts.hostname or ""
        if parts.scheme != "http" or host not in LOOPBACK_HOSTS:
            raise ConfigError(
                f"The redirect URI {redirect_uri} is not a loopback address; use http://127.0.0.1:<port>/callback or "
                "http://localhost:<port>/callback (registered in the app's Login redirect URIs)."
            )
        if parts.port is None:
            raise ConfigError(f"The redirect URI {redirect_uri} has no port; use e.g. http://127.0.0.1:8765/callback.")
        self._parts = parts
        self._proxied = _proxied_authority(public_uri, parts.port, parts.path or "/") if public_uri else None
        self.public_uri = public_uri
        self.host = host
        self.path = parts.path or "/"
        self._requested_port = parts.port
        self._on_callback = on_callback
        self._timeout = timeout
        self._on_timeout = on_timeout
        self._state = state
        self.read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout
        self.max_connections = MAX_CONNECTIONS if max_connections is None else max_connections
        if not self.read_timeout > 0 or self.max_connections < 1:
            raise ConfigError("The listener needs a positive read timeout and room for at least one connection.")
        self._connections: dict[socket.socket, _Connection] = {}
        self._conn_lock = threading.Lock()
        self._accepting = True
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._timer: threading.Timer | None = None
        self._handle_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._finished = False
        self._closed = threading.Event()
        self.port = parts.port

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> LoopbackListener:
        """Bind and start serving in the background; returns at once.

        Raises:
            ConfigError: the port is in use (says how to choose another).
        """
        primary = self._bind(LOOPBACK_HOSTS[self.host], self._requested_port, required=True)
        assert primary is not None
        self.port = primary.server_address[1]
        if self.host == "localhost":
            # a browser may resolve localhost to ::1 first; listen there too when IPv6 is available
            extra = self._bind("::1", self.port, required=False)
            if extra is not None:
                log.debug("also listening on [::1]:%s", self.port)
        for server in self._servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"okta-loopback-{self.port}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        if self._timeout is not None:
            self._timer = threading.Timer(self._timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()
        log.info("listening for the sign-in redirect on %s", self.redirect_uri)
        return self

    def _bind(self, address: str, port: int, *, required: bool) -> _Server | None:
        server_class: type[_Server] = _Server6 if ":" in address else _Server
        try:
            server = server_class((address, port), _Handler)
        except OSError as exc:
            if not required:
                return None
            for server in self._servers:
                server.server_close()
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                raise ConfigError(
                    f"Port {port} on {self.host} is in use, so the sign-in redirect cannot be received here."
                ).with_fix("another_redirect_uri") from None
            raise ConfigError(f"Cannot listen on {address}:{port} for the sign-in redirect ({exc.strerror}).") from None
        server.listener = self
        self._servers.append(server)
        return server

    @property
    def redirect_uri(self) -> str:
        """The redirect URI with the actual port (differs from the given one only for port 0)."""
        netloc = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        return urlunsplit((self._parts.scheme, netloc, self._parts.path, "", ""))

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Block until the listener has closed; False if ``timeout`` passed first."""
        return self._closed.wait(timeout)

    def close(self) -> None:
        """Stop listening and free the port (idempotent; safe from any thread)."""
        with self._state_lock:
            self._finished = True
            if self._closed.is_set():
                return
            servers, self._servers = self._servers, []
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        for server in servers:
            server.shutdown()
            server.server_close()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=5)
        # No new connection is admitted now; cut the idle ones and wait for their threads. A connection
        # whose request is being answered finishes on its own: joining it here could wait on the very
        # callback (and its locks) that is closing the listener.
        with self._conn_lock:
            self._accepting = False
            idle = [c for c in self._connections.values() if not c.busy]
            for conn in idle:
                conn.cut = True
                _cut(conn.sock)
        for conn in idle:
            if conn.thread is not current:
                conn.thread.join(timeout=self.read_timeout)
        self._closed.set()
        log.info("stopped listening on port %s", self.port)

    def __enter__(self) -> LoopbackListener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LoopbackListener({self.redirect_uri}, {'closed' if self.closed else 'open'})"

    # -- called from handler threads -------------------------------------------------

    def _admit(self, server: _Server, sock: socket.socket, client_address: tuple[str, int]) -> bool:
        """Start a thread for a new connection; False (the caller hangs up) when closing or full of busy ones."""
        thread = threading.Thread(
            target=server.serve_connection,
            args=(sock, client_address),
            name=f"okta-loopback-conn-{self.port}",
            daemon=True,
        )
        victims: list[threading.Thread] = []
        with self._conn_lock:
            if not self._accepting:
                return False
            if len(self._connections) >= self.max_connections:
                # the oldest connection that has not sent its request makes way (a browser sends at once)
                idle = [c for c in self._connections.values() if not c.busy and not c.cut]
                if idle:
                    oldest = min(idle, key=lambda c: c.deadline)
                    oldest.cut = True
                    _cut(oldest.sock)
                victims = [c.thread for c in self._connections.values() if c.cut]
        for victim in victims:
            victim.join(timeout=0.5)  # a cut connection's read returns at once; its thread ends
        with self._conn_lock:
            if not self._accepting or len(self._connections) >= self.max_connections:
                log.debug("loopback: %s connections busy; hung up on a new one", len(self._connections))
                return False
            thread.start()  # it waits for this lock before it touches the table
            self._connections[sock] = _Connection(sock, thread, time.monotonic() + self.read_timeout)
        return True

    def _forget(self, sock: socket.socket) -> None:
        with self._conn_lock:
            self._connections.pop(sock, None)

    def _mark_busy(self, sock: socket.socket) -> None:
        with self._conn_lock:
            conn = self._connections.get(sock)
            if conn is not None:
                conn.busy = True

    def _cut_overdue(self) -> None:
        """Cut connections that have not sent a whole request head within the read timeout (slowloris)."""
        now = time.monotonic()
        with self._conn_lock:
            for conn in self._connections.values():
                if not conn.busy and not conn.cut and conn.deadline <= now:
                    conn.cut = True
                    _cut(conn.sock)

    def _authorities(self) -> frozenset[str]:
        """The ``Host`` values a browser sends for the redirect URI (lower case)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        names = {f"{host}:{self.port}"}
        if self.port == 80:
            names.add(host)  # RFC 9110 §4.2.3 / §7.2: a browser leaves the default port out of Host
        return frozenset(names)

    def _through_proxy(self, hosts: list[str], contexts: Sequence[str]) -> bool:
        """True for a request the jupyter-server-proxy of ``public_uri`` forwarded: its Host and its context."""
        if self._proxied is None or len(hosts) != 1 or len(contexts) != 1:
            return False
        authority, context = self._proxied
        return hosts[0].strip().lower() == authority and contexts[0].strip() == context

    def _target(self, target: str, hosts: list[str], contexts: Sequence[str] = ()) -> tuple[str, str] | CallbackReply:
        """The path and query of a GET addressed to the redirect URI, or the refusal to send."""
        if not target or "#" in target or any(not "!" <= ch <= "~" for ch in target):
            # RFC 9112 §3.2 / RFC 3986 §3: a request target is visible ASCII and never carries a fragment
            return _BAD_REQUEST
        authorities = self._authorities()
        if target.startswith("/"):
            # RFC 9112 §3.2: exactly one Host. It must name the redirect URI's host and port: a page on
            # another name that resolves to this address (DNS rebinding) sends its own name.
            if (len(hosts) != 1 or hosts[0].strip().lower() not in authorities) and not self._through_proxy(
                    hosts, contexts):
                return _wrong_host(sorted(authorities)[0])
            path, _, query = target.partition("?")
            return path, query
        if "://" not in target:
            return _BAD_REQUEST  # the authority and asterisk forms are for CONNECT and OPTIONS only
        parts = urlsplit(target)
        if parts.scheme.lower() == "http" and parts.netloc.lower() in authorities:
            # RFC 9112 §3.2.2: the absolute form's authority is the one that counts, not Host
            return parts.path or "/", parts.query
        return _wrong_host(sorted(authorities)[0])

    def _carries_state(self, query: str) -> bool:
        """True when the query has the sign-in's ``state`` exactly once (or no state is expected)."""
        if self._state is None:
            return True
        # parsed as authorize.parse_callback parses it, so that both see the same parameters
        values = [value for name, value in parse_qsl(query, keep_blank_values=True) if name == "state"]
        # RFC 6749 §3.1: a parameter is sent at most once; §10.12: state binds the redirect to this
        # sign-in; compared in constant time
        return len(values) == 1 and hmac.compare_digest(values[0].encode(), self._state.encode())

    def _handle(self, path: str, query: str) -> CallbackReply:
        netloc = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        url = urlunsplit((self._parts.scheme, netloc, path, query, ""))
        if self._finished:
            # closing (perhaps by the callback that holds the lock): answer at once rather than wait for it
            return _ALREADY_FINISHED
        with self._handle_lock:
            if self._finished:
                return _ALREADY_FINISHED
            try:
                reply = self._on_callback(url)
            except Exception:  # noqa: BLE001 - a bug in the callback must not kill the listener
                log.exception("the sign-in callback handler failed")
                return CallbackReply(
                    False, "Sign-in error", "Something went wrong handling this redirect; see the notebook.", 500
                )
            if reply.final:
                self._finished = True
            return reply

    def _finish_soon(self) -> None:
        # shutdown() waits for serve_forever, so it must not run inside a handler it waits on
        threading.Thread(target=self.close, name="okta-loopback-close", daemon=True).start()

    def _expire(self) -> None:
        with self._handle_lock:
            if self._finished:
                return
            self._finished = True
        log.info("no sign-in redirect arrived within %s s", self._timeout)
        try:
            if self._on_timeout is not None:
                self._on_timeout()
        finally:
            self.close()
