"""The sandbox's MFA factors (Factors API) and Identity Engine authenticator enrollments, per user.

A user's factors are drawn on first use from a generator of their own,
``random.Random(f"{seed}-factors-{user id}")``, so every seed gives the same factors whatever order they are
read in, and an org of 100,000 users starts without drawing them. The spread follows what an auditor finds
in a real org: people who never enrolled (and staged, provisioned or deprovisioned accounts have nothing),
some with only SMS or email, most with Okta Verify (push, TOTP, often FastPass), a few with WebAuthn keys;
admins mostly strong but not all. Shapes follow Okta's ``UserFactor`` and ``AuthenticatorEnrollment``
(Management API spec, listFactors and listAuthenticatorEnrollments).
"""

from __future__ import annotations

import random
import threading
from datetime import datetime
from typing import Any

from okta_magic.sandbox.data import DAY, ORG_SUFFIX, iso, okta_id

# factorType: (id prefix, provider, vendorName); UserFactorType in the spec.
FACTOR_TYPES: dict[str, tuple[str, str, str]] = {
    "push": ("opf", "OKTA", "OKTA"),
    "token:software:totp": ("ost", "OKTA", "OKTA"),
    "signed_nonce": ("cfd", "OKTA", "OKTA"),  # Okta FastPass
    "webauthn": ("fwf", "FIDO", "FIDO"),
    "sms": ("mbl", "OKTA", "OKTA"),
    "email": ("emf", "OKTA", "OKTA"),
    "question": ("ufs", "OKTA", "OKTA"),
}
STRONG_FACTORS = frozenset({"push", "token:software:totp", "signed_nonce", "webauthn"})
# The statuses of people who have signed up (staged, provisioned and deprovisioned accounts have no factors).
ENROLLED_STATUSES = frozenset({"ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"})
# factorType -> the Identity Engine authenticator: (type, key, name); Okta Verify holds push, TOTP and FastPass.
AUTHENTICATORS: dict[str, tuple[str, str, str]] = {
    "push": ("app", "okta_verify", "Okta Verify"),
    "token:software:totp": ("app", "okta_verify", "Okta Verify"),
    "signed_nonce": ("app", "okta_verify", "Okta Verify"),
    "webauthn": ("security_key", "webauthn", "Security Key or Biometric"),
    "sms": ("phone", "phone_number", "Phone"),
    "email": ("email", "okta_email", "Email"),
    "question": ("security_question", "security_question", "Security Question"),
    "password": ("password", "okta_password", "Password"),
}
QUESTIONS = (
    ("disliked_food", "What is the food you least liked as a child?"),
    ("name_of_first_plush_toy", "What is the name of your first stuffed animal?"),
    ("favorite_art_piece", "What is your favorite piece of art?"),
)
PHONES = (("IOS", "SmartPhone_IPhone", "iPhone 15", "17.5"), ("ANDROID", "SmartPhone_Android", "Pixel 8", "14"))
KEYS = ("YubiKey 5 NFC", "Touch ID", "Windows Hello")
# The demo people's factors, fixed so lessons can rely on them (the help desk admin is the weak admin).
DEMO_FACTORS = {
    "admin@example.com": ("push", "token:software:totp", "signed_nonce", "webauthn"),
    "readonly@example.com": ("push", "token:software:totp"),
    "helpdesk@example.com": ("sms",),
    "user@example.com": ("email",),
}


def draw_factor_types(rng: random.Random, admin: bool) -> list[str]:
    """Which factors one enrolled person has: none, only SMS/email, or Okta Verify and more."""
    roll = rng.random()
    none, weak = (0.03, 0.10) if admin else (0.12, 0.30)
    if roll < none:
        return []
    if roll < weak:
        return ["sms"] if rng.random() < 0.6 else (["email"] if rng.random() < 0.5 else ["sms", "email"])
    kinds = ["push", "token:software:totp"] if rng.random() < 0.9 else ["token:software:totp"]
    for kind, chance in (("signed_nonce", 0.45), ("webauthn", 0.35 if admin else 0.12), ("sms", 0.25),
                         ("email", 0.3), ("question", 0.1)):
        if rng.random() < chance:
            kinds.append(kind)
    return kinds


def factor_object(rng: random.Random, kind: str, user: dict[str, Any], created: float) -> dict[str, Any]:
    """One enrolled factor in Okta's UserFactor shape (``_links`` added when served)."""
    prefix, provider, vendor = FACTOR_TYPES[kind]
    profile = user["profile"]
    if kind in ("push", "signed_nonce"):
        platform, device_type, name, version = PHONES[int(rng.random() * len(PHONES))]
        details: dict[str, Any] = {"credentialId": profile["login"], "deviceType": device_type, "name": name,
                                   "platform": platform, "version": version}
    elif kind == "token:software:totp":
        details = {"credentialId": profile["login"]}
    elif kind == "webauthn":
        details = {"authenticatorName": KEYS[int(rng.random() * len(KEYS))],
                   "credentialId": okta_id(rng, "cred")[:-len(ORG_SUFFIX)]}
    elif kind == "sms":
        details = {"phoneNumber": f"+1555{int(rng.random() * 1000):03d}{int(rng.random() * 10000):04d}"}  # E.164
    elif kind == "email":
        details = {"email": profile["email"]}
    else:
        question, text = QUESTIONS[int(rng.random() * len(QUESTIONS))]
        details = {"question": question, "questionText": text}
    stamp = iso(created)
    return {"id": okta_id(rng, prefix), "factorType": kind, "provider": provider, "vendorName": vendor,
            "status": "ACTIVE", "created": stamp, "lastUpdated": stamp, "profile": details}


