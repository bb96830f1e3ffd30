"""The sandbox's Management API subset: users, groups, apps, admin roles, System Log.

Owns request handling under ``/api/v1``: authentication (Bearer access tokens and
``SSWS`` API tokens), the scope check (from the scope catalogue), the admin-role
check, rate-limit headers and 429s, the fault knobs, Okta's cursor paging
(``limit`` + opaque ``after``; one ``Link`` header line per rel, RFC 8288, absolute
URLs on the org host) and Okta's error bodies (errorCode, errorSummary, errorLink,
errorId, errorCauses).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox import data
from okta_magic.sandbox.data import iso
from okta_magic.sandbox.directory import Listing
from okta_magic.sandbox.policy import RateDecision, first_missing_scope, role_allows
from okta_magic.sandbox.search import (
    SearchError,
    allow_group_filter,
    allow_log_filter,
    allow_user_filter,
    allow_user_search,
    compile_expression,
)
from okta_magic.sandbox.state import OrgState
from okta_magic.sandbox.tokens import DPoPRefused

USERS_MAX_LIMIT = 200
GROUPS_MAX_LIMIT = 10000
MEMBERS_MAX_LIMIT = 1000
APPS_MAX_LIMIT = 200
LOGS_MAX_LIMIT = 1000
LOG_DEFAULT_WINDOW = 7 * 86400  # System Log: since defaults to 7 days before until
LOG_MAX_SINCE = 180 * 86400  # System Log query guide: since more than 180 days back is E0000053
LOG_Q_MAX_ITEM = 40  # System Log: q keywords are at most 40 characters ...
LOG_Q_MAX_ITEMS = 10  # ... and at most 10 of them
# System Log query guide: co on these two attributes is an unsupported combination (E0000031).
LOG_NO_CONTAINS = frozenset({"debugContext.debugData.url", "debugContext.debugData.requestUri"})
LIFECYCLE_ALLOWED = {
    # operation: statuses it applies to (Okta answers E0000038 otherwise)
    "activate": ("STAGED", "DEPROVISIONED"),
    "reactivate": ("PROVISIONED",),
    "deactivate": ("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"),
    "suspend": ("ACTIVE",),
    "unsuspend": ("SUSPENDED",),
    "unlock": ("LOCKED_OUT",),
    "reset_password": ("ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT"),
    "expire_password": ("ACTIVE", "RECOVERY", "LOCKED_OUT"),
    "reset_factors": ("STAGED", "PROVISIONED", "ACTIVE", "RECOVERY", "PASSWORD_EXPIRED", "LOCKED_OUT", "SUSPENDED"),
}
# Base profile attributes Okta returns as null when a new user is created without them (recorded createUser).
CREATED_PROFILE_DEFAULTS = ("mobilePhone", "secondEmail")
USER_REQUIRED = ("firstName", "lastName", "email", "login")


class ApiProblem(Exception):
    """Raised inside a handler to answer with an Okta error body."""

    def __init__(self, status: int, code: str, summary: str, causes: tuple[str, ...] = ()) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = status, code, summary, causes


def not_found(what: str, kind: str) -> ApiProblem:
    return ApiProblem(404, "E0000007", f"Not found: Resource not found: {what} ({kind})")


def bad_cursor() -> ApiProblem:
    return ApiProblem(400, "E0000029", "Invalid paging request.", ("Invalid cursor.",))


def _projection(fields: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Okta's ``fields`` projection of users: ``id,status,profile:(firstName,city)``; ``id`` is always kept
    and every other property is filtered out (Management API spec, listUsers ``fields``)."""
    top: list[str] = []
    profile: list[str] | None = None
    for part in re.findall(r"[^,(]+\([^)]*\)|[^,]+", fields):
        name, _, inner = part.strip().partition(":")
        if inner.strip().startswith("("):
            if name.strip() != "profile":
                raise ApiProblem(400, "E0000001", "Api validation failed: fields",
                                 (f"fields: only profile takes sub-fields, not {name.strip()!r}",))
            profile = [f.strip() for f in inner.strip()[1:-1].split(",") if f.strip()]
        elif name.strip():
            top.append(name.strip())

    def project(user: dict[str, Any]) -> dict[str, Any]:
        out = {"id": user["id"], **{k: user[k] for k in top if k in user and k != "profile"}}
        if profile is not None:
            out["profile"] = {k: user["profile"][k] for k in profile if k in user["profile"]}
        elif "profile" in top:
            out["profile"] = user["profile"]
        return out

    return project


def _sort_by(params: dict[str, str]) -> tuple[str, bool] | None:
    """``sortBy`` and ``sortOrder`` of a search (Okta: "for search queries only"; ties ordered by id;
    ``sortOrder`` is asc by default and ignored without ``sortBy``), as (attribute, descending)."""
    field = params.get("sortBy", "").strip()
    if not field or not params.get("search"):
        return None
    order = params.get("sortOrder", "asc").strip().lower()
    if order not in ("asc", "desc", "ascending", "descending"):
        raise ApiProblem(400, "E0000001", "Api validation failed: sortOrder", ("sortOrder: must be asc or desc",))
    return field, order.startswith("desc")


