"""The sandbox's user schema over real HTTP: every custom attribute it declares has the type the seeded
people's values have, the integer, number and array kinds among them, and the API takes and changes them."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import orjson
import pytest

from okta_magic.sandbox import Sandbox, data

SANDBOX = {"users": 600, "seed": 1}  # this module's sandbox org (conftest.py)
TYPED = ("yearsOfService", "fte", "skills")
JSON_TYPES: dict[str, Any] = {"string": str, "boolean": bool, "integer": int, "number": (int, float), "array": list}


@pytest.fixture(scope="module")
def admin(sandbox: Sandbox) -> Iterator[httpx.Client]:
    token = sandbox.issue_token(user="admin", app="native")
    with httpx.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def pull_users(client: httpx.Client) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    url: str | None = "/api/v1/users?limit=200"
    while url:
        answer = client.get(url)
        users += answer.json()
        url = next((line[1 : line.index(">")] for line in answer.headers.get_list("link")
                    if line.endswith('rel="next"')), None)
    return users


def has_type(value: Any, attribute: dict[str, Any]) -> bool:
    """Whether a profile value is what the schema attribute declares (JSON types: a boolean is no integer)."""
    kind = attribute["type"]
    if isinstance(value, bool) and kind != "boolean":
        return False
    if not isinstance(value, JSON_TYPES[kind]):
        return False
    if kind == "array":
        return all(has_type(item, attribute["items"]) for item in value)
    if "enum" in attribute and value not in attribute["enum"]:
        return False
    return "pattern" not in attribute or re.fullmatch(attribute["pattern"], value) is not None


def test_the_schema_declares_every_kind_of_custom_attribute(admin: httpx.Client) -> None:
    custom = admin.get("/api/v1/meta/schemas/user/default").json()["definitions"]["custom"]["properties"]
    assert {a["type"] for a in custom.values()} == {"string", "boolean", "integer", "number", "array"}
    assert custom["yearsOfService"]["type"] == "integer" and custom["fte"]["type"] == "number"
    assert custom["skills"]["type"] == "array" and custom["skills"]["items"] == {"type": "string"}
    assert custom["clearanceLevel"]["enum"] and custom["HireDate"]["pattern"]


def test_the_seeded_people_carry_the_custom_attributes_with_the_declared_types(admin: httpx.Client) -> None:
    custom = admin.get("/api/v1/meta/schemas/user/default").json()["definitions"]["custom"]["properties"]
    users = pull_users(admin)
    assert len(users) > 500
    for user in users:
        profile = user["profile"]
        for name, attribute in custom.items():
            if name in profile:
                assert has_type(profile[name], attribute), (user["id"], name, profile[name])
        assert all(name in profile for name in TYPED), user["id"]  # everyone, not only some
        assert profile["skills"] and 0 < profile["fte"] <= 1
        hired = date.fromisoformat(profile["HireDate"])
        assert 0 <= profile["yearsOfService"] <= (date.today() - hired).days // 365 + 1
    assert {u["profile"]["fte"] for u in users} >= {1.0, 0.5} and {type(u["profile"]["fte"]) for u in users} == {float}
    assert len({u["profile"]["yearsOfService"] for u in users}) > 2


def test_a_new_person_is_created_with_typed_attributes_and_an_update_changes_them(admin: httpx.Client) -> None:
    profile = {"firstName": "Tia", "lastName": "Typed", "email": "tia.typed@example.com",
               "login": "tia.typed@example.com", "yearsOfService": 0, "fte": 0.6, "skills": ["Okta", "SQL"]}
    created = admin.post("/api/v1/users", params={"activate": "false"}, json={"profile": profile})
    assert created.status_code == 200, created.text
    uid = created.json()["id"]
    sent = {k: profile[k] for k in TYPED}
    assert {k: created.json()["profile"][k] for k in TYPED} == sent
    changes = {"yearsOfService": 1, "fte": 1.0, "skills": ["Okta", "SQL", "Python"]}
    updated = admin.post(f"/api/v1/users/{uid}", json={"profile": changes})
    assert updated.status_code == 200, updated.text
    read = admin.get(f"/api/v1/users/{uid}").json()["profile"]
    assert {k: read[k] for k in TYPED} == changes and read["firstName"] == "Tia"
    assert isinstance(read["fte"], float) and isinstance(read["yearsOfService"], int)
    listed = admin.get("/api/v1/users", params={"search": 'profile.login eq "tia.typed@example.com"'}).json()
    assert [u["profile"]["skills"] for u in listed] == [["Okta", "SQL", "Python"]]


def test_search_compares_numbers_as_numbers_and_matches_an_item_of_an_array(admin: httpx.Client) -> None:
    part_time = admin.get("/api/v1/users", params={"search": "profile.fte lt 1", "limit": 200}).json()
    assert part_time and all(u["profile"]["fte"] < 1 for u in part_time)
    okta = admin.get("/api/v1/users", params={"search": 'profile.skills eq "Okta"', "limit": 200}).json()
    assert okta and all("Okta" in u["profile"]["skills"] for u in okta)


def test_the_typed_attributes_leave_every_other_seeded_attribute_as_it_was() -> None:
    # They come from a generator of their own: without them a seed's people are byte for byte what they
    # were before they were added (this digest is of those people).
    seeded = data.seed(300, 3, 1_800_000_000.0)
    assert all(all(name in u["profile"] for name in TYPED) for u in seeded.users)
    for user in seeded.users:
        for name in TYPED:
            del user["profile"][name]
    digest = hashlib.sha256(orjson.dumps(seeded.users)).hexdigest()
    assert digest == "74ffacdc93142a3943c4354876ac992a1f741a68af1f84f5de3726a08e304bb4"
