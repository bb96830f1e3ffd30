"""Deterministic seed data of the sandbox org: demo apps, demo users, the directory, the System Log.

Everything comes from one ``random.Random(seed)``: the same seed gives the same
ids, names and memberships. Timestamps are laid out relative to the UTC day the
sandbox starts, so "last login more than 90 days ago" stays true on any date.
Objects are built in the exact shapes Okta returns (see the recorded responses
of the okta-sdk-python test cassettes and the Management API spec): same keys,
ISO 8601 timestamps with milliseconds and ``Z``.
"""

from __future__ import annotations

import base64
import gc
import itertools
import random
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

USER_STATUSES = (
    "ACTIVE",
    "STAGED",
    "PROVISIONED",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
)
# Mostly ACTIVE, like a real workforce org.
_STATUS_WEIGHTS = (80, 3, 4, 1, 2, 2, 3, 5)
_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
ORG_SUFFIX = "5d7"
USER_TYPE_ID = "otysandboxdefault5d7"
DAY = 86400

FIRST_NAMES = (
    "Aaliyah Aaron Abigail Adam Adrian Aisha Alan Alejandro Alice Amara Amelia Ana Andrea Andrew Anika Anna Arjun "
    "Ava Beatriz Benjamin Bianca Brandon Caleb Camila Carlos Charlotte Chen Chloe Daniel David Deepa Diego Dmitri "
    "Elena Eli Elif Emily Emma Ethan Fatima Felix Fiona Gabriel Grace Hana Hannah Hiroshi Ian Ingrid Isaac Isabella "
    "Ivan Jack Jamal James Jasmine Javier Jin John Jose Julia Kai Karen Kenji Kevin Kiara Lars Laura Leah Leo Liam "
    "Lina Lucas Luis Maya Mei Mia Michael Mohammed Nadia Naomi Nia Noah Olivia Omar Oscar Priya Rafael Rahul Rosa "
    "Ryan Sakura Samuel Sara Sofia Sven Tariq Thomas Valentina Victor Wei Yusuf Zara Zoe"
).split()
LAST_NAMES = (
    "Abbott Adeyemi Ahmed Alvarez Andersen Bailey Banerjee Becker Bianchi Brown Campbell Chen Chowdhury Clarke "
    "Costa Cruz Dubois Edwards Eriksson Evans Fernandez Fischer Garcia Gomez Gonzalez Gupta Hansen Harris Hernandez "
    "Hoffmann Hughes Ibrahim Ito Jackson Jensen Johnson Jones Kapoor Kaur Kim Kowalski Kumar Larsen Lee Lewis Li "
    "Lopez Martin Martinez Meyer Miller Moreau Morris Murphy Nakamura Nguyen Novak O'Brien Okafor Olsen Park Patel "
    "Perez Petrov Pham Quinn Ramirez Reddy Reyes Rossi Russo Sato Schmidt Schneider Silva Singh Smith Sokolov Suzuki "
    "Tanaka Taylor Thompson Torres Tran Turner Walker Wang Weber Williams Wilson Wong Wright Yamamoto Yilmaz "
    "Young Zhang"
).split()
DEPARTMENTS: dict[str, tuple[str, ...]] = {
    "Engineering": ("Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager", "SRE"),
    "Sales": ("Account Executive", "Sales Development Rep", "Regional Sales Manager", "Sales Engineer"),
    "Marketing": ("Marketing Manager", "Content Strategist", "Product Marketing Manager", "Designer"),
    "Finance": ("Financial Analyst", "Controller", "Accountant", "FP&A Manager"),
    "Human Resources": ("HR Business Partner", "Recruiter", "People Operations Specialist"),
    "IT": ("IT Support Specialist", "Systems Administrator", "Identity Engineer", "IT Manager"),
    "Security": ("Security Analyst", "Security Engineer", "CISO", "GRC Analyst"),
    "Legal": ("Counsel", "Paralegal", "Contracts Manager"),
    "Customer Success": ("Customer Success Manager", "Support Engineer", "Onboarding Specialist"),
    "Operations": ("Operations Analyst", "Program Manager", "Facilities Coordinator"),
}
_DEPT_INDEX = {name: i for i, name in enumerate(DEPARTMENTS)}
DIVISIONS = {
    "Engineering": "Product",
    "Security": "Product",
    "IT": "Operations",
    "Operations": "Operations",
    "Sales": "Go To Market",
    "Marketing": "Go To Market",
    "Customer Success": "Go To Market",
    "Finance": "G&A",
    "Human Resources": "G&A",
    "Legal": "G&A",
}
# city, state (or region), ISO country code, time zone, locale
CITIES = (
    ("San Francisco", "CA", "US", "America/Los_Angeles", "en_US"),
    ("New York", "NY", "US", "America/New_York", "en_US"),
    ("Chicago", "IL", "US", "America/Chicago", "en_US"),
    ("Austin", "TX", "US", "America/Chicago", "en_US"),
    ("Toronto", "ON", "CA", "America/Toronto", "en_CA"),
    ("London", "England", "GB", "Europe/London", "en_GB"),
    ("Dublin", "Leinster", "IE", "Europe/Dublin", "en_IE"),
    ("Berlin", "Berlin", "DE", "Europe/Berlin", "de_DE"),
    ("Paris", "Ile-de-France", "FR", "Europe/Paris", "fr_FR"),
    ("Madrid", "Madrid", "ES", "Europe/Madrid", "es_ES"),
    ("Stockholm", "Stockholm", "SE", "Europe/Stockholm", "sv_SE"),
    ("Bangalore", "Karnataka", "IN", "Asia/Kolkata", "en_IN"),
    ("Tokyo", "Tokyo", "JP", "Asia/Tokyo", "ja_JP"),
    ("Singapore", "Singapore", "SG", "Asia/Singapore", "en_SG"),
    ("Sydney", "NSW", "AU", "Australia/Sydney", "en_AU"),
    ("Sao Paulo", "SP", "BR", "America/Sao_Paulo", "pt_BR"),
)
CLEARANCE_LEVELS = ("Confidential", "Secret", "Restricted")
# The sparse custom attribute appears only from this user on (list order), so on page 3 of 200.
CLEARANCE_FIRST_INDEX = 450
# The typed custom attributes (integer, number, array) every seeded person carries: skills by department,
# and full-time equivalents with the weights employees and contractors are drawn with.
SKILLS: dict[str, tuple[str, ...]] = {
    "Engineering": ("Python", "Go", "Kubernetes", "Terraform", "PostgreSQL", "React"),
    "Sales": ("Negotiation", "Salesforce", "Forecasting", "Public speaking", "Solution selling"),
    "Marketing": ("SEO", "Copywriting", "Figma", "Analytics", "Events"),
    "Finance": ("Excel", "NetSuite", "Budgeting", "SQL", "Audit"),
    "Human Resources": ("Workday", "Recruiting", "Coaching", "Compensation", "Onboarding"),
    "IT": ("Okta", "Jamf", "Intune", "Networking", "PowerShell", "SCIM"),
    "Security": ("Threat hunting", "Splunk", "Incident response", "Okta", "Python", "ISO 27001"),
    "Legal": ("Contracts", "Privacy", "GDPR", "Litigation", "Employment law"),
    "Customer Success": ("Zendesk", "Onboarding", "SQL", "Training", "Escalations"),
    "Operations": ("Project management", "Jira", "Vendor management", "Excel", "Lean"),
}
# Each department's sets of one, two and three skills (in the order above): a draw picks a size, then a set.
_SKILL_SETS = {dept: [list(itertools.combinations(skills, k)) for k in (1, 2, 3)] for dept, skills in SKILLS.items()}
FTE_VALUES = (1.0, 0.8, 0.6, 0.5)
# Cumulative shares of FTE_VALUES: employees 85/10/3/2 %, contractors 50/20/15/15 %.
_FTE_SHARES = {False: (0.85, 0.95, 0.98), True: (0.50, 0.70, 0.85)}