def bad_search(reason: str) -> ApiProblem:
    return ApiProblem(400, "E0000031", "Invalid search criteria.", (reason,))


def dpop_header(request: Request) -> str | None:
    """The request's DPoP proof; two DPoP headers count as none (RFC 9449 §4.3, check 1)."""
    proofs = request.headers.getlist("dpop")
    return proofs[0] if len(proofs) == 1 else None


def error_body(code: str, summary: str, causes: tuple[str, ...] = ()) -> bytes:
    """Okta's error object; errorId is a fresh correlation id (``oae`` + 22 characters)."""
    return orjson.dumps(
        {
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": "oae" + secrets.token_urlsafe(17)[:22],
            "errorCauses": [{"errorSummary": c} for c in causes],
        }
    )


@dataclass
class Caller:
    """Who is calling: the user (if any), their admin roles, and the token's scopes (None for SSWS)."""

    user_id: str | None
    roles: set[str]
    scopes: tuple[str, ...] | None
    client_id: str | None


Handler = Callable[["Call"], Any]


@dataclass
class Call:
    """One request as the handlers see it."""

    request: Request
    caller: Caller
    args: tuple[str, ...]
    params: dict[str, str]

    def flag(self, name: str, default: bool) -> bool:
        value = self.params.get(name)
        return default if value is None else value.lower() == "true"


def _route(pattern: str) -> re.Pattern[str]:
    return re.compile("^/api/v1" + re.sub(r"\{\w+\}", r"([^/]+)", pattern) + "/?$")


