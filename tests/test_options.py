"""What the magics make of their input: bad values are one UsageError line, options after the request are options.

Most of these never reach an org: a bad option or variable is refused before anything is sent.
"""

from __future__ import annotations

import pandas as pd
import pytest
from IPython.core.error import UsageError

from okta_magic.api import current_session


def _one_line_error(shell, magic: str, line: str, cell: str | None = None) -> str:
    """The UsageError a magic raises for ``line``; it must be one line."""
    with pytest.raises(UsageError) as info:
        if cell is None:
            shell.run_line_magic(magic, line)
        else:
            shell.run_cell_magic(magic, line, cell)
    message = str(info.value)
    assert len(message.splitlines()) == 1, message
    return message


def _sign_in(shell) -> None:
    current_session().kernel_sandbox.start(users=60)
    shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read okta.groups.read"')


# -- item: bad option values are one line, not a traceback ---------------------------------


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "-inf", "1e308", "ten", "86401"])
def test_a_bad_timeout_is_one_line_that_says_what_to_give(shell, value):
    message = _one_line_error(shell, "okta", f"--timeout {value} GET /api/v1/users")
    assert "--timeout" in message and ("more than 0" in message or "expected one argument" in message)


def test_a_good_timeout_is_used(shell):
    _sign_in(shell)
    users = shell.run_line_magic("okta", "--timeout 86400 GET /api/v1/users?limit=5 --max-pages 1")
    assert len(users) == 5
    users = shell.run_line_magic("okta", "--timeout 2.5 GET /api/v1/users?limit=5 --max-pages 1")
    assert len(users) == 5


@pytest.mark.parametrize("line", ['--for ""', "--for ''", '--for "GET /api/v1/users" ""', '--for "GET"'])
def test_an_empty_request_to_plan_scopes_for_is_one_line(shell, line):
    message = _one_line_error(shell, "okta_scopes", line)
    assert "GET /api/v1/users" in message  # the example of what to write


@pytest.mark.parametrize(("magic", "line"), [
    ("okta_login", "--scopes 'openid"),
    ("okta_login", '--sandbox --scopes "openid okta.users.read'),
    ("okta_scopes", '--for "GET /api/v1/users'),
    ("okta_scopes", "GET '/api/v1/users"),
    ("okta", "-o 'users GET /api/v1/users"),
    ("okta", "GET /api/v1/users --max-rows '5"),
])
def test_an_unbalanced_quote_is_one_line(shell, magic, line):
    message = _one_line_error(shell, magic, line)
    assert "quot" in message


@pytest.mark.parametrize("value", ["00u1abc\n", "a\nb", "a\r\nb", "x\u2028y"])
@pytest.mark.parametrize("where", ["/api/v1/users/{{v}}", '/api/v1/users?search=profile.login eq "{{v}}"',
                                   "/api/v1/users?after={{v}}"])
def test_a_variable_with_a_line_break_in_the_url_is_one_line_that_says_to_strip_it(shell, value, where):
    shell.user_ns["v"] = value
    message = _one_line_error(shell, "okta", f"GET {where}")
    assert "{{v}} holds a line break" in message and "v = v.strip()" in message


@pytest.mark.parametrize("value", ["..", "."])
def test_a_variable_that_would_climb_out_of_its_path_segment_is_one_line_and_not_sent(shell, value):
    _sign_in(shell)
    sandbox = current_session().sandbox
    shell.user_ns["g"] = value
    sandbox.reset_stats()
    message = _one_line_error(shell, "okta", "GET /api/v1/groups/{{g}}/users")
    assert f"{{{{g}}}} is {value!r}" in message and "not sent" in message
    assert sandbox.stats().total == 0  # before: GET /api/v1/users, every user of the org
    shell.user_ns["g"] = f"x{value}"  # inside a segment it is only text
    assert "E0000007" in _one_line_error(shell, "okta", "GET /api/v1/groups/{{g}}/users")  # no such group


def test_a_variable_with_a_line_break_in_a_header_or_the_body(shell):
    shell.user_ns["v"] = "a\nb"
    message = _one_line_error(shell, "okta", "", "POST /api/v1/groups\nX-Note: {{v}}\n")
    assert "X-Note must be a single line" in message
    _sign_in(shell)
    # In a JSON body a line break is data (json.dumps escapes it): the request is sent, and refused for its scope.
    message = _one_line_error(shell, "okta", "", 'POST /api/v1/groups\n\n{"profile": {"name": {{v}}}}')
    assert "okta.groups.manage" in message


