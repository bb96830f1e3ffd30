"""The audits: one SQL file each in ``sql/``, read with :mod:`importlib.resources`, and what each needs.

A file starts with a header of ``-- key: value`` lines, then the query::

    -- question: Which active people have not signed in for a while?
    -- tables: users
    -- role: Read-only Administrator
    -- param: days int 90 days without a sign-in
    -- headline: {rows} of {total} active users have not signed in for {days} days ({never} never signed in)
    -- total: SELECT count(*) FROM users WHERE status = 'ACTIVE'
    -- count: never = SELECT count(*) FROM audit WHERE never_signed_in
    -- log: days

``tables`` are snapshot tables (:mod:`okta_magic.snapshot.tables`), whose endpoints and scopes the audit
takes as its own; ``role`` is the least admin role that reads all of them; a ``param`` is ``name type
default description`` (type ``int``, or ``choice:a|b|c``); the query reads its parameters as ``$name``
and the time the snapshot holds as ``$as_of``. ``headline`` is filled from the row count, ``total`` and
each ``count`` (queries over ``audit``, the answer), and the parameters. ``log`` names the parameter of
days the System Log must reach back.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

from okta_magic.errors import OktaMagicError
from okta_magic.snapshot.tables import Table, by_name

__all__ = ["Audit", "Param", "AuditError", "UnknownAudit", "BadParameter", "get", "names", "parse"]


class AuditError(OktaMagicError):
    """An audit cannot answer as asked: an unknown audit, a wrong parameter, a table it cannot read."""


class UnknownAudit(AuditError):
    """No audit has that name."""


class BadParameter(AuditError):
    """A parameter the audit does not take, or a value of the wrong kind."""


@dataclass(frozen=True)
class Param:
    """One parameter of an audit: its name, type (``int`` or ``choice``), default and what it means."""

    name: str
    kind: str
    default: int | str
    doc: str
    choices: tuple[str, ...] = ()

    def read(self, audit: str, value: object) -> int | str:
        """``value`` as this parameter's type (a notebook passes text): a BadParameter when it is not one."""
        if self.kind == "int":
            try:
                number = int(str(value).strip()) if not isinstance(value, bool) else None
            except ValueError:
                number = None
            if number is None or number < 1:
                raise BadParameter(f"{audit}: {self.name} is a number of days, 1 or more, not {value!r}.").with_fix(
                    "audit_param", param=self.name, example=str(self.default))
            return number
        text = str(value).strip().lower()
        if text not in self.choices:
            raise BadParameter(f"{audit}: {self.name} is one of {', '.join(self.choices)}, not {value!r}.").with_fix(
                "audit_param", param=self.name, example=self.choices[0])
        return text

    def describe(self) -> str:
        kind = "|".join(self.choices) if self.choices else "days"
        return f"{self.name} ({kind}, default {self.default}): {self.doc}"


@dataclass(frozen=True)
class Audit:
    """One audit: its question, the SQL that answers it, the tables it reads and what they need."""

    name: str
    question: str
    sql: str
    tables: tuple[str, ...]
    role: str
    headline: str
    total: str = ""
    counts: tuple[tuple[str, str], ...] = ()
    params: tuple[Param, ...] = ()
    log_param: str = ""
    renames: tuple[tuple[str, str], ...] = ()  # a column named after a parameter's value: (column, "{param}")
    text: str = field(default="", repr=False)  # the whole file, header included (what --explain shows)

    @property
    def table_defs(self) -> tuple[Table, ...]:
        return tuple(by_name(t) for t in self.tables)

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Every endpoint a sync calls for this audit's tables, in table order."""
        return tuple(dict.fromkeys(e for t in self.table_defs for e in t.endpoints))

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the sync needs for this audit's tables."""
        return tuple(dict.fromkeys(t.scope for t in self.table_defs))

    def param(self, name: str) -> Param:
        found = next((p for p in self.params if p.name == name), None)
        if found is None:
            takes = ", ".join(p.name for p in self.params)
            message = f"{self.name} has no parameter {name!r}; " + (f"it takes {takes}." if takes else "it takes none.")
            error = BadParameter(message)
            raise error.with_fix("audit_param", param=self.params[0].name, example=str(self.params[0].default)) \
                if self.params else error
        return found

    def values(self, given: dict[str, object]) -> dict[str, int | str]:
        """Every parameter's value: the given ones read as their type, the others their defaults."""
        values: dict[str, int | str] = {p.name: p.default for p in self.params}
        for name, value in given.items():
            values[name] = self.param(name).read(self.name, value)
        return values

    def summary(self) -> str:
        """One line: the name and the question."""
        return f"{self.name}: {self.question}"


HEADER_KEYS = frozenset({"question", "tables", "role", "param", "headline", "total", "count", "log", "rename"})


def _param(spec: str) -> Param:
    name, kind, default, doc = spec.split(None, 3)
    if kind.startswith("choice:"):
        choices = tuple(kind[len("choice:"):].split("|"))
        return Param(name, "choice", default, doc, choices)
    return Param(name, "int", int(default), doc)


def parse(name: str, text: str) -> Audit:
    """An audit from its file: the ``-- key: value`` header, then the query."""
    header: dict[str, list[str]] = {}
    body: list[str] = []
    for line in text.splitlines():
        key, _, value = line[3:].partition(":")
        if not body and line.startswith("-- ") and key.strip() in HEADER_KEYS:
            header.setdefault(key.strip(), []).append(value.strip())
        elif body or (line.strip() and not line.startswith("--")):
            body.append(line)
    one = {k: v[0] for k, v in header.items()}
    counts = tuple(_pair(c) for c in header.get("count", ()))
    return Audit(name, one["question"], "\n".join(body).strip().rstrip(";"),
                 tuple(t.strip() for t in one["tables"].split(",")), one["role"], one["headline"],
                 one.get("total", ""), counts, tuple(_param(p) for p in header.get("param", ())), one.get("log", ""),
                 tuple(_pair(r) for r in header.get("rename", ())), text)


def _pair(spec: str) -> tuple[str, str]:
    """``name = value`` as (name, value)."""
    name, _, value = spec.partition("=")
    return name.strip(), value.strip()


@functools.cache
def _load() -> dict[str, Audit]:
    """Every audit in the package's ``sql/`` folder, by name (read once: the files do not change)."""
    folder = resources.files("okta_magic.audits") / "sql"
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            name = entry.name[: -len(".sql")]
            found[name] = parse(name, entry.read_text(encoding="utf-8"))
    return found


def names() -> list[str]:
    """The audits' names, in the order the list shows them."""
    return list(_load())


def get(name: str) -> Audit:
    """The audit called ``name``: an UnknownAudit naming the close ones when there is none."""
    audits = _load()
    found = audits.get(name.strip().lower().replace("-", "_"))
    if found is None:
        import difflib

        close = difflib.get_close_matches(name, list(audits), n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise UnknownAudit(f"No audit {name!r}.{hint}").with_fix("audit_list")
    return found
