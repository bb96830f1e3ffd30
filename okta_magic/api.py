"""The plain Python API: sign in, send requests, get DataFrames, with or without IPython.

The magics call these same functions, so a script gets exactly what a
notebook gets::

    import okta_magic
    okta_magic.login(org_url="https://dev-123456.okta.com", client_id="0oa1abc",
                     scopes="openid okta.users.read")      # opens your browser, waits
    users = okta_magic.get("/api/v1/users")                   # every page, one DataFrame
    with okta_magic.http_client() as http:                    # for code of your own
        http.get("/api/v1/groups")
"""

from __future__ import annotations

import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .session import OktaSession, current_session
from .tokens import InMemoryOnly, Secret, secret

if TYPE_CHECKING:
    import httpx
    import pandas as pd

    from .client import Result
    from .coach import FlowExplainer
    from .config import OktaConfig
    from .login import LoginFlow
    from .tokens import Token

__all__ = ["current_session", "login", "login_sandbox", "use_token", "logout", "get", "request", "http_client"]


def now() -> float:
    """Epoch seconds (one place, so displays agree)."""
    return time.time()


# -- signing in ------------------------------------------------------------------


def begin(
    session: OktaSession,
    config: OktaConfig,
    *,
    client_secret: str | None = None,
    explain: FlowExplainer | None = None,
    timeout: float = 900,
    browser: Callable[[str], object] | None = None,
) -> LoginFlow:
    """Start an Authorization Code + PKCE sign-in; ``browser`` (if any) is sent the authorize URL."""
    return session.begin_login(config, client_secret=client_secret, open_browser=browser,
                               on_step=explain.on_step if explain else None, timeout=timeout)


def plain_instructions(flow: LoginFlow) -> str:
    """What to do when there is no panel: the URL to open and how to paste the redirect back."""
    return (
        "Open this URL in your browser and sign in:\n\n"
        f"    {flow.authorize_url}\n\n"
        "This kernel is listening for the redirect; requests wait for the sign-in to finish.\n"
        "If your browser cannot reach this machine (remote kernel), copy the URL it was redirected to "
        "(it shows an error page) and run:\n\n"
        "    %okta_login --paste '<that URL>'\n"
    )


@dataclass(frozen=True)
class SignInRequest(InMemoryOnly):
    """What ``%okta_login`` was asked for, as plain values (secrets already read without echo)."""

    settings: Mapping[str, object | None]  # org_url, client_id, scopes, redirect_uri, auth_method, dpop (options)
    defaults: Mapping[str, object | None] = field(default_factory=dict)  # the %config layer
    sandbox: bool = False
    as_user: str | None = None
    app: str = "native"
    paste: str | None = None
    access_token: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    private_key_path: str | None = None
    key_id: str | None = None
    device: bool = False
    interactive: bool = True  # a panel can be shown
    browser: Callable[[str], object] | None = None  # opens the authorize URL (scripts: webbrowser.open)
    timeout: float = 900  # how long the listener waits for the browser
    unattended_wait: float = 300  # how long --as waits for the sandbox's sign-in

    def __post_init__(self) -> None:
        for name in ("access_token", "api_token", "client_secret"):  # masked in every repr and traceback
            object.__setattr__(self, name, secret(getattr(self, name)))


@dataclass
class PanelPlan:
    """What the magic needs to show the panel: its initial values and how to (re)start a sign-in."""

    settings: dict[str, object]
    restart: Callable[[Mapping[str, object]], object]


@dataclass
class SignInResult:
    """Lines to show, and the panel to display when the sign-in waits for a person."""

    lines: list[str] = field(default_factory=list)
    panel: PanelPlan | None = None


