"""The magics against the sandbox org over real HTTP, in an IPython shell: what a notebook user sees."""

from __future__ import annotations

import threading
import time

import httpx
import pandas as pd
import pytest
from _login_fixtures import Browser
from IPython.core.error import UsageError

import okta_magic
from okta_magic.api import current_session
from okta_magic.errors import OktaMagicError


def _login(shell, user="admin", scopes="openid okta.users.read okta.groups.read", extra=""):
    shell.run_line_magic("okta_login", f'--sandbox --as {user} --scopes "{scopes}" {extra}')


def test_unattended_sandbox_sign_in_then_users_as_a_dataframe(shell, capsys):
    _login(shell, "helpdesk", "openid okta.users.read")
    assert "Signed in as helpdesk@example.com" in capsys.readouterr().out
    users = shell.run_line_magic("okta", "GET /api/v1/users")
    assert isinstance(users, pd.DataFrame)
    sandbox = current_session().sandbox
    assert list(users["id"]) == sandbox.user_ids()
    assert users["id"].is_unique
    assert isinstance(users["status"].dtype, pd.CategoricalDtype)
    assert str(users["created"].dtype).startswith("datetime64") and "UTC" in str(users["created"].dtype)


def test_cell_form_with_search_quotes_interpolation_and_out(shell, capsys):
    _login(shell)
    shell.user_ns["dept"] = "Engineering"
    shell.run_cell_magic("okta", "-o engineers", 'GET /api/v1/users?search=profile.department eq "{{dept}}"\n')
    assert "stored in `engineers`" in capsys.readouterr().out
    engineers = shell.user_ns["engineers"]
    assert len(engineers) > 0 and set(engineers["profile.department"]) == {"Engineering"}


def test_line_form_options_stop_early(shell, capsys):
    _login(shell)
    users = shell.run_line_magic("okta", "--max-rows 250 GET /api/v1/users?limit=100")
    assert len(users) == 250
    assert "more are available" in capsys.readouterr().err


def test_group_stats_asked_for_are_columns_and_count_the_members(shell):
    # expand=stats puts the counts in _embedded (they were dropped with the _links, unless --links)
    _login(shell)
    groups = shell.run_line_magic("okta", "GET /api/v1/groups?expand=stats&limit=20")
    assert not [c for c in groups.columns if "_links" in c]
    shell.user_ns["some"] = groups["id"][:5]
    members = shell.run_line_magic("okta", "GET /api/v1/groups/{{gid}}/users --each gid=some")
    counted = members.groupby("gid").size().reindex(groups["id"][:5], fill_value=0).tolist()
    assert groups["_embedded.stats.usersCount"][:5].tolist() == counted
    linked = shell.run_line_magic("okta", "GET /api/v1/groups?expand=stats&limit=20 --links")
    assert linked["_embedded.stats._links.self.href"].str.endswith("/stats").all()


@pytest.mark.own_sandbox
def test_post_with_a_json_body_creates_a_user(shell):
    _login(shell, "admin", "openid okta.users.manage")
    shell.user_ns["login"] = "new.hire@example.com"
    created = shell.run_cell_magic("okta", "", """POST /api/v1/users?activate=false
Content-Type: application/json

{"profile": {"firstName": "New", "lastName": "Hire", "email": {{login}}, "login": {{login}}}}
""")
    assert created["profile.login"] == "new.hire@example.com"
    assert created["status"] == "STAGED"


def test_missing_scope_warns_before_and_explains_after_with_the_fix(shell, capsys):
    _login(shell, "helpdesk", "openid okta.users.read")
    capsys.readouterr()
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("okta", "GET /api/v1/groups")
    message = str(info.value)
    assert "okta.groups.read" in message
    assert "okta.users.read" in message  # the scopes held
    assert "%okta_login --scopes 'openid okta.users.read okta.groups.read'" in message
    assert "needs okta.groups.read" in capsys.readouterr().err  # the warning before sending


