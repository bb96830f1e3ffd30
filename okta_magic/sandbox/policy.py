"""What the sandbox org lets a request do: scopes, admin roles, rate limits, fault-injection knobs.

Scope rules come from the packaged scope catalogue (Okta's OpenAPI spec; ``.manage``
covers ``.read``). Role rules follow Okta's standard admin roles, reduced to the
Management API subset the sandbox serves. Rate limits are per endpoint bucket over
a 60-second window that starts with the bucket's first request (Okta's windows are
not aligned to the minute) and runs on the sandbox clock; the limits are one column of
Okta's "Management rate limits" table (Workforce Identity unless another tier is
asked for). Knobs inject latency (for all API requests, or per path pattern), 5xx,
429 and dropped connections with their own seeded random generator.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from okta_magic.scopes import catalogue, missing_scopes

WINDOW_SECONDS = 60
# Okta's "Management rate limits" table (developer.okta.com/docs/reference/rl-global-mgmt/), per
# minute, one column per org type. "/api/v1" is "Most other API actions"; "/oauth2/v1" is "OAuth2
# requests for the Org Authorization Server" (except /oauth2/v1/clients and the public metadata
# endpoints, which are not rate-limited: /oauth2/v1/keys and /.well-known/*).
RATE_LIMIT_TIERS: dict[str, dict[str, int]] = {
    "workforce": {
        "/api/v1": 1200,
        "/api/v1/users": 600,
        "/api/v1/users/{id}": 2000,
        "/api/v1/groups": 500,
        "/api/v1/groups/{id}": 1000,
        "/api/v1/apps": 100,
        "/api/v1/apps/{id}": 500,
        "/api/v1/logs": 120,
        "/oauth2/v1": 2000,
    },
    "enterprise": {
        "/api/v1": 600,
        "/api/v1/users": 600,
        "/api/v1/users/{id}": 1000,
        "/api/v1/groups": 600,
        "/api/v1/groups/{id}": 600,
        "/api/v1/apps": 100,
        "/api/v1/apps/{id}": 600,
        "/api/v1/logs": 50,
        "/oauth2/v1": 1200,
    },
    "one-app": {
        "/api/v1": 300,
        "/api/v1/users": 300,
        "/api/v1/users/{id}": 300,
        "/api/v1/groups": 300,
        "/api/v1/groups/{id}": 300,
        "/api/v1/apps": 25,
        "/api/v1/apps/{id}": 300,
        "/api/v1/logs": 25,
        "/oauth2/v1": 600,
    },
    "developer": {
        "/api/v1": 100,
        "/api/v1/users": 100,
        "/api/v1/users/{id}": 100,
        "/api/v1/groups": 100,
        "/api/v1/groups/{id}": 100,
        "/api/v1/apps": 20,
        "/api/v1/apps/{id}": 100,
        "/api/v1/logs": 20,
        "/oauth2/v1": 300,
    },
}
DEFAULT_TIER = "workforce"
DEFAULT_RATE_LIMITS: dict[str, int] = RATE_LIMIT_TIERS[DEFAULT_TIER]
# Okta's "Concurrent rate limits" (developer.okta.com/docs/reference/rl-additional-limits/): 75
# simultaneous requests per org for Workforce and Customer Identity orgs, 35 for Integrator Free
# Plan orgs (the successor of the free developer org).
CONCURRENCY_LIMITS: dict[str, int] = {"workforce": 75, "enterprise": 75, "one-app": 75, "developer": 35}
# Public metadata endpoints are not rate-limited (Okta: "Management rate limits", note).
UNLIMITED_PREFIXES = ("/oauth2/v1/keys", "/oauth2/v1/clients")


def tier_limits(rate_limits: Mapping[str, int] | str | None) -> tuple[dict[str, int], int]:
    """Per-bucket limits and the concurrency limit for a tier name or a mapping over the default tier."""
    if isinstance(rate_limits, str):
        if rate_limits not in RATE_LIMIT_TIERS:
            raise ValueError(f"rate_limits={rate_limits!r}: choose one of {', '.join(RATE_LIMIT_TIERS)}, or a dict")
        return dict(RATE_LIMIT_TIERS[rate_limits]), CONCURRENCY_LIMITS[rate_limits]
    return {**DEFAULT_RATE_LIMITS, **(rate_limits or {})}, CONCURRENCY_LIMITS[DEFAULT_TIER]


FULL_ADMIN = frozenset({"SUPER_ADMIN", "ORG_ADMIN"})
READ_ADMIN = frozenset({"READ_ONLY_ADMIN", "REPORT_ADMIN"})
HELP_DESK = frozenset({"HELP_DESK_ADMIN", "USER_ADMIN", "GROUP_MEMBERSHIP_ADMIN"})
HELP_DESK_LIFECYCLE = frozenset({"unlock", "reset_password", "unsuspend", "reset_factors"})


def needed_scopes(method: str, path: str) -> tuple[str, ...]:
    """The scopes Okta requires for a request; empty for operations outside the catalogue."""
    return catalogue().scopes_for(method, path)


def first_missing_scope(method: str, path: str, held: Iterable[str], self_read: bool) -> str | None:
    """The scope to name in ``WWW-Authenticate`` when the token lacks one, else None.

    ``okta.users.read.self`` is enough to read one's own user ("Scope naming":
    ``.self`` limits the scope to the signed-in user).
    """
    held = list(held)
    needed = needed_scopes(method, path)
    if not needed:
        return None
    if self_read and method == "GET" and "okta.users.read.self" in held:
        return None  # one's own user by id as well as by /me
    missing = missing_scopes(held, needed, path=path)
    return missing[0] if missing else None


# What the read-only administrator reads beyond the directory: the org's security configuration
# (Okta: "Read-only Administrator: view everything in the Admin Console" but API tokens).
CONFIG_RESOURCES = frozenset({"iam", "policies", "zones", "idps", "authorizationServers", "trustedOrigins",
                              "authenticators", "devices", "meta"})
# The parts of a user a help desk admin works with (Okta: Help Desk Administrator resets factors).
HELP_DESK_USER_PARTS = frozenset({"groups", "factors", "authenticator-enrollments", "appLinks", "devices"})


def role_allows(roles: set[str], method: str, path: str, is_self: bool) -> bool:
    """True when the caller's admin roles permit the call (403 E0000006 otherwise).

    ``roles`` holds role types, and for a custom role its permissions (``okta.users.read`` ...), which allow
    what the scope of the same name allows. Granting and revoking roles is the super admin's alone.
    """
    parts = [p for p in path.split("/") if p][2:]  # drop "api", "v1"
    resource = parts[0] if parts else ""
    if "SUPER_ADMIN" in roles:
        return True
    if method != "GET" and (resource == "iam" or "roles" in parts or resource == "api-tokens"):
        return False  # Okta: only a super admin assigns admin roles
    if roles & FULL_ADMIN:
        return True
    if is_self and method == "GET" and resource == "users" and (len(parts) == 2 or parts[2:] == ["groups"]):
        return True
    if roles & READ_ADMIN and method == "GET" and resource in ("users", "groups", "apps", "logs") and (
            "READ_ONLY_ADMIN" in roles or not (len(parts) > 2 and parts[2] in ("factors", "roles"))):
        return True  # a report admin reads the directory and the System Log, not who holds roles or factors
    if "READ_ONLY_ADMIN" in roles and method == "GET" and resource in CONFIG_RESOURCES:
        return True
    if roles & HELP_DESK and _help_desk_allows(method, resource, parts):
        return True
    if "APP_ADMIN" in roles:
        if resource == "apps" or (method == "GET" and resource in ("users", "groups")):
            return True
    return _custom_allows(roles, method, path)


def _help_desk_allows(method: str, resource: str, parts: list[str]) -> bool:
    """Help desk, group and group membership admins: read people and groups, unlock, reset, unenrol factors."""
    if method == "GET" and resource in ("users", "groups") and "roles" not in parts:
        return len(parts) <= 2 or resource == "groups" or parts[2] in HELP_DESK_USER_PARTS
    if method == "POST" and resource == "users" and len(parts) == 4 and parts[2] == "lifecycle":
        return parts[3] in HELP_DESK_LIFECYCLE
    return method == "DELETE" and resource == "users" and len(parts) == 4 and parts[2] == "factors"


def _custom_allows(roles: set[str], method: str, path: str) -> bool:
    """A custom role's permissions allow what the Okta scopes of the same names allow (reads only here)."""
    permissions = [r for r in roles if r.startswith("okta.")]
    if not permissions or method != "GET":
        return False
    needed = needed_scopes(method, path)
    return bool(needed) and not missing_scopes(permissions, needed)