def test_a_variable_that_cannot_be_written_as_text_is_one_line(shell):
    class Broken:
        def __str__(self) -> str:
            raise RuntimeError("no text")

    shell.user_ns["b"] = Broken()
    assert "{{b}} cannot be written as text" in _one_line_error(shell, "okta", "GET /api/v1/users/{{b}}")
    assert "{{b}} cannot be written as text" in _one_line_error(shell, "okta", "", 'POST /api/v1/x\n\n{"a": "x{{b}}"}')
    assert "cannot be written as JSON (RuntimeError" in _one_line_error(shell, "okta", "", 'POST /api/v1/x\n\n{"a": {{b}}}')


def test_an_error_naming_a_line_break_typed_as_percent_0a_stays_one_line(shell):
    _sign_in(shell)
    message = _one_line_error(shell, "okta", "GET /api/v1/users/00u%0Anope")
    assert "\\n" in message  # written as its escape


# -- item: bad values are refused, not silently used ------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), [("--max-rows", "-5"), ("--max-rows", "0"), ("--max-pages", "0"),
                                               ("--max-pages", "-1"), ("--max-rows", "2.5"), ("--max-pages", "x")])
def test_max_rows_and_max_pages_must_be_at_least_one(shell, option, value):
    message = _one_line_error(shell, "okta", f"{option} {value} GET /api/v1/users")
    assert option in message and "at least 1" in message


@pytest.mark.parametrize("name", ["get_ipython", "__builtins__", "__name__", "print", "len", "exit", "quit", "In",
                                  "Out", "_", "__", "___", "_i", "_ii", "_iii", "_i3", "_3", "_oh", "_ih", "_dh",
                                  "display", "open"])
def test_out_refuses_names_that_would_hide_python_or_ipython(shell, name):
    before = {k: shell.user_ns.get(k) for k in ("get_ipython", "__builtins__", "In", "Out", name)}
    message = _one_line_error(shell, "okta", f"-o {name} GET /api/v1/users")
    assert f"-o {name} would" in message and "another name" in message
    assert {k: shell.user_ns.get(k) for k in before} == before
    assert shell.run_cell("get_ipython() is not None and 1 + 1").result == 2  # the kernel still works


@pytest.mark.parametrize("name", ["a b", "1x", "x.y", "class", "None", "x-y", "", "df[0]", "'"])
def test_out_takes_a_variable_name_only(shell, name):
    message = _one_line_error(shell, "okta", f"-o {name!r} GET /api/v1/users" if name else "-o '' GET /x")
    assert "-o takes a Python variable name" in message


def test_out_stores_under_a_good_name(shell, capsys):
    _sign_in(shell)
    shell.run_line_magic("okta", "-o users_df GET /api/v1/users?limit=5 --max-pages 1")
    assert len(shell.user_ns["users_df"]) == 5
    shell.run_line_magic("okta", "-o 'quoted' GET /api/v1/users?limit=3 --max-pages 1")
    assert len(shell.user_ns["quoted"]) == 3
    assert "stored in `quoted`" in capsys.readouterr().out


# -- item: options written after the request are options ------------------------------------------------


def test_options_after_a_search_are_not_sent_to_okta(shell):
    _sign_in(shell)
    active = shell.run_line_magic("okta", 'GET /api/v1/users?search=status eq "ACTIVE" --max-rows 5')
    assert isinstance(active, pd.DataFrame) and len(active) == 5 and set(active["status"]) == {"ACTIVE"}


def test_options_after_the_query_are_taken_out_of_it(shell, capsys):
    _sign_in(shell)
    users = shell.run_line_magic("okta", "GET /api/v1/users?limit=4 --max-pages 1")
    assert len(users) == 4
    assert "Stopped after 1 page(s)" in capsys.readouterr().err
    both = shell.run_line_magic("okta", "--max-rows 7 GET /api/v1/users?limit=3 --max-pages 2 --raw")
    assert isinstance(both, list) and len(both) == 6  # two pages of three, as plain records
    links = shell.run_line_magic("okta", "GET /api/v1/groups?limit=2 --links --max-pages=1")
    assert len(links) == 2 and any(c.startswith("_links") for c in links.columns)
    shell.run_line_magic("okta", "GET /api/v1/users?limit=2 --max-pages 1 -o tail_out")
    assert len(shell.user_ns["tail_out"]) == 2


