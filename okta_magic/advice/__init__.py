"""The words a person reads when something went wrong: one line, in the reader's own terms.

Protocol and HTTP code raise structured errors (``errors.py``): what happened, plus a ``fix`` key
naming the next step. This module is the one place that words that step, for a notebook
(``%okta_login ...``) or for a script (``okta_magic.login(...)``). The magics render for
``NOTEBOOK``; the script API re-raises with ``SCRIPT`` wording (``for_scripts``). ``NOTES`` words
what is worth saying once (an implicit-flow token, an SSWS key), ``open_this_url`` the sign-in
link when no panel is shown, and ``flow_choice``, ``device_instructions`` and ``paste_back`` the
flow a sign-in took and what to do in it, all per reader. The scope coach (``coach.py``) is the other half of
this layer: it explains API errors and scopes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Literal, TypeVar

from okta_magic.errors import OktaMagicError

Audience = Literal["notebook", "script"]
NOTEBOOK: Audience = "notebook"
SCRIPT: Audience = "script"

# fix key -> (notebook words, script words); ``{name}`` fields come from the error's ``fix_args``.
FIXES: dict[str, tuple[str, str]] = {
    "sign_in": ("Run %okta_login first (or %okta_login --sandbox to try the sandbox).",
                "Call okta_magic.login(...) first (or okta_magic.login_sandbox() to try the sandbox)."),
    "sync_first": ("Run %okta_sync first (it writes the snapshot), or pass --snapshot PATH.",
                   "Call okta_magic.sync() first (it writes the snapshot), or pass path=."),
    "sign_in_again": ("Sign in again with %okta_login.", "Sign in again with okta_magic.login(...)."),
    # the OAuth/OIDC protocol modules and the sign-in flows (authorize, token_endpoint, idtoken, login, device)
    "run_login_again": ("Run %okta_login again.", "Call okta_magic.login(...) again."),
    "run_again": ("Run it again.",) * 2,
    "login_again_and": ("Run %okta_login again and {then}.", "Call okta_magic.login(...) again and {then}."),
    "start_again": ("Run %okta_login to start again.", "Call okta_magic.login(...) to start again."),
    "start_new_sign_in": ("Start a new sign-in with %okta_login.", "Start a new sign-in with okta_magic.login(...)."),
    "finish_or_login_again": ("Finish it in the browser, or run %okta_login again.",
                              "Finish it in the browser, or call okta_magic.login(...) again."),
    "sign_in_again_or_check_app": (
        "Sign in again with %okta_login, or check the app's settings in Okta Admin Console.",
        "Sign in again with okta_magic.login(...), or check the app's settings in Okta Admin Console."),
    "device_again": ("Run %okta_login --device again.", "Start the device sign-in again."),
    "device_start_again": ("Run %okta_login --device to start again.", "Start the device sign-in again."),
    # the configuration, the session and the script API (config, session, api)
    "org_url": ("Pass --org-url https://<your-org>.okta.com, set OKTA_ORG_URL, or try the built-in sandbox with "
                "%okta_login --sandbox.",
                "Pass org_url='https://<your-org>.okta.com', set OKTA_ORG_URL, or try the built-in sandbox with "
                "okta_magic.login_sandbox()."),
    "client_id": ("Pass --client-id (the Client ID of your Okta OIDC app, 0oa…) or set OKTA_CLIENT_ID.",
                  "Pass client_id='0oa…' (the Client ID of your Okta OIDC app) or set OKTA_CLIENT_ID."),
    "scopes": ("Pass --scopes, e.g. --scopes 'openid okta.users.read'.",
               "Pass scopes, e.g. scopes='openid okta.users.read'."),
    "api_scopes": ("Pass them, e.g. --scopes 'okta.users.read'.", "Pass them, e.g. scopes='okta.users.read'."),
    "use_the_sandbox": ("Add --sandbox.", "Use okta_magic.login_sandbox(user)."),
    "no_user": ("Leave out --as.", "Pass user=None."),
    "name_a_user": ("Name a demo user with --as, e.g. --as admin.",
                    "Name a demo user, e.g. okta_magic.login_sandbox('admin')."),
    "paste_after_sign_in": ("Run %okta_login first, then paste the redirected URL.",
                            "Call okta_magic.login(..., wait=False) first, then okta_magic.finish_login(url)."),
    "or_sign_in": ("Or sign in with %okta_login.", "Or sign in with okta_magic.login(...)."),
    "new_profile": ("Sign one in with %okta_login --profile {name} and the options of a sign-in (e.g. --sandbox "
                    "--as admin).",
                    "Make one with okta_magic.session('{name}') and sign it in with "
                    "session=okta_magic.session('{name}')."),
    # the HTTP client's API errors (apierrors.py) and network errors (neterrors.py)
    "ask_for_scopes": ("Sign in again with %okta_login asking for {scopes} (the app must be granted it in Okta).",
                       "Sign in again with okta_magic.login(...) asking for {scopes} (the app must be granted it "
                       "in Okta)."),
    "admin_role": ("Sign in as an admin whose role allows it (built-in and app groups cannot be changed by any "
                   "role).",) * 2,
    "fewer_parallel_requests": ("Wait, then run it again with fewer parallel requests.",) * 2,
    "wait_a_minute": ("Wait a minute, then run it again or pull fewer pages (--max-pages).",
                      "Wait a minute, then run it again or pull fewer pages (max_pages=...)."),
    "redirected": ("If that is the org's own address, use it as the org URL.",) * 2,
    "admin_enables": ("An Okta administrator has to turn it on.",) * 2,
    "check_clock_sign_in_again": ("Check this machine's clock, then sign in again with %okta_login.",
                                  "Check this machine's clock, then sign in again with okta_magic.login(...)."),
    "fix_request": ("Fix the request (path, query or body) and run it again.",) * 2,
    "check_id_and_path": ("Check the id and the path (GET /api/v1/users/{{id}}, /api/v1/groups ...).",) * 2,
    "check_method": ("Check the method.",) * 2,
    "fetch_again": ("Fetch it again and retry.",) * 2,
    "try_later": ("Try again later.",) * 2,
    "check_network": ("Check your network or VPN and any proxy settings, then try again.",) * 2,
    "slow_answer": ("Try again, ask for smaller pages (limit=...), or allow more time (--timeout).",
                    "Try again, ask for smaller pages (limit=...), or allow more time (timeout=...)."),
    "check_proxy": ("Check HTTPS_PROXY / NO_PROXY and the proxy itself.",) * 2,
    "check_org_url_dns": ("Check the org URL for a typo (https://your-org.okta.com), your network or VPN, and any "
                          "proxy settings.",) * 2,
    "check_org_url_port": ("Check the org URL (and its port) and any proxy settings.",) * 2,
    "check_tls_inspection": ("If a proxy inspects TLS, point SSL_CERT_FILE at its CA certificate; otherwise check "
                             "the org URL.",) * 2,
    "check_https_url": ("Check that the org URL is the https:// address of the org, and any proxy settings.",) * 2,
    "try_again_check_proxy": ("Try again; if it keeps happening, check any proxy settings.",) * 2,
    "check_connection": ("Check the org URL, your network or VPN, and any proxy settings, then try again.",) * 2,
    # a pull written to a file that could not be written (frames/tofile.py)
    "free_space": ("Free some space, or write the file elsewhere with --to PATH.",
                   "Free some space, or write the file elsewhere with to=PATH."),
    "file_size_limit": ("Raise the file size limit (ulimit -f), or write the file to another disk with --to PATH.",
                        "Raise the file size limit (ulimit -f), or write the file to another disk with to=PATH."),
    "write_elsewhere": ("Write the file where you may with --to PATH.", "Write the file where you may with to=PATH."),
    # a pull's file target or a partitioned pull refused before the first request (pulls/targets, pull, partition)
    "name_the_file_to_continue": ("Name it with --to, e.g. --to logs.parquet --append.",
                                  "Name it with to=, e.g. to='logs.parquet', append=True."),
    "name_a_file": ("Name a file with --to, e.g. --to {example}.", "Name a file with to=, e.g. to='{example}'."),
    "name_another_file": ("Name another file with --to.", "Name another file with to=."),
    "drop_raw_for_file": ("Drop --raw (or --to, for the raw answer).", "Drop raw=True (or to=, for the raw answer)."),
    "drop_to": ("Drop --to to see the answer.", "Drop to= to get the answer."),
    "drop_append": ("Drop --append.", "Drop append=True."),
    "drop_parallel": ("Drop --parallel to pull it in one stream.", "Drop parallel= to pull it in one stream."),
    # a sign-in's redirect and scopes (flows/loopback, oauth/authorize)
    "another_redirect_uri": ("Register another loopback redirect URI (e.g. http://127.0.0.1:8766/callback) in the "
                             "app's Login redirect URIs and pass it with --redirect-uri, or stop the program using "
                             "the port.",
                             "Register another loopback redirect URI (e.g. http://127.0.0.1:8766/callback) in the "
                             "app's Login redirect URIs and pass it as redirect_uri=..., or stop the program using "
                             "the port."),
    "request_fewer_scopes": ("Or request fewer with --scopes.", "Or request fewer with scopes='...'."),
    # the audits (okta_magic/audits): a wrong name or parameter, a scope, a role or a table they lack
    "audit_list": ("List them with %okta_audit alone.", "List them with okta_magic.audit() (no name)."),
    "audit_param": ("Give it as --{param} {example}.", "Pass {param}={example}."),
    "audit_scopes": ("Sign in again asking for them: %okta_login --scopes 'openid {scopes}' (the app must be "
                     "granted them in Okta).",
                     "Sign in again asking for them: okta_magic.login(scopes='openid {scopes}') (the app must be "
                     "granted them in Okta)."),
    "audit_role": ("Sign in as someone who holds the {role} role, then run it again.",) * 2,
    "audit_sync": ("Run it with %okta_audit signed in to the org: it syncs {tables} first.",
                   "Run it with okta_magic.audit(...) signed in to the org: it syncs {tables} first."),
}

_IMPLICIT_FLOW = (
    "Note: this token came back in a redirect URL, from the implicit flow (response_type=token), which the "
    "OAuth 2.0 Security BCP (RFC 9700 §2.1.2) says not to use: a token in a URL leaks through browser history, "
    "logs and Referer headers, and nothing ties it to the app that asked for it. Authorization Code + PKCE "
    "replaced it: sign in with {how} next time.")
_API_TOKEN = ("Note: Okta recommends OAuth 2.0 over SSWS API tokens; an API token acts with its creator's "
              "full admin role.")

# note key -> (notebook words, script words): things worth saying once that are not errors.
NOTES: dict[str, tuple[str, str]] = {
    "implicit_flow": (_IMPLICIT_FLOW.format(how="%okta_login"), _IMPLICIT_FLOW.format(how="okta_magic.login(...)")),
    "api_token": (_API_TOKEN, _API_TOKEN),
}


def fix_line(fix: str | None, audience: Audience, args: dict[str, str] | None = None) -> str:
    """The sentence that says what to do next, for ``audience``; '' when there is none."""
    if not fix:
        return ""
    notebook, script = FIXES[fix]
    return (notebook if audience == NOTEBOOK else script).format(**(args or {}))


def render(exc: OktaMagicError, audience: Audience) -> str:
    """What happened and what to do, as one line for ``audience``."""
    what = str(exc.args[0]) if exc.args else str(exc)
    fix = fix_line(exc.fix, audience, dict(exc.fix_args))
    if not fix:
        return what
    # "Not signed in:" + "Run ..." reads "Not signed in: run ..."; after a full stop, a capital.
    fix = fix[:1].lower() + fix[1:] if what.endswith((":", ",")) else fix[:1].upper() + fix[1:]
    return f"{what} {fix}".strip()


def in_profile(line: str, profile: str | None) -> str:
    """A notebook line for a named profile: its ``%okta_login`` becomes ``%okta_login --profile NAME``
    (``profile`` None: the default session, whose line stays as it is)."""
    if not profile or "--profile" in line:
        return line
    return re.sub(r"%okta_login\b", f"%okta_login --profile {profile}", line)


def note(key: str, audience: Audience) -> str:
    """A note worth saying once (``NOTES``), worded for ``audience``."""
    notebook, script = NOTES[key]
    return notebook if audience == NOTEBOOK else script


def open_this_url(url: str, audience: Audience) -> str:
    """What to do when no panel is shown: the URL to open, and how to paste the redirect back."""
    paste = ("%okta_login --paste '<that URL>'" if audience == NOTEBOOK else
             "okta_magic.finish_login('<that URL>')   # after okta_magic.login(..., wait=False)")
    waits = "requests wait" if audience == NOTEBOOK else "login() waits"
    return ("Open this URL in your browser and sign in:\n\n"
            f"    {url}\n\n"
            f"This kernel is listening for the redirect; {waits} for the sign-in to finish.\n"
            "If your browser cannot reach this machine (remote kernel), copy the URL it was redirected to "
            f"(it shows an error page) and run:\n\n    {paste}\n")


PASTE_PROMPT = "Paste the address your browser landed on (or press Enter to keep waiting): "


def flow_choice(why: str, audience: Audience) -> str:
    """The one line saying which sign-in flow was chosen and why, with how a script names another."""
    if audience == NOTEBOOK:
        return f"{why} (%okta_login --flow loopback, device or paste names another.)"
    return f"{why} (login(flow='loopback', 'device' or 'paste') names another.)"


def device_instructions(verification_uri: str, user_code: str, complete: str | None, audience: Audience) -> str:
    """What to tell the person during a device sign-in (RFC 8628 §3.3): where to go, which code to enter."""
    where = complete or verification_uri
    waits = "Requests in this kernel wait" if audience == NOTEBOOK else "login() and requests wait"
    return (f"On any device, open {verification_uri} and enter the code {user_code}"
            + (f" (or open {where})" if where != verification_uri else "")
            + f". {waits} for you to finish.")


def paste_back(url: str, audience: Audience, *, prompt: bool) -> str:
    """Paste-back: the URL to open, and where to paste the address the browser lands on (it carries the code)."""
    if audience == NOTEBOOK:
        then = "paste it into the panel's paste field, or run %okta_login --paste '<that URL>'."
    elif prompt:
        then = "paste it below."
    else:
        then = "call okta_magic.finish_login('<that URL>')."
    return ("Open this URL in your browser and sign in:\n\n"
            f"    {url}\n\n"
            "Your browser cannot reach this machine, so it ends on an error page: copy the address it landed on "
            f"(it carries the code) and {then}")


F = TypeVar("F", bound=Callable[..., object])


def for_scripts(function: F) -> F:
    """Decorate a script-API function: its errors carry the script's wording of the fix (same type)."""

    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return function(*args, **kwargs)
        except OktaMagicError as exc:
            if exc.worded:  # once: get() calls request(), both decorated
                raise
            exc.worded = True
            if exc.fix:
                exc.args = (render(exc, SCRIPT), *exc.args[1:])
                exc.fix = None
            if hasattr(exc.partial, "path") and exc.args:
                # a pull written to a file (to=): say that the file is there, as the magic does
                exc.args = (f"{exc.args[0]} The file holds every row fetched before it: {exc.partial!r}.",
                            *exc.args[1:])
            raise

    return wrapper  # type: ignore[return-value]
