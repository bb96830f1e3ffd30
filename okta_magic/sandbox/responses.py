"""Okta's answers as both halves of the sandbox send them: JSON responses, error bodies, no-store headers.

The Management API answers errors with Okta's error object (errorCode, errorSummary,
errorLink, errorId, errorCauses); the OAuth endpoints with RFC 6749 §5.2's
``{"error", "error_description"}``. ``ApiProblem`` lets a handler answer with the
first from anywhere in its call; ``dpop_header`` is the one request rule both share.
"""

from __future__ import annotations

import secrets
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

# RFC 6749 §5.1: responses that carry tokens or credentials must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
NOT_PERMITTED = "You do not have permission to perform the requested action"
# E0000047, "Too many requests exception" (Okta error codes); the body of every rate-limit 429.
RATE_LIMITED = "API call exceeded rate limit due to too many requests."


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; bytes are taken as already-serialised JSON (pages rendered in one go)."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(raw, status_code=status, media_type="application/json", headers=headers)


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


def okta_error(
    status: int, code: str, summary: str, causes: tuple[str, ...] = (), headers: dict[str, str] | None = None
) -> Response:
    """A Management API error answer: Okta's error object with its HTTP status."""
    return Response(
        error_body(code, summary, causes), status_code=status, media_type="application/json", headers=headers
    )


def oauth_error(error: str, description: str, status: int = 400, headers: dict[str, str] | None = None) -> Response:
    """RFC 6749 §5.2 error body; token responses are never cached (§5.1)."""
    return json_response({"error": error, "error_description": description}, status, {**NO_STORE, **(headers or {})})


class ApiProblem(Exception):
    """Raised inside a Management API handler to answer with an Okta error body."""

    def __init__(self, status: int, code: str, summary: str, causes: tuple[str, ...] = ()) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = status, code, summary, causes

    def response(self) -> Response:
        """The answer this problem stands for."""
        return okta_error(self.status, self.code, self.summary, self.causes)


def not_found(what: str, kind: str) -> ApiProblem:
    """E0000007, worded as Okta words it: ``Not found: Resource not found: <what> (<kind>)``."""
    return ApiProblem(404, "E0000007", f"Not found: Resource not found: {what} ({kind})")


def not_permitted() -> ApiProblem:
    """E0000006: the caller's admin role (or the object's type) does not allow the operation."""
    return ApiProblem(403, "E0000006", NOT_PERMITTED)


def bad_cursor() -> ApiProblem:
    """E0000029: an ``after`` cursor that names no position in the listing."""
    return ApiProblem(400, "E0000029", "Invalid paging request.", ("Invalid cursor.",))


def bad_search(reason: str) -> ApiProblem:
    """E0000031: a ``search`` or ``filter`` expression the endpoint does not accept."""
    return ApiProblem(400, "E0000031", "Invalid search criteria.", (reason,))


def invalid(field: str, *causes: str) -> ApiProblem:
    """E0000001 ``Api validation failed: <field>`` with its causes (a bad parameter or body field)."""
    return ApiProblem(400, "E0000001", f"Api validation failed: {field}", causes)


def malformed_body() -> ApiProblem:
    """E0000003: a body that is empty, not JSON, or not a JSON object."""
    return ApiProblem(400, "E0000003", "The request body was not well-formed.")


def dpop_header(request: Request) -> str | None:
    """The request's DPoP proof; two DPoP headers count as none (RFC 9449 §4.3, check 1)."""
    proofs = request.headers.getlist("dpop")
    return proofs[0] if len(proofs) == 1 else None
