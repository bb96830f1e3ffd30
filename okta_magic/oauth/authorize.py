"""The authorization request and the redirect back (RFC 6749 §4.1.1-4.1.2, PKCE RFC 7636 §4.3, RFC 9207).

Owns: the authorization URL a browser opens (fresh ``state``, OIDC ``nonce`` and S256 code
challenge), and checking the redirect back: ``state`` in constant time (RFC 6749 §10.12),
the RFC 9207 ``iss``, an ``error=`` (§4.1.2.1), then the ``code``. Errors carry what the
server said and a ``fix`` key; ``advice.py`` words the next step.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote, urlencode, urlsplit

from okta_magic import pkce
from okta_magic.oauth.discovery import ProviderMetadata, normalize_issuer
from okta_magic.errors import AuthorizationDenied, LoginError, StateMismatch
from okta_magic.tokens import InMemoryOnly, Secret

__all__ = ["AuthorizationRequest", "denial_message", "one_line", "parse_callback"]


def one_line(text: object, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters (a server's description may be long or multi-line)."""
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class AuthorizationRequest(InMemoryOnly):
    """One authorization request (RFC 6749 §4.1.1 with PKCE, RFC 7636 §4.3).

    Create with :meth:`new` so state, nonce and verifier are fresh. The verifier
    stays out of the repr; it is sent only to the token endpoint.
    """

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    nonce: str
    code_verifier: str = field(repr=False)
    code_challenge: str

    @classmethod
    def new(cls, client_id: str, redirect_uri: str, scopes: Sequence[str]) -> AuthorizationRequest:
        """A request with a fresh state, nonce and PKCE verifier/challenge."""
        verifier = pkce.new_code_verifier()
        return cls(
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=tuple(scopes),
            state=pkce.new_state(),
            nonce=pkce.new_nonce(),
            code_verifier=verifier,
            code_challenge=pkce.s256_challenge(verifier),
        )

    @property
    def wants_openid(self) -> bool:
        return "openid" in self.scopes

    def params(self) -> dict[str, str]:
        """The query parameters of the authorization URL, in a readable order."""
        params = {
            "client_id": self.client_id,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",  # RFC 7636 §4.3; "plain" is never sent
        }
        if self.wants_openid:
            params["nonce"] = self.nonce  # OIDC Core §3.1.2.1: binds the ID token to this request
        return params

    def url(self, metadata: ProviderMetadata, extra: Mapping[str, str] | None = None) -> str:
        """The URL to open in the browser; ``extra`` adds parameters (e.g. ``login_hint``)."""
        params = self.params()
        if extra:
            params.update(extra)
        sep = "&" if urlsplit(metadata.authorization_endpoint).query else "?"
        return metadata.authorization_endpoint + sep + urlencode(params, quote_via=quote)


# -- the redirect back ------------------------------------------------------------------

_ADMIN_GRANT = "Enable the Authorization Code grant for it in Okta Admin Console > Applications > the app > General."
# RFC 6749 §4.1.2.1 error -> (what happened and what to check, the fix key, its fields); see advice.FIXES
_DENIAL_HINTS: dict[str, tuple[str, str | None, dict[str, str]]] = {
    "access_denied": ("Sign-in was cancelled or refused{desc}. If you did not cancel, ask an Okta admin to assign "
                      "you to the app.", "run_login_again", {}),
    "invalid_request": ("Okta rejected the sign-in request{desc}. Check the client id, scopes and redirect URI.",
                        "run_login_again", {}),
    "unauthorized_client": ("The app may not use the authorization code flow{desc}. " + _ADMIN_GRANT, None, {}),
    "unsupported_response_type": ("The app does not allow response_type=code{desc}. " + _ADMIN_GRANT, None, {}),
    "login_required": ("Okta needs you to sign in interactively{desc}.", "login_again_and",
                       {"then": "complete the sign-in page"}),
    "consent_required": ("Okta needs your consent for the requested scopes{desc}.", "login_again_and",
                         {"then": "approve them"}),
    "interaction_required": ("Okta needs you to complete a step in the browser{desc}.", "login_again_and",
                             {"then": "finish the sign-in page"}),
    "server_error": ("Okta had an internal error during sign-in{desc}. Wait a moment.", "run_login_again", {}),
    "temporarily_unavailable": ("Okta is temporarily unavailable{desc}. Wait a moment.", "run_login_again", {}),
}