def sign_in(session: OktaSession, ask: SignInRequest, *, explain: FlowExplainer | None = None) -> SignInResult:
    """Everything ``%okta_login`` does, without IPython: one of the ways in, chosen by ``ask``."""
    from .coach import describe_token, scope_differences

    if ask.paste:
        return SignInResult([describe_token(session.submit_redirect_url(ask.paste), now())])
    secret = ask.access_token or ask.api_token
    if secret:
        note = ["Note: Okta recommends OAuth 2.0 over SSWS API tokens; an API token acts with its creator's "
                "full admin role."] if ask.api_token else []
        token = use_secret(session, secret, api_token=bool(ask.api_token), layers=(ask.defaults, ask.settings),
                           warn=note.append)
        return SignInResult([*note, describe_token(token, now())])
    if ask.as_user and not ask.sandbox:
        raise ConfigError("--as signs in a sandbox demo user: add --sandbox.")
    # The sandbox registers the redirect URI asked for by option or by %config (else one on a free port).
    wanted = {"redirect_uri": ask.settings.get("redirect_uri") or ask.defaults.get("redirect_uri")}
    options = sandbox_options(session, {**ask.settings, **wanted}, app=ask.app) if ask.sandbox else dict(ask.settings)
    config = session.resolve_config(ask.defaults, options)
    service_key = _sandbox_service_key(session, ask.app) if ask.sandbox else None
    if ask.private_key_path or service_key:
        if ask.as_user:
            raise ConfigError(f"The {ask.app} app signs in as itself (client credentials): leave out --as.")
        key = service_key or _read_key(ask.private_key_path or "")
        return SignInResult([describe_token(service_login(session, config, key, key_id=ask.key_id), now())])
    if ask.device:
        return SignInResult([device_login(session, config, client_secret=ask.client_secret)])
    browser = session.sandbox_browser(ask.as_user) if ask.as_user else ask.browser

    def restart(fields: Mapping[str, object] | None = None) -> LoginFlow:
        conf = session.resolve_config(ask.defaults, options, fields) if fields else config
        return begin(session, conf, client_secret=ask.client_secret, explain=explain, timeout=ask.timeout,
                     browser=browser)

    flow = restart()
    if ask.as_user:
        token = flow.wait(ask.unattended_wait)
        return SignInResult([describe_token(token, now()),
                             *scope_differences(token.scopes_requested, token.scopes_granted)])
    if not ask.interactive:
        return SignInResult([plain_instructions(flow)])
    settings: dict[str, object] = {"org_url": config.org_url, "client_id": config.client_id,
                                   "scopes": " ".join(config.scopes), "redirect_uri": config.redirect_uri}
    return SignInResult(panel=PanelPlan(settings, restart))


def wait_for_sign_in(session: OktaSession) -> str:
    """Block until the sign-in in flight completes; one line saying who is signed in."""
    from .coach import describe_token

    return describe_token(session.current_token(), now())


def sandbox_options(session: OktaSession, options: Mapping[str, object], *, app: str = "native") -> dict[str, object]:
    """Fill the org URL, client id and a registered loopback redirect URI from the in-kernel sandbox."""
    wanted = options.get("redirect_uri")
    return {**options, **session.sandbox_settings(app, str(wanted) if wanted else None)}


#: Said once when a pasted access token came back in a redirect URL (RFC 6749 §4.2.2).
IMPLICIT_FLOW_NOTE = (
    "Note: this token came back in a redirect URL, from the implicit flow (response_type=token), which the "
    "OAuth 2.0 Security BCP (RFC 9700 §2.1.2) says not to use: a token in a URL leaks through browser history, "
    "logs and Referer headers, and nothing ties it to the app that asked for it. Authorization Code + PKCE "
    "replaced it: sign in with %okta_login next time.")


def use_secret(
    session: OktaSession, secret: str, *, api_token: bool, layers: tuple[Mapping[str, object | None], ...],
    warn: Callable[[str], object] | None = None,
) -> Token:
    """Adopt an access token or SSWS API token the user already has; ``warn`` hears about an implicit-flow one."""
    from .config import OktaConfig, check_org_url, from_environ
    from .tokens import Token, front_channel_parameters

    secret = Secret(secret)  # masked wherever this frame's locals are shown
    merged: dict[str, object] = dict(from_environ())
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if v})
    org_url = check_org_url(merged.get("org_url"))  # type: ignore[arg-type]
    make = Token.from_api_token if api_token else Token.from_access_token
    token = make(secret, issuer=org_url)
    issued_by = str((token.claims() or {}).get("iss") or "")
    if "/oauth2/" in issued_by:
        # Only the Org Authorization Server mints okta.* scopes; the Management API refuses every other token.
        raise ConfigError(f"This access token comes from the custom authorization server {issued_by}; the "
                          "Management API accepts only tokens of the Org Authorization Server: get one from "
                          f"{org_url}/oauth2/v1/token, or sign in with %okta_login.")
    config = OktaConfig(org_url=org_url, client_id=str(merged.get("client_id") or token.client_id or "(pasted)"),
                        scopes=token.scopes_granted)
    adopted = session.use_token(token, config)
    if not api_token and warn is not None and front_channel_parameters(secret) is not None:
        warn(IMPLICIT_FLOW_NOTE)  # only a redirect that carries the token says how it was obtained
    return adopted


