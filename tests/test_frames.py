"""Okta JSON into DataFrames: the shape an analyst expects, page by page."""

from __future__ import annotations

import pandas as pd
import pytest

from okta_magic.frames import FrameBuilder, empty_frame, resource_for_path, to_frame, to_record


def user(i: int, **extra: object) -> dict:
    record = {
        "id": f"00u{i}",
        "status": "ACTIVE" if i % 2 else "STAGED",
        "created": "2026-01-02T03:04:05.000Z",
        "activated": None,
        "statusChanged": None,
        "lastLogin": "2026-02-03T04:05:06.789Z" if i % 3 == 0 else None,
        "lastUpdated": "2026-01-02T03:04:05.000Z",
        "passwordChanged": "2026-01-02T03:04:05.000Z",
        "type": {"id": "oty1"},
        "profile": {"firstName": f"F{i}", "lastName": f"L{i}", "login": f"u{i}@example.com",
                    "email": f"u{i}@example.com", "mobilePhone": None},
        "credentials": {
            "password": {},
            "emails": [{"value": f"u{i}@example.com", "status": "VERIFIED", "type": "PRIMARY"}],
            "provider": {"type": "OKTA", "name": "OKTA"},
        },
        "_links": {"self": {"href": f"https://dev-1.okta.com/api/v1/users/00u{i}"}},
    }
    record.update(extra)
    return record


def test_nested_objects_become_dotted_columns_and_links_are_dropped() -> None:
    frame = to_frame([user(1), user(2)], "users")
    assert "profile.login" in frame.columns
    assert "credentials.provider.type" in frame.columns
    assert "type.id" in frame.columns
    assert not [c for c in frame.columns if c.startswith(("_links", "_embedded"))]
    assert "credentials.password" not in frame.columns  # an empty object carries nothing
    assert frame["profile.login"].tolist() == ["u1@example.com", "u2@example.com"]


def test_links_kept_on_request() -> None:
    frame = to_frame([user(1)], "users", keep_links=True)
    assert frame["_links.self.href"].tolist() == ["https://dev-1.okta.com/api/v1/users/00u1"]


def test_dtypes_are_analysis_ready() -> None:
    frame = to_frame([user(i) for i in range(1, 7)], "users")
    assert str(frame["created"].dtype) == "datetime64[ms, UTC]"
    assert frame["created"].iloc[0] == pd.Timestamp("2026-01-02T03:04:05Z")
    assert frame["lastLogin"].isna().sum() == 4  # nulls are NaT
    assert frame["lastLogin"].iloc[2] == pd.Timestamp("2026-02-03T04:05:06.789Z")
    assert isinstance(frame["status"].dtype, pd.CategoricalDtype)
    assert set(frame["status"].cat.categories) == {"ACTIVE", "STAGED"}
    assert isinstance(frame["credentials.provider.type"].dtype, pd.CategoricalDtype)
    dtype = frame["profile.login"].dtype  # Arrow-backed text (pandas 3 "str"; string[pyarrow] on pandas 2)
    assert isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
    emails = frame["credentials.emails"].iloc[0]
    assert emails == [{"value": "u1@example.com", "status": "VERIFIED", "type": "PRIMARY"}]
    assert frame["profile.mobilePhone"].isna().all()  # a null attribute still has its column


def test_custom_attribute_first_seen_on_page_three_keeps_its_exact_name() -> None:
    builder = FrameBuilder("users")
    builder.add([user(1), user(2)])
    builder.add([user(3), user(4)])
    late = user(5)
    late["profile"]["employeeID_Custom"] = "E-5"
    late["profile"]["costCENTER"] = 42
    builder.add([late, user(6)])
    frame = builder.build()
    assert builder.rows == 6
    assert frame["profile.employeeID_Custom"].tolist()[4] == "E-5"
    assert frame["profile.employeeID_Custom"].isna().tolist() == [True] * 4 + [False, True]
    assert frame["profile.costCENTER"].iloc[4] == 42
    assert frame["id"].tolist() == [f"00u{i}" for i in range(1, 7)]