class ManagementApi:
    """All ``/api/v1`` routes of one sandbox org."""

    def __init__(self, state: OrgState) -> None:
        self.s = state
        self.d = state.directory
        table: tuple[tuple[str, dict[str, Handler]], ...] = (
            ("/users", {"GET": self.list_users, "POST": self.create_user}),
            (
                "/users/{id}",
                {"GET": self.get_user, "POST": self.update_user, "PUT": self.replace_user, "DELETE": self.delete_user},
            ),
            ("/users/{id}/groups", {"GET": self.user_groups}),
            ("/users/{id}/roles", {"GET": self.user_roles}),
            ("/users/{id}/lifecycle/{op}", {"POST": self.lifecycle}),
            ("/groups", {"GET": self.list_groups, "POST": self.create_group}),
            ("/groups/{id}", {"GET": self.get_group, "PUT": self.replace_group, "DELETE": self.delete_group}),
            ("/groups/{id}/users", {"GET": self.group_users}),
            ("/groups/{id}/users/{uid}", {"PUT": self.add_member, "DELETE": self.remove_member}),
            ("/apps", {"GET": self.list_apps}),
            ("/apps/{id}", {"GET": self.get_app}),
            ("/apps/{id}/users", {"GET": self.app_users}),
            ("/logs", {"GET": self.list_logs}),
        )
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [(_route(p), h) for p, h in table]

    def __repr__(self) -> str:
        return f"ManagementApi(org={self.s.url!r})"

    # ---- the request pipeline ------------------------------------------------------

    def _rate_headers(self, response: Response, decision: RateDecision) -> Response:
        response.headers["X-Rate-Limit-Limit"] = str(decision.limit)
        response.headers["X-Rate-Limit-Remaining"] = str(decision.remaining)
        response.headers["X-Rate-Limit-Reset"] = str(decision.reset)
        return response

    def _error(
        self, status: int, code: str, summary: str, causes: tuple[str, ...] = (), headers: dict[str, str] | None = None
    ) -> Response:
        return Response(
            error_body(code, summary, causes), status_code=status, media_type="application/json", headers=headers
        )

    def _authenticate(self, request: Request) -> Caller | None:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        credential = credential.strip()
        if scheme.lower() in ("bearer", "dpop") and credential:
            grant = self.s.authority.check_access_token(credential)
            if grant is None or (grant.jkt is not None) != (scheme.lower() == "dpop"):
                return None  # RFC 9449 §7.2: a DPoP-bound token is never accepted as a bearer token
            if grant.jkt is not None:
                try:
                    proven = self.s.authority.verify_dpop_proof(
                        dpop_header(request), method=request.method, url=str(request.url), access_token=credential)
                except DPoPRefused:
                    return None
                if proven != grant.jkt:
                    return None  # a proof by another key than the one the token is bound to
            if grant.user_id is None:
                # API service apps act with the admin roles assigned to them (the demo one: Super Admin).
                return Caller(None, {"SUPER_ADMIN"}, grant.scopes, grant.client_id)
            if grant.user_id not in self.d.users:
                return None
            return Caller(grant.user_id, self.d.role_types(grant.user_id), grant.scopes, grant.client_id)
        if scheme == "SSWS" and credential:
            uid = self.d.api_tokens.get(credential)
            if uid is None or uid not in self.d.users:
                return None
            return Caller(uid, self.d.role_types(uid), None, None)
        return None

    def _unauthorized(self, request: Request) -> Response:
        base = self.s.url
        # A DPoP request is challenged with the DPoP scheme and the algorithms accepted (RFC 9449 §7.1).
        dpop = request.headers.get("authorization", "")[:5].lower() == "dpop "
        scheme = 'DPoP algs="ES256 RS256",' if dpop else "Bearer"
        return self._error(
            401,
            "E0000011",
            "Invalid token provided",
            headers={
                "WWW-Authenticate": (
                    f'{scheme} authorization_uri="{base}/oauth2/v1/authorize", realm="{base}", error="invalid_token", '
                    'error_description="The access token is invalid."'
                )
            },
        )

    def _is_self(self, caller: Caller, path: str) -> bool:
        parts = [p for p in path.split("/") if p]
        if len(parts) < 4 or parts[2] != "users" or caller.user_id is None:
            return False
        return parts[3] == "me" or self.d.find_user(parts[3]) == caller.user_id

    async def dispatch(self, request: Request) -> Response:
        """Knobs, rate limit, authentication, scope, route, role, then the handler."""
        path = request.url.path.rstrip("/") or "/"
        knobs = self.s.knobs
        if knobs.latency > 0:
            await asyncio.sleep(knobs.latency)
        if knobs.roll(knobs.rate_429):
            decision = self.s.limiter.peek(path)
            return self._rate_headers(
                self._error(429, "E0000047", "API call exceeded rate limit due to too many requests."), decision
            )
        decision = self.s.limiter.hit(path)
        if not decision.allowed:
            return self._rate_headers(
                self._error(429, "E0000047", "API call exceeded rate limit due to too many requests."), decision
            )
        if knobs.roll(knobs.error_rate):
            status = knobs.pick((500, 503))
            summary = "Internal Server Error" if status == 500 else "Service Unavailable"
            return self._rate_headers(self._error(status, "E0000009", summary), decision)
        caller = self._authenticate(request)
        if caller is None:
            return self._rate_headers(self._unauthorized(request), decision)
        is_self = self._is_self(caller, path)
        if caller.scopes is not None:
            missing = first_missing_scope(request.method, path, caller.scopes, is_self)
            if missing is not None:
                base = self.s.url
                return self._rate_headers(
                    Response(
                        status_code=403,
                        headers={
                            "WWW-Authenticate": (
                                f'Bearer authorization_uri="{base}/oauth2/v1/authorize", realm="{base}", '
                                f'scope="{missing}", error="insufficient_scope", '
                                'error_description="The access token provided does not contain the required scopes.", '
                                f'resource="{path}"'
                            )
                        },
                    ),
                    decision,
                )
        handler = None
        args: tuple[str, ...] = ()
        for regex, handlers in self.routes:
            m = regex.match(path)
            if m:
                handler = handlers.get(request.method)
                args = m.groups()
                if handler is None:
                    return self._rate_headers(
                        self._error(
                            405,
                            "E0000022",
                            "The endpoint does not support the provided HTTP method",
                            headers={"Allow": ", ".join(handlers)},
                        ),
                        decision,
                    )
                break
        if handler is None:
            return self._rate_headers(
                self._error(404, "E0000007", f"Not found: Resource not found: {path} (Path)"), decision
            )
        if not role_allows(caller.roles, request.method, path, is_self):
            return self._rate_headers(
                self._error(403, "E0000006", "You do not have permission to perform the requested action"), decision
            )
        params = {k: v[-1] for k, v in parse_qs(request.url.query, keep_blank_values=True).items()}
        try:
            result = handler(Call(request, caller, args, params))
            response = await result if asyncio.iscoroutine(result) else result
        except ApiProblem as problem:
            response = self._error(problem.status, problem.code, problem.summary, problem.causes)
        return self._rate_headers(response, decision)

    # ---- helpers ---------------------------------------------------------------------

    def _json(self, body: Any, status: int = 200) -> Response:
        return Response(
            body if isinstance(body, bytes) else orjson.dumps(body), status_code=status, media_type="application/json"
        )

    def _limit(self, call: Call, default: int, maximum: int) -> int:
        raw = call.params.get("limit")
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiProblem(
                400, "E0000001", "Api validation failed: limit", ("limit: The value must be an integer.",)
            ) from None
        if value < 0:
            return default  # Okta treats -1 as "no limit" on some lists; the default then applies
        return max(1, min(value, maximum))

    def _page(self, call: Call, listing: Listing, limit: int, render: Callable[[list[str]], bytes]) -> Response:
        """One page of a cursor listing, with Link self (and next when more remain)."""
        start = 0
        after = call.params.get("after")
        if after is not None:
            seq = self.d.seq.get(after)
            begin = listing.start_after(after, seq) if seq is not None else None
            if begin is None:
                raise bad_cursor()
            start = begin
        page = listing.ids[start : start + limit]
        response = self._json(render(page))
        has_more = start + limit < len(listing.ids)
        self._links(call, response, page[-1] if has_more and page else None)
        return response

    def _links(self, call: Call, response: Response, next_cursor: str | None) -> None:
        """RFC 8288 Link header lines, one per rel, absolute URLs on the org host; ``limit`` kept in next."""
        base = f"{self.s.url}{call.request.url.path}"
        query = call.request.url.query
        response.headers.append("Link", f'<{base}{"?" + query if query else ""}>; rel="self"')
        if next_cursor is not None:
            params = {"after": next_cursor, **{k: v for k, v in call.params.items() if k != "after"}}
            response.headers.append("Link", f'<{base}?{urlencode(params)}>; rel="next"')

    def _user_id(self, ref: str, caller: Caller) -> str:
        uid = caller.user_id if ref == "me" else self.d.find_user(ref)
        if uid is None or uid not in self.d.users:
            raise not_found(ref, "User")
        return uid

    async def _body(self, call: Call) -> dict[str, Any]:
        raw = await call.request.body()
        if not raw.strip():
            raise ApiProblem(400, "E0000003", "The request body was not well-formed.")
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ApiProblem(400, "E0000003", "The request body was not well-formed.") from None
        if not isinstance(body, dict):
            raise ApiProblem(400, "E0000003", "The request body was not well-formed.")
        return body

    def _log(self, caller: Caller, event_type: str, message: str, targets: list[dict[str, Any]]) -> None:
        actor_user = self.d.users.get(caller.user_id) if caller.user_id else None
        self.d.add_event(
            data.log_event(
                self.s.clock(), event_type, message, None, data.actor_of(actor_user, caller.client_id), targets
            )
        )

    def _user_target(self, uid: str) -> dict[str, Any]:
        return data.target_user(self.d.users[uid])

    # ---- users -----------------------------------------------------------------------

    def list_users(self, call: Call) -> Response:
        p = call.params
        d = self.d

        project = _projection(p["fields"]) if p.get("fields") else None

        def render(ids: list[str]) -> bytes:
            if project is not None:
                return orjson.dumps([project(d.users[uid]) for uid in ids])
            return b"[" + b",".join(d.user_json(uid) for uid in ids) + b"]"

        if "q" in p:
            # q: startsWith on firstName, lastName or email; no paging; excludes DEPROVISIONED.
            limit = self._limit(call, 10, USERS_MAX_LIMIT)
            needle = p["q"].lower()
            found: list[str] = []
            for uid, u in d.users.items():
                prof = u["profile"]
                if u["status"] != "DEPROVISIONED" and (
                    prof["firstName"].lower().startswith(needle)
                    or prof["lastName"].lower().startswith(needle)
                    or prof["email"].lower().startswith(needle)
                ):
                    found.append(uid)
                    if len(found) >= limit:
                        break
            response = self._json(render(found))
            self._links(call, response, None)
            return response
        limit = self._limit(call, USERS_MAX_LIMIT, USERS_MAX_LIMIT)
        if p.get("search"):
            try:
                predicate = compile_expression(p["search"], allow_user_search)
            except SearchError as exc:
                raise bad_search(str(exc)) from None
            listing = d.matching("users", ("search", p["search"]), predicate, _sort_by(p))
        elif p.get("filter"):
            try:
                predicate = compile_expression(p["filter"], allow_user_filter)
            except SearchError as exc:
                raise bad_search(str(exc)) from None
            listing = d.matching("users", ("filter", p["filter"]), predicate)
        else:
            listing = d.listing(
                ("users", False), lambda: [uid for uid, u in d.users.items() if u["status"] != "DEPROVISIONED"]
            )
        return self._page(call, listing, limit, render)

    def get_user(self, call: Call) -> Response:
        return self._json(self.d.user_detail(self._user_id(call.args[0], call.caller)))

    def _validate_profile(self, profile: Any, exclude: str | None = None) -> dict[str, Any]:
        if not isinstance(profile, dict):
            raise ApiProblem(400, "E0000001", "Api validation failed: profile", ("profile: The field is required.",))
        missing = [f for f in USER_REQUIRED if not isinstance(profile.get(f), str) or not profile[f].strip()]
        if missing:
            raise ApiProblem(
                400,
                "E0000001",
                f"Api validation failed: {missing[0]}",
                tuple(f"{f}: The field cannot be left blank" for f in missing),
            )
        causes = []
        if "@" not in profile["login"]:
            causes.append("login: Username must be in the form of an email address")
        if "@" not in profile["email"]:
            causes.append("email: Does not match required pattern")
        owner = self.d.by_login.get(profile["login"].lower())
        if owner is not None and owner != exclude:
            causes.append("login: An object with this field already exists in the current organization")
        if causes:
            raise ApiProblem(400, "E0000001", f"Api validation failed: {causes[0].split(':')[0]}", tuple(causes))
        return profile

    async def create_user(self, call: Call) -> Response:
        body = await self._body(call)
        profile = self._validate_profile(body.get("profile"))
        with self.d.lock:
            self._validate_profile(profile)
            now = self.s.clock()
            has_password = (
                isinstance(body.get("credentials"), dict)
                and isinstance(body["credentials"].get("password"), dict)
                and bool(body["credentials"]["password"].get("value"))
            )
            activate = call.flag("activate", True)
            status = ("ACTIVE" if has_password else "PROVISIONED") if activate else "STAGED"
            uid = self.d.new_id("00u")
            user = data._user(
                uid,
                status,
                now,
                now if activate else None,
                now if activate else None,
                None,
                now,
                now if has_password else None,
                {**dict.fromkeys(CREATED_PROFILE_DEFAULTS), **profile},
            )
            group_ids = body.get("groupIds") or []
            if not isinstance(group_ids, list) or any(g not in self.d.groups for g in group_ids):
                raise ApiProblem(
                    400,
                    "E0000001",
                    "Api validation failed: groupIds",
                    ("groupIds: One or more group ids are invalid.",),
                )
            self.d.add_user(user)
            for gid in group_ids:
                self.d.set_membership(gid, uid, True)
        self._log(call.caller, "user.lifecycle.create", "Create Okta user", [self._user_target(uid)])
        if activate:
            self._log(call.caller, "user.lifecycle.activate", "Activate Okta user", [self._user_target(uid)])
        return self._json(self.d.user_detail(uid))

    async def update_user(self, call: Call) -> Response:
        """POST /users/{id}: a partial update; only the attributes sent change."""
        uid = self._user_id(call.args[0], call.caller)
        body = await self._body(call)
        changes = body.get("profile", {})
        if not isinstance(changes, dict):
            raise ApiProblem(400, "E0000001", "Api validation failed: profile", ("profile: must be an object",))
        with self.d.lock:
            profile = self._validate_profile({**self.d.users[uid]["profile"], **changes}, exclude=uid)
            self.d.replace_profile(uid, profile)
        self._log(call.caller, "user.account.update_profile", "Update user profile for Okta", [self._user_target(uid)])
        return self._json(self.d.user_detail(uid))

    async def replace_user(self, call: Call) -> Response:
        """PUT /users/{id}: the profile sent replaces the whole profile."""
        uid = self._user_id(call.args[0], call.caller)
        body = await self._body(call)
        with self.d.lock:
            profile = self._validate_profile(body.get("profile"), exclude=uid)
            self.d.replace_profile(uid, dict(profile))
        self._log(call.caller, "user.account.update_profile", "Update user profile for Okta", [self._user_target(uid)])
        return self._json(self.d.user_detail(uid))

    def delete_user(self, call: Call) -> Response:
        """Okta: the first DELETE deactivates, a DELETE of a DEPROVISIONED user removes it."""
        uid = self._user_id(call.args[0], call.caller)
        target = self._user_target(uid)
        if self.d.users[uid]["status"] != "DEPROVISIONED":
            self.d.set_status(uid, "DEPROVISIONED")
            self._log(call.caller, "user.lifecycle.deactivate", "Deactivate Okta user", [target])
        else:
            self.d.remove_user(uid)
            self._log(call.caller, "user.lifecycle.delete.completed", "Delete Okta user completed", [target])
        return Response(status_code=204)

    def lifecycle(self, call: Call) -> Response:
        uid = self._user_id(call.args[0], call.caller)
        op = call.args[1]
        if op not in LIFECYCLE_ALLOWED:
            raise not_found(call.request.url.path, "Path")
        with self.d.lock:
            user = self.d.users[uid]
            if user["status"] not in LIFECYCLE_ALLOWED[op]:
                raise ApiProblem(403, "E0000038", "This operation is not allowed in the user's current status.")
            body: dict[str, Any] = {}
            if op == "activate":
                self.d.set_status(uid, "ACTIVE" if user["passwordChanged"] else "PROVISIONED", activated=True)
                if not call.flag("sendEmail", True):
                    token = secrets.token_urlsafe(15)
                    body = {"activationUrl": f"{self.s.url}/welcome/{token}", "activationToken": token}
            elif op == "reactivate":
                self.d.set_status(uid, "PROVISIONED")
            elif op == "deactivate":
                self.d.set_status(uid, "DEPROVISIONED")
            elif op == "suspend":
                self.d.set_status(uid, "SUSPENDED")
            elif op in ("unsuspend", "unlock"):
                self.d.set_status(uid, "ACTIVE")
            elif op == "reset_password":
                self.d.set_status(uid, "RECOVERY")
                if not call.flag("sendEmail", True):
                    body = {"resetPasswordUrl": f"{self.s.url}/reset_password/{secrets.token_urlsafe(15)}"}
            elif op == "expire_password":
                self.d.set_status(uid, "PASSWORD_EXPIRED")
                return self._json(self.d.user_detail(uid))
        names = {
            "reset_factors": "user.mfa.factor.reset_all",
            "reset_password": "user.account.reset_password",
            "unlock": "user.account.unlock",
            "expire_password": "user.account.expire_password",
        }
        self._log(
            call.caller,
            names.get(op, f"user.lifecycle.{op}"),
            f"{op.replace('_', ' ').capitalize()} Okta user",
            [self._user_target(uid)],
        )
        if op == "reset_factors":
            return Response(status_code=200)  # SPEC resetFactors: 200 with no content
        return self._json(body)

    def user_groups(self, call: Call) -> Response:
        uid = self._user_id(call.args[0], call.caller)
        return self._json([self.d.group_json(gid) for gid in self.d.groups_of(uid)])

    def user_roles(self, call: Call) -> Response:
        uid = self._user_id(call.args[0], call.caller)
        href = f"{self.s.url}/api/v1/users/{uid}"
        return self._json([{**r, "_links": {"assignee": {"href": href}}} for r in self.d.roles.get(uid, [])])

    # ---- groups ----------------------------------------------------------------------

    def _group(self, gid: str) -> dict[str, Any]:
        if gid not in self.d.groups:
            raise not_found(gid, "UserGroup")
        return self.d.groups[gid]

    def list_groups(self, call: Call) -> Response:
        p = call.params
        d = self.d
        limit = self._limit(call, GROUPS_MAX_LIMIT, GROUPS_MAX_LIMIT)
        predicate: Callable[[dict[str, Any]], bool] | None = None
        try:
            if p.get("search"):
                predicate = compile_expression(p["search"])
            elif p.get("filter"):
                predicate = compile_expression(p["filter"], allow_group_filter)
        except SearchError as exc:
            raise bad_search(str(exc)) from None
        q = p.get("q", "").lower()
        listing = d.matching(
            "groups",
            (p.get("search"), p.get("filter"), q),
            lambda g: (predicate is None or predicate(g)) and g["profile"]["name"].lower().startswith(q),
            _sort_by(p) if p.get("search") else None,
        )
        return self._page(call, listing, limit, lambda ids: orjson.dumps([d.group_json(gid) for gid in ids]))

    def get_group(self, call: Call) -> Response:
        self._group(call.args[0])
        return self._json(self.d.group_json(call.args[0]))

    def _group_profile(self, body: dict[str, Any]) -> dict[str, Any]:
        profile = body.get("profile")
        if not isinstance(profile, dict) or not isinstance(profile.get("name"), str) or not profile["name"].strip():
            raise ApiProblem(400, "E0000001", "Api validation failed: name", ("name: The field cannot be left blank",))
        return {
            "name": profile["name"],
            "description": profile.get("description"),
            **{k: v for k, v in profile.items() if k not in ("name", "description")},
        }

    async def create_group(self, call: Call) -> Response:
        profile = self._group_profile(await self._body(call))
        now = iso(self.s.clock())
        gid = self.d.new_id("00g")
        self.d.add_group(data.group_object(gid, profile["name"], profile["description"], "OKTA_GROUP", now, now, now))
        self.d.groups[gid]["profile"] = profile
        self._log(
            call.caller,
            "group.lifecycle.create",
            "Create Okta group",
            [
                {
                    "id": gid,
                    "type": "UserGroup",
                    "alternateId": "unknown",
                    "displayName": profile["name"],
                    "detailEntry": None,
                }
            ],
        )
        return self._json(self.d.group_json(gid))

    async def replace_group(self, call: Call) -> Response:
        group = self._group(call.args[0])
        if group["type"] != "OKTA_GROUP":
            raise ApiProblem(403, "E0000006", "You do not have permission to perform the requested action")
        profile = self._group_profile(await self._body(call))
        with self.d.lock:
            group["profile"] = profile
            group["lastUpdated"] = iso(self.s.clock())
            self.d.touch()
        return self._json(self.d.group_json(call.args[0]))

    def delete_group(self, call: Call) -> Response:
        group = self._group(call.args[0])
        if group["type"] != "OKTA_GROUP":
            raise ApiProblem(403, "E0000006", "You do not have permission to perform the requested action")
        self.d.remove_group(call.args[0])
        return Response(status_code=204)

    def group_users(self, call: Call) -> Response:
        gid = call.args[0]
        self._group(gid)
        d = self.d
        limit = self._limit(call, MEMBERS_MAX_LIMIT, MEMBERS_MAX_LIMIT)
        listing = d.listing(("members", gid), lambda: sorted(d.members[gid], key=d.seq.__getitem__))
        return self._page(call, listing, limit, lambda ids: b"[" + b",".join(d.user_json(u) for u in ids) + b"]")

    def _membership(self, call: Call, member: bool) -> Response:
        gid, ref = call.args
        group = self._group(gid)
        uid = self.d.find_user(ref)
        if uid is None:
            raise not_found(ref, "User")
        if group["type"] != "OKTA_GROUP":
            raise ApiProblem(403, "E0000006", "You do not have permission to perform the requested action")
        self.d.set_membership(gid, uid, member)
        self._log(
            call.caller,
            "group.user_membership.add" if member else "group.user_membership.remove",
            "Add user to group membership" if member else "Remove user from group membership",
            [
                self._user_target(uid),
                {
                    "id": gid,
                    "type": "UserGroup",
                    "alternateId": "unknown",
                    "displayName": group["profile"]["name"],
                    "detailEntry": None,
                },
            ],
        )
        return Response(status_code=204)

    def add_member(self, call: Call) -> Response:
        return self._membership(call, True)

    def remove_member(self, call: Call) -> Response:
        return self._membership(call, False)

    # ---- apps ------------------------------------------------------------------------

    def list_apps(self, call: Call) -> Response:
        p = call.params
        d = self.d
        limit = self._limit(call, APPS_MAX_LIMIT, APPS_MAX_LIMIT)
        predicate = None
        if p.get("filter"):
            try:
                predicate = compile_expression(
                    p["filter"], lambda attr, op: attr in ("status", "name", "id") and op == "eq"
                )
            except SearchError as exc:
                raise bad_search(str(exc)) from None
        q = p.get("q", "").lower()
        listing = d.listing(
            ("apps", p.get("filter"), q),
            lambda: sorted(
                (
                    aid
                    for aid, a in d.apps.items()
                    if (predicate is None or predicate(a))
                    and (a["label"].lower().startswith(q) or a["name"].lower().startswith(q))
                ),
                key=d.seq.__getitem__,
            ),
        )
        return self._page(call, listing, limit, lambda ids: orjson.dumps([d.app_json(a) for a in ids]))

    def get_app(self, call: Call) -> Response:
        if call.args[0] not in self.d.apps:
            raise not_found(call.args[0], "AppInstance")
        return self._json(self.d.app_json(call.args[0]))

    def app_users(self, call: Call) -> Response:
        app_id = call.args[0]
        if app_id not in self.d.apps:
            raise not_found(app_id, "AppInstance")
        d = self.d
        app = d.apps[app_id]
        limit = self._limit(call, 50, 500)
        listing = d.listing(("app_users", app_id), lambda: d.app_user_ids(app_id))

        def render(ids: list[str]) -> bytes:
            out = []
            for uid in ids:
                u = d.users[uid]
                out.append(
                    {
                        "id": uid,
                        "externalId": None,
                        "created": app["created"] if app["created"] > u["created"] else u["created"],
                        "lastUpdated": u["lastUpdated"],
                        "scope": "GROUP",
                        "status": "ACTIVE",
                        "statusChanged": u["statusChanged"],
                        "passwordChanged": None,
                        "syncState": "DISABLED",
                        "credentials": {"userName": u["profile"]["login"]},
                        "profile": {},
                        "_links": {
                            "app": {"href": f"{self.s.url}/api/v1/apps/{app_id}"},
                            "user": {"href": f"{self.s.url}/api/v1/users/{uid}"},
                        },
                    }
                )
            return orjson.dumps(out)

        return self._page(call, listing, limit, render)

    # ---- System Log --------------------------------------------------------------------

    def list_logs(self, call: Call) -> Response:
        """Okta's System Log rules: polling (no until, ASCENDING) always links ``next``; bounded ends."""
        p = call.params
        d = self.d
        limit = self._limit(call, 100, LOGS_MAX_LIMIT)
        order = p.get("sortOrder", "ASCENDING").upper()
        if order not in ("ASCENDING", "DESCENDING"):
            raise ApiProblem(
                400, "E0000001", "Api validation failed: sortOrder", ("sortOrder: must be ASCENDING or DESCENDING",)
            )
        now = self.s.clock()
        until = self._timestamp(p["until"], "until") if "until" in p else None
        since = self._timestamp(p["since"], "since") if "since" in p else None
        upper = until if until is not None else iso(now + 1)
        if since is None:
            since = iso((_parse_iso(upper) if until else now) - LOG_DEFAULT_WINDOW)
        if since < iso(now - LOG_MAX_SINCE):
            raise ApiProblem(
                400, "E0000053", "Invalid parameter: The since parameter is over 180 days prior to the current day."
            )
        predicate = _log_predicate(p.get("filter"), p.get("q"))
        polling = until is None and order == "ASCENDING"
        with d.lock:
            key = None
            if "after" in p:
                key = _parse_log_cursor(p["after"])
                if key is None:
                    raise bad_cursor()
            low = d.event_index_from(since)
            stop = d.event_index_from(upper)
            if order == "ASCENDING":
                first = d.event_index_after(key) if key is not None else low
                indexes: range = range(first, stop)
            else:
                high = min(stop, d.event_index_before(key)) if key is not None else stop
                indexes = range(high - 1, low - 1, -1)
            chosen: list[int] = []
            more = False
            for i in indexes:
                if predicate is None or predicate(d.events[i]):
                    if len(chosen) == limit:
                        more = True
                        break
                    chosen.append(i)
            body = b"[" + b",".join(d.event_json(i) for i in chosen) + b"]"
            if chosen:
                cursor: str | None = _log_cursor(d.event_key(chosen[-1]))
            elif polling:
                # Nothing new: the next poll starts from the same place.
                if p.get("after"):
                    cursor = p["after"]
                elif indexes.start > 0:
                    cursor = _log_cursor(d.event_key(indexes.start - 1))
                else:
                    cursor = _log_cursor((since, 0))
            else:
                cursor = None
        response = self._json(body)
        # Polling: "A next link relation header is always present, even if there are no new events."
        # Bounded: the last page has no next.
        # The next link keeps the request's bounds (since/until), so a bounded request stays bounded.
        self._links(call, response, cursor if (polling or more) else None)
        return response

    def _timestamp(self, value: str, name: str) -> str:
        try:
            return iso(_parse_iso(value))
        except ValueError:
            raise ApiProblem(
                400, "E0000001", f"Api validation failed: {name}", (f"{name}: must be an ISO 8601 timestamp",)
            ) from None


