"""The org's security configuration: policies of each type with their rules, network zones, identity
providers, authorization servers, trusted origins, authenticators, user types and the user schema.

Built once per org from the security generator, in the shapes of Okta's Management API spec (Policy and
its subtypes, PolicyRule, NetworkZone, IdentityProvider, AuthorizationServer, TrustedOrigin,
AuthenticatorBase, UserType, UserSchema). ``_links`` are filled in per org URL when served.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from okta_magic.sandbox.data import DAY, USER_TYPE_ID, iso, okta_id
from okta_magic.sandbox.directory import Directory

SCHEMA_ID = "osc" + USER_TYPE_ID[3:]
# Countries an org with offices in this sandbox's cities does not expect sign-ins from (the blocked zone).
BLOCKED_COUNTRIES = ("KP", "IR", "RU", "BY")
AUTHENTICATOR_KINDS = (
    # key, type, name, status
    ("okta_email", "email", "Email", "ACTIVE"),
    ("okta_password", "password", "Password", "ACTIVE"),
    ("phone_number", "phone", "Phone", "ACTIVE"),
    ("okta_verify", "app", "Okta Verify", "ACTIVE"),
    ("webauthn", "security_key", "Security Key or Biometric", "ACTIVE"),
    ("security_question", "security_question", "Security Question", "ACTIVE"),
    ("google_otp", "app", "Google Authenticator", "INACTIVE"),
)


@dataclass
class Config:
    """The configuration objects by kind, each an id -> object mapping in list order."""

    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    rules: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # policy id -> rule id -> rule
    zones: dict[str, dict[str, Any]] = field(default_factory=dict)
    idps: dict[str, dict[str, Any]] = field(default_factory=dict)
    auth_servers: dict[str, dict[str, Any]] = field(default_factory=dict)
    origins: dict[str, dict[str, Any]] = field(default_factory=dict)
    authenticators: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    schema: dict[str, Any] = field(default_factory=dict)

    def authenticator_ids(self) -> dict[str, str]:
        """Authenticator id by key (``okta_verify`` ...)."""
        return {a["key"]: aid for aid, a in self.authenticators.items()}


def build(rng: random.Random, directory: Directory, anchor: float) -> Config:
    """The whole configuration of one org."""
    config = Config()
    stamp = _stamper(rng, anchor)
    groups = {g["profile"]["name"]: gid for gid, g in directory.groups.items()}
    _zones(rng, config, stamp)
    _idps(rng, config, stamp)
    _policies(rng, config, stamp, groups)
    _auth_servers(rng, config, stamp)
    _origins(rng, config, stamp, directory)
    for key, kind, name, status in AUTHENTICATOR_KINDS:
        aid = okta_id(rng, "aut")
        created, updated = stamp()
        config.authenticators[aid] = {"type": kind, "id": aid, "key": key, "status": status, "name": name,
                                      "created": created, "lastUpdated": updated}
    created, updated = stamp()
    config.user_types[USER_TYPE_ID] = {"id": USER_TYPE_ID, "displayName": "User", "name": "user",
                                       "description": "Okta user profile template with default permission settings",
                                       "createdBy": "sprsandbox000000005d7", "lastUpdatedBy": "sprsandbox000000005d7",
                                       "created": created, "lastUpdated": updated, "default": True}
    config.schema = user_schema(created, updated)
    return config


def _stamper(rng: random.Random, anchor: float) -> Any:
    """A function giving (created, lastUpdated) pairs within the org's life."""
    def stamp() -> tuple[str, str]:
        created = anchor - (200 + rng.random() * 1500) * DAY
        return iso(created), iso(created + rng.random() * 180 * DAY)
    return stamp


def _zones(rng: random.Random, config: Config, stamp: Any) -> None:
    """Okta's two system IP zones, the corporate offices, and a blocklist of countries."""
    zones = (
        ("IP", "LegacyIpZone", "POLICY", True, {"gateways": [{"type": "CIDR", "value": "198.51.100.0/24"}],
                                                 "proxies": None}),
        ("IP", "BlockedIpZone", "BLOCKLIST", True, {"gateways": [{"type": "RANGE",
                                                                   "value": "192.0.2.200-192.0.2.250"}],
                                                     "proxies": None}),
        ("IP", "Corporate offices", "POLICY", False, {"gateways": [{"type": "CIDR", "value": "203.0.113.0/24"}],
                                                       "proxies": None}),
        ("DYNAMIC", "Blocked countries", "BLOCKLIST", False,
         {"locations": [{"country": c} for c in BLOCKED_COUNTRIES], "proxyType": "Any",
          "asns": []}),
    )
    for kind, name, usage, system, extra in zones:
        zid = okta_id(rng, "nzo")
        created, updated = stamp()
        config.zones[zid] = {"type": kind, "id": zid, "name": name, "status": "ACTIVE", "usage": usage,
                             "created": created, "lastUpdated": updated, "system": system, **extra}


