"""The per-kernel session: one configuration, one token, one sign-in in flight, one client.

``OktaSession`` glues the plain-Python pieces together (config, LoginFlow,
Token, OktaClient, the in-kernel sandbox) and is what both the magics and the
module-level API (``okta_magic.login``, ``okta_magic.get`` …) talk to. It holds
the token in memory only: nothing here writes a file or an environment variable.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import httpx

from . import config as cfg
from .errors import ConfigError, LoginError, NotSignedIn, OktaMagicError
from .scopes import catalogue
from .tokens import InMemoryOnly, TokenKeeper, secret

if TYPE_CHECKING:
    from .client import OktaClient
    from .device import DeviceLogin
    from .dpop import DPoPKey
    from .login import LoginFlow, LoginStatus, Step
    from .sandbox import Sandbox
    from .tokens import Token

log = logging.getLogger(__name__)

Listener = Callable[["OktaSession"], None]


class OktaSession(InMemoryOnly):
    """Everything one kernel (or one script) knows about its Okta sign-in."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._environ = environ
        self._lock = threading.RLock()
        self.config: cfg.OktaConfig | None = None
        self.flow: LoginFlow | DeviceLogin | None = None
        self.sandbox: Sandbox | None = None
        self._keeper: TokenKeeper | None = None  # the token, refreshed before expiry when it can be
        self._client_secret: str | None = None
        self._client: OktaClient | None = None
        self._oauth_http: httpx.Client | None = None
        self._listeners: list[Listener] = []
        self.sign_in_wait = 300.0  # how long a request waits for a sign-in still in progress

    # -- configuration -------------------------------------------------

    def resolve_config(self, *layers: Mapping[str, object | None]) -> cfg.OktaConfig:
        """Environment < each given layer (traits, then options); checked."""
        return cfg.merge(cfg.from_environ(self._environ), *layers,
                         known_scopes=catalogue().scope_descriptions)

    # -- observers (the panel) -----------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(session)`` whenever the sign-in state changes; returns an unsubscribe."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _notify(self) -> None:
        for listener in list(self._listeners):
            try:
                listener(self)
            except Exception:  # a broken observer must not break the sign-in
                log.exception("session listener failed")

    # -- the sandbox org -------------------------------------------------

    def start_sandbox(self, *, users: int = 1000, seed: int = 1) -> Sandbox:
        """Start the built-in sandbox org in this process, once."""
        with self._lock:
            if self.sandbox is None:
                try:
                    from .sandbox import Sandbox
                except ImportError as exc:  # the sandbox extra is not installed
                    raise ConfigError("The sandbox needs its extra: pip install 'okta_magic[sandbox]'.") from exc
                self.sandbox = Sandbox(port=0, users=users, seed=seed).start()
            return self.sandbox

    def sandbox_settings(self, app: str = "native", redirect_uri: str | None = None) -> dict[str, object]:
        """Org URL, client id and a redirect URI registered with the sandbox app.

        The redirect URI is the one given (registered as an administrator would) or one
        on a free loopback port, so that several kernels can use sandboxes side by side.
        """
        sb = self.start_sandbox()
        if app not in sb.apps:
            raise ConfigError(f"The sandbox has no app {app!r}; its apps are {', '.join(sb.apps)}.")
        redirect_uri = redirect_uri or f"http://127.0.0.1:{_free_port()}/callback"
        sb.add_redirect_uri(app, redirect_uri)
        return {"org_url": sb.url, "client_id": sb.apps[app].client_id, "redirect_uri": redirect_uri}

    def sandbox_browser(self, user: str) -> Callable[[str], object]:
        """A browser stand-in that signs in to the sandbox as ``user`` through its unattended path.

        It still goes authorize -> 302 -> the redirect URI (our listener) -> token
        exchange; only the sign-in page is skipped (``sandbox_user``, sandbox only).
        """
        sb = self.sandbox
        if sb is None:
            raise ConfigError("--as works with --sandbox only.")
        if user not in sb.demo_users:
            raise ConfigError(f"No demo user {user!r}; the sandbox's demo users are {', '.join(sb.demo_users)}.")

        def browse(url: str) -> None:
            def run() -> None:
                status, location = _browser_get(str(httpx.URL(url).copy_add_param("sandbox_user", user)))
                if status in (301, 302, 303) and location:
                    _browser_get(location)
                else:
                    log.warning("sandbox sign-in page answered %s", status)
            threading.Thread(target=run, name="okta-sandbox-browser", daemon=True).start()

        return browse

    # -- signing in --------------------------------------------------------

    def begin_login(
        self,
        config: cfg.OktaConfig,
        *,
        client_secret: str | None = None,
        open_browser: Callable[[str], object] | None = None,
        on_step: Callable[[Step], None] | None = None,
        timeout: float = 300,
    ) -> LoginFlow:
        """Start an Authorization Code + PKCE sign-in; returns at once with the flow."""
        from .login import LoginFlow

        with self._lock:
            self._cancel_flow()
            self.config = config
            self._client_secret = secret(client_secret)
            self._reset_client()
            flow = LoginFlow(
                config.org_url, config.client_id, config.scopes, config.redirect_uri,
                client_secret=client_secret, auth_method=config.auth_method,
                http=self.oauth_http(), clock=self._clock, timeout=timeout,
                on_change=self._on_flow_change, on_step=on_step, dpop=config.dpop,
            )
            self.flow = flow
        flow.start(open_browser=open_browser)
        self._notify()
        return flow

    def begin_device_login(self, config: cfg.OktaConfig, *, client_secret: str | None = None) -> DeviceLogin:
        """Start an RFC 8628 device authorization sign-in (for kernels the browser cannot reach)."""
        from .device import start_device_login

        with self._lock:
            self._cancel_flow()
            self.config = config
            self._client_secret = secret(client_secret)
            self._reset_client()
            login = start_device_login(config.org_url, config.client_id, config.scopes, http=self.oauth_http(),
                                       clock=self._clock, on_change=self._on_flow_change,
                                       client_secret=client_secret, auth_method=config.auth_method)
            self.flow = login
        self._notify()
        return login

    def _on_flow_change(self, status: LoginStatus) -> None:
        if status.phase == "signed_in" and status.token is not None:
            with self._lock:
                self._adopt(status.token)
        self._notify()

    def submit_redirect_url(self, url: str) -> Token:
        """Finish the sign-in in flight with a redirected URL pasted by the user."""
        flow = self.flow
        if flow is None or not hasattr(flow, "submit_redirect_url"):
            raise LoginError("No browser sign-in is in progress: run %okta_login first, then paste the redirected URL.")
        return flow.submit_redirect_url(url)

    def cancel_login(self) -> None:
        """Stop the sign-in in flight (its listener closes); a token already held is kept."""
        with self._lock:
            self._cancel_flow()

    def use_token(self, token: Token, config: cfg.OktaConfig | None = None) -> Token:
        """Adopt a token obtained elsewhere (pasted access token, SSWS key, device or service login)."""
        with self._lock:
            self._cancel_flow()
            if config is not None:
                self.config = config
            self._adopt(token)
        self._notify()
        return token

    def _adopt(self, token: Token) -> None:
        self._keeper = TokenKeeper(token, self._refresher(), clock=self._clock,
                                   on_refresh=lambda _fresh: self._notify())
        self._reset_client()

    @property
    def token(self) -> Token | None:
        return self._keeper.token if self._keeper is not None else None

    @property
    def org_url(self) -> str | None:
        return self.config.org_url if self.config else None

    def logout(self) -> str:
        """Revoke the tokens at the server where possible and forget them; says what happened."""
        from . import oauth

        with self._lock:
            token, conf = self.token, self.config
            self._cancel_flow()
            self._keeper = None
            self._reset_client()
        self._notify()
        if token is None:
            return "Not signed in; nothing to forget."
        if token.token_type == "SSWS" or conf is None:
            return "Forgot the API token (SSWS tokens are revoked in the Admin Console, not from here)."
        revoked = []
        for secret_kind in ("refresh_token", "access_token"):  # one failing does not keep the other alive
            with contextlib.suppress(OktaMagicError, httpx.HTTPError):
                if oauth.revoke_token(conf.org_url, conf.client_id, token, secret_kind,
                                      client_secret=self._client_secret, auth_method=conf.auth_method,
                                      http=self.oauth_http()):
                    revoked.append(secret_kind.replace("_", " "))
        if revoked:
            return f"Signed out: revoked the {' and '.join(revoked)} at {conf.host} and forgot them."
        return f"Signed out: forgot the tokens ({conf.host} could not revoke them; they expire on their own)."

    # -- credentials for requests --------------------------------------------

    def current_token(self, *, wait: bool = True, on_wait: Callable[[str], object] | None = None,
                      wait_for: float | None = None) -> Token:
        """The usable token: waits ``wait_for`` s (else sign_in_wait) for a sign-in in flight, refreshes near expiry."""
        flow = self.flow
        # The latest %okta_login decides who is signed in: a request waits for it (Run All works).
        if flow is not None and not flow.done and wait:
            seconds = self.sign_in_wait if wait_for is None else wait_for
            if on_wait:
                on_wait(f"Waiting for the sign-in to finish (up to {seconds:g} s)…")
            flow.wait(seconds)
        keeper = self._keeper
        if keeper is None:
            raise NotSignedIn("Not signed in: run %okta_login first (or %okta_login --sandbox to try the sandbox).")
        return keeper.current()

    def _refresher(self) -> Callable[[Token], Token] | None:
        """Refresh through the org's token endpoint (only tokens with a refresh token get here)."""
        from . import oauth

        conf = self.config
        if conf is None:
            return None
        return lambda token: oauth.refresh_token(
            conf.org_url, conf.client_id, token, client_secret=self._client_secret, auth_method=conf.auth_method,
            http=self.oauth_http(), clock=self._clock)

    def authorization_header(self) -> str:
        """The Authorization header value for the org (the only place the secret leaves the token)."""
        return self.current_token().authorization_header()

    def dpop_key(self) -> DPoPKey | None:
        """The key the current token is bound to (DPoP, RFC 9449), or None for a bearer token."""
        token = self.token
        return token.dpop_key if token is not None else None

    def held_scopes(self) -> Sequence[str]:
        token = self.token
        return tuple(token.scopes_granted) if token else ()

    # -- requests -----------------------------------------------------------------

    @property
    def client(self) -> OktaClient:
        """The Management API client for the signed-in org."""
        from .client import OktaClient

        with self._lock:
            if self.config is None:
                raise NotSignedIn("Not signed in: run %okta_login first (or %okta_login --sandbox to try the sandbox).")
            if self._client is None:
                org = self.config.org_url
                self._client = OktaClient(org, lambda: self._authorization_for(org), dpop_key=self.dpop_key,
                                          renew=lambda refused: self._renew_for(org, refused),
                                          held_scopes=self.held_scopes, transport=self._transport,
                                          sleep=self._sleep, clock=self._clock)
            return self._client

    def http_client(self) -> httpx.Client:
        """A new httpx.Client for the signed-in org, the caller's to close (the session's own stays open)."""
        return self.client.new_http()

    def _authorization_for(self, org_url: str) -> str:
        """The Authorization header for a client made for ``org_url``: none once the session moved to another org."""
        conf = self.config
        if conf is None or conf.org_url != org_url:
            raise NotSignedIn(f"This client was made for {org_url}; the session has since signed in elsewhere or "
                              "out: get a new one with okta_magic.http_client().")
        return self.authorization_header()

    def _renew_for(self, org_url: str, refused: str) -> str | None:
        """After the org refused ``refused`` (401 invalid_token): a refreshed header to retry with once, or None."""
        keeper, conf = self._keeper, self.config
        if keeper is None or conf is None or conf.org_url != org_url:
            return None
        token = keeper.renew(refused)
        return token.authorization_header() if token is not None else None

    def _reset_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def oauth_http(self) -> httpx.Client:
        """One HTTP client for the OAuth endpoints (discovery, token, revoke), reused."""
        with self._lock:
            if self._oauth_http is None or self._oauth_http.is_closed:
                self._oauth_http = httpx.Client(transport=self._transport, timeout=30)
            return self._oauth_http

    def _cancel_flow(self) -> None:
        if self.flow is not None and not self.flow.done:
            self.flow.cancel()

    # -- lifecycle ---------------------------------------------------------------

    def close(self) -> None:
        """Stop everything this session started: the sign-in listener, the client, the sandbox."""
        with self._lock:
            self._cancel_flow()
            self._reset_client()
            if self._oauth_http is not None:
                self._oauth_http.close()
                self._oauth_http = None
            if self.sandbox is not None:
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


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_current: OktaSession | None = None
_current_lock = threading.Lock()


def current_session() -> OktaSession:
    """The process-wide session shared by the magics and the module-level API."""
    global _current
    with _current_lock:
        if _current is None:
            _current = OktaSession()
        return _current


def close_current_session() -> None:
    """Stop and forget the process-wide session (used when the extension unloads)."""
    global _current
    with _current_lock:
        if _current is not None:
            _current.close()
            _current = None
