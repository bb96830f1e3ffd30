"""The org's security data beside its directory: admin roles (on users, on groups, custom), factors,
devices, direct app assignments, API tokens, group rules and the security configuration.

Everything here is drawn from its own generator, ``random.Random(f"{seed}-security")`` (factors and devices
from one generator per user), so the directory's users, groups, apps and memberships are the same as
without it. Ratios for an org of N users (docs/sandbox.md, "Sizes"): the Security department's group holds
the Read-only Administrator role; about 0.3% of people hold a role of their own besides the demo admins and
the five seeded before; two custom roles with a resource set each; about one person in 200 is assigned an
app directly; about 0.8 devices per signed-up person; three API tokens plus one per 20,000 people.
"""

from __future__ import annotations

import random
import threading
from typing import Any

from okta_magic.sandbox import config_objects, group_rules
from okta_magic.sandbox.data import DAY, ORG_SUFFIX, iso, okta_id
from okta_magic.sandbox.directory import Directory
from okta_magic.sandbox.factors import ENROLLED_STATUSES, Factors

# The group that holds a standard role, and the role (security teams commonly read the whole console).
ROLE_GROUP = ("Security", "READ_ONLY_ADMIN")
# The roles of the people seeded with one of their own, in turn (CUSTOM: a custom role over its resource set).
SEEDED_ROLE_ORDER = ("CUSTOM", "USER_ADMIN", "HELP_DESK_ADMIN", "CUSTOM", "APP_ADMIN", "REPORT_ADMIN",
                     "READ_ONLY_ADMIN", "ORG_ADMIN")
# Custom roles (Okta's IamRole) with their permissions, and the resource set each is bound to.
CUSTOM_ROLES = (
    ("Help Desk Tier 1", "Unlock people and reset their factors",
     ("okta.users.read", "okta.groups.read", "okta.users.lifecycle.unlock", "okta.users.credentials.resetFactors"),
     "All people", "Every user in the org"),
    ("App Owner Viewer", "Read who is assigned to the business apps",
     ("okta.apps.read", "okta.users.read", "okta.groups.read"),
     "Business apps", "The SAML apps and their assignments"),
)
DEVICE_KINDS = (
    # platform, manufacturer, model, display name pattern, OS version
    ("MACOS", "Apple", "MacBookPro18,3", "{first}'s MacBook Pro", "14.5.0"),
    ("WINDOWS", "Dell Inc.", "Latitude 7440", "LAPTOP-{n:05d}", "10.0.22631"),
    ("IOS", "Apple", "iPhone15,2", "{first}'s iPhone", "17.5.1"),
    ("ANDROID", "Google", "Pixel 8", "{first}'s Pixel", "14"),
)


