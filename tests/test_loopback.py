"""The loopback listener, over real sockets on free ports."""

from __future__ import annotations

import logging
import socket
import threading

import httpx
import pytest

from okta_magic.errors import ConfigError
from okta_magic.loopback import CallbackReply, LoopbackListener


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
        with caplog.at_level(logging.ERROR, logger="okta_magic.loopback"):
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
    assert "Register another loopback redirect URI" in message and "--redirect-uri" in message


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
        assert httpx.get(f"http://127.0.0.1:{listener.port}/nothing").status_code == 404
        if ipv6_loopback_available():
            # a browser that resolves localhost to ::1 reaches it too
            assert httpx.get(f"http://[::1]:{listener.port}/nothing").status_code == 404
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
    with caplog.at_level(logging.DEBUG, logger="okta_magic.loopback"):
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
