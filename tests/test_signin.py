"""Sign-in orchestration (``okta_magic.sessions.signin``): the one path ``%okta_login`` and ``okta_magic.login()`` take, and
what a page location reported after the sign-in started changes, down to the panel, against the in-kernel sandbox."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _login_fixtures import Browser

import okta_magic.notebook.magics
from okta_magic.sessions import signin
from okta_magic.flows.browser import LoginFlow
from okta_magic.flows.device import DeviceLogin
from okta_magic.notebook.magics import OktaMagics
from okta_magic.sessions.profiles import Profiles
from okta_magic.sessions.session import Session
from okta_magic.notebook.widgets import LoginPanel, PageLocation

SCOPES = "openid okta.users.read"
HUB_PAGE = "https://hub.example.org/user/alice/lab/tree/lesson.ipynb"


def nowhere(_path: str) -> bool:
    """No container marker file."""
    return False


@pytest.fixture
def profiles() -> Iterator[Profiles]:
    """A kernel's profiles whose sessions see no sign of a remote kernel (so the page location decides)."""
    made = Profiles(Session(environ={}, exists=nowhere),
                    factory=lambda name: Session(name=name, environ={}, exists=nowhere))
    try:
        yield made
    finally:
        made.close()


def _until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _activate(profiles: Profiles, user_code: str, user: str = "readonly") -> None:
    """A person enters the code on the sandbox's activation page, on any device."""
    sandbox = profiles.sandbox()
    assert sandbox is not None
    answer = httpx.post(f"{sandbox.url}/activate", data={
        "user_code": user_code, "username": user, "password": sandbox.demo_users[user].password})
    assert "Device activated" in answer.text


def test_a_loopback_sign_in_the_page_cannot_reach_becomes_the_device_grant(profiles: Profiles) -> None:
    session, said = profiles.default, []
    started = signin.start(session, signin.Request(layers=[{"scopes": SCOPES}], sandbox=True), profiles=profiles,
                           say=said.append)
    first = started.login
    assert started.way == "loopback" and started.chosen and isinstance(first, LoginFlow)
    assert said == ["Loopback redirect: Nothing says the kernel runs away from your browser, so the browser can "
                    "reach the kernel's sign-in listener."]
    why = started.located(HUB_PAGE + "?token=0123abcd#cell")
    assert why is not None and why.startswith("Device grant: The notebook page is at hub.example.org (your browser "
                                              "is on another machine), so the browser cannot reach the kernel's")
    assert started.way == "device" and isinstance(started.login, DeviceLogin) and session.flow is started.login
    assert first.status.phase == "cancelled"  # its listener is closed: nothing reaches it
    assert profiles.page_location == session.page_location == HUB_PAGE  # kept for the kernel, without the token
    assert profiles.ensure("helpdesk").page_location == HUB_PAGE  # a profile made later knows it too
    _activate(profiles, started.login.user_code)
    assert started.login.wait(30).subject == "readonly@example.com"


def test_later_sign_ins_choose_with_the_page_location(profiles: Profiles) -> None:
    profiles.report_page(HUB_PAGE)
    said: list[str] = []
    started = signin.start(profiles.ensure("ro"), signin.Request(layers=[{"scopes": SCOPES}], sandbox=True),
                           profiles=profiles, say=said.append)
    assert started.way == "device" and said[0].startswith("Device grant: The notebook page is at hub.example.org")
    assert started.located(HUB_PAGE) is None  # nothing changes twice
    started.login.cancel()  # type: ignore[union-attr]


def test_what_a_page_location_leaves_alone(profiles: Profiles) -> None:
    session = profiles.default
    request = signin.Request(layers=[{"scopes": SCOPES}], sandbox=True)
    here = signin.start(session, request, profiles=profiles)
    assert here.located("http://localhost:8888/lab/tree/a.ipynb") is None and here.way == "loopback"
    assert session.flow is here.login and profiles.page_location == "http://localhost:8888/lab/tree/a.ipynb"
    named = signin.start(session, signin.Request(layers=[{"scopes": SCOPES}], sandbox=True, flow="loopback"))
    assert named.located(HUB_PAGE) is None and named.way == "loopback"  # the front end named the flow
    assert here.located(HUB_PAGE) is None  # a sign-in another one replaced
    assert named.located("vscode-webview://abc/index.html") is None  # no page location at all
    unattended = signin.start(session, signin.Request(layers=[{"scopes": SCOPES}], sandbox=True, user="admin"))
    assert unattended.way == "unattended" and unattended.token is not None
    assert unattended.located(HUB_PAGE) is None and session.token is unattended.token
    service = signin.start(session, signin.Request(layers=[{"scopes": "okta.users.read"}], sandbox=True,
                                                   app="service"))
    assert service.way == "service" and service.token is not None and service.token.subject != "admin@example.com"


