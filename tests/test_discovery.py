"""Provider discovery (OIDC Discovery 1.0 §4, RFC 8414 §3) over httpx.MockTransport."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from _oauth_fixtures import ISSUER, META, Recorder, discovery_doc

from okta_magic import advice
from okta_magic.oauth.discovery import ProviderMetadata, discover
from okta_magic.errors import ConfigError, NetworkError


def test_discover_reads_the_document_and_checks_the_issuer() -> None:
    rec = Recorder(
        lambda r: httpx.Response(200, json=discovery_doc(authorization_response_iss_parameter_supported=True))
    )
    meta = discover(ISSUER + "/", rec.client())
    assert str(rec.requests[0].url) == f"{ISSUER}/.well-known/openid-configuration"
    assert meta.discovered and meta.issuer == ISSUER
    assert meta.token_endpoint == f"{ISSUER}/oauth2/v1/token"
    assert meta.device_authorization_endpoint == f"{ISSUER}/oauth2/v1/device/authorize"
    assert meta.authorization_response_iss_parameter_supported is True
    assert "jwks_uri" in meta.endpoints()


def test_discover_rejects_another_issuer() -> None:
    rec = Recorder(lambda r: httpx.Response(200, json=discovery_doc(issuer="https://evil.example.com")))
    with pytest.raises(ConfigError, match="says its issuer is https://evil.example.com; use exactly that"):
        discover(ISSUER, rec.client())


def test_discover_accepts_a_provider_whose_issuer_ends_in_a_slash() -> None:
    # Some OpenID providers publish "https://tenant.example.com/" as their issuer; the org URL we hold
    # has no trailing slash, and the document's exact value is what later iss checks compare with.
    rec = Recorder(lambda r: httpx.Response(200, json=discovery_doc(issuer=ISSUER + "/")))
    meta = discover(ISSUER, rec.client())
    assert meta.issuer == ISSUER + "/"


def test_discover_falls_back_to_org_paths_only_on_404() -> None:
    meta = discover(ISSUER, Recorder(lambda r: httpx.Response(404)).client())
    assert not meta.discovered
    assert meta.authorization_endpoint == f"{ISSUER}/oauth2/v1/authorize"
    assert meta.revocation_endpoint == f"{ISSUER}/oauth2/v1/revoke"
    assert meta.device_authorization_endpoint == f"{ISSUER}/oauth2/v1/device/authorize"
    with pytest.raises(ConfigError, match="answered HTTP 500"):
        discover(ISSUER, Recorder(lambda r: httpx.Response(500)).client())
    with pytest.raises(ConfigError, match="not an OpenID discovery document"):
        discover(ISSUER, Recorder(lambda r: httpx.Response(200, text="<html>")).client())


def test_discover_unreachable_is_a_network_error() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(NetworkError, match="Could not reach example.okta.com") as info:
        discover(ISSUER, Recorder(boom).client())
    assert info.value.host == "example.okta.com"


def test_discover_issuer_with_a_path_uses_oidc_then_rfc8414_locations() -> None:
    issuer = "https://sso.example.com/realms/demo"
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/.well-known/oauth-authorization-server/realms/demo":
            return httpx.Response(200, json=discovery_doc(issuer))
        return httpx.Response(404)

    meta = discover(issuer + "/", Recorder(answer).client())
    # OIDC Discovery §4.1 appends to the path; RFC 8414 §3.1 inserts before it
    assert seen == [
        "/realms/demo/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server/realms/demo",
    ]
    assert meta.discovered and meta.issuer == issuer
    with pytest.raises(ConfigError, match="no discovery document .*realms/<realm>"):
        discover(issuer, Recorder(lambda r: httpx.Response(404)).client())  # never Okta paths under /realms
    wrong = Recorder(lambda r: httpx.Response(200, json=discovery_doc("https://sso.example.com/realms/other")))
    with pytest.raises(ConfigError, match="says its issuer is https://sso.example.com/realms/other"):
        discover(issuer, wrong.client())


def test_discover_follows_a_redirect_but_still_checks_the_issuer() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(301, headers={"Location": f"{ISSUER}/static/openid-configuration.json"})
        return httpx.Response(200, json=discovery_doc())

    assert discover(ISSUER, Recorder(answer).client()).token_endpoint == f"{ISSUER}/oauth2/v1/token"


def test_an_unreachable_org_at_sign_in_says_which_kind_of_failure(free_port: Callable[[], int]) -> None:
    port = free_port()
    with httpx.Client() as http, pytest.raises(NetworkError) as info:
        discover(f"http://127.0.0.1:{port}", http)
    # what happened, then the fix line the advice layer words
    assert f"127.0.0.1:{port}: the connection was refused. Check the org URL" in advice.render(
        info.value, advice.NOTEBOOK)


def test_the_advertised_id_token_algorithms_are_read_from_discovery() -> None:
    doc = discovery_doc(id_token_signing_alg_values_supported=["RS256", "ES256"])
    assert ProviderMetadata.from_document(doc).id_token_signing_alg_values_supported == ("RS256", "ES256")
    assert ProviderMetadata.from_document(discovery_doc()).id_token_signing_alg_values_supported == ()
    assert META.id_token_signing_alg_values_supported == ("RS256",)