def _policy(rng: random.Random, config: Config, stamp: Any, kind: str, name: str, priority: int,
            groups: list[str], settings: dict[str, Any] | None, system: bool = False) -> str:
    """Store one policy; its id."""
    pid = okta_id(rng, "rst" if kind == "ACCESS_POLICY" else "00p")
    created, updated = stamp()
    policy: dict[str, Any] = {"type": kind, "id": pid, "status": "ACTIVE", "name": name,
                              "description": f"{name} ({kind.replace('_', ' ').lower()})", "priority": priority,
                              "system": system, "created": created, "lastUpdated": updated}
    if kind in ("PROFILE_ENROLLMENT", "IDP_DISCOVERY"):
        policy["conditions"] = None  # the spec: these policies have no conditions of their own
    elif kind != "ACCESS_POLICY":
        policy["conditions"] = {"people": {"groups": {"include": groups}}}
    if settings is not None:
        policy["settings"] = settings
    config.policies[pid] = policy
    config.rules[pid] = {}
    return pid


def _rule(rng: random.Random, config: Config, stamp: Any, pid: str, kind: str, name: str, priority: int,
          conditions: dict[str, Any], actions: dict[str, Any], system: bool = False) -> None:
    """Store one rule of a policy."""
    rid = okta_id(rng, "0pr")
    created, updated = stamp()
    config.rules[pid][rid] = {"id": rid, "status": "ACTIVE", "name": name, "priority": priority,
                              "created": created, "lastUpdated": updated, "system": system, "type": kind,
                              "conditions": conditions, "actions": actions}