def test_column_order_is_stable() -> None:
    shuffled = {k: v for k, v in reversed(list(user(1, zeta="z").items()))}
    frame = to_frame([shuffled], "users")
    columns = list(frame.columns)
    who = ["profile.login", "profile.firstName", "profile.lastName", "profile.email", "status"]
    assert columns[:5] == who  # who each row is, first
    assert columns[5:12] == ["id", "created", "activated", "statusChanged", "lastLogin", "lastUpdated",
                             "passwordChanged"]  # then Okta's order
    profile = [c for c in columns if c.startswith("profile.") and c not in who]
    assert columns[12 : 12 + len(profile)] == profile
    assert set(columns[12 + len(profile):]) == {"type.id", "credentials.emails", "credentials.provider.type",
                                                "credentials.provider.name", "zeta"}
    # the same data in another key order gives the same columns
    leading = 12 + len(profile)
    assert list(to_frame([user(1, zeta="z")], "users").columns[:leading]) == columns[:leading]


@pytest.mark.parametrize(
    ("resource", "columns"),
    [
        ("users", ["id", "status", "created", "profile.login"]),
        ("groups", ["id", "type", "profile.name", "objectClass"]),
        ("apps", ["id", "name", "label", "status", "signOnMode"]),
        ("logs", ["uuid", "published", "eventType", "severity", "actor.id", "outcome.result", "target"]),
    ],
)
def test_empty_array_gives_the_resource_columns(resource: str, columns: list[str]) -> None:
    frame = to_frame([], resource)
    assert len(frame) == 0
    assert set(columns) <= set(frame.columns)
    stamp = "published" if resource == "logs" else "created"
    assert str(frame[stamp].dtype) == "datetime64[ms, UTC]"


def test_empty_array_of_unknown_resource_is_an_empty_frame() -> None:
    frame = empty_frame(None)
    assert frame.shape == (0, 0)


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("/api/v1/users", "users"),
        ("/api/v1/users?limit=2", "users"),
        ("/api/v1/users/00u1", "users"),
        ("/api/v1/groups/00g1/users", "users"),
        ("/api/v1/users/00u1/groups", "groups"),
        ("/api/v1/apps", "apps"),
        ("/api/v1/logs", "logs"),
        ("/api/v1/authorizationServers", None),
        ("/oauth2/v1/keys", None),
    ],
)
def test_resource_from_path(path: str, resource: str | None) -> None:
    assert resource_for_path(path) == resource


LOG_EVENT = {
    "uuid": "dc9fd3c0-598c-11ef-8478-2b7584bf8d5a",
    "published": "2024-08-13T15:58:20.353Z",
    "eventType": "user.session.start",
    "version": "0",
    "severity": "INFO",
    "legacyEventType": "core.user_auth.login_success",
    "displayMessage": "User login to Okta",
    "actor": {"id": "00u1", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin",
              "detailEntry": None},
    "client": {"userAgent": {"rawUserAgent": "Mozilla/5.0", "os": "Mac OS X", "browser": "CHROME"},
               "zone": "null", "device": "Computer", "ipAddress": "10.0.0.1",
               "geographicalContext": {"city": "Paris", "country": "France",
                                       "geolocation": {"lat": 48.85, "lon": 2.35}}},
    "outcome": {"result": "SUCCESS", "reason": None},
    "target": [{"id": "00u1", "type": "User", "alternateId": "admin@example.com", "displayName": "Admin"}],
    "transaction": {"type": "WEB", "id": "ZrsA", "detail": {}},
    "debugContext": {"debugData": {"requestUri": "/idp/idx/identify"}},
}


def test_system_log_events_flatten_actor_client_outcome_and_keep_target_as_a_list() -> None:
    second = dict(LOG_EVENT, uuid="e2", severity="WARN", outcome={"result": "FAILURE", "reason": "INVALID"})
    frame = to_frame([LOG_EVENT, second], "logs")
    assert list(frame.columns[:5]) == ["uuid", "published", "eventType", "severity", "displayMessage"]
    assert frame["actor.alternateId"].tolist() == ["admin@example.com"] * 2
    assert frame["client.geographicalContext.geolocation.lat"].tolist() == [48.85, 48.85]
    assert frame["outcome.result"].tolist() == ["SUCCESS", "FAILURE"]
    assert isinstance(frame["outcome.result"].dtype, pd.CategoricalDtype)
    assert isinstance(frame["eventType"].dtype, pd.CategoricalDtype)
    assert frame["target"].iloc[0] == LOG_EVENT["target"]
    assert str(frame["published"].dtype) == "datetime64[ms, UTC]"
    columns = list(frame.columns)
    actor = [c for c in columns if c.startswith("actor.")]
    assert columns.index(actor[0]) < columns.index("outcome.result") < columns.index("target") \
        < columns.index("client.ipAddress")


