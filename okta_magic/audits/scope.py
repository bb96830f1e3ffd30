"""The scope behind every answer: what an audit needs (endpoints, scopes, admin role), what a token lacks of
it, and the explanation ``--explain`` shows, worded for a notebook or a script by the advice layer.

A token's scopes are known for an OAuth sign-in; an SSWS API token names none (it acts with its owner's
admin role), so nothing is reported lacking for it. A ``.manage`` scope covers its ``.read``
(:func:`okta_magic.scopes.missing_scopes`).
"""

from __future__ import annotations

from collections.abc import Sequence

from okta_magic.advice import Audience, fix_line
from okta_magic.audits.catalog import Audit, AuditError, names
from okta_magic.scopes import missing_scopes

__all__ = ["MissingScopes", "lacking", "all_lacking", "ask_for", "check", "explain", "overview"]


class MissingScopes(AuditError):
    """The token lacks a scope an audit's tables need, and the snapshot does not hold them yet."""


def lacking(audit: Audit, held: Sequence[str], tables: Sequence[str] | None = None) -> list[str]:
    """The scopes of ``audit`` (or of its ``tables``) that the token's ``held`` scopes do not cover."""
    if not held:
        return []
    wanted = [t.scope for t in audit.table_defs if tables is None or t.name in tables]
    return missing_scopes(held, list(dict.fromkeys(wanted)))


def ask_for(held: Sequence[str], missing: Sequence[str]) -> str:
    """The scopes a new sign-in should ask for: what the token holds (minus openid's kin) plus what it lacks."""
    keep = [s for s in held if s.startswith("okta.")]
    return " ".join(dict.fromkeys([*keep, *missing]))


def check(audit: Audit, held: Sequence[str], tables: Sequence[str]) -> None:
    """Refuse, with the sign-in that would fix it, when the token lacks a scope the ``tables`` to sync need."""
    missing = lacking(audit, held, tables)
    if missing:
        unread = [t.name for t in audit.table_defs if t.name in tables and t.scope in missing]
        raise MissingScopes(f"{audit.name} needs {', '.join(missing)} to read {', '.join(unread)}, which this "
                            "token lacks.").with_fix("audit_scopes", scopes=ask_for(held, missing))


def _needs(audit: Audit, held: Sequence[str] | None) -> list[str]:
    """One line per table: its endpoints and scope, and whether the token holds the scope."""
    lines = []
    for table in audit.table_defs:
        mark = ""
        if held:
            mark = "  (held)" if not missing_scopes(held, [table.scope]) else "  (LACKING)"
        lines.append(f"  {table.name:<22} {table.scope}{mark}  <- {'; '.join(table.endpoints)}")
    return lines


def explain(audit: Audit, held: Sequence[str] | None, audience: Audience) -> str:
    """What ``audit`` asks, reads and needs, what the token lacks and how to get it, then its SQL."""
    lines = [f"{audit.name}: {audit.question}", "", "Tables, scopes and the endpoints a sync calls for them:",
             *_needs(audit, held), f"Admin role: {audit.role}"]
    if audit.params:
        lines += ["Parameters:", *(f"  {p.describe()}" for p in audit.params)]
    if audit.log_param:
        lines.append(f"The System Log must reach back over the window ({audit.log_param}): the sync before a run "
                     "reads it from then on.")
    missing = lacking(audit, held or ())
    if missing:
        lines += ["", f"This token lacks {', '.join(missing)}. "
                  + fix_line("audit_scopes", audience, {"scopes": ask_for(held or (), missing)})]
    elif held:
        lines += ["", "This token holds every scope it needs (the admin role is the org's to check)."]
    return "\n".join([*lines, "", audit.text.rstrip()])


def all_lacking(held: Sequence[str]) -> list[str]:
    """Every scope some audit needs that the token lacks (empty when it names no scopes)."""
    from okta_magic.audits.catalog import get

    return list(dict.fromkeys(s for name in names() for s in lacking(get(name), held)))


def overview(held: Sequence[str] | None) -> list[dict[str, str]]:
    """One row per audit: name, question, parameters (``days=90``), the scopes the token lacks, the scopes, admin
    role, tables and endpoints it needs."""
    from okta_magic.audits.catalog import get

    rows = []
    for name in names():
        audit = get(name)
        rows.append({"audit": name, "question": audit.question,
                     "params": ", ".join(f"{p.name}={p.default}" for p in audit.params),
                     "lacking": ", ".join(lacking(audit, held or ())), "scopes": ", ".join(audit.scopes),
                     "admin_role": audit.role, "tables": ", ".join(audit.tables),
                     "endpoints": "; ".join(audit.endpoints)})
    return rows
