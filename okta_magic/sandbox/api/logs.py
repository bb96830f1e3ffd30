"""``/api/v1/logs``: the System Log, with Okta's polling and bounded requests, ``filter``, ``q`` and cursors.

Follows Okta's System Log API and its query guide: a polling request (no ``until``,
ascending) always links ``next``, a bounded one ends without it; ``since`` more than
180 days back and an invalid ``filter`` are E0000053; ``q`` takes up to 10 keywords of
up to 40 characters (E0000001).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.responses import Response

from okta_magic.sandbox.api.calls import Call, limit, links
from okta_magic.sandbox.data import iso
from okta_magic.sandbox.directory import Directory
from okta_magic.sandbox.responses import ApiProblem, bad_cursor, invalid, json_response
from okta_magic.sandbox.search import SearchError, allow_log_filter, compile_expression

LOGS_DEFAULT_LIMIT = 100
LOGS_MAX_LIMIT = 1000
LOG_DEFAULT_WINDOW = 7 * 86400  # System Log: since defaults to 7 days before until
LOG_MAX_SINCE = 180 * 86400  # System Log query guide: since more than 180 days back is E0000053
LOG_Q_MAX_ITEM = 40  # System Log: q keywords are at most 40 characters ...
LOG_Q_MAX_ITEMS = 10  # ... and at most 10 of them
# System Log query guide: co on these two attributes is an unsupported combination (E0000031).
LOG_NO_CONTAINS = frozenset({"debugContext.debugData.url", "debugContext.debugData.requestUri"})

EventPredicate = Callable[[dict[str, Any]], bool]


def list_logs(call: Call) -> Response:
    """Okta's System Log rules: polling (no until, ASCENDING) always links ``next``; bounded ends."""
    p = call.params
    size = limit(call, LOGS_DEFAULT_LIMIT, LOGS_MAX_LIMIT)
    order = p.get("sortOrder", "ASCENDING").upper()
    if order not in ("ASCENDING", "DESCENDING"):
        raise invalid("sortOrder", "sortOrder: must be ASCENDING or DESCENDING")
    now = call.org.clock()
    until = _timestamp(p["until"], "until") if "until" in p else None
    since = _timestamp(p["since"], "since") if "since" in p else None
    upper = until if until is not None else iso(now + 1)
    if since is None:
        since = _before(upper, LOG_DEFAULT_WINDOW) if until else iso(now - LOG_DEFAULT_WINDOW)
    if since < iso(now - LOG_MAX_SINCE):
        raise ApiProblem(
            400, "E0000053", "Invalid parameter: The since parameter is over 180 days prior to the current day."
        )
    predicate = _log_predicate(p.get("filter"), p.get("q"))
    polling = until is None and order == "ASCENDING"
    d = call.directory
    with d.lock:
        key = None
        if "after" in p:
            key = _parse_log_cursor(p["after"])
            if key is None:
                raise bad_cursor()
        indexes = _indexes(d, order, since, upper, key)
        chosen, more = _choose(d, indexes, predicate, size)
        body = b"[" + b",".join(d.event_json(i) for i in chosen) + b"]"
        if chosen:
            cursor: str | None = _log_cursor(d.event_key(chosen[-1]))
        elif polling:
            cursor = _resume_cursor(d, p.get("after"), indexes, since)
        else:
            cursor = None
    response = json_response(body)
    # Polling: "A next link relation header is always present, even if there are no new events."
    # Bounded: the last page has no next.
    # The next link keeps the request's bounds (since/until), so a bounded request stays bounded.
    links(call, response, cursor if (polling or more) else None)
    return response


def _indexes(d: Directory, order: str, since: str, upper: str, key: tuple[str, int] | None) -> range:
    """The event positions a request walks, in its order, from its cursor (if any) within [since, upper)."""
    low = d.event_index_from(since)
    stop = d.event_index_from(upper)
    if order == "ASCENDING":
        first = d.event_index_after(key) if key is not None else low
        return range(first, stop)
    high = min(stop, d.event_index_before(key)) if key is not None else stop
    return range(high - 1, low - 1, -1)


def _choose(d: Directory, indexes: range, predicate: EventPredicate | None, size: int) -> tuple[list[int], bool]:
    """Up to ``size`` matching events, and whether another match follows them."""
    chosen: list[int] = []
    for i in indexes:
        if predicate is None or predicate(d.events[i]):
            if len(chosen) == size:
                return chosen, True
            chosen.append(i)
    return chosen, False


def _resume_cursor(d: Directory, after: str | None, indexes: range, since: str) -> str:
    """Nothing new while polling: the next poll starts from the same place."""
    if after:
        return after
    if indexes.start > 0:
        return _log_cursor(d.event_key(indexes.start - 1))
    return _log_cursor((since, 0))


def _before(stamp: str, seconds: int) -> str:
    """The instant ``seconds`` before ``stamp`` (both in the sandbox's ISO form), to the millisecond."""
    return _stamp_text(datetime.fromisoformat(stamp.replace("Z", "+00:00")) - timedelta(seconds=seconds))


def _stamp_text(when: datetime) -> str:
    """Okta's form of an instant: UTC, to the millisecond (truncated), ``Z``."""
    when = when.astimezone(timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _timestamp(value: str, name: str) -> str:
    """A ``since`` or ``until`` parameter in the sandbox's ISO form (E0000001 when it is not a timestamp).

    Read from the text's own fields, never through a float: ``09:50:07.198Z`` as seconds since the epoch is
    ``...07.19799995`` and came back as ``.197Z``, so ``since`` took in the events one millisecond before it
    (a System Log continued from its last event wrote such an event twice) and ``until`` left out its last
    millisecond.
    """
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise invalid(name, f"{name}: must be an ISO 8601 timestamp") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return _stamp_text(parsed)


def _log_predicate(expression: str | None, q: str | None) -> EventPredicate | None:
    """The System Log ``filter`` and ``q`` together (both must hold), or None when neither is given."""
    by_filter = _log_filter(expression) if expression else None
    keywords = _log_keywords(q) if q and q.strip() else None
    if keywords is None:
        return by_filter

    def matches(event: dict[str, Any]) -> bool:
        """Both the filter and every keyword hold."""
        return (by_filter is None or by_filter(event)) and _mentions(event, keywords)

    return matches


def _log_filter(expression: str) -> EventPredicate:
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
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _log_cursor(key: tuple[str, int]) -> str:
    """Opaque-looking System Log cursor: ``<published epoch ms>_<sequence>`` (Okta's looks alike)."""
    whole = int(_parse_iso(key[0][:19] + "Z"))
    return f"{whole * 1000 + int(key[0][20:23])}_{key[1]}"


def _parse_log_cursor(cursor: str) -> tuple[str, int] | None:
    """The (published, sequence) key a cursor stands for, or None when it is not one of ours."""
    m = re.fullmatch(r"(\d{1,15})_(\d{1,12})", cursor)
    if not m:
        return None
    ms = int(m.group(1))
    return (iso(ms // 1000)[:20] + f"{ms % 1000:03d}Z", int(m.group(2)))