def test_an_object_is_one_readable_record() -> None:
    record = to_record(user(3))
    assert isinstance(record, pd.Series)
    assert record.name == "00u3"
    assert record["profile.login"] == "u3@example.com"
    assert record["created"] == pd.Timestamp("2026-01-02T03:04:05Z")
    assert record["activated"] is pd.NaT
    assert list(record.index[:2]) == ["id", "status"]


def test_mixed_kinds_across_pages_are_kept_not_lost() -> None:
    builder = FrameBuilder()
    builder.add([{"id": "1", "profile": {"badge": 7, "hired": "2020-01-01T00:00:00.000Z"}}])
    builder.add([{"id": "2", "profile": {"badge": "B-8", "hired": "soon"}}])
    frame = builder.build()
    assert frame["profile.badge"].tolist() == [7, "B-8"]
    assert frame["profile.hired"].tolist()[1] == "soon"
    assert frame["profile.hired"].notna().all()


def test_a_custom_attribute_that_is_not_always_a_time_keeps_the_text_okta_sent() -> None:
    builder = FrameBuilder("users")
    builder.add([user(1, contractEnd="2027-01-31T00:00:00Z"), user(2, contractEnd="2027-03-01T09:30:00+01:00")])
    builder.add([user(3, contractEnd="open-ended")])
    frame = builder.build()
    assert frame["contractEnd"].tolist() == ["2027-01-31T00:00:00Z", "2027-03-01T09:30:00+01:00", "open-ended"]
    assert frame["created"].dt.tz is not None  # Okta's own dates are still datetimes


def test_a_custom_attribute_of_times_on_every_page_becomes_datetimes() -> None:
    builder = FrameBuilder("users")
    builder.add([user(1, contractEnd="2027-01-31T00:00:00Z")])
    builder.add([user(2, contractEnd="2027-03-01T09:30:00+01:00"), user(3, contractEnd=None)])
    ends = builder.build()["contractEnd"]
    assert str(ends.dt.tz) == "UTC"
    assert ends.tolist()[:2] == [pd.Timestamp("2027-01-31T00:00:00Z"), pd.Timestamp("2027-03-01T08:30:00Z")]
    assert ends.isna().tolist() == [False, False, True]


def test_integers_and_floats_across_pages_become_numbers() -> None:
    builder = FrameBuilder()
    builder.add([{"n": 1}])
    builder.add([{"n": 2.5}])
    builder.add([{"m": None}])
    frame = builder.build()
    assert frame["n"].tolist()[:2] == [1.0, 2.5]
    assert frame["m"].isna().all()


def test_records_whose_every_attribute_is_a_list_keep_their_rows() -> None:
    frame = to_frame([{"roles": []}, {"roles": [{"type": "SUPER_ADMIN"}]}])
    assert frame["roles"].tolist() == [[], [{"type": "SUPER_ADMIN"}]]


def test_an_array_of_plain_values_is_one_column() -> None:
    frame = to_frame(["a", "b"])
    assert frame["value"].tolist() == ["a", "b"]


def test_empty_user_list_keeps_the_profile_columns_analysts_select():
    frame = to_frame([], "users")
    assert len(frame) == 0
    for column in ("profile.login", "profile.department", "profile.title", "profile.city", "lastLogin"):
        assert column in frame.columns


def test_pages_read_by_arrow_give_the_same_frame_as_the_python_path() -> None:
    import orjson

    from okta_magic.frames import JsonPages

    pages = [
        [user(1, HireDate="2024-05-01", badge=1, tags=["a"]), user(2, HireDate="2024-06-01", badge=2)],
        [user(3, lateAttr="first seen on page 2", badge=None, tags=None)],
        [user(4, badge="text now")],  # a number on earlier pages, text now: mixed across pages
        [user(5, badge=5), user(6, badge="six")],  # mixed within one page: Arrow declines, Python takes it
        [],
    ]
    reader, arrow, python = JsonPages(), FrameBuilder("users"), FrameBuilder("users")
    declined = 0
    for page in pages:
        table = reader.read(orjson.dumps(page))
        if table is None:
            declined += 1
            arrow.add(page)
        else:
            arrow.add_table(table)
        python.add(page)
    assert declined == 1
    fast, slow = arrow.build(), python.build()
    assert list(fast.columns) == list(slow.columns)
    assert fast.dtypes.to_dict() == slow.dtypes.to_dict()
    assert fast.equals(slow)
    assert fast["HireDate"].tolist()[:2] == ["2024-05-01", "2024-06-01"]  # date-like text stays text


