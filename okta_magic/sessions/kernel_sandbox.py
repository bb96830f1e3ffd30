"""The in-kernel sandbox org a session signs in to: started on demand or shared, and the ways to reach it.

A :class:`KernelSandbox` is the small collaborator a ``Session`` holds for the built-in sandbox org
(``okta_magic.sandbox``): it starts one in this process once (or shares another session's, never
stopping that one), registers the redirect URIs its demo apps accept, hands out a demo service app's
key, and plays the browser of an unattended demo sign-in. Behind jupyter-server-proxy (JupyterHub) it
knows which public address stands for which loopback one. Nothing here holds a token.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import httpx

from okta_magic import config as cfg
from okta_magic.errors import ConfigError
from okta_magic.tokens import Secret, secret

if TYPE_CHECKING:
    from okta_magic.sandbox import Sandbox

log = logging.getLogger(__name__)


class KernelSandbox:
    """The sandbox org of one session: started here on demand, or another session's shared."""

    def __init__(self, resolve: Callable[..., cfg.OktaConfig], environ: Mapping[str, str] | None,
                 sandbox: Sandbox | None = None) -> None:
        """``resolve`` layers settings as the session does; ``environ`` tells whether a server proxy is there."""
        self._resolve = resolve
        self._environ = environ
        self._lock = threading.RLock()
        self.sandbox: Sandbox | None = sandbox
        self._owns = sandbox is None  # a sandbox this session starts is this session's to stop
        # proxied redirect URIs registered for the in-kernel sandbox -> the loopback URI each listener binds
        self._proxied: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<KernelSandbox {self.sandbox.url if self.sandbox is not None else 'not started'}>"

    def start(self, *, users: int = 1000, seed: int = 1, token_lifetime: int | None = None) -> Sandbox:
        """Start the built-in sandbox org in this process, once per session (``okta_magic.sandbox.current()``).

        ``token_lifetime``: seconds an access token lasts (Okta's one hour when None); given for a sandbox
        already running, it applies to the tokens minted from now on.
        """
        with self._lock:
            if self.sandbox is None:
                try:
                    from okta_magic.sandbox import Sandbox
                except ImportError as exc:  # the sandbox extra is not installed
                    raise ConfigError("The sandbox needs its extra: pip install 'okta_magic[sandbox]'.") from exc
                lifetime = {} if token_lifetime is None else {"token_lifetime": token_lifetime}
                self.sandbox = Sandbox(port=0, users=users, seed=seed, in_kernel=True, **lifetime).start()
                self._owns = True
            elif token_lifetime is not None:
                try:
                    self.sandbox.set_knobs(token_lifetime=token_lifetime)
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
            return self.sandbox

    @property
    def owns(self) -> bool:
        """True when this session started the sandbox it holds (closing it stops that sandbox)."""
        return self.sandbox is not None and self._owns

    def share(self, sandbox: Sandbox) -> None:
        """Use a sandbox org another session started (this session never stops it); no-op if one is held."""
        with self._lock:
            if self.sandbox is None:
                self.sandbox, self._owns = sandbox, False

    def settings(self, app: str = "native", redirect_uri: str | None = None) -> dict[str, object]:
        """Org URL, client id and a redirect URI registered with the sandbox app.

        The redirect URI is the one given (registered as an administrator would) or one
        on a free loopback port, so that several kernels can use sandboxes side by side.
        """
        sb = self.start()
        if app not in sb.apps:
            raise ConfigError(f"The sandbox has no app {app!r}; its apps are {', '.join(sb.apps)}.")
        if not redirect_uri:
            port = _free_port()
            redirect_uri = local = f"http://127.0.0.1:{port}/callback"
            proxied = self.through_server_proxy(port)
            if proxied is not None:  # behind jupyter-server-proxy: the browser comes back through it
                redirect_uri = proxied + "/callback"
                self._proxied[redirect_uri] = local
        sb.add_redirect_uri(app, redirect_uri)
        return {"org_url": sb.url, "client_id": sb.apps[app].client_id, "redirect_uri": redirect_uri}

    def through_server_proxy(self, port: int) -> str | None:
        """The absolute address jupyter-server-proxy serves a loopback ``port`` at, when the kernel runs behind one."""
        import os

        from okta_magic.flows import where

        environ = os.environ if self._environ is None else self._environ
        if not where.has_server_proxy(environ):
            return None
        return where.proxied_url(where.detect(environ, exists=lambda _path: False), port)

    def listener_for(self, redirect_uri: str | None) -> str | None:
        """The listener's own address for a redirect URI that comes through jupyter-server-proxy, else None."""
        from okta_magic.flows import where

        return self._proxied.get(redirect_uri or "") or where.proxy_listener(redirect_uri, self._environ)

    def proxied_sign_in(self, config: cfg.OktaConfig) -> tuple[str | None, str | None]:
        """For a sign-in through jupyter-server-proxy: the loopback URI its listener binds (``listener_for``), and
        for the in-kernel sandbox the base its sign-in page is reached through; each None when not proxied."""
        listen_uri = self.listener_for(config.redirect_uri)
        sb = self.sandbox
        if listen_uri is None or sb is None or config.org_url != sb.url:
            return listen_uri, None
        return listen_uri, self.through_server_proxy(port_of(sb.url))

    def proxied(self, redirect_uri: str | None) -> bool:
        """True when ``redirect_uri`` is a sandbox redirect URI that comes back through jupyter-server-proxy."""
        return bool(redirect_uri) and redirect_uri in self._proxied

    def config(self, app: str = "native", *layers: Mapping[str, object | None]) -> cfg.OktaConfig:
        """The layers' settings for a sandbox app: its org URL, client id and a registered redirect URI win.

        The redirect URI asked for by a layer is registered with the app (else one on a free port).
        """
        wanted = [str(layer["redirect_uri"]) for layer in layers if layer.get("redirect_uri")]
        return self._resolve(*layers, self.settings(app, wanted[-1] if wanted else None))

    def service_key(self, app: str) -> Secret | None:
        """The private key of a sandbox service app (held in this process), or None for other apps."""
        demo = self.sandbox.apps.get(app) if self.sandbox is not None else None
        return secret(demo.private_key_pem) if demo is not None and demo.application_type == "service" else None

    def browser(self, user: str) -> Callable[[str], object]:
        """A browser stand-in that signs in to the sandbox as ``user`` through its unattended path.

        It still goes authorize -> 302 -> the redirect URI (our listener) -> token
        exchange; only the sign-in page is skipped (``sandbox_user``, sandbox only).
        """
        sb = self.sandbox
        if sb is None:
            raise ConfigError("A demo user signs in to the sandbox only:").with_fix("use_the_sandbox")
        if user not in sb.demo_users:
            raise ConfigError(f"No demo user {user!r}; the sandbox's demo users are {', '.join(sb.demo_users)}.")

        def browse(url: str) -> None:
            def run() -> None:
                try:
                    # from inside the kernel, straight to the sandbox and the listener, never through a proxy
                    url_here = self._unproxied(url)
                    status, location = _browser_get(str(httpx.URL(url_here).copy_add_param("sandbox_user", user)))
                    if status in (301, 302, 303) and location:
                        _browser_get(self._unproxied(location))
                    else:
                        log.warning("sandbox sign-in page answered %s", status)
                except OSError as exc:  # the listener is gone (sign-in cancelled); the flow reports its own end
                    log.debug("sandbox browser stand-in could not reach the redirect: %s", type(exc).__name__)
            threading.Thread(target=run, name="okta-sandbox-browser", daemon=True).start()

        return browse

    def _unproxied(self, url: str) -> str:
        """A proxied sandbox or redirect address turned into the loopback one it stands for (others unchanged)."""
        for public, local in self._proxied.items():
            if url == public or url.startswith(public + "?"):
                return local + url[len(public):]
        sb = self.sandbox
        base = self.through_server_proxy(port_of(sb.url)) if sb is not None else None
        if sb is not None and base and (url == base or url.startswith(base + "/")):
            return sb.url + url[len(base):]
        return url

    def close(self) -> None:
        """Stop the sandbox if this session started it; forget it either way."""
        with self._lock:
            if self.sandbox is not None and self._owns:
                self.sandbox.stop()
            self.sandbox = None


def _browser_get(url: str) -> tuple[int, str | None]:
    """GET ``url`` as a browser would, outside this process's logs: the status and the Location header.

    The standard library's HTTP client, not httpx: httpcore's DEBUG log records response headers,
    and the authorization code travels in the redirect's Location (RFC 6749 §4.1.2).
    """
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("location")
    finally:
        connection.close()


def port_of(url: str) -> int:
    """The port of an http(s) URL (its scheme's default when it names none)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _free_port() -> int:
    """A loopback port nobody listens on right now (for a sandbox redirect URI)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
