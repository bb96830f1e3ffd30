"""Named profiles (``%okta_login --profile``, ``-p``, ``--list``, ``okta_magic.profile``) and the sign-in flow chosen
for where the kernel runs, against the in-kernel sandbox org."""

from __future__ import annotations

import pickle
from typing import Any

import httpx
import pytest
from _environments import SIGNS
from IPython.core.error import UsageError

import okta_magic
from okta_magic.notebook.magics import OktaMagics
from okta_magic.sessions.profiles import Profiles
from okta_magic.sessions.session import Session

SCOPES = '--scopes "openid okta.users.read okta.users.manage"'


def _magics(shell: Any) -> OktaMagics:
    return shell.magics_manager.registry["OktaMagics"]


def _me(shell: Any, line: str = "") -> str:
    """The login of the user a ``/users/me`` request is answered as."""
    body = shell.run_line_magic("okta", f"{line} GET /api/v1/users/me --raw".strip())
    return body["profile"]["login"]


@pytest.fixture
def two(shell: Any) -> Any:
    """A kernel with two profiles signed in as two demo users: helpdesk (hd), then readonly (ro, active)."""
    shell.run_line_magic("okta_login", f"--profile hd --sandbox --as helpdesk {SCOPES}")
    shell.run_line_magic("okta_login", f"--profile ro --sandbox --as readonly {SCOPES}")
    return shell


def test_two_profiles_are_two_people_in_one_kernel_and_share_one_sandbox(two: Any) -> None:
    magics = _magics(two)
    hd, ro = magics.profiles.get("hd"), magics.profiles.get("ro")
    demo = hd.sandbox.demo_users
    assert magics.profiles.active_name == "ro" and magics.session is ro
    assert _me(two) == demo["readonly"].login  # the active profile
    assert _me(two, "-p hd") == demo["helpdesk"].login  # another one, without switching
    assert magics.profiles.active_name == "ro"
    assert hd.sandbox is ro.sandbox is okta_magic.sandbox.current()
    assert magics.profiles.default.token is None  # the default session was not signed in


