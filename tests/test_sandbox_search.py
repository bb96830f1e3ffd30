"""The sandbox's user search: bounds on ``created`` are looked up in an index of users ordered by ``created``,
and the answers are exactly those of testing every user (same ids, same order, sorted or not)."""

from __future__ import annotations

from typing import Any

import pytest

from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.directory import Directory, sort_key
from okta_magic.sandbox.search import Span, compile_search

NOT_DEPROVISIONED = '(status lt "DEPROVISIONED" or status gt "DEPROVISIONED")'


def every_user(directory: Directory, text: str, sort: tuple[str, bool] | None) -> list[str]:
    """The answer by testing every user in list order, then sorting: what the sandbox did before its index."""
    predicate, _ = compile_search(text)
    found = [u for u in directory.users.values() if predicate(u)]
    if sort is not None:
        found.sort(key=sort_key(sort[0]), reverse=sort[1])
    return [u["id"] for u in found]


@pytest.fixture(scope="module")
def directory() -> Directory:
    sb = Sandbox(port=0, users=400, seed=3)
    found: Directory = sb._state.directory
    return found


def _moments(directory: Directory) -> tuple[str, str, str]:
    created = sorted(u["created"] for u in directory.users.values() if isinstance(u["created"], str))
    return created[40], created[len(created) // 2], created[-40]


def _searches(directory: Directory) -> list[str]:
    early, middle, late = _moments(directory)
    return [
        f'created ge "{early}"', f'created gt "{early}"', f'created lt "{late}"', f'created le "{late}"',
        f'created eq "{middle}"', f'created eq "{middle.lower()}"',  # values compare case-insensitively
        f'created ge "{early}" and created lt "{late}"',
        f'{NOT_DEPROVISIONED} and created ge "{early}" and created lt "{middle}"',
        f'(created lt "{early}" or created ge "{late}")',  # two ranges: the span joins them
        f'created lt "{early}" or status eq "ACTIVE"',  # one side unbounded: no span
        f'not (created lt "{middle}")',
        f'created ge "{late}" and created lt "{early}"',  # an empty span
        f'created ge "{middle[:10]}"', 'created gt 5', NOT_DEPROVISIONED,
    ]


@pytest.mark.parametrize("sort", [None, ("created", False), ("created", True), ("profile.lastName", False)])
def test_a_search_bounded_on_created_answers_as_testing_every_user(directory: Directory,
                                                                   sort: tuple[str, bool] | None) -> None:
    for text in _searches(directory):
        predicate, spans = compile_search(text)
        listing = directory.matching("users", ("test", text), predicate, sort, spans.get("created"))
        assert listing.ids == every_user(directory, text, sort), text


def test_users_without_a_created_text_are_still_found_and_ordered(directory: Directory) -> None:
    uid = next(iter(directory.users))
    user: dict[str, Any] = directory.users[uid]
    kept = user["created"]
    try:
        with directory.lock:
            user["created"] = None
            directory.touch(uid)  # a change: the index is built again
        for sort in (None, ("created", False), ("created", True)):
            for text in _searches(directory):
                predicate, spans = compile_search(text)
                listing = directory.matching("users", ("test-none", text), predicate, sort, spans.get("created"))
                assert listing.ids == every_user(directory, text, sort), (text, sort)
    finally:
        with directory.lock:
            user["created"] = kept
            directory.touch(uid)


def test_spans_meet_under_and_join_under_or_and_vanish_under_not() -> None:
    assert compile_search('created ge "a" and created lt "m"')[1]["created"] == Span("a", False, "m", True)
    assert compile_search('created gt "a" and created ge "a"')[1]["created"] == Span(low="a", low_open=True)
    assert compile_search('created lt "c" or created ge "x"')[1]["created"] == Span(None, False, None, False)
    assert compile_search('(created ge "b" and created le "c") or created eq "x"')[1]["created"] == \
        Span("b", False, "x", False)
    assert "created" not in compile_search('created ge "a" or status eq "ACTIVE"')[1]
    assert "created" not in compile_search('not (created ge "a")')[1]
    assert "created" not in compile_search('created sw "2024"')[1]
