"""The script API: sign in, send requests, get DataFrames, without IPython (as ``requests`` has
module-level functions over a default session).

Each function works on a ``Session`` (``session.py``): the one given as ``session=``, else this
module's default session, which ``current_session()`` returns and creates on first use. In a
notebook the magics are handed that same default when the extension loads, so ``%okta_login``
and ``okta_magic.get()`` share one sign-in. The default holder below is the one piece of
module-level state in the package. Errors are re-raised with the script's wording of the fix
(``advice.for_scripts``): a script is never told to run a magic::

    import okta_magic
    okta_magic.login(org_url="https://dev-123456.okta.com", client_id="0oa1abc",
                     scopes="openid okta.users.read")      # opens your browser, waits
    users = okta_magic.get("/api/v1/users")                   # every page, one DataFrame
    with okta_magic.http_client() as http:                    # for code of your own
        http.get("/api/v1/groups")
    helpdesk = okta_magic.session("helpdesk")                 # a second sign-in beside the first
    okta_magic.login_sandbox("helpdesk", session=helpdesk)    # (%okta_login --profile helpdesk: the same one)
"""

from __future__ import annotations

import sys
import threading
import webbrowser
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from okta_magic import advice

from okta_magic.sessions import signin
from okta_magic.errors import LoginError, RequestError
from okta_magic.sessions.profiles import Profiles
from okta_magic.sessions.session import Session
from okta_magic.tokens import Secret

if TYPE_CHECKING:
    import httpx

    from okta_magic.flows.browser import LoginFlow
    from okta_magic.flows.device import DeviceLogin
    from okta_magic.tokens import Token

__all__ = ["Session", "current_session", "current_profiles", "session", "profile", "close_current_session", "login",
           "login_sandbox", "finish_login",
           "use_token", "logout", "get", "get_each", "request", "http_client", "audit",
           "sync", "sql", "snapshot"]


