"""Reliability: hostile requests to the sign-in listener, over real sockets, during a real sign-in.

Each case starts a real Authorization Code + PKCE sign-in against the sandbox org (its own
loopback listener on a free port), sends one kind of hostile request, and then checks four things:
the attacker was refused (an error status or a closed connection), the sign-in is still waiting
and nothing reached its callback checks, the listener still answers, and the real redirect
(right ``state``, real code) then completes the sign-in. Afterwards none of the listener's
connection threads is left. The figures go to docs/reliability.md through ``reliability.record``.
"""

from __future__ import annotations

import logging
import random
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from _login_fixtures import wait_until
from reliability import record

from okta_magic.flows import loopback
from okta_magic.flows.browser import LoginFlow, Step
from okta_magic.errors import OktaMagicError
from okta_magic.sandbox import Sandbox

READ_TIMEOUT = 0.5  # the listener's read timeout for this run (the default is a few seconds)
CLOSED = None  # the outcome when the listener hung up without an answer

Outcome = int | None


@dataclass(frozen=True)
class Target:
    """What the attacker aims at: the listener's port, and (for the cases that need it) the real values."""

    port: int
    state: str
    query: str  # the real redirect's query (right state, real code): sent in ways that must still be refused

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Case:
    """One kind of hostile request and the refusals that count as held."""

    name: str
    attack: Callable[[Target], Outcome]
    refused: frozenset[Outcome]


RESULTS: dict[str, tuple[bool, str]] = {}


# -- raw socket helpers ------------------------------------------------------------------------------------


def send(port: int, data: bytes, *, linger: float = READ_TIMEOUT + 3) -> Outcome:
    """Send ``data`` on a new connection; the answer's status, or CLOSED if none came before the hang-up."""
    chunks: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=linger) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # hung up on while sending (e.g. a huge request): read whatever answer came first
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    return status(b"".join(chunks))


def status(answer: bytes) -> Outcome:
    parts = answer.split(b" ", 2)
    if answer.startswith(b"HTTP/1.") and len(parts) > 1 and parts[1].isdigit():
        return int(parts[1])
    return CLOSED


def get(target: Target, request_target: str, headers: str | None = None, *, version: str = "HTTP/1.1") -> Outcome:
    """A GET with the given request target; ``headers`` defaults to the right Host."""
    head = f"Host: {target.host}\r\n" if headers is None else headers
    return send(target.port, f"GET {request_target} {version}\r\n{head}\r\n".encode("latin-1"))


def raw(data: bytes | Callable[[Target], bytes]) -> Callable[[Target], Outcome]:
    return lambda t: send(t.port, data(t) if callable(data) else data)


def method(name: str, body: bytes = b"") -> Callable[[Target], Outcome]:
    def attack(t: Target) -> Outcome:
        extra = f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n" if body else ""
        head = f"{name} /callback?{t.query} HTTP/1.1\r\nHost: {t.host}\r\n{extra}\r\n".encode()
        return send(t.port, head + body)

    return attack


def conn_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"okta-loopback-conn-{port}"]


# -- the attacks that need more than one request -------------------------------------------------------------


def idle(t: Target) -> Outcome:
    """Connect and send nothing: the listener must hang up after its read timeout."""
    with socket.create_connection(("127.0.0.1", t.port), timeout=READ_TIMEOUT + 3) as s:
        started = time.monotonic()
        answer = s.recv(1024)
        assert time.monotonic() - started < READ_TIMEOUT + 1, "an idle connection outlived the read timeout"
    return status(answer)


def slowloris(t: Target) -> Outcome:
    """A byte every 50 ms of a request that never ends: the whole head must arrive within the read timeout."""
    line = f"GET /callback?state=x HTTP/1.1\r\nHost: {t.host}\r\n" + "X-Slow: 1\r\n" * 50
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", t.port), timeout=READ_TIMEOUT + 3) as s:
        try:
            for byte in line.encode():
                s.sendall(bytes([byte]))
                time.sleep(0.05)
                assert time.monotonic() - started < READ_TIMEOUT + 1.5, "a slow request outlived the read timeout"
        except (BrokenPipeError, ConnectionResetError):
            return CLOSED
        answer = s.recv(1024)
    return status(answer)


