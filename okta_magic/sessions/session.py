"""One signed-in session: an org's configuration, its token keeper, the sign-in in flight, its HTTP clients.

A ``Session`` is a plain object; several can live in one kernel (one per org, person or app). The
magics hold theirs, the script API has a default one (``api.py``), and nothing here is
process-wide. Each way in is one method with its own arguments: ``sign_in_browser``,
``sign_in_paste``, ``sign_in_device``, ``sign_in_service``, ``sign_in_sandbox``, ``use_token``
and ``use_api_token``. Errors carry a ``fix`` key (``advice.py`` words it for the reader). The
token stays in memory: nothing here writes a file or an environment variable.

A credential carries the org it was issued for (``Token.org``) and signs requests to that origin only,
whatever the configuration says. The session holds the configuration of its credential (``held_config``)
apart from that of a sign-in in flight (``pending``): the org moves only when a sign-in there succeeds, so
one that fails, is cancelled or abandoned leaves the old org, the old token and its clients working. A pull
in flight keeps the client it started with; a sign-out or a sign-in elsewhere stops it with a NotSignedIn
that says so (and keeps its rows). The in-kernel sandbox org is a collaborator (``kernel_sandbox``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import httpx

from okta_magic import config as cfg
from okta_magic.errors import ConfigError, LoginError, NotSignedIn
from okta_magic.sessions.kernel_sandbox import KernelSandbox
from okta_magic.http.pacer import Pacers
from okta_magic.scopes import catalogue
from okta_magic.tokens import InMemoryOnly, Secret, TokenKeeper, secret

if TYPE_CHECKING:
    from okta_magic.flows.browser import LoginFlow, LoginStatus, Step
    from okta_magic.http.client import OktaClient
    from okta_magic.flows.device import DeviceLogin
    from okta_magic.dpop import DPoPKey
    from okta_magic.sandbox import Sandbox
    from okta_magic.tokens import Token

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
        pacers: Pacers | None = None,
    ) -> None:
        """``sandbox``: a sandbox org another session started, to share (this session never stops it).

        ``environ`` and ``exists`` (a file-exists check) are what the session reads to tell where the kernel
        runs (``okta_magic.flows.where``); the process's environment and file system when not given. ``pacers``: the
        registry of per-org pacers this session shares with others (the kernel's profiles share one).
        """
        self.name = name
        self._transport = transport
        self._clock = clock
        self._sleep = sleep
        self._environ = environ
        self._exists = exists
        self._lock = threading.RLock()
        self.pacers = pacers if pacers is not None else Pacers()
        # The configuration of the credential held now: it moves to another org only when a sign-in there succeeds.
        self._held: cfg.OktaConfig | None = None
        self.pending: cfg.OktaConfig | None = None  # the configuration of the sign-in in flight, until it ends
        self.attempt = 0  # counts sign-ins started or tokens adopted (a panel is replaced when it moves on)
        self.flow: LoginFlow | DeviceLogin | None = None
        # the in-kernel sandbox org: started on demand (``kernel_sandbox.start()``) or another session's, shared
        self.kernel_sandbox = KernelSandbox(self.resolve_config, environ, sandbox)
        self._keeper: TokenKeeper | None = None  # the token, refreshed before expiry when it can be
        self._client_secret: str | None = None
        self._client: OktaClient | None = None
        self._oauth_http: httpx.Client | None = None
        self._listeners: list[Listener] = []
        self.sign_in_wait = 300.0  # how long a request waits for a sign-in still in progress
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
        from okta_magic.flows import where
        from okta_magic.oauth.discovery import discover

        def has_device() -> bool:
            return discover(config.org_url, self.oauth_http()).device_authorization_endpoint is not None

        return where.for_kernel(config.redirect_uri, self._environ, self._exists, has_device, self.page_location,
                                sandbox=self.kernel_sandbox.proxied(config.redirect_uri))

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
        from okta_magic.flows.browser import LoginFlow

        listen_uri, authorize_base = self.kernel_sandbox.proxied_sign_in(config)
        with self._lock:
            on_change = self._begin(config, client_secret)
            flow = LoginFlow(
                config.org_url, config.client_id, config.scopes, config.redirect_uri,
                client_secret=client_secret, auth_method=config.auth_method,
                http=self.oauth_http(), clock=self.clock_for(config.org_url), timeout=timeout,
                on_change=on_change, on_step=on_step, dpop=config.dpop,
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
        from okta_magic.flows.device import start_device_login

        with self._lock:
            on_change = self._begin(config, client_secret)
            try:
                login = start_device_login(config.org_url, config.client_id, config.scopes, http=self.oauth_http(),
                                           clock=self.clock_for(config.org_url), on_change=on_change,
                                           client_secret=client_secret, auth_method=config.auth_method)
            except BaseException:
                self.pending = None  # it never started: the session is as it was
                raise
            self.flow = login
        self._notify()
        return login

    def sign_in_service(self, config: cfg.OktaConfig, key: str, *, key_id: str | None = None) -> Token:
        """A service app's client credentials with a signed client assertion (private_key_jwt, RFC 7523).

        OpenID scopes (openid, profile ...) mean nothing without a person and Okta refuses them in this
        grant, so only the API scopes are asked for.
        """
        from okta_magic.oauth.token_endpoint import service_login

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
        config = self.kernel_sandbox.config(app, *layers)
        key = self.kernel_sandbox.service_key(app)
        if key is not None:
            if user is not None:
                raise ConfigError(f"The {app} app signs in as itself (client credentials):").with_fix("no_user")
            return self.sign_in_service(config, key)
        if user is None:
            raise ConfigError(f"The {app} app signs in a person:").with_fix("name_a_user")
        return self.sign_in_browser(config, client_secret=client_secret, open_browser=self.kernel_sandbox.browser(user),
                                    on_step=on_step, timeout=timeout).wait(wait)

    def use_token(self, access_token: str, *, org_url: str | None = None, client_id: str | None = None,
                  note: Note | None = None) -> Token:
        """Use an access token (or a redirect URL carrying one) obtained elsewhere; ``note`` hears "implicit_flow"."""
        from okta_magic.sessions import pasted

        access_token = Secret(access_token)  # masked wherever this frame's locals are shown
        return pasted.use_token(self.adopt, access_token, org_url=org_url, client_id=client_id, environ=self._environ,
                                note=note)

    def use_api_token(self, api_token: str, *, org_url: str | None = None, client_id: str | None = None) -> Token:
        """Use an SSWS API token (acts with its creator's admin role; Okta recommends OAuth instead)."""
        from okta_magic.sessions import pasted

        api_token = Secret(api_token)  # masked wherever this frame's locals are shown
        return pasted.use_api_token(self.adopt, api_token, org_url=org_url, client_id=client_id, environ=self._environ)

    def adopt(self, token: Token, config: cfg.OktaConfig | None = None) -> Token:
        """Hold a token obtained elsewhere (a service or device sign-in, a test) for ``config``'s org.

        Without ``config`` the token is for the org held now (a refreshed or replaced token of the same org).
        """
        with self._lock:
            replaced = config is None  # the same sign-in's token, replaced: not a new sign-in
            config = config or self._held
            if config is None:
                raise NotSignedIn("A token needs its org:").with_fix("sign_in")
            bound = token.for_org(config.org_url)  # before anything changes: a token of another org is refused
            self._cancel_flow()
            self.attempt += 0 if replaced else 1
            self.pending = None
            self._hold(bound, config, self._client_secret if config is self._held else None)
        self._notify()
        return bound

    def cancel_login(self) -> None:
        """Stop the sign-in in flight (its listener closes); a token already held is kept."""
        with self._lock:
            self._cancel_flow()

    def _begin(self, config: cfg.OktaConfig, client_secret: str | None) -> Callable[[LoginStatus], None]:
        """A new sign-in replaces the one in flight (called under the lock); returns what hears its progress.

        The credential held now, its org and its client stay until this sign-in succeeds: one that fails, is
        cancelled or abandoned leaves the session as it was (the old org, the old token, still working).
        """
        self._cancel_flow()
        self.attempt += 1
        attempt, self.pending, kept_secret = self.attempt, config, secret(client_secret)

        def changed(status: LoginStatus) -> None:
            with self._lock:
                ours = self.attempt == attempt  # a later sign-in or adopted token replaced this one
                if ours and status.phase == "signed_in" and status.token is not None:
                    self._hold(status.token.for_org(config.org_url), config, kept_secret)
                if ours and status.phase in ("signed_in", "failed", "cancelled"):
                    self.pending = None
            self._notify()

        return changed

    def _hold(self, token: Token, config: cfg.OktaConfig, client_secret: str | None) -> None:
        """Hold ``token`` (bound to ``config``'s org) with the configuration and client secret it was issued with."""
        self._held, self._client_secret = config, client_secret
        self._keeper = TokenKeeper(token, self._refresher(config, client_secret), clock=self.clock_for(config.org_url),
                                   on_refresh=lambda _fresh: self._notify())
        self._reset_client()

    def clock_for(self, org_url: str) -> Callable[[], float]:
        """The clock tokens of ``org_url`` are timed by: the in-kernel sandbox's own for the sandbox org.

        A lesson that moves the sandbox's clock (``advance_clock``) moves it for the tokens of the sessions
        signed in to it too (their expiry, refresh and ID-token checks), unless a clock was given to this session.
        """
        sandbox = self.sandbox
        if self._clock is time.time and sandbox is not None and cfg.origin_of(org_url) == cfg.origin_of(sandbox.url):
            return sandbox.clock
        return self._clock

    @property
    def sandbox(self) -> Sandbox | None:
        """The in-kernel sandbox org this session started or shares, if any."""
        return self.kernel_sandbox.sandbox

    @property
    def token(self) -> Token | None:
        """The token held now (None before a sign-in); no refresh, no wait."""
        return self._keeper.token if self._keeper is not None else None

    @property
    def config(self) -> cfg.OktaConfig | None:
        """The configuration of the sign-in in flight, else of the credential held (None before any)."""
        return self.pending or self._held

    @property
    def held_config(self) -> cfg.OktaConfig | None:
        """The configuration the token held now was issued with: its org is the only one requests go to."""
        return self._held

    @property
    def org_url(self) -> str | None:
        """The org this session signs in to (the sign-in in flight's, else the held token's), once configured."""
        config = self.config
        return config.org_url if config else None

    def logout(self) -> str:
        """Revoke the tokens at the server where possible and forget them; says what happened."""
        from okta_magic.oauth.revocation import revoke_all

        with self._lock:
            token, conf = self.token, self._held
            self._cancel_flow()
            self._keeper = None
            self.pending = None
            self._reset_client()
        self._notify()
        if token is None:
            return "Not signed in; nothing to forget."
        if token.token_type == "SSWS" or conf is None:
            return "Forgot the API token (SSWS tokens are revoked in the Admin Console, not from here)."
        revoked = revoke_all(conf.org_url, conf.client_id, token, client_secret=self._client_secret,
                             auth_method=conf.auth_method, http=self.oauth_http())
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

    def _refresher(self, conf: cfg.OktaConfig, client_secret: str | None) -> Callable[[Token], Token]:
        """Refresh through the token endpoint of the org the token came from (only tokens with a refresh token)."""
        from okta_magic.oauth.token_endpoint import refresh_token

        return lambda token: refresh_token(
            conf.org_url, conf.client_id, token, client_secret=client_secret, auth_method=conf.auth_method,
            http=self.oauth_http(), clock=self.clock_for(conf.org_url))

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
        """The Management API client for the signed-in org; it signs requests to that org only (``orgbound``)."""
        from okta_magic.http.client import OktaClient
        from okta_magic.sessions import orgbound

        with self._lock:
            if self._held is None:
                raise NotSignedIn("Not signed in:").with_fix("sign_in")
            if self._client is None:
                org = self._held.org_url
                # each request asks which token signs it, then: the one held when it is sent, if it is this org's
                header = lambda: orgbound.authorization(org, self._held, self._keeper, self.current_token)  # noqa: E731
                renew = lambda refused: orgbound.renewed(org, refused, self._held, self._keeper)  # noqa: E731
                self._client = OktaClient(org, header, dpop_key=self.dpop_key, renew=renew,
                                          held_scopes=self.held_scopes, transport=self._transport,
                                          sleep=self._sleep, clock=self._clock,
                                          pacer=self.pacers.for_org(cfg.origin_of(org), self._clock))
            return self._client

    def http_client(self) -> httpx.Client:
        """A new httpx.Client for the signed-in org, the caller's to close (the session's own stays open)."""
        return self.client.new_http()

    def _reset_client(self, *, close: bool = False) -> None:
        """Let go of the Management API client (a new sign-in or org gets a new one).

        A pull or fan-out in flight keeps the client it started with until it ends (its connections close when
        the last holder lets go): a sign-out or another sign-in meanwhile stops it with a typed error that keeps
        its rows, never closes it under its workers. ``close``: close it now (the session itself is closing).
        """
        if self._client is not None and close:
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
            self._reset_client(close=True)
            if self._oauth_http is not None:
                self._oauth_http.close()
                self._oauth_http = None
            self.kernel_sandbox.close()