class _DefaultSession:
    """The script API's default session and the named profiles beside it: made on first use, closed on request."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profiles: Profiles | None = None

    def get(self) -> Session:
        """The default session, created on first use."""
        return self.profiles().default

    def profiles(self) -> Profiles:
        """The default session and the named ones (``profile(name)``), created on first use."""
        with self._lock:
            if self._profiles is None:
                self._profiles = Profiles(Session())
            return self._profiles

    def close(self, only: Session | None = None) -> None:
        """Close and forget the default session and the named ones (only if the default is ``only``, when given)."""
        with self._lock:
            profiles = self._profiles
            if profiles is None or only is not None and profiles.default is not only:
                return
            self._profiles = None
        profiles.close()


_default = _DefaultSession()  # the one piece of module-level state (see the module docstring)


def current_session() -> Session:
    """The default session the module-level functions use (the magics' too, once the extension is loaded)."""
    return _default.get()


def current_profiles() -> Profiles:
    """The default session and the named profiles (the magics hold the same, once the extension is loaded)."""
    return _default.profiles()


def session(name: str) -> Session:
    """The named profile's session (made, not signed in, on first use), e.g. ``get(..., session=session("helpdesk"))``.

    ``session("default")`` is the default session. The notebook's ``%okta_login --profile NAME`` signs in the same one.
    """
    from okta_magic.sessions.profiles import check_name

    return _default.profiles().ensure(check_name(name))


profile = session  # the same function under the name it had first (okta_magic.profile(NAME))


def close_current_session(only: Session | None = None) -> None:
    """Stop and forget the default session and the named profiles (listeners, clients, sandbox); the next call starts
    afresh."""
    _default.close(only)


def _session(session: Session | None) -> Session:
    return session if session is not None else _default.get()


# -- signing in ------------------------------------------------------------------------


@advice.for_scripts
def login(
    org_url: str | None = None,
    client_id: str | None = None,
    scopes: str | None = None,
    redirect_uri: str | None = None,
    *,
    client_secret: str | None = None,
    auth_method: str | None = None,
    dpop: bool = False,
    flow: str | None = None,
    open_browser: bool | Callable[[str], object] = True,
    wait: bool = True,
    timeout: float = 300,
    session: Session | None = None,
) -> Token | LoginFlow | DeviceLogin:
    """Sign a person in with Authorization Code + PKCE, by the flow that works where this runs; returns the Token.

    As ``%okta_login`` does, it picks the loopback redirect, the device grant or paste-back for where the kernel
    runs (and the notebook page's location, once a panel reported it) and says which and why in one line;
    ``flow="loopback"``, ``"device"`` or ``"paste"`` names it instead. ``open_browser`` (loopback redirect): True
    opens the system browser, False prints the URL, a callable receives it. ``wait=False`` returns the sign-in in
    progress (finish paste-back with ``finish_login(url)``). ``dpop``: bind the token to a key from the start.
    """
    from okta_magic.flows.device import DeviceLogin

    session = _session(session)
    browser = webbrowser.open if open_browser is True else open_browser or None
    settings = {"org_url": org_url, "client_id": client_id, "scopes": scopes, "redirect_uri": redirect_uri,
                "auth_method": auth_method, "dpop": dpop}
    request = signin.Request(layers=(settings,), flow=flow, client_secret=client_secret, open_browser=browser,
                             timeout=timeout)
    started = signin.start(session, request, say=lambda why: print(advice.flow_choice(why, advice.SCRIPT)))
    progress = started.login
    if isinstance(progress, DeviceLogin):
        print(advice.device_instructions(progress.verification_uri, progress.user_code,
                                         progress.verification_uri_complete, advice.SCRIPT))
        return progress.wait(timeout) if wait else progress
    assert progress is not None  # a person's sign-in: no key, no demo user
    if started.way == "paste":
        print(advice.paste_back(progress.authorize_url or "", advice.SCRIPT, prompt=wait))
        return _pasted(session, progress, timeout) if wait else progress
    if not wait:
        return progress
    if browser is None:
        print(advice.open_this_url(progress.authorize_url or "", advice.SCRIPT))
    return progress.wait(timeout)


def _pasted(session: Session, progress: LoginFlow, timeout: float) -> Token:
    """Paste-back in a script: read the address the browser landed on (Enter alone waits for the listener)."""
    try:
        url = input(advice.PASTE_PROMPT).strip()
    except (EOFError, OSError, RuntimeError):  # no standard input (a pipe at its end, a front end without input)
        progress.cancel()
        raise LoginError("There is no input to paste the address into here:").with_fix("paste_after_sign_in") from None
    return session.sign_in_paste(url) if url else progress.wait(timeout)


@advice.for_scripts
def finish_login(redirected_url: str, *, session: Session | None = None) -> Token:
    """Finish a ``login(..., wait=False)`` with the URL the browser was redirected to (remote kernels)."""
    return _session(session).sign_in_paste(redirected_url)


@advice.for_scripts
def login_sandbox(user: str | None = "admin", scopes: str | None = None, *, app: str = "native",
                  session: Session | None = None) -> Token:
    """Start the built-in sandbox org (if needed) and sign in as one of its demo users, unattended.

    ``user=None`` with a service app (``service``, ``service-dpop``) signs the app in as itself.
    """
    session = _session(session)
    session.sign_in_sandbox(user, app=app, layers=[{"scopes": scopes}])
    return session.current_token()


@advice.for_scripts
def use_token(access_token: str, org_url: str | None = None, *, api_token: bool = False,
              session: Session | None = None) -> Token:
    """Use an access token (or, with ``api_token=True``, an SSWS key) you already have."""
    session = _session(session)
    access_token = Secret(access_token)  # masked wherever this frame's locals are shown
    if api_token:
        return session.use_api_token(access_token, org_url=org_url)
    return session.use_token(access_token, org_url=org_url,
                             note=lambda key: print(advice.note(key, advice.SCRIPT), file=sys.stderr))


@advice.for_scripts
def logout(*, session: Session | None = None) -> str:
    """Revoke where possible and forget the tokens."""
    return _session(session).logout()


# -- requests (the script API above and the magics share this) -----------------------------


@advice.for_scripts
def get(path: str, *, max_pages: int | None = None, max_rows: int | None = None, parallel: int | None = None,
        to: str | None = None, append: bool = False, session: Session | None = None, **params: Any) -> Any:
    """GET a Management API path; a JSON array comes back as one DataFrame over every page.

    ``parallel=N`` splits a users or System Log list into disjoint windows pulled N at a time (same rows).
    ``to="users.parquet"`` (or .csv, .jsonl) writes the pages to that file as they arrive and returns a summary;
    ``append=True`` continues a System Log file from its last event.
    """
    text = f"GET {path}" + _query(path, params)
    if parallel is None:
        if to is None and not append:
            return request(text, max_pages=max_pages, max_rows=max_rows, session=session)
        return request(text, max_pages=max_pages, max_rows=max_rows, session=session, to=to, append=append)
    from okta_magic.pulls.fanout import check_count
    from okta_magic.pulls.partition import run_parallel

    if max_pages is not None or max_rows is not None:
        raise RequestError("parallel= pulls the whole list: drop max_pages/max_rows")
    outcome = run_parallel(_session(session), text, {}, parallel=check_count(parallel, "parallel"), to=to,
                           append=append)
    _notes(outcome.notes)
    return outcome.value


@advice.for_scripts
def get_each(path: str, *, concurrency: int | None = None, resume: Any = None, to: str | None = None,
             session: Session | None = None, **values: Any) -> Any:
    """GET ``path`` once per value, e.g. ``get_each("/api/v1/groups/{gid}/users", gid=groups["id"])``; one DataFrame
    whose first column holds the value.

    The keyword named in ``{...}`` gives the values (each distinct value requested once); other keywords are query
    parameters. ``concurrency`` caps the requests in flight; ``resume`` takes an earlier result of the same call and
    fetches only the values it lacks. Failed values are listed in ``attrs["okta_failures"]``. ``to=PATH`` writes the
    rows to that file as they arrive (in the values' order) and returns a summary (failures in its ``.failures``).
    """
    from okta_magic.pulls.fanout import check_count, run_each
    from okta_magic.pulls.targets import check_target

    check_target(None, to, append=False)

    names = [name for name in values if "{" + name + "}" in path]
    if len(names) != 1:
        raise RequestError("get_each needs exactly one {name} in the path and the values as name=..., e.g. "
                           'get_each("/api/v1/groups/{gid}/users", gid=groups["id"])')
    name = names[0]
    each = values.pop(name)
    text = "GET " + path.replace("{" + name + "}", "{{" + name + "}}") + _query(path, values)
    cap = check_count(concurrency, "concurrency") if concurrency is not None else None
    outcome = run_each(_session(session), text, name, each, {}, concurrency=cap, previous=resume, to=to)
    _notes(outcome.notes + ([outcome.result.note] if outcome.result.note else []))
    return outcome.value


def _query(path: str, params: Mapping[str, Any]) -> str:
    """``?a=1&b=2`` (``&a=1...`` when the path has a query already) for a request line, or nothing."""
    from urllib.parse import quote, urlencode

    # %20 for spaces: the request parser reads a typed "+" as a plus sign (Okta's search values hold spaces)
    return ("&" if "?" in path else "?") + urlencode(params, quote_via=quote) if params else ""


def _notes(lines: list[str]) -> None:
    for line in lines:
        print(line, file=sys.stderr)


@advice.for_scripts
def request(text: str, *, namespace: Mapping[str, Any] | None = None, session: Session | None = None,
            **options: Any) -> Any:
    """Run a request written as in the ``%%okta`` cell magic (method, path, headers, body); returns its value."""
    from okta_magic.pulls.pull import run_request  # on first use: import okta_magic and %load_ext stay light

    return run_request(_session(session), text, dict(namespace or {}), **options).value


@advice.for_scripts
def http_client(*, session: Session | None = None) -> httpx.Client:
    """A new ``httpx.Client`` for the signed-in org, yours to close: base URL set, token sent only to the org's host."""
    return _session(session).http_client()


# -- audits: questions answered from the org's snapshot (okta_magic/audits) ---------------------------


@advice.for_scripts
def audit(name: str | None = None, *, explain: bool = False, snapshot: str | None = None,
          session: Session | None = None, **params: Any) -> Any:
    """Run an audit over the org's snapshot (syncing the tables it reads first when the snapshot lacks them).

    ``audit("inactive_users", days=30)`` returns a DataFrame whose ``attrs["headline"]`` is its one-line answer
    (also printed to stderr); ``audit()`` lists the audits (a DataFrame, one row each: question, parameters, the
    scopes this token lacks, scopes, role, tables, endpoints); ``explain=True`` returns what it reads and needs,
    and its SQL, as text.
    """
    from okta_magic.audits import ask, catalog, scope

    chosen = _session(session)
    held = tuple(chosen.held_scopes())
    if name is None:
        from okta_magic.frames import to_frame

        return to_frame(scope.overview(held))
    spec = catalog.get(name)
    if explain:
        spec.values(params)
        return scope.explain(spec, held, advice.SCRIPT)
    result = ask.audit(chosen, name, params, path=snapshot, say=lambda line: _notes([line]))
    _notes([result.headline, *(f"Note: {note}" for note in result.notes)])
    return result.frame


# -- the snapshot: the org as tables in a local DuckDB file ----------------------------------------


def _snapshot_path(path: Any, session: Session | None) -> Any:
    """``path``, else the signed-in org's own snapshot (``<host>.duckdb`` in the working directory)."""
    from okta_magic.snapshot.sync import path_for

    return path_for(_session(session), path)


@advice.for_scripts
def sync(path: Any = None, *, full: bool = False, since: str | None = None, tables: Any = None, plan: bool = False,
         format: str = "duckdb", to: Any = None, session: Session | None = None) -> Any:  # noqa: A002
    """Sync the signed-in org into a local DuckDB snapshot (incrementally, unless ``full``); returns the report.

    ``path``: the file (default ``<org host>.duckdb`` here); ``since``: where the System Log's first pull starts
    (``"30d"``, ``"12h"`` or a timestamp); ``tables``: only these; ``plan=True``: what it would fetch, cost and
    need, without syncing. A table the token cannot read is skipped with a line here and a row in ``_tables``.
    ``format="parquet"``: after the sync, every table as a Parquet dataset under ``to`` (a directory; default
    ``<org host>.parquet``); otherwise ``to`` is another name for ``path``.
    """
    from okta_magic.snapshot.entry import sync_as_asked

    if format not in ("duckdb", "parquet"):
        from okta_magic.errors import RequestError

        raise RequestError(f"format={format!r}: choose 'duckdb' (the snapshot) or 'parquet' (a dataset per table).")
    if format == "duckdb" and to is not None:
        path, to = to, None
    names = [tables] if isinstance(tables, str) else tables
    return sync_as_asked(_session(session), path, full=full, since=since, tables=names, plan=plan,
                         parquet=format == "parquet", parquet_dir=to, say=lambda line: print(line, file=sys.stderr))


@advice.for_scripts
def snapshot(path: Any = None, *, read_only: bool = True, session: Session | None = None) -> Any:
    """The DuckDB connection to the org's snapshot (read-only by default), yours to close."""
    from okta_magic.snapshot.sql import connect

    return connect(_snapshot_path(path, session), read_only=read_only)


@advice.for_scripts
def sql(text: str, *, path: Any = None, namespace: Mapping[str, Any] | None = None,
        session: Session | None = None, **values: Any) -> Any:
    """DuckDB SQL over the org's snapshot, a pandas DataFrame; ``{{name}}`` takes ``name=`` (or ``namespace``)."""
    from okta_magic.snapshot.sql import query

    return query(_snapshot_path(path, session), text, {**(namespace or {}), **values})