def _epoch(stamp: str | None) -> float | None:
    """Seconds since the epoch of one of the sandbox's own timestamps."""
    if not stamp:
        return None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


class Factors:
    """Each user's factors, drawn on first use; enrolments and resets change them in place."""

    def __init__(self, seed: int, anchor: float, initial_admins: set[str]) -> None:
        self._seed = seed
        self._anchor = anchor
        self._admins = initial_admins
        self._by_user: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def of(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        """The user's factors (the live list; callers hold the directory lock to change it)."""
        uid = user["id"]
        with self._lock:
            found = self._by_user.get(uid)
            if found is None:
                found = self._by_user[uid] = self._draw(user)
            return found

    def forget(self, uid: str) -> None:
        """A deleted user's factors go with them."""
        with self._lock:
            self._by_user[uid] = []

    def _draw(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        """The seeded factors of one user, from the user's own generator."""
        if user["status"] not in ENROLLED_STATUSES:
            return []
        rng = random.Random(f"{self._seed}-factors-{user['id']}")
        login = user["profile"]["login"]
        kinds = list(DEMO_FACTORS.get(login) or draw_factor_types(rng, user["id"] in self._admins))
        start = _epoch(user.get("activated")) or _epoch(user["created"]) or self._anchor - 400 * DAY
        start = min(start, self._anchor - DAY)
        return [factor_object(rng, kind, user, start + rng.random() * (self._anchor - start)) for kind in kinds]


def factor_json(base_url: str, uid: str, factor: dict[str, Any]) -> dict[str, Any]:
    """A factor as the Factors API lists it, with its links."""
    href = f"{base_url}/api/v1/users/{uid}/factors/{factor['id']}"
    links: dict[str, Any] = {
        "self": {"href": href, "hints": {"allow": ["GET", "DELETE"]}},
        "user": {"href": f"{base_url}/api/v1/users/{uid}", "hints": {"allow": ["GET"]}},
    }
    if factor["status"] == "PENDING_ACTIVATION":
        links["activate"] = {"href": f"{href}/lifecycle/activate", "hints": {"allow": ["POST"]}}
    elif factor["factorType"] != "question":
        links["verify"] = {"href": f"{href}/verify", "hints": {"allow": ["POST"]}}
    return {**factor, "_links": links}


def enrollments(base_url: str, user: dict[str, Any], factors: list[dict[str, Any]],
                authenticator_ids: dict[str, str]) -> list[dict[str, Any]]:
    """The user's Identity Engine authenticator enrollments: the password, then one per authenticator."""
    uid = user["id"]
    seen: dict[str, dict[str, Any]] = {}
    sources: list[tuple[str, str, str, str, dict[str, Any]]] = []
    if user.get("passwordChanged"):
        stamp = user["passwordChanged"]
        sources.append(("password", "lae" + uid[3:], stamp, stamp, {}))
    for factor in factors:
        if factor["status"] != "ACTIVE":
            continue
        profile = {k: v for k, v in factor["profile"].items() if k in ("phoneNumber", "email", "question")}
        sources.append((factor["factorType"], "eae" + factor["id"][3:], factor["created"], factor["lastUpdated"],
                        profile))
    for kind, eid, created, updated, profile in sources:
        a_type, key, name = AUTHENTICATORS[kind]
        if key in seen and key == "okta_verify":
            continue  # one Okta Verify enrollment holds push, TOTP and FastPass
        href = f"{base_url}/api/v1/users/{uid}/authenticator-enrollments/{eid}"
        seen[key + eid] = {
            "type": a_type, "id": eid, "key": key, "status": "ACTIVE", "name": name,
            **({"profile": profile} if profile else {}),  # the password has none (the spec's example)
            "nickname": None, "created": created, "lastUpdated": updated,
            "_links": {
                "self": {"href": href, "hints": {"allow": ["GET", "DELETE"]}},
                "user": {"href": f"{base_url}/api/v1/users/{uid}", "hints": {"allow": ["GET"]}},
                "authenticator": {"href": f"{base_url}/api/v1/authenticators/{authenticator_ids.get(key, key)}",
                                  "hints": {"allow": ["GET"]}},
            },
        }
        if key == "okta_verify":
            seen[key] = seen[key + eid]
    return [e for k, e in seen.items() if k != "okta_verify"]
