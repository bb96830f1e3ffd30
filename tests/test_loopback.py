"""The loopback listener, over real sockets on free ports."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from _login_fixtures import wait_until

from okta_magic import advice
from okta_magic.flows import loopback
from okta_magic.flows.browser import LoginFlow
from okta_magic.errors import AuthorizationDenied, ConfigError
from okta_magic.flows.loopback import CallbackReply, LoopbackListener
from okta_magic.sandbox import Sandbox


class Callbacks:
    """Records callback URLs; a URL containing 'good' is final."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.arrived = threading.Event()

    def __call__(self, url: str) -> CallbackReply:
        self.urls.append(url)
        self.arrived.set()
        if "good" in url:
            return CallbackReply(True, "Signed in", "Return to your notebook.")
        return CallbackReply(False, "Sign-in failed", "State <mismatch> & such; keep waiting.", 400)


def connect_refused(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def test_final_callback_gets_page_and_closes_the_port() -> None:
    calls = Callbacks()
    listener = LoopbackListener("http://127.0.0.1:0/callback", calls, timeout=30).start()
    try:
        assert listener.port != 0
        assert listener.redirect_uri == f"http://127.0.0.1:{listener.port}/callback"
        response = httpx.get(f"{listener.redirect_uri}?code=good&state=s")
        assert response.status_code == 200
        assert "Signed in" in response.text and "Return to your notebook." in response.text
        assert response.headers["cache-control"] == "no-store"
        assert calls.urls == [f"http://127.0.0.1:{listener.port}/callback?code=good&state=s"]
        assert listener.wait_closed(5)
        assert connect_refused(listener.port)
    finally:
        listener.close()


def test_non_final_callbacks_other_paths_and_garbage_do_not_consume_it() -> None:
    calls = Callbacks()
    with LoopbackListener("http://127.0.0.1:0/callback", calls, timeout=30) as listener:
        base = f"http://127.0.0.1:{listener.port}"
        bad = httpx.get(f"{base}/callback?code=x&state=wrong")
        assert bad.status_code == 400
        # the message is HTML-escaped
        assert "State &lt;mismatch&gt; &amp; such" in bad.text
        assert httpx.get(f"{base}/favicon.ico").status_code == 404
        assert httpx.get(f"{base}/callback/extra").status_code == 404
        assert httpx.post(f"{base}/callback", content=b"x").status_code == 405
        with socket.create_connection(("127.0.0.1", listener.port)) as raw:
            raw.sendall(b"\x16\x03\x01 garbage not http\r\n\r\n")
            raw.recv(1024)
        with socket.create_connection(("127.0.0.1", listener.port)) as raw:
            raw.sendall(b"GET")  # a half request, then hang up
        assert not listener.closed
        assert calls.urls == [f"{base}/callback?code=x&state=wrong"]  # only the redirect path reached the callback
        assert httpx.get(f"{base}/callback?code=good").status_code == 200
        assert listener.wait_closed(5)


def test_callback_that_raises_answers_500_and_keeps_listening(caplog: pytest.LogCaptureFixture) -> None:
    def broken(url: str) -> CallbackReply:
        raise RuntimeError("bug")

    with LoopbackListener("http://127.0.0.1:0/cb", broken, timeout=30) as listener:
        with caplog.at_level(logging.ERROR, logger="okta_magic.flows.loopback"):
            response = httpx.get(f"{listener.redirect_uri}?code=abc")
        assert response.status_code == 500
        assert not listener.closed


def test_port_in_use_is_a_config_error_that_says_what_to_do() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(ConfigError) as info:
            LoopbackListener(f"http://127.0.0.1:{port}/callback", Callbacks()).start()
    message = str(info.value)
    assert f"Port {port} on 127.0.0.1 is in use" in message
    assert "pass it with --redirect-uri, or stop" in advice.render(info.value, advice.NOTEBOOK)
    script = advice.render(info.value, advice.SCRIPT)
    assert "Register another loopback redirect URI" in script and "redirect_uri=" in script and "--" not in script


def test_timeout_calls_back_and_frees_the_port() -> None:
    fired = threading.Event()
    listener = LoopbackListener("http://127.0.0.1:0/callback", Callbacks(), timeout=0.3, on_timeout=fired.set).start()
    assert fired.wait(5)
    assert listener.wait_closed(5)
    assert connect_refused(listener.port)
    # the port can be bound again straight away
    again = LoopbackListener(f"http://127.0.0.1:{listener.port}/callback", Callbacks(), timeout=5).start()
    again.close()


@pytest.mark.parametrize(
    "uri",
    [
        "https://127.0.0.1:8765/callback",
        "http://0.0.0.0:8765/callback",
        "http://example.com:8765/cb",
        "http://127.0.0.1/cb",
    ],
)
def test_only_loopback_http_redirects_with_a_port_are_accepted(uri: str) -> None:
    with pytest.raises(ConfigError, match="loopback|no port"):
        LoopbackListener(uri, Callbacks())


def ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_localhost_binds_the_loopback_addresses_only() -> None:
    with LoopbackListener("http://localhost:0/callback", Callbacks(), timeout=30) as listener:
        assert listener.redirect_uri == f"http://localhost:{listener.port}/callback"
        # a browser sends Host: localhost:<port> whichever address it resolved localhost to
        host = {"Host": f"localhost:{listener.port}"}
        assert httpx.get(f"http://127.0.0.1:{listener.port}/nothing", headers=host).status_code == 404
        if ipv6_loopback_available():
            # a browser that resolves localhost to ::1 reaches it too
            assert httpx.get(f"http://[::1]:{listener.port}/nothing", headers=host).status_code == 404
        # never on every interface: find a non-loopback address of this machine, if any, and check it is closed
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(("10.255.255.255", 1))
            own = probe.getsockname()[0]
        except OSError:
            own = None
        finally:
            probe.close()
        if own and not own.startswith("127."):
            with socket.socket() as s:
                assert s.connect_ex((own, listener.port)) != 0


def test_close_is_idempotent_and_logs_do_not_carry_the_code(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="okta_magic.flows.loopback"):
        listener = LoopbackListener("http://127.0.0.1:0/callback", Callbacks(), timeout=30).start()
        httpx.get(f"{listener.redirect_uri}?code=good-SECRETCODE&state=s")
        listener.wait_closed(5)
        listener.close()
        listener.close()
    assert "SECRETCODE" not in caplog.text
    assert "/callback" in caplog.text
    assert "closed" in repr(listener)


def test_head_and_lookalike_requests_never_reach_the_callback() -> None:
    calls = Callbacks()
    with LoopbackListener("http://127.0.0.1:0/callback", calls, timeout=30) as listener:
        base = f"http://127.0.0.1:{listener.port}"
        head = httpx.head(f"{base}/callback?code=good&state=s")  # a link preview must not spend the code
        assert head.status_code == 404 and head.content == b""
        assert httpx.get(f"{base}/callback/?code=good").status_code == 404
        assert calls.urls == [] and not listener.closed
        # extra parameters (RFC 9207 iss, session_state) reach the callback untouched
        url = f"{base}/callback?code=good&state=s&iss=http%3A%2F%2Fidp&session_state=x"
        assert httpx.get(url).status_code == 200
        assert calls.urls == [url]


def test_an_ipv4_redirect_uri_is_not_served_on_ipv6() -> None:
    if not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback here")
    with LoopbackListener("http://127.0.0.1:0/callback", Callbacks(), timeout=30) as listener:
        with socket.socket(socket.AF_INET6) as s:
            assert s.connect_ex(("::1", listener.port)) != 0  # RFC 8252 §7.3: exactly the registered host


# -- hardening (issue: a forged callback could end a sign-in; Host; idle connections) ----------------------


def raw_request(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the listener closes it."""
    chunks = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        raw.sendall(data)
        try:
            while chunk := raw.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return b"".join(chunks)


def status_of(answer: bytes) -> int | None:
    """The status code of a raw HTTP answer, or None when the connection closed without one."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if answer.startswith(b"HTTP/1.") and len(parts) > 1 and parts[1].isdigit() else None


def loopback_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("okta-loopback-conn")]


SANDBOX = {"users": 5, "seed": 3, "calm": True}  # this module's sandbox org (conftest.py)


def pending_sign_in(sandbox: Sandbox, http: httpx.Client, port: int) -> tuple[LoginFlow, str, str]:
    """A sign-in waiting on its listener, its state, and the redirect Okta sends the browser to."""
    uri = f"http://127.0.0.1:{port}/callback"
    sandbox.add_redirect_uri("native", uri)
    flow = LoginFlow(sandbox.url, sandbox.apps["native"].client_id, ["openid", "okta.users.read"], uri, http=http, timeout=30)
    url = flow.start()
    state = parse_qs(urlsplit(url).query)["state"][0]
    redirect = http.get(url + "&sandbox_user=admin").headers["location"]
    assert redirect.startswith(uri + "?")
    return flow, state, redirect


@pytest.mark.parametrize(
    "query",
    [
        "?state=a&state=b",
        "?code=a&code=b",
        "?error=x&error=y",
        "#x",
        "?code=forged&state=not-ours",
        "?code=forged",
        "?error=access_denied",
        "?state={state}&state=x",
        "?state={state}&state=",
        "?state=&state={state}",
    ],
)
def test_a_callback_without_exactly_our_state_changes_nothing(sandbox: Sandbox, http: httpx.Client, query: str,
                                                         free_port: Callable[[], int]) -> None:
    flow, state, redirect = pending_sign_in(sandbox, http, free_port())
    port = urlsplit(redirect).port or 0
    target = "/callback" + query.format(state=state)
    answer = raw_request(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    assert status_of(answer) == 400, answer[:200]
    assert b"state mismatch" in answer or b"Bad request" in answer
    assert flow.status.phase == "waiting" and not flow.done
    # the real redirect still reaches the listener and ends the sign-in
    delivered = http.get(redirect)
    assert delivered.status_code == 200 and "Signed in" in delivered.text
    assert flow.wait(10).access_token


def test_only_the_right_state_may_end_the_flow_with_the_providers_error(sandbox: Sandbox, http: httpx.Client,
                                                                      free_port: Callable[[], int]) -> None:
    flow, state, redirect = pending_sign_in(sandbox, http, free_port())
    denied = urlsplit(redirect)._replace(query=f"error=access_denied&state={state}").geturl()
    assert http.get(denied).status_code == 400
    with pytest.raises(AuthorizationDenied):
        flow.wait(10)


def request_with_host(port: int, host_lines: str, target: str = "/callback?code=good&state=s") -> int | None:
    return status_of(raw_request(port, f"GET {target} HTTP/1.1\r\n{host_lines}\r\n".encode()))


def test_the_host_header_must_name_the_redirect_uri() -> None:
    calls = Callbacks()
    with LoopbackListener("http://127.0.0.1:0/callback", calls, timeout=30) as listener:
        port = listener.port
        # DNS rebinding: a page on another name that resolves to 127.0.0.1 sends its own Host
        for host_lines in (
            f"Host: evil.example:{port}\r\n",
            "Host: evil.example\r\n",
            f"Host: localhost:{port}\r\n",  # the redirect URI says 127.0.0.1, so a browser sends that
            f"Host: 127.0.0.1:{port + 1}\r\n",
            "Host: 127.0.0.1\r\n",
            f"Host: [::1]:{port}\r\n",
            f"Host: 127.0.0.1:{port}\r\nHost: evil.example\r\n",
            "",  # no Host at all
        ):
            assert request_with_host(port, host_lines) == 400, host_lines
        # the absolute form names its own host, and that is the one checked (RFC 9112 §3.2.2)
        assert request_with_host(port, f"Host: 127.0.0.1:{port}\r\n", "http://evil.example/callback?code=good") == 400
        assert calls.urls == [] and not listener.closed
        assert request_with_host(port, f"Host: 127.0.0.1:{port}\r\n") == 200
        assert calls.urls == [f"http://127.0.0.1:{port}/callback?code=good&state=s"]


def test_the_host_of_a_localhost_redirect_uri_is_localhost() -> None:
    calls = Callbacks()
    with LoopbackListener("http://localhost:0/callback", calls, timeout=30) as listener:
        port = listener.port
        assert request_with_host(port, f"Host: 127.0.0.1:{port}\r\n") == 400
        assert request_with_host(port, f"Host: LocalHost:{port}\r\n", "/callback?code=x") == 400  # reached, not final
        assert request_with_host(port, "", f"http://localhost:{port}/callback?code=good") == 200
        assert len(calls.urls) == 2
    if ipv6_loopback_available():
        with LoopbackListener("http://[::1]:0/callback", calls, timeout=30) as listener:
            port = listener.port
            with socket.create_connection(("::1", port)) as raw:
                raw.sendall(f"GET /nothing HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                assert raw.recv(100).startswith(b"HTTP/1.0 400")
            assert httpx.get(f"http://[::1]:{port}/nothing").status_code == 404  # Host: [::1]:<port>


def test_an_idle_or_slow_connection_is_cut_after_the_read_timeout() -> None:
    with LoopbackListener("http://127.0.0.1:0/callback", Callbacks(), timeout=30, read_timeout=0.5) as listener:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as idle:
            started = time.monotonic()
            assert idle.recv(1024) == b""  # closed by the listener, not by our own timeout
            assert time.monotonic() - started < 2
        # slowloris: a byte every 0.1 s never finishes the request; the whole head must arrive in time
        with socket.create_connection(("127.0.0.1", listener.port), timeout=5) as slow:
            started = time.monotonic()
            with pytest.raises(OSError):
                for byte in b"GET /callback?code=good HTTP/1.1\r\nHost: 127.0.0.1\r\n" * 10:
                    slow.sendall(bytes([byte]))
                    time.sleep(0.1)
                    if time.monotonic() - started > 3:
                        break
            assert time.monotonic() - started < 2
        assert not listener.closed


def test_a_flood_of_idle_connections_is_capped_and_does_not_outlive_the_timeout() -> None:
    calls = Callbacks()
    with LoopbackListener("http://127.0.0.1:0/callback", calls, timeout=30, read_timeout=1.0) as listener:
        flood: list[socket.socket] = []
        most = 0

        def threads_now() -> int:
            nonlocal most
            most = max(most, len(loopback_threads()))  # the peak, also while waiting (threads start late under load)
            return len(loopback_threads())

        try:
            for _ in range(100):
                flood.append(socket.create_connection(("127.0.0.1", listener.port)))
                threads_now()
            assert wait_until(lambda: threads_now() > 0, 2)
            # today each idle connection held a thread until the client hung up; now at most the cap
            # (+1: a thread that has just hung up may still be exiting)
            assert 0 < most <= loopback.MAX_CONNECTIONS + 1
            # the real redirect is still served during the flood
            assert httpx.get(f"{listener.redirect_uri}?code=good").status_code == 200
            assert wait_until(lambda: not loopback_threads(), 1.0 + 1.0)
        finally:
            for s in flood:
                s.close()


def test_closing_ends_every_connection_thread() -> None:
    listener = LoopbackListener("http://127.0.0.1:0/callback", Callbacks(), timeout=30, read_timeout=30).start()
    idle = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(5)]
    try:
        assert wait_until(lambda: len(loopback_threads()) == 5, 2)
        listener.close()
        assert not loopback_threads()
        assert all(s.recv(1) == b"" for s in idle)
    finally:
        for s in idle:
            s.close()
