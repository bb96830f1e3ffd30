"""Errors a user can act on.

Every exception here carries a one-line message that says what happened and
what to do next; the magics turn them into a plain IPython ``UsageError`` so
the notebook shows that line and no traceback. No message ever contains a
token, a client secret or a private key.

    OktaMagicError
    ├── ConfigError            bad org URL, missing client id, bad option
    ├── LoginError             the sign-in did not produce a token
    │   ├── StateMismatch      callback ``state`` differs (CSRF defence, RFC 6749 §10.12)
    │   ├── LoginTimeout       nobody completed the sign-in in time
    │   ├── AuthorizationDenied the provider redirected back with ``error=...``
    │   └── TokenExchangeError the token endpoint refused the code / refresh / assertion
    ├── NotSignedIn            a request was made with no credentials
    ├── TokenExpired           the one-hour access token has expired and cannot be refreshed
    ├── RequestError           the request itself is malformed (bad magic input)
    │   ├── HostNotAllowed     a URL on another host would receive the token
    │   └── UnusableValue      a {{name}} value cannot stand where it is put (a path segment '..')
    ├── FileWriteError         a pull's file could not be written (disk full, file too large, no permission)
    ├── NetworkError           the org could not be reached
    ├── InvalidResponse        a success answer whose body cannot be what it claims (broken JSON, a page
    │                          of a list that is not a list)
    └── OktaApiError           the org answered with an error status
        ├── InsufficientScope  403 + WWW-Authenticate error="insufficient_scope"
        ├── PermissionDenied   403 E0000006: scope present, admin role forbids it
        └── RateLimited        429 E0000047 after the retries ran out
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class OktaMagicError(Exception):
    """Base class: ``str(exc)`` says what happened, in one line, in no front end's terms.

    ``fix`` names what the person should do next (a key of ``advice.FIXES``, with ``fix_args`` to
    fill it in); the advice layer words it for whoever reads it (``%okta_login`` in a notebook,
    ``okta_magic.login()`` in a script), so protocol code never speaks notebook syntax.
    ``partial`` holds the rows a multi-page pull had fetched before it failed (a DataFrame, or
    the records with ``raw``), so that nothing already fetched is lost; None otherwise.
    """

    partial: Any = None
    fix: str | None = None
    fix_args: Mapping[str, str] = {}
    worded: bool = False  # set once the advice layer has worded it for a script (advice.for_scripts)

    def with_fix(self, fix: str, **args: str) -> OktaMagicError:
        """Name the next step (a key of ``advice.FIXES``); returns ``self`` for ``raise exc.with_fix(...)``."""
        self.fix, self.fix_args = fix, dict(args)
        return self


class ConfigError(OktaMagicError):
    """The configuration (org URL, client id, scopes, redirect URI) is unusable."""


class LoginError(OktaMagicError):
    """The sign-in did not produce a token."""


class StateMismatch(LoginError):
    """The ``state`` in the callback is not the one we sent."""


class LoginTimeout(LoginError):
    """Nobody completed the sign-in before the timeout."""


class AuthorizationDenied(LoginError):
    """The authorization server redirected back with an ``error`` parameter."""

    def __init__(self, message: str, *, error: str, description: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.description = description


class TokenExchangeError(LoginError):
    """The token endpoint answered with an RFC 6749 §5.2 error.

    ``error`` and ``description`` are the server's (RFC 6749 §5.2); ``endpoint`` and ``grant``
    say what was asked (the URL posted to and its ``grant_type``), when known.
    """

    def __init__(self, message: str, *, error: str | None = None, description: str | None = None,
                 endpoint: str | None = None, grant: str | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.description = description
        self.endpoint = endpoint
        self.grant = grant


class NotSignedIn(OktaMagicError):
    """No token (or API token) is available for the request."""


class TokenExpired(OktaMagicError):
    """The access token has expired and there is no refresh token."""


class RequestError(OktaMagicError):
    """The request given to the magic or API is malformed."""


class HostNotAllowed(RequestError):
    """The URL points at a host other than the signed-in org; the token would leak."""


class UnusableValue(RequestError):
    """The value of a variable (one of ``names``) cannot stand where the request puts it: that value's fault,
    not the request's (a fan-out lists it among its failures and sends the other values)."""

    def __init__(self, message: str, *, names: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.names = tuple(names)


class FileWriteError(OktaMagicError):
    """A pull's file could not be written (disk full, file too large, no permission): the file at the path is as it
    was before the pull, and ``partial`` holds the rows fetched (a DataFrame), as for any failed pull."""


class NetworkError(OktaMagicError):
    """The org could not be reached (DNS, connection, TLS, timeout); ``kind`` says which (``neterrors.py``)."""

    def __init__(self, message: str, *, host: str, kind: str = "other") -> None:
        super().__init__(message)
        self.host = host
        self.kind = kind


class InvalidResponse(OktaMagicError):
    """A success answer whose body is not what it says (JSON that does not parse, a list page that is no list)."""

    def __init__(self, message: str, *, status: int, url: str) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


@dataclass
class ApiErrorDetails:
    """What Okta said about a failed request (its error body and headers)."""

    status: int
    method: str
    url: str
    error_code: str | None = None
    summary: str | None = None
    causes: Sequence[str] = field(default_factory=tuple)
    error_id: str | None = None
    request_id: str | None = None
    www_authenticate: Mapping[str, str] = field(default_factory=dict)


class OktaApiError(OktaMagicError):
    """The org answered with an error status; ``details`` holds Okta's error body."""

    def __init__(self, message: str, details: ApiErrorDetails) -> None:
        super().__init__(message)
        self.details = details

    @property
    def status(self) -> int:
        return self.details.status

    @property
    def error_code(self) -> str | None:
        return self.details.error_code


class InsufficientScope(OktaApiError):
    """403 with ``error="insufficient_scope"``: the token lacks the endpoint's scope."""

    def __init__(self, message: str, details: ApiErrorDetails, *, needed: Sequence[str], held: Sequence[str]) -> None:
        super().__init__(message, details)
        self.needed = tuple(needed)
        self.held = tuple(held)


class PermissionDenied(OktaApiError):
    """403 E0000006: the scope is granted but the user's admin role forbids the call."""


class RateLimited(OktaApiError):
    """429 E0000047 and the bounded retries ran out."""
