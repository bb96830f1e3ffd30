"""The gates every ``/api/v1`` request passes, in Okta's order, before its handler runs.

Fault knobs, the rate limit (``X-Rate-Limit-*`` headers on every answer, 429
E0000047), authentication (Bearer and DPoP access tokens, ``SSWS`` API tokens; 401
E0000011), the scope check (403 with ``WWW-Authenticate: Bearer ...
error="insufficient_scope"``), the route (404 E0000007, 405 E0000022) and the admin
role (403 E0000006). Latency and the org's concurrency limit act earlier, in the
app's wrapper, which also tallies the answers; a 429 says its cause in the request's tally.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox import notmodelled
from okta_magic.sandbox.api.calls import Call, Caller, Handler, Routes
from okta_magic.sandbox.policy import RateDecision, first_missing_scope, role_allows
from okta_magic.sandbox.responses import NOT_PERMITTED, RATE_LIMITED, ApiProblem, dpop_header, okta_error
from okta_magic.sandbox.state import OrgState
from okta_magic.sandbox.tokens import DPoPRefused
from okta_magic.sandbox.traffic import KNOB, RATE, TALLY, Tally


def _route(pattern: str) -> re.Pattern[str]:
    """A route template (``/users/{id}``) as a regex over the whole path, trailing slash allowed."""
    return re.compile("^/api/v1" + re.sub(r"\{\w+\}", r"([^/]+)", pattern) + "/?$")


def _rate_headers(response: Response, decision: RateDecision) -> Response:
    """Okta's three rate-limit headers, on every API answer."""
    response.headers["X-Rate-Limit-Limit"] = str(decision.limit)
    response.headers["X-Rate-Limit-Remaining"] = str(decision.remaining)
    response.headers["X-Rate-Limit-Reset"] = str(decision.reset)
    return response


def authenticate(org: OrgState, request: Request) -> Caller | None:
    """The caller an ``Authorization`` header proves, or None (a 401)."""
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    credential = credential.strip()
    directory = org.directory
    if scheme.lower() in ("bearer", "dpop") and credential:
        grant = org.authority.check_access_token(credential)
        if grant is None or (grant.jkt is not None) != (scheme.lower() == "dpop"):
            return None  # RFC 9449 §7.2: a DPoP-bound token is never accepted as a bearer token
        if grant.jkt is not None:
            try:
                proven = org.authority.verify_dpop_proof(
                    dpop_header(request), method=request.method, url=str(request.url), access_token=credential
                )
            except DPoPRefused:
                return None
            if proven != grant.jkt:
                return None  # a proof by another key than the one the token is bound to
        if grant.user_id is None:
            # API service apps act with the admin roles assigned to them (the demo one: Super Admin).
            return Caller(None, {"SUPER_ADMIN"}, grant.scopes, grant.client_id)
        if grant.user_id not in directory.users:
            return None
        return Caller(grant.user_id, directory.role_types(grant.user_id), grant.scopes, grant.client_id)
    if scheme == "SSWS" and credential:
        uid = directory.api_tokens.get(credential)
        if uid is None or uid not in directory.users:
            return None
        return Caller(uid, directory.role_types(uid), None, None)
    return None


def _unauthorized(org: OrgState, request: Request) -> Response:
    """401 E0000011 with the challenge Okta sends (RFC 6750 §3; DPoP requests: RFC 9449 §7.1)."""
    base = org.url
    # A DPoP request is challenged with the DPoP scheme and the algorithms accepted (RFC 9449 §7.1).
    dpop = request.headers.get("authorization", "")[:5].lower() == "dpop "
    scheme = 'DPoP algs="ES256 RS256",' if dpop else "Bearer"
    challenge = (
        f'{scheme} authorization_uri="{base}/oauth2/v1/authorize", realm="{base}", error="invalid_token", '
        'error_description="The access token is invalid."'
    )
    return okta_error(401, "E0000011", "Invalid token provided", headers={"WWW-Authenticate": challenge})


def _insufficient_scope(org: OrgState, path: str, missing: str) -> Response:
    """403 with no body and the scope needed in ``WWW-Authenticate``, exactly as Okta sends it."""
    base = org.url
    challenge = (
        f'Bearer authorization_uri="{base}/oauth2/v1/authorize", realm="{base}", '
        f'scope="{missing}", error="insufficient_scope", '
        'error_description="The access token provided does not contain the required scopes.", '
        # the path as sent on the wire (RFC 3986 percent-encoding): a header carries Latin-1 only, and a
        # quoted-string no raw quote or backslash (RFC 9110 §5.6.4)
        f'resource="{quote(path, safe="/:@!$&()*+,;=-._~%")}"'
    )
    return Response(status_code=403, headers={"WWW-Authenticate": challenge})