@pytest.mark.own_sandbox
def test_silent_downscoping_is_explained(shell):
    _login(shell, "readonly", "openid okta.users.manage")
    active = shell.run_line_magic("okta", '--max-rows 10 GET /api/v1/users?search=status eq "ACTIVE"&limit=20')
    shell.user_ns["someone"] = active["id"].iloc[-1]  # past the demo people, who come first
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("okta", "POST /api/v1/users/{{someone}}/lifecycle/suspend")
    message = str(info.value)
    assert "E0000006" in message and "admin role" in message and message.count("silent downscoping") == 1
    _login(shell, "admin", "openid okta.users.manage")
    done = shell.run_line_magic("okta", "POST /api/v1/users/{{someone}}/lifecycle/suspend")
    assert repr(done) == "HTTP 200 (application/json)\n{}"  # Okta answers {}: shown plainly, not as an empty Series


def test_not_found_and_bad_search_are_one_line(shell):
    _login(shell)
    with pytest.raises(UsageError, match="E0000007"):
        shell.run_line_magic("okta", "GET /api/v1/users/00uNOPE")
    with pytest.raises(UsageError, match="E0000031|E0000001|400"):
        shell.run_line_magic("okta", "GET /api/v1/users?filter=profile.title eq \"x\"")


def test_other_hosts_never_get_the_token(shell):
    _login(shell)
    with pytest.raises(UsageError, match="not on the signed-in org"):
        shell.run_line_magic("okta", "GET https://evil.example.com/api/v1/users")


