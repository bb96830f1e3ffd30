"""The IPython magics: ``%okta_login``, ``%okta``/``%%okta``, ``%okta_token``, ``%okta_scopes``, ``%okta_logout``.

The notebook front end. An ``OktaMagics`` holds its ``Session`` (``session.py``); the magics
parse options (and read secrets without echo), pick the session's way in from them, send
requests through the same code as the script API, and display. Every ``OktaMagicError``
becomes a plain ``UsageError`` worded for a notebook (``advice.render``, with the scope coach's
explanation for API errors; IPython hides the traceback only for that exact type), so a user's
mistake is one line.
"""

from __future__ import annotations

import builtins
import contextlib
import getpass
import keyword
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, needs_local_scope, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display
from traitlets import Bool, Float, Unicode

from okta_magic import advice

from okta_magic.advice import coach

from okta_magic.sessions import signin
from okta_magic.errors import ConfigError, OktaApiError, OktaMagicError
from okta_magic.notebook.options import at_least_one as _at_least_one
from okta_magic.notebook.options import in_flight as _in_flight
from okta_magic.notebook.options import lifetime as _lifetime
from okta_magic.notebook.options import seconds as _seconds
from okta_magic.notebook.options import split_options as _split_options
from okta_magic.notebook.options import unquote as _unquote
from okta_magic.notebook.options import unrecognized as _unrecognized
from okta_magic.sessions.profiles import DEFAULT, Profiles
from okta_magic.sessions.session import Session
from okta_magic.tokens import Secret

# Names IPython keeps in the user namespace (besides Python's builtins): storing a result under
# one of them breaks the kernel (get_ipython, __builtins__) or its history (In, Out, _, _i1 ...).
_IPYTHON_NAMES = frozenset({"get_ipython", "exit", "quit", "In", "Out", "_", "__", "___", "_oh", "_ih", "_dh",
                            "_sh", "display"})
_IPYTHON_PATTERN = re.compile(r"_i+\d*|_\d+|__.*__")  # _i, _ii, _i12, _12 (history), __name__ ... (dunders)
_LINE_BREAKS = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")  # what str.splitlines splits on


def _one_line(message: str) -> str:
    """The message with any line break written as its escape, so that it stays one line."""
    return _LINE_BREAKS.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), message)


def _usage(message: str) -> UsageError:
    """The one-line error a user sees (IPython shows a UsageError without a traceback)."""
    return UsageError(_one_line(message))


def named(session: Session) -> str | None:
    """The session's profile name for a fix line (``%okta_login --profile NAME``), None for the default one."""
    return None if session.name == DEFAULT else session.name


@contextlib.contextmanager
def user_errors(session: Session | None = None,
                keep_partial: Callable[[Any], str] | None = None) -> Iterator[None]:
    """Turn our errors into a one-line UsageError, with the scope coach's fix for API errors.

    ``keep_partial`` stores the rows a pull fetched before it failed and says where they are.
    """
    try:
        yield
    except OktaMagicError as exc:
        if isinstance(exc, OktaApiError):
            message = coach.explain_api_error(exc, session.held_scopes() if session is not None else ())
        else:
            message = advice.render(exc, advice.NOTEBOOK)
        if session is not None:
            message = advice.in_profile(message, named(session))
        if exc.partial is not None and keep_partial is not None:
            message += " " + keep_partial(exc.partial)
        raise _usage(message) from None


def _secret(prompt: str) -> str:
    """Read a secret without echo (never from the magic line, which lands in history)."""
    try:
        value = getpass.getpass(prompt)
    except Exception as exc:  # no stdin: a headless run, or a front end without input support
        raise _usage(f"Cannot prompt for a secret here ({type(exc).__name__}); "
                     "use the Python API okta_magic.use_token(...) instead.") from None
    if not value.strip():
        raise _usage("Nothing was entered.")
    return value.strip()


def _parse(magic: Callable[..., Any], line: str) -> Any:
    """The magic's options, or one UsageError line (argparse's message, or an unbalanced quote)."""
    try:
        return parse_argstring(magic, line)
    except UsageError as exc:
        raise _usage(_unrecognized(magic.parser, str(exc)) or str(exc)) from None
    except ValueError as exc:  # the splitter: "No closing quotation", "No escaped character"
        raise _usage(f"Cannot read the options ({str(exc).lower()}): close each quote you open, "
                     f"e.g. --scopes 'openid okta.users.read'.") from None


