"""A sign-in from start to finish, for every front end: the settings, the way in, the flow for where the kernel runs.

The magics and the script API both call ``start`` with a ``Request``. It layers the settings (the in-kernel
sandbox's over the given ones), signs a service app in with its key or a sandbox demo user unattended, and
otherwise signs a person in with the flow the request names, or the one ``Session.choose_flow`` picks for
where the kernel runs (loopback redirect, device grant or paste-back), saying which and why through ``say``.
Where the rules pick the device grant, a redirect URI given with the request, or the org refusing that grant
to the app (``unauthorized_client``, RFC 8628 §3.2 / RFC 6749 §5.2), makes it paste-back instead: Authorization
Code + PKCE, which every app made for a notebook has. The ``SignIn`` it returns is what started, for the
front end to show; ``again`` starts another the same way (the panel's New sign-in). When the notebook page
reports its own location later, ``SignIn.located`` records it for the kernel (every profile's later flow
choice uses it) and, if the rules chose a loopback redirect that the page's browser turns out not to reach,
starts the flow they pick now (the device grant, or paste-back in its place as above; paste-back keeps the
same sign-in) and returns the one line saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from okta_magic.errors import ConfigError, TokenExchangeError

if TYPE_CHECKING:
    from okta_magic.flows.browser import LoginFlow, Step
    from okta_magic.config import OktaConfig
    from okta_magic.flows.device import DeviceLogin
    from okta_magic.sessions.profiles import Profiles
    from okta_magic.sessions.session import Session
    from okta_magic.tokens import Token
    from okta_magic.flows.where import Environment

Way = Literal["loopback", "device", "paste", "service", "unattended"]
FLOWS = ("loopback", "device", "paste")  # the ways a person signs in; the others need no person
Layer = Mapping[str, object | None]


@dataclass(frozen=True)
class Request:
    """What a front end asks for: the settings' layers (lowest first) and the options that pick the way in."""

    layers: Sequence[Layer] = ()
    flow: str | None = None  # "loopback", "device" or "paste" named by the caller; None: chosen for where it runs
    sandbox: bool = False  # the in-kernel sandbox org, its settings over the layers'
    app: str = "native"  # which sandbox app
    user: str | None = None  # a sandbox demo user, signed in unattended
    token_lifetime: int | None = None  # seconds the sandbox's access tokens last
    key: Callable[[], str] | None = None  # a service app's private key, read only when it is used
    key_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    open_browser: Callable[[str], object] | None = None  # gets the authorize URL, for the loopback redirect only
    on_step: Callable[[Step], None] | None = None  # hears each protocol step (teaching)
    timeout: float = 300.0  # how long the listener waits for the browser
    wait: float = 60.0  # how long an unattended sign-in may take


class SignIn:
    """A sign-in that started: the way in, the line saying why (when the rules chose it), and what to show."""

    def __init__(self, session: Session, request: Request, way: Way, config: OktaConfig, *, why: str | None = None,
                 chosen: bool = False, token: Token | None = None, layers: Sequence[Layer] = (),
                 profiles: Profiles | None = None, environment: Environment | None = None) -> None:
        """``environment``: where the kernel runs, when the rules chose the way for it (not a name, not a variable)."""
        self.session, self.request, self.way, self.config = session, request, way, config
        self.why, self.chosen, self.token = why, chosen, token
        self.login: LoginFlow | DeviceLogin | None = None  # the person's sign-in in flight (None without a person)
        self._layers, self._profiles, self._environment = tuple(layers), profiles, environment
        self._no_device: str | None = None  # why the device grant is out for this app, once the org refused it

    def __repr__(self) -> str:
        return f"<SignIn {self.way} {self.config.org_url}>"

    def again(self, fields: Layer | None = None) -> LoginFlow | DeviceLogin:
        """Start the person's sign-in this way, with ``fields`` (the panel's) over the settings when given."""
        config = self.session.resolve_config(*self._layers, fields) if fields else self.config
        self.login = self._device(config) if self.way == "device" else self._browser(config)
        return self.login

    def _browser(self, config: OktaConfig) -> LoginFlow:
        """Authorization Code + PKCE: the loopback redirect, or paste-back (no browser opened here)."""
        request = self.request
        browser = request.open_browser if self.way == "loopback" else None  # paste-back: the browser is elsewhere
        return self.session.sign_in_browser(config, client_secret=request.client_secret, open_browser=browser,
                                            on_step=request.on_step, timeout=request.timeout)

    def _device(self, config: OktaConfig) -> LoginFlow | DeviceLogin:
        """The device grant; where the rules chose it and the org refuses it to the app, paste-back instead.

        Okta answers ``unauthorized_client`` when the app lacks the Device Authorization grant (an app made for
        Authorization Code + PKCE, as the README makes it); a device grant named by the person fails as it is.
        """
        from okta_magic.flows.where import paste_instead

        try:
            return self.session.sign_in_device(config, client_secret=self.request.client_secret)
        except TokenExchangeError as exc:
            if exc.error != "unauthorized_client" or self._environment is None:
                raise
            self._no_device = (f"the app {config.client_id} may not use the device grant (the org answered "
                               "unauthorized_client)")
            self.way, self.why = paste_instead(self._environment, self._no_device)  # type: ignore[assignment]
        return self._browser(config)

    def located(self, location: str) -> str | None:
        """The notebook page reported its own location: record it, and follow it if it changes the flow.

        Recorded for the kernel (every profile, when the sign-in has them), so later sign-ins choose with it.
        Only a person's sign-in the rules chose, still waiting, changes: to the device grant (a new sign-in) or
        between loopback and paste-back (the same one). Returns the line saying why when it changed, else None.
        """
        from okta_magic.flows.where import page_location

        kept = self._profiles.report_page(location) if self._profiles is not None else page_location(location)
        if kept is None:
            return None
        session, login = self.session, self.login
        session.page_location = kept
        if not self.chosen or self.way not in ("loopback", "paste") or login is None or login.done \
                or session.flow is not login:
            return None
        config = session.pending or self.config
        choice = _without_device(session.choose_flow(config), self._no_device or _redirect_given(self.request.layers))
        if choice[0] == self.way:
            return None
        self.way, self.why = choice  # type: ignore[assignment]
        self._environment = _rules_environment(choice)
        if self.way == "device":  # a new sign-in; the org may refuse the grant to the app: paste-back then, said
            self.login = self._device(config)
        return self.why


