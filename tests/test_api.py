"""The script façade (``okta_magic.api``): the default session, an explicit ``session=``, two sessions side
by side against one sandbox org as two demo users, errors worded for a script, and the sign-in flow
``login()`` chooses for where it runs (the same choice as ``%okta_login``'s)."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from _environments import SIGNS
from _login_fixtures import Browser

import okta_magic
from okta_magic import advice, api
from okta_magic.flows.browser import LoginFlow
from okta_magic.flows.device import DeviceLogin
from okta_magic.errors import ConfigError, LoginError, NotSignedIn, OktaMagicError
from okta_magic.sessions.profiles import Profiles
from okta_magic.sandbox import Sandbox
from okta_magic.sessions.session import Session

SANDBOX = {"users": 40, "seed": 2, "calm": True}  # this module's sandbox org (conftest.py)


@pytest.fixture
def two(sandbox: Sandbox) -> Iterator[tuple[Session, Session]]:
    """Two sessions of their own on the module's sandbox org (neither stops it)."""
    helpdesk, readonly = Session(name="helpdesk", sandbox=sandbox), Session(name="readonly", sandbox=sandbox)
    try:
        yield helpdesk, readonly
    finally:
        helpdesk.close()
        readonly.close()


def test_the_package_exposes_the_script_api_and_the_session_class() -> None:
    assert okta_magic.Session is Session
    assert okta_magic.current_session is api.current_session and okta_magic.get is api.get


def test_login_stays_the_script_apis_function_after_a_sign_in(two: tuple[Session, Session]) -> None:
    api.login_sandbox("admin", session=two[0])  # the browser sign-in's module is loaded by now
    assert okta_magic.login is api.login and callable(okta_magic.login)


def test_session_names_a_profiles_session_after_every_submodule_is_imported(default: Session) -> None:
    """``okta_magic.session(NAME)``: no submodule (okta_magic/session.py is one) takes a script-API name over."""
    for module in pkgutil.walk_packages(okta_magic.__path__, "okta_magic."):
        if not module.name.endswith(".__main__"):  # the sandbox's command line
            importlib.import_module(module.name)
    assert callable(okta_magic.session) and okta_magic.session is api.session
    for name in api.__all__:
        assert getattr(okta_magic, name) is getattr(api, name), name
    helpdesk = okta_magic.session("helpdesk")
    assert isinstance(helpdesk, Session) and helpdesk.name == "helpdesk" and helpdesk is not default
    assert okta_magic.profile("helpdesk") is helpdesk and okta_magic.session("default") is default
    assert okta_magic.current_profiles().get("helpdesk") is helpdesk


def test_the_default_session_is_one_object_until_closed(default: Session) -> None:
    assert api.current_session() is default
    api.close_current_session()
    assert api.current_session() is not default


def test_closing_only_a_given_session_leaves_another_default_alone(default: Session) -> None:
    api.close_current_session(only=Session())
    assert api.current_session() is default


def test_the_module_functions_use_the_default_session(default: Session, sandbox: Sandbox) -> None:
    token = api.use_token(sandbox.issue_token(user="admin", scopes=["okta.users.read"]), org_url=sandbox.url)
    assert default.token is token
    assert len(api.get("/api/v1/users", limit=3, max_pages=1)) == 3
    with api.http_client() as http:
        assert http.get("/api/v1/users/me").json()["profile"]["login"] == "admin@example.com"
    api.logout()
    assert default.token is None


def test_an_explicit_session_leaves_the_default_alone(default: Session, two: tuple[Session, Session],
                                                      sandbox: Sandbox) -> None:
    mine, _ = two
    api.use_token(sandbox.issue_token(user="helpdesk", scopes=["okta.users.read"]), org_url=sandbox.url,
                  session=mine)
    assert mine.token is not None and default.token is None
    assert len(api.get("/api/v1/users", limit=2, max_pages=1, session=mine)) == 2
    with pytest.raises(NotSignedIn):
        api.get("/api/v1/users", limit=2, max_pages=1)


