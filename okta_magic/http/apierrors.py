"""An error answer of the org as a structured :class:`~okta_magic.errors.OktaApiError`: facts only.

Okta's error body (``errorCode``, ``errorSummary``, ``errorCauses``, ``errorId``; Okta: "Error
codes"), an OAuth error body (RFC 6749 §5.2), the ``WWW-Authenticate`` challenge (RFC 9110
§11.6.1, RFC 6750 §3) and the request id become :class:`~okta_magic.errors.ApiErrorDetails`.
``str(exc)`` says what happened in one line; the next step is a ``fix`` key that the advice
layer (``advice.py``) words for a notebook or a script. An error page that is not Okta's JSON
(a proxy's HTML) is named as such, not blamed on a scope.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, TypeVar

import httpx

from okta_magic.errors import ApiErrorDetails, InsufficientScope, OktaApiError, PermissionDenied, RateLimited
from okta_magic.http.page import error_body, one_line
from okta_magic.http.ratelimit import RateLimit
from okta_magic.www_authenticate import parse_www_authenticate

__all__ = ["api_error"]

E = TypeVar("E", bound=OktaApiError)

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)


def _fixed(error: E, fix: str, **args: str) -> E:
    """``error`` naming its next step (a key of ``advice.FIXES``)."""
    error.with_fix(fix, **args)
    return error


def _body(response: httpx.Response) -> Any:
    """The JSON of an error answer, or None."""
    content_type = response.headers.get("content-type", "")
    charset = response.charset_encoding if "charset" in content_type else None
    return error_body(response.content, content_type, charset)


def _not_okta(response: httpx.Response) -> str:
    """For an error answer without Okta's JSON body: what came instead, and who probably sent it."""
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    title = _TITLE.search(response.content[:4096])
    named = f" titled {one_line(title.group(1).decode('utf-8', 'replace'), 80)!r}" if title else ""
    return (f"the answer was {content_type}{named}, not Okta's JSON error: a proxy, firewall or load balancer "
            f"between you and {response.request.url.host} may have answered")


def _details(response: httpx.Response) -> tuple[ApiErrorDetails, bool]:
    """What the answer says about the failure, and whether it came from something other than Okta's API."""
    body = _body(response)
    challenge = parse_www_authenticate(response.headers.get("www-authenticate"))
    code = summary = error_id = None
    causes: list[str] = []
    if isinstance(body, dict) and ("errorCode" in body or "errorSummary" in body):
        code, summary, error_id = body.get("errorCode"), body.get("errorSummary"), body.get("errorId")
        raw_causes = body.get("errorCauses")
        causes = [one_line(c.get("errorSummary") if isinstance(c, dict) else c)
                  for c in (raw_causes if isinstance(raw_causes, list) else ())
                  if (c.get("errorSummary") if isinstance(c, dict) else c)]
    elif isinstance(body, dict) and "error" in body:  # OAuth endpoints: RFC 6749 §5.2
        code, summary = str(body["error"]), body.get("error_description")
    elif challenge.get("error"):
        code, summary = challenge["error"], challenge.get("error_description")
    code = one_line(code, 80) if code is not None else None
    # An answer with a body that is not JSON (an HTML page) did not come from Okta's API.
    foreign = body is None and bool(response.content.strip()) and code is None
    request = response.request
    details = ApiErrorDetails(
        status=response.status_code, method=request.method, url=str(request.url), error_code=code,
        summary=one_line(summary) if summary else None, causes=tuple(causes),
        error_id=one_line(error_id, 80) if error_id else None,
        request_id=response.headers.get("x-okta-request-id"),
        www_authenticate={k: v for k, v in challenge.items() if k},
    )
    return details, foreign


def _said(response: httpx.Response, details: ApiErrorDetails) -> str:
    """The status and Okta's own words: ``403 E0000006 (summary: cause; cause)``."""
    code, summary, causes = details.error_code, details.summary, details.causes
    said = f"{details.status} {code}" if code else f"{details.status} {response.reason_phrase}".rstrip()
    if summary:
        said += f" ({summary}"
        said += f": {'; '.join(causes)})" if causes else ")"
    elif causes:
        said += f" ({'; '.join(causes)})"
    return said


def api_error(response: httpx.Response, *, held_scopes: Sequence[str] = (), retries: int = 0) -> OktaApiError:
    """The typed error for an error answer: what happened in one line, and a ``fix`` key for the next step.

    Args:
        response: an answer with status >= 400 (or a redirect, which is never followed).
        held_scopes: the scopes the token holds (to tell which a 403 lacks).
        retries: how many 429 retries were already spent (for RateLimited).
    """
    details, foreign = _details(response)
    request = response.request
    where = f"{request.method} {request.url.path}"
    # An SSWS API token has no scopes: a bare 403 means its creator's admin role lacks the permission.
    ssws = request.headers.get("Authorization", "").startswith("SSWS ")
    if details.status == 403:
        lacking = _scope_error(response, details, where, list(held_scopes), foreign=foreign, ssws=ssws)
        if lacking is not None:
            return lacking
    said = _said(response, details)
    if foreign:
        said += f"; {_not_okta(response)}"
    return _status_error(response, details, where, said, retries, foreign=foreign, ssws=ssws)