@pytest.mark.parametrize("together", [2, 3, 5])
def test_pages_read_together_give_what_each_page_gives_alone(together: int) -> None:
    """A pull that falls behind reads the waiting pages in one call: same tables page by page, same frame."""
    import orjson

    from okta_magic.frames import JsonPages, PageReader
    from okta_magic.http.page import Page

    pages = [
        [user(1, HireDate="2024-05-01", badge=1, tags=["a"]), user(2, HireDate="2024-06-01", badge=2)],
        [user(3, lateAttr="first seen on page 2", badge=None, tags=None)],
        [],
        [user(4, badge="text now")],  # text where earlier pages had numbers: these pages cannot go together
        [user(5, badge=5), user(6, badge="six")],  # mixed within one page: the Python path
        [user(7), user(8, lastLogin=None)],
        [user(9, profile_extra={"nested": {"deep": 1}})],
    ]
    bodies = [orjson.dumps(page) for page in pages]
    alone, apart = JsonPages(), FrameBuilder("users")
    for page, body in zip(pages, bodies, strict=True):
        table = alone.read(body)
        apart.add(page) if table is None else apart.add_table(table)
    reader, joined = PageReader(), FrameBuilder("users")
    wrapped = [Page(i, "GET", "https://example.okta.com/api/v1/users", 200, {"content-type": "application/json"},
                    body) for i, body in enumerate(bodies)]
    for start in range(0, len(wrapped), together):
        group = wrapped[start:start + together]
        for page, data in zip(group, reader.many(group), strict=True):
            assert (data.num_rows if hasattr(data, "num_rows") else len(data)) == len(pages[page.index])
            joined.add(data) if isinstance(data, list) else joined.add_table(data)
    expected, got = apart.build(), joined.build()
    assert list(got.columns) == list(expected.columns)
    assert got.dtypes.to_dict() == expected.dtypes.to_dict()
    assert got.equals(expected)


def test_arrow_reader_declines_what_it_cannot_hold() -> None:
    from okta_magic.frames import JsonPages

    reader = JsonPages()
    assert reader.read(b'["a", "b"]') is None  # an array of scalars
    assert reader.read(b'{"id": "00u1"}') is None  # an object
    assert reader.read(b'[{"n": 1}, {"n": "one"}]') is None  # mixed kinds
    assert reader.read(b'[{"a.b": 1, "a": {"c": 2}}]') is not None
    assert reader.read(b'[{"a.b": 1, "a": {"b": 2}}]') is None  # two attributes that flatten to one name
    assert reader.read(b"[]").num_rows == 0
    assert reader.read(b'[{"profile": {}, "_links": {"self": {"href": "x"}}}]') is None  # no column would remain


# -- what Okta embeds is data: kept as dotted columns; only _links (navigation) is hidden ----------------------
# Bodies from Okta's Management API spec (2026.06.3): the example RetrievePublicKeyResponse of GET
# /api/v1/hook-keys/public/{keyId} and WellKnownURIsRootResponse of GET /api/v1/brands/{brandId}/well-known-uris
# (shortened), and bodies of the PageRoot schema (GET .../pages/sign-in, .../pages/error) and of the Group schema
# with _embedded.stats (GET /api/v1/groups?expand=stats), whose operations give no example.

PUBLIC_KEY = {"_embedded": {"kty": "RSA", "alg": "RSA", "kid": "7fbc27fd-e3df-4522-86bf-1930110256ad", "use": None,
                            "e": "AQAB", "n": "2naqCnv6r4xNQs7207lRtKQvdtnlVND-8k5iYBIiqoKGY3CqUmRm1jleoOniiQoMkFX8"}}
WELL_KNOWN = {
    "_links": {"self": {"href": "https://dev-1.okta.com/api/v1/brands/bnd1/well-known-uris",
                        "hints": {"allow": ["GET"]}},
               "webauthn": {"href": "https://dev-1.okta.com/api/v1/brands/bnd1/well-known-uris/webauthn",
                            "hints": {"allow": ["GET", "PUT"]}}},
    "_embedded": {"webauthn": {"customized": {
        "representation": {"origins": ["https://example1.com"]},
        "_links": {"self": {"href": "https://dev-1.okta.com/api/v1/brands/bnd1/well-known-uris/webauthn/customized",
                            "hints": {"allow": ["GET", "PUT"]}}}}}},
}
SIGN_IN_PAGE = {
    "_embedded": {"default": {"pageContent": "<html>default</html>", "widgetVersion": "^7"},
                  "customizedUrl": "https://dev-1.okta.com/login/customized", "previewUrl": "https://dev-1.okta.com/p"},
    "_links": {"self": {"href": "https://dev-1.okta.com/api/v1/brands/bnd1/pages/sign-in"},
               "default": {"href": "https://dev-1.okta.com/api/v1/brands/bnd1/pages/sign-in/default"}},
}


