"""Reliability suite: Hypothesis over what people type into the magics.

``%okta`` lines and cells, option values, ``%okta_login`` and ``%okta_scopes`` lines are generated
(seeded: the same examples on every run) and run in an in-process IPython shell signed in to the
sandbox org. Every input must end in a result or in one plain ``UsageError`` line: no other
exception type, no message of several lines, no token, password, key or secret in anything shown,
and the kernel intact afterwards (``get_ipython``, ``__builtins__``, ``In``/``Out`` untouched).

The sandbox is made fast for this (few users, no rate limits, no latency) and most generated
requests are cheap (small pages, errors found before sending, 403/404 answers). Each test fails on its own
first input that does not hold (so Hypothesis shrinks it, and ``-k test_okta_lines`` means something); the
figures of a run of all five are written to docs/reliability.md when the module ends (``report``).
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError
from reliability import record

from okta_magic.api import current_session

EXAMPLES = {"okta_line": 800, "okta_cell": 400, "option_values": 400, "okta_scopes": 400, "okta_login": 300}
PASTED_SECRET = "pasted-s3cr3t-0f-the-fuzz-9c1d"  # what the patched no-echo prompt "reads"


def _fuzz(examples: int) -> Any:
    """Seeded Hypothesis settings: the same examples on every run, no time limit per example."""
    return settings(derandomize=True, max_examples=examples, deadline=None, database=None,
                    suppress_health_check=list(HealthCheck))


@dataclass
class Tally:
    """What one kind of input did."""

    tried: int = 0
    held: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (input, what went wrong)


TALLIES: dict[str, Tally] = {kind: Tally() for kind in EXAMPLES}


class Unprintable:
    """A user object whose str() fails."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")

    __repr__ = __str__


