"""The scope catalogue: which OAuth scope each Management API operation needs.

Built from Okta's OpenAPI spec by ``scripts/build_scope_catalogue.py`` into
``okta_magic/data/operations.json`` (the spec version is recorded there).
Resolves concrete paths (``/api/v1/users/00u1abc/groups``) to their templates
and knows Okta's scope naming rule: ``okta.X.manage`` covers ``okta.X.read``
("Implement OAuth for Okta" > Scope naming).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Operation:
    """One Management API operation and the scopes it requires (all of them)."""

    method: str
    path: str
    operation_id: str
    tag: str
    summary: str
    scopes: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def scope_covers(held: str, needed: str, *, own_user: bool = False) -> bool:
    """True when the held scope grants the needed one (``.manage`` implies ``.read``).

    With ``own_user`` (a request about the signed-in user, ``/api/v1/users/me``), a ``.self``
    scope counts as its full scope: Okta's scope naming, ``.self`` limits a scope to that user.
    """
    if own_user and held.endswith(".self"):
        held = held[: -len(".self")]
    if held == needed:
        return True
    if held.endswith(".manage") and needed.endswith(".read"):
        return held[: -len(".manage")] == needed[: -len(".read")]
    return False


def missing_scopes(held: Iterable[str], needed: Iterable[str], *, path: str = "") -> list[str]:
    """The needed scopes that no held scope covers, in the order needed (``path``: see :func:`is_own_user`)."""
    held = list(held)
    own = is_own_user(path)
    return [n for n in needed if not any(scope_covers(h, n, own_user=own) for h in held)]


def is_own_user(path: str) -> bool:
    """True for a request about the signed-in user, where ``.self`` scopes apply (``/api/v1/users/me``...)."""
    parts = [p for p in path.split("?", 1)[0].split("/") if p]
    return parts[:4] == ["api", "v1", "users", "me"]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(pattern + r"/?\Z")


class Catalogue:
    """The operations of one spec version, searchable by method and concrete path."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.source: dict[str, str] = document["source"]
        self.scope_descriptions: dict[str, str] = document["scopes"]
        self.operations: tuple[Operation, ...] = tuple(
            Operation(o["method"], o["path"], o["operationId"], o["tag"], o["summary"], tuple(o["scopes"]))
            for o in document["operations"]
        )
        # Literal segments beat placeholders: /users/me must win over /users/{id}.
        # Sort by the number of placeholders, then by more literal characters first.
        ranked = sorted(
            self.operations,
            key=lambda op: (op.path.count("{"), -len(re.sub(r"\{[^}]+\}", "", op.path))),
        )
        self._by_method: dict[str, list[tuple[re.Pattern[str], Operation]]] = {}
        for op in ranked:
            self._by_method.setdefault(op.method, []).append((_template_regex(op.path), op))

    @property
    def version(self) -> str:
        return self.source["version"]

    def resolve(self, method: str, path_or_url: str) -> Operation | None:
        """The operation a request maps to, or None when the catalogue does not know it."""
        path = urlsplit(path_or_url).path or "/"
        for regex, op in self._by_method.get(method.upper(), ()):
            if regex.match(path):
                return op
        return None

    def scopes_for(self, method: str, path_or_url: str) -> tuple[str, ...]:
        """The scopes a request needs; empty when unknown or not scoped."""
        op = self.resolve(method, path_or_url)
        return op.scopes if op else ()

    def operations_for_scope(self, scope: str) -> list[Operation]:
        """Every operation a token holding ``scope`` may call."""
        return [op for op in self.operations if op.scopes and not missing_scopes([scope], op.scopes)]

    def minimal_scopes(self, requests: Sequence[tuple[str, str]]) -> list[str]:
        """The smallest set of scopes that covers every (method, path) request.

        Each operation lists exactly the scopes it needs, so the union of those
        (dropping a ``.read`` when its ``.manage`` is present) is the minimum.
        """
        needed: list[str] = []
        for method, path in requests:
            for scope in self.scopes_for(method, path):
                if scope not in needed:
                    needed.append(scope)
        return [s for s in needed if not any(o != s and scope_covers(o, s) for o in needed)]


@functools.cache
def catalogue() -> Catalogue:
    """The packaged catalogue (loaded once, on first use)."""
    text = resources.files("okta_magic").joinpath("data/operations.json").read_text(encoding="utf-8")
    return Catalogue(json.loads(text))