def _read_key(key_path: str) -> str:
    """A private key file's text (PEM or JWK); the message never quotes the file."""
    from pathlib import Path

    try:
        return Secret(Path(key_path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the private key {key_path!r} ({exc.strerror}); "
                          "give the path of a PEM or JWK file.") from None


def _sandbox_service_key(session: OktaSession, app: str) -> str | None:
    """The private key of a sandbox service app (held in this process), or None for other apps."""
    demo = session.sandbox.apps.get(app) if session.sandbox is not None else None
    return secret(demo.private_key_pem) if demo is not None and demo.application_type == "service" else None


def service_login(session: OktaSession, config: OktaConfig, key: str, *, key_id: str | None = None) -> Token:
    """A service app's client credentials with a signed client assertion (private_key_jwt).

    OpenID scopes (openid, profile ...) mean nothing without a person and Okta refuses them in this
    grant, so only the API scopes are asked for.
    """
    from .assertion import service_login as _service_login
    from .config import OIDC_SCOPES

    scopes = [s for s in config.scopes if s not in OIDC_SCOPES]
    if not scopes:
        raise ConfigError("A service app signs in for API scopes only: pass them, e.g. --scopes 'okta.users.read'.")
    token = _service_login(config.org_url, config.client_id, key, scopes, kid=key_id, http=session.oauth_http(),
                           dpop=config.dpop)
    return session.use_token(token, config)


def device_login(session: OktaSession, config: OktaConfig, *, client_secret: str | None = None) -> str:
    """RFC 8628 device authorization: returns what to tell the person; the token arrives in the background."""
    login = session.begin_device_login(config, client_secret=client_secret)
    where = login.verification_uri_complete or login.verification_uri
    return (f"On any device, open {login.verification_uri} and enter the code {login.user_code}"
            + (f" (or open {where})" if where != login.verification_uri else "")
            + ". Requests in this kernel wait for you to finish.")


# -- public API for scripts ------------------------------------------------------------


def login(
    org_url: str | None = None,
    client_id: str | None = None,
    scopes: str | None = None,
    redirect_uri: str | None = None,
    *,
    client_secret: str | None = None,
    auth_method: str | None = None,
    dpop: bool = False,
    open_browser: bool | Callable[[str], object] = True,
    wait: bool = True,
    timeout: float = 300,
) -> Token | LoginFlow:
    """Sign in with Authorization Code + PKCE; returns the Token (or the flow when ``wait=False``).

    ``open_browser``: True opens the system browser, False prints the URL to open,
    or a callable receives the authorize URL. ``dpop``: bind the token to a key from the start.
    """
    session = current_session()
    browser = webbrowser.open if open_browser is True else open_browser or None
    result = sign_in(session, SignInRequest(
        settings={"org_url": org_url, "client_id": client_id, "scopes": scopes, "redirect_uri": redirect_uri,
                  "auth_method": auth_method, "dpop": dpop},
        client_secret=client_secret, interactive=False, browser=browser, timeout=timeout))
    from .login import LoginFlow

    flow = session.flow
    assert isinstance(flow, LoginFlow)
    if not wait:
        return flow
    if browser is None:
        print(*result.lines)
    return flow.wait(timeout)


def login_sandbox(user: str = "admin", scopes: str | None = None, *, app: str = "native") -> Token:
    """Start the built-in sandbox org (if needed) and sign in as one of its demo users, unattended."""
    session = current_session()
    sign_in(session, SignInRequest(settings={"scopes": scopes}, sandbox=True, as_user=user, app=app,
                                   unattended_wait=60))
    return session.current_token()


def use_token(access_token: str, org_url: str | None = None, *, api_token: bool = False) -> Token:
    """Use an access token (or, with ``api_token=True``, an SSWS key) you already have."""
    import sys

    access_token = Secret(access_token)  # masked wherever this frame's locals are shown
    return use_secret(current_session(), access_token, api_token=api_token, layers=({"org_url": org_url},),
                      warn=lambda line: print(line, file=sys.stderr))


def logout() -> str:
    """Revoke where possible and forget the tokens."""
    return current_session().logout()


def get(path: str, *, max_pages: int | None = None, max_rows: int | None = None, **params: Any) -> pd.DataFrame | Any:
    """GET a Management API path; a JSON array comes back as one DataFrame over every page."""
    from urllib.parse import quote, urlencode

    # %20 for spaces: the request parser reads a typed "+" as a plus sign (Okta's search values hold spaces)
    text = f"GET {path}" + (("&" if "?" in path else "?") + urlencode(params, quote_via=quote) if params else "")
    return request(text, max_pages=max_pages, max_rows=max_rows)


def request(text: str, *, namespace: Mapping[str, Any] | None = None, **options: Any) -> Any:
    """Run a request written as in ``%%okta`` (method, path, headers, body); returns its value."""
    return run_request(current_session(), text, dict(namespace or {}), **options).value


def http_client() -> httpx.Client:
    """A new ``httpx.Client`` for the signed-in org, yours to close: base URL set, token sent only to the org's host."""
    return current_session().http_client()


# -- requests ------------------------------------------------------------------------------


@dataclass
class PlainAnswer:
    """A non-JSON or empty answer (204, text/html …), shown plainly."""

    status: int
    content_type: str | None
    text: str | None

    def __repr__(self) -> str:
        head = f"HTTP {self.status}" + (f" ({self.content_type})" if self.content_type else "")
        return head + (f"\n{self.text}" if self.text else ": no content")


@dataclass
class Outcome:
    """What a request produced, for the magic to show or store."""

    value: Any
    result: Result
    notes: list[str] = field(default_factory=list)

    fallback_name = "_okta_partial"

    @property
    def interrupted(self) -> bool:
        return self.result.interrupted

    def describe(self) -> str:
        value = self.value
        shape = getattr(value, "shape", None)
        if shape is not None and len(shape) == 2:
            return f"{shape[0]:,} rows × {shape[1]} columns from {self.result.pages} page(s)"
        if isinstance(value, list):
            return f"{len(value):,} records"
        return type(value).__name__


def run_request(
    session: OktaSession,
    text: str,
    namespace: Mapping[str, Any],
    *,
    max_pages: int | None = None,
    max_rows: int | None = None,
    raw: bool = False,
    keep_links: bool = False,
    timeout: float | None = None,
    progress: bool = True,
    warn: Callable[[str], object] | None = None,
    sign_in_wait: float | None = None,
) -> Outcome:
    """Parse a ``%okta`` request, wait ``sign_in_wait`` s for a sign-in in flight, warn on a missing scope, send it."""
    from .coach import request_warning
    from .query import parse_request

    request = parse_request(text, namespace)
    token = session.current_token(on_wait=warn or print, wait_for=sign_in_wait)  # first: a sign-in replaces the client
    client = session.client
    if warn is not None and token.token_type != "SSWS":
        warning = request_warning(request.method, request.path, token.scopes_granted)
        if warning:
            warn(warning)
    result = client.fetch(request, max_pages=max_pages, max_rows=max_rows, raw=raw, keep_links=keep_links,
                          timeout=timeout, progress=progress)
    value = result.data
    if value is None or isinstance(value, str):
        value = PlainAnswer(result.status, result.content_type, value)
    elif getattr(value, "ndim", 0) == 1 and len(value) == 0:  # an empty JSON object (lifecycle calls answer {})
        value = PlainAnswer(result.status, result.content_type, "{}")
    return Outcome(value, result, [result.note] if result.note else [])