class Harness:
    """The shell, the sandbox, and the check run on every generated input."""

    def __init__(self, shell: Any, tmp_dir: Any) -> None:
        self.shell = shell
        self.session = current_session()
        self.sandbox = self.session.sandbox
        self.sandbox_url = self.sandbox.url
        key = tmp_dir / "service.pem"
        key.write_text(self.sandbox.apps["service"].private_key_pem)
        self.key_path = str(key)
        self.secrets = {PASTED_SECRET}
        for demo in self.sandbox.demo_users.values():
            self.secrets.add(demo.password)
        for app in self.sandbox.apps.values():
            self.secrets.update(s for s in (app.client_secret,) if s)
            if app.private_key_pem:  # any line of the key's body
                self.secrets.update(line for line in app.private_key_pem.splitlines()[1:-1] if len(line) > 40)
        shell.run_cell("pass")  # executing a cell puts __builtins__ in the namespace, as in a kernel
        self.kernel_names = {name: shell.user_ns[name] for name in ("get_ipython", "__builtins__", "In", "Out")}

    def sign_in(self) -> None:
        """admin, with read scopes only: generated writes are refused (403) and change nothing."""
        with contextlib.redirect_stdout(io.StringIO()):
            self.shell.run_line_magic("okta_login", '--sandbox --as admin --scopes "openid okta.users.read '
                                                    'okta.groups.read okta.logs.read"')

    def ensure_signed_in(self) -> None:
        token, flow = self.session.token, self.session.flow
        if token is None or token.subject != "admin@example.com" or (flow is not None and not flow.done) \
                or "okta.groups.read" not in token.scopes_granted:
            self.sign_in()

    def _token_secrets(self) -> set[str]:
        token = self.session.token
        if token is None:
            return set()
        found = {s for s in (token.access_token, token.refresh_token, token.id_token) if s}
        found |= {s.rsplit(".", 1)[-1] for s in list(found) if s.count(".") == 2}  # JWT signatures alone
        return {s for s in found if len(s) >= 16}

    def attempt(self, kind: str, magic: str, line: str, cell: str | None = None) -> None:
        """Run one input and judge it: a result or one UsageError line, nothing secret shown, kernel intact.

        Counted in its kind's tally for the report, then asserted: the calling test fails on this input."""
        tally = TALLIES[kind]
        secrets = self.secrets | self._token_secrets()
        out, err = io.StringIO(), io.StringIO()
        message, problem = "", None
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                if cell is None:
                    self.shell.run_line_magic(magic, line)
                else:
                    self.shell.run_cell_magic(magic, line, cell)
            outcome = "result"
        except UsageError as exc:
            outcome, message = "UsageError", str(exc)
            if not message.strip() or len(message.splitlines()) != 1:
                problem = f"a UsageError of {len(message.splitlines())} lines: {message[:300]!r}"
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # anything else escaping is what this suite exists to catch
            outcome = type(exc).__name__
            problem = f"{type(exc).__name__} escaped: {str(exc)[:300]!r}"
        shown = out.getvalue() + err.getvalue() + message
        secrets |= self._token_secrets()
        leaked = [s for s in secrets if s in shown]
        if leaked:
            problem = f"a secret was shown ({len(leaked)} of them)"
        replaced = [name for name, value in self.kernel_names.items() if self.shell.user_ns.get(name) is not value]
        if replaced:
            problem = f"the kernel's own {', '.join(replaced)} replaced"
            self.shell.user_ns.update(self.kernel_names)  # so that the next input meets a working kernel
        tally.tried += 1
        tally.outcomes[outcome] += 1
        if problem is None:
            tally.held += 1
            return
        typed = f"%{magic} {line}" if cell is None else f"%%{magic} {line}\n{cell}"
        tally.failures.append((typed, problem))
        raise AssertionError(f"{typed!r}: {problem}")


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    from IPython.core.interactiveshell import InteractiveShell

    from okta_magic.sandbox.policy import DEFAULT_RATE_LIMITS

    ip = InteractiveShell.instance(history_length=0)
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "okta_magic")
    session = current_session()
    session._sleep = lambda seconds: None  # retries and backoff cost no real time (the pull suite fakes its clock)
    sandbox = session.kernel_sandbox.start(users=12)
    for bucket in DEFAULT_RATE_LIMITS:
        sandbox.set_rate_limit(bucket, 10**9)
    sandbox.set_knobs(latency=0.0, error_rate=0.0, rate_429=0.0, drop_rate=0.0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("getpass.getpass", lambda prompt="": PASTED_SECRET)
        for name in ("OKTA_ORG_URL", "OKTA_CLIENT_ID", "OKTA_SCOPES", "OKTA_REDIRECT_URI"):
            mp.delenv(name, raising=False)
        h = Harness(ip, tmp_path_factory.mktemp("fuzz"))
        h.sign_in()
        users = ip.run_line_magic("okta", "--max-pages 1 GET /api/v1/users?limit=3")
        groups = ip.run_line_magic("okta", "--max-pages 1 GET /api/v1/groups?limit=1")
        ip.user_ns.update(
            uid=users["id"].iloc[-1], gid=groups["id"].iloc[0], sandbox_url=sandbox.url, text='R&D "Lab" #1',
            nl="00u1abc\n", count=5, flags=[1, "two", None], nothing=None, unprintable=Unprintable(),
            nested={"a": [1, {"b": "c"}]}, uni="Zoë 東京 🚀", amp="a&b=c#d", pct="100%", quote='"', bs="\\",
            df_before=users,
        )
        yield h
        ip.run_line_magic("unload_ext", "okta_magic")
        ip.user_ns.clear()
        ip.init_user_ns()


# -- strategies -----------------------------------------------------------------------------------------------

LINE_TEXT = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=40)
SHORT_TEXT = st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=12)
VARS = ["uid", "gid", "text", "nl", "count", "flags", "nothing", "unprintable", "nested", "uni", "amp", "pct",
        "quote", "bs", "missing", "df_before", " uid ", "bad name", "", "1x"]
PLACEHOLDER = st.sampled_from(VARS).map(lambda name: "{{" + name + "}}")

METHOD = st.sampled_from(["GET"] * 16 + ["get", "Get", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS",
                                        "FETCH", "GETT", ""])