def test_a_demo_user_for_a_service_app_is_refused_in_one_place(profiles: Profiles) -> None:
    from okta_magic.errors import ConfigError

    for request in (signin.Request(sandbox=True, app="service", user="admin"),
                    signin.Request(sandbox=True, user="admin", key=lambda: "not read")):
        with pytest.raises(ConfigError) as info:
            signin.start(profiles.default, request, profiles=profiles)
        assert info.value.fix == "no_user" and "signs in as itself (client credentials)" in str(info.value)


# -- a container, and an app made as the README says (Authorization Code + PKCE, no device grant) -----------------

APP_WITHOUT_DEVICE_GRANT = "users-only"  # the sandbox app with the authorization_code grant only
REFUSED = ("Paste-back: The kernel runs in a container (/.dockerenv exists), so the browser cannot reach the kernel's "
           "sign-in listener, and the app 0oasandboxusers005d7 may not use the device grant (the org answered "
           "unauthorized_client); sign in (Authorization Code + PKCE), then paste the address the browser lands on.")


def in_a_container(path: str) -> bool:
    """Docker's marker file, as in JupyterLab run in Docker."""
    return path == "/.dockerenv"


@pytest.fixture
def container() -> Iterator[Profiles]:
    """A kernel's profiles whose sessions run in a container (``/.dockerenv``) and see nothing else."""
    made = Profiles(Session(environ={}, exists=in_a_container),
                    factory=lambda name: Session(name=name, environ={}, exists=in_a_container))
    try:
        yield made
    finally:
        made.close()


def _pasted(login: LoginFlow, user: str = "helpdesk") -> str:
    """A person signs in on the machine the browser is on, and copies the address the browser lands on."""
    with Browser() as browser:
        outcome = browser.sign_in(f"{login.authorize_url}&sandbox_user={user}", str(login.redirect_uri), deliver=False)
    assert outcome.redirect_url is not None
    return outcome.redirect_url


def test_in_a_container_an_app_without_the_device_grant_signs_in_with_paste_back(container: Profiles) -> None:
    session, said = container.default, []
    started = signin.start(session, signin.Request(layers=[{"scopes": SCOPES}], sandbox=True,
                                                   app=APP_WITHOUT_DEVICE_GRANT), profiles=container, say=said.append)
    login = started.login
    assert started.way == "paste" and started.why == REFUSED and said == [REFUSED]  # one line, the flow it goes on with
    assert isinstance(login, LoginFlow) and session.flow is login and not login.done
    assert session.sign_in_paste(_pasted(login)).subject == "helpdesk@example.com"
    # the app with the grant still gets the device grant there
    with_grant = signin.start(session, signin.Request(layers=[{"scopes": SCOPES}], sandbox=True), profiles=container)
    assert with_grant.way == "device" and isinstance(with_grant.login, DeviceLogin)
    with_grant.login.cancel()


def test_a_device_grant_named_by_the_person_is_refused_as_it_is(container: Profiles) -> None:
    from okta_magic.errors import TokenExchangeError

    for environ, flow in (({}, "device"), ({"OKTA_SIGN_IN_FLOW": "device"}, None)):
        session = Session(environ=environ, exists=in_a_container)
        try:
            request = signin.Request(layers=[{"scopes": SCOPES}], sandbox=True, app=APP_WITHOUT_DEVICE_GRANT, flow=flow)
            with pytest.raises(TokenExchangeError) as info:
                signin.start(session, request, profiles=container)
        finally:
            session.close()
        assert info.value.error == "unauthorized_client" and "enable the Device Authorization grant" in str(info.value)


def test_a_redirect_uri_given_with_the_sign_in_means_authorization_code(container: Profiles,
                                                                         free_port: Callable[[], int]) -> None:
    session, said = container.default, []
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    started = signin.start(session, signin.Request(layers=[{"scopes": SCOPES, "redirect_uri": redirect_uri}],
                                                   sandbox=True), profiles=container, say=said.append)
    login = started.login
    assert started.way == "paste" and isinstance(login, LoginFlow) and login.redirect_uri == redirect_uri
    assert said == [f"Paste-back: The kernel runs in a container (/.dockerenv exists), so the browser cannot reach the "
                    f"kernel's sign-in listener, and a redirect URI was given ({redirect_uri}); sign in (Authorization "
                    "Code + PKCE), then paste the address the browser lands on."]
    assert started.located(HUB_PAGE) is None and session.flow is login  # still no device grant
    assert session.sign_in_paste(_pasted(login)).subject == "helpdesk@example.com"


