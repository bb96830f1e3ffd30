"""The in-kernel sandbox behind jupyter-server-proxy, without a hub: detection, addresses, listener, pages.

tests/test_jupyterhub.py runs the same through a real JupyterHub in a browser; these pin the rules.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
import pytest

from okta_magic.flows import where
from okta_magic.errors import ConfigError
from okta_magic.flows.loopback import CallbackReply, LoopbackListener
from okta_magic.sandbox import Sandbox
from okta_magic.sandbox.pages import base_path
from okta_magic.sessions.session import Session

HUB = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "JUPYTERHUB_USER": "alice",
       "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/user/alice/"}


def _status(port: int, head: str) -> int:
    """The status a raw GET with these header lines gets from the listener."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(f"GET /callback?code=good&state=s HTTP/1.1\r\n{head}\r\n".encode())
        return int(raw.recv(64).split()[1])


def test_the_server_proxy_is_there_only_on_a_hub_with_the_extension() -> None:
    assert where.has_server_proxy(HUB, importable=lambda name: name == "jupyter_server_proxy")
    assert not where.has_server_proxy(HUB, importable=lambda name: False)
    assert not where.has_server_proxy({"JUPYTERHUB_USER": "alice"}, importable=lambda name: True)


def test_the_proxied_address_is_absolute_or_unknown() -> None:
    env = where.detect(HUB, exists=lambda _: False)
    assert where.proxied_url(env, 41000) == "https://hub.example.org/user/alice/proxy/41000"
    bare = where.detect({"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}, exists=lambda _: False)
    assert where.proxied_url(bare, 41000) is None  # a path alone is no address a browser can be sent to


def test_the_listener_takes_the_proxys_request_and_stays_strict_otherwise(free_port: Callable[[], int]) -> None:
    port = free_port()
    public = f"https://hub.example.org/user/alice/proxy/{port}/callback"
    urls: list[str] = []

    def final(url: str) -> CallbackReply:
        urls.append(url)
        return CallbackReply(True, "Signed in", "Return to your notebook.")

    with LoopbackListener(f"http://127.0.0.1:{port}/callback", final, timeout=30, public_uri=public) as listener:
        context = f"X-Forwarded-Context: /user/alice/proxy/{port}\r\n"
        for head in (
            "Host: hub.example.org\r\n",  # the hub's name without the proxy's context: not through the proxy
            f"Host: hub.example.org\r\nX-Forwarded-Context: /user/mallory/proxy/{port}\r\n",
            f"Host: evil.example\r\n{context}",
            f"Host: hub.example.org:8443\r\n{context}",
            f"Host: hub.example.org\r\n{context}{context}",
        ):
            assert _status(port, head) == 400, head
        assert urls == [] and not listener.closed
        assert _status(port, f"Host: hub.example.org\r\n{context}") == 200
        assert urls == [f"http://127.0.0.1:{port}/callback?code=good&state=s"]


@pytest.mark.parametrize("public", ["https://hub.example.org/user/alice/proxy/1/callback",
                                    "https://hub.example.org/user/alice/callback", "/user/alice/proxy/{port}/callback"])
def test_a_proxied_redirect_uri_names_the_listeners_port_and_path(public: str, free_port: Callable[[], int]) -> None:
    port = free_port()
    with pytest.raises(ConfigError, match="is not <server>/proxy/"):
        LoopbackListener(f"http://127.0.0.1:{port}/callback", lambda url: CallbackReply(True, "", ""),
                         public_uri=public.format(port=port))


def test_the_sandbox_pages_post_under_the_proxys_prefix(sandbox_factory: Callable[..., Sandbox]) -> None:
    assert base_path("/user/alice/proxy/41000/") == "/user/alice/proxy/41000"
    for hostile in ('/x"><script>', "//evil.example", "relative", "/a b"):
        assert base_path(hostile) == ""
    sb = sandbox_factory(users=100, calm=True)
    page = httpx.get(f"{sb.url}/activate", headers={"X-Forwarded-Context": "/user/alice/proxy/41000"})
    assert 'action="/user/alice/proxy/41000/activate"' in page.text
    assert 'action="/activate"' in httpx.get(f"{sb.url}/activate").text


def test_the_kernels_sandbox_signs_in_through_the_proxy_and_directly() -> None:
    session = Session(environ=HUB)
    try:
        config = session.kernel_sandbox.config("native", {"scopes": "openid okta.users.read"})
        port = config.redirect_uri.split("/proxy/")[1].split("/")[0]
        assert config.redirect_uri == f"https://hub.example.org/user/alice/proxy/{port}/callback"
        assert session.choose_flow(config)[0] == "loopback"
        flow = session.sign_in_browser(config)
        sandbox_port = session.sandbox.url.rsplit(":", 1)[1]  # type: ignore[union-attr]
        assert flow.authorize_url.startswith(f"https://hub.example.org/user/alice/proxy/{sandbox_port}/oauth2/v1/")
        flow.cancel()
        # a demo user signed in without a person goes straight to the sandbox and the listener
        token = session.sign_in_sandbox("helpdesk", layers=[{"scopes": "openid okta.users.read"}])
        assert token.subject == "helpdesk@example.com"
    finally:
        session.close()


def test_okta_sign_in_flow_still_names_the_flow_behind_the_proxy() -> None:
    session = Session(environ={**HUB, "OKTA_SIGN_IN_FLOW": "device"})
    try:
        config = session.kernel_sandbox.config("native", {"scopes": "openid okta.users.read"})
        assert session.kernel_sandbox.proxied(config.redirect_uri)
        assert session.choose_flow(config)[0] == "device"
    finally:
        session.close()


@pytest.mark.parametrize("environ", [{"JUPYTERHUB_USER": "alice", "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api"},
                                     {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/"}],
                         ids=["no-server-proxy", "no-public-url"])
def test_without_the_proxy_or_its_address_the_hubs_sandbox_falls_back_to_the_device_grant(
        environ: dict[str, str]) -> None:
    session = Session(environ=environ, exists=lambda _path: False)
    try:
        config = session.kernel_sandbox.config("native", {"scopes": "openid okta.users.read"})
        assert config.redirect_uri.startswith("http://127.0.0.1:") and not session.kernel_sandbox.proxied(config.redirect_uri)
        flow, why = session.choose_flow(config)
        assert flow == "device" and "JupyterHub" in why
    finally:
        session.close()


@pytest.mark.parametrize(("uri", "local"), [
    ("https://hub.example.org/user/alice/proxy/8765/callback", "http://127.0.0.1:8765/callback"),
    ("http://hub.internal:8000/user/alice/proxy/41000/oauth/back", "http://127.0.0.1:41000/oauth/back"),
    ("https://hub.example.org/user/bob/proxy/8765/callback", None),  # another user's server
    ("https://hub.example.org/user/alice/proxy/99999/callback", None),
    ("https://hub.example.org/user/alice/proxy/8765", None),
    ("http://127.0.0.1:8765/callback", None),
])
def test_a_redirect_uri_registered_for_this_servers_proxy_names_the_listener(uri: str, local: str | None) -> None:
    assert where.proxy_listener(uri, HUB, importable=lambda name: True) == local
    assert where.proxy_listener(uri, HUB, importable=lambda name: False) is None  # no proxy on this server


def test_ones_own_org_signs_in_through_the_proxy_with_the_redirect_uri_registered_for_it(
        sandbox_factory: Callable[..., Sandbox], free_port: Callable[[], int]) -> None:
    """An org of one's own (not the kernel's sandbox) whose app has the server's proxied redirect URI registered."""
    from _login_fixtures import Browser

    from okta_magic.config import OktaConfig

    org = sandbox_factory(users=20)
    port = free_port()
    public = f"https://hub.example.org/user/alice/proxy/{port}/callback"
    org.add_redirect_uri("native", public)
    session = Session(environ=HUB)
    try:
        config = OktaConfig(org_url=org.url, client_id=org.apps["native"].client_id,
                            scopes=("openid", "okta.users.read"), redirect_uri=public)
        flow_name, why = session.choose_flow(config)
        assert flow_name == "loopback" and "jupyter-server-proxy" in why and f"127.0.0.1:{port}" in why
        flow = session.sign_in_browser(config)
        assert flow.authorize_url.startswith(org.url)  # the org's own sign-in page, not through the proxy
        with Browser("admin", str(org.demo_users["admin"].password)) as browser:
            redirect = browser.sign_in(flow.authorize_url, public, deliver=False).redirect_url
        assert redirect is not None and redirect.startswith(public + "?")
        # what the proxy does: strip /user/alice/proxy/<port>, keep the browser's Host, say where it came from
        query = redirect.split("?", 1)[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            raw.sendall(f"GET /callback?{query} HTTP/1.1\r\nHost: hub.example.org\r\n"
                        f"X-Forwarded-Context: /user/alice/proxy/{port}\r\nConnection: close\r\n\r\n".encode())
            assert raw.recv(64).split()[1] == b"200"
        token = flow.wait(30)
        assert token.subject == "admin@example.com"
    finally:
        session.close()


def test_okta_sign_in_flow_overrides_a_proxied_redirect_uri_of_ones_own() -> None:
    from okta_magic.config import OktaConfig

    session = Session(environ={**HUB, "OKTA_SIGN_IN_FLOW": "paste"})
    try:
        config = OktaConfig(org_url="https://example.okta.com", client_id="0oa1",
                            scopes=("openid",), redirect_uri="https://hub.example.org/user/alice/proxy/8765/callback")
        assert session.choose_flow(config)[0] == "paste"
    finally:
        session.close()