def _log_predicate(expression: str | None, q: str | None) -> Callable[[dict[str, Any]], bool] | None:
    """The System Log ``filter`` and ``q`` together (both must hold), or None when neither is given."""
    by_filter = _log_filter(expression) if expression else None
    keywords = _log_keywords(q) if q and q.strip() else None
    if keywords is None:
        return by_filter

    def matches(event: dict[str, Any]) -> bool:
        return (by_filter is None or by_filter(event)) and _mentions(event, keywords)

    return matches


def _log_filter(expression: str) -> Callable[[dict[str, Any]], bool]:
    """A System Log ``filter``; query guide: E0000053 for an invalid filter, E0000031 for co on a URL attribute."""
    for attr in LOG_NO_CONTAINS:
        if re.search(rf"(?:^|[\s(]){re.escape(attr)}\s+co\s", expression, re.IGNORECASE):
            raise ApiProblem(
                400,
                "E0000031",
                "The supplied combination of operator and field is not currently supported. "
                f"Operator: co, Field: {attr}",
            )
    try:
        return compile_expression(expression, allow_log_filter)
    except SearchError as exc:
        raise ApiProblem(400, "E0000053", f"Invalid filter '{expression}': {exc}") from None


def _log_keywords(q: str) -> list[str]:
    """The keywords of a System Log ``q``: case-insensitive, at most 10, each at most 40 characters."""
    keywords = q.lower().split()
    if any(len(k) > LOG_Q_MAX_ITEM for k in keywords):
        raise ApiProblem(
            400,
            "E0000001",
            "Api validation failed: 'q': Freeform search cannot contain items longer than 40 characters. "
            "Please shorten the items in your search or use an advanced filter to query by specific fields.",
            ("q: Freeform search cannot contain items longer than 40 characters.",),
        )
    if len(keywords) > LOG_Q_MAX_ITEMS:
        raise ApiProblem(
            400,
            "E0000001",
            "Api validation failed: 'q': Freeform search cannot contain more than 10 items.",
            ("q: Freeform search cannot contain more than 10 items.",),
        )
    return keywords


