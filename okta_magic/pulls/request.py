"""Parse the text given to ``%okta`` / ``%%okta`` into an :class:`ApiRequest`.

Pure string work: no HTTP, no IPython. Two forms are accepted::

    GET /api/v1/users?search=profile.department eq "Engineering"

    %%okta
    POST /api/v1/groups
    Accept: application/json

    {"profile": {"name": "{{group_name}}"}}

The method may be omitted (``GET``). The target is a path on the org
(``/api/v1/...``) or an absolute ``https://`` URL. The query string is split by
hand (on ``&`` and the first ``=``) so that people can type values with raw
spaces and quotes; each value is percent-encoded once (RFC 3986 §2.1) and a
``%XX`` the user already typed is kept as it is, never encoded twice.

Inside a double-quoted string of a query value (the string literals of Okta's
``search`` and ``filter`` expressions), ``&`` and ``#`` are part of the string,
not the end of the parameter or of the URL: ``search=profile.department eq
"R&D"`` sends one parameter. When the quotes of the query are unbalanced, ``&``
and ``#`` split as usual.

``{{name}}`` is replaced by the value of ``name`` in the namespace given, quoted
for where it stands: a path segment is percent-encoded with nothing kept safe,
a query value is encoded once (and, inside a double-quoted string, ``"`` and
``\\`` are backslash-escaped first, as in the JSON strings that SCIM filters
use, RFC 7644 §3.4.2.2), a JSON body gets ``json.dumps`` of the value (a bare
string inside a JSON string is escaped for it), a header gets ``str``.

A path segment that reads ``.`` or ``..`` (typed, ``%2E``, or filled in) is refused:
it would climb out of its place (RFC 3986 §5.2.4), so ``/groups/{{gid}}/users``
with ``gid = ".."`` would ask for every user of the org.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from okta_magic.errors import RequestError, UnusableValue

__all__ = ["ApiRequest", "parse_request", "METHODS"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_ANY_PLACEHOLDER = re.compile(r"\{\{.*?\}\}")
_HEADER_LINE = re.compile(r"^([A-Za-z0-9!#$%&'*+.^_`|~-]+)\s*:\s?(.*)$")  # RFC 9110 §5.1 token ":" value
_PERCENT_TRIPLET = re.compile(r"%[0-9A-Fa-f]{2}")
_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")  # what str.splitlines splits on
_NOT_HEADER_TEXT = re.compile(r"[^\t\x20-\x7e]")  # a header value is visible ASCII, spaces and tabs

# Characters left as they are (RFC 3986 §3.3 pchar / §3.4 query), everything else is %XX-encoded.
# "&", "=", "+", "#" and ";" are encoded inside query values so they cannot split or end the query.
_SAFE_PATH = "-._~!$&'()*+,;=:@/"
_SAFE_QUERY = "-._~!$'()*,:@/?"


@dataclass(frozen=True)
class ApiRequest:
    """One Management API request, ready to send.

    Attributes:
        method: upper-case HTTP method.
        url_or_path: ``/api/v1/...`` or an absolute URL, percent-encoded, without the query.
        params: the query as ``(name, value)`` pairs with values decoded (what the user meant).
        headers: extra request headers from the cell.
        body: the parsed JSON body, or None when there is none.
        query: the encoded query string sent on the wire (no leading ``?``).
    """

    method: str
    url_or_path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    query: str = ""

    @property
    def target(self) -> str:
        """The path or URL with its encoded query, as sent."""
        return f"{self.url_or_path}?{self.query}" if self.query else self.url_or_path

    @property
    def path(self) -> str:
        """The path part (``/api/v1/users``) whether the target is a path or a URL."""
        return urlsplit(self.url_or_path).path or "/"

    def param(self, name: str) -> str | None:
        """The first value of a query parameter, or None."""
        for key, value in self.params:
            if key == name:
                return value
        return None


def parse_request(text: str, namespace: Mapping[str, Any] | None = None) -> ApiRequest:
    """Parse a line (``GET /api/v1/users``) or a cell (request line, headers, blank line, JSON body).

    Args:
        text: the magic's line, or the whole cell.
        namespace: variables for ``{{name}}`` interpolation (the notebook's user namespace).

    Raises:
        RequestError: the text is not a request; the message says how to write one.
    """
    ns: Mapping[str, Any] = namespace if namespace is not None else {}
    for match in _ANY_PLACEHOLDER.finditer(text):
        if not _PLACEHOLDER.fullmatch(match.group(0)):
            raise RequestError(f"{match.group(0)} is not a variable name: only {{{{name}}}} can be inserted; "
                               f"assign the value first (x = ...) and write {{{{x}}}}")
    lines = text.strip("\r\n").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if not lines or not lines[0].strip():
        raise RequestError("No request given: write e.g. GET /api/v1/users?limit=200")
    method, target = _split_request_line(lines[0].strip())
    headers, body_text = _split_headers_and_body(lines[1:], ns)
    url_or_path, query, params = _parse_target(target, ns)
    body = _parse_body(body_text, ns) if body_text is not None else None
    return ApiRequest(method, url_or_path, params, headers, body, query)


def _split_request_line(line: str) -> tuple[str, str]:
    first, _, rest = line.partition(" ")
    if first.upper() in METHODS:
        method, target = first.upper(), rest.strip()
        if not target:
            raise RequestError(f"{method} needs a path: write e.g. {method} /api/v1/users")
    elif first.startswith(("/", "http://", "https://", "{{")):
        method, target = "GET", line
    elif re.fullmatch(r"[A-Za-z]+", first) and rest.strip():
        raise RequestError(f"Unknown HTTP method {first!r}: use one of {', '.join(METHODS)}")
    else:
        raise RequestError(f"Cannot read {line[:60]!r} as a request: write e.g. GET /api/v1/users?limit=200")
    if not target.startswith(("/", "http://", "https://", "{{")):
        raise RequestError(
            f"The path {target[:60]!r} must start with /api/v1/... or be a full https:// URL of the org"
        )
    return method, target


def _split_headers_and_body(lines: list[str], ns: Mapping[str, Any]) -> tuple[dict[str, str], str | None]:
    headers: dict[str, str] = {}
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            rest = "\n".join(lines[index + 1 :])
            return headers, rest if rest.strip() else None
        if stripped.startswith(("{", "[")):
            # A JSON body right after the request line (no blank line) is unambiguous: accept it.
            return headers, "\n".join(lines[index:])
        match = _HEADER_LINE.match(stripped)
        if not match:
            raise RequestError(
                f"Line {index + 2} ({stripped[:40]!r}) is not a 'Header: value' line: "
                "put a blank line before the JSON body"
            )
        name, value = match.group(1), _interpolate_plain(match.group(2).strip(), ns)
        if _LINE_BREAK.search(value):
            raise RequestError(f"The value of header {name} must be a single line")
        odd = _NOT_HEADER_TEXT.search(value)
        if odd:  # HTTP sends header values as ASCII (RFC 9110 §5.5); httpx refuses anything else
            raise RequestError(f"The value of header {name} holds {odd.group()!r}, which a header cannot carry: "
                               "use ASCII letters, digits and punctuation only (put other text in the JSON body)")
        headers[name] = value
    return headers, None


def _lookup(name: str, ns: Mapping[str, Any]) -> Any:
    if name not in ns:
        raise RequestError(f"{{{{{name}}}}} names no variable: define {name} in the notebook first")
    return ns[name]


def _text(name: str, ns: Mapping[str, Any]) -> str:
    """``str()`` of the variable ``name``, or a RequestError when it cannot be written as text."""
    value = _lookup(name, ns)
    try:
        return str(value)
    except Exception as exc:  # a user object whose __str__ fails
        raise RequestError(f"{{{{{name}}}}} cannot be written as text ({type(exc).__name__} from its str()): "
                           f"insert a plain value instead") from None


def _url_text(name: str, ns: Mapping[str, Any]) -> str:
    """The text of ``name`` for a URL: one line (a line break there is a slip, e.g. a file read with its newline)."""
    text = _text(name, ns)
    if _LINE_BREAK.search(text):
        raise RequestError(f"{{{{{name}}}}} holds a line break ({text[:40]!r}), which cannot stand in a URL: "
                           f"strip it first, e.g. {name} = {name}.strip()")
    return text


def _interpolate_plain(text: str, ns: Mapping[str, Any]) -> str:
    return _PLACEHOLDER.sub(lambda m: _text(m.group(1), ns), text)


def _encode(text: str, safe: str) -> str:
    """Percent-encode ``text`` once: valid ``%XX`` triplets stay, a lone ``%`` becomes ``%25``."""
    out: list[str] = []
    pos = 0
    for match in _PERCENT_TRIPLET.finditer(text):
        out.append(quote(text[pos : match.start()], safe=safe))
        out.append(match.group(0).upper())
        pos = match.end()
    out.append(quote(text[pos:], safe=safe))
    return "".join(out)


def _encode_with_values(text: str, ns: Mapping[str, Any], safe: str, value_safe: str, *,
                        in_quotes: bool = False) -> str:
    """Encode literal text with ``safe`` and each interpolated value (as typed by no one) with ``value_safe``.

    With ``in_quotes``, a value that stands inside a double-quoted string of ``text`` has its
    ``"`` and ``\\`` backslash-escaped first, so it cannot end the string early (RFC 7644 §3.4.2.2).
    """
    out: list[str] = []
    pos = 0
    for match in _PLACEHOLDER.finditer(text):
        out.append(_encode(text[pos : match.start()], safe))
        value = _url_text(match.group(1), ns)
        if in_quotes and text.count('"', 0, match.start()) % 2:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        out.append(quote(value, safe=value_safe))
        pos = match.end()
    out.append(_encode(text[pos:], safe))
    return "".join(out)


def _outside_quotes(text: str, sep: str) -> list[int]:
    """Where ``sep`` stands outside double-quoted strings; every place when the quotes are unbalanced."""
    if text.count('"') % 2:
        return [i for i, ch in enumerate(text) if ch == sep]
    places: list[int] = []
    quoted = False
    for i, ch in enumerate(text):
        if ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            places.append(i)
    return places


def _split_outside_quotes(text: str, sep: str) -> list[str]:
    """``text.split(sep)``, except that a ``sep`` inside a double-quoted string does not split."""
    parts: list[str] = []
    start = 0
    for place in _outside_quotes(text, sep):
        parts.append(text[start:place])
        start = place + 1
    parts.append(text[start:])
    return parts


def _parse_target(target: str, ns: Mapping[str, Any]) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    hashes = _outside_quotes(target, "#")
    if hashes:
        target, fragment = target[: hashes[0]], target[hashes[0] + 1 :]
        if fragment.strip():
            raise RequestError("Remove the '#...' fragment from the URL: it is never sent to the org "
                               "(a '#' inside a search value must stand between double quotes, or be typed %23)")
    location, _, query = target.partition("?")
    if location.startswith(("http://", "https://")):
        parts = urlsplit(location)
        if not parts.hostname:
            raise RequestError(f"The URL {location[:60]!r} has no host")
        origin, path = f"{parts.scheme}://{parts.netloc}", parts.path or "/"
    else:
        origin, path = "", location
    if any(ch.isspace() for ch in path) and not _PLACEHOLDER.search(path):
        raise RequestError(f"The path {path[:60]!r} contains a space: put query values after '?'")
    # A path segment's value is one segment: "/" inside it must be %2F (RFC 3986 §3.3).
    encoded_path = _encode_with_values(path, ns, _SAFE_PATH, "")
    _refuse_dot_segments(path, encoded_path, ns)
    pairs: list[tuple[str, str]] = []
    encoded: list[str] = []
    for item in _split_outside_quotes(query, "&") if query else ():
        if not item.strip():
            continue
        name, has_value, value = item.partition("=")
        name = name.strip()
        if not name:
            raise RequestError(f"The query part {item[:40]!r} has no parameter name")
        enc_name = _encode_with_values(name, ns, _SAFE_QUERY, "")
        enc_value = _encode_with_values(value, ns, _SAFE_QUERY, "", in_quotes=True)
        encoded.append(f"{enc_name}={enc_value}" if has_value else enc_name)
        pairs.append((unquote(enc_name), unquote(enc_value)))
    return origin + encoded_path, "&".join(encoded), tuple(pairs)


def _refuse_dot_segments(template: str, encoded: str, ns: Mapping[str, Any]) -> None:
    """Refuse a path segment that is ``.`` or ``..``, typed or put there by a value (``%2E`` counts too).

    Such a segment is removed before the request reaches the resource (RFC 3986 §5.2.4; httpx does it, and
    §6.2.2.2 lets a server decode ``%2E`` first), so ``/groups/{{gid}}/users`` with ``..`` would ask for
    ``/users``. A value stays in its segment, or nothing is sent. ``encoded`` is ``template`` encoded: a value
    cannot hold a ``/`` there (it is ``%2F``), so their segments line up.
    """
    for written, segment in zip(template.split("/"), encoded.split("/"), strict=True):
        if unquote(segment) not in (".", ".."):
            continue
        reached, text = _without_dot_segments(encoded), unquote(segment)
        names = tuple(dict.fromkeys(_PLACEHOLDER.findall(written)))
        if _PLACEHOLDER.fullmatch(written.strip()):
            raise UnusableValue(f"{written.strip()} is {text!r}, which in a path climbs out of its segment ({encoded} "
                                f"would reach {reached}): not sent; a path segment cannot be '.' or '..'", names=names)
        if names:
            raise UnusableValue(f"{written[:60]} makes the path segment {text!r}, which climbs out of its place "
                                f"({encoded} would reach {reached}): not sent; a path segment cannot be '.' or '..'",
                                names=names)
        raise RequestError(f"The path {encoded[:80]} holds the segment {text!r}, which climbs out of its place (it "
                           f"would reach {reached[:80]}): not sent; a value put in a path cannot be '.' or '..'")


def _without_dot_segments(path: str) -> str:
    """``path`` as an HTTP client or server reads it, with ``.``/``..`` segments (or %2E forms) removed
    (RFC 3986 §5.2.4)."""
    out: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        text = unquote(segment)
        if text == "..":
            if len(out) > 1:
                out.pop()
        elif text != ".":
            out.append(segment)
            continue
        if last:
            out.append("")
    return "/".join(out) or "/"


def _parse_body(text: str, ns: Mapping[str, Any]) -> Any:
    source = _interpolate_json(text, ns)
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise RequestError(
            f"The body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}); "
            "check quotes and commas"
        ) from None


def _interpolate_json(text: str, ns: Mapping[str, Any]) -> str:
    """Replace ``{{name}}`` in JSON text: a whole JSON value or string -> json.dumps(value);
    inside a longer string -> the escaped text of str(value)."""
    out: list[str] = []
    pos, in_string, escaped, string_start = 0, False, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string, string_start = True, i
        if ch == "{" and text.startswith("{{", i):
            match = _PLACEHOLDER.match(text, i)
            if match:
                value = _lookup(match.group(1), ns)
                if in_string:
                    whole = string_start == i - 1 and text.startswith('"', match.end())
                    if whole:
                        # "{{x}}" is the whole string: the value keeps its JSON type (5, true, [..]).
                        out.append(text[pos:string_start])
                        out.append(_dumps(value))
                        pos = i = match.end() + 1
                        in_string = False
                        continue
                    out.append(text[pos:i])
                    out.append(_dumps(_text(match.group(1), ns))[1:-1])
                else:
                    out.append(text[pos:i])
                    out.append(_dumps(value))
                pos = i = match.end()
                continue
        i += 1
    out.append(text[pos:])
    return "".join(out)


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, default=str)
    except Exception as exc:  # not JSON (a circular list), or a user object whose __str__ fails
        raise RequestError(f"A value interpolated into the body cannot be written as JSON "
                           f"({type(exc).__name__}: {str(exc)[:80]})") from None