def test_two_sessions_side_by_side_each_answered_as_its_own_demo_user(two: tuple[Session, Session]) -> None:
    helpdesk, readonly = two
    api.login_sandbox("helpdesk", "openid okta.users.read", session=helpdesk)
    api.login_sandbox("readonly", "openid okta.users.read", session=readonly)
    assert helpdesk.sandbox is readonly.sandbox  # one org, two people
    me = "GET /api/v1/users/me"
    assert api.request(me, session=helpdesk, raw=True)["profile"]["login"] == "helpdesk@example.com"
    assert api.request(me, session=readonly, raw=True)["profile"]["login"] == "readonly@example.com"
    # Signing one out leaves the other signed in.
    api.logout(session=helpdesk)
    assert helpdesk.token is None
    assert api.request(me, session=readonly, raw=True)["profile"]["login"] == "readonly@example.com"


def test_a_service_app_signs_in_as_itself_without_a_user(two: tuple[Session, Session]) -> None:
    service, _ = two
    token = api.login_sandbox(None, "okta.users.read", app="service", session=service)
    assert token.scopes_granted == ("okta.users.read",)
    assert len(api.get("/api/v1/users", limit=2, max_pages=1, session=service)) == 2


def test_errors_are_worded_for_a_script(two: tuple[Session, Session]) -> None:
    session, _ = two
    with pytest.raises(NotSignedIn) as info:
        api.get("/api/v1/users", session=session)
    assert str(info.value) == ("Not signed in: call okta_magic.login(...) first (or okta_magic.login_sandbox() to "
                               "try the sandbox).")
    with pytest.raises(LoginError, match=r"okta_magic\.finish_login\(url\)"):
        api.finish_login("http://127.0.0.1:1/callback?code=x&state=y", session=session)
    with pytest.raises(ConfigError, match=r"No org URL: pass org_url="):
        api.login(session=Session(environ={}), open_browser=False)
    with pytest.raises(ConfigError, match=r"client credentials.: pass user=None"):
        api.login_sandbox("admin", app="service", session=session)


def test_script_errors_never_mention_a_magic(two: tuple[Session, Session], sandbox: Sandbox) -> None:
    session, _ = two
    calls = [
        lambda: api.get("/api/v1/users", session=session),
        lambda: api.finish_login("http://127.0.0.1:1/callback?code=x&state=y", session=session),
        lambda: api.login(org_url=sandbox.url, session=Session(environ={}), open_browser=False),
        lambda: api.login(client_id="0oa1", scopes="", session=Session(environ={}), open_browser=False),
        lambda: api.login_sandbox("admin", app="service", session=session),
        lambda: api.login_sandbox(None, session=session),
    ]
    for call in calls:
        with pytest.raises(OktaMagicError) as info:
            call()
        assert "%okta" not in str(info.value) and "\n" not in str(info.value), str(info.value)


# -- the flow login() takes, chosen for where it runs as %okta_login chooses it ---------------------------------

SCOPES = "openid okta.users.read"
ENVIRONMENTS = {  # environment variables, whether /.dockerenv exists, the flow, a word of the line saying why
    "local": (SIGNS["local"], False, "loopback", "Nothing says the kernel runs away from your browser"),
    "jupyterhub": (SIGNS["jupyterhub"], False, "device", "on JupyterHub"),
    "binder": (SIGNS["binder"], False, "device", "on Binder"),
    "colab": (SIGNS["colab"], False, "device", "on Google Colab"),
    "ssh": (SIGNS["ssh"], False, "device", "over SSH"),
    "vscode-remote": (SIGNS["vscode-remote"], False, "device", "in a VS Code remote"),
    "container": ({}, True, "device", "in a container (/.dockerenv exists)"),
    "named": ({**SIGNS["ssh"], "OKTA_SIGN_IN_FLOW": "loopback"}, False, "loopback",
              "OKTA_SIGN_IN_FLOW=loopback says so"),
}