def group_with_stats(i: int, users: int, admin: bool) -> dict:
    return {
        "id": f"00g{i}", "created": "2026-01-02T03:04:05.000Z", "lastUpdated": "2026-01-02T03:04:05.000Z",
        "lastMembershipUpdated": "2026-01-03T03:04:05.000Z", "objectClass": ["okta:user_group"], "type": "OKTA_GROUP",
        "profile": {"name": f"G{i}", "description": None},
        "_links": {"logo": [{"name": "medium", "href": "https://x/logo.png", "type": "image/png"}],
                   "users": {"href": f"https://dev-1.okta.com/api/v1/groups/00g{i}/users"}},
        "_embedded": {"stats": {"usersCount": users, "appsCount": 1, "groupPushMappingsCount": 0,
                                "hasAdminPrivilege": admin,
                                "_links": {"self": {"href": f"https://dev-1.okta.com/api/v1/groups/00g{i}/stats"}}}},
    }


STATS = ["_embedded.stats.usersCount", "_embedded.stats.appsCount", "_embedded.stats.groupPushMappingsCount",
         "_embedded.stats.hasAdminPrivilege"]


def _both_paths(pages: list[list[dict]], keep_links: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame of ``pages`` read by Arrow from their bytes, and built from the parsed JSON."""
    import orjson

    from okta_magic.frames import JsonPages

    reader = JsonPages(keep_links=keep_links)
    arrow, python = FrameBuilder("groups", keep_links=keep_links), FrameBuilder("groups", keep_links=keep_links)
    for page in pages:
        table = reader.read(orjson.dumps(page))
        assert table is not None  # the fast path takes these pages
        arrow.add_table(table)
        python.add(page)
    return arrow.build(), python.build()


def test_group_stats_asked_for_with_expand_are_columns_on_both_paths() -> None:
    fast, slow = _both_paths([[group_with_stats(1, 3, False), group_with_stats(2, 0, True)],
                              [group_with_stats(3, 12, False)]])
    assert list(fast.columns) == list(slow.columns)
    assert fast.dtypes.to_dict() == slow.dtypes.to_dict() and fast.equals(slow)
    assert [c for c in fast.columns if c.startswith("_embedded")] == STATS  # its nested _links hidden too
    assert fast["_embedded.stats.usersCount"].tolist() == [3, 0, 12]
    assert fast["_embedded.stats.hasAdminPrivilege"].tolist() == [False, True, False]
    assert not [c for c in fast.columns if "_links" in c]


def test_links_kept_on_request_at_every_depth_on_both_paths() -> None:
    fast, slow = _both_paths([[group_with_stats(1, 3, False)]], keep_links=True)
    assert list(fast.columns) == list(slow.columns) and fast.equals(slow)
    assert fast["_embedded.stats._links.self.href"].tolist() == ["https://dev-1.okta.com/api/v1/groups/00g1/stats"]
    assert "_links.users.href" in fast.columns and "_embedded.stats.usersCount" in fast.columns


@pytest.mark.parametrize(("body", "fields"), [
    (PUBLIC_KEY, {"_embedded.kty": "RSA", "_embedded.kid": "7fbc27fd-e3df-4522-86bf-1930110256ad",
                  "_embedded.e": "AQAB"}),
    (WELL_KNOWN, {"_embedded.webauthn.customized.representation.origins": ["https://example1.com"]}),
    (SIGN_IN_PAGE, {"_embedded.default.pageContent": "<html>default</html>",
                    "_embedded.customizedUrl": "https://dev-1.okta.com/login/customized"}),
], ids=["hook-key", "well-known-uris", "sign-in-page"])
def test_an_object_holding_only_embedded_data_and_links_shows_the_data(body: dict, fields: dict) -> None:
    record = to_record(body)
    for name, value in fields.items():
        assert record[name] == value
    assert not [name for name in record.index if "_links" in name]  # navigation still hidden


def test_an_object_holding_only_links_shows_them_rather_than_nothing() -> None:
    record = to_record({"_links": {"self": {"href": "https://dev-1.okta.com/api/v1/x"}}})
    assert record.to_dict() == {"_links.self.href": "https://dev-1.okta.com/api/v1/x"}


# -- frames for people: who each row is first, custom attributes typed by the user schema, managers by login,
# a System Log event's first target as columns -------------------------------------------------------------------

def _both(pages: list[list[dict]], resource: str, **options: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame of ``pages`` read by Arrow from their bytes, and built from the parsed JSON; both must agree."""
    import orjson

    from okta_magic.frames import JsonPages

    reader = JsonPages()
    arrow, python = FrameBuilder(resource, **options), FrameBuilder(resource, **options)  # type: ignore[arg-type]
    for page in pages:
        table = reader.read(orjson.dumps(page))
        assert table is not None  # the fast path takes these pages
        arrow.add_table(table)
        python.add(page)
    fast, slow = arrow.build(), python.build()
    assert list(fast.columns) == list(slow.columns)
    assert fast.dtypes.to_dict() == slow.dtypes.to_dict()
    assert fast.equals(slow)
    return fast, slow


def _attribute(kind: str, **extra: object) -> dict:
    return {"title": "T", "type": kind, "mutability": "READ_WRITE", "scope": "NONE", **extra}


# The shape of Okta's UserSchema (GET /api/v1/meta/schemas/user/default): base and custom definitions.
USER_SCHEMA = {
    "id": "https://dev-1.okta.com/meta/schemas/user/default", "name": "user", "type": "object",
    "definitions": {
        "base": {"id": "#base", "type": "object", "properties": {
            "login": _attribute("string", required=True), "firstName": _attribute("string"),
            "managerId": _attribute("string")}},
        "custom": {"id": "#custom", "type": "object", "properties": {
            "HireDate": _attribute("string", pattern=r"\d{4}-\d{2}-\d{2}"),
            "contractEnd": _attribute("string", format="date-time"),
            "badgeID": _attribute("string", pattern="B[0-9]{6}"),
            "isContractor": _attribute("boolean"),
            "floor": _attribute("integer"),
            "fte": _attribute("number"),
            "clearanceLevel": _attribute("string", enum=["Confidential", "Secret", "Restricted"],
                                         oneOf=[{"const": "Confidential", "title": "Confidential"},
                                                {"const": "Secret", "title": "Secret"},
                                                {"const": "Restricted", "title": "Restricted"}]),
            "skills": _attribute("array", items={"type": "string"}),
        }}},
}


def person(i: int, **profile: object) -> dict:
    record = user(i)
    record["profile"].update(profile)
    return record


@pytest.mark.parametrize(("resource", "records", "first"), [
    ("groups", [group_with_stats(1, 3, False), group_with_stats(2, 0, True)], ["profile.name", "profile.description"]),
    ("apps", [{"id": "0oa1", "name": "okta_org2org", "label": "Partner org", "status": "ACTIVE",
               "signOnMode": "SAML_2_0", "created": "2026-01-02T03:04:05.000Z", "features": []}],
     ["label", "name", "id", "status", "signOnMode", "created"]),
    ("users", [person(1, displayName="F1 L1"), person(2, displayName="F2 L2")],
     ["profile.login", "profile.firstName", "profile.lastName", "profile.displayName", "profile.email", "status",
      "id", "created"]),
])
def test_who_each_row_is_comes_first_on_both_paths(resource: str, records: list[dict], first: list[str]) -> None:
    fast, _ = _both([records], resource)
    assert list(fast.columns[:len(first)]) == first
    assert set(fast.columns) == set(to_frame(records, resource).columns)  # only the order moved
    empty = to_frame([], resource)
    who = [c for c in first if c in empty.columns]
    assert list(empty.columns[:len(who)]) == who  # an empty answer too


def test_the_user_schema_types_custom_attributes_on_both_paths() -> None:
    pages = [[person(1, HireDate="2021-03-04", contractEnd="2027-01-31T00:00:00.000Z", badgeID="B000001",
                     isContractor=False, floor=3, fte=1, clearanceLevel="Secret", skills=["sql"]),
              person(2, HireDate="2019-11-30", contractEnd=None, badgeID="B000002", isContractor=True, floor=None,
                     fte=0.5, clearanceLevel=None, skills=[])],
             [person(3, HireDate=None, badgeID="B000003", isContractor=None, floor=12, fte=None)]]
    frame, _ = _both(pages, "users", schema=USER_SCHEMA)
    hired = frame["profile.HireDate"]
    assert str(hired.dtype) == "datetime64[ms, UTC]"
    assert hired.tolist()[:2] == [pd.Timestamp("2021-03-04", tz="UTC"), pd.Timestamp("2019-11-30", tz="UTC")]
    assert hired.isna().tolist() == [False, False, True]
    assert str(frame["profile.contractEnd"].dtype) == "datetime64[ms, UTC]"
    assert frame["profile.isContractor"].dtype == "boolean"
    assert frame["profile.isContractor"].tolist()[:2] == [False, True] and frame["profile.isContractor"].isna()[2]
    assert frame["profile.floor"].dtype == "Int64" and frame["profile.floor"].tolist()[0] == 3
    assert frame["profile.floor"].isna().tolist() == [False, True, False]
    assert frame["profile.fte"].dtype == "float64" and frame["profile.fte"].tolist()[:2] == [1.0, 0.5]
    clearance = frame["profile.clearanceLevel"]
    assert isinstance(clearance.dtype, pd.CategoricalDtype)
    assert list(clearance.cat.categories) == ["Confidential", "Secret", "Restricted"]  # the declared values
    assert clearance.tolist()[0] == "Secret" and clearance.isna().tolist()[1:] == [True, True]
    assert frame["profile.badgeID"].tolist() == ["B000001", "B000002", "B000003"]  # not date-shaped: text
    assert isinstance(frame["profile.badgeID"].dtype, pd.StringDtype)
    assert frame["profile.skills"].tolist()[:2] == [["sql"], []]  # arrays stay lists
    untyped = to_frame([r for page in pages for r in page], "users")
    assert untyped["profile.HireDate"].tolist()[0] == "2021-03-04"  # without a schema: as Okta sent it
    assert set(untyped.columns) == set(frame.columns)


def test_a_value_the_schema_type_does_not_fit_keeps_the_column_as_okta_sent_it() -> None:
    records = [person(1, HireDate="2021-03-04", floor="3rd"), person(2, HireDate="soon", floor=2)]
    frame = to_frame(records, "users", schema=USER_SCHEMA)
    assert frame["profile.HireDate"].tolist() == ["2021-03-04", "soon"]
    assert frame["profile.floor"].tolist() == ["3rd", 2]


def test_the_managers_login_is_a_column_beside_the_manager_id_on_both_paths() -> None:
    boss = person(1, manager="F1 L1", managerId=None)
    pages = [[boss, person(2, manager="F1 L1", managerId="00u1")],
             [person(3, manager="Someone Else", managerId="00u99"), person(4, manager="F2 L2", managerId="00u2")]]
    frame, _ = _both(pages, "users", managers=True)
    assert frame["profile.managerLogin"].tolist()[1:2] == ["u1@example.com"]
    assert frame["profile.managerLogin"].tolist()[3] == "u2@example.com"
    assert frame["profile.managerLogin"].isna().tolist() == [True, False, True, False]  # no manager / not pulled
    columns = list(frame.columns)
    assert columns.index("profile.managerLogin") == columns.index("profile.managerId") + 1
    assert frame["profile.managerId"].tolist()[1] == "00u1"  # what Okta sent stays
    unresolved = FrameBuilder("users")  # a file written batch by batch: no column that would be partial
    unresolved.add(pages[0])
    assert "profile.managerLogin" not in unresolved.build().columns


def test_system_log_events_get_their_first_target_and_geography_as_columns_on_both_paths() -> None:
    app = {"id": "0oa1", "type": "AppInstance", "alternateId": "Salesforce", "displayName": "Salesforce"}
    two = dict(LOG_EVENT, uuid="e2", target=[app, LOG_EVENT["target"][0]])
    none = dict(LOG_EVENT, uuid="e3", target=[])
    fast, _ = _both([[LOG_EVENT, two], [none]], "logs")
    assert fast["target.0.type"].tolist()[:2] == ["User", "AppInstance"]
    assert isinstance(fast["target.0.type"].dtype, pd.CategoricalDtype)
    assert fast["target.0.id"].tolist()[:2] == ["00u1", "0oa1"]
    assert fast["target.0.alternateId"].tolist()[:2] == ["admin@example.com", "Salesforce"]
    assert fast["target.0.displayName"].tolist()[:2] == ["Admin", "Salesforce"]
    assert fast[["target.0.id", "target.0.type", "target.0.displayName"]].iloc[2].isna().all()  # no target
    assert fast["target"].tolist()[1] == [app, LOG_EVENT["target"][0]]  # the list stays whole
    columns = list(fast.columns)
    at = columns.index("target")
    assert columns[at:at + 5] == ["target", "target.0.id", "target.0.type", "target.0.alternateId",
                                  "target.0.displayName"]
    assert fast["client.geographicalContext.country"].tolist() == ["France"] * 3
    assert fast["client.geographicalContext.city"].tolist() == ["Paris"] * 3
    empty = to_frame([], "logs")
    assert {"target.0.type", "target.0.id", "target.0.displayName", "client.geographicalContext.country",
            "client.geographicalContext.city"} <= set(empty.columns)


def test_pages_with_line_breaks_read_as_their_compact_form() -> None:
    """A page pretty-printed by a proxy (CR/LF between tokens) gives the same rows as the compact page, alone or
    read with others; an escaped newline inside a value stays in the value."""
    import orjson

    from okta_magic.frames import JsonPages

    page = [user(1, note="two\nlines"), user(2, badge=2)]
    compact = orjson.dumps(page)
    pretty = orjson.dumps(page, option=orjson.OPT_INDENT_2).replace(b"\n", b"\r\n")
    assert b"\r\n" in pretty and compact.count(b"\\n") == 1
    reader = JsonPages()
    expected = reader.read(compact)
    assert reader.read(pretty).equals(expected)
    together = reader.read_many([pretty, compact, b"\r\n" + pretty + b"\n"])
    assert all(table.equals(expected) for table in together)
    assert expected.column("note").to_pylist() == ["two\nlines", None]


def test_a_manager_without_a_login_leaves_the_managers_login_missing() -> None:
    """profile.managerLogin is looked up by id; a manager whose record lacks a login gives a missing value (the
    frame was refused with an ArrowTypeError before), and an unknown manager id gives one too."""
    boss = user(1)
    del boss["profile"]["login"]
    report = user(2)
    report["profile"]["managerId"] = "00u1"
    stranger = user(3)
    stranger["profile"]["managerId"] = "00u404"
    frame = to_frame([boss, report, stranger], "users")
    logins = frame.set_index("id")["profile.managerLogin"]
    assert logins.isna().all()
    report2 = user(4)
    report2["profile"]["managerId"] = "00u2"
    frame = to_frame([boss, report, report2], "users")
    assert frame.set_index("id")["profile.managerLogin"].get("00u4") == "u2@example.com"


def test_list_cells_of_a_large_page_are_what_okta_sent() -> None:
    """List cells (emails, skills) of a page large enough for their repeated text to be shared read as the JSON
    gave them, nulls and empty lists included, by the Arrow path as by the Python one."""
    import orjson

    from okta_magic.frames import JsonPages

    page = []
    for i in range(300):
        emails = [{"value": f"u{i}@example.com", "status": "VERIFIED" if i % 5 else None, "type": "PRIMARY"}]
        extra = {"skills": None if i % 11 == 0 else ["SCIM", "Networking"][: i % 3]}
        record = user(i, **extra)
        record["credentials"] = {"emails": None if i % 13 == 0 else emails}
        page.append(record)
    table = JsonPages().read(orjson.dumps(page))
    assert table is not None
    arrow, python = FrameBuilder("users"), FrameBuilder("users")
    arrow.add_table(table)
    python.add(page)
    fast, slow = arrow.build(), python.build()
    assert fast.equals(slow)
    assert fast["credentials.emails"].tolist() == [r["credentials"]["emails"] for r in page]
    assert fast["skills"].tolist() == [r["skills"] for r in page]


def test_a_user_listed_twice_gives_the_managers_last_login_on_both_paths() -> None:
    """A user may come twice in a list (Okta's cursor over a directory that changed during the pull): the manager's
    login is the later record's, as a dict of id to login gives it, on the Arrow path as on the Python one."""
    boss, renamed = person(1), person(1, login="boss@example.com")
    report = person(2, managerId="00u1")
    frame, _ = _both([[boss, report], [renamed]], "users", managers=True)
    assert frame["profile.managerLogin"].tolist()[1] == "boss@example.com"
    assert frame["profile.managerLogin"].isna().tolist() == [True, False, True]
