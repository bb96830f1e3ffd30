"""The ``httpx.Auth`` flow of the org's client: the token goes to the org's origin and nowhere else.

* The Authorization header (``Bearer ...``, ``SSWS ...`` or ``DPoP ...``) is added only to
  requests whose scheme, host and port are the org's (RFC 6454 origin); a request to any other
  origin goes out without it. No header carrying the token is ever logged.
* A DPoP-bound token also gets a fresh proof by its key in the ``DPoP`` header (RFC 9449 §7.1);
  a 401 asking for a server nonce is answered once with a proof carrying it (RFC 9449 §9).
* A 401 ``invalid_token`` (RFC 6750 §3.1: revoked, expired early, clock skew; Okta's E0000011)
  is answered once with the header ``renew`` gives for the refused one (a refreshed token).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator

import httpx

from okta_magic.dpop import NONCE_ERROR, DPoPKey
from okta_magic.http.page import error_body
from okta_magic.http.stream import origin_of
from okta_magic.www_authenticate import parse_challenges, parse_www_authenticate

__all__ = ["OrgAuth"]

log = logging.getLogger(__name__)


class OrgAuth(httpx.Auth):
    """Adds the Authorization header (and a DPoP proof) only when the request goes to the org's origin."""

    def __init__(self, org: httpx.URL, credentials: Callable[[], str],
                 dpop_key: Callable[[], DPoPKey | None] | None = None,
                 renew: Callable[[str], str | None] | None = None) -> None:
        self._origin = origin_of(org)
        self._credentials = credentials
        self._dpop_key = dpop_key
        self._renew = renew

    def _sign(self, request: httpx.Request, value: str) -> DPoPKey | None:
        """Put ``value`` in the Authorization header, with a fresh DPoP proof when the token is bound."""
        request.headers["Authorization"] = value
        key = self._dpop_key() if self._dpop_key is not None and value.startswith("DPoP ") else None
        if key is not None:
            request.headers["DPoP"] = key.proof(request.method, str(request.url), access_token=value[5:])
        return key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Sign requests to the org; answer a DPoP nonce challenge and a refused token once each."""
        if origin_of(request.url) != self._origin:
            yield request
            return
        value = self._credentials()
        key = self._sign(request, value)
        response = yield request
        if (key is not None and response.status_code == 401 and _asks_for_nonce(response)
                and key.remember_nonce(response.headers)):
            self._sign(request, value)
            response = yield request
        if response.status_code == 401 and self._renew is not None and _token_refused(response):
            fresh = self._renew(value)
            if fresh is not None and fresh != value:
                log.info("the org refused the access token (401 invalid_token); retrying once with a refreshed one")
                self._sign(request, fresh)
                yield request

    def __repr__(self) -> str:
        return f"OrgAuth(origin={self._origin!r})"


def _token_refused(response: httpx.Response) -> bool:
    """A 401 saying the token itself is bad: ``error="invalid_token"`` (RFC 6750 §3.1) or Okta's E0000011."""
    challenge = parse_www_authenticate(response.headers.get("WWW-Authenticate"))
    if challenge.get("error"):
        return challenge["error"] == "invalid_token"
    response.read()  # a 401 body is small
    content_type = response.headers.get("content-type", "")
    body = error_body(response.content, content_type,
                      response.charset_encoding if "charset" in content_type else None)
    return isinstance(body, dict) and body.get("errorCode") == "E0000011"


def _asks_for_nonce(response: httpx.Response) -> bool:
    """A resource server's ``WWW-Authenticate: DPoP error="use_dpop_nonce"`` (RFC 9449 §9)."""
    return any(params.get("error") == NONCE_ERROR
               for _scheme, params in parse_challenges(response.headers.get("WWW-Authenticate")))