def _bucket_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts) + r"(?:/|\Z)")


def _specificity(template: str) -> tuple[int, int]:
    """Sort key that puts the most specific template first: more segments, then fewer wildcards."""
    return (-template.count("/"), template.count("{"))


@dataclass
class Window:
    start: float = 0.0
    count: int = 0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    reset: int


class RateLimiter:
    """Per-bucket request counters; the most specific bucket that matches a path wins."""

    def __init__(self, limits: Mapping[str, int] | str | None, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits, self.concurrency_limit = tier_limits(limits)
        self._windows: dict[str, Window] = {}
        self._order: list[tuple[str, re.Pattern[str]]] = []
        self._resort()

    def _resort(self) -> None:
        self._order = [(t, _bucket_regex(t)) for t in sorted(self._limits, key=_specificity)]

    def set_limit(self, bucket: str, per_minute: int) -> None:
        with self._lock:
            self._limits[bucket] = per_minute
            self._windows.pop(bucket, None)
            self._resort()

    def bucket_for(self, path: str) -> str:
        """The bucket of an ``/api/v1`` path: the most specific template that matches, else ``/api/v1``."""
        for template, regex in self._order:
            if regex.match(path):
                return template
        return "/api/v1"

    def limited_bucket(self, path: str) -> str | None:
        """The bucket a request counts against, or None for endpoints Okta does not rate-limit."""
        if path.startswith("/api/"):
            return self.bucket_for(path)
        if not path.startswith("/oauth2/v1/") or path.startswith(UNLIMITED_PREFIXES):
            return None
        bucket = self.bucket_for(path)
        return bucket if bucket.startswith("/oauth2/") else None

    def limits(self) -> dict[str, int]:
        """The per-minute limit of every bucket."""
        with self._lock:
            return dict(self._limits)

    def hit(self, path: str) -> RateDecision:
        """Count one request against its bucket and say whether it may proceed."""
        bucket = self.bucket_for(path)
        now = self._clock()
        with self._lock:
            limit = self._limits[bucket]
            window = self._windows.setdefault(bucket, Window(float(int(now)), 0))
            if now >= window.start + WINDOW_SECONDS or now < window.start - 1:
                # Whole seconds, so X-Rate-Limit-Reset is exactly the window's end.
                window.start, window.count = float(int(now)), 0
            reset = int(window.start) + WINDOW_SECONDS
            if window.count >= limit:
                return RateDecision(False, limit, 0, reset)
            window.count += 1
            return RateDecision(True, limit, limit - window.count, reset)

    def peek(self, path: str) -> RateDecision:
        """The headers for a forced 429 (the ``rate_429`` knob): current limit, nothing left."""
        bucket = self.bucket_for(path)
        now = self._clock()
        with self._lock:
            window = self._windows.setdefault(bucket, Window(float(int(now)), 0))
            return RateDecision(False, self._limits[bucket], 0, int(window.start) + WINDOW_SECONDS)


class Knobs:
    """Test knobs: added latency, random 5xx, random 429, dropped connections (seeded RNG)."""

    def __init__(
        self, seed: int, latency: float = 0.0, error_rate: float = 0.0, rate_429: float = 0.0, drop_rate: float = 0.0
    ) -> None:
        self._rng = random.Random(seed ^ 0x5A17D0)
        self._lock = threading.Lock()
        self.latency = latency
        self.error_rate = error_rate
        self.rate_429 = rate_429
        self.drop_rate = drop_rate
        self._latencies: list[tuple[str, re.Pattern[str], float]] = []

    def __repr__(self) -> str:
        return (
            f"Knobs(latency={self.latency}, error_rate={self.error_rate}, rate_429={self.rate_429}, "
            f"drop_rate={self.drop_rate}, latencies={self.latencies()})"
        )

    def set_latency(self, pattern: str, seconds: float | None) -> None:
        """Latency for the paths a template matches (``/api/v1/groups/{id}/users``); None removes it."""
        if seconds is not None and seconds < 0:
            raise ValueError("latency: seconds >= 0")
        if not pattern.startswith("/"):
            raise ValueError(f"latency pattern {pattern!r} must be a path starting with '/'")
        with self._lock:
            kept = {t: v for t, _, v in self._latencies if t != pattern}
            if seconds is not None:
                kept[pattern] = float(seconds)
            ordered = sorted(kept, key=_specificity)
            self._latencies = [(t, _bucket_regex(t), kept[t]) for t in ordered]

    def latencies(self) -> dict[str, float]:
        """The per-pattern latencies set with :meth:`set_latency`."""
        return {t: v for t, _, v in self._latencies}

    def latency_for(self, path: str) -> float:
        """Seconds to hold a request: the most specific pattern's, else ``latency`` for ``/api/`` paths."""
        for _, regex, seconds in self._latencies:
            if regex.match(path):
                return seconds
        return self.latency if path.startswith("/api/") else 0.0

    def set(
        self,
        latency: float | None = None,
        error_rate: float | None = None,
        rate_429: float | None = None,
        drop_rate: float | None = None,
    ) -> None:
        with self._lock:
            for name, value in (
                ("latency", latency),
                ("error_rate", error_rate),
                ("rate_429", rate_429),
                ("drop_rate", drop_rate),
            ):
                if value is not None:
                    if value < 0 or (name != "latency" and value > 1):
                        raise ValueError(f"{name} must be between 0 and 1 (latency: seconds >= 0)")
                    setattr(self, name, float(value))

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        if rate >= 1:
            return True
        with self._lock:
            return self._rng.random() < rate

    def pick(self, options: tuple[int, ...]) -> int:
        with self._lock:
            return options[int(self._rng.random() * len(options))]
