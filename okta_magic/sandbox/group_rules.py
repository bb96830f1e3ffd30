"""Group rules: the seeded department, office, contractor and manager groups are kept by rules, and
membership follows them when a person is created or their profile changes.

The seeded groups already hold exactly the people the rules match, so the rules change no seeded
membership. Expressions are the few forms of the Okta Expression Language the seeded and created rules use
(``user.attr=="value"``, ``user.attr==true``, ``String.stringContains(user.attr,"text")``, joined with
``AND`` / ``OR``); a rule Okta would accept in another form is refused with 400 E0000001.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

from okta_magic.sandbox.data import CITIES, DAY, DEPARTMENTS, iso, okta_id
from okta_magic.sandbox.directory import Directory

EXPRESSION_TYPE = "urn:okta:expression:1.0"
_TERM = re.compile(
    r'\s*(?:user\.(\w+)\s*==\s*(?:"((?:[^"\\]|\\.)*)"|(true|false))'
    r'|String\.stringContains\(\s*user\.(\w+)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\))\s*'
)
Matcher = Callable[[dict[str, Any]], bool]


class RuleError(ValueError):
    """An expression outside the forms the sandbox evaluates."""


def compile_rule(expression: str) -> Matcher:
    """A predicate over a user for a rule expression (terms joined by AND, then OR)."""
    alternatives: list[list[Matcher]] = []
    for branch in re.split(r"\s+OR\s+|\s*\|\|\s*", expression.strip()):
        terms: list[Matcher] = []
        for part in re.split(r"\s+AND\s+|\s*&&\s*", branch):
            m = _TERM.fullmatch(part)
            if m is None:
                raise RuleError(f"expression: the sandbox does not evaluate {part.strip()!r}")
            if m.group(1):
                attr, text, flag = m.group(1), m.group(2), m.group(3)
                wanted: Any = (flag == "true") if flag else text
                terms.append(lambda u, a=attr, w=wanted: u["profile"].get(a) == w)
            else:
                attr, needle = m.group(4), m.group(5)
                terms.append(lambda u, a=attr, n=needle: n in str(u["profile"].get(a) or ""))
        alternatives.append(terms)
    return lambda user: any(all(t(user) for t in terms) for terms in alternatives)


class GroupRules:
    """The org's group rules, in creation order, and the memberships they keep."""

    def __init__(self, directory: Directory, rng: random.Random, anchor: float) -> None:
        self.directory = directory
        self.rules: dict[str, dict[str, Any]] = {}
        self._matchers: dict[str, Matcher] = {}
        by_name = {g["profile"]["name"]: gid for gid, g in directory.groups.items()}
        seeded = [(f"Department: {d}", f'user.department=="{d}"', d) for d in DEPARTMENTS]
        seeded += [(f"Office: {c[0]}", f'user.city=="{c[0]}"', f"Office - {c[0]}") for c in CITIES]
        seeded += [("Contractors", "user.isContractor==true", "Contractors"),
                   ("People managers", 'String.stringContains(user.title,"Manager")', "People Managers")]
        for name, expression, group in seeded:
            if group in by_name:
                created = iso(anchor - (400 + rng.random() * 600) * DAY)
                self.add(okta_id(rng, "0pr"), name, expression, [by_name[group]], created, "ACTIVE")

    def add(self, rule_id: str, name: str, expression: str, group_ids: list[str], created: str,
            status: str = "INACTIVE", excluded: list[str] | None = None) -> dict[str, Any]:
        """Store a rule (its expression checked); an ACTIVE one is not applied here (see :meth:`apply_all`)."""
        self._matchers[rule_id] = compile_rule(expression)
        rule = {
            "type": "group_rule", "id": rule_id, "status": status, "name": name, "created": created,
            "lastUpdated": created,
            "conditions": {"people": {"users": {"exclude": list(excluded or [])}, "groups": {"exclude": []}},
                           "expression": {"value": expression, "type": EXPRESSION_TYPE}},
            "actions": {"assignUserToGroups": {"groupIds": list(group_ids)}},
        }
        self.rules[rule_id] = rule
        return rule

    def groups_kept(self) -> set[str]:
        """The groups an active rule assigns people to."""
        return {gid for r in self.rules.values() if r["status"] == "ACTIVE"
                for gid in r["actions"]["assignUserToGroups"]["groupIds"]}

    def apply(self, uid: str) -> list[tuple[str, bool]]:
        """Bring one person's memberships in line with the active rules: (group id, added) for each change.

        Okta adds a person who comes to match a rule and removes one who stops matching every rule that
        assigns the group.
        """
        d = self.directory
        user = d.users.get(uid)
        if user is None or user["status"] == "DEPROVISIONED":
            return []
        wanted: dict[str, bool] = {}
        for rule_id, rule in self.rules.items():
            if rule["status"] != "ACTIVE" or uid in rule["conditions"]["people"]["users"]["exclude"]:
                continue
            hit = self._matchers[rule_id](user)
            for gid in rule["actions"]["assignUserToGroups"]["groupIds"]:
                wanted[gid] = wanted.get(gid, False) or hit
        changes = []
        for gid, member in wanted.items():
            if gid in d.members and (uid in d.members[gid]) != member:
                d.set_membership(gid, uid, member)
                changes.append((gid, member))
        return changes

    def apply_all(self, rule_id: str) -> list[tuple[str, str]]:
        """A newly active rule: add every person it matches; (user id, group id) for each addition."""
        d = self.directory
        rule = self.rules[rule_id]
        matcher = self._matchers[rule_id]
        excluded = set(rule["conditions"]["people"]["users"]["exclude"])
        added = []
        for uid, user in list(d.users.items()):
            if uid in excluded or user["status"] == "DEPROVISIONED" or not matcher(user):
                continue
            for gid in rule["actions"]["assignUserToGroups"]["groupIds"]:
                if gid in d.members and uid not in d.members[gid]:
                    d.set_membership(gid, uid, True)
                    added.append((uid, gid))
        return added

    def remove(self, rule_id: str) -> None:
        """Delete a rule (memberships it made stay, as Okta keeps them unless asked otherwise)."""
        self.rules.pop(rule_id, None)
        self._matchers.pop(rule_id, None)

    def rule_json(self, rule_id: str, names: bool) -> dict[str, Any]:
        """A rule as the API answers it; with ``names``, ``_embedded.groupIdToGroupNameMap``."""
        rule = self.rules[rule_id]
        if not names:
            return rule
        groups = self.directory.groups
        mapping = {gid: groups[gid]["profile"]["name"] for gid in rule["actions"]["assignUserToGroups"]["groupIds"]
                   if gid in groups}
        return {**rule, "_embedded": {"groupIdToGroupNameMap": mapping}}
