"""``%okta_audit``: how its line is read and what it shows (:func:`add_magic` puts it in the extension's magics).

    %okta_audit                                   one row per audit: its needs, and the scopes this token lacks
    %okta_audit inactive_users --days 30          the answer as a DataFrame, its headline printed
    %okta_audit failed_sign_ins --by country      a choice parameter
    %okta_audit admins --explain                  tables, endpoints, scopes, role, what the token lacks, the SQL
    %okta_audit admins --snapshot org.duckdb      another snapshot file than the org's own
    %okta_audit -p helpdesk admins                as a profile (without making it the active one)

An audit's parameters are its own, so the line is read here rather than by a fixed argument parser: each
``--name value`` (or ``--name=value``) after the audit's name is one of its parameters, checked and typed
by the audit (a wrong one is one line saying which values it takes).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import Any

from okta_magic import advice
from okta_magic.audits import ask, catalog, scope
from okta_magic.errors import ConfigError
from okta_magic.sessions.session import Session

__all__ = ["add_magic", "run_line", "listing", "parse_line", "OPTIONS", "option_strings"]

# The line's own options, the one list: parse_line reads it, and tests/test_layout.py keeps these words (and the
# audits' parameters, below) out of the layers under the notebook, where a script user would read them too.
OPTIONS = {"explain": ("--explain",), "snapshot": ("--snapshot",), "profile": ("-p", "--profile")}


def option_strings() -> set[str]:
    """Every option a ``%okta_audit`` line may hold: its own (:data:`OPTIONS`) and each audit's ``--param``."""
    params = {"--" + p.name.replace("_", "-") for name in catalog.names() for p in catalog.get(name).params}
    return {option for options in OPTIONS.values() for option in options} | params


def parse_line(line: str) -> tuple[str | None, dict[str, str], bool, str | None, str | None]:
    """(audit name, parameters, --explain, --snapshot PATH, -p/--profile NAME) of a ``%okta_audit`` line."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise ConfigError(f"Cannot read the line ({str(exc).lower()}): close each quote you open.") from None
    profile = None
    if len(words) > 1 and words[0] in OPTIONS["profile"]:
        profile, words = words[1], words[2:]
    if not words:
        return None, {}, False, None, profile
    name, rest = words[0], words[1:]
    params: dict[str, str] = {}
    explain, path = False, None
    while rest:
        word = rest.pop(0)
        if word in OPTIONS["profile"] and rest:
            profile = rest.pop(0)
            continue
        if not word.startswith("--"):
            raise ConfigError(f"{word!r} after the audit's name is not an option; parameters are written "
                              "--name value, e.g. --days 30.")
        key, eq, value = word[2:].partition("=")
        if "--" + key in OPTIONS["explain"]:
            explain = True
            continue
        if not eq:
            if not rest or rest[0].startswith("--"):
                raise ConfigError(f"--{key} needs a value, e.g. --{key} 30.")
            value = rest.pop(0)
        if "--" + key in OPTIONS["snapshot"]:
            path = value
        else:
            params[key.replace("-", "_")] = value
    return name, params, explain, path, profile


def listing(held: tuple[str, ...] | list[str]) -> tuple[str, Any]:
    """The audits, one row each (question, parameters, what this token lacks, scopes, role, tables, endpoints),
    and the line to say above them (how to run one; the sign-in that would get every scope they lack)."""
    from okta_magic.frames import to_frame

    rows = scope.overview(held)
    for row in rows:
        row["params"] = ", ".join("--" + p.replace("=", " ") for p in row["params"].split(", ")) if row["params"] \
            else ""
    line = f"{len(rows)} audits: %okta_audit NAME runs one, %okta_audit NAME --explain shows what it reads and needs."
    missing = scope.all_lacking(held)
    if missing:
        line += (f" This token lacks scopes {sum(bool(r['lacking']) for r in rows)} of them need: "
                 + advice.fix_line("audit_scopes", advice.NOTEBOOK, {"scopes": scope.ask_for(held, missing)}))
    return line, to_frame(rows)


def _usage(audit: catalog.Audit) -> str:
    example = " ".join(f"--{p.name} {p.default}" for p in audit.params)
    return f"Run it: %okta_audit {audit.name}{' ' + example if example else ''}"


def run_line(magics: Any, line: str, say: Callable[[str], object] = print) -> Any:
    """``%okta_audit`` lists the audits; ``%okta_audit NAME [--param value] [--explain] [--snapshot PATH]
    [-p NAME]`` answers one from the org's snapshot (a DataFrame and its one-line headline), syncing the tables
    it reads first; ``--explain`` shows its endpoints, scopes, admin role and SQL instead."""
    from okta_magic.notebook.magics import user_errors

    with user_errors(magics.session):
        name, params, explain, path, profile = parse_line(line)
    session = magics._profile(profile)
    with user_errors(session):
        return _run(session, name, params, explain, path, say)


def _run(session: Session, name: str | None, params: dict[str, str], explain: bool, path: str | None,
         say: Callable[[str], object]) -> Any:
    from okta_magic.notebook.magics import named

    held = tuple(session.held_scopes())
    if name is None:
        line, frame = listing(held)
        say(advice.in_profile(line, named(session)))
        return frame
    audit = catalog.get(name)
    if explain:
        audit.values(params)  # a wrong parameter is said now, not when it runs
        say(advice.in_profile(scope.explain(audit, held, advice.NOTEBOOK), named(session)) + "\n\n" + _usage(audit))
        return None
    result = ask.audit(session, name, params, path=path, say=say)
    say(result.headline)
    for note in result.notes:
        say(f"Note: {note}")
    return result.frame


def add_magic(magics: Any) -> None:
    """Add ``okta_audit`` (a line magic) to the extension's magics table, beside the others."""
    from okta_magic.notebook.options import bound

    magics.magics["line"]["okta_audit"] = bound(run_line, magics)