def test_token_report_and_logout(shell, capsys):
    _login(shell, "admin", "openid okta.users.read")
    secret = current_session().token.access_token
    shell.run_line_magic("okta_token", "")
    out = capsys.readouterr().out
    assert "Subject    : admin@example.com" in out and "okta.users.read" in out and secret not in out
    shell.run_line_magic("okta_scopes", "")
    out = capsys.readouterr().out
    assert "okta.users.read" in out and "GET /api/v1/users" in out
    with pytest.raises(UsageError, match="Give the path too, e.g. %okta_scopes GET /api/v1/users"):
        shell.run_line_magic("okta_scopes", "get")
    shell.run_line_magic("okta_logout", "")
    assert "revoked the access token" in capsys.readouterr().out
    with pytest.raises(UsageError, match="Not signed in"):
        shell.run_line_magic("okta", "GET /api/v1/users")
    # The revoked token is refused by the org, too.
    sandbox = current_session().sandbox
    import httpx
    answer = httpx.get(sandbox.url + "/api/v1/users", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 401


def test_explain_shows_each_step_with_secrets_masked(shell, capsys):
    _login(shell, "user", "openid okta.users.read", extra="--explain")
    out = capsys.readouterr().out
    token = current_session().token
    for expected in ("well-known/openid-configuration", "code_challenge", "S256", "curl", "state", "scp"):
        assert expected in out, expected
    assert token.access_token not in out


def test_a_request_waits_for_a_sign_in_in_progress(shell, capsys):
    shell.run_line_magic("okta_login", '--sandbox --no-widget --scopes "openid okta.users.read"')
    out = capsys.readouterr().out
    assert "Open this URL in your browser" in out and "--paste" in out
    session = current_session()
    flow = session.flow
    password = session.sandbox.demo_users["admin"].password

    def person() -> None:
        time.sleep(0.5)
        Browser("admin", password).sign_in(flow.authorize_url, session.config.redirect_uri)

    threading.Thread(target=person, daemon=True).start()
    users = shell.run_line_magic("okta", "--max-pages 1 GET /api/v1/users?limit=3")
    assert len(users) == 3
    assert "Waiting for the sign-in to finish" in capsys.readouterr().err


def test_a_request_gives_up_waiting_with_a_clear_line(shell):
    shell.run_line_magic("okta_login", '--sandbox --no-widget --scopes "openid okta.users.read"')
    current_session().sign_in_wait = 0.3  # the Python API's own wait (the magics' is OktaMagics.request_wait)
    with pytest.raises(OktaMagicError) as info:
        okta_magic.request("GET /api/v1/users")
    assert "\n" not in str(info.value)
    current_session().sign_in_wait = 300


def test_paste_back_from_the_magic_line(shell, capsys):
    shell.run_line_magic("okta_login", '--sandbox --no-widget --scopes "openid okta.users.read"')
    session = current_session()
    outcome = Browser("helpdesk", session.sandbox.demo_users["helpdesk"].password).sign_in(
        session.flow.authorize_url, session.config.redirect_uri, deliver=False)
    shell.run_line_magic("okta_login", f"--paste {outcome.redirect_url}")
    assert "Signed in as helpdesk@example.com" in capsys.readouterr().out


def test_device_grant_from_the_magic_for_remote_kernels(shell, capsys):
    import re

    import httpx

    shell.run_line_magic("okta_login", '--sandbox --device --scopes "openid okta.users.read"')
    out = capsys.readouterr().out
    code = re.search(r"enter the code (\S+)", out).group(1)
    sandbox = current_session().sandbox

    def person() -> None:
        time.sleep(0.3)
        httpx.get(sandbox.url + "/activate", params={"user_code": code, "sandbox_user": "helpdesk"})

    threading.Thread(target=person, daemon=True).start()
    users = shell.run_line_magic("okta", "--max-pages 1 GET /api/v1/users?limit=2")
    assert len(users) == 2
    assert current_session().token.claims()["sub"] == "helpdesk@example.com"


@pytest.mark.parametrize("app", ["service", "service-dpop"])
def test_service_app_signs_a_client_assertion_with_its_private_key(shell, tmp_path, capsys, app):
    session = current_session()
    sandbox = session.kernel_sandbox.start(users=50)
    key = tmp_path / "service.pem"
    key.write_text(sandbox.apps[app].private_key_pem)
    shell.run_line_magic("okta_login", f"--org-url {sandbox.url} --client-id {sandbox.apps[app].client_id} "
                                       f'--private-key {key} --scopes "okta.users.read okta.groups.read"')
    groups = shell.run_line_magic("okta", "GET /api/v1/groups")
    assert len(groups) > 0
    users = shell.run_line_magic("okta", "GET /api/v1/users?limit=20")  # a proof for every page
    assert list(users["id"]) == sandbox.user_ids()
    shell.run_line_magic("okta_token", "")
    out = capsys.readouterr().out
    assert sandbox.apps[app].private_key_pem.splitlines()[1] not in out
    assert f"Token type : {'DPoP' if app == 'service-dpop' else 'Bearer'}" in out
    assert ("Bound to   : DPoP key " in out) == (app == "service-dpop")


def test_sandbox_service_apps_sign_in_with_the_key_the_sandbox_holds(shell, capsys):
    shell.run_line_magic("okta_login", "--sandbox --app service-dpop")  # default scopes: openid ... dropped
    out = capsys.readouterr().out
    assert "okta.users.read" in out and "DPoP-bound" in out
    assert current_session().token.token_type == "DPoP"
    users = shell.run_line_magic("okta", "GET /api/v1/users?limit=100")
    assert list(users["id"]) == current_session().sandbox.user_ids()
    with pytest.raises(UsageError, match="signs in as itself .client credentials.: leave out --as"):
        shell.run_line_magic("okta_login", "--sandbox --app service --as admin")
    with pytest.raises(UsageError, match="API scopes only"):
        shell.run_line_magic("okta_login", "--sandbox --app service --scopes openid")


def test_config_traits_sit_between_the_environment_and_the_options(shell, monkeypatch, capsys):
    monkeypatch.setenv("OKTA_ORG_URL", "https://from-env.okta.com")
    monkeypatch.setenv("OKTA_CLIENT_ID", "0oaFROMENV")
    shell.run_line_magic("config", 'OktaMagics.org_url = "https://from-config.okta.com"')
    try:
        with pytest.raises(UsageError, match="from-config.okta.com"):
            # The org cannot be reached, which names the host that came from %config.
            shell.run_line_magic("okta_login", '--no-widget --scopes "openid okta.users.read"')
        with pytest.raises(UsageError, match="custom authorization server"):
            shell.run_line_magic("okta_login", "--no-widget --org-url https://dev-1.okta.com/oauth2/default")
    finally:
        shell.run_line_magic("config", 'OktaMagics.org_url = ""')
    shell.run_line_magic("config", "OktaMagics")
    assert "Okta org URL" in capsys.readouterr().out  # the traits carry help text


@pytest.mark.parametrize("form", ["assignment", "-o"])
def test_ctrl_c_during_a_long_pull_keeps_the_rows_says_where_and_leaves_the_target_as_it_was(shell, capsys, form):
    import _thread

    _login(shell, "admin", "openid okta.users.read")
    sandbox = current_session().sandbox
    shell.user_ns["df"] = previous = pd.DataFrame({"kept": [1, 2]})
    cell = ("df = %okta GET /api/v1/users?limit=10" if form == "assignment"
            else "%okta -o df GET /api/v1/users?limit=10")
    sandbox.set_knobs(latency=0.05)
    try:
        timer = threading.Timer(0.6, _thread.interrupt_main)
        timer.start()
        outcome = shell.run_cell(cell)
        timer.cancel()
    finally:
        sandbox.set_knobs(latency=0.0)
    assert shell.user_ns["df"] is previous  # not None, not the partial rows: what the user had stays
    assert isinstance(outcome.error_in_exec, UsageError)
    partial = shell.user_ns["_okta_partial"]
    assert 0 < len(partial) < len(sandbox.user_ids())
    assert partial["id"].is_unique
    message = str(outcome.error_in_exec)
    assert message == f"Interrupted after {len(partial) // 10} page(s): the {len(partial):,} rows fetched so far " \
                      "are in `_okta_partial`."
    captured = capsys.readouterr()
    assert "stored in" not in captured.out and "Interrupted after" not in captured.out
    assert captured.err.count("Interrupted after") == 1  # the one UsageError line, nothing else
    assert "Traceback" not in captured.err + captured.out


def test_a_pull_that_fails_midway_keeps_the_rows_and_says_where(shell, capsys):
    _login(shell, "admin", "openid okta.users.read")
    session = current_session()
    sandbox = session.sandbox
    sandbox.set_knobs(latency=0.05)
    revoke = {"token": session.token.access_token, "client_id": session.config.client_id}
    try:  # the token is revoked at the org (RFC 7009) while the pull runs: a later page gets 401
        timer = threading.Timer(0.6, lambda: httpx.post(f"{sandbox.url}/oauth2/v1/revoke", data=revoke))
        timer.start()
        with pytest.raises(UsageError) as info:
            shell.run_line_magic("okta", "GET /api/v1/users?limit=10")
        timer.cancel()
    finally:
        sandbox.set_knobs(latency=0.0)
    partial = shell.user_ns["_okta_partial"]
    assert 0 < len(partial) < len(sandbox.user_ids()) and len(partial) % 10 == 0
    assert partial["id"].tolist() == sandbox.user_ids()[: len(partial)]
    message = str(info.value)
    assert "401" in message and "%okta_login" in message
    assert f"The {len(partial):,} rows fetched before it are in `_okta_partial`." in message


def test_sandbox_registers_a_redirect_uri_given_by_the_user(shell, free_port, capsys):
    uri = f"http://localhost:{free_port()}/callback"
    _login(shell, "admin", "openid okta.users.read", extra=f"--redirect-uri {uri}")
    assert current_session().config.redirect_uri == uri
    assert uri in current_session().sandbox.apps["native"].redirect_uris


def test_explain_outside_a_notebook_prints_each_step_once(shell, capsys):
    _login(shell, "helpdesk", "openid okta.users.read", extra="--explain")
    out = capsys.readouterr().out
    steps = [line for line in out.splitlines() if line[:2] in {f"{n}." for n in range(1, 10)}]
    assert [s.split(".", 1)[0] for s in steps] == ["1", "2", "3", "4", "5", "6"]
