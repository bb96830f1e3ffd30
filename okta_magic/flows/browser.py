"""The Authorization Code + PKCE sign-in, driven without blocking the kernel.

Owns: :class:`LoginFlow`, which runs one sign-in from discovery to token:
discover the endpoints, make fresh PKCE/state/nonce values, start the loopback
listener, hand back the authorize URL at once, then (on the listener thread, or
when the user pastes the redirected URL) validate the callback, exchange the
code, check the ID token and report the result. Progress goes to ``on_change``
(a :class:`LoginStatus` per phase change) and, for teaching, to ``on_step``
(a :class:`Step` per protocol step, secrets masked).

Protocol details live in ``discovery.py``, ``authorize.py``, ``token_endpoint.py`` and
``idtoken.py``, the HTTP listener in ``loopback.py``; this module only sequences them.
Errors carry a ``fix`` key (``advice.py`` words it for a notebook or a script). Okta's guide for the org
authorization server (implement-oauth-for-okta) is the flow followed; RFC 8252 for native apps.

    flow = LoginFlow("https://dev-1.okta.com", "0oa...", ["openid", "okta.users.read"],
                     "http://127.0.0.1:8765/callback")
    url = flow.start(open_browser=webbrowser.open)
    token = flow.wait()
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx

from okta_magic.oauth.authorize import AuthorizationRequest, parse_callback
from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.oauth.curl import curl_command
from okta_magic.oauth.discovery import ProviderMetadata, discover, fetch_jwks, normalize_issuer
from okta_magic.dpop import DPoPKey
from okta_magic.errors import LoginError, LoginTimeout, OktaMagicError, StateMismatch
from okta_magic.oauth.idtoken import check_id_token, id_token_signature_checked
from okta_magic.flows.loopback import CallbackReply, LoopbackListener
from okta_magic.oauth.token_endpoint import exchange_code, refresher, token_request
from okta_magic.tokens import InMemoryOnly, Token, TokenKeeper, mask_secret

__all__ = ["LoginFlow", "LoginStatus", "Phase", "SignInProgress", "Step"]

log = logging.getLogger(__name__)

Phase = Literal["idle", "waiting", "exchanging", "signed_in", "failed", "cancelled"]
_TERMINAL = frozenset({"signed_in", "failed", "cancelled"})


@dataclass(frozen=True)
class LoginStatus:
    """Where a sign-in stands: ``phase``, a one-line ``message``, and the result."""

    phase: Phase
    message: str
    token: Token | None = None
    error: OktaMagicError | None = None


@dataclass(frozen=True)
class Step:
    """One protocol step, for explaining the flow (secrets already masked)."""

    name: str
    title: str
    details: dict[str, str] = field(default_factory=dict)


E = TypeVar("E", bound=OktaMagicError)


def _with_fix(error: E, fix: str) -> E:
    """``error`` naming its next step (a key of ``advice.FIXES``), keeping its type for the caller."""
    error.with_fix(fix)
    return error


def _scopes(scopes: Sequence[str] | str) -> tuple[str, ...]:
    return tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)


class SignInProgress(InMemoryOnly):
    """What every kind of sign-in shares: its status, reported to ``on_change``, and the wait for its end."""

    def __init__(self, status: LoginStatus, on_change: Callable[[LoginStatus], None] | None) -> None:
        self._status = status
        self._on_change = on_change
        self._done = threading.Event()

    @property
    def status(self) -> LoginStatus:
        return self._status

    @property
    def done(self) -> bool:
        """True once signed in, failed or cancelled."""
        return self._done.is_set()

    def _outcome(self, timeout: float | None) -> Token | None:
        """The token once the sign-in ends (its error is raised instead); None if ``timeout`` passes first."""
        if not self._done.wait(timeout):
            return None
        status = self._status
        if status.token is not None:
            return status.token
        raise status.error or LoginError(status.message)

    def _set(self, status: LoginStatus) -> None:
        self._status = status
        if self._on_change is not None:
            try:
                self._on_change(status)
            except Exception:  # noqa: BLE001 - a display bug must not break the sign-in
                log.exception("on_change callback failed")


class LoginFlow(SignInProgress):
    """One Authorization Code + PKCE sign-in (RFC 6749 §4.1, RFC 7636, RFC 8252).

    Args:
        issuer: the org URL, which is the org authorization server's issuer.
        client_id: the app's client id.
        scopes: scopes to request (a list or a space-separated string).
        redirect_uri: a loopback redirect URI registered in the app.
        client_secret: for a confidential (web) app; never shown anywhere.
        auth_method: ``client_secret_basic`` / ``client_secret_post`` / ``none``; by default
            chosen from the secret and the provider's metadata.
        http: the HTTP client for discovery and token requests (one is made if omitted).
        clock: epoch seconds now (token issue/expiry times).
        timeout: seconds to wait for the browser before failing with LoginTimeout.
        on_change: called with the new status on every phase change, from whichever
            thread caused it (the caller's, the listener's or the timer's).
        on_step: teaching hook, called with each protocol step.
        dpop: bind the token to a key from the first token request (RFC 9449), for servers that
            require DPoP without saying so in their error.
        listen_uri: when ``redirect_uri`` is a jupyter-server-proxy address (``<server>/proxy/<port>/callback``),
            the loopback URI the listener binds for it (same port and path).
        authorize_base: the address the browser reaches the authorization server at when it is not the
            issuer's (the in-kernel sandbox behind jupyter-server-proxy); the authorize link starts with it.
    """

    def __init__(
        self,
        issuer: str,
        client_id: str,
        scopes: Sequence[str] | str,
        redirect_uri: str,
        *,
        client_secret: str | None = None,
        auth_method: str | None = None,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 300,
        on_change: Callable[[LoginStatus], None] | None = None,
        on_step: Callable[[Step], None] | None = None,
        dpop: bool = False,
        listen_uri: str | None = None,
        authorize_base: str | None = None,
    ) -> None:
        self.issuer = normalize_issuer(issuer)
        self.client_id = client_id
        self.scopes = _scopes(scopes)
        self.redirect_uri = redirect_uri
        self._listen_uri = listen_uri
        self._authorize_base = authorize_base.rstrip("/") if authorize_base else None
        self._client_secret = client_secret
        self._auth_method = auth_method
        self._dpop = dpop
        self._http = http if http is not None else httpx.Client(timeout=30.0)
        self._clock = clock
        self.timeout = timeout
        super().__init__(LoginStatus("idle", "Not started."), on_change)
        self._on_step = on_step
        self._lock = threading.RLock()
        self._callback_lock = threading.Lock()
        self._finishing = False
        self._listener: LoopbackListener | None = None
        self._timer: threading.Timer | None = None
        self._request: AuthorizationRequest | None = None
        self._auth: ClientAuth | None = None
        self.metadata: ProviderMetadata | None = None
        self.authorize_url: str | None = None

    def __repr__(self) -> str:
        return f"LoginFlow({self.issuer}, client_id={self.client_id}, phase={self._status.phase})"

    # -- public API -------------------------------------------------------------------------

    def start(self, open_browser: Callable[[str], object] | None = None, *, listen: bool = True) -> str:
        """Discover, make fresh PKCE/state/nonce, start listening, and return the authorize URL.

        Returns at once; the sign-in completes in the background (see :meth:`wait`).

        Args:
            open_browser: called with the authorize URL (e.g. ``webbrowser.open``); a failure
                there is logged, not raised: the URL is still returned for the user to open.
            listen: False skips the loopback listener (paste-back only, e.g. remote kernels).

        Raises:
            ConfigError: the redirect URI's port is in use or not loopback; bad discovery.
            NetworkError: the org is unreachable.
            LoginError: the flow was already started.
        """
        with self._lock:
            if self._status.phase != "idle":
                raise _with_fix(LoginError("This sign-in was already started."), "start_new_sign_in")
            try:
                self._prepare()
                if listen:
                    # only a callback carrying this sign-in's state, once, reaches the checks (RFC 6749 §10.12)
                    listener = LoopbackListener(
                        self._listen_uri or self.redirect_uri,
                        self._on_listener_callback,
                        timeout=self.timeout,
                        on_timeout=self._on_timeout,
                        state=self._request.state if self._request is not None else None,
                        public_uri=self.redirect_uri if self._listen_uri else None,
                    )
                    listener.start()
                    self._listener = listener
                else:
                    self._timer = threading.Timer(self.timeout, self._on_timeout)
                    self._timer.daemon = True
                    self._timer.start()
            except OktaMagicError as exc:
                self._finish("failed", str(exc), error=exc)
                raise
            url = self.authorize_url
            assert url is not None
            self._set(
                LoginStatus("waiting", f"Waiting for you to sign in at {urlsplit(self.issuer).netloc} in your browser…")
            )
        if open_browser is not None:
            try:
                open_browser(url)
            except Exception as exc:  # noqa: BLE001 - the link is still shown to the user
                log.warning("could not open a browser (%s); open the sign-in URL by hand", type(exc).__name__)
        return url

    def submit_redirect_url(self, url: str) -> Token:
        """Complete the sign-in with the URL the browser was redirected to (paste-back).

        Same checks as the listener. A URL from another sign-in (state mismatch) raises
        but leaves this one waiting.

        Raises:
            StateMismatch, AuthorizationDenied, TokenExchangeError, LoginError.
        """
        return self._complete(url)

    def wait(self, timeout: float | None = None) -> Token:
        """Block until the sign-in ends; return the token or raise its error.

        Args:
            timeout: seconds to wait here; ``None`` waits for the flow's own timeout.
                If it passes first, LoginTimeout is raised and the flow keeps waiting.
        """
        if self._status.phase == "idle":
            raise LoginError("The sign-in has not been started; call start() first.")
        token = self._outcome(timeout)
        if token is None:
            raise _with_fix(LoginTimeout(f"Still waiting for the sign-in after {timeout:.0f} s."),
                            "finish_or_login_again")
        return token

    def cancel(self) -> None:
        """Stop waiting: close the listener and mark the flow cancelled (no-op once done)."""
        self._finish(
            "cancelled",
            "Sign-in cancelled.",
            error=_with_fix(LoginError("The sign-in was cancelled."), "start_again"),
        )

    def keeper(self) -> TokenKeeper:
        """A TokenKeeper for the signed-in token, refreshing it when a refresh token was issued.

        Raises:
            LoginError: not signed in yet.
        """
        token = self._status.token
        if token is None or self.metadata is None or self._auth is None:
            raise LoginError("Not signed in yet; wait for the sign-in to finish.")
        refresh = (
            refresher(self.metadata, self._auth, self._http, clock=self._clock) if token.refresh_token else None
        )
        return TokenKeeper(token, refresh, clock=self._clock)

    # -- steps ---------------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Discovery, client authentication and a fresh authorization request."""
        metadata = discover(self.issuer, self._http)
        self.metadata = metadata
        self._step(
            "discovery",
            "Discover the org authorization server's endpoints",
            {
                "issuer": metadata.issuer,
                "source": f"{self.issuer}/.well-known/openid-configuration"
                if metadata.discovered
                else "Okta org authorization server defaults (no discovery document)",
                **metadata.endpoints(),
                "pkce_methods": " ".join(metadata.code_challenge_methods_supported) or "(not advertised)",
            },
        )
        self._auth = ClientAuth.choose(
            self.client_id,
            metadata,
            client_secret=self._client_secret,
            method=self._auth_method,  # type: ignore[arg-type]
        )
        request = AuthorizationRequest.new(self.client_id, self.redirect_uri, self.scopes)
        self._request = request
        self._step(
            "pkce",
            "Make a one-time PKCE secret and its challenge (RFC 7636)",
            {
                "code_verifier": f"{mask_secret(request.code_verifier)} (43 random characters; kept in this "
                "kernel until the token request)",
                "code_challenge": request.code_challenge,
                "code_challenge_method": "S256 = BASE64URL(SHA256(code_verifier))",
                "why": "only this kernel can redeem the code, even if someone else sees it",
            },
        )
        self.authorize_url = request.url(metadata)
        if self._authorize_base and self.authorize_url.startswith(self.issuer + "/"):
            self.authorize_url = self._authorize_base + self.authorize_url[len(self.issuer):]
        self._step(
            "authorize",
            "Send the browser to Okta's authorize endpoint",
            {
                "url": self.authorize_url,
                **request.params(),
                "client_authentication": self._auth.method,
            },
        )

    def _on_listener_callback(self, url: str) -> CallbackReply:
        try:
            token = self._complete(url)
        except StateMismatch as exc:
            return CallbackReply(False, "Not this sign-in", str(exc), 400)
        except OktaMagicError as exc:
            return CallbackReply(True, "Sign-in failed", str(exc), 400)
        who = token.subject or (token.id_token_claims() or {}).get("preferred_username")
        as_whom = f" as {who}" if who else ""
        return CallbackReply(
            True,
            "Signed in",
            f"You are signed in to {urlsplit(self.issuer).netloc}{as_whom}. Return to your notebook; you can "
            "close this tab.",
        )

    def _complete(self, url: str) -> Token:
        """Validate a callback, exchange the code and finish; the one path for listener and paste-back."""
        with self._callback_lock:
            phase = self._status.phase
            if phase in _TERMINAL:
                raise _with_fix(LoginError(f"This sign-in is already over ({phase.replace('_', ' ')})."),
                                "start_new_sign_in")
            if phase != "waiting" or self._request is None or self.metadata is None or self._auth is None:
                raise _with_fix(LoginError("The sign-in has not been started."), "sign_in")
            request, metadata, auth = self._request, self.metadata, self._auth
            try:
                code = parse_callback(
                    url,
                    request.state,
                    metadata.issuer,
                    metadata.authorization_response_iss_parameter_supported,
                    requested_scopes=request.scopes,
                )
            except StateMismatch:
                self._step(
                    "callback",
                    "A redirect arrived that does not belong to this sign-in",
                    {
                        "state": "MISMATCH: ignored; still waiting for the real redirect (RFC 6749 §10.12)",
                    },
                )
                raise
            except OktaMagicError as exc:
                self._step("callback", "Okta redirected back with an error", {"state": "matches", "result": str(exc)})
                self._finish("failed", str(exc), error=exc)
                raise
            params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
            self._step(
                "callback",
                "Okta redirected the browser back with a one-time code",
                {
                    "code": mask_secret(code),
                    "state": "matches the state sent (compared in constant time)",
                    "iss": params.get("iss", "(not sent)"),
                },
            )
            self._set(LoginStatus("exchanging", "Exchanging the code for a token…"))
            try:
                token = self._exchange(code, request, metadata, auth).for_org(self.issuer)  # sent to this org only
            except OktaMagicError as exc:
                self._finish("failed", str(exc), error=exc)
                raise
            except Exception as exc:  # noqa: BLE001 - the flow must end, not hang in "exchanging"
                # only the type: a library's message could quote what it was parsing
                log.debug("sign-in failed after the code exchange: %s", type(exc).__name__)
                error = _with_fix(LoginError(f"The sign-in failed after the code exchange ({type(exc).__name__})."),
                                  "run_login_again")
                self._finish("failed", str(error), error=error)
                raise error from None
            host = urlsplit(self.issuer).netloc
            who = token.subject
            as_whom = f" as {who}" if who else ""
            count = len(token.scopes_granted)
            self._finish("signed_in", f"Signed in to {host}{as_whom} with {count} scopes.", token=token)
            return token

    def _exchange(
        self, code: str, request: AuthorizationRequest, metadata: ProviderMetadata, auth: ClientAuth
    ) -> Token:
        now = self._clock()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.code_verifier,
        }
        url, body, headers = token_request(metadata, auth, form, now=now)
        self._step(
            "token_request",
            "Redeem the code at the token endpoint with the PKCE verifier",
            {
                "curl": curl_command(url, body, headers),
                "code_verifier": f"{request.code_verifier} (shown now: it is used up by this request)",
                "check": "Okta hashes the verifier and compares it with the code_challenge sent earlier",
            },
        )
        key = DPoPKey() if self._dpop else None
        token = exchange_code(metadata, auth, request, code, self._http, now=now, dpop=key)
        id_claims, jwks = None, None
        if token.id_token:
            jwks = fetch_jwks(metadata, self._http)
            id_claims = check_id_token(
                token.id_token,
                issuer=metadata.issuer,
                client_id=self.client_id,
                nonce=request.nonce if request.wants_openid else None,
                now=now,
                jwks=jwks,
                client_secret=auth.client_secret,
                algorithms=metadata.id_token_signing_alg_values_supported,
            )
        not_granted = [s for s in request.scopes if s not in token.scopes_granted]
        details = {
            "token_type": token.token_type,
            "access_token": mask_secret(token.access_token),
            "scopes_granted": " ".join(token.scopes_granted),
            "scopes_not_granted": " ".join(not_granted) or "(none)",
            "expires_in": f"{token.expires_in(now):.0f} s" if token.expires_at else "unknown",
            "refresh_token": "issued" if token.refresh_token else "not issued (request offline_access to get one)",
            "claims (decoded, not verified)": json.dumps(token.claims(), indent=2, sort_keys=True)
            if token.claims()
            else "(opaque token)",
        }
        if id_claims is not None:
            signed = token.id_token is not None and id_token_signature_checked(
                token.id_token, jwks, auth.client_secret
            )
            details["id_token"] = "checked: iss, aud, exp, nonce" + (" and signature" if signed else "")
        self._step("token", "Okta issued the access token", details)
        return token

    # -- status plumbing ---------------------------------------------------------------------------

    def _on_timeout(self) -> None:
        minutes = self.timeout / 60
        span = f"{minutes:.0f} min" if minutes >= 1 else f"{self.timeout:g} s"  # not "within 0 s" for 0.5
        exc = _with_fix(LoginTimeout(
            f"Nobody completed the sign-in within {span}. If the browser showed an error about the redirect URI, "
            f"register {self.redirect_uri} in the app's Login redirect URIs."
        ), "run_login_again")
        self._finish("failed", str(exc), error=exc)

    def _finish(
        self, phase: Phase, message: str, *, token: Token | None = None, error: OktaMagicError | None = None
    ) -> None:
        with self._lock:
            if self._finishing:
                return
            self._finishing = True
            listener, self._listener = self._listener, None
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        if listener is not None:
            # Free the port before anyone hears the result, so a new sign-in can bind it at once.
            # Safe from the listener's own handler thread: the reply still goes out on its open connection.
            listener.close()
        self._set(LoginStatus(phase, message, token=token, error=error))
        self._done.set()

    def _step(self, name: str, title: str, details: dict[str, str]) -> None:
        if self._on_step is not None:
            try:
                self._on_step(Step(name, title, {k: str(v) for k, v in details.items()}))
            except Exception:  # noqa: BLE001 - a display bug must not break the sign-in
                log.exception("on_step callback failed")