def test_switching_and_p_need_no_new_sign_in(two: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics = _magics(two)
    hd = magics.profiles.get("hd")
    flow, token = hd.flow, hd.token
    two.run_line_magic("okta_login", "--profile hd")
    assert "Profile hd is active" in capsys.readouterr().out
    assert _me(two) == hd.sandbox.demo_users["helpdesk"].login
    assert _me(two, "-p ro") == hd.sandbox.demo_users["readonly"].login
    assert hd.flow is flow and hd.token is token  # the same sign-in, not another
    two.run_cell("%%okta -p ro -o who --raw\nGET /api/v1/users/me")
    assert two.user_ns["who"]["profile"]["login"] == hd.sandbox.demo_users["readonly"].login


def test_logout_of_one_profile_leaves_the_other_signed_in(two: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics = _magics(two)
    two.run_line_magic("okta_logout", "-p hd")
    assert "Signed out" in capsys.readouterr().out
    assert magics.profiles.get("hd").token is None and magics.profiles.get("ro").token is not None
    assert _me(two) == magics.profiles.get("ro").sandbox.demo_users["readonly"].login
    with pytest.raises(UsageError, match="Not signed in"):
        two.run_line_magic("okta_token", "-p hd")


def test_list_shows_every_profile_and_never_a_token(two: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics = _magics(two)
    two.run_line_magic("okta_login", "--list")
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["profile", "org", "who", "scopes", "time", "left"]
    rows = {line[2:].split()[0]: line for line in lines[1:]}
    assert set(rows) == {"default", "hd", "ro"}
    assert rows["ro"].startswith("* ") and "(not signed in)" in rows["default"]
    ro = magics.profiles.get("ro")
    assert ro.token.subject in rows["ro"] and ro.org_url in rows["ro"] and "okta.users.read" in rows["ro"]
    assert "min" in rows["hd"] and "eyJ" not in out


def test_token_of_a_profile_and_unknown_profiles_are_one_line(two: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics = _magics(two)
    two.run_line_magic("okta_token", "-p hd")
    assert magics.profiles.get("hd").token.subject in capsys.readouterr().out
    for magic, line in (("okta", "-p nope GET /api/v1/users/me"), ("okta_token", "-p nope"),
                        ("okta_logout", "-p nope")):
        with pytest.raises(UsageError) as info:
            two.run_line_magic(magic, line)
        assert "No profile 'nope'" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(UsageError, match="profile name"):
        two.run_line_magic("okta_login", "--profile 'a b' --sandbox --as admin")


def test_the_script_api_reaches_the_same_profiles(two: Any) -> None:
    magics = _magics(two)
    assert okta_magic.profile("hd") is magics.profiles.get("hd")
    assert okta_magic.profile("default") is okta_magic.current_session() is magics.profiles.default
    me = okta_magic.request("GET /api/v1/users/me", raw=True, session=okta_magic.profile("hd"))
    assert me["profile"]["login"] == magics.profiles.get("hd").sandbox.demo_users["helpdesk"].login


def test_profiles_refuse_pickling(two: Any) -> None:
    with pytest.raises(TypeError):
        pickle.dumps(_magics(two).profiles)
    with pytest.raises(TypeError):
        pickle.dumps(_magics(two).profiles.get("hd"))


@pytest.mark.own_sandbox
def test_a_profile_at_another_sandbox_app_and_the_token_lifetime_option(shell: Any) -> None:
    shell.run_line_magic("okta_login", "--profile short --sandbox --app offline --as admin --token-lifetime 120 "
                                       '--scopes "openid offline_access okta.users.read"')
    session = _magics(shell).session
    assert session.sandbox.token_lifetime == 120
    first = session.token
    assert first.can_refresh and 100 < first.expires_at - first.issued_at <= 120
    session.sandbox.advance_clock(180)  # the org now sees the token expired: the next request refreshes it
    assert _me(shell) == session.sandbox.demo_users["admin"].login
    assert session.token is not first and session.token.claims()["jti"] != first.claims()["jti"]
    with pytest.raises(UsageError, match="--token-lifetime goes with the sandbox"):
        shell.run_line_magic("okta_login", "--token-lifetime 60 --org-url https://dev-1.okta.com --client-id 0oa1")
    with pytest.raises(UsageError, match="whole seconds"):
        shell.run_line_magic("okta_login", "--sandbox --token-lifetime 0")


# -- the flow chosen for where the kernel runs -----------------------------------------------------------------

ENVIRONMENTS = {  # environment variables, the flow, a word of the line saying why
    "local": (SIGNS["local"], "loopback", "Loopback redirect"),
    "jupyterhub": (SIGNS["jupyterhub"], "device", "JupyterHub"),
    "binder": (SIGNS["binder"], "device", "Binder"),
    "colab": (SIGNS["colab"], "device", "Google Colab"),
    "ssh": (SIGNS["ssh"], "device", "SSH"),
    "vscode-remote": (SIGNS["vscode-remote"], "device", "VS Code remote"),
}


@pytest.fixture
def environment_magics(shell: Any) -> Any:
    """Magics over a session that reads the given environment (no container files), closed afterwards."""
    made: list[OktaMagics] = []

    def make(environ: dict[str, str], exists: Any = lambda _path: False) -> OktaMagics:
        magics = OktaMagics(shell, profiles=Profiles(Session(environ=environ, exists=exists)))
        made.append(magics)
        return magics

    yield make
    for magics in made:
        magics.close()


@pytest.mark.parametrize("kind", sorted(ENVIRONMENTS))
def test_okta_login_chooses_the_flow_for_where_the_kernel_runs(kind: str, environment_magics: Any,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    environ, flow, words = ENVIRONMENTS[kind]
    magics = environment_magics(environ)
    magics.okta_login(f"--sandbox {SCOPES}")
    lines = capsys.readouterr().out.splitlines()
    assert words.split()[-1] in lines[0]
    if flow == "loopback":
        assert lines[0].startswith("Loopback redirect:") and hasattr(magics.session.flow, "authorize_url")
        assert any("/oauth2/v1/authorize" in line for line in lines[1:])  # today's link (no front end here)
    else:
        assert lines[0].startswith("Device grant:") and "the provider offers the device grant" in lines[0]
        assert "enter the code" in lines[1] and hasattr(magics.session.flow, "user_code")


def test_a_container_is_detected_from_its_file(environment_magics: Any, capsys: pytest.CaptureFixture[str]) -> None:
    magics = environment_magics({}, exists=lambda path: path == "/.dockerenv")
    magics.okta_login("--sandbox")
    assert capsys.readouterr().out.startswith("Device grant: The kernel runs in a container (/.dockerenv exists)")


def test_explicit_options_and_the_environment_variable_override_the_rules(
        environment_magics: Any, capsys: pytest.CaptureFixture[str]) -> None:
    hub = ENVIRONMENTS["jupyterhub"][0]
    magics = environment_magics(hub)
    magics.okta_login("--sandbox --as admin")
    assert "Loopback" not in capsys.readouterr().out and magics.session.token is not None
    local = environment_magics({})
    local.okta_login("--sandbox --device")
    out = capsys.readouterr().out
    assert out.startswith("On any device, open") and "Loopback" not in out
    named = environment_magics({**hub, "OKTA_SIGN_IN_FLOW": "loopback"})
    named.okta_login("--sandbox")
    assert capsys.readouterr().out.startswith("Loopback redirect: OKTA_SIGN_IN_FLOW=loopback says so.")
    wrong = environment_magics({"OKTA_SIGN_IN_FLOW": "carrier-pigeon"})
    with pytest.raises(UsageError, match="is not a flow: use loopback, device or paste"):
        wrong.okta_login("--sandbox")


def test_paste_back_when_the_provider_has_no_device_endpoint() -> None:
    org = "https://dev-1.okta.com"
    metadata = {"issuer": org, "authorization_endpoint": f"{org}/oauth2/v1/authorize",
                "token_endpoint": f"{org}/oauth2/v1/token", "jwks_uri": f"{org}/oauth2/v1/keys",
                "response_types_supported": ["code"], "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"]}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=metadata))
    session = Session(environ={"SSH_CLIENT": "10.0.0.2 50000 22"}, exists=lambda _p: False, transport=transport)
    try:
        config = session.resolve_config({"org_url": org, "client_id": "0oa1", "scopes": "openid"})
        flow, why = session.choose_flow(config)
    finally:
        session.close()
    assert flow == "paste" and why.startswith("Paste-back: The kernel runs over SSH (SSH_CLIENT is set)")


def test_the_panel_names_its_profile() -> None:
    from okta_magic.notebook.widgets import LoginPanel

    session = Session(name="helpdesk")
    panel = LoginPanel(session, {"org_url": "https://dev-1.okta.com", "client_id": "0oa1"}, lambda _v: None,
                       tick_seconds=3600)
    try:
        assert "profile <code>helpdesk</code>" in panel.children[0].value
    finally:
        panel.close()
        session.close()


def test_scope_coach_of_a_profile(two: Any, capsys: pytest.CaptureFixture[str]) -> None:
    two.run_line_magic("okta_login", '--profile narrow --sandbox --as helpdesk --scopes "openid okta.users.read"')
    two.run_line_magic("okta_login", "--profile ro")
    capsys.readouterr()
    two.run_line_magic("okta_scopes", "")
    active = capsys.readouterr().out
    two.run_line_magic("okta_scopes", "-p narrow")
    narrow = capsys.readouterr().out
    assert "Scopes held (3)" in active and "Scopes held (2)" in narrow
    assert "okta.users.manage" in active and "okta.users.manage" not in narrow
    with pytest.raises(UsageError, match="No profile 'nope'"):
        two.run_line_magic("okta_scopes", "-p nope")