class Security:
    """The security data of one org; shares the directory's lock for every change."""

    def __init__(self, directory: Directory, seed: int, anchor: float) -> None:
        self.directory = directory
        self.anchor = anchor
        self.seed = seed
        rng = random.Random(f"{seed}-security")
        self.custom_roles: dict[str, dict[str, Any]] = {}
        self.resource_sets: dict[str, dict[str, Any]] = {}
        self.app_users: dict[str, dict[str, dict[str, Any]]] = {}  # app id -> user id -> direct assignment
        self.api_tokens: list[dict[str, Any]] = []
        self.by_secret: dict[str, str] = {}  # a created token's secret -> its id (to record its use)
        self._devices: dict[str, dict[str, Any]] | None = None
        self._device_lock = threading.Lock()
        with directory.lock:
            self._seed_roles(rng)
            self._seed_app_users(rng)
            self._seed_api_tokens(rng)
            self.rules = group_rules.GroupRules(directory, rng, anchor)
            self.config = config_objects.build(rng, directory, anchor)
            admins = {uid for uid in directory.roles} | {
                uid for gid in directory.group_roles for uid in directory.members.get(gid, ())}
            self.factors = Factors(seed, anchor, admins)
            directory.touch()

    # ---- roles -----------------------------------------------------------------------

    def _seed_roles(self, rng: random.Random) -> None:
        """A group's standard role, the custom roles with their resource sets, more people with roles."""
        d = self.directory
        created = iso(self.anchor - 300 * DAY)
        by_name = {g["profile"]["name"]: gid for gid, g in d.groups.items()}
        group_name, role = ROLE_GROUP
        if group_name in by_name:
            d.assign_role(by_name[group_name], role, group=True, assignment_id=okta_id(rng, "irb"), created=created)
        for label, description, permissions, set_label, set_description in CUSTOM_ROLES:
            role_id = okta_id(rng, "cr0")
            set_id = okta_id(rng, "iam")
            self.custom_roles[role_id] = {"id": role_id, "label": label, "description": description,
                                          "created": created, "lastUpdated": created, "permissions": permissions}
            self.resource_sets[set_id] = {"id": set_id, "label": set_label, "description": set_description,
                                          "created": created, "lastUpdated": created,
                                          "resources": self._resources(rng, set_label)}
            d.custom_permissions[role_id] = permissions
        demo = {person.id for person in d.demo_users.values()}
        people = [uid for uid, u in d.users.items() if u["status"] == "ACTIVE" and uid not in d.roles
                  and uid not in demo]
        count = max(8, len(d.users) * 3 // 1000)
        customs = 0
        for n, uid in enumerate(rng.sample(people, min(count, len(people)))):
            kind = SEEDED_ROLE_ORDER[n % len(SEEDED_ROLE_ORDER)]
            stamp = iso(self.anchor - rng.random() * 180 * DAY)
            if kind == "CUSTOM":
                role_id, set_id = list(self.custom_roles)[customs % 2], list(self.resource_sets)[customs % 2]
                customs += 1
                self.grant_custom(uid, role_id, set_id, group=False, assignment_id=okta_id(rng, "irb"), created=stamp)
            else:
                d.assign_role(uid, kind, assignment_id=okta_id(rng, "ra1"), created=stamp)

    def _resources(self, rng: random.Random, label: str) -> list[dict[str, Any]]:
        """The resources of a seeded resource set: every user, or the SAML apps."""
        org = f"00osandboxorg0000{ORG_SUFFIX}"
        stamp = iso(self.anchor - 300 * DAY)
        if label == "All people":
            orns = [(f"orn:okta:directory:{org}:users", "/api/v1/users")]
        else:
            apps = [a for a in self.directory.apps.values() if a["signOnMode"] == "SAML_2_0"]
            orns = [(a["orn"], f"/api/v1/apps/{a['id']}") for a in apps]
        return [{"id": okta_id(rng, "ire"), "orn": orn, "created": stamp, "lastUpdated": stamp, "path": path}
                for orn, path in orns]

    def grant_custom(self, assignee: str, role_id: str, set_id: str, *, group: bool,
                     assignment_id: str | None = None, created: str | None = None) -> dict[str, Any]:
        """A custom role bound to a resource set, assigned to a user or a group."""
        role = self.custom_roles[role_id]
        return self.directory.assign_role(assignee, "CUSTOM", group=group, assignment_id=assignment_id,
                                          created=created, label=role["label"],
                                          extra={"resource-set": set_id, "role": role_id})

    def admins(self) -> list[str]:
        """Every user who holds a role, directly or through a group, in the org's user order."""
        d = self.directory
        holders = set(d.roles) | {uid for gid in d.group_roles if d.group_roles[gid]
                                  for uid in d.members.get(gid, ())}
        return [uid for uid in d.users if uid in holders]

    # ---- apps --------------------------------------------------------------------------

    def _seed_app_users(self, rng: random.Random) -> None:
        """About one person in 200 assigned an app directly (not through a group), on the SAML and bookmark apps."""
        d = self.directory
        demo = {person.id for person in d.demo_users.values()}
        people = [uid for uid, u in d.users.items() if u["status"] != "DEPROVISIONED" and uid not in demo]
        apps = [a for a in d.apps.values() if a["signOnMode"] in ("SAML_2_0", "BOOKMARK")]
        if not people or not apps:
            return
        for uid in rng.sample(people, min(len(people), max(len(apps), len(people) // 200))):
            app = apps[int(rng.random() * len(apps))]
            self.app_users.setdefault(app["id"], {})[uid] = self._assignment(
                iso(self.anchor - rng.random() * 200 * DAY))

    @staticmethod
    def _assignment(created: str) -> dict[str, Any]:
        """A direct assignment: when it was made."""
        return {"created": created, "lastUpdated": created}

    def assign_app(self, app_id: str, uid: str) -> bool:
        """Assign an app to a user directly; False when the user already had a direct assignment."""
        direct = self.app_users.setdefault(app_id, {})
        if uid in direct:
            return False
        direct[uid] = self._assignment(iso(self.directory.clock()))
        self.directory.touch()
        return True

    def app_user_ids(self, app_id: str) -> list[str]:
        """Users assigned to the app directly or through a group, in user list order, deprovisioned left out."""
        d = self.directory
        assigned: dict[str, None] = dict.fromkeys(self.app_users.get(app_id, {}))
        for gid in d.app_groups.get(app_id, []):
            assigned.update(d.members.get(gid, {}))
        return [uid for uid in d.users if uid in assigned and d.users[uid]["status"] != "DEPROVISIONED"]

    def apps_of(self, uid: str) -> list[str]:
        """The apps a user is assigned, directly or through a group, in the org's app order."""
        d = self.directory
        groups = set(d.groups_of(uid))
        return [aid for aid in d.apps if uid in self.app_users.get(aid, {})
                or groups.intersection(d.app_groups.get(aid, ()))]

    # ---- API tokens ---------------------------------------------------------------------

    def _seed_api_tokens(self, rng: random.Random) -> None:
        """Three tokens of the super admin's and some more of other admins (metadata only: no secret exists)."""
        d = self.directory
        owners = [d.demo_users["admin"].id] + [uid for uid in d.roles if uid != d.demo_users["admin"].id]
        names = ("SIEM export", "HR provisioning", "Terraform", "Backup job", "Reporting")
        for n in range(3 + len(d.users) // 20000):
            created = self.anchor - (30 + rng.random() * 600) * DAY
            used = None if n == 2 else self.anchor - rng.random() * (5 if n < 2 else 120) * DAY
            self.api_tokens.append(self._token(okta_id(rng, "00T"), names[n % len(names)] + ("" if n < 5 else f" {n}"),
                                               owners[n % len(owners)], created, used))

    @staticmethod
    def _token(token_id: str, name: str, owner: str, created: float, used: float | None) -> dict[str, Any]:
        """An API token's metadata: ``lastUpdated`` is its last use (never used: its creation)."""
        return {"name": name, "userId": owner, "tokenWindow": "P30D", "network": {"connection": "ANYWHERE"},
                "id": token_id, "clientName": "Okta API", "expiresAt": iso((used or created) + 30 * DAY),
                "created": iso(created), "lastUpdated": iso(used or created)}

    def add_api_token(self, token_id: str, owner: str, name: str) -> None:
        """Record a token made with ``Sandbox.create_api_token`` (its secret stays in the directory only)."""
        now = self.directory.clock()
        self.api_tokens.append(self._token(token_id, name, owner, now, None))

    def token_used(self, token_id: str) -> None:
        """A token was used: its ``lastUpdated`` moves, and it expires 30 days after its last use."""
        now = self.directory.clock()
        for token in self.api_tokens:
            if token["id"] == token_id:
                token["lastUpdated"], token["expiresAt"] = iso(now), iso(now + 30 * DAY)

    # ---- devices -----------------------------------------------------------------------

    def devices(self) -> dict[str, dict[str, Any]]:
        """Every device (each with its users), drawn on first use from one generator per person."""
        with self._device_lock:
            if self._devices is None:
                found: dict[str, dict[str, Any]] = {}
                for user in list(self.directory.users.values()):
                    for device in self._draw_devices(user):
                        found[device["id"]] = device
                self._devices = found
            return self._devices

    def _draw_devices(self, user: dict[str, Any]) -> list[dict[str, Any]]:
        """A signed-up person's laptop (most have one) and phone (some), registered after they joined."""
        if user["status"] not in ENROLLED_STATUSES:
            return []
        rng = random.Random(f"{self.seed}-devices-{user['id']}")
        out = []
        for kinds, chance in ((DEVICE_KINDS[:2], 0.6), (DEVICE_KINDS[2:], 0.25)):
            if rng.random() >= chance:
                continue
            platform, maker, model, pattern, version = kinds[int(rng.random() * 2)]
            created = self.anchor - rng.random() * 500 * DAY
            device_id = okta_id(rng, "guo")
            name = pattern.format(first=user["profile"]["firstName"], n=int(rng.random() * 100000))
            status = "ACTIVE" if rng.random() < 0.95 else "SUSPENDED"
            out.append({
                "id": device_id, "status": status, "created": iso(created),
                "lastUpdated": iso(created + rng.random() * (self.anchor - created)),
                "profile": {"displayName": name, "platform": platform, "manufacturer": maker, "model": model,
                            "osVersion": version, "serialNumber": okta_id(rng, "SN")[2:14].upper(),
                            "registered": True, "secureHardwarePresent": platform != "WINDOWS" or rng.random() < .7,
                            "diskEncryptionType": "ALL_INTERNAL_VOLUMES" if rng.random() < 0.9 else "NONE"},
                "resourceType": "UDDevice", "resourceDisplayName": {"value": name, "sensitive": False},
                "resourceAlternateId": None, "resourceId": device_id,
                "_users": [(user["id"], iso(created), "MANAGED" if rng.random() < 0.7 else "NOT_MANAGED",
                            "BIOMETRIC" if platform in ("IOS", "ANDROID", "MACOS") else "PASSCODE")],
            })
        return out

    def forget_user(self, uid: str) -> None:
        """A deleted user leaves every list here: factors, devices' users, direct app assignments."""
        self.factors.forget(uid)
        for direct in self.app_users.values():
            direct.pop(uid, None)
        with self._device_lock:
            if self._devices is not None:
                for device in self._devices.values():
                    device["_users"] = [u for u in device["_users"] if u[0] != uid]
