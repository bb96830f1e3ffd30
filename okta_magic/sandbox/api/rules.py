"""``/api/v1/groups/rules``: the org's group rules, listed, read, created, activated, deactivated, deleted.

Follows Okta's Group Rules API: a new rule is INACTIVE until ``lifecycle/activate``, which adds everyone it
matches to its groups; ``expand=groupIdToGroupNameMap`` names the groups; ``search`` matches rule names
that start with the text. Membership changes a rule makes are logged, with the rule as the actor's cause.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, audit, body, group_target, limit, page, user_target
from okta_magic.sandbox.api.factors import security
from okta_magic.sandbox.data import iso
from okta_magic.sandbox.group_rules import GroupRules, RuleError
from okta_magic.sandbox.responses import ApiProblem, invalid, json_response, not_found

RULES_DEFAULT_LIMIT = 50
RULES_MAX_LIMIT = 200


def _rules(call: Call) -> GroupRules:
    return security(call).rules


def _rule(call: Call) -> dict[str, Any]:
    rules = _rules(call).rules
    if call.args[0] not in rules:
        raise not_found(call.args[0], "GroupRule")
    return rules[call.args[0]]


def list_rules(call: Call) -> Response:
    """GET /groups/rules: ``search`` on the name, ``expand=groupIdToGroupNameMap``, paged."""
    rules = _rules(call)
    needle = call.params.get("search", "").lower()
    names = call.params.get("expand") == "groupIdToGroupNameMap"
    listing = call.directory.listing(("rules", needle, len(rules.rules)), lambda: [
        rid for rid, r in rules.rules.items() if r["name"].lower().startswith(needle)], sorted_by_attribute=True)
    size = limit(call, RULES_DEFAULT_LIMIT, RULES_MAX_LIMIT)
    return page(call, listing, size, lambda ids: orjson.dumps([rules.rule_json(rid, names) for rid in ids]))


def get_rule(call: Call) -> Response:
    """GET /groups/rules/{ruleId}."""
    rule = _rule(call)
    return json_response(_rules(call).rule_json(rule["id"], call.params.get("expand") == "groupIdToGroupNameMap"))


async def create_rule(call: Call) -> Response:
    """POST /groups/rules: a new rule, INACTIVE (E0000001 for an expression or group the sandbox refuses)."""
    sent = await body(call)
    name = sent.get("name")
    try:
        expression = sent["conditions"]["expression"]["value"]
        group_ids = list(sent["actions"]["assignUserToGroups"]["groupIds"])
    except (KeyError, TypeError):
        raise invalid("conditions", "conditions.expression.value and actions.assignUserToGroups.groupIds "
                      "are required") from None
    if not isinstance(name, str) or not name.strip():
        raise invalid("name", "name: The field cannot be left blank")
    d = call.directory
    if not group_ids or any(g not in d.groups or d.groups[g]["type"] != "OKTA_GROUP" for g in group_ids):
        raise invalid("groupIds", "actions.assignUserToGroups.groupIds: Okta groups only")
    excluded = ((sent.get("conditions") or {}).get("people") or {}).get("users", {}).get("exclude", [])
    with d.lock:
        try:
            rule = _rules(call).add(d.new_id("0pr"), name, expression, group_ids, iso(call.org.clock()),
                                    excluded=excluded)
        except RuleError as exc:
            raise invalid("conditions.expression.value", str(exc)) from None
        d.touch()
    audit(call, "group.rule.create", "Create group rule", [_target(rule)])
    return json_response(rule)


def _lifecycle(call: Call, active: bool) -> Response:
    rule = _rule(call)
    d = call.directory
    with d.lock:
        rule["status"] = "ACTIVE" if active else "INACTIVE"
        rule["lastUpdated"] = iso(call.org.clock())
        added = _rules(call).apply_all(rule["id"]) if active else []
        d.touch()
    audit(call, "group.rule.activate" if active else "group.rule.deactivate",
          "Activate group rule" if active else "Deactivate group rule", [_target(rule)])
    for uid, gid in added[:1000]:  # the log of one activation is bounded, as the sandbox's seeded log is
        audit(call, "group.user_membership.add", "Add user to group membership",
              [user_target(call, uid), group_target(gid, d.groups[gid]["profile"]["name"])])
    return Response(status_code=204)


def activate_rule(call: Call) -> Response:
    """POST /groups/rules/{ruleId}/lifecycle/activate (204)."""
    return _lifecycle(call, True)


def deactivate_rule(call: Call) -> Response:
    """POST /groups/rules/{ruleId}/lifecycle/deactivate (204)."""
    return _lifecycle(call, False)


def delete_rule(call: Call) -> Response:
    """DELETE /groups/rules/{ruleId}: an active rule must be deactivated first (Okta: E0000001)."""
    rule = _rule(call)
    if rule["status"] == "ACTIVE":
        raise ApiProblem(400, "E0000001", "Api validation failed: rule", ("Cannot delete an active rule.",))
    with call.directory.lock:
        _rules(call).remove(rule["id"])
        call.directory.touch()
    audit(call, "group.rule.delete", "Delete group rule", [_target(rule)])
    return Response(status_code=202)


def _target(rule: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule["id"], "type": "GroupRule", "alternateId": "unknown", "displayName": rule["name"],
            "detailEntry": None}


def follow_rules(call: Call, uid: str) -> None:
    """After a person is created or their profile changes: memberships follow the active rules, logged."""
    d = call.directory
    with d.lock:
        changes = _rules(call).apply(uid)
    for gid, added in changes:
        audit(call, "group.user_membership.add" if added else "group.user_membership.remove",
              "Add user to group membership" if added else "Remove user from group membership",
              [user_target(call, uid), group_target(gid, d.groups[gid]["profile"]["name"])])