def _words(value: Any, into: set[str]) -> set[str]:
    """Every word of every text value in an event, plus the parts of hyphenated words (System Log ``q``)."""
    if isinstance(value, str):
        lowered = value.lower()
        into.add(lowered)
        for word in lowered.split():
            into.add(word)
            if "-" in word:
                into.update(part for part in word.split("-") if part)
    elif isinstance(value, dict):
        for item in value.values():
            _words(item, into)
    elif isinstance(value, list):
        for item in value:
            _words(item, into)
    return into


def _mentions(event: dict[str, Any], keywords: list[str]) -> bool:
    """System Log ``q``: every keyword must match a word of the event's attribute values exactly."""
    words = _words(event, set())
    return all(k in words for k in keywords)


def _parse_iso(value: str) -> float:
    """Seconds since the epoch from an ISO 8601 timestamp (Z or offset; fraction optional)."""
    from datetime import datetime

    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        from datetime import timezone

        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _log_cursor(key: tuple[str, int]) -> str:
    """Opaque-looking System Log cursor: ``<published epoch ms>_<sequence>`` (Okta's looks alike)."""
    whole = int(_parse_iso(key[0][:19] + "Z"))
    return f"{whole * 1000 + int(key[0][20:23])}_{key[1]}"


def _parse_log_cursor(cursor: str) -> tuple[str, int] | None:
    m = re.fullmatch(r"(\d{1,15})_(\d{1,12})", cursor)
    if not m:
        return None
    ms = int(m.group(1))
    return (iso(ms // 1000)[:20] + f"{ms % 1000:03d}Z", int(m.group(2)))