PATH = st.one_of(
    st.sampled_from(["/api/v1/users", "/api/v1/users/{{uid}}", "/api/v1/groups", "/api/v1/groups/{{gid}}/users",
                     "/api/v1/users/me", "/api/v1/logs", "{{sandbox_url}}/api/v1/users/{{uid}}/groups"]),
    st.sampled_from([
        "/api/v1/users", "/api/v1/users/{{uid}}", "/api/v1/users/me", "/api/v1/groups", "/api/v1/groups/{{gid}}",
        "/api/v1/groups/{{gid}}/users", "/api/v1/users/{{uid}}/groups", "/api/v1/nope", "/api/v1/users/{{nl}}",
        "/api/v1/users/{{unprintable}}", "/api/v1/users/{{missing}}", "/api/v1/users/{{ uid }}", "/api/v1/apps",
        "/api/v1/logs", "{{sandbox_url}}/api/v1/groups", "https://elsewhere.example.com/api/v1/users",
        "http://", "https://", "/api/v1/users/00u%0Anope", "/", "api/v1/users", "/api/v1/users/{{bad name}}",
        "/api/v1/users/{{}}", "/api/v1/users/{{uid}", "/api/v1/groups/{{flags}}", "/api/v1/users/{{uni}}",
        "/api/v1/users/a b", "/api/v1/users#frag", "//double", "/api/v1/users/%", "/api/v1/users/%zz",
    ]),
    st.builds(lambda parts: "/api/v1/" + "/".join(parts), st.lists(st.one_of(SHORT_TEXT, PLACEHOLDER), max_size=3)),
)
PARAM_NAME = st.sampled_from(["limit", "search", "filter", "q", "after", "expand", "fields", "sortBy", "sortOrder",
                              "since", "", "lim it", "{{text}}"])
PARAM_VALUE = st.one_of(
    st.sampled_from(["5", "10", "200", "0", "-1", "x", "", 'status eq "ACTIVE"', 'profile.department eq "R&D"',
                     'profile.lastName eq "{{text}}"', '"unbalanced', "{{amp}}", "{{pct}}", "{{quote}}", "{{bs}}",
                     "{{nl}}", "{{count}}", "{{uni}}", 'profile.login sw "a" and status eq "ACTIVE"', "stats",
                     "profile:(firstName)", "%20", "%", "a#b", '"a#b"', "((((((((x))))))))"]),
    SHORT_TEXT,
)
QUERY = st.lists(st.builds(lambda n, v, eq: f"{n}={v}" if eq else n, PARAM_NAME, PARAM_VALUE, st.booleans()),
                 max_size=3).map("&".join)
GOOD_OPTION = st.sampled_from(["--raw", "--links", "--max-pages 1", "--max-rows 3", "--max-pages 2", "--timeout 5",
                               "-o fuzz_out", "--out fuzz_out2", "--max-pages=1", "--max-rows=2", "--timeout 0.5"])
BAD_OPTION = st.sampled_from([
    "--max-pages 0", "--max-rows -5", "--timeout -1", "--timeout nan", "--timeout inf", "--timeout 1e308",
    "-o get_ipython", "-o __builtins__", "-o In", "-o _", "-o 'a b'", "-o 1x", "-o class", "--bogus", "-x",
    "--max-rows", "-o", "--timeout", "'", '"', "--max-rows '5", "-h", "--help", "--raw=1", "--max-r 2",
])
OPTION = st.integers(0, 7).flatmap(lambda i: BAD_OPTION if i == 0 else GOOD_OPTION)  # one in eight is bad
OPTIONS = st.lists(OPTION, max_size=2).map(" ".join)