@pytest.fixture
def placed(sandbox: Sandbox, free_port: Callable[[], int]) -> Iterator[Callable[..., tuple[Session, dict[str, str]]]]:
    """``placed(environ, container=False, app="native")``: a session that reads that environment, and login()'s
    settings for it.

    The redirect URI (on a free port, registered with the app) is in the environment the session reads, as
    OKTA_REDIRECT_URI: one given to login() would rule the device grant out (``redirect_uri``).
    """
    made: list[Session] = []

    def make(environ: dict[str, str], container: bool = False,
             app: str = "native") -> tuple[Session, dict[str, str]]:
        redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
        sandbox.add_redirect_uri(app, redirect_uri)
        made.append(Session(environ={**environ, "OKTA_REDIRECT_URI": redirect_uri},
                            exists=lambda path: container and path == "/.dockerenv"))
        return made[-1], {"org_url": sandbox.url, "client_id": sandbox.apps[app].client_id, "scopes": SCOPES}

    yield make
    for session in made:
        session.close()


@pytest.mark.parametrize("kind", sorted(ENVIRONMENTS))
def test_login_chooses_the_flow_for_where_the_script_runs(kind: str, placed: Any,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    environ, container, flow, words = ENVIRONMENTS[kind]
    session, settings = placed(environ, container)
    opened: list[str] = []
    progress = api.login(**settings, open_browser=opened.append, wait=False, session=session)
    out, err = capsys.readouterr()
    line, *then = out.splitlines()  # first which flow and why, in one line, for a script; then what to do
    assert words in line and line.endswith("(login(flow='loopback', 'device' or 'paste') names another.)"), line
    assert "%okta" not in out + err and err == ""
    if flow == "loopback":
        assert line.startswith("Loopback redirect:") and isinstance(progress, LoginFlow) and then == []
        assert opened == [progress.authorize_url]  # the system browser is on this machine
    else:
        assert line.startswith("Device grant:") and isinstance(progress, DeviceLogin) and not opened
        assert then == [f"On any device, open {progress.verification_uri} and enter the code {progress.user_code} "
                        f"(or open {progress.verification_uri_complete}). login() and requests wait for you to finish."]
    progress.cancel()


def test_a_device_sign_in_chosen_for_a_hub_completes(placed: Any, sandbox: Sandbox) -> None:
    session, settings = placed(ENVIRONMENTS["jupyterhub"][0])
    progress = api.login(**settings, wait=False, session=session)
    assert isinstance(progress, DeviceLogin)
    approved = httpx.post(f"{sandbox.url}/activate", data={
        "user_code": progress.user_code, "username": "readonly", "password": sandbox.demo_users["readonly"].password})
    assert "Device activated" in approved.text
    assert progress.wait(30).subject == "readonly@example.com" and session.token is not None


def test_the_flow_named_by_the_script_wins(placed: Any, capsys: pytest.CaptureFixture[str]) -> None:
    session, settings = placed(ENVIRONMENTS["jupyterhub"][0])
    opened: list[str] = []
    progress = api.login(**settings, flow="loopback", open_browser=opened.append, wait=False, session=session)
    assert isinstance(progress, LoginFlow) and opened == [progress.authorize_url]
    assert capsys.readouterr().out == ""  # named, not chosen: nothing to explain
    progress = api.login(**settings, flow="device", wait=False, session=placed({})[0])
    assert isinstance(progress, DeviceLogin)
    progress.cancel()
    with pytest.raises(ConfigError) as info:
        api.login(**settings, flow="pigeon", session=session)
    assert str(info.value) == "'pigeon' is not a sign-in flow: use loopback, device or paste."


def test_the_page_location_a_panel_reported_decides_for_later_script_sign_ins(
        placed: Any, capsys: pytest.CaptureFixture[str]) -> None:
    session, settings = placed({})
    profiles = Profiles(session, factory=lambda name: Session(name=name, environ={}, exists=lambda _path: False))
    assert profiles.report_page("https://jupyter.example.net:8888/lab/tree/a.ipynb?token=0123abcd#x") == (
        "https://jupyter.example.net:8888/lab/tree/a.ipynb")
    progress = api.login(**settings, wait=False, session=profiles.ensure("helpdesk"))
    line = capsys.readouterr().out.splitlines()[0]
    assert isinstance(progress, DeviceLogin) and "the notebook page is at jupyter.example.net" in line.lower()
    assert "0123abcd" not in line and session.page_location == profiles.page_location
    progress.cancel()
    profiles.close()


def test_paste_back_in_a_script_reads_the_address_the_browser_landed_on(
        placed: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    session, settings = placed({})
    prompts: list[str] = []

    def pasted(prompt: str) -> str:  # a person signs in on another machine, then pastes the address
        prompts.append(prompt)
        assert session.flow is not None
        with Browser() as browser:
            outcome = browser.sign_in(f"{session.flow.authorize_url}&sandbox_user=helpdesk",  # type: ignore[union-attr]
                                      session.flow.redirect_uri, deliver=False)  # type: ignore[union-attr]
        assert outcome.redirect_url is not None
        return outcome.redirect_url

    monkeypatch.setattr("builtins.input", pasted)
    opened: list[str] = []
    token = api.login(**settings, flow="paste", open_browser=opened.append, session=session)
    assert token.subject == "helpdesk@example.com" and not opened  # the browser that signs in is elsewhere
    out = capsys.readouterr().out
    assert "cannot reach this machine" in out and "paste it below" in out and prompts == [advice.PASTE_PROMPT]

    def no_input(prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("builtins.input", no_input)
    with pytest.raises(LoginError) as info:
        api.login(**settings, flow="paste", session=session)
    assert str(info.value) == ("There is no input to paste the address into here: call okta_magic.login(..., "
                               "wait=False) first, then okta_magic.finish_login(url).")
    assert session.flow is not None and session.flow.status.phase == "cancelled"


def test_a_script_in_a_container_pastes_back_for_an_app_without_the_device_grant(
        placed: Any, sandbox: Sandbox, free_port: Callable[[], int], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    session, settings = placed({}, container=True, app="users-only")  # Authorization Code + PKCE only

    def pasted(prompt: str) -> str:  # the person signs in on the machine the browser is on, then pastes
        login = session.flow
        assert isinstance(login, LoginFlow)
        with Browser() as browser:
            outcome = browser.sign_in(f"{login.authorize_url}&sandbox_user=helpdesk", str(login.redirect_uri),
                                      deliver=False)
        assert outcome.redirect_url is not None
        return outcome.redirect_url

    monkeypatch.setattr("builtins.input", pasted)
    token = api.login(**settings, session=session)
    assert token.subject == "helpdesk@example.com"
    line, *then = capsys.readouterr().out.splitlines()
    assert line.startswith("Paste-back: The kernel runs in a container (/.dockerenv exists)"), line
    refused = f"the app {settings['client_id']} may not use the device grant (the org answered unauthorized_client)"
    assert refused in line
    assert line.endswith("(login(flow='loopback', 'device' or 'paste') names another.)") and "%okta" not in line
    assert then[0] == "Open this URL in your browser and sign in:" and "paste it below" in then[-1]

    native, with_grant = placed({}, container=True)
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    sandbox.add_redirect_uri("native", redirect_uri)
    progress = api.login(**with_grant, redirect_uri=redirect_uri, wait=False, session=native)
    assert isinstance(progress, LoginFlow) and progress.redirect_uri == redirect_uri  # given: Authorization Code
    assert f"a redirect URI was given ({redirect_uri})" in capsys.readouterr().out
    progress.cancel()


def test_the_script_api_names_are_one_list() -> None:
    """``okta_magic._API`` (what the package hands out), its ``TYPE_CHECKING`` import block (for type checkers) and
    ``okta_magic.api.__all__`` name exactly the same functions: a name added to one is in the others."""
    import ast
    from pathlib import Path

    from okta_magic import api

    tree = ast.parse(Path(okta_magic.__file__).read_text())
    blocks = [node for node in tree.body if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"]
    imported = {alias.name for block in blocks for node in block.body
                if isinstance(node, ast.ImportFrom) and node.module == "okta_magic.api" for alias in node.names}
    assert len(okta_magic._API) == len(set(okta_magic._API)) and len(api.__all__) == len(set(api.__all__))
    assert set(okta_magic._API) == set(api.__all__) == imported
    assert all(callable(getattr(okta_magic, name)) for name in okta_magic._API)
