"""The System Log events an investigator searches for, seeded beside the directory's own events.

Drawn from the security generator for (at most) the first 2,000 people, as the directory's events are, over
the last 30 days, and consistent with the security data: sign-ins with their geography (most from the
person's office city, some failed ones and a few successful ones from countries the org has no office in),
MFA challenges with a factor the person has, factor resets by the help desk, the admin role grants and
direct app assignments made in the last 90 days, and policy changes. Each is in Okta's LogEvent shape
(actor, target[], client with geographicalContext and ipAddress, outcome, debugContext).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from okta_magic.sandbox.data import _BROWSERS, _GEO, DAY, actor_of, log_event, target_user
from okta_magic.sandbox.security import Security

# Countries with no office of the org, and a city in each: where an attacker's sign-ins come from.
UNUSUAL = (("Lagos", "NG", "Nigeria"), ("Moscow", "RU", "Russia"), ("Bucharest", "RO", "Romania"),
           ("Hanoi", "VN", "Vietnam"), ("Pyongyang", "KP", "North Korea"))
SIGN_IN = ("user.session.start", "User login to Okta", "core.user_auth.login_success")
MFA = ("user.authentication.auth_via_mfa", "Authentication of user via MFA", "core.user.factor.attempt_success")


def _ids(rng: random.Random) -> dict[str, str]:
    """A seeded event uuid and request id."""
    return {"event_uuid": str(uuid.UUID(int=rng.getrandbits(128), version=1)),
            "request_id": f"{rng.getrandbits(128):032x}"}


def _iso_epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def seed_events(security: Security, rng: random.Random) -> list[dict[str, Any]]:
    """The investigator's events, in published order."""
    d = security.directory
    anchor = security.anchor
    events: list[dict[str, Any]] = []
    people = [u for u in list(d.users.values())[:2000] if u["status"] != "STAGED"]
    for user in people:
        events += _sign_ins(security, rng, user, anchor)
    events += _admin_actions(security, rng, anchor)
    events.sort(key=lambda e: e["published"])
    return events


def _sign_ins(security: Security, rng: random.Random, user: dict[str, Any], anchor: float) -> list[dict[str, Any]]:
    """A person's sign-ins: from their office, or (4% of people) attempts from an unusual country."""
    profile = user["profile"]
    actor = actor_of(user)
    browser = _BROWSERS[int(rng.random() * len(_BROWSERS))]
    out = []
    if rng.random() < 0.04:
        city, code, country = UNUSUAL[int(rng.random() * len(UNUSUAL))]
        ip = f"192.0.2.{int(rng.random() * 250) + 1}"
        for _ in range(2 + int(rng.random() * 6)):
            when = anchor - rng.random() * 30 * DAY
            out.append(log_event(when, *SIGN_IN, actor, [], "FAILURE", "INVALID_CREDENTIALS", ip, city, country,
                                 browser, **_ids(rng)))
        if rng.random() < 0.2:  # and sometimes the password was right
            out.append(log_event(anchor - rng.random() * 30 * DAY, *SIGN_IN, actor, [], "SUCCESS", None, ip, city,
                                 country, browser, **_ids(rng)))
        return out
    if rng.random() > 0.5:
        return out
    factors = [f for f in security.factors.of(user) if f["status"] == "ACTIVE"]
    ip = f"203.0.113.{int(rng.random() * 250) + 1}"
    city, country = profile["city"], _GEO.get(profile["countryCode"])
    when = anchor - rng.random() * 30 * DAY
    failed = rng.random() < 0.1
    out.append(log_event(when, *SIGN_IN, actor, [], "FAILURE" if failed else "SUCCESS",
                         "VERIFICATION_ERROR" if failed else None, ip, city, country, browser, **_ids(rng)))
    if factors and not failed:
        factor = factors[int(rng.random() * len(factors))]
        target = {"id": factor["id"], "type": "Factor", "alternateId": "unknown", "displayName": factor["factorType"],
                  "detailEntry": {"methodTypeUsed": factor["factorType"]}}
        out.append(log_event(when + 5, *MFA, actor, [target], "SUCCESS", None, ip, city, country, browser,
                             **_ids(rng)))
    return out


def _admin_actions(security: Security, rng: random.Random, anchor: float) -> list[dict[str, Any]]:
    """Role grants and direct app assignments of the last 90 days, factor resets and policy changes."""
    d = security.directory
    admin = d.users[d.demo_users["admin"].id]
    helpdesk = d.users[d.demo_users["helpdesk"].id]
    out = []
    for uid, assignments in list(d.roles.items()):
        for a in assignments:
            when = _iso_epoch(a["created"])
            if when > anchor - 90 * DAY and uid in d.users:
                role = {"id": a["id"], "type": "ROLE", "alternateId": a["type"], "displayName": a["label"],
                        "detailEntry": None}
                out.append(log_event(when, "user.account.privilege.grant", "Grant user privilege", None,
                                     actor_of(admin), [target_user(d.users[uid]), role], ip="198.51.100.7",
                                     **_ids(rng)))
    for app_id, direct in security.app_users.items():
        app = d.apps[app_id]
        for uid, assignment in direct.items():
            when = _iso_epoch(assignment["created"])
            if when > anchor - 90 * DAY and uid in d.users:
                target = {"id": app_id, "type": "AppInstance", "alternateId": app["label"],
                          "displayName": app["label"], "detailEntry": None}
                out.append(log_event(when, "application.user_membership.add", "Add user to application membership",
                                     None, actor_of(admin), [target_user(d.users[uid]), target], ip="198.51.100.7",
                                     **_ids(rng)))
    people = [u for u in list(d.users.values())[:2000] if u["status"] == "ACTIVE"]
    for user in rng.sample(people, min(len(people), max(3, len(people) // 100))):
        out.append(log_event(anchor - rng.random() * 30 * DAY, "user.mfa.factor.reset_all",
                             "Reset all factors for user", None, actor_of(helpdesk), [target_user(user)],
                             ip="198.51.100.7", **_ids(rng)))
    for pid, policy in list(security.config.policies.items())[:4]:
        target = {"id": pid, "type": "PolicyEntity", "alternateId": "unknown", "displayName": policy["name"],
                  "detailEntry": {"policyType": policy["type"]}}
        out.append(log_event(anchor - rng.random() * 30 * DAY, "policy.lifecycle.update", "Update policy", None,
                             actor_of(admin), [target], ip="198.51.100.7", **_ids(rng)))
    return out