_DAYS: dict[int, str] = {}
# Lookup tables make formatting ~600,000 seeded timestamps cheap (100,000 users seed in seconds).
_TIMES = [f"T{h:02d}:{m:02d}:{sec:02d}" for h in range(24) for m in range(60) for sec in range(60)]
_MILLIS = [f".{ms:03d}Z" for ms in range(1000)]


def _day(days: int) -> str:
    day = _DAYS.get(days)
    if day is None:
        day = _DAYS[days] = time.strftime("%Y-%m-%d", time.gmtime(days * DAY))
    return day


def iso(epoch_seconds: float) -> str:
    """Okta's timestamp format: ISO 8601, UTC, milliseconds, ``Z``."""
    whole = int(epoch_seconds)
    days, rest = divmod(whole, DAY)
    return (_DAYS.get(days) or _day(days)) + _TIMES[rest] + _MILLIS[int((epoch_seconds - whole) * 1000)]


def iso_date(epoch_seconds: float) -> str:
    """The date part only (``2024-05-01``), as date-typed profile attributes hold it."""
    return _DAYS.get(int(epoch_seconds) // DAY) or _day(int(epoch_seconds) // DAY)


_ID_CHARS = bytes.maketrans(b"+/", b"xQ")


def okta_id(rng: random.Random, prefix: str) -> str:
    """A 20-character Okta object id: type prefix, 14 random characters, the org's cell suffix."""
    return prefix + base64.b64encode(rng.randbytes(11)).translate(_ID_CHARS)[:14].decode("ascii") + ORG_SUFFIX


@dataclass
class DemoApp:
    """A registered OAuth client of the sandbox org (its client id is the app id, as in Okta)."""

    name: str
    client_id: str
    client_secret: str | None = field(repr=False)
    redirect_uris: list[str]
    scopes: list[str]
    grant_types: list[str]
    token_endpoint_auth_method: str
    private_key_pem: str | None = field(default=None, repr=False)
    public_key_pem: str | None = field(default=None, repr=False)
    application_type: str = "native"
    label: str = ""
    dpop: bool = False  # "Require Demonstrating Proof of Possession (DPoP) header in token requests"

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"


@dataclass
class DemoUser:
    """A person who can sign in on the sandbox's sign-in page (password shown there)."""

    name: str
    id: str
    login: str
    password: str = field(repr=False)
    role: str | None


DEMO_PEOPLE = (
    # short name, first, last, role, department, title
    ("admin", "Alex", "Admin", "SUPER_ADMIN", "IT", "IT Manager"),
    ("readonly", "Riley", "Reader", "READ_ONLY_ADMIN", "Security", "Security Analyst"),
    ("helpdesk", "Harper", "Helpdesk", "HELP_DESK_ADMIN", "IT", "IT Support Specialist"),
    ("user", "Uma", "User", None, "Marketing", "Content Strategist"),
)
DEMO_PASSWORDS = {name: f"{name.capitalize()}-sandbox-1" for name, *_ in DEMO_PEOPLE}
DEMO_DOMAIN = "example.com"


def loopback_uris(ports: range = range(8765, 8770)) -> list[str]:
    """The registered loopback redirect URIs (RFC 8252 §7.3); Okta matches them exactly, port included."""
    uris = []
    for port in ports:
        uris += [f"http://localhost:{port}/callback", f"http://127.0.0.1:{port}/callback"]
    return uris


def demo_apps(all_read_scopes: list[str], service_key_pems: tuple[str, str], web_secret: str) -> dict[str, DemoApp]:
    """The demo OAuth clients described in docs/sandbox.md."""
    oidc = ["openid", "profile", "email"]
    native_scopes = oidc + all_read_scopes + ["okta.users.read.self", "okta.users.manage", "okta.groups.manage"]
    apps = {
        "native": DemoApp(
            "native",
            "0oasandboxnative05d7",
            None,
            loopback_uris(),
            native_scopes,
            ["authorization_code", "implicit", "urn:ietf:params:oauth:grant-type:device_code"],
            "none",
            label="okta_magic notebooks (native)",
        ),
        "users-only": DemoApp(
            "users-only",
            "0oasandboxusers005d7",
            None,
            loopback_uris(),
            oidc + ["okta.users.read"],
            ["authorization_code"],
            "none",
            label="okta_magic users-only (native)",
        ),
        "offline": DemoApp(
            "offline",
            "0oasandboxoffline5d7",
            None,
            loopback_uris(),
            native_scopes + ["offline_access"],
            ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
            "none",
            label="okta_magic offline (native)",
        ),
        "web": DemoApp(
            "web",
            "0oasandboxweb00005d7",
            web_secret,
            loopback_uris(),
            oidc + all_read_scopes + ["offline_access"],
            ["authorization_code", "refresh_token"],
            "client_secret_basic",
            application_type="web",
            label="okta_magic web (confidential)",
        ),
        "service": DemoApp(
            "service",
            "0oasandboxservice5d7",
            None,
            [],
            ["okta.users.read", "okta.groups.read", "okta.apps.read", "okta.logs.read"],
            ["client_credentials"],
            "private_key_jwt",
            private_key_pem=service_key_pems[0],
            public_key_pem=service_key_pems[1],
            application_type="service",
            label="okta_magic service (API services)",
        ),
    }
    # The same service app with DPoP required, as the Admin Console proposes for new API service apps.
    service = apps["service"]
    apps["service-dpop"] = replace(service, name="service-dpop", client_id="0oasandboxdpop0005d7",
                                   label="okta_magic service (API services, DPoP)", dpop=True,
                                   redirect_uris=[], scopes=list(service.scopes), grant_types=list(service.grant_types))
    return apps


@dataclass
class SeedData:
    """Raw seeded objects, handed to the directory."""

    users: list[dict[str, Any]]
    demo_users: dict[str, DemoUser]
    groups: list[dict[str, Any]]
    members: dict[str, list[str]]
    apps: list[dict[str, Any]]
    app_groups: dict[str, list[str]]
    roles: dict[str, list[str]]
    events: list[dict[str, Any]]


def _user(
    uid: str,
    status: str,
    created: float,
    activated: float | None,
    status_changed: float | None,
    last_login: float | None,
    last_updated: float,
    password_changed: float | None,
    profile: dict[str, Any],
) -> dict[str, Any]:
    return {
        "id": uid,
        "status": status,
        "created": iso(created),
        "activated": iso(activated) if activated is not None else None,
        "statusChanged": iso(status_changed) if status_changed is not None else None,
        "lastLogin": iso(last_login) if last_login is not None else None,
        "lastUpdated": iso(last_updated),
        "passwordChanged": iso(password_changed) if password_changed is not None else None,
        "type": {"id": USER_TYPE_ID},
        "profile": profile,
        "credentials": {
            "password": {},
            "emails": [{"value": profile["email"], "status": "VERIFIED", "type": "PRIMARY"}],
            "provider": {"type": "OKTA", "name": "OKTA"},
        },
    }


def seed(n_users: int, seed_value: int, anchor: float) -> SeedData:
    """Build the whole org: ``n_users`` users (demo users first), groups, apps, roles and log events."""
    # Millions of small dicts and strings, none cyclic: the cycle collector would only rescan them.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _seed(n_users, seed_value, anchor)
    finally:
        if enabled:
            gc.enable()


@dataclass
class _Timeline:
    """When one seeded user was created, activated, changed status, signed in, changed password, was updated."""

    created: float
    activated: float | None = None
    status_changed: float | None = None
    last_login: float | None = None
    password_changed: float | None = None
    last_updated: float = 0.0


def _timeline(rand: Any, status: str, created: float, anchor: float, demo: bool) -> _Timeline:
    """A user's timestamps, consistent with its status; demo people always signed in recently."""
    t = _Timeline(created)
    if status != "STAGED":
        t.activated = created + rand() * 3 * DAY
    if status == "STAGED":
        t.password_changed = created if rand() < 0.5 else None
    elif status == "PROVISIONED":
        t.status_changed = t.activated
    else:
        activated = t.activated
        t.password_changed = activated + rand() * (anchor - activated) * 0.8 if activated else None
        roll = rand()
        if roll < 0.05 and not demo:
            t.last_login = None  # never signed in
        elif roll < 0.20 and not demo:
            t.last_login = anchor - (91 + rand() * 400) * DAY  # stale account: more than 90 days
            if t.last_login < (activated or created):
                t.last_login = (activated or created) + DAY
        else:
            t.last_login = anchor - rand() * 60 * DAY
        if status == "ACTIVE":
            t.status_changed = activated
        else:
            t.status_changed = anchor - rand() * 60 * DAY
            if t.last_login is not None and status == "DEPROVISIONED":
                t.last_login = min(t.last_login, t.status_changed - DAY)
    stamps = (created, t.activated, t.status_changed, t.password_changed)
    t.last_updated = max(stamp for stamp in stamps if stamp is not None)
    if rand() < 0.3:
        t.last_updated = min(anchor - 60, t.last_updated + rand() * 30 * DAY)
    return t


def _profile(
    rand: Any, i: int, names: tuple[str, str, str, str, str], place: tuple[str, str, str, str, str]
) -> dict[str, Any]:
    """The base profile of the i-th user from (first, last, login, department, title) and its city."""
    first, last, login, dept, title = names
    city, state, country, tz, locale = place
    return {
        "firstName": first,
        "lastName": last,
        "mobilePhone": None if rand() < 0.4 else f"+1 555 {int(rand() * 1000):03d} {int(rand() * 10000):04d}",
        "secondEmail": None,
        "login": login,
        "email": login,
        "displayName": f"{first} {last}",
        "title": title,
        "department": dept,
        "division": DIVISIONS[dept],
        "organization": "Sandbox Corp",
        "employeeNumber": str(100000 + i),
        "costCenter": f"CC-{1000 + _DEPT_INDEX[dept] * 10}",
        "userType": "Employee",
        "city": city,
        "state": state,
        "countryCode": country,
        "locale": locale,
        "timezone": tz,
        "preferredLanguage": locale[:2],
    }


def _add_custom_attributes(rand: Any, i: int, profile: dict[str, Any], created: float) -> None:
    """Custom profile attributes, in the mixed case real schemas carry; ``clearanceLevel`` only on some."""
    contractor = rand() < 0.12
    profile["costCenterCode"] = f"{profile['department'][:3].upper()}-{int(rand() * 50):03d}"
    profile["badgeID"] = f"B{int(rand() * 1_000_000):06d}"
    profile["HireDate"] = iso_date(created)
    profile["isContractor"] = contractor
    if contractor:
        profile["userType"] = "Contractor"
    if i >= CLEARANCE_FIRST_INDEX and rand() < 0.15:
        profile["clearanceLevel"] = CLEARANCE_LEVELS[int(rand() * 3)]


def _add_typed_attributes(rng: random.Random, profile: dict[str, Any], created: float, anchor: float) -> None:
    """The integer, number and array custom attributes, from their own generator so that every other
    attribute and object stays as it was for a seed: whole years since the hire date, the share of
    full time worked (contractors are more often part-time) and one to three skills of the department."""
    profile["yearsOfService"] = int((anchor - created) // (365 * DAY))
    roll = rng.random()
    profile["fte"] = FTE_VALUES[sum(roll >= share for share in _FTE_SHARES[bool(profile["isContractor"])])]
    sets = _SKILL_SETS[profile["department"]][int(rng.random() * 3)]
    profile["skills"] = list(sets[int(rng.random() * len(sets))])


class _People:
    """Draws the seeded people one by one: names, unique logins, departments and their heads."""

    def __init__(self, rng: random.Random, n_users: int) -> None:
        self.rand = rng.random
        self.seen_logins: dict[str, int] = {}
        self.dept_names = list(DEPARTMENTS)
        self.dept_heads: dict[str, list[tuple[str, str]]] = {d: [] for d in self.dept_names}
        self.statuses = rng.choices(USER_STATUSES, weights=_STATUS_WEIGHTS, k=max(n_users, 1))

    def identity(self, i: int) -> tuple[tuple[str, str, str, str, str], str]:
        """(first, last, login, department, title) and the status of the i-th user; demo people come first."""
        if i < len(DEMO_PEOPLE):
            short, first, last, _, dept, title = DEMO_PEOPLE[i]
            return (first, last, f"{short}@{DEMO_DOMAIN}", dept, title), "ACTIVE"
        rand = self.rand
        first = FIRST_NAMES[int(rand() * len(FIRST_NAMES))]
        last = LAST_NAMES[int(rand() * len(LAST_NAMES))]
        dept = self.dept_names[int(rand() * len(self.dept_names))]
        titles = DEPARTMENTS[dept]
        title = titles[int(rand() * len(titles))]
        base = f"{first}.{last}".lower().replace("'", "")
        k = self.seen_logins.get(base, 0) + 1
        self.seen_logins[base] = k
        login = f"{base}@{DEMO_DOMAIN}" if k == 1 else f"{base}{k}@{DEMO_DOMAIN}"
        return (first, last, login, dept, title), self.statuses[i]

    def assign_manager(self, i: int, uid: str, status: str, profile: dict[str, Any]) -> None:
        """A manager from the department's first active people; the first five active become its heads."""
        heads = self.dept_heads[profile["department"]]
        if heads and i >= len(DEMO_PEOPLE):
            head_id, head_name = heads[int(self.rand() * len(heads))]
            profile["manager"] = head_name
            profile["managerId"] = head_id
        if len(heads) < 5 and status == "ACTIVE":
            heads.append((uid, profile["displayName"]))


def _seed(n_users: int, seed_value: int, anchor: float) -> SeedData:
    """The whole org from one generator; the order of draws is what makes a seed reproducible."""
    rng = random.Random(seed_value)
    rand = rng.random
    users: list[dict[str, Any]] = []
    demo_users: dict[str, DemoUser] = {}
    people = _People(rng, n_users)
    typed = random.Random(f"{seed_value}-profile-extra")  # its own stream: the draws above stay as they were
    for i in range(n_users):
        uid = okta_id(rng, "00u")
        names, status = people.identity(i)
        if i < len(DEMO_PEOPLE):
            short, role = DEMO_PEOPLE[i][0], DEMO_PEOPLE[i][3]
            demo_users[short] = DemoUser(short, uid, names[2], DEMO_PASSWORDS[short], role)
        place = CITIES[int(rand() * len(CITIES))] if i else CITIES[0]
        created = anchor - (30 + rand() * 1800) * DAY - rand() * DAY
        t = _timeline(rand, status, created, anchor, demo=i < len(DEMO_PEOPLE))
        profile = _profile(rand, i, names, place)
        people.assign_manager(i, uid, status, profile)
        _add_custom_attributes(rand, i, profile, created)
        _add_typed_attributes(typed, profile, created, anchor)
        stamps = (t.activated, t.status_changed, t.last_login, t.last_updated, t.password_changed)
        users.append(_user(uid, status, created, *stamps, profile))

    groups, members = _groups(rng, users, anchor)
    apps, app_groups = _apps(rng, groups, anchor)
    roles: dict[str, list[str]] = {d.id: [d.role] for d in demo_users.values() if d.role}
    extra_roles = ("ORG_ADMIN", "APP_ADMIN", "USER_ADMIN", "REPORT_ADMIN", "GROUP_MEMBERSHIP_ADMIN")
    for role in extra_roles:
        if n_users > 20:
            uid = users[len(DEMO_PEOPLE) + int(rand() * (n_users - len(DEMO_PEOPLE)))]["id"]
            roles.setdefault(uid, []).append(role)
    events = _events(rng, users, groups, apps, anchor)
    return SeedData(users, demo_users, groups, members, apps, app_groups, roles, events)


_LOGOS = [
    {
        "name": "medium",
        "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-medium.30ce6d4085dff29412984e4c191bc874.png",
        "type": "image/png",
    },
    {
        "name": "large",
        "href": "https://ok12static.oktacdn.com/assets/img/logos/groups/odyssey/okta-large.c3cb8cda8ae0add1b4fe928f5844dbe3.png",
        "type": "image/png",
    },
]


def group_object(
    gid: str, name: str, description: str | None, kind: str, created: str, updated: str, membership_updated: str
) -> dict[str, Any]:
    """A group in Okta's shape (``_links`` is filled in per org URL at serialization time)."""
    return {
        "id": gid,
        "created": created,
        "lastUpdated": updated,
        "lastMembershipUpdated": membership_updated,
        "objectClass": ["okta:user_group"],
        "type": kind,
        "profile": {"name": name, "description": description},
    }


def _groups(
    rng: random.Random, users: list[dict[str, Any]], anchor: float
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    org_created = anchor - 2000 * DAY
    groups: list[dict[str, Any]] = []
    members: dict[str, list[str]] = {}

    def add(name: str, description: str | None, kind: str = "OKTA_GROUP") -> str:
        gid = okta_id(rng, "00g")
        created = org_created + rng.random() * 100 * DAY
        groups.append(
            group_object(
                gid,
                name,
                description,
                kind,
                iso(created),
                iso(created + rng.random() * 300 * DAY),
                iso(anchor - rng.random() * 10 * DAY),
            )
        )
        members[gid] = []
        return gid

    everyone = add("Everyone", "All users in your organization", "BUILT_IN")
    by_dept = {d: add(d, f"Everyone in {d}") for d in DEPARTMENTS}
    by_city = {c[0]: add(f"Office - {c[0]}", f"People based in {c[0]}") for c in CITIES}
    contractors = add("Contractors", "Non-employee workers")
    vpn = add("VPN Users", "May connect to the corporate VPN")
    admins = add("Okta Administrators", "People holding an Okta admin role")
    demo = add("Sandbox Demo Users", "The demo people who can sign in to the sandbox org")
    managers = add("People Managers", None)
    for i, user in enumerate(users):
        uid = user["id"]
        profile = user["profile"]
        members[everyone].append(uid)
        members[by_dept[profile["department"]]].append(uid)
        members[by_city[profile["city"]]].append(uid)
        if profile["isContractor"]:
            members[contractors].append(uid)
        if rng.random() < 0.3:
            members[vpn].append(uid)
        if i < len(DEMO_PEOPLE):
            members[demo].append(uid)
            if DEMO_PEOPLE[i][3]:
                members[admins].append(uid)
        if "Manager" in profile["title"]:
            members[managers].append(uid)
    return groups, members


_LINK_NAMES = {"BOOKMARK": "login", "saasure": "admin", "oidc_client": "oidc_client_link"}


def app_object(
    app_id: str,
    name: str,
    label: str,
    sign_on_mode: str,
    status: str,
    created: str,
    updated: str,
    extra_settings: dict[str, Any] | None = None,
    credentials: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An application in Okta's list shape (``_links`` filled in per org URL at serialization time)."""
    settings: dict[str, Any] = {
        "app": {},
        "notifications": {"vpn": {"network": {"connection": "DISABLED"}, "message": None, "helpUrl": None}},
        "manualProvisioning": False,
        "implicitAssignment": False,
    }
    settings.update(extra_settings or {})
    creds: dict[str, Any] = {"userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"}, "signing": {}}
    creds.update(credentials or {})
    return {
        "id": app_id,
        "orn": f"orn:okta:idp:00osandboxorg0000{ORG_SUFFIX}:apps:{name}:{app_id}",
        "name": name,
        "label": label,
        "status": status,
        "lastUpdated": updated,
        "created": created,
        "accessibility": {"selfService": False, "errorRedirectUrl": None, "loginRedirectUrl": None},
        "visibility": ({"autoLaunch": False} if sign_on_mode == "BOOKMARK" else {})
        | {
            "autoSubmitToolbar": False,
            "hide": {"iOS": False, "web": False},
            "appLinks": {_LINK_NAMES.get(sign_on_mode, _LINK_NAMES.get(name, name)): True},
        },
        "features": [],
        "signOnMode": sign_on_mode,
        "credentials": creds,
        "universalLogout": None,
        "settings": settings,
    }


BOOKMARKS = (
    ("Company Wiki", "https://wiki.example.com/"),
    ("Expense Reports", "https://expenses.example.com/"),
    ("Benefits Portal", "https://benefits.example.com/"),
    ("IT Help Desk", "https://help.example.com/"),
)
SAML_APPS = (
    ("salesforce", "Salesforce.com"),
    ("slack", "Slack"),
    ("zoomus", "Zoom"),
    ("githubcloud", "GitHub Enterprise Cloud"),
    ("workday", "Workday"),
    ("amazon_aws", "AWS Account Federation"),
)


def _apps(
    rng: random.Random, groups: list[dict[str, Any]], anchor: float
) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Okta's built-in apps, some bookmark and SAML apps; the demo OAuth clients are added by the directory."""
    apps: list[dict[str, Any]] = []
    app_groups: dict[str, list[str]] = {}
    gid = {g["profile"]["name"]: g["id"] for g in groups}
    kid = "".join(rng.choices(_ALNUM + "-_", k=43))

    def stamp() -> tuple[str, str]:
        created = anchor - (200 + rng.random() * 1500) * DAY
        return iso(created), iso(created + rng.random() * 150 * DAY)

    for name, label in (
        ("saasure", "Okta Admin Console"),
        ("okta_enduser", "Okta Dashboard"),
        ("okta_browser_plugin", "Okta Browser Plugin"),
    ):
        app_id = okta_id(rng, "0oa")
        apps.append(
            app_object(app_id, name, label, "OPENID_CONNECT", "ACTIVE", *stamp(), credentials={"signing": {"kid": kid}})
        )
        app_groups[app_id] = [gid["Okta Administrators"]] if name == "saasure" else [gid["Everyone"]]
    for label, url in BOOKMARKS:
        app_id = okta_id(rng, "0oa")
        apps.append(
            app_object(
                app_id,
                "bookmark",
                label,
                "BOOKMARK",
                "ACTIVE",
                *stamp(),
                extra_settings={
                    "app": {"requestIntegration": False, "url": url},
                    "notes": {"admin": None, "enduser": None},
                },
            )
        )
        app_groups[app_id] = [gid["Everyone"]]
    for i, (name, label) in enumerate(SAML_APPS):
        app_id = okta_id(rng, "0oa")
        status = "INACTIVE" if i == len(SAML_APPS) - 1 else "ACTIVE"
        apps.append(
            app_object(
                app_id,
                name,
                label,
                "SAML_2_0",
                status,
                *stamp(),
                extra_settings={
                    "notes": {"admin": None, "enduser": None},
                    "signOn": {
                        "defaultRelayState": None,
                        "ssoAcsUrlOverride": None,
                        "audienceOverride": None,
                        "recipientOverride": None,
                        "destinationOverride": None,
                        "attributeStatements": [],
                    },
                },
                credentials={"signing": {"kid": kid}},
            )
        )
        depts = list(DEPARTMENTS)
        app_groups[app_id] = [gid[depts[(i * 3 + k) % len(depts)]] for k in range(3)]
    return apps, app_groups


_EVENT_KINDS = (
    ("user.session.start", "User login to Okta", "core.user_auth.login_success"),
    ("user.authentication.sso", "User single sign on to app", "app.auth.sso"),
    ("user.authentication.auth_via_mfa", "Authentication of user via MFA", "core.user.factor.attempt_success"),
    ("policy.evaluate_sign_on", "Evaluation of sign-on policy", None),
    ("user.session.end", "User logout from Okta", "core.user_auth.logout_success"),
)
_BROWSERS = (
    (
        "CHROME",
        "Mac OS X",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/127.0.0.0 Safari/537.36",
    ),
    ("FIREFOX", "Windows 10", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"),
    (
        "SAFARI",
        "iOS",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
    ),
)
_GEO = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "DE": "Germany",
    "FR": "France",
    "ES": "Spain",
    "SE": "Sweden",
    "IN": "India",
    "JP": "Japan",
    "SG": "Singapore",
    "AU": "Australia",
    "BR": "Brazil",
}


def actor_of(user: dict[str, Any] | None, client_id: str | None = None) -> dict[str, Any]:
    """The ``actor`` block of a log event: a user, or an OAuth client acting alone."""
    if user is None:
        return {
            "id": client_id,
            "type": "PublicClientApp",
            "alternateId": client_id,
            "displayName": client_id,
            "detailEntry": None,
        }
    return target_user(user)


def target_user(user: dict[str, Any]) -> dict[str, Any]:
    """A user as the actor or a target of a log event."""
    p = user["profile"]
    return {
        "id": user["id"],
        "type": "User",
        "alternateId": p["login"],
        "displayName": f"{p['firstName']} {p['lastName']}",
        "detailEntry": None,
    }


def log_event(
    published: float,
    event_type: str,
    message: str,
    legacy: str | None,
    actor: dict[str, Any],
    targets: list[dict[str, Any]],
    result: str = "SUCCESS",
    reason: str | None = None,
    ip: str = "127.0.0.1",
    city: str | None = None,
    country: str | None = None,
    browser: tuple[str, str, str] = _BROWSERS[0],
    event_uuid: str | None = None,
    request_id: str | None = None,
) -> dict[str, Any]:
    """A System Log event in the shape of the spec's LogEvent / ListLogs example."""
    geo = {
        "city": city,
        "state": None,
        "country": country,
        "postalCode": None,
        "geolocation": None if city is None else {"lat": 0.0, "lon": 0.0},
    }
    req_id = request_id or uuid.uuid4().hex
    return {
        "actor": actor,
        "client": {
            "userAgent": {"rawUserAgent": browser[2], "os": browser[1], "browser": browser[0]},
            "zone": "null",
            "device": "Computer",
            "id": None,
            "ipAddress": ip,
            "geographicalContext": geo,
        },
        "device": None,
        "authenticationContext": {
            "authenticationProvider": None,
            "credentialProvider": None,
            "credentialType": None,
            "issuer": None,
            "interface": None,
            "authenticationStep": 0,
            "rootSessionId": None,
            "externalSessionId": None,
        },
        "displayMessage": message,
        "eventType": event_type,
        "outcome": {"result": result, "reason": reason},
        "published": iso(published),
        "securityContext": {"asNumber": None, "asOrg": None, "isp": None, "domain": None, "isProxy": None},
        "severity": "INFO" if result == "SUCCESS" else "WARN",
        "debugContext": {"debugData": {"requestId": req_id}},
        "legacyEventType": legacy,
        "transaction": {"type": "WEB", "id": req_id, "detail": {}},
        "uuid": event_uuid or str(uuid.uuid4()),
        "version": "0",
        "request": {"ipChain": [{"ip": ip, "geographicalContext": geo, "version": "V4", "source": None}]},
        "target": targets,
    }


def _uuid(rng: random.Random) -> str:
    """A seeded event uuid (version 1 in form, like Okta's)."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=1))


def _request_id(rng: random.Random) -> str:
    """A seeded request id: 32 hex digits."""
    return f"{rng.getrandbits(128):032x}"


def _app_target(app: dict[str, Any]) -> dict[str, Any]:
    """An app as the target of a log event."""
    return {
        "id": app["id"],
        "type": "AppInstance",
        "alternateId": app["label"],
        "displayName": app["label"],
        "detailEntry": None,
    }


def _sign_in_events(
    rng: random.Random, user: dict[str, Any], sso_apps: list[dict[str, Any]], anchor: float
) -> list[dict[str, Any]]:
    """One to three of a user's own sign-in events over the last 30 days, from one IP and browser."""
    p = user["profile"]
    city, country = p["city"], _GEO.get(p["countryCode"])
    ip = f"203.0.113.{int(rng.random() * 250 + 1)}"
    browser = _BROWSERS[int(rng.random() * len(_BROWSERS))]
    actor = actor_of(user)
    events: list[dict[str, Any]] = []
    for _ in range(1 + int(rng.random() * 3)):
        kind, message, legacy = _EVENT_KINDS[int(rng.random() * len(_EVENT_KINDS))]
        when = anchor - rng.random() * 30 * DAY
        targets: list[dict[str, Any]] = []
        result, reason = "SUCCESS", None
        if kind == "user.authentication.sso" and sso_apps:
            targets = [_app_target(sso_apps[int(rng.random() * len(sso_apps))])]
        elif kind == "user.session.start" and rng.random() < 0.15:
            result, reason = "FAILURE", "INVALID_CREDENTIALS"
        events.append(
            log_event(
                when,
                kind,
                message,
                legacy,
                actor,
                targets,
                result,
                reason,
                ip,
                city,
                country,
                browser,
                _uuid(rng),
                _request_id(rng),
            )
        )
    return events


_STATUS_EVENTS = {
    "SUSPENDED": ("user.lifecycle.suspend", "Suspend Okta user"),
    "DEPROVISIONED": ("user.lifecycle.deactivate", "Deactivate Okta user"),
    "LOCKED_OUT": ("user.account.lock", "Max sign in attempts exceeded"),
}


def _status_event(
    rng: random.Random, user: dict[str, Any], admin: dict[str, Any], anchor: float
) -> dict[str, Any] | None:
    """The event that put a suspended, deactivated or locked-out user in that status, if in the last 90 days."""
    if user["status"] not in _STATUS_EVENTS or not user["statusChanged"]:
        return None
    event_type, message = _STATUS_EVENTS[user["status"]]
    when = time.mktime(time.strptime(user["statusChanged"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    if when <= anchor - 90 * DAY:
        return None
    return log_event(
        when,
        event_type,
        message,
        None,
        actor_of(admin),
        [target_user(user)],
        ip="198.51.100.7",
        event_uuid=_uuid(rng),
        request_id=_request_id(rng),
    )


def _membership_event(
    rng: random.Random, user: dict[str, Any], dept: dict[str, Any], admin: dict[str, Any], anchor: float
) -> dict[str, Any]:
    """An admin adding the user to their department's group, some time in the last 30 days."""
    when = anchor - rng.random() * 30 * DAY
    group = {
        "id": dept["id"],
        "type": "UserGroup",
        "alternateId": "unknown",
        "displayName": dept["profile"]["name"],
        "detailEntry": None,
    }
    return log_event(
        when,
        "group.user_membership.add",
        "Add user to group membership",
        None,
        actor_of(admin),
        [target_user(user), group],
        ip="198.51.100.7",
        event_uuid=_uuid(rng),
        request_id=_request_id(rng),
    )


def _events(
    rng: random.Random,
    users: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    apps: list[dict[str, Any]],
    anchor: float,
) -> list[dict[str, Any]]:
    """Seeded System Log events over the last 30 days for (at most) the first 2,000 users."""
    events: list[dict[str, Any]] = []
    sso_apps = [a for a in apps if a["signOnMode"] != "OPENID_CONNECT" and a["status"] == "ACTIVE"]
    group_by_name = {g["profile"]["name"]: g for g in groups}
    for user in users[:2000]:
        events += _sign_in_events(rng, user, sso_apps, anchor)
        changed = _status_event(rng, user, users[0], anchor)
        if changed is not None:
            events.append(changed)
        dept = group_by_name.get(user["profile"]["department"])
        if dept is not None and rng.random() < 0.1:
            events.append(_membership_event(rng, user, dept, users[0], anchor))
    events.sort(key=lambda e: e["published"])
    return events