@st.composite
def okta_lines(draw: Any) -> str:
    """An %okta line: options, a method and a path with a query, options after it; or any text at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(LINE_TEXT)
    path = draw(PATH)
    query = draw(QUERY)
    request = f"{draw(METHOD)} {path}".strip() + (f"?{query}" if query or draw(st.booleans()) else "")
    return " ".join(p for p in (draw(OPTIONS), request, draw(OPTIONS)) if p)


HEADER = st.sampled_from(["Accept: application/json", "Content-Type: application/json", "X-Note: {{nl}}",
                          "X-Note: {{text}}", "X-Uni: {{uni}}", "X-Uni: ünï", "Bad header line", ": empty name",
                          "X-Empty:", "X-Broken: {{unprintable}}", "Authorization: Bearer forged"])
BODY = st.one_of(
    st.sampled_from(['{"profile": {"name": "{{text}}"}}', '{"profile": {"name": {{text}}}}', '{"n": {{count}}}',
                     '{"n": "{{count}}"}', '{"f": {{flags}}}', '{"x": {{unprintable}}}', '{"x": "a{{unprintable}}"}',
                     '{"x": {{nested}}}', '{"x": {{df_before}}}', '[1, 2', "{", "not json", '{"a": "\\u00"}',
                     '{"a": {{missing}}}', "[]", "{}", "null", '"{{nl}}"']),
    st.builds(json.dumps, st.recursive(st.none() | st.booleans() | st.integers() | SHORT_TEXT,
                                       lambda inner: st.lists(inner, max_size=3)
                                       | st.dictionaries(SHORT_TEXT, inner, max_size=3), max_leaves=6)),
    st.text(max_size=40),
)


@st.composite
def okta_cells(draw: Any) -> tuple[str, str]:
    """A %%okta cell: options (maybe a request) on the magic line; request line, headers, blank line, body."""
    line = draw(OPTIONS)
    if draw(st.integers(0, 9)) == 0:
        return line, draw(st.text(max_size=80))
    path, query = draw(PATH), draw(QUERY)
    parts = [f"{draw(METHOD)} {path}".strip() + (f"?{query}" if query else "")]
    if draw(st.integers(0, 4)) == 0:  # the request on the magic line, the cell holds headers and body
        line, parts = f"{line} {parts[0]}".strip(), []
    parts += draw(st.lists(HEADER, min_size=0 if parts else 1, max_size=2))
    if draw(st.booleans()):
        parts += ["" if draw(st.integers(0, 3)) else "   ", draw(BODY)]
    lead = draw(st.sampled_from(["", "\n", "\n\n", "  \n"]))
    return line, lead + "\n".join(parts) + draw(st.sampled_from(["", "\n", "\n\n"]))


VALUE = st.one_of(
    st.sampled_from(["1", "2", "0", "-1", "-0", "1.5", "1e3", "1e308", "-1e308", "nan", "NaN", "inf", "-inf",
                     "+5", "0x10", "1_000", "5 ", " 5", "", "''", '""', "'5'", '"5"', "٣", "²", "0.000001",
                     "86400", "86400.0001", "99999999999999999999999", "out_var", "get_ipython", "__builtins__",
                     "_i1", "_3", "print", "None", "a b", "a.b", "é", "x'", '"x', "\\", "--raw"]),
    st.integers(-10**6, 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    SHORT_TEXT,
)


@st.composite
def option_values(draw: Any) -> str:
    """One value option with a generated value, before or after a cheap request."""
    option = draw(st.sampled_from(["--timeout", "--max-rows", "--max-pages", "-o", "--out"]))
    value = draw(VALUE)
    written = draw(st.sampled_from([f"{option} {value}", f"{option}={value}" if option.startswith("--") else
                                    f"{option} {value}", f"{option} '{value}'"]))
    request = draw(st.sampled_from(["GET /api/v1/groups?limit=2 --raw", "GET /api/v1/users/me --raw",
                                    "GET /api/v1/nope", "GET /api/v1/logs?limit=1 --max-pages 1"]))
    return f"{written} {request}" if draw(st.booleans()) else f"{request} {written}"


SCOPE_NAME = st.sampled_from(["okta.users.read", "okta.users.manage", "okta.groups.read", "okta.logs.read",
                              "okta.apps.read", "okta.users.read.self", "openid", "profile", "email",
                              "offline_access", "okta.user.read", "okta.nope.read", "okta.", "okta..read"])
REQUEST_WORDS = st.sampled_from(["GET /api/v1/users", "/api/v1/groups/{groupId}/users", "POST /api/v1/groups",
                                 "get /api/v1/users/me", "DELETE /api/v1/users/{id}", "GET /api/v1/nope",
                                 "GET https://x.example.com/api/v1/users", "GET", "PATCH", "/api/v1/logs?since=x"])
FOR_ITEM = st.sampled_from(['"GET /api/v1/users"', '"GET /api/v1/logs"', '"POST /api/v1/groups"', '"GET"', '""',
                            "''", '"/api/v1/apps"', '"okta.users.read"', "'GET /api/v1/groups'"])
ODD_WORD = st.one_of(st.sampled_from(["users", ".", "--for", '"', "'", "--bogus", "{groupId}", "-h", "--"]),
                     SHORT_TEXT)
SCOPES_LINE = st.one_of(
    st.lists(SCOPE_NAME, min_size=1, max_size=3).map(" ".join),
    REQUEST_WORDS,
    st.lists(FOR_ITEM, min_size=1, max_size=3).map(lambda items: "--for " + " ".join(items)),
    st.just(""),
    st.lists(st.one_of(SCOPE_NAME, REQUEST_WORDS, FOR_ITEM, ODD_WORD), max_size=4).map(" ".join),
    LINE_TEXT,
)

LOGIN_PART = st.one_of(
    st.sampled_from(["--sandbox"] * 6 + ["--no-widget"] * 3 + [
        "--dpop", "--explain", "--device", "--token", "--api-token", "--client-secret", "--wait", "--key-id kid1",
        "--bogus", "-x", "'", '"', "--scopes", "--as", "--paste", "--org-url"]),
    st.builds("--as {}".format, st.sampled_from(["admin", "readonly", "helpdesk", "user", "nobody", "''", "Admin"])),
    st.builds("--app {}".format, st.sampled_from(["native", "users-only", "offline", "web", "service",
                                                  "service-dpop", "nope", "''"])),
    st.builds("--scopes '{}'".format, st.sampled_from([
        "openid okta.users.read", "openid okta.groups.read okta.users.read", "okta.users.read", "openid",
        "openid offline_access okta.users.read", "okta.nope.read", "", "openid,okta.users.read", "bad scope!"])),
    st.builds("--scopes {}".format, SHORT_TEXT),
    st.builds("--org-url {}".format, st.sampled_from([
        "{sandbox}", "http://127.0.0.1:9", "https://127.0.0.1:9", "https://dev-1.okta.com/oauth2/default",
        "https://dev-1-admin.okta.com", "dev", "{yourOktaDomain}", "ftp://x", "https://dev-1.okta.com/api/v1",
        "http://dev-1.okta.com", "''"])),
    st.builds("--client-id {}".format, st.sampled_from(["{native}", "{service}", "0oaNOPE", "''", "a b"])),
    st.builds("--redirect-uri {}".format, st.sampled_from([
        "http://127.0.0.1:0/callback", "http://localhost:8765/callback", "not-a-uri", "http://x/#frag",
        "https://127.0.0.1:9/callback", "http://[::1]:0/callback", "''"])),
    st.builds("--auth-method {}".format, st.sampled_from(["client_secret_basic", "client_secret_post", "none"])),
    st.builds("--paste {}".format, st.sampled_from([
        "http://127.0.0.1:1/callback?code=x&state=y", "http://localhost:8765/callback?error=access_denied",
        "nonsense", "''", "http://localhost:8765/callback#access_token=abc"])),
    st.builds("--private-key {}".format, st.sampled_from(["{key}", "/nonexistent/key.pem", "''", "/"])),
)


@st.composite
def login_lines(draw: Any) -> str:
    if draw(st.integers(0, 9)) == 0:
        return draw(LINE_TEXT)
    parts = draw(st.lists(LOGIN_PART, max_size=4))
    if draw(st.integers(0, 2)):  # mostly the sandbox, which can answer
        parts.insert(0, "--sandbox")
    if "--wait" in parts and draw(st.integers(0, 3)):  # a wait with nobody to sign in costs its whole timeout
        parts.remove("--wait")
    return " ".join(parts)


# -- the fuzz --------------------------------------------------------------------------------------------------


@_fuzz(EXAMPLES["okta_line"])
@given(line=okta_lines())
def test_okta_lines(harness, line):
    harness.ensure_signed_in()
    harness.attempt("okta_line", "okta", line)


@_fuzz(EXAMPLES["okta_cell"])
@given(cell=okta_cells())
def test_okta_cells(harness, cell):
    harness.ensure_signed_in()
    harness.attempt("okta_cell", "okta", *cell)


@_fuzz(EXAMPLES["option_values"])
@given(line=option_values())
def test_okta_option_values(harness, line):
    harness.ensure_signed_in()
    harness.attempt("option_values", "okta", line)


@_fuzz(EXAMPLES["okta_scopes"])
@given(line=SCOPES_LINE, signed_in=st.booleans())
def test_okta_scopes_lines(harness, line, signed_in):
    if signed_in:
        harness.ensure_signed_in()
    elif harness.session.token is not None:
        with contextlib.redirect_stdout(io.StringIO()):
            harness.shell.run_line_magic("okta_logout", "")
    harness.attempt("okta_scopes", "okta_scopes", line)


@_fuzz(EXAMPLES["okta_login"])
@given(line=login_lines())
def test_okta_login_lines(harness, line):
    h = harness
    line = (line.replace("{sandbox}", h.sandbox_url).replace("{native}", h.sandbox.apps["native"].client_id)
            .replace("{service}", h.sandbox.apps["service"].client_id).replace("{key}", h.key_path))
    with configured_for_login(h):
        h.attempt("okta_login", "okta_login", line)


@contextlib.contextmanager
def configured_for_login(h: Harness) -> Any:
    """A wait for a sign-in nobody completes (--wait, --device) ends in a fraction of a second; --as has 5 s."""
    magics = h.shell.magics_manager.registry["OktaMagics"]
    saved = (magics.login_timeout, magics.request_wait, h.session.sign_in_wait)
    magics.login_timeout, magics.request_wait, h.session.sign_in_wait = 1.5, 5.0, 0.3
    try:
        yield
    finally:
        magics.login_timeout, magics.request_wait, h.session.sign_in_wait = saved


@pytest.fixture(scope="module", autouse=True)
def report(harness):
    """When the module ends: its figures to docs/reliability.md, once all five kinds ran (a ``-k`` run of some
    of them leaves the document as it was)."""
    yield
    with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
        harness.session.cancel_login()
    if any(tally.tried == 0 for tally in TALLIES.values()):
        return
    names = {"okta_line": "`%okta` lines", "okta_cell": "`%%okta` cells", "option_values": "option values",
             "okta_scopes": "`%okta_scopes` lines", "okta_login": "`%okta_login` lines"}
    rows = []
    for kind, tally in TALLIES.items():
        ways = ", ".join(f"{count} {outcome}" for outcome, count in tally.outcomes.most_common())
        rows.append((f"{names[kind]} ({tally.tried})", f"{tally.held} held: {ways or 'not run'}"))
    tried = sum(t.tried for t in TALLIES.values())
    held = sum(t.held for t in TALLIES.values())
    failures = list(dict.fromkeys(f for t in TALLIES.values() for f in t.failures))  # (shrinking repeats some)
    rows += [(f"did not hold: `{_cell(repr(typed), 80)}`", _cell(problem, 160)) for typed, problem in failures[:10]]
    record("test_reliability_magics", "Fuzzed magic lines", tried, held, """