def test_an_option_inside_quotes_stays_in_the_request(shell):
    _sign_in(shell)
    found = shell.run_line_magic("okta", 'GET /api/v1/users?search=profile.lastName eq "--raw --max-rows 1"')
    assert isinstance(found, pd.DataFrame) and len(found) == 0  # searched for that text, not read as options


def test_a_trailing_option_without_its_value_is_one_line(shell):
    message = _one_line_error(shell, "okta", "GET /api/v1/users --max-rows")
    assert "--max-rows" in message and "expected one argument" in message


@pytest.mark.parametrize(("line", "unknown"), [
    ("GET /api/v1/users --bogus", "--bogus"),
    ("GET /api/v1/users?limit=2 --bogus 5", "--bogus"),  # with what may be its value
    ("GET /api/v1/users --raw -x", "-x"),
    ("/api/v1/users --bogus=1", "--bogus"),
    ("--bogus GET /api/v1/users", "--bogus"),  # before the request, as before
])
def test_an_unknown_option_is_named_with_the_options_there_are(shell, line, unknown):
    message = _one_line_error(shell, "okta", line)
    assert message.startswith(f"Unknown option {unknown}: %okta takes -o/--out, -p/--profile, --max-pages, ")
    assert "--each" in message and "contains a space" not in message


def test_an_unknown_option_close_to_one_is_pointed_to_it(shell):
    message = _one_line_error(shell, "okta", "GET /api/v1/users --maxrows 5")
    assert message.startswith("Unknown option --maxrows (did you mean --max-rows?): %okta takes ")


def test_words_that_only_look_like_options_inside_the_request_stay_in_it(shell):
    _sign_in(shell)
    # inside quotes a dash-word is search text; a minus number is not an option
    found = shell.run_line_magic("okta", 'GET /api/v1/users?search=profile.lastName eq "x --bogus"')
    assert isinstance(found, pd.DataFrame) and len(found) == 0
    assert "contains a space" in _one_line_error(shell, "okta", "GET /api/v1/users -1")


def test_cell_form_takes_options_after_the_request_line_too(shell):
    _sign_in(shell)
    users = shell.run_cell_magic("okta", "GET /api/v1/users?limit=3 --max-pages 1", "Accept: application/json\n")
    assert len(users) == 3


# -- item: a scope name describes the scope -------------------------------------------------------------------


def test_scopes_magic_describes_a_scope_signed_in_or_not(shell, capsys):
    shell.run_line_magic("okta_scopes", "okta.users.read")
    out = capsys.readouterr().out
    assert out.startswith("okta.users.read: Allows the app to read the existing users' profiles")
    assert "Not signed in" in out and "GET /api/v1/users/{id}/groups" in out and "not in the catalogue" not in out
    _sign_in(shell)
    capsys.readouterr()
    shell.run_line_magic("okta_scopes", "okta.users.read okta.logs.read")
    out = capsys.readouterr().out
    assert "The token holds okta.users.read." in out
    assert "okta.logs.read: " in out and "The token does not hold it; to ask for it: %okta_login --scopes" in out
    assert "GET /api/v1/logs" in out


def test_scopes_magic_still_checks_requests_and_refuses_what_is_neither(shell, capsys):
    shell.run_line_magic("okta_scopes", "GET /api/v1/groups/{groupId}/users")
    assert "needs okta.groups.read" in capsys.readouterr().out
    assert "did you mean okta.users.read" in _one_line_error(shell, "okta_scopes", "okta.user.read")
    assert "neither a request" in _one_line_error(shell, "okta_scopes", "users")


def test_which_options_take_a_value_is_read_from_the_magics_own_parser() -> None:
    """One source: the ``@argument`` declarations of ``%okta`` say which options take a value and which split the line."""
    from okta_magic.notebook.magics import OktaMagics
    from okta_magic.notebook.options import flag_options, split_options, value_options

    parser = OktaMagics.okta.parser
    declared = {option for action in parser._actions for option in action.option_strings}
    assert value_options(parser) | flag_options(parser) == declared
    assert {"--to", "--parallel", "-o"} <= value_options(parser) and {"--raw", "--append"} <= flag_options(parser)
    # an option the parser declares with a value takes the word after it, before and after the request
    options, request = split_options("--to users.parquet GET /api/v1/users --parallel 2 --raw", parser)
    assert request == "GET /api/v1/users" and options.split() == ["--to", "users.parquet", "--parallel", "2", "--raw"]