def half_then_hang_up(t: Target) -> Outcome:
    """Half a request line, then the attacker hangs up."""
    with socket.create_connection(("127.0.0.1", t.port)) as s:
        s.sendall(b"GET /callback?sta")
    return CLOSED


def reset(t: Target) -> Outcome:
    """Connect and reset the connection at once (SO_LINGER 0)."""
    s = socket.create_connection(("127.0.0.1", t.port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.sendall(f"GET /callback?{t.query}".encode())
    s.close()
    return CLOSED


def flood(t: Target) -> Outcome:
    """200 idle connections: threads stay under the cap, the listener still serves, all are cut in time."""
    sockets: list[socket.socket] = []
    most = 0
    baseline = threading.active_count()
    try:
        for _ in range(200):
            sockets.append(socket.create_connection(("127.0.0.1", t.port), timeout=READ_TIMEOUT + 3))
            most = max(most, len(conn_threads(t.port)))
        # +1: a thread that has just hung up may still be exiting
        assert most <= loopback.MAX_CONNECTIONS + 1, f"{most} connection threads during the flood"
        assert get(t, "/favicon.ico") == 404, "the listener did not serve during the flood"
        # every connection is cut within the read timeout of its arrival (+1 s of scheduling slack)
        assert wait_until(lambda: not conn_threads(t.port), READ_TIMEOUT + 1), "threads outlived the read timeout"
        assert threading.active_count() <= baseline, "more threads than before the flood"
        assert all(s.recv(1) == b"" for s in sockets), "a flood connection was left open"
    finally:
        for s in sockets:
            s.close()
    return CLOSED


def concurrent_forgeries(t: Target) -> Outcome:
    """50 forged callbacks at once: each refused or hung up on (at the cap), none ends the sign-in."""
    with ThreadPoolExecutor(max_workers=50) as pool:
        outcomes = set(pool.map(lambda i: get(t, f"/callback?code=c{i}&state=s{i}"), range(50)))
    assert outcomes <= {400, CLOSED}, outcomes
    return 400 if 400 in outcomes else CLOSED


def pipelined(t: Target) -> Outcome:
    """A forged callback with the real one pipelined behind it: the listener answers one request per connection."""
    first = f"GET /callback?code=x&state=y HTTP/1.1\r\nHost: {t.host}\r\n\r\n"
    second = f"GET /callback?{t.query} HTTP/1.1\r\nHost: {t.host}\r\n\r\n"
    return send(t.port, (first + second).encode())


def client_hello(t: Target) -> bytes:
    """The first bytes of a TLS 1.2/1.3 ClientHello (a browser told https:// by mistake)."""
    body = b"\x03\x03" + random.Random(1).randbytes(32) + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(handshake).to_bytes(2, "big") + handshake


def noise(t: Target) -> bytes:
    return random.Random(7).randbytes(4096)


# -- the cases -----------------------------------------------------------------------------------------------

E400 = frozenset({400})
E404 = frozenset({404})
E405 = frozenset({405, CLOSED})  # a request with a body may be reset before its answer is read
HUNG_UP = frozenset({CLOSED})
ANY_REFUSAL = frozenset({400, 404, 405, 408, 414, 431, 501, 505, CLOSED})

CASES = [
    # state: only the sign-in's exact state, once, may reach the callback checks (RFC 6749 §10.12)
    Case("no query", lambda t: get(t, "/callback"), E400),
    Case("wrong state", lambda t: get(t, "/callback?code=c&state=wrong"), E400),
    Case("missing state", lambda t: get(t, "/callback?code=c"), E400),
    Case("empty state", lambda t: get(t, "/callback?code=c&state="), E400),
    Case("state almost right (one character short)", lambda t: get(t, f"/callback?code=c&state={t.state[:-1]}"), E400),
    Case("state right plus a suffix", lambda t: get(t, f"/callback?code=c&state={t.state}x"), E400),
    Case("state name in capitals", lambda t: get(t, f"/callback?code=c&STATE={t.state}"), E400),
    Case("duplicated state (two wrong)", lambda t: get(t, "/callback?state=a&state=b"), E400),
    Case("right state plus an extra state", lambda t: get(t, f"/callback?state={t.state}&state=x&code=c"), E400),
    Case("an extra state before the right one", lambda t: get(t, f"/callback?state=x&state={t.state}&code=c"), E400),
    Case("right state twice", lambda t: get(t, f"/callback?state={t.state}&state={t.state}&code=c"), E400),
    Case("duplicated code", lambda t: get(t, "/callback?code=a&code=b"), E400),
    Case("duplicated error", lambda t: get(t, "/callback?error=x&error=y"), E400),
    Case("error without state", lambda t: get(t, "/callback?error=access_denied&error_description=no"), E400),
    Case("fragment only (raw #)", lambda t: get(t, "/callback#x"), E400),
    Case("right state and code after # (implicit style)", lambda t: get(t, f"/callback#{t.query}"), E400),
    Case("encoded & inside state", lambda t: get(t, f"/callback?code=c&state={t.state}%26state%3Dx"), E400),
    Case("semicolon separators", lambda t: get(t, f"/callback?code=c;state={t.state}"), E400),
    Case("encoded CRLF in state (header injection)", lambda t: get(t, "/callback?state=x%0d%0aSet-Cookie:a"), E400),
    # Host and request target: DNS rebinding and requests meant for another host (RFC 9112 §3.2)
    Case("wrong Host with the real callback", lambda t: get(t, f"/callback?{t.query}", "Host: evil.example\r\n"), E400),
    Case(
        "wrong Host name on the right port",
        lambda t: get(t, f"/callback?{t.query}", f"Host: rebind.example:{t.port}\r\n"),
        E400,
    ),
    Case(
        "localhost Host for a 127.0.0.1 redirect URI",
        lambda t: get(t, f"/callback?{t.query}", f"Host: localhost:{t.port}\r\n"),
        E400,
    ),
    Case("missing Host", lambda t: get(t, f"/callback?{t.query}", ""), E400),
    Case("missing Host (HTTP/1.0)", lambda t: get(t, f"/callback?{t.query}", "", version="HTTP/1.0"), E400),
    Case(
        "two Host headers",
        lambda t: get(t, f"/callback?{t.query}", f"Host: {t.host}\r\nHost: evil.example\r\n"),
        E400,
    ),
    Case("absolute-form target for another host", lambda t: get(t, f"http://evil.example/callback?{t.query}"), E400),
    Case(
        "absolute-form target with userinfo",
        lambda t: get(t, f"http://evil@{t.host}/callback?{t.query}"),
        E400,
    ),
    Case("https absolute-form target", lambda t: get(t, f"https://{t.host}/callback?{t.query}"), E400),
    Case("non-UTF-8 Host", raw(lambda t: b"GET /callback HTTP/1.1\r\nHost: \xff\xfe\r\n\r\n"), E400),
    # other methods, with the real callback's query: none may spend the code
    Case("POST with a form body", method("POST", b"code=c&state=s"), E405),
    Case("PUT", method("PUT"), E405),
    Case("DELETE", method("DELETE"), E405),
    Case("PATCH", method("PATCH"), E405),
    Case("OPTIONS", method("OPTIONS"), E405),
    Case("TRACE", method("TRACE"), E405),
    Case("HEAD (a link preview)", method("HEAD"), E404),
    Case("CONNECT", raw(lambda t: f"CONNECT {t.host} HTTP/1.1\r\nHost: {t.host}\r\n\r\n".encode()), E405),
    Case("unknown method", method("FOO"), frozenset({501})),
    Case("lower-case get", method("get"), frozenset({501})),
    # other paths, with the real callback's query
    Case("other path (/favicon.ico)", lambda t: get(t, f"/favicon.ico?{t.query}"), E404),
    Case("trailing slash", lambda t: get(t, f"/callback/?{t.query}"), E404),
    Case("path in capitals", lambda t: get(t, f"/CALLBACK?{t.query}"), E404),
    Case("path traversal to the callback", lambda t: get(t, f"/x/../callback?{t.query}"), E404),
    Case("path traversal out of it", lambda t: get(t, "/callback/../../etc/passwd"), E404),
    Case("encoded path traversal", lambda t: get(t, "/callback/..%2f..%2fetc%2fpasswd"), E404),
    Case("double slash", lambda t: get(t, f"//callback?{t.query}"), E404),
    Case("percent-encoded path", lambda t: get(t, f"/%63allback?{t.query}"), E404),
    # sizes
    Case("oversized query (100 KB)", lambda t: get(t, "/callback?state=" + "a" * 100_000), frozenset({414, CLOSED})),
    Case(
        "oversized header (100 KB)",
        lambda t: get(t, "/callback?state=x", f"Host: {t.host}\r\nX-Big: {'b' * 100_000}\r\n"),
        frozenset({431, CLOSED}),
    ),
    Case(
        "a thousand headers",
        lambda t: get(t, "/callback?state=x", f"Host: {t.host}\r\n" + "X-H: 1\r\n" * 1000),
        frozenset({431, CLOSED}),
    ),
    # bytes that are not (this) HTTP
    Case("random bytes", raw(noise), frozenset({400, CLOSED})),
    Case("TLS ClientHello", raw(client_hello), frozenset({400, CLOSED})),
    Case("HTTP/0.9 request with the real callback", raw(lambda t: f"GET /callback?{t.query}\r\n".encode()), HUNG_UP),
    Case("HTTP/2 preface", raw(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), frozenset({505})),
    Case("bad HTTP version", lambda t: get(t, f"/callback?{t.query}", version="HTTP/1.x"), E400),
    Case("raw CR in the request line", raw(lambda t: f"GET /callback?{t.query}\rX: y HTTP/1.1\r\n\r\n".encode()), E400),
    Case(
        "CRLF injection in the request line",
        raw(lambda t: f"GET /callback?{t.query}\r\nX-Injected: 1 HTTP/1.1\r\nHost: {t.host}\r\n\r\n".encode()),
        HUNG_UP,
    ),
    Case(
        "NUL byte in the target",
        raw(lambda t: f"GET /callback?{t.query}\x00 HTTP/1.1\r\nHost: {t.host}\r\n\r\n".encode()),
        E400,
    ),
    Case(
        "non-UTF-8 bytes in the target",
        raw(lambda t: b"GET /callback?state=\xff\xfe HTTP/1.1\r\nHost: " + t.host.encode() + b"\r\n\r\n"),
        E400,
    ),
    Case("blank lines only", raw(b"\r\n\r\n\r\n"), HUNG_UP),
    # connections
    Case("idle connection", idle, HUNG_UP),
    Case("slowloris (a byte every 50 ms)", slowloris, ANY_REFUSAL),
    Case("half a request, then hang up", half_then_hang_up, HUNG_UP),
    Case("connection reset mid-request", reset, HUNG_UP),
    Case("flood of 200 idle connections", flood, HUNG_UP),
    Case("50 concurrent forged callbacks", concurrent_forgeries, frozenset({400, CLOSED})),
    Case("forged callback with the real one pipelined behind", pipelined, frozenset({400, CLOSED})),
]


# -- the run -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def short_read_timeout() -> Iterator[None]:
    """Listeners made in this module cut idle connections after READ_TIMEOUT seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loopback, "READ_TIMEOUT", READ_TIMEOUT)
        yield


SANDBOX = {"users": 5, "seed": 11, "calm": True}  # this module's sandbox org (conftest.py)


@pytest.fixture(scope="module", autouse=True)
def report() -> Iterator[None]:
    """Writes this suite's figures once every case has run (a partial run leaves the document alone)."""
    yield
    if set(RESULTS) != {case.name for case in CASES}:
        return
    held = sum(ok for ok, _ in RESULTS.values())
    rows = [(case.name, RESULTS[case.name][1]) for case in CASES]
    record(
        "test_reliability_callbacks",
        "Hostile callbacks to the sign-in listener",
        len(CASES),
        held,
        "Each case starts a real Authorization Code + PKCE sign-in against the sandbox org, with its own "
        "loopback listener, and sends one hostile request over a raw socket: callbacks with a wrong, missing, "
        "empty, duplicated or almost-right state, duplicated code or error, the result after '#', other Host "
        "headers (DNS rebinding) and request targets for other hosts, other methods and paths (including path "
        "traversal), oversized queries and headers, bytes that are not HTTP (noise, a TLS ClientHello, HTTP/0.9, "
        "the HTTP/2 preface, CR, LF and NUL in the request line), and slow, idle, reset, flooding (200 idle "
        f"connections) and concurrent connections. A case holds when the attacker is refused (an error status or "
        f"a closed connection), the sign-in is still waiting and nothing reached its callback checks, the listener "
        f"still answers, the real redirect then completes the sign-in, no connection thread is left within the "
        f"read timeout ({READ_TIMEOUT} s in this run) and the code never appears in the logs.",
        rows,
    )


def start_sign_in(sandbox: Sandbox, http: httpx.Client, steps: list[Step], port: int) -> tuple[LoginFlow, Target, str]:
    """A sign-in waiting on its listener, what the attacker aims at, and the real redirect."""
    uri = f"http://127.0.0.1:{port}/callback"
    sandbox.add_redirect_uri("native", uri)
    flow = LoginFlow(
        sandbox.url, sandbox.apps["native"].client_id, ["openid", "okta.users.read"], uri, http=http, timeout=60,
        on_step=steps.append,
    )
    url = flow.start()
    redirect = http.get(url + "&sandbox_user=admin").headers["location"]
    state = parse_qs(urlsplit(url).query)["state"][0]
    return flow, Target(urlsplit(uri).port or 0, state, urlsplit(redirect).query), redirect


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_callback(case: Case, sandbox: Sandbox, http: httpx.Client, caplog: pytest.LogCaptureFixture,
                          free_port: Callable[[], int]) -> None:
    steps: list[Step] = []
    caplog.set_level(logging.DEBUG, logger="okta_magic")
    flow, target, redirect = start_sign_in(sandbox, http, steps, free_port())
    code = parse_qs(target.query)["code"][0]
    failures: list[str] = []
    outcome: Outcome | str = "not sent"
    try:
        try:
            outcome = case.attack(target)
        except AssertionError as exc:
            failures.append(str(exc).splitlines()[0])
        except OSError as exc:
            failures.append(f"the attack itself failed: {type(exc).__name__}")
        if outcome not in case.refused:
            failures.append(f"answered {outcome}, expected one of {sorted(case.refused, key=str)}")
        if flow.status.phase != "waiting":
            failures.append(f"the sign-in ended: {flow.status.phase}")
        if any(step.name == "callback" for step in steps):
            failures.append("the request reached the sign-in's callback checks")
        try:
            alive = get(target, "/favicon.ico") == 404
        except OSError:
            alive = False
        if not alive:
            failures.append("the listener no longer answers")
        try:
            delivered = http.get(redirect)
            if delivered.status_code != 200 or "Signed in" not in delivered.text:
                failures.append(f"the real redirect got {delivered.status_code}")
            elif not flow.wait(10).access_token:
                failures.append("the real sign-in produced no token")
        except (httpx.HTTPError, OktaMagicError) as exc:
            failures.append(f"the real sign-in failed: {type(exc).__name__}")
        if not wait_until(lambda: not conn_threads(target.port), READ_TIMEOUT + 1):
            failures.append(f"{len(conn_threads(target.port))} connection threads left after the sign-in")
        if code in caplog.text:
            failures.append("the code appeared in the logs")
    finally:
        flow.cancel()
    shown = "closed" if outcome is CLOSED else str(outcome)
    summary = "; ".join(failures) if failures else f"refused ({shown}); sign-in completed"
    RESULTS[case.name] = (not failures, summary)
    assert not failures, failures


def test_every_case_held() -> None:
    """The suite fails if any case did not hold (each case also fails on its own)."""
    assert len(CASES) >= 30 and len({case.name for case in CASES}) == len(CASES)
    missing = [case.name for case in CASES if case.name not in RESULTS]
    assert not missing, f"cases that did not run: {missing}"
    broken = {name: why for name, (ok, why) in RESULTS.items() if not ok}
    assert not broken, broken