def test_a_page_elsewhere_with_an_app_without_the_device_grant_turns_to_paste_back(profiles: Profiles) -> None:
    session = profiles.default
    started = signin.start(session, signin.Request(layers=[{"scopes": SCOPES}], sandbox=True,
                                                   app=APP_WITHOUT_DEVICE_GRANT), profiles=profiles)
    assert started.way == "loopback"
    why = started.located(HUB_PAGE)
    assert why == ("Paste-back: The notebook page is at hub.example.org (your browser is on another machine), so the "
                   "browser cannot reach the kernel's sign-in listener, and the app 0oasandboxusers005d7 may not use "
                   "the device grant (the org answered unauthorized_client); sign in (Authorization Code + PKCE), then "
                   "paste the address the browser lands on.")
    login = started.login
    assert started.way == "paste" and isinstance(login, LoginFlow) and session.flow is login and not login.done
    assert started.located(HUB_PAGE) is None and session.flow is login  # the org is not asked twice
    assert session.sign_in_paste(_pasted(login, "readonly")).subject == "readonly@example.com"


# -- through the magic, to the panel ---------------------------------------------------------------------------


@pytest.fixture
def widget_magics(shell: Any, profiles: Profiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[OktaMagics,
                                                                                                     list[Any]]]:
    """Magics over ``profiles`` as in a widget front end; what they display is collected, not rendered."""
    shown: list[Any] = []
    monkeypatch.setattr(okta_magic.notebook.magics, "display", shown.append)
    magics = OktaMagics(shell, profiles=profiles)
    monkeypatch.setattr(magics, "_widgets_available", lambda: True)
    yield magics, shown
    for widget in shown:
        widget.close()


def _report(widget: Any, location: str) -> None:
    """What the front end does when it shows ``widget``: its PageLocation sends the page's location."""
    reporters = [widget] if isinstance(widget, PageLocation) else [
        c for c in widget.children if isinstance(c, PageLocation)]
    assert len(reporters) == 1
    reporters[0]._handle_custom_msg({"location": location}, [])  # ipywidgets' custom message, as anywidget sends it


