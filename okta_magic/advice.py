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
