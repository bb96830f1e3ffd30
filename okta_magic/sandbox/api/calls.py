"""One Management API request as its handler sees it, and the helpers every resource shares.

Okta's cursor paging (``limit`` plus an opaque ``after``; one ``Link`` header line per
rel, RFC 8288, absolute URLs on the org host), JSON body reading, user lookup by id,
login or ``me``, and System Log entries for actions taken through the API.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox import data
from okta_magic.sandbox.directory import Directory, Listing
from okta_magic.sandbox.responses import bad_cursor, invalid, json_response, malformed_body, not_found
from okta_magic.sandbox.state import OrgState


@dataclass
class Caller:
    """Who is calling: the user (if any), their admin roles, and the token's scopes (None for SSWS)."""

    user_id: str | None
    roles: set[str]
    scopes: tuple[str, ...] | None
    client_id: str | None


@dataclass
class Call:
    """One request as the handlers see it: the org, the request, the caller, path arguments, query."""

    org: OrgState
    request: Request
    caller: Caller
    args: tuple[str, ...]
    params: dict[str, str]

    @property
    def directory(self) -> Directory:
        """The org's users, groups, apps and events."""
        return self.org.directory

    def flag(self, name: str, default: bool) -> bool:
        """A boolean query parameter (``activate``, ``sendEmail``): only ``true`` is true."""
        value = self.params.get(name)
        return default if value is None else value.lower() == "true"


Handler = Callable[[Call], Response | Awaitable[Response]]
Routes = tuple[tuple[str, dict[str, Handler]], ...]


def sort_by(call: Call) -> tuple[str, bool] | None:
    """``sortBy`` and ``sortOrder`` of a search (Okta: "for search queries only"; ties ordered by id;
    ``sortOrder`` is asc by default and ignored without ``sortBy``), as (attribute, descending)."""
    field = call.params.get("sortBy", "").strip()
    if not field or not call.params.get("search"):
        return None
    order = call.params.get("sortOrder", "asc").strip().lower()
    if order not in ("asc", "desc", "ascending", "descending"):
        raise invalid("sortOrder", "sortOrder: must be asc or desc")
    return field, order.startswith("desc")


def limit(call: Call, default: int, maximum: int) -> int:
    """The page size asked for, clamped to the endpoint's maximum (E0000001 if not an integer)."""
    raw = call.params.get("limit")
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid("limit", "limit: The value must be an integer.") from None
    if value < 0:
        return default  # Okta treats -1 as "no limit" on some lists; the default then applies
    return max(1, min(value, maximum))


def page(call: Call, listing: Listing, size: int, render: Callable[[list[str]], bytes]) -> Response:
    """One page of a cursor listing, with Link self (and next when more remain)."""
    start = 0
    after = call.params.get("after")
    if after is not None:
        seq = call.directory.seq.get(after)
        # a listing in its own order (configuration objects: devices, policies ...) knows every cursor's place;
        # the directory's lists find theirs by the sequence number of the user or group
        begin = listing.start_after(after, seq or 0) if seq is not None or listing.places is not None else None
        if begin is None:
            raise bad_cursor()
        start = begin
    ids = listing.ids[start : start + size]
    response = json_response(render(ids))
    has_more = start + size < len(listing.ids)
    links(call, response, ids[-1] if has_more and ids else None)
    return response


def links(call: Call, response: Response, next_cursor: str | None) -> None:
    """RFC 8288 Link header lines, one per rel, absolute URLs on the org host; ``limit`` kept in next."""
    base = f"{call.org.url}{call.request.url.path}"
    query = call.request.url.query
    response.headers.append("Link", f'<{base}{"?" + query if query else ""}>; rel="self"')
    if next_cursor is not None:
        params = {"after": next_cursor, **{k: v for k, v in call.params.items() if k != "after"}}
        response.headers.append("Link", f'<{base}?{urlencode(params)}>; rel="next"')


def user_id(call: Call, ref: str) -> str:
    """The id of the user a path names by id, login or ``me`` (E0000007 when there is none)."""
    uid = call.caller.user_id if ref == "me" else call.directory.find_user(ref)
    if uid is None or uid not in call.directory.users:
        raise not_found(ref, "User")
    return uid


async def body(call: Call) -> dict[str, Any]:
    """The request's JSON object (E0000003 when it is empty, not JSON or not an object)."""
    raw = await call.request.body()
    if not raw.strip():
        raise malformed_body()
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise malformed_body() from None
    if not isinstance(parsed, dict):
        raise malformed_body()
    return parsed


def audit(call: Call, event_type: str, message: str, targets: list[dict[str, Any]]) -> None:
    """Record an action taken through the API in the System Log, as Okta does."""
    directory = call.directory
    actor_user = directory.users.get(call.caller.user_id) if call.caller.user_id else None
    directory.add_event(
        data.log_event(
            call.org.clock(), event_type, message, None, data.actor_of(actor_user, call.caller.client_id), targets
        )
    )


def user_target(call: Call, uid: str) -> dict[str, Any]:
    """A user as a System Log target."""
    return data.target_user(call.directory.users[uid])


def group_target(gid: str, name: str) -> dict[str, Any]:
    """A group as a System Log target (Okta leaves its alternateId ``unknown``)."""
    return {"id": gid, "type": "UserGroup", "alternateId": "unknown", "displayName": name, "detailEntry": None}