def _invalid_scope_message(description: str | None, requested: Sequence[str]) -> str:
    """Which requested scopes the server refused, and where an admin grants them."""
    named = [s for s in requested if description and re.search(rf"(?<![\w.]){re.escape(s)}(?![\w.])", description)]
    suspects = named or [s for s in requested if s.startswith("okta.")] or list(requested)
    which = " ".join(suspects) if suspects else "requested"
    noun = "The scope" if len(suspects) == 1 else "The scopes"
    desc = f" ({one_line(description)})" if description else ""
    return (
        f"Okta refused the scopes (invalid_scope){desc}. {noun} {which} must be granted to the app in "
        "Okta Admin Console > Applications > the app > Okta API Scopes."
    )


def denial(error: str, description: str | None, requested_scopes: Sequence[str] = ()) -> AuthorizationDenied:
    """The structured error for an ``error=`` redirect (RFC 6749 §4.1.2.1), with its fix key."""
    if error == "invalid_scope":
        denied = AuthorizationDenied(_invalid_scope_message(description, requested_scopes), error=error,
                                     description=description)
        denied.with_fix("request_fewer_scopes")
        return denied
    desc = f" ({error}: {one_line(description)})" if description else f" ({error})"
    template, fix, args = _DENIAL_HINTS.get(error, ("Sign-in failed{desc}.", "run_login_again", {}))
    exc = AuthorizationDenied(template.format(desc=desc), error=error, description=description)
    if fix:
        exc.with_fix(fix, **args)
    return exc


def denial_message(error: str, description: str | None, requested_scopes: Sequence[str] = ()) -> str:
    """What happened, in one line, for an ``error=`` redirect (the fix is worded by ``advice.py``)."""
    return str(denial(error, description, requested_scopes))


def _query(url: str) -> dict[str, list[str]]:
    """The redirect's query parameters (from a full URL or just its ``?query``)."""
    parts = urlsplit(url.strip())
    query = parts.query or (url.strip()[1:] if url.strip().startswith("?") else "")
    return parse_qs(query, keep_blank_values=True)


def parse_callback(
    url: str,
    expected_state: str,
    issuer: str,
    iss_required: bool = False,
    *,
    requested_scopes: Sequence[str] = (),
) -> str:
    """Validate the redirect back from the authorization server and return the code.

    Checks, in order: ``state`` (constant time, RFC 6749 §10.12; first, so a forged
    redirect without our state is only ever a :class:`StateMismatch`), RFC 9207
    ``iss`` (must equal ``issuer`` when present, and be present when
    ``iss_required``), ``error`` (§4.1.2.1), then ``code``.

    Args:
        url: the full redirect URL (or just its ``?query``).
        expected_state: the state we sent.
        issuer: our issuer.
        iss_required: the provider advertises authorization_response_iss_parameter_supported.
        requested_scopes: named in the invalid_scope message.

    Raises:
        StateMismatch, AuthorizationDenied, LoginError.
    """
    values = _query(url)
    params = {k: v[0] for k, v in values.items()}
    repeated = sorted(k for k, v in values.items() if len(v) > 1 and k in ("state", "code", "iss", "error"))
    if repeated:
        # RFC 6749 §3.1: response parameters MUST NOT be included more than once (a doctored redirect)
        raise LoginError(f"The sign-in response carries {', '.join(repeated)} more than once; it was "
                         "ignored.").with_fix("run_login_again")
    if not params and urlsplit(url.strip()).fragment:
        raise LoginError("The redirect carries its result after '#' (implicit flow); this sign-in needs "
                         "response_type=code.").with_fix("run_login_again")
    if not pkce.states_equal(expected_state, params.get("state")):
        raise StateMismatch("The sign-in response does not belong to this sign-in (state mismatch). Use the "
                            "newest sign-in link.").with_fix("run_login_again")
    _check_iss(params.get("iss"), issuer, iss_required)
    if "error" in params:
        raise denial(params["error"] or "unknown_error", params.get("error_description") or None, requested_scopes)
    code = params.get("code")
    if not code:
        raise LoginError("The sign-in response has no authorization code.").with_fix("run_login_again")
    return Secret(code)  # a credential until redeemed (RFC 6749 §10.5): masked wherever it is shown


def _check_iss(iss: str | None, issuer: str, iss_required: bool) -> None:
    """RFC 9207 §2.4: the response's ``iss`` names our issuer (and is there when the provider promises it)."""
    if iss is not None and iss != normalize_issuer(issuer) and iss != issuer:
        # a different issuer means a mix-up; never send the code anywhere
        raise LoginError(f"The sign-in response came from issuer {iss}, not {normalize_issuer(issuer)}; it was "
                         "ignored.").with_fix("run_login_again")
    if iss is None and iss_required:
        raise LoginError("The sign-in response has no iss parameter although the provider promises one "
                         "(RFC 9207).").with_fix("run_login_again")
