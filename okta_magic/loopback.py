"""The one-shot loopback listener that receives the browser's redirect (RFC 8252 §7.3).

Owns: binding the loopback address and port of the registered redirect URI,
serving only its path on a background thread, handing each callback URL to a
function that decides the reply, answering the browser with a short HTML page,
and closing after the final callback or at the timeout. It knows HTTP, not
OAuth: validating the callback is the ``on_callback`` function's job
(``login.py`` uses ``oauth.parse_callback``).

Policy: a callback that the function does not accept as final (e.g. a wrong
``state``, which anyone can forge) gets an error page and the listener keeps
waiting, so it cannot be used to knock out a sign-in in progress; the final
one (a code, or an ``error=`` with the right state) closes it. Other paths
(``/favicon.ico``...) get 404 and garbage requests get 400, both without
consuming the listener. Logs go to the ``okta_magic.loopback`` logger, never
stderr, and never include the query string (it carries the code).
"""

from __future__ import annotations

import errno
import html
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, urlunsplit

from okta_magic.errors import ConfigError

__all__ = ["CallbackReply", "LoopbackListener"]

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = {"localhost": "127.0.0.1", "127.0.0.1": "127.0.0.1", "::1": "::1"}


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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # the final request's own thread closes the server
    listener: LoopbackListener

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        # socketserver prints these to stderr; a dropped or garbled connection is routine here
        log.debug("loopback connection from %s failed", client_address[0], exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "okta_magic-loopback"
    sys_version = ""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("loopback %s: " + format, self.client_address[0], *args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # the request line holds the authorization code; log only method, path and status
        log.debug("loopback %s %s -> %s", self.command, urlsplit(self.path).path, code)

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
        if urlsplit(self.path).path != listener.path:
            self._send(CallbackReply(False, "Not found", "This address only receives the Okta sign-in redirect.", 404))
            return
        reply = listener._handle(self.path)
        self._send(reply)
        if reply.final:
            listener._finish_soon()

    def do_HEAD(self) -> None:
        self._send(CallbackReply(False, "Not found", "Only GET is served here.", 404))

    def do_POST(self) -> None:
        self._send(CallbackReply(False, "Method not allowed", "Only GET is served here.", 405))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_POST


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
    """

    def __init__(
        self,
        redirect_uri: str,
        on_callback: Callable[[str], CallbackReply],
        timeout: float | None = 300.0,
        *,
        on_timeout: Callable[[], None] | None = None,
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
        self.host = host
        self.path = parts.path or "/"
        self._requested_port = parts.port
        self._on_callback = on_callback
        self._timeout = timeout
        self._on_timeout = on_timeout
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
                    f"Port {port} on {self.host} is in use, so the sign-in redirect cannot be received here. "
                    "Register another loopback redirect URI (e.g. http://127.0.0.1:8766/callback) in the app's "
                    "Login redirect URIs and pass it with --redirect-uri, or stop the program using the port."
                ) from None
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
        self._closed.set()
        log.info("stopped listening on port %s", self.port)

    def __enter__(self) -> LoopbackListener:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LoopbackListener({self.redirect_uri}, {'closed' if self.closed else 'open'})"

    # -- called from handler threads -------------------------------------------------

    def _handle(self, path_and_query: str) -> CallbackReply:
        netloc = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        url = f"{self._parts.scheme}://{netloc}{path_and_query}"
        with self._handle_lock:
            if self._finished:
                return CallbackReply(
                    False, "Already finished", "This sign-in is already over. Return to your notebook.", 410
                )
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