def _is_self(org: OrgState, caller: Caller, path: str) -> bool:
    """Whether the request is about the caller's own user (``/users/me`` or their own id or login)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) < 4 or parts[2] != "users" or caller.user_id is None:
        return False
    return parts[3] == "me" or org.directory.find_user(parts[3]) == caller.user_id


class ManagementApi:
    """All ``/api/v1`` routes of one sandbox org, behind Okta's gates."""

    def __init__(self, org: OrgState, routes: Routes) -> None:
        self.org = org
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = [(_route(p), h) for p, h in routes]
        # each route's template without parameter names; an "{op}" parameter stands for Okta's literal operation
        # names (/users/{id}/lifecycle/{op}), which its handler sorts out
        self.templates = [notmodelled.shape(p).replace("{}", "{op}") if "{op}" in p else notmodelled.shape(p)
                          for p, _ in routes]

    def __repr__(self) -> str:
        return f"ManagementApi(org={self.org.url!r})"

    def _faults_and_rate(self, path: str, tally: Tally) -> tuple[Response | None, RateDecision]:
        """The knobs (429, 5xx) and the rate limit: an early answer, or None to go on."""
        knobs = self.org.knobs
        if knobs.roll(knobs.rate_429):
            tally.cause = KNOB
            return okta_error(429, "E0000047", RATE_LIMITED), self.org.limiter.peek(path)
        decision = self.org.limiter.hit(path)
        if not decision.allowed:
            tally.cause = RATE
            return okta_error(429, "E0000047", RATE_LIMITED), decision
        if knobs.roll(knobs.error_rate):
            status = knobs.pick((500, 503))
            summary = "Internal Server Error" if status == 500 else "Service Unavailable"
            return okta_error(status, "E0000009", summary), decision
        return None, decision

    def _match(self, path: str, method: str) -> tuple[Handler, tuple[str, ...]] | Response:
        """The handler and path arguments of a request, or its 404 / 405 answer, or the answer saying that the
        sandbox does not model an operation Okta has (notmodelled.py)."""
        spec_op = notmodelled.operation(method, path)
        for (regex, handlers), template in zip(self.routes, self.templates, strict=True):
            m = regex.match(path)
            if m:
                handler = handlers.get(method)
                if spec_op is not None and (handler is None or (notmodelled.shape(spec_op.path) != template
                                                                and "{op}" not in template)):
                    return notmodelled.answer(spec_op)  # Okta has it (another method, or a more literal path)
                if handler is None:
                    return okta_error(
                        405,
                        "E0000022",
                        "The endpoint does not support the provided HTTP method",
                        headers={"Allow": ", ".join(handlers)},
                    )
                return handler, m.groups()
        if spec_op is not None:
            return notmodelled.answer(spec_op)
        return okta_error(404, "E0000007", f"Not found: Resource not found: {path} (Path)")

    async def dispatch(self, request: Request) -> Response:
        """Knobs, rate limit, authentication, scope, route, role, then the handler."""
        path = request.url.path.rstrip("/") or "/"
        tally = request.scope.get(TALLY) or Tally()
        early, decision = self._faults_and_rate(path, tally)
        if early is not None:
            return _rate_headers(early, decision)
        caller = authenticate(self.org, request)
        if caller is None:
            return _rate_headers(_unauthorized(self.org, request), decision)
        is_self = _is_self(self.org, caller, path)
        if caller.scopes is not None:
            missing = first_missing_scope(request.method, path, caller.scopes, is_self)
            if missing is not None:
                return _rate_headers(_insufficient_scope(self.org, path, missing), decision)
        matched = self._match(path, request.method)
        if isinstance(matched, Response):
            return _rate_headers(matched, decision)
        handler, args = matched
        if not role_allows(caller.roles, request.method, path, is_self):
            return _rate_headers(okta_error(403, "E0000006", NOT_PERMITTED), decision)
        params = {k: v[-1] for k, v in parse_qs(request.url.query, keep_blank_values=True).items()}
        try:
            result = handler(Call(self.org, request, caller, args, params))
            response = result if isinstance(result, Response) else await result
        except ApiProblem as problem:
            response = problem.response()
        return _rate_headers(response, decision)