Hypothesis generates what people type (seeded, the same examples every run): `%okta` lines (options before
and after the request, methods, paths, queries with quotes, `&`, `#`, `%`, and `{{variables}}` holding line
breaks, unprintable objects, lists), `%%okta` cells (headers, bodies, broken JSON), values of `--timeout`,
`--max-rows`, `--max-pages` and `-o`, `%okta_scopes` lines (scope names, requests, `--for`) and `%okta_login`
lines (every option, sandbox apps and users, pasted secrets, bad URLs). Each runs in an IPython shell signed
in to the sandbox org (12 users, no rate limits, no latency, retries without real waits) and holds when it
ends in a result or one `UsageError` line, shows no token, password, key or secret, and leaves the kernel's
own names (`get_ipython`, `__builtins__`, `In`, `Out`) in place. Each kind is its own test, which fails on
its first input that does not hold (Hypothesis then shrinks it).
""", rows)


def _cell(text: str, width: int) -> str:
    """Text for a cell of a Markdown table: one line, no pipe or backtick, at most ``width`` characters."""
    text = text.replace("|", "\\|").replace("`", "'")
    return text if len(text) <= width else text[: width - 1] + "…"


def test_the_fuzz_ran_its_examples():
    """Run after the five above: together they tried at least 2,000 inputs (a strategy that ran dry would show)."""
    ran = {kind: tally.tried for kind, tally in TALLIES.items()}
    if not all(ran.values()):
        pytest.skip("counts the inputs of a run of all five fuzz tests")
    assert sum(ran.values()) >= 2000, ran
