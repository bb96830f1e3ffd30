"""The words a person reads when something went wrong: one line, in the reader's own terms.

Protocol and HTTP code raise structured errors (``errors.py``): what happened, plus a ``fix`` key
naming the next step. This module is the one place that words that step, for a notebook
(``%okta_login ...``) or for a script (``okta_magic.login(...)``). The magics render for
``NOTEBOOK``; the script API re-raises with ``SCRIPT`` wording (``for_scripts``). The scope
coach (``coach.py``) is the other half of this layer: it explains API errors and scopes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal, TypeVar

from .errors import OktaMagicError

Audience = Literal["notebook", "script"]
NOTEBOOK: Audience = "notebook"
SCRIPT: Audience = "script"

# fix key -> (notebook words, script words); ``{name}`` fields come from the error's ``fix_args``.
FIXES: dict[str, tuple[str, str]] = {
    "sign_in": ("Run %okta_login first (or %okta_login --sandbox to try the sandbox).",
                "Call okta_magic.login(...) first (or okta_magic.login_sandbox() to try the sandbox)."),
    "sign_in_again": ("Sign in again with %okta_login.", "Sign in again with okta_magic.login(...)."),
    # the OAuth/OIDC protocol modules and the sign-in flows (authorize, token_endpoint, idtoken, login, device)
    "run_login_again": ("Run %okta_login again.", "Call okta_magic.login(...) again."),
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
    return f"{what} {fix}".strip() if fix else what


F = TypeVar("F", bound=Callable[..., object])


def for_scripts(function: F) -> F:
    """Decorate a script-API function: its errors carry the script's wording of the fix (same type)."""

    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return function(*args, **kwargs)
        except OktaMagicError as exc:
            if exc.fix:
                exc.args = (render(exc, SCRIPT), *exc.args[1:])
                exc.fix = None  # worded once
            raise

    return wrapper  # type: ignore[return-value]