def _each(text: str) -> tuple[str, str]:
    """``--each NAME=EXPR``: the placeholder's name and the Python expression of its values."""
    name, sep, expression = (_unquote(text) or "").partition("=")
    name = name.strip()
    if not sep or not expression.strip() or not name.isidentifier() or keyword.iskeyword(name):
        raise _usage(f"--each takes NAME=EXPRESSION, e.g. --each gid=groups.id (the request then holds "
                     f"{{{{gid}}}}), not {text!r}.")
    return name, expression.strip()


def _check_batch(args: Any) -> None:
    """Options that do not go with --each / --parallel, each refused in one line."""
    batch = "--each" if args.each else "--parallel" if args.parallel else None
    if args.each and args.parallel:
        raise _usage("--each and --parallel do not combine: fan out over values, or split one list.")
    if batch is None and (args.concurrency or args.resume):
        raise _usage(f"{'--concurrency' if args.concurrency else '--resume'} goes with --each, e.g. "
                     "%okta GET /api/v1/groups/{{gid}}/users --each gid=groups.id --concurrency 8.")
    if args.parallel and (args.concurrency or args.resume):
        raise _usage("--parallel N sets the requests in flight itself and has no --resume; drop the other option.")
    if args.resume and args.to:
        raise _usage("--resume continues a fan-out held in memory, not a file: run the fan-out with --to again.")
    for given, option in ((args.raw, "--raw"), (args.max_pages, "--max-pages"), (args.max_rows, "--max-rows")):
        if batch and given:
            raise _usage(f"{option} does not go with {batch}, which fetches every page of every request.")


