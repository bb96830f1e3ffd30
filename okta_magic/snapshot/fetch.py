"""Pages pulled for a snapshot through the session's one client (its pacer, retries and rate limits apply),
each page's JSON as Okta sent it handed to a staging file as it arrives.

A list is one page stream; a request per user, group, app or policy is a fan-out
(:func:`okta_magic.pulls.fanout.pull_many`) whose pages go to the staging file in the values' order
(:class:`~okta_magic.pulls.inorder.InOrder`) as they are fetched; a large users list is cut into
windows on ``created`` (:func:`okta_magic.pulls.partition.plan`) pulled at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from okta_magic.errors import OktaApiError, OktaMagicError
from okta_magic.http.page import decode_json
from okta_magic.pulls.fanout import default_concurrency, pull_many
from okta_magic.pulls.inorder import InOrder
from okta_magic.pulls.request import ApiRequest

if TYPE_CHECKING:
    from okta_magic.http.client import OktaClient
    from okta_magic.snapshot.store import Staged

__all__ = ["rows_of", "pull_parts", "pull_list", "pull_each", "pull_windows", "pull_assignees", "request_for"]

# Rows a fan-out may hold for the staging file behind the one being written (InOrder's limits). A snapshot's pages
# are parsed JSON (a user is several kB as Python objects), not Arrow, and a group's members come 1,000 a page: at
# the pulls' own limits (10,000 rows waiting, 5,000 held) group_members held 430 MB at 100,000 users.
ROWS_AHEAD, ROWS_HELD = 2_000, 1_000

# lists whose page is an object holding the array (Okta's IAM APIs)
_WRAPPED = ("value", "roles", "resource-sets")


def rows_of(data: Any) -> list[Any]:
    """The objects a page holds: a JSON array, an IAM page's array, or one object."""
    if data is None:
        return []
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _WRAPPED:
            if isinstance(data.get(key), list):
                return list(data[key])
        return [data]
    return []


def request_for(path: str, params: Mapping[str, str | None] | None = None) -> ApiRequest:
    """A GET of ``path`` with ``params`` (a None value left out), as the pulls layer sends it."""
    pairs = tuple((k, str(v)) for k, v in (params or {}).items() if v is not None)
    return ApiRequest("GET", path, pairs, {}, None, urlencode(pairs, quote_via=quote))


def pull_list(client: OktaClient, path: str, staged: Staged, params: Mapping[str, str] | None = None,
              parent: Any = None) -> int:
    """Every page of one list into ``staged``; the requests it took."""
    stream = client.stream("GET", path, params=params, decode=decode_json, progress=False)
    requests = 0
    try:
        for page in stream:
            requests += 1
            staged.add(parent, rows_of(page.data))
    finally:
        stream.close()
    staged.requests += requests
    return requests


def pull_parts(client: OktaClient, parts: list[tuple[Any, ApiRequest]], staged: Staged, *, prefix: bool,
         concurrency: int | None, gone_ok: bool) -> int:
    """Pull the parts with the fan-out engine, their pages staged in order as they arrive; the requests."""
    if not parts:
        return 0
    keys = [key for key, _ in parts]
    parent = {key: (None if prefix else key) for key in keys}
    feed = InOrder(keys, lambda key, data: staged.add(parent[key], rows_of(data)), prefix=prefix,
                   rows_ahead=ROWS_AHEAD, hold_rows=ROWS_HELD, head_rows=ROWS_HELD)
    batch = pull_many(client, parts, concurrency=concurrency or default_concurrency(client), progress=False,
                      feed=feed, decode=decode_json, where="snapshot")
    staged.requests += batch.pages
    if batch.interrupted:
        raise KeyboardInterrupt
    if batch.fatal is not None:
        raise batch.fatal
    for key in keys:
        error = batch.errors.get(key)
        if error is None:
            continue
        if gone_ok and isinstance(error, OktaApiError) and error.status == 404:
            continue  # deleted between the list and its own request: it has no rows now
        raise error
    missing = [key for key in keys if key not in batch.done and key not in batch.errors]
    if missing:
        raise OktaMagicError(f"{len(missing)} requests of the snapshot did not finish.")
    return batch.pages


def pull_each(client: OktaClient, template: str, keys: Sequence[str], staged: Staged,
              params: Mapping[str, str] | None = None, concurrency: int | None = None) -> int:
    """GET ``template`` (with ``{}`` for the key) once per key, rows staged under their key; the requests."""
    parts = [(key, request_for(template.format(quote(str(key), safe="")), params)) for key in dict.fromkeys(keys)]
    return pull_parts(client, parts, staged, prefix=False, concurrency=concurrency, gone_ok=True)


def pull_windows(client: OktaClient, request: ApiRequest, staged: Staged, parallel: int) -> int:
    """A users list cut into windows on ``created`` pulled ``parallel`` at once (one stream when 1)."""
    if parallel <= 1:
        return pull_list(client, request.path, staged, dict(request.params))
    from okta_magic.pulls.partition import plan

    windows = plan(client, request, parallel)
    staged.requests += 2  # the oldest and newest user the windows are cut between
    return 2 + pull_parts(client, list(enumerate(windows)), staged, prefix=True, concurrency=parallel, gone_ok=False)


def pull_assignees(client: OktaClient, staged: Staged) -> list[str]:
    """``/api/v1/iam/assignees/users``: every user who holds a role (the page's ``_links.next``, no ``Link``)."""
    url: str | None = "/api/v1/iam/assignees/users"
    params: dict[str, str] | None = {"limit": "200"}
    ids: list[str] = []
    while url:
        response = client.request("GET", url, params=params)
        staged.requests += 1
        body = response.json()
        rows = rows_of(body)
        ids += [str(row.get("id")) for row in rows if isinstance(row, dict) and row.get("id")]
        following = ((body.get("_links") or {}).get("next") or {}).get("href") if isinstance(body, dict) else None
        url, params = (following if following and rows else None), None
    return ids
