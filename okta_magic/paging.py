"""Which URL comes next in a paged list, and which hosts may receive the token.

Okta pages with cursors carried in RFC 8288 ``Link`` headers: one header line
per relation (``rel="self"``, ``rel="next"``); the list ends at the first answer
without ``rel="next"`` (Okta: "Design principles" > Pagination, Link header).
Some HTTP stacks join repeated lines with ", " (RFC 9110 §5.3); httpx's
``Response.links`` joins the lines itself and parses the joined form, so both
wire forms give the same links. ``rel`` may be unquoted, in any case, and carry
several space-separated types (``rel="next last"``, RFC 8288 §3.3); a relative
URI reference is resolved against the request URL (§3.2).

Host rule (the token never leaves the org):

* A request goes to the org given at sign-in: same scheme, host and port.
  An absolute URL on any other host is refused before anything is sent
  (:class:`~okta_magic.errors.HostNotAllowed`).
* A ``next`` link on another host is followed on the org's own host when its
  path is a Management API path (``/api/v1/...``): real orgs have answered a
  request to ``test.okta.com`` with links on the ``-admin`` host or on another
  name of the same org, and the cursor is valid on the org's own host. Any other
  ``next`` link on a foreign host is refused (HostNotAllowed).

System Log polling (``GET /api/v1/logs`` without ``until``): Okta always sends
``rel="next"``, even when no new events exist, so such a pull stops at the
first empty page instead (Okta: "System Log API" > Polling requests).
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from .errors import HostNotAllowed

__all__ = ["Origin", "origin_of", "next_url", "is_log_polling", "resolve"]

Origin = tuple[str, str, int]
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: httpx.URL) -> Origin:
    """(scheme, host, port) with the default port filled in (RFC 6454 origin)."""
    scheme = url.scheme.lower()
    return scheme, url.host.lower(), url.port or _DEFAULT_PORTS.get(scheme, 0)


def _describe(origin: Origin) -> str:
    scheme, host, port = origin
    return host if port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"


def resolve(org: httpx.URL, path_or_url: str | httpx.URL) -> httpx.URL:
    """The absolute URL of a request: paths are joined to the org, absolute URLs must be on it."""
    text = str(path_or_url)
    if text.startswith("/"):
        return org.copy_with(raw_path=text.encode("ascii", errors="strict")) if _ascii(text) else org.join(text)
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise HostNotAllowed(f"{text[:80]!r} is not a usable URL ({exc}); give a path such as /api/v1/users") from None
    if not url.is_absolute_url:
        raise HostNotAllowed(f"{text[:80]!r} is neither a /api/v1/... path nor an absolute URL of the org")
    if origin_of(url) != origin_of(org):
        host = _describe(origin_of(org))
        raise HostNotAllowed(
            f"{_describe(origin_of(url))} is not on the signed-in org {host}; the token is only sent to {host}"
        )
    return url


def _ascii(text: str) -> bool:
    return text.isascii() and not any(ch.isspace() for ch in text)


def _next_reference(response: httpx.Response) -> str | None:
    """The URI reference of the ``next`` link, as httpx parses the ``Link`` lines (joined, RFC 9110 §5.3).

    A link may carry several relation types (``rel="next last"``, RFC 8288 §3.3), and parameter
    names and registered types are case-insensitive, so ``rel`` is matched per token, in any case.
    """
    for link in response.links.values():
        params = {key.lower(): value for key, value in link.items()}
        if "next" in params.get("rel", "").lower().split():
            return params.get("url") or None
    return None


def next_url(response: httpx.Response, org: httpx.URL) -> httpx.URL | None:
    """The ``rel="next"`` URL of an answer, moved onto the org's host when allowed (see module docstring)."""
    reference = _next_reference(response)
    if not reference:
        return None
    try:
        target = response.url.join(reference)  # RFC 8288 §3.2: relative to the request URL
    except httpx.InvalidURL:
        raise HostNotAllowed(f"The next page link {reference[:80]!r} is not a usable URL") from None
    if origin_of(target) == origin_of(org):
        return target
    if target.path.startswith("/api/v1/"):
        return org.copy_with(raw_path=target.raw_path)
    raise HostNotAllowed(
        f"The next page link points at {_describe(origin_of(target))}{target.path}, not at the signed-in org "
        f"{_describe(origin_of(org))}; the token is only sent to {_describe(origin_of(org))}"
    )


def is_log_polling(path: str, params: Iterable[str]) -> bool:
    """True for a System Log request without ``until`` (Okta then always sends a next link)."""
    return path.rstrip("/") == "/api/v1/logs" and "until" not in set(params)