def _policies(rng: random.Random, config: Config, stamp: Any, groups: dict[str, str]) -> None:
    """Sign-on, password, authenticator enrollment, app sign-in, profile enrollment and IdP discovery."""
    everyone = [groups["Everyone"]]
    admins = [groups.get("Okta Administrators", groups["Everyone"])]
    offices = [zid for zid, z in config.zones.items() if z["name"] == "Corporate offices"]
    session = {"maxSessionIdleMinutes": 120, "maxSessionLifetimeMinutes": 720, "usePersistentCookie": False}
    for name, prio, who, mfa in (("Administrators", 1, admins, True), ("Default Policy", 2, everyone, False)):
        pid = _policy(rng, config, stamp, "OKTA_SIGN_ON", name, prio, who, None, system=name == "Default Policy")
        network = {"connection": "ZONE", "include": offices} if not mfa else {"connection": "ANYWHERE"}
        _rule(rng, config, stamp, pid, "SIGN_ON", "Require MFA" if mfa else "Office network, no MFA", 1,
              {"people": {"users": {"exclude": []}}, "network": network},
              {"signon": {"access": "ALLOW", "requireFactor": mfa or False, "factorPromptMode": "ALWAYS" if mfa
                          else "SESSION", "primaryFactor": "PASSWORD_IDP_ANY_FACTOR", "session": session}})
    for name, prio, who, length, age in (("Administrators", 1, admins, 14, 90), ("Default Policy", 2, everyone, 8, 0)):
        complexity = {"minLength": length, "minLowerCase": 1, "minUpperCase": 1, "minNumber": 1,
                      "minSymbol": 1 if length > 8 else 0, "excludeUsername": True,
                      "dictionary": {"common": {"exclude": length > 8}}, "excludeAttributes": []}
        settings = {"password": {"complexity": complexity,
                                 "age": {"maxAgeDays": age, "expireWarnDays": 0, "minAgeMinutes": 0,
                                         "historyCount": 4},
                                 "lockout": {"maxAttempts": 10 if length == 8 else 5, "autoUnlockMinutes": 0,
                                             "userLockoutNotificationChannels": [], "showLockoutFailures": False}},
                    "recovery": {"factors": {"okta_email": {"status": "ACTIVE"}, "okta_sms": {"status": "INACTIVE"},
                                             "okta_call": {"status": "INACTIVE"}}},
                    "delegation": {"options": {"skipUnlock": False}}}
        pid = _policy(rng, config, stamp, "PASSWORD", name, prio, who, settings, system=name == "Default Policy")
        _rule(rng, config, stamp, pid, "PASSWORD", "Allow self-service", 1,
              {"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}},
              {"passwordChange": {"access": "ALLOW"}, "selfServicePasswordReset": {"access": "ALLOW"},
               "selfServiceUnlock": {"access": "DENY"}})
    authenticators = [{"key": key, "enroll": {"self": "REQUIRED" if key == "okta_verify" else "OPTIONAL"}}
                      for key, _, _, status in AUTHENTICATOR_KINDS if status == "ACTIVE" and key != "okta_password"]
    pid = _policy(rng, config, stamp, "MFA_ENROLL", "Default Policy", 1, everyone,
                  {"type": "AUTHENTICATORS", "authenticators": authenticators}, system=True)
    _rule(rng, config, stamp, pid, "MFA_ENROLL", "Default Rule", 99, {"people": {"users": {"exclude": []}},
          "network": {"connection": "ANYWHERE"}}, {"enroll": {"self": "CHALLENGE"}}, system=True)
    for name in ("Okta Admin Console", "Any two factors"):
        pid = _policy(rng, config, stamp, "ACCESS_POLICY", name, 1, everyone, None, system=name != "Any two factors")
        _rule(rng, config, stamp, pid, "ACCESS_POLICY", "Catch-all Rule", 99, {},
              {"appSignOn": {"access": "ALLOW", "verificationMethod": {
                  "factorMode": "2FA", "type": "ASSURANCE", "reauthenticateIn": "PT12H",
                  "constraints": [{"possession": {"deviceBound": "REQUIRED"}}] if name == "Okta Admin Console"
                  else []}}}, system=True)
    _policy(rng, config, stamp, "PROFILE_ENROLLMENT", "Default Policy", 1, everyone, None, system=True)
    pid = _policy(rng, config, stamp, "IDP_DISCOVERY", "Idp Discovery Policy", 1, everyone, None, system=True)
    partner = next(iid for iid, idp in config.idps.items() if idp["type"] == "SAML2")
    _rule(rng, config, stamp, pid, "IDP_DISCOVERY", "Acme people sign in at Acme", 1,
          {"network": {"connection": "ANYWHERE"},
           "userIdentifier": {"type": "IDENTIFIER", "patterns": [{"matchType": "SUFFIX", "value": "acme.example"}]}},
          {"idp": {"providers": [{"type": "SAML2", "id": partner}]}})


def _idps(rng: random.Random, config: Config, stamp: Any) -> None:
    """A partner's SAML identity provider and Google sign-in."""
    for kind, name, protocol in (
        ("SAML2", "Partner SSO (Acme Corp)", {"type": "SAML2", "endpoints": {
            "sso": {"url": "https://sso.acme.example/saml2/sso", "binding": "HTTP-POST", "destination":
                    "https://sso.acme.example/saml2/sso"},
            "acs": {"binding": "HTTP-POST", "type": "INSTANCE"}},
            "algorithms": {"request": {"signature": {"algorithm": "SHA-256", "scope": "REQUEST"}},
                           "response": {"signature": {"algorithm": "SHA-256", "scope": "ANY"}}},
            "credentials": {"trust": {"issuer": "https://sso.acme.example", "audience":
                                      "https://www.okta.com/saml2/service-provider/sandbox",
                                      "kid": "sandbox-partner-signing-key"}}}),
        ("GOOGLE", "Google", {"type": "OIDC", "scopes": ["profile", "email", "openid"], "credentials": {
            "client": {"client_id": "sandbox-google-client.apps.googleusercontent.com"}}}),
    ):
        iid = okta_id(rng, "0oa")
        created, updated = stamp()
        config.idps[iid] = {"id": iid, "type": kind, "name": name, "status": "ACTIVE", "created": created,
                            "lastUpdated": updated, "issuerMode": "ORG_URL", "protocol": protocol,
                            "policy": {"provisioning": {"action": "AUTO", "profileMaster": False,
                                                        "groups": {"action": "NONE"},
                                                        "conditions": {"deprovisioned": {"action": "NONE"},
                                                                       "suspended": {"action": "NONE"}}},
                                       "accountLink": {"action": "AUTO"},
                                       "subject": {"userNameTemplate": {"template": "idpuser.email"},
                                                   "matchType": "USERNAME"},
                                       "maxClockSkew": 120000}}


def _auth_servers(rng: random.Random, config: Config, stamp: Any) -> None:
    """The ``default`` custom authorization server and one for an internal API."""
    for sid, name, audience in (("default", "default", "api://default"),
                                (okta_id(rng, "aus"), "Internal APIs", "api://internal")):
        created, updated = stamp()
        config.auth_servers[sid] = {"id": sid, "name": name, "description": f"{name} authorization server",
                                    "audiences": [audience], "issuerMode": "ORG_URL", "status": "ACTIVE",
                                    "created": created, "lastUpdated": updated,
                                    "credentials": {"signing": {"rotationMode": "AUTO", "lastRotated": updated,
                                                                "nextRotation": _later(updated), "kid": okta_id(rng, "kid")}}}


def _later(stamp: str) -> str:
    """90 days after one of the sandbox's timestamps (a signing key's next rotation)."""
    from datetime import datetime

    return iso(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() + 90 * DAY)


def _origins(rng: random.Random, config: Config, stamp: Any, directory: Directory) -> None:
    """The intranet (CORS and redirect) and a legacy site nobody removed."""
    admin = directory.demo_users["admin"].id
    for name, origin, scopes in (("Intranet", "https://intranet.example.com", ["CORS", "REDIRECT"]),
                                 ("Old wiki", "http://wiki-legacy.example.com", ["REDIRECT"])):
        tid = okta_id(rng, "tos")
        created, updated = stamp()
        config.origins[tid] = {"id": tid, "name": name, "origin": origin, "status": "ACTIVE",
                               "scopes": [{"type": s} for s in scopes], "created": created, "createdBy": admin,
                               "lastUpdated": updated, "lastUpdatedBy": admin}


def _attribute(title: str, kind: str, **extra: Any) -> dict[str, Any]:
    """One attribute of the user schema, editable by admins only."""
    return {"title": title, "type": kind, "mutability": "READ_WRITE", "scope": "NONE",
            "permissions": [{"principal": "SELF", "action": "READ_ONLY"}], "master": {"type": "PROFILE_MASTER"},
            **extra}


def user_schema(created: str, updated: str) -> dict[str, Any]:
    """The default user type's schema: the base attributes the sandbox's people carry and their custom ones."""
    base_names = ("login", "firstName", "lastName", "email", "secondEmail", "mobilePhone", "displayName", "title",
                  "department", "division", "organization", "employeeNumber", "costCenter", "userType", "city",
                  "state", "countryCode", "locale", "timezone", "preferredLanguage", "manager", "managerId")
    required = ("login", "firstName", "lastName", "email")
    base = {name: _attribute(name[0].upper() + name[1:], "string", **({"required": True} if name in required else {}))
            for name in base_names}
    custom = {
        "costCenterCode": _attribute("Cost center code", "string", maxLength=20),
        "badgeID": _attribute("Badge ID", "string", pattern="B[0-9]{6}"),
        "HireDate": _attribute("Hire date", "string", description="A date: YYYY-MM-DD", pattern=r"\d{4}-\d{2}-\d{2}"),
        "isContractor": _attribute("Contractor", "boolean"),
        "clearanceLevel": _attribute("Clearance level", "string", enum=["Confidential", "Secret", "Restricted"],
                                     oneOf=[{"const": v, "title": v} for v in ("Confidential", "Secret", "Restricted")]),
        # SPEC UserSchemaAttributeType: integer, number, and array with UserSchemaAttributeItems of strings
        "yearsOfService": _attribute("Years of service", "integer", description="Whole years since the hire date"),
        "fte": _attribute("FTE", "number", description="Share of full time worked: 1.0, 0.8, 0.6 or 0.5"),
        "skills": _attribute("Skills", "array", items={"type": "string"}),
    }
    return {"id": SCHEMA_ID, "$schema": "http://json-schema.org/draft-04/schema#", "name": "user",
            "title": "User", "created": created, "lastUpdated": updated,
            "definitions": {"base": {"id": "#base", "type": "object", "properties": base, "required": list(required)},
                            "custom": {"id": "#custom", "type": "object", "properties": custom, "required": []}},
            "type": "object",
            "properties": {"profile": {"allOf": [{"$ref": "#/definitions/custom"}, {"$ref": "#/definitions/base"}]}}}