def _check_name(name: str, user_ns_hidden: Any = ()) -> str:
    """``-o``'s variable name: an identifier that hides nothing of Python's or IPython's."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise _usage(f"-o takes a Python variable name (letters, digits and _, not a keyword), not {name!r}: "
                     "e.g. -o users.")
    if name in _IPYTHON_NAMES or name in user_ns_hidden or _IPYTHON_PATTERN.fullmatch(name):
        raise _usage(f"-o {name} would replace IPython's own {name}: store the result under another name, "
                     "e.g. -o result.")
    if hasattr(builtins, name):
        raise _usage(f"-o {name} would hide Python's builtin {name}: store the result under another name, "
                     f"e.g. -o {name}_df.")
    return name


@magics_class
class OktaMagics(Magics):
    """Sign in to an Okta org and query its Management API from IPython."""

    org_url = Unicode("", help="Okta org URL, e.g. https://dev-123456.okta.com (the Org Authorization Server)."
                      ).tag(config=True)
    client_id = Unicode("", help="Client ID of the OIDC app to sign in with (0oa…).").tag(config=True)
    scopes = Unicode("", help="Space-separated scopes to request, e.g. 'openid okta.users.read'.").tag(config=True)
    redirect_uri = Unicode("", help="Redirect URI registered in the app; matched exactly by Okta "
                                    "(default http://localhost:8765/callback).").tag(config=True)
    login_timeout = Float(900.0, help="Seconds a sign-in waits for the browser before giving up.").tag(config=True)
    request_wait = Float(300.0, help="Seconds a request waits for a sign-in still in progress.").tag(config=True)
    progress = Bool(True, help="Show a progress bar on multi-page pulls.").tag(config=True)
    warn_scopes = Bool(True, help="Warn before a request the token's scopes do not cover.").tag(config=True)

    def __init__(self, shell: Any, session: Session | None = None, profiles: Profiles | None = None) -> None:
        """``profiles``: the default session and the named ones (else a set around ``session``, else a new one)."""
        super().__init__(shell)
        # this front end's sign-ins, held here: the default session and the named profiles
        self.profiles = profiles if profiles is not None else Profiles(session if session is not None else Session())
        self._last_fanout: dict[str, Any] = {}  # per profile: the last --each result (any end), for --resume

    @property
    def session(self) -> Session:
        """The active profile's session (the default one until ``%okta_login --profile NAME``)."""
        return self.profiles.active

    def _profile(self, name: str | None) -> Session:
        """The session ``-p NAME`` names (one UsageError line for an unknown one), else the active one."""
        if name is None:
            return self.session
        with user_errors():
            return self.profiles.get(_unquote(name) or "")

    def close(self) -> None:
        """Stop what the sessions started (listeners, clients, sandbox); the extension unloads."""
        self.profiles.close()

    def _trait_layer(self) -> dict[str, object]:
        return {"org_url": self.org_url, "client_id": self.client_id, "scopes": self.scopes,
                "redirect_uri": self.redirect_uri}

    def _widgets_available(self) -> bool:
        """A kernel with a front end (JupyterLab, Notebook, VS Code) rather than a terminal."""
        return type(self.shell).__name__ == "ZMQInteractiveShell"

    # -- %okta_login -------------------------------------------------------------

    @magic_arguments()
    @argument("--org-url", help="Org URL (https://<your-org>.okta.com).")
    @argument("--client-id", help="Client ID of the OIDC app.")
    @argument("--scopes", help="Scopes to request, space-separated (quote them).")
    @argument("--redirect-uri", help="Redirect URI registered in the app (exact match).")
    @argument("--client-secret", action="store_true", help="Web app: prompt for its client secret (no echo).")
    @argument("--auth-method", choices=["client_secret_basic", "client_secret_post"],
              help="How a web app sends its secret (default client_secret_basic).")
    @argument("--dpop", action="store_true",
              help="Bind the token to a key in this kernel from the first request (DPoP); apps that require DPoP "
                   "and say so, as Okta does, are handled without it.")
    @argument("--sandbox", action="store_true", help="Use the built-in sandbox org (started in this kernel).")
    @argument("--as", dest="as_user", metavar="USER",
              help="With --sandbox: sign in as this demo user without a person (admin, readonly, helpdesk, user).")
    @argument("--app", default="native", help="With --sandbox: which demo app (native, users-only, offline, web; "
                                              "service and service-dpop sign in as themselves with their key).")
    @argument("--no-widget", action="store_true", help="Print the sign-in URL instead of showing the panel.")
    @argument("--paste", metavar="URL",
              help="Finish the sign-in in progress with the URL your browser was redirected to.")
    @argument("--token", action="store_true", help="Use an access token you already have (prompted, no echo).")
    @argument("--api-token", action="store_true", help="Use an SSWS API token (prompted, no echo).")
    @argument("--device", action="store_true", help="Device authorization grant (for remote kernels); --flow device.")
    @argument("--flow", choices=signin.FLOWS, help="The sign-in flow, instead of the one chosen for where the kernel "
                                                   "runs: loopback (the browser comes back to this kernel), device (a "
                                                   "code, any browser) or paste (sign in, paste the address back).")
    @argument("--private-key", metavar="PATH", help="Service app: sign a client assertion with this PEM/JWK key.")
    @argument("--key-id", help="Service app: the key's kid.")
    @argument("--explain", action="store_true", help="Show each step of the flow as it runs (for teaching).")
    @argument("--wait", action="store_true", help="Block until the sign-in completes.")
    @argument("--profile", metavar="NAME", help="Sign in a profile of its own and make it the active one; alone, "
                                                "switch to it (requests go to the active profile).")
    @argument("--list", action="store_true", help="List the profiles: org, who, scopes, time left.")
    @argument("--token-lifetime", type=_lifetime, metavar="S",
              help="With --sandbox: seconds the sandbox's access tokens last (to show refresh and expiry).")
    @line_magic
    def okta_login(self, line: str) -> Any:
        """Sign in to an Okta org (Org Authorization Server, Authorization Code + PKCE).

        Shows a panel; its Sign-in link opens your browser at Okta, which redirects
        back to a one-shot listener on the registered redirect URI. The token stays
        in this kernel's memory only.

        Example session::

            %load_ext okta_magic
            %okta_login --org-url https://dev-123456.okta.com --client-id 0oa1abc --scopes "openid okta.users.read"
            users = %okta GET /api/v1/users
            %okta_token
            %okta_logout

        Try it with no Okta tenant::

            %okta_login --sandbox --as helpdesk --scopes "openid okta.users.read"

        Settings come from OKTA_ORG_URL / OKTA_CLIENT_ID / OKTA_SCOPES / OKTA_REDIRECT_URI,
        then ``%config OktaMagics.org_url = ...``, then these options.
        """
        args = _parse(self.okta_login, line)
        if self._switch_profile(args):
            return None
        options = {"org_url": _unquote(args.org_url), "client_id": _unquote(args.client_id),
                   "scopes": _unquote(args.scopes), "redirect_uri": _unquote(args.redirect_uri),
                   "auth_method": args.auth_method, "dpop": args.dpop}
        # Secrets are read first, without echo (never from the line, which lands in history).
        access_token = Secret(_secret("Access token: ")) if args.token else None
        api_token = Secret(_secret("SSWS API token: ")) if args.api_token else None
        client_secret = Secret(_secret("Client secret: ")) if args.client_secret else None
        with user_errors(self.session):
            if args.paste:
                print(coach.describe_token(self.session.sign_in_paste(_unquote(args.paste) or ""), _now()))
            elif access_token or api_token:
                self._use_token(options, access_token, api_token)
            else:
                explain = _explainer(in_place=self._widgets_available()) if args.explain else None
                self._sign_in(args, options, client_secret, explain)
            if args.wait:
                print(coach.describe_token(self.session.current_token(), _now()))
        return None

    def _switch_profile(self, args: Any) -> bool:
        """``--list`` and ``--profile NAME``: True when that was all (listed, or switched to an existing profile)."""
        if args.list:
            print(self.profiles.table(_now()))
            return True
        if args.profile is None:
            return False
        name = _unquote(args.profile) or ""
        alone = {**vars(args), "profile": None} == vars(_parse(self.okta_login, ""))
        with user_errors():
            if alone and name in self.profiles.names():
                session = self.profiles.activate(name)
                token = session.token
                state = coach.describe_token(token, _now()) if token is not None else "not signed in"
                print(f"Profile {name} is active ({session.org_url or 'no org yet'}): {state}.")
                return True
            self.profiles.ensure(name)
            self.profiles.activate(name)
        return False

    def _use_token(self, options: dict[str, Any], access_token: str | None, api_token: str | None) -> None:
        """``--token`` / ``--api-token``: a token the user already has, for the org the options or %config name."""
        traits = self._trait_layer()
        org_url, client_id = options["org_url"] or traits["org_url"], options["client_id"] or traits["client_id"]
        notes: list[str] = []
        if api_token:
            token = self.session.use_api_token(api_token, org_url=org_url or None, client_id=client_id or None)
            notes.append(advice.note("api_token", advice.NOTEBOOK))
        else:
            token = self.session.use_token(access_token or "", org_url=org_url or None, client_id=client_id or None,
                                           note=lambda key: notes.append(advice.note(key, advice.NOTEBOOK)))
        for text in (*notes, coach.describe_token(token, _now())):
            print(text)

    def _sign_in(self, args: Any, options: dict[str, Any], client_secret: str | None,
                 explain: coach.FlowExplainer | None) -> None:
        """The ways in that start from a configuration (``signin.start``), shown: a token, a code, a link, a panel."""
        for given, option in ((args.as_user, "--as"), (args.token_lifetime, "--token-lifetime")):
            if given and not args.sandbox:
                raise ConfigError(f"{option} goes with the sandbox org: add --sandbox.")
        if args.device and args.flow not in (None, "device"):
            raise ConfigError(f"--device and --flow {args.flow} name two flows: keep one.")
        key_path = _unquote(args.private_key) if args.private_key else None
        request = signin.Request(
            layers=(self._trait_layer(), options), flow=args.flow or ("device" if args.device else None),
            sandbox=args.sandbox,
            app=args.app, user=args.as_user, token_lifetime=args.token_lifetime, client_secret=client_secret,
            key=(lambda: _read_key(key_path or "")) if key_path is not None else None, key_id=args.key_id,
            on_step=explain.on_step if explain else None, timeout=self.login_timeout, wait=min(self.request_wait, 60))
        started = signin.start(self.session, request, profiles=self.profiles,
                               say=lambda why: print(advice.flow_choice(why, advice.NOTEBOOK)))
        if started.token is not None:  # a service app, or a demo user without a person
            token = started.token
            scope_notes = coach.scope_differences(token.scopes_requested, token.scopes_granted)
            for text in (coach.describe_token(token, _now()), *(scope_notes if started.way == "unattended" else ())):
                print(text)
            return
        from okta_magic.flows.device import DeviceLogin

        login = started.login
        if isinstance(login, DeviceLogin):
            print(advice.device_instructions(login.verification_uri, login.user_code, login.verification_uri_complete,
                                             advice.NOTEBOOK))
            if self._widgets_available() and not args.no_widget:
                from okta_magic.notebook.widgets import PageLocation

                display(PageLocation(started.located))  # the page's location, for the kernel's later sign-ins
            return
        assert login is not None  # a person's browser sign-in
        if args.no_widget or not self._widgets_available():
            url = login.authorize_url or ""
            print(advice.paste_back(url, advice.NOTEBOOK, prompt=False) if started.way == "paste" else
                  advice.open_this_url(url, advice.NOTEBOOK))
        else:
            from okta_magic.notebook.widgets import LoginPanel

            config = started.config
            settings = {"org_url": config.org_url, "client_id": config.client_id,
                        "scopes": " ".join(config.scopes), "redirect_uri": config.redirect_uri}
            display(LoginPanel(self.session, settings, started.again, located=started.located))

    # -- %okta / %%okta -------------------------------------------------------------

    @magic_arguments()
    @argument("-o", "--out", metavar="VAR", help="Store the result in this variable (and show a one-line note).")
    @argument("-p", "--profile", metavar="NAME", help="Send it as this profile (without making it the active one).")
    @argument("--max-pages", type=_at_least_one, help="Stop after this many pages.")
    @argument("--max-rows", type=_at_least_one, help="Stop after this many rows.")
    @argument("--raw", action="store_true", help="Return the parsed JSON instead of a DataFrame.")
    @argument("--links", action="store_true",
              help="Keep the _links columns (navigation); what Okta puts in _embedded is always kept.")
    @argument("--timeout", type=_seconds, help="Seconds to wait for each response (default 30).")
    @argument("--each", metavar="NAME=EXPR", help="Send the request once per value of EXPR (a list, a column, any "
                                                  "iterable) put in {{NAME}}; one frame, NAME first.")
    @argument("--concurrency", type=_in_flight,
              help="With --each: requests in flight at most (default: the org's, 16).")
    @argument("--parallel", type=_in_flight, metavar="N",
              help="Split a users or System Log list into windows pulled N at a time (same rows).")
    @argument("--resume", action="store_true",
              help="With --each: keep the complete values of the last run of this request, fetch the rest.")
    @argument("--to", metavar="PATH",
              help="Write the rows to PATH as they arrive (.parquet, .csv, .jsonl); a summary back.")
    @argument("--append", action="store_true", help="With --to: continue a System Log file from its last event.")
    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def okta(self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None) -> Any:
        """Send a Management API request to the signed-in org; JSON arrays come back as DataFrames.

        Line form::

            users = %okta GET /api/v1/users?limit=200

        Cell form (headers, a blank line, then an optional JSON body)::

            %%okta -o engineers
            GET /api/v1/users?search=profile.department eq "Engineering"
            Accept: application/json

        ``{{name}}`` inserts a Python variable (encoded for its place: path, query,
        JSON body). Every ``Link: rel="next"`` page is followed (``--max-pages`` /
        ``--max-rows`` stop early), rate limits are respected, and errors say what to do.
        """
        options, request_text = _split_options(line, self.okta.parser)
        args = _parse(self.okta, options)
        assert self.shell is not None
        session = self._profile(args.profile)
        out = _check_name(_unquote(args.out) or "", self.shell.user_ns_hidden) if args.out is not None else None
        if cell is not None:
            request_text = cell if not request_text.strip() else request_text + "\n" + cell
        namespace = {**self.shell.user_ns, **(local_ns or {})}
        from okta_magic.pulls import pull
        from okta_magic.pulls.targets import check_target

        fallback = pull.Outcome.fallback_name

        def keep(partial: Any) -> str:
            if hasattr(partial, "path"):  # written to a file (--to)
                return f"The file holds every row fetched before it: {partial!r}."
            self.shell.user_ns[fallback] = partial  # type: ignore[union-attr]
            return f"The {len(partial):,} rows fetched before it are in `{fallback}`."

        if args.each or args.parallel or args.concurrency or args.resume:
            _check_batch(args)
            with user_errors(session, keep_partial=keep):
                check_target(None, _unquote(args.to), append=args.append and not args.parallel, raw=args.raw)
                outcome = self._batch(session, args, request_text, namespace)
            return self._show_batch(session, outcome, out)
        with user_errors(session, keep_partial=keep):
            outcome = pull.run_request(
                session, request_text, namespace, max_pages=args.max_pages, max_rows=args.max_rows,
                raw=args.raw, keep_links=args.links, timeout=args.timeout, progress=self.progress,
                warn=(lambda m: print(m, file=sys.stderr)) if self.warn_scopes else None,
                sign_in_wait=self.request_wait, to=_unquote(args.to), append=args.append,
            )
        if outcome.interrupted and args.to is None:
            # Raising (not returning None) leaves `df = %okta ...` and -o's variable as they were.
            if not outcome.result.rows:
                raise _usage(f"Interrupted before any rows arrived; nothing was stored (`{fallback}` is unchanged).")
            self.shell.user_ns[fallback] = outcome.value
            raise _usage(f"Interrupted after {outcome.result.pages} page(s): the {outcome.result.rows:,} rows "
                         f"fetched so far are in `{fallback}`.")
        for note in outcome.notes:
            print(note, file=sys.stderr)
        if out:
            self.shell.user_ns[out] = outcome.value
            print(f"{outcome.describe()} → stored in `{out}`.")
            return None
        return outcome.value

    def _batch(self, session: Session, args: Any, text: str, namespace: dict[str, Any]) -> Any:
        """Run --each (a fan-out over the values of an expression) or --parallel (one list in windows)."""
        options = {"progress": self.progress, "keep_links": args.links, "timeout": args.timeout,
                   "sign_in_wait": self.request_wait, "to": _unquote(args.to)}
        if args.parallel:
            from okta_magic.pulls.partition import run_parallel

            return run_parallel(session, text, namespace, parallel=args.parallel, append=args.append, **options)
        from okta_magic.pulls.fanout import previous_state, run_each

        name, expression = _each(args.each)
        try:
            values = eval(expression, namespace)  # the user's own expression, in the user's namespace
        except Exception as exc:
            raise _usage(f"--each {name}={expression}: {type(exc).__name__}: {exc}") from None
        previous = None
        if args.resume:
            candidates = (self._last_fanout.get(session.name), self.shell.user_ns.get("_okta_partial"))  # type: ignore[union-attr]
            previous = next((c for c in candidates if previous_state(c, text, name) is not None), None)
            if previous is None:
                raise _usage(f"Nothing to resume: no earlier run of this request with --each {name}= in this "
                             "session; run it without --resume first.")
        try:
            return run_each(session, text, name, values, namespace, concurrency=args.concurrency,
                            previous=previous, **options)
        except OktaMagicError as exc:
            if exc.partial is not None:
                self._last_fanout[session.name] = exc.partial
            raise

    def _show_batch(self, session: Session, outcome: Any, out: str | None) -> Any:
        """A fan-out's or a partitioned pull's value: stored or returned, the failures shown after it."""
        fallback = "_okta_partial"
        if getattr(outcome, "state", None) is not None:
            self._last_fanout[session.name] = outcome.value
        if outcome.interrupted and hasattr(outcome.value, "path"):  # written to a file (--to)
            raise _usage(outcome.result.note or f"Interrupted: {outcome.value!r} holds every row fetched.")
        if outcome.interrupted:
            self.shell.user_ns[fallback] = outcome.value  # type: ignore[union-attr]
            resume = " (--resume fetches the rest)" if getattr(outcome, "state", None) is not None else ""
            raise _usage(f"Interrupted: the {len(outcome.value):,} rows fetched so far are in `{fallback}`{resume}.")
        failures = getattr(outcome, "failures", None)
        for note in outcome.notes:
            print(note, file=sys.stderr)
        if out:
            self.shell.user_ns[out] = outcome.value  # type: ignore[union-attr]
            print(f"{outcome.describe()} → stored in `{out}`.")
        if failures is not None and len(failures):
            self._after_cell(lambda: display(failures), now=bool(out))
        return None if out else outcome.value

    def _after_cell(self, show: Callable[[], object], *, now: bool) -> None:
        """Show something after the cell's result (once), or now when the cell shows no result."""
        events = getattr(self.shell, "events", None)
        if now or events is None:
            show()
            return

        def once(*_: Any) -> None:
            events.unregister("post_execute", once)
            show()

        events.register("post_execute", once)

    # -- small helpers ------------------------------------------------------------------

    @magic_arguments()
    @argument("-p", "--profile", metavar="NAME", help="The token of this profile (default: the active one).")
    @line_magic
    def okta_token(self, line: str) -> None:
        """Show what the current token holds: issuer, client, subject, scopes, times, claims (never the token)."""
        token = self._profile(_parse(self.okta_token, line).profile).token
        if token is None:
            raise UsageError("Not signed in: run %okta_login first (or %okta_login --sandbox --as admin).")
        print(coach.token_report(token, _now()))

    @magic_arguments()
    @argument("-p", "--profile", metavar="NAME", help="Sign this profile out (default: the active one); "
                                                      "the others stay signed in.")
    @line_magic
    def okta_logout(self, line: str) -> None:
        """Revoke the tokens at the org where possible and forget them."""
        session = self._profile(_parse(self.okta_logout, line).profile)
        with user_errors(session):
            print(session.logout())

    @magic_arguments()
    @argument("--for", dest="requests", nargs="+", metavar="REQUEST",
              help='Requests to plan scopes for, each quoted: "GET /api/v1/users" "GET /api/v1/logs".')
    @argument("-p", "--profile", metavar="NAME", help="The scopes of this profile's token (default: the active one).")
    @argument("request", nargs="*", help="A request to check, e.g. GET /api/v1/groups/{groupId}/users, "
                                         "or scopes to describe, e.g. okta.users.read")
    @line_magic
    def okta_scopes(self, line: str) -> None:
        """The scope coach.

        ``%okta_scopes``: the scopes the token holds and what each unlocks.
        ``%okta_scopes GET /api/v1/groups/{groupId}/users``: the scope it needs and whether you have it.
        ``%okta_scopes okta.users.read``: every operation the scope unlocks, and whether the token holds it.
        ``%okta_scopes --for "GET /api/v1/users" "GET /api/v1/logs"``: the smallest set of scopes to ask for.
        ``-p NAME``: as seen by that profile's token rather than the active one's.
        """
        args = _parse(self.okta_scopes, line)
        token = self._profile(args.profile).token
        held = list(token.scopes_granted) if token is not None else None
        with user_errors():
            if args.requests:
                print(coach.minimal_scopes_line([_unquote(r) or "" for r in args.requests]))
            elif args.request:
                words = [_unquote(w) or "" for w in args.request]
                if all(coach.is_scope_name(w) for w in words):
                    print("\n\n".join(coach.describe_scope(w, held) for w in dict.fromkeys(words)))
                else:
                    print(coach.scope_check(*coach.request_parts(" ".join(words)), held))
            elif held is None:
                raise _usage("Not signed in: run %okta_login first, or ask about a request or a scope: "
                             "%okta_scopes GET /api/v1/users, %okta_scopes okta.users.read")
            else:
                print(coach.scopes_overview(held))


def _now() -> float:
    """Epoch seconds, for the time left on a token."""
    return time.time()


def _read_key(key_path: str) -> Secret:
    """A private key file's text (PEM or JWK); the message never quotes the file."""
    from pathlib import Path

    try:
        return Secret(Path(key_path).expanduser().read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the private key {key_path!r} ({exc.strerror}); "
                          "give the path of a PEM or JWK file.") from None


def _explainer(*, in_place: bool) -> coach.FlowExplainer:
    """A teaching view of the flow's steps as they happen (from any thread).

    In a notebook it grows in one output area; in a terminal each step is printed once.
    """
    if not in_place:
        return coach.FlowExplainer(print, incremental=True)
    handle = display({"text/plain": "Explaining the sign-in as it runs…"}, raw=True, display_id=True)
    return coach.FlowExplainer(lambda text: handle.update({"text/plain": text}, raw=True))
