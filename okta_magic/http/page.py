"""One answer of a pull as plain values (status, headers, body bytes, URL), and how its JSON is read.

The client yields :class:`Page` objects; whoever consumes them (the frame builder, a file writer)
decides what the bytes become. JSON is read with orjson from the raw bytes; a charset other than
UTF-8 is decoded as declared and a byte order mark is ignored (RFC 8259 §8.1).
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson

from okta_magic.errors import InvalidResponse
from okta_magic.held import InMemoryOnly
from okta_magic.http.ratelimit import RateLimit

__all__ = ["Page", "decode_json", "error_body", "is_rows", "loads", "one_line"]

_UTF8 = frozenset({"utf-8", "utf8"})
_BOM = b"\xef\xbb\xbf"


@dataclass
class Page(InMemoryOnly):
    """One answer of a (paged) request: what came over the wire, and ``data`` as the pull's decoder read it.

    ``headers`` is case-insensitive (``httpx.Headers``); ``charset`` is the one the Content-Type
    declares (None when it declares none). In memory only, like everything the client hands out.
    """

    index: int
    method: str
    url: str
    status: int
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    charset: str | None = None
    data: Any = field(default=None, repr=False)

    @property
    def content_type(self) -> str | None:
        """The Content-Type header, if any."""
        return self.headers.get("content-type")

    @property
    def rate_limit(self) -> RateLimit:
        """The rate-limit state this answer reported (Okta's X-Rate-Limit-* headers)."""
        return RateLimit.from_headers(self.headers)

    @property
    def request_id(self) -> str | None:
        """Okta's ``X-Okta-Request-Id`` of this answer."""
        return self.headers.get("x-okta-request-id")

    @property
    def utf8(self) -> bool:
        """True unless the answer declares a charset other than UTF-8."""
        return self.charset is None or self.charset.lower() in _UTF8

    @property
    def text(self) -> str:
        """The body as text, in the declared charset (UTF-8 when none or an unknown one is declared)."""
        encoding = self.charset or "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            encoding = "utf-8"
        return self.body.decode(encoding, errors="replace")

    @property
    def records(self) -> list[Any]:
        """The page as a list of records (a JSON object counts as one)."""
        if isinstance(self.data, list):
            return self.data
        if is_rows(self.data):
            return list(self.data.to_pylist())
        return [] if self.data is None else [self.data]


def is_rows(data: Any) -> bool:
    """A page of a list: a parsed JSON array, or a table it was read into (both have len and slices)."""
    return isinstance(data, list) or hasattr(data, "num_rows")


def loads(content: bytes, content_type: str, charset: str | None) -> Any:
    """Parse JSON bytes; raises orjson.JSONDecodeError.

    RFC 8259 §8.1 asks for UTF-8, but a server or proxy may declare another charset
    (decoded as declared) or prefix a byte order mark (ignored, as §8.1 allows).
    """
    if charset and charset.lower() not in _UTF8:
        try:
            return orjson.loads(content.decode(charset))
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown or wrong charset: try the bytes as UTF-8
    if content[:3] == _BOM:
        content = content[3:]
    return orjson.loads(content)


def error_body(content: bytes, content_type: str, charset: str | None) -> Any:
    """The JSON of an error answer, or None when it is empty or not JSON."""
    try:
        return loads(content, content_type, charset) if content else None
    except orjson.JSONDecodeError:
        return None


def one_line(text: Any, limit: int = 300) -> str:
    """Text squeezed onto one line (Okta's summaries and causes may hold line breaks), cut at ``limit``."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def decode_json(page: Page) -> Any:
    """The JSON of a page (orjson on the raw bytes), or None when it is empty or not JSON.

    Raises:
        InvalidResponse: the Content-Type says JSON but the body does not parse (cut short on the way?).
    """
    content = page.body
    if not content:
        return None
    content_type = page.headers.get("content-type", "")
    declared = "json" in content_type
    if not declared and content[:1] not in (b"[", b"{"):
        return None
    try:
        return loads(content, content_type, page.charset)
    except orjson.JSONDecodeError as exc:
        if not declared:
            return None  # text that merely starts like JSON: shown as text
        raise InvalidResponse(
            f"{page.method} {httpx.URL(page.url).path} answered {page.status} with a body that is not valid "
            f"JSON although it says {content_type.split(';')[0]} ({one_line(exc, 100)}; {len(content)} bytes): "
            "it may have been cut short on the way; run it again.",
            status=page.status, url=page.url) from None