def _scope_error(response: httpx.Response, details: ApiErrorDetails, where: str, held: list[str], *,
                 foreign: bool, ssws: bool) -> InsufficientScope | None:
    """A 403 for a scope the token lacks (RFC 6750 §3 ``insufficient_scope``, or a bare 403 the catalogue
    explains), else None."""
    from okta_magic.scopes import catalogue, missing_scopes

    challenge = details.www_authenticate
    refused = challenge.get("error") == "insufficient_scope"
    if not refused and (details.error_code is not None or foreign or ssws):
        return None
    request = response.request
    # RFC 6750 §3: scope is a space-delimited list of the scopes the token needs.
    needed = challenge["scope"].split() if challenge.get("scope") else list(
        catalogue().scopes_for(request.method, request.url.path))
    lacking = missing_scopes(held, needed, path=request.url.path) if held else needed
    if not refused and not (needed and lacking):
        return None
    scopes = " and ".join(lacking or needed) or "a scope this token lacks"
    holds = ", ".join(held) if held else "no Okta API scopes we know of"
    error = InsufficientScope(f"{where} needs {scopes}, which the token does not hold (it holds: {holds}).",
                              details, needed=needed, held=held)
    return _fixed(error, "ask_for_scopes", scopes=scopes)


def _status_error(response: httpx.Response, details: ApiErrorDetails, where: str, said: str, retries: int, *,
                  foreign: bool, ssws: bool) -> OktaApiError:
    """The error for every answer that is not a missing scope, by status and Okta's error code."""
    status, code = details.status, details.error_code
    tail = f" [errorId {details.error_id}]" if details.error_id else ""
    if status == 403 and code == "E0000006":
        return _fixed(PermissionDenied(
            f"{where} was refused: {said}. The token carries the scope, but the signed-in user's admin role does "
            f"not allow this call (Okta's silent downscoping).{tail}", details), "admin_role")
    if status == 429:
        return _rate_limited(response, details, where, said, retries, tail)
    if 300 <= status < 400:
        request = response.request
        location = response.headers.get("location")
        target = request.url.join(location).copy_with(query=None, fragment=None) if location else None
        to = f" to {target}" if target else ""
        return _fixed(OktaApiError(
            f"{where} was redirected{to} ({status}). okta_magic does not follow redirects, so that the token "
            f"stays on {request.url.host}.", details), "redirected")
    if status == 401 and code == "E0000015":
        return _fixed(OktaApiError(
            f"{where} was refused: {said}. The feature is not enabled in this org.{tail}", details), "admin_enables")
    if code in ("invalid_dpop_proof", "use_dpop_nonce"):
        return _fixed(OktaApiError(
            f"{where} failed: {said}. The org refused the request's DPoP proof (RFC 9449).{tail}", details),
            "check_clock_sign_in_again")
    if status == 401:  # RFC 6750 §3.1 invalid_token, or Okta's E0000011
        return _fixed(OktaApiError(
            f"{where} was refused: {said}. The token is missing, invalid or expired.{tail}", details), "sign_in_again")
    return _other_error(response, details, where, said, tail, foreign=foreign, ssws=ssws)


def _rate_limited(response: httpx.Response, details: ApiErrorDetails, where: str, said: str, retries: int,
                  tail: str) -> RateLimited:
    """429 after the retries ran out: Okta's concurrent-request limit or its per-window rate limit."""
    rate = RateLimit.from_headers(response.headers)
    if rate.concurrency:  # Okta: "Concurrent rate limits" (Limit and Remaining both 0)
        return _fixed(RateLimited(
            f"{where} still hits Okta's concurrent-request limit after {retries} retries ({said}): too many "
            f"requests are in flight for this org at once, from every client and integration.{tail}",
            details), "fewer_parallel_requests")
    limit = f"; limit {rate.limit} per window" if rate.limit else ""
    return _fixed(RateLimited(
        f"{where} still hits Okta's rate limit after {retries} retries ({said}{limit}).{tail}", details),
        "wait_a_minute")


# status -> (what it means, when Okta gave no more; the fix key)
_BY_STATUS: dict[int, tuple[str, str | None]] = {
    400: ("", "fix_request"),
    404: ("", "check_id_and_path"),
    405: ("This endpoint does not accept {method}.", "check_method"),
    409: ("The object changed or already exists.", "fetch_again"),
}


def _other_error(response: httpx.Response, details: ApiErrorDetails, where: str, said: str, tail: str, *,
                 foreign: bool, ssws: bool) -> OktaApiError:
    """Any other error status: Okta's words, what the status means, and the usual next step."""
    status, method = details.status, response.request.method
    meaning, fix = _BY_STATUS.get(status, ("", None))
    if status == 403 and not (details.error_code or foreign):
        meaning = ("The API token acts with its creator's admin role, which does not allow this." if ssws
                   else "Your account may not do this in this org.")
    elif status == 501:
        # RFC 9110 §15.6.2: the server does not implement the operation; asking again will not help
        meaning, fix = "The server does not implement this operation.", None
    elif status >= 500:
        meaning, fix = ("" if foreign else "Okta could not process it."), "try_later"
    error = OktaApiError(f"{where} failed: {said}. {meaning.format(method=method)}".rstrip() + tail, details)
    return _fixed(error, fix, method=method) if fix else error
