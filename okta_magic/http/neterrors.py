"""A failed connection as a structured :class:`~okta_magic.errors.NetworkError`: which host, and what failed.

Tells apart a name that does not resolve, a refused connection, a TLS failure (certificate or
handshake), a proxy failure, a dropped connection and the timeouts, since each has a different
fix. ``str(exc)`` says what happened in one line (never a traceback, never a header); the
``fix`` key names the next step, which the advice layer (``advice.py``) words.
"""

from __future__ import annotations

import socket
import ssl

import httpx

from okta_magic.errors import NetworkError
from okta_magic.http.page import one_line

__all__ = ["network_error"]

_DNS_WORDS = ("name or service not known", "nodename nor servname", "getaddrinfo failed", "name resolution",
              "no address associated", "name does not resolve")
_REFUSED_WORDS = ("connection refused", "actively refused")


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and the ones it was raised from (httpx wraps httpcore, which wraps the OS error)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _kind(exc: httpx.TransportError) -> str:
    """What failed: connect_timeout, timeout, proxy, dns, refused, certificate, tls, dropped or other."""
    chain = _causes(exc)
    text = " ".join(str(e) for e in chain).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect_timeout"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ProxyError):
        return "proxy"
    if any(isinstance(e, socket.gaierror) for e in chain) or any(w in text for w in _DNS_WORDS):
        return "dns"
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or any(w in text for w in _REFUSED_WORDS):
        return "refused"
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate verify failed" in text:
        return "certificate"
    if any(isinstance(e, ssl.SSLError) for e in chain) or "[ssl" in text:
        return "tls"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "dropped"
    return "other"


# kind -> (what happened, the fix key); fields: host, where (host:port), within, name, reason
_SAID = {
    "connect_timeout": ("{host} did not accept a connection{within} ({name}).", "check_network"),
    "timeout": ("{host} did not answer{within} ({name}).", "slow_answer"),
    "proxy": ("The proxy could not take the request to {host} ({reason}).", "check_proxy"),
    "dns": ("Could not reach {host}: the name does not resolve (DNS).", "check_org_url_dns"),
    "refused": ("Could not reach {where}: the connection was refused.", "check_org_url_port"),
    "certificate": ("Could not reach {host} securely: its TLS certificate was not accepted ({reason}).",
                    "check_tls_inspection"),
    "tls": ("Could not reach {host}: the TLS handshake failed ({reason}).", "check_https_url"),
    "dropped": ("{host} closed the connection without a complete answer ({reason}).", "try_again_check_proxy"),
    "other": ("Could not reach {host} ({name}).", "check_connection"),
}


def network_error(exc: httpx.TransportError, url: httpx.URL, *, timeout: float | None = None) -> NetworkError:
    """The NetworkError for a transport failure on the way to ``url`` (``timeout``: the seconds allowed)."""
    host, port = url.host, url.port
    kind = _kind(exc)
    said, fix = _SAID[kind]
    message = said.format(host=host, where=f"{host}:{port}" if port else host, name=type(exc).__name__,
                          within=f" within {timeout:g} s" if timeout else " in time",
                          reason=one_line(str(exc) or type(exc).__name__, 120))
    error = NetworkError(message, host=host, kind=kind)
    error.with_fix(fix)
    return error