def _rules_environment(choice: tuple[str, str | None]) -> Environment | None:
    """Where the kernel runs, when the rules chose ``choice`` for it (None for a flow named by the person)."""
    from okta_magic.flows.where import Choice

    return choice.environment if isinstance(choice, Choice) else None


def _without_device(choice: tuple[str, str], because: str | None) -> tuple[str, str | None]:
    """The rules' choice, with paste-back in the place of their device grant when ``because`` rules that out."""
    from okta_magic.flows.where import paste_instead

    environment = _rules_environment(choice)
    if choice[0] != "device" or because is None or environment is None:
        return choice
    return paste_instead(environment, because)


def _redirect_given(layers: Sequence[Layer]) -> str | None:
    """Why not the device grant when the request gives a redirect URI (an option, a script's argument, %config).

    A redirect URI given with the sign-in says the app is set up for Authorization Code + PKCE, the flow it is
    for; the device grant would need another setting in the app.
    """
    given = _given_redirect_uri(layers)
    return None if given is None else f"a redirect URI was given ({given})"


def _given_redirect_uri(layers: Sequence[Layer]) -> str | None:
    """The redirect URI the request's layers give (the last one wins, as in the settings), else None."""
    wanted = [str(layer["redirect_uri"]) for layer in layers if layer.get("redirect_uri")]
    return wanted[-1] if wanted else None


def start(session: Session, request: Request, *, profiles: Profiles | None = None,
          say: Callable[[str], object] | None = None) -> SignIn:
    """Sign in as ``request`` asks; ``say`` hears the line saying which flow the rules chose and why, first.

    ``profiles``: the kernel's profiles, so that a sandbox is shared by all of them and a reported page location
    reaches them all.
    """
    if request.flow is not None and request.flow not in FLOWS:
        raise ConfigError(f"{request.flow!r} is not a sign-in flow: use loopback, device or paste.")
    if request.key is not None and request.user:
        raise ConfigError(f"The {request.app} app signs in as itself (client credentials):").with_fix("no_user")
    layers = list(request.layers)
    if request.sandbox:
        if profiles is not None:
            profiles.share_sandbox(session)  # every profile signs in to the one sandbox org
        session.kernel_sandbox.start(token_lifetime=request.token_lifetime)
        service = session.kernel_sandbox.service_key(request.app) is not None
        if request.key is None and (service or request.user and request.flow != "device"):
            token = session.sign_in_sandbox(request.user, app=request.app, layers=layers, wait=request.wait,
                                            timeout=request.timeout, client_secret=request.client_secret,
                                            on_step=request.on_step)
            assert session.config is not None
            return SignIn(session, request, "service" if service else "unattended", session.config, token=token)
        # registers the redirect URI a layer asks for (else one on a free port) with the sandbox app
        layers.append(session.kernel_sandbox.settings(request.app, _given_redirect_uri(layers)))
    config = session.resolve_config(*layers)
    if request.key is not None:
        token = session.sign_in_service(config, request.key(), key_id=request.key_id)
        return SignIn(session, request, "service", config, token=token)
    chosen = request.flow is None
    choice = _without_device(session.choose_flow(config), _redirect_given(request.layers)) if chosen else (
        str(request.flow), None)
    flow, why = choice
    sign_in = SignIn(session, request, flow, config, why=why, chosen=chosen,  # type: ignore[arg-type]
                     layers=layers, profiles=profiles, environment=_rules_environment(choice))
    if why is not None and say is not None and flow != "device":
        say(why)  # before a browser opens
    sign_in.again()
    if sign_in.why is not None and say is not None and flow == "device":
        say(sign_in.why)  # once the org took the device request, or refused it to the app (then paste-back)
    return sign_in
