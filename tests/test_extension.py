"""Loading, reloading and unloading the extension; help text; one-line errors at the magic boundary."""

from __future__ import annotations

import subprocess
import sys

import pytest
from IPython.core.error import UsageError


def test_magics_are_registered_and_removed_on_unload(shell):
    lines = shell.magics_manager.magics["line"]
    for name in ("okta_login", "okta", "okta_token", "okta_scopes", "okta_logout"):
        assert name in lines
    assert "okta" in shell.magics_manager.magics["cell"]
    shell.run_line_magic("unload_ext", "okta_magic")
    assert "okta_login" not in shell.magics_manager.magics["line"]
    shell.run_line_magic("load_ext", "okta_magic")
    shell.run_line_magic("reload_ext", "okta_magic")
    assert "okta_login" in shell.magics_manager.magics["line"]


def test_login_help_has_an_example_session(shell, capsys):
    shell.run_cell("%okta_login?")
    out = capsys.readouterr().out
    assert "Example session" in out and "%okta_login --org-url" in out
    assert "--sandbox" in out and "--redirect-uri" in out


def test_request_help_lists_its_options(shell, capsys):
    shell.run_cell("%okta?")
    out = capsys.readouterr().out
    for option in ("--out", "--max-pages", "--max-rows", "--raw", "--timeout"):
        assert option in out


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("--org-url https://{yourOktaDomain} --client-id 0oa1", "placeholder"),
        ("--org-url https://dev-1.okta.com/oauth2/default --client-id 0oa1", "custom authorization server"),
        ("--org-url https://dev-1-admin.okta.com --client-id 0oa1", "without -admin"),
        ("--org-url https://dev-1.okta.com", "No client id"),
        ("--as admin --org-url https://dev-1.okta.com --client-id 0oa1", "add --sandbox"),
        ("--no-such-flag", "Unknown option --no-such-flag: %okta_login takes --org-url, --client-id, "),
    ],
)
def test_bad_login_input_is_one_usage_error_line(shell, line, says):
    with pytest.raises(UsageError) as info:
        shell.run_line_magic("okta_login", line)
    assert says in str(info.value)
    assert "\n" not in str(info.value)


def test_requests_before_sign_in_say_what_to_do(shell):
    with pytest.raises(UsageError, match=r"Not signed in: run %okta_login first"):
        shell.run_line_magic("okta", "GET /api/v1/users")
    with pytest.raises(UsageError, match=r"Not signed in"):
        shell.run_line_magic("okta_token", "")


def test_a_usage_error_shows_no_traceback(shell, capsys):
    result = shell.run_cell("%okta_login --org-url http://dev-1.okta.com --client-id 0oa1")
    assert isinstance(result.error_in_exec, UsageError)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().startswith("UsageError:") and len(err.strip().splitlines()) == 1


def test_scope_planning_works_without_signing_in(shell, capsys):
    shell.run_line_magic("okta_scopes", '--for "GET /api/v1/users" "GET /api/v1/groups/{groupId}/users"')
    assert "%okta_login --scopes 'openid okta.users.read okta.groups.read'" in capsys.readouterr().out


def test_import_is_light():
    """Importing the package (and its magics) must not pull in pandas, pyarrow or the sandbox."""
    code = ("import sys, okta_magic, okta_magic.notebook.magics, okta_magic.sessions.session;"
            "print(sorted(m for m in ('pandas', 'pyarrow', 'starlette', 'uvicorn', 'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_mistyped_method_is_named_with_the_methods_to_use(shell):
    with pytest.raises(UsageError, match="Unknown HTTP method 'FETCH': use one of GET"):
        shell.run_line_magic("okta", "FETCH /api/v1/users")


def test_unload_removes_every_magic_the_extension_declares_and_no_other(shell):
    from okta_magic.notebook.magics import OktaMagics

    def mine(line):
        return "mine"

    shell.register_magic_function(mine, "line", "okta_token")  # a user's own %okta_token replaces ours
    shell.run_line_magic("unload_ext", "okta_magic")
    try:
        tables = shell.magics_manager.magics
        for kind, names in OktaMagics.magics.items():
            assert not set(names) - {"okta_token"} & set(tables[kind]), kind
        assert shell.run_line_magic("okta_token", "") == "mine"  # not ours to take out
        assert "OktaMagics" not in shell.magics_manager.registry
        assert not any(type(c).__name__ == "OktaMagics" for c in shell.configurables)
    finally:
        tables["line"].pop("okta_token", None)
        shell.run_line_magic("load_ext", "okta_magic")