def test_the_panel_switches_to_the_device_grant_and_says_why(widget_magics: Any, profiles: Profiles,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    magics, shown = widget_magics
    magics.okta_login(f'--sandbox --scopes "{SCOPES}"')
    (panel,) = shown
    assert isinstance(panel, LoginPanel) and capsys.readouterr().out.startswith("Loopback redirect:")
    assert "/oauth2/v1/authorize?" in panel.sign_in.value and panel.flow_note.value == ""
    assert "Authorization Code + PKCE" in panel.header.value and panel.redirect_uri.layout.display != "none"
    _report(panel, HUB_PAGE + "?token=0123abcd")
    login = profiles.default.flow
    assert isinstance(login, DeviceLogin) and not panel.replaced
    assert 'class="okta-magic-flow"' in panel.flow_note.value and "Device grant: The notebook page is at " \
        "hub.example.org" in panel.flow_note.value and "0123abcd" not in panel.flow_note.value
    assert "okta-magic-wait" in panel.status.value and f"enter the code {login.user_code}" in panel.status.value
    assert login.verification_uri_complete and login.verification_uri_complete.replace("&", "&amp;") in \
        panel.sign_in.value  # the link opens the activation page
    assert panel.paste_row.layout.display == "none"  # nothing to paste in a device sign-in
    assert "Device Authorization Grant" in panel.header.value and "PKCE" not in panel.header.value
    assert panel.redirect_uri.layout.display == "none"  # a device sign-in has no redirect
    states = [panel.get_state(), *(child.get_state() for child in panel.children)]
    assert "0123abcd" not in repr(states) and "hub.example.org/user" not in repr(states)  # no widget keeps the page
    _activate(profiles, login.user_code)
    _until(lambda: "okta-magic-ok" in panel.status.value)
    assert "Signed in as readonly@example.com" in panel.status.value
    # the next sign-in chooses with the location: the device grant, the page named in the line
    magics.okta_login(f'--sandbox --scopes "{SCOPES}"')
    out = capsys.readouterr().out
    assert out.startswith("Device grant: The notebook page is at hub.example.org") and "enter the code" in out
    assert isinstance(shown[-1], PageLocation) and panel.replaced


def test_a_device_code_shown_without_a_panel_still_reports_the_page(widget_magics: Any, profiles: Profiles,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    magics, shown = widget_magics
    magics.okta_login(f'--sandbox --device --scopes "{SCOPES}"')
    assert capsys.readouterr().out.startswith("On any device, open ")
    (reporter,) = shown
    _report(reporter, "https://jupyter.example.net:8888/lab/tree/a.ipynb?token=abc")
    assert profiles.page_location == "https://jupyter.example.net:8888/lab/tree/a.ipynb"
    assert isinstance(profiles.default.flow, DeviceLogin)  # the device sign-in goes on as it was
    profiles.default.cancel_login()


@pytest.fixture
def container_magics(shell: Any, container: Profiles, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        tuple[OktaMagics, list[Any]]]:
    """Magics in a widget front end over profiles in a container; what they display is collected, not rendered."""
    shown: list[Any] = []
    monkeypatch.setattr(okta_magic.notebook.magics, "display", shown.append)
    magics = OktaMagics(shell, profiles=container)
    monkeypatch.setattr(magics, "_widgets_available", lambda: True)
    yield magics, shown
    for widget in shown:
        widget.close()


def test_in_a_container_the_readme_app_signs_in_through_the_panels_paste_field(
        container_magics: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics, shown = container_magics
    magics.okta_login(f'--sandbox --app {APP_WITHOUT_DEVICE_GRANT} --scopes "{SCOPES}"')
    (panel,) = shown
    assert capsys.readouterr().out == f"{REFUSED} (%okta_login --flow loopback, device or paste names another.)\n"
    login = magics.session.flow
    assert isinstance(panel, LoginPanel) and isinstance(login, LoginFlow) and not panel.replaced
    assert "Authorization Code + PKCE" in panel.header.value and "okta-magic-wait" in panel.status.value
    assert panel.paste_row.layout.display != "none" and login.authorize_url.replace("&", "&amp;") in panel.sign_in.value
    panel.paste.value = _pasted(login)  # what the person pastes into the panel
    _until(lambda: "okta-magic-ok" in panel.status.value)
    assert "Signed in as helpdesk@example.com" in panel.status.value and panel.paste.value == ""


def test_the_flow_is_named_on_the_line_and_a_redirect_uri_given_there_means_authorization_code(
        container_magics: Any, free_port: Callable[[], int], capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.core.error import UsageError

    magics, shown = container_magics
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    magics.okta_login(f'--sandbox --redirect-uri {redirect_uri} --scopes "{SCOPES}"')  # an app with the device grant
    out = capsys.readouterr().out
    assert out.startswith("Paste-back: The kernel runs in a container") and f"URI was given ({redirect_uri})" in out
    assert isinstance(magics.session.flow, LoginFlow) and magics.session.flow.redirect_uri == redirect_uri
    magics.okta_login(f'--sandbox --flow loopback --scopes "{SCOPES}"')  # e.g. a container on host networking
    assert capsys.readouterr().out == "" and isinstance(shown[-1], LoginPanel)  # named: nothing to explain
    magics.okta_login(f'--sandbox --flow paste --no-widget --scopes "{SCOPES}"')
    out = capsys.readouterr().out
    assert out.startswith("Open this URL in your browser and sign in:") and "copy the address it landed on" in out
    magics.okta_login(f'--sandbox --flow device --scopes "{SCOPES}"')
    assert capsys.readouterr().out.startswith("On any device, open ") and isinstance(magics.session.flow, DeviceLogin)
    magics.session.cancel_login()
    for line, words in ((f"--sandbox --flow device --app {APP_WITHOUT_DEVICE_GRANT}",  # named: no paste-back instead
                         "unauthorized_client (The client is not authorized to use the device grant.); enable the "
                         "Device Authorization grant for the app"),
                        ("--sandbox --device --flow paste", "--device and --flow paste name two flows: keep one."),
                        ("--sandbox --flow pigeon", "argument --flow: invalid choice: 'pigeon'")):
        with pytest.raises(UsageError) as info:
            magics.okta_login(line)
        assert words in str(info.value) and "\n" not in str(info.value)
