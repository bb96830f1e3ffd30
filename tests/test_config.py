"""Sign-in configuration: sources in priority order, and one-line errors for each kind of bad org URL."""

from __future__ import annotations

import pytest

from okta_magic.config import DEFAULT_REDIRECT_URI, check_org_url, from_environ, merge, parse_scopes
from okta_magic.errors import ConfigError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://dev-123456.okta.com", "https://dev-123456.okta.com"),
        ("https://dev-123456.okta.com/", "https://dev-123456.okta.com"),
        ("dev-123456.okta.com", "https://dev-123456.okta.com"),
        ("http://127.0.0.1:8800", "http://127.0.0.1:8800"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("localhost:3000", "https://localhost:3000"),
        ("https://keycloak:8443/realms/staff", "https://keycloak:8443/realms/staff"),  # an explicit intranet URL
        ("https://login.example.com/realms/staff", "https://login.example.com/realms/staff"),
        ("https://it-admin.example.com", "https://it-admin.example.com"),  # a custom domain, not the Admin Console
    ],
)
def test_good_org_urls_are_normalised(given, expected):
    assert check_org_url(given) == expected


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ("", "No org URL"),
        ("https://{yourOktaDomain}", "placeholder"),
        ("http://dev-123456.okta.com", "https only"),
        ("https://dev-123456-admin.okta.com", "https://dev-123456.okta.com (without -admin)"),
        ("https://dev-123456.okta.com/oauth2/default", "custom authorization server"),
        ("https://dev-123456.okta.com/oauth2/aus1abcdEFG", "custom authorization server"),
        ("https://dev-123456.okta.com/app/UserHome", "the org URL is just https://dev-123456.okta.com"),
        ("https://dev-123456.okta.com?x=1", "query"),
        ("foo", "is not an org URL: use the form https://<your-org>.okta.com"),  # a slip, not a host to dial
    ],
)
def test_bad_org_urls_give_one_actionable_line(given, says):
    with pytest.raises(ConfigError) as info:
        check_org_url(given)
    message = str(info.value)
    assert says in message
    assert "\n" not in message


def test_sources_in_priority_order_env_then_config_then_options():
    env = {"OKTA_CLIENT_ORGURL": "https://sdk.okta.com", "OKTA_ORG_URL": "https://env.okta.com",
           "OKTA_CLIENT_ID": "0oaENV", "OKTA_SCOPES": "openid okta.users.read"}
    found = from_environ(env)
    assert found["org_url"] == "https://env.okta.com"  # our name wins over the SDK's
    conf = merge(found, {"client_id": "0oaTRAIT", "scopes": ""}, {"scopes": "openid okta.groups.read"},
                 known_scopes=["okta.users.read", "okta.groups.read"])
    assert conf.org_url == "https://env.okta.com"
    assert conf.client_id == "0oaTRAIT"
    assert conf.scopes == ("openid", "okta.groups.read")
    assert conf.redirect_uri == DEFAULT_REDIRECT_URI


def test_sdk_environment_names_are_read():
    found = from_environ({"OKTA_CLIENT_ORGURL": "https://sdk.okta.com", "OKTA_CLIENT_CLIENTID": "0oaSDK"})
    assert found == {"org_url": "https://sdk.okta.com", "client_id": "0oaSDK"}


def test_missing_client_id_and_scope_typos_are_caught():
    with pytest.raises(ConfigError, match="No client id"):
        merge({"org_url": "https://dev-1.okta.com"})
    with pytest.raises(ConfigError, match="did you mean 'okta.users.read'"):
        merge({"org_url": "https://dev-1.okta.com", "client_id": "0oa1", "scopes": "openid okta.user.read"},
              known_scopes=["okta.users.read"])
    with pytest.raises(ConfigError, match="fragment"):
        merge({"org_url": "https://dev-1.okta.com", "client_id": "0oa1", "redirect_uri": "http://localhost:8765/cb#x"})


def test_scope_lists_split_on_spaces_and_commas_without_duplicates():
    assert parse_scopes("openid, okta.users.read  okta.users.read") == ("openid", "okta.users.read")


@pytest.mark.parametrize("uri", ["http://127.0.0.1:0/callback", "http://localhost:99999/callback",
                                 "http://localhost:x/callback"])
def test_a_redirect_uri_without_a_usable_port_is_one_line(uri: str) -> None:
    from okta_magic.config import check_redirect_uri

    with pytest.raises(ConfigError, match="no usable port"):
        check_redirect_uri(uri)
