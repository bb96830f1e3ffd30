"""One signed-in session: an org's configuration, its token keeper, the sign-in in flight, its HTTP clients.

A ``Session`` is a plain object; several can live in one kernel (one per org, person or app). The
magics hold theirs, the script API has a default one (``api.py``), and nothing here is
process-wide. Each way in is one method with its own arguments: ``sign_in_browser``,
``sign_in_paste``, ``sign_in_device``, ``sign_in_service``, ``sign_in_sandbox``, ``use_token``
and ``use_api_token``. Errors carry a ``fix`` key (``advice.py`` words it for the reader). The
token stays in memory: nothing here writes a file or an environment variable.
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
from .tokens import InMemoryOnly, Secret, TokenKeeper, secret

if TYPE_CHECKING:
    from .browser_login import LoginFlow, LoginStatus, Step
    from .client import OktaClient
    from .device import DeviceLogin
    from .dpop import DPoPKey
    from .sandbox import Sandbox
    from .tokens import Token

log = logging.getLogger(__name__)

Listener = Callable[["Session"], None]
Note = Callable[[str], object]  # hears a note's key (``advice.NOTES``), e.g. "implicit_flow"


class Session(InMemoryOnly):
    """Everything one sign-in knows: configuration, token, sign-in in flight, clients, an in-process sandbox."""

    def __init__(
        self,
        *,
        name: str = "default",
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
        sandbox: Sandbox | None = None,
        exists: Callable[[str], bool] | None = None,
    ) -> None:
        """``sandbox``: a sandbox org another session started, to share (this session never stops it).

        ``environ`` and ``exists`` (a file-exists check) are what the session reads to tell where the kernel
        runs (``okta_magic.where``); the process's environment and file system when not given.
        """
        self.name = name
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._environ = environ
        self._exists = exists
        self._lock = threading.RLock()
        self.config: cfg.OktaConfig | None = None
        self.flow: LoginFlow | DeviceLogin | None = None
        self.sandbox: Sandbox | None = sandbox
        self._owns_sandbox = sandbox is None  # a sandbox this session starts is this session's to stop
        self._keeper: TokenKeeper | None = None  # the token, refreshed before expiry when it can be
        self._client_secret: str | None = None
        self._client: OktaClient | None = None
        self._oauth_http: httpx.Client | None = None
        self._listeners: list[Listener] = []
        self.sign_in_wait = 300.0  # how long a request waits for a sign-in still in progress
        # proxied redirect URIs registered for the in-kernel sandbox -> the loopback URI each listener binds
        self._proxied: dict[str, str] = {}
        self.page_location: str | None = None  # the notebook page's own, as a front end reported it (no query)

    def __repr__(self) -> str:
        return f"<Session {self.name!r} {self.org_url or 'not configured'}>"

    # -- configuration -------------------------------------------------

    def resolve_config(self, *layers: Mapping[str, object | None]) -> cfg.OktaConfig:
        """Environment < each given layer (traits, then options); checked."""
        return cfg.merge(cfg.from_environ(self._environ), *layers,
                         known_scopes=catalogue().scope_descriptions)

    def choose_flow(self, config: cfg.OktaConfig) -> tuple[str, str]:
        """The sign-in flow for where the kernel runs (loopback, device or paste) and one line saying why.

        The environment decides, and the notebook page's location when a front end reported one (``page_location``).
        """
        import os

        from . import where
        from .discovery import discover

        def has_device() -> bool:
            return discover(config.org_url, self.oauth_http()).device_authorization_endpoint is not None

        environ = os.environ if self._environ is None else self._environ
        # the in-kernel sandbox behind jupyter-server-proxy, or a redirect URI registered for this server's proxy
        proxied = where.through_proxy(config.redirect_uri, environ, sandbox=self.sandbox_proxied(config.redirect_uri))
        if proxied is not None:
            return proxied

        try:
            return where.flow_for(environ, self._exists or os.path.exists, has_device, self.page_location)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None

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

    def start_sandbox(self, *, users: int = 1000, seed: int = 1, token_lifetime: int | None = None) -> Sandbox:
        """Start the built-in sandbox org in this process, once per session (``okta_magic.sandbox.current()``).

        ``token_lifetime``: seconds an access token lasts (Okta's one hour when None); given for a sandbox
        already running, it applies to the tokens minted from now on.
        """
        with self._lock:
            if self.sandbox is None:
                try:
                    from .sandbox import Sandbox
                except ImportError as exc:  # the sandbox extra is not installed
                    raise ConfigError("The sandbox needs its extra: pip install 'okta_magic[sandbox]'.") from exc
                lifetime = {} if token_lifetime is None else {"token_lifetime": token_lifetime}
                self.sandbox = Sandbox(port=0, users=users, seed=seed, in_kernel=True, **lifetime).start()
                self._owns_sandbox = True
            elif token_lifetime is not None:
                try:
                    self.sandbox.set_knobs(token_lifetime=token_lifetime)
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
            return self.sandbox

    @property
    def owns_sandbox(self) -> bool:
        """True when this session started the sandbox it holds (closing it stops that sandbox)."""
        return self.sandbox is not None and self._owns_sandbox

    def share_sandbox(self, sandbox: Sandbox) -> None:
        """Use a sandbox org another session started (this session never stops it); no-op if one is held."""
        with self._lock:
            if self.sandbox is None:
                self.sandbox, self._owns_sandbox = sandbox, False

    def sandbox_settings(self, app: str = "native", redirect_uri: str | None = None) -> dict[str, object]:
        """Org URL, client id and a redirect URI registered with the sandbox app.

        The redirect URI is the one given (registered as an administrator would) or one
        on a free loopback port, so that several kernels can use sandboxes side by side.
        """
        sb = self.start_sandbox()
        if app not in sb.apps:
            raise ConfigError(f"The sandbox has no app {app!r}; its apps are {', '.join(sb.apps)}.")
        if not redirect_uri:
            port = _free_port()
            redirect_uri = local = f"http://127.0.0.1:{port}/callback"
            proxied = self._through_server_proxy(port)
            if proxied is not None:  # behind jupyter-server-proxy: the browser comes back through it
                redirect_uri = proxied + "/callback"
                self._proxied[redirect_uri] = local
        sb.add_redirect_uri(app, redirect_uri)
        return {"org_url": sb.url, "client_id": sb.apps[app].client_id, "redirect_uri": redirect_uri}

    def _through_server_proxy(self, port: int) -> str | None:
        """The absolute address jupyter-server-proxy serves a loopback ``port`` at, when the kernel runs behind one."""
        import os

        from . import where

        environ = os.environ if self._environ is None else self._environ
        if not where.has_server_proxy(environ):
            return None
        return where.proxied_url(where.detect(environ, exists=lambda _path: False), port)

    def _listener_for(self, redirect_uri: str | None) -> str | None:
        """The listener's own address for a redirect URI that comes through jupyter-server-proxy, else None."""
        from . import where

        return self._proxied.get(redirect_uri or "") or where.proxy_listener(redirect_uri, self._environ)

    def sandbox_proxied(self, redirect_uri: str | None) -> bool:
        """True when ``redirect_uri`` is a sandbox redirect URI that comes back through jupyter-server-proxy."""
        return bool(redirect_uri) and redirect_uri in self._proxied

    def sandbox_config(self, app: str = "native", *layers: Mapping[str, object | None]) -> cfg.OktaConfig:
        """The layers' settings for a sandbox app: its org URL, client id and a registered redirect URI win.

        The redirect URI asked for by a layer is registered with the app (else one on a free port).
        """
        wanted = [str(layer["redirect_uri"]) for layer in layers if layer.get("redirect_uri")]
        return self.resolve_config(*layers, self.sandbox_settings(app, wanted[-1] if wanted else None))

    def sandbox_service_key(self, app: str) -> Secret | None:
        """The private key of a sandbox service app (held in this process), or None for other apps."""
        demo = self.sandbox.apps.get(app) if self.sandbox is not None else None
        return secret(demo.private_key_pem) if demo is not None and demo.application_type == "service" else None

    def sandbox_browser(self, user: str) -> Callable[[str], object]:
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
        base = self._through_server_proxy(int(_port_of(sb.url))) if sb is not None else None
        if sb is not None and base and (url == base or url.startswith(base + "/")):
            return sb.url + url[len(base):]
        return url

    # -- the ways in -------------------------------------------------------

    def sign_in_browser(
        self,
        config: cfg.OktaConfig,
        *,
        client_secret: str | None = None,
        open_browser: Callable[[str], object] | None = None,
        on_step: Callable[[Step], None] | None = None,
        timeout: float = 300,
    ) -> LoginFlow:
        """Start an Authorization Code + PKCE sign-in; returns at once with the flow (``open_browser`` gets its URL)."""
        from .browser_login import LoginFlow

        listen_uri = self._listener_for(config.redirect_uri)
        sb = self.sandbox
        authorize_base = None
        if listen_uri is not None and sb is not None and config.org_url == sb.url:
            # the in-kernel sandbox behind jupyter-server-proxy: its sign-in page too comes through the proxy
            authorize_base = self._through_server_proxy(int(_port_of(sb.url)))
        with self._lock:
            self._begin(config, client_secret)
            flow = LoginFlow(
                config.org_url, config.client_id, config.scopes, config.redirect_uri,
                client_secret=client_secret, auth_method=config.auth_method,
                http=self.oauth_http(), clock=self._clock, timeout=timeout,
                on_change=self._on_flow_change, on_step=on_step, dpop=config.dpop,
                listen_uri=listen_uri, authorize_base=authorize_base,
            )
            self.flow = flow
        flow.start(open_browser=open_browser)
        self._notify()
        return flow

    def sign_in_paste(self, url: str) -> Token:
        """Finish the browser sign-in in flight with the URL the browser was redirected to."""
        flow = self.flow
        if flow is None or not hasattr(flow, "submit_redirect_url"):
            raise LoginError("No browser sign-in is in progress:").with_fix("paste_after_sign_in")
        return flow.submit_redirect_url(url)

    def sign_in_device(self, config: cfg.OktaConfig, *, client_secret: str | None = None) -> DeviceLogin:
        """Start an RFC 8628 device authorization sign-in (for kernels the browser cannot reach)."""
        from .device import start_device_login

        with self._lock:
            self._begin(config, client_secret)
            login = start_device_login(config.org_url, config.client_id, config.scopes, http=self.oauth_http(),
                                       clock=self._clock, on_change=self._on_flow_change,
                                       client_secret=client_secret, auth_method=config.auth_method)
            self.flow = login
        self._notify()
        return login

    def sign_in_service(self, config: cfg.OktaConfig, key: str, *, key_id: str | None = None) -> Token:
        """A service app's client credentials with a signed client assertion (private_key_jwt, RFC 7523).

        OpenID scopes (openid, profile ...) mean nothing without a person and Okta refuses them in this
        grant, so only the API scopes are asked for.
        """
        from .token_endpoint import service_login

        key = Secret(key)  # masked wherever this frame's locals are shown
        scopes = [s for s in config.scopes if s not in cfg.OIDC_SCOPES]
        if not scopes:
            raise ConfigError("A service app signs in for API scopes only:").with_fix("api_scopes")
        token = service_login(config.org_url, config.client_id, key, scopes, kid=key_id, http=self.oauth_http(),
                              dpop=config.dpop)
        return self.adopt(token, config)

    def sign_in_sandbox(self, user: str | None = "admin", *, app: str = "native",
                        layers: Sequence[Mapping[str, object | None]] = (), wait: float = 60,
                        timeout: float = 900, client_secret: str | None = None,
                        on_step: Callable[[Step], None] | None = None) -> Token:
        """Start the in-process sandbox org if needed and sign in as a demo ``user``, unattended.

        A service app (``service``, ``service-dpop``) signs in as itself with the key the sandbox holds
        (``user`` None). ``layers`` are settings under the sandbox's own (scopes, dpop ...); ``wait``
        bounds the wait for the token, ``timeout`` the listener's; ``on_step`` hears each step (teaching).
        """
        config = self.sandbox_config(app, *layers)
        key = self.sandbox_service_key(app)
        if key is not None:
            if user is not None:
                raise ConfigError(f"The {app} app signs in as itself (client credentials):").with_fix("no_user")
            return self.sign_in_service(config, key)
        if user is None:
            raise ConfigError(f"The {app} app signs in a person:").with_fix("name_a_user")
        return self.sign_in_browser(config, client_secret=client_secret, open_browser=self.sandbox_browser(user),
                                    on_step=on_step, timeout=timeout).wait(wait)

    def use_token(self, access_token: str, *, org_url: str | None = None, client_id: str | None = None,
                  note: Note | None = None) -> Token:
        """Use an access token (or a redirect URL carrying one) obtained elsewhere; ``note`` hears "implicit_flow"."""
        from .tokens import Token, front_channel_parameters

        access_token = Secret(access_token)  # masked wherever this frame's locals are shown
        org = self._org_url(org_url)
        token = Token.from_access_token(access_token, issuer=org)
        issued_by = str((token.claims() or {}).get("iss") or "")
        if "/oauth2/" in issued_by:
            # Only the Org Authorization Server mints okta.* scopes; the Management API refuses every other token.
            raise ConfigError(f"This access token comes from the custom authorization server {issued_by}; the "
                              "Management API accepts only tokens of the Org Authorization Server: get one from "
                              f"{org}/oauth2/v1/token,").with_fix("or_sign_in")
        adopted = self._adopt_pasted(token, org, client_id)
        if note is not None and front_channel_parameters(access_token) is not None:
            note("implicit_flow")  # only a redirect that carries the token says how it was obtained
        return adopted

    def use_api_token(self, api_token: str, *, org_url: str | None = None, client_id: str | None = None) -> Token:
        """Use an SSWS API token (acts with its creator's admin role; Okta recommends OAuth instead)."""
        from .tokens import Token

        api_token = Secret(api_token)  # masked wherever this frame's locals are shown
        org = self._org_url(org_url)
        return self._adopt_pasted(Token.from_api_token(api_token, issuer=org), org, client_id)

    def _org_url(self, org_url: str | None) -> str:
        """The given org URL, else the environment's, checked (config.check_org_url)."""
        return cfg.check_org_url(org_url or cfg.from_environ(self._environ).get("org_url"))

    def _adopt_pasted(self, token: Token, org_url: str, client_id: str | None) -> Token:
        client = client_id or cfg.from_environ(self._environ).get("client_id") or token.client_id or "(pasted)"
        return self.adopt(token, cfg.OktaConfig(org_url=org_url, client_id=client, scopes=token.scopes_granted))

    def adopt(self, token: Token, config: cfg.OktaConfig | None = None) -> Token:
        """Hold a token obtained elsewhere (a service or device sign-in, a test) for ``config``'s org."""
        with self._lock:
            self._cancel_flow()
            if config is not None:
                self.config = config
            self._hold(token)
        self._notify()
        return token

    def cancel_login(self) -> None:
        """Stop the sign-in in flight (its listener closes); a token already held is kept."""
        with self._lock:
            self._cancel_flow()

    def _begin(self, config: cfg.OktaConfig, client_secret: str | None) -> None:
        """A new sign-in replaces the one in flight and the client (called under the lock)."""
        self._cancel_flow()
        self.config = config
        self._client_secret = secret(client_secret)
        self._reset_client()

    def _on_flow_change(self, status: LoginStatus) -> None:
        if status.phase == "signed_in" and status.token is not None:
            with self._lock:
                self._hold(status.token)
        self._notify()

    def _hold(self, token: Token) -> None:
        self._keeper = TokenKeeper(token, self._refresher(), clock=self._clock,
                                   on_refresh=lambda _fresh: self._notify())
        self._reset_client()

    @property
    def token(self) -> Token | None:
        """The token held now (None before a sign-in); no refresh, no wait."""
        return self._keeper.token if self._keeper is not None else None

    @property
    def org_url(self) -> str | None:
        """The org this session signs in to, once configured."""
        return self.config.org_url if self.config else None

    def logout(self) -> str:
        """Revoke the tokens at the server where possible and forget them; says what happened."""
        from .revocation import revoke_token

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
                if revoke_token(conf.org_url, conf.client_id, token, secret_kind,
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
        # The latest sign-in decides who is signed in: a request waits for it (Run All works).
        if flow is not None and not flow.done and wait:
            seconds = self.sign_in_wait if wait_for is None else wait_for
            if on_wait:
                on_wait(f"Waiting for the sign-in to finish (up to {seconds:g} s)…")
            flow.wait(seconds)
        keeper = self._keeper
        if keeper is None:
            raise NotSignedIn("Not signed in:").with_fix("sign_in")
        return keeper.current()

    def _refresher(self) -> Callable[[Token], Token] | None:
        """Refresh through the org's token endpoint (only tokens with a refresh token get here)."""
        from .token_endpoint import refresh_token

        conf = self.config
        if conf is None:
            return None
        return lambda token: refresh_token(
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
        """The scopes the token holds (none before a sign-in), for the scope coach."""
        token = self.token
        return tuple(token.scopes_granted) if token else ()

    # -- requests -----------------------------------------------------------------

    @property
    def client(self) -> OktaClient:
        """The Management API client for the signed-in org."""
        from .client import OktaClient

        with self._lock:
            if self.config is None:
                raise NotSignedIn("Not signed in:").with_fix("sign_in")
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
        """Close the Management API client (a new sign-in or org gets a new one)."""
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
        """Cancel the sign-in in flight, if any (called under the lock)."""
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
            if self.sandbox is not None and self._owns_sandbox:
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


def _port_of(url: str) -> int:
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
