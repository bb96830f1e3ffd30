"""The scope catalogue: every scoped operation of Okta's spec resolves, concrete paths map to templates."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from okta_magic.scopes import catalogue, missing_scopes, scope_covers


def _concrete(template: str) -> str:
    # Put a realistic Okta-looking id in every placeholder.
    return re.sub(r"\{[^}]+\}", "00u1a2b3c4D5e6F7g8h9", template)


def test_catalogue_holds_the_specs_723_scoped_operations():
    cat = catalogue()
    scoped = [op for op in cat.operations if op.scopes]
    assert len(scoped) == 723
    assert cat.version == "2026.06.3"
    # The 109 scopes the spec declares, and every operation's scopes are among them.
    assert len(cat.scope_descriptions) == 109
    assert {s for op in scoped for s in op.scopes} <= set(cat.scope_descriptions)


def test_every_scoped_operation_resolves_from_a_concrete_path():
    cat = catalogue()
    wrong = []
    for op in cat.operations:
        if not op.scopes:
            continue
        found = cat.resolve(op.method, _concrete(op.path))
        # Two templates can match the same concrete path only when one is more literal; the
        # concrete path built from a template must come back to that template or a sibling with
        # the same scopes (e.g. /apps/{appId}/... vs /apps/{appId}/{literal}).
        if found is None or (found.path != op.path and found.scopes != op.scopes):
            wrong.append((op.method, op.path, found and found.path))
    assert not wrong, wrong[:10]


@pytest.mark.parametrize(
    ("method", "path", "template", "scope"),
    [
        ("GET", "/api/v1/users", "/api/v1/users", "okta.users.read"),
        ("GET", "/api/v1/users?limit=200&search=status%20eq%20%22ACTIVE%22", "/api/v1/users", "okta.users.read"),
        ("GET", "/api/v1/users/00u1abc/groups", "/api/v1/users/{id}/groups", "okta.users.read"),
        ("POST", "/api/v1/users", "/api/v1/users", "okta.users.manage"),
        ("GET", "/api/v1/groups/00g1xyz/users", "/api/v1/groups/{groupId}/users", "okta.groups.read"),
        ("GET", "https://dev-1.okta.com/api/v1/apps?limit=2", "/api/v1/apps", "okta.apps.read"),
        ("GET", "/api/v1/logs", "/api/v1/logs", "okta.logs.read"),
        ("POST", "/api/v1/users/00u1abc/lifecycle/reactivate", "/api/v1/users/{id}/lifecycle/reactivate",
         "okta.users.manage"),
    ],
)
def test_concrete_paths_resolve_to_their_operation(method, path, template, scope):
    op = catalogue().resolve(method, path)
    assert op is not None and op.path == template
    assert scope in op.scopes


def test_unknown_paths_resolve_to_nothing():
    assert catalogue().resolve("GET", "/api/v1/no-such-thing") is None
    assert catalogue().resolve("GET", "/oauth2/v1/userinfo") is None


def test_manage_covers_read_but_not_the_reverse():
    assert scope_covers("okta.users.manage", "okta.users.read")
    assert not scope_covers("okta.users.read", "okta.users.manage")
    assert not scope_covers("okta.groups.manage", "okta.users.read")
    assert missing_scopes(["okta.users.manage"], ["okta.users.read", "okta.logs.read"]) == ["okta.logs.read"]


def test_minimal_scopes_drops_reads_covered_by_manage():
    cat = catalogue()
    need = cat.minimal_scopes([("GET", "/api/v1/users"), ("POST", "/api/v1/users"), ("GET", "/api/v1/logs")])
    assert need == ["okta.users.manage", "okta.logs.read"]


def test_packaged_data_records_its_source():
    doc = json.loads(resources.files("okta_magic").joinpath("data/operations.json").read_text())
    assert doc["source"]["repository"].endswith("okta-management-openapi-spec")
    assert doc["source"]["version"] == "2026.06.3"


def test_self_scopes_cover_requests_about_the_signed_in_user_only() -> None:
    from okta_magic.advice.coach import request_warning
    from okta_magic.scopes import missing_scopes

    held = ["openid", "okta.users.read.self"]
    assert missing_scopes(held, ["okta.users.read"], path="/api/v1/users/me") == []
    assert missing_scopes(held, ["okta.users.read"], path="/api/v1/users/me/groups") == []
    assert missing_scopes(held, ["okta.users.read"], path="/api/v1/users/00u1") == ["okta.users.read"]
    assert missing_scopes(held, ["okta.users.read"], path="/api/v1/users") == ["okta.users.read"]
    assert request_warning("GET", "/api/v1/users/me", held) is None
    assert "okta.users.read" in (request_warning("GET", "/api/v1/users", held) or "")
