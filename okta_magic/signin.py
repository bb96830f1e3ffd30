"""A sign-in from start to finish, for every front end: the settings, the way in, the flow for where the kernel runs.

The magics and the script API both call ``start`` with a ``Request``. It layers the settings (the in-kernel
sandbox's over the given ones), signs a service app in with its key or a sandbox demo user unattended, and
otherwise signs a person in with the flow the request names, or the one ``Session.choose_flow`` picks for
where the kernel runs (loopback redirect, device grant or paste-back), saying which and why through ``say``
before it starts. The ``SignIn`` it returns is what started, for the front end to show; ``again`` starts
another the same way (the panel's New sign-in). When the notebook page reports its own location later,
``SignIn.located`` records it for the kernel (every profile's later flow choice uses it) and, if the rules
chose a loopback redirect that the page's browser turns out not to reach, starts the flow they pick now
(the device grant; paste-back keeps the same sign-in) and returns the one line saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from .errors import ConfigError

if TYPE_CHECKING:
    from .browser_login import LoginFlow, Step
    from .config import OktaConfig
    from .device import DeviceLogin
    from .profiles import Profiles
    from .session import Session
    from .tokens import Token

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
                 profiles: Profiles | None = None) -> None:
        self.session, self.request, self.way, self.config = session, request, way, config
        self.why, self.chosen, self.token = why, chosen, token
        self.login: LoginFlow | DeviceLogin | None = None  # the person's sign-in in flight (None without a person)
        self._layers, self._profiles = tuple(layers), profiles

    def __repr__(self) -> str:
        return f"<SignIn {self.way} {self.config.org_url}>"

    def again(self, fields: Layer | None = None) -> LoginFlow | DeviceLogin:
        """Start the person's sign-in this way, with ``fields`` (the panel's) over the settings when given."""
        session, request = self.session, self.request
        config = session.resolve_config(*self._layers, fields) if fields else self.config
        if self.way == "device":
            self.login = session.sign_in_device(config, client_secret=request.client_secret)
        else:
            browser = request.open_browser if self.way == "loopback" else None  # paste-back: the browser is elsewhere
            self.login = session.sign_in_browser(config, client_secret=request.client_secret, open_browser=browser,
                                                 on_step=request.on_step, timeout=request.timeout)
        return self.login

    def located(self, location: str) -> str | None:
        """The notebook page reported its own location: record it, and follow it if it changes the flow.

        Recorded for the kernel (every profile, when the sign-in has them), so later sign-ins choose with it.
        Only a person's sign-in the rules chose, still waiting, changes: to the device grant (a new sign-in) or
        between loopback and paste-back (the same one). Returns the line saying why when it changed, else None.
        """
        from .where import page_location

        kept = self._profiles.report_page(location) if self._profiles is not None else page_location(location)
        if kept is None:
            return None
        session, login = self.session, self.login
        session.page_location = kept
        if not self.chosen or self.way not in ("loopback", "paste") or login is None or login.done \
                or session.flow is not login:
            return None
        config = session.config or self.config
        flow, why = session.choose_flow(config)
        if flow == self.way:
            return None
        if flow == "device":
            self.login = session.sign_in_device(config, client_secret=self.request.client_secret)
        self.way, self.why = flow, why  # type: ignore[assignment]
        return why


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
        session.start_sandbox(token_lifetime=request.token_lifetime)
        service = session.sandbox_service_key(request.app) is not None
        if request.key is None and (service or request.user and request.flow != "device"):
            token = session.sign_in_sandbox(request.user, app=request.app, layers=layers, wait=request.wait,
                                            timeout=request.timeout, client_secret=request.client_secret,
                                            on_step=request.on_step)
            assert session.config is not None
            return SignIn(session, request, "service" if service else "unattended", session.config, token=token)
        # registers the redirect URI a layer asks for (else one on a free port) with the sandbox app
        wanted = [str(layer["redirect_uri"]) for layer in layers if layer.get("redirect_uri")]
        layers.append(session.sandbox_settings(request.app, wanted[-1] if wanted else None))
    config = session.resolve_config(*layers)
    if request.key is not None:
        token = session.sign_in_service(config, request.key(), key_id=request.key_id)
        return SignIn(session, request, "service", config, token=token)
    chosen = request.flow is None
    flow, why = session.choose_flow(config) if chosen else (request.flow, None)
    if why is not None and say is not None:
        say(why)
    sign_in = SignIn(session, request, flow, config, why=why, chosen=chosen,  # type: ignore[arg-type]
                     layers=layers, profiles=profiles)
    sign_in.again()
    return sign_in
