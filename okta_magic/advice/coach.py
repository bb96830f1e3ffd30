"""The scope coach: what a token holds, what each request needs, and why a call was refused.

Pure functions over the scope catalogue (``scopes.py``), tokens and API errors,
returning text; the magics display it. Okta's rules taught here:
``okta.X.manage`` covers ``okta.X.read``; only the Org Authorization Server
mints ``okta.*`` scopes; a scope must be granted to the app *and* requested;
and a granted scope still fails when the user's admin role lacks the
permission (silent downscoping, Okta "Implement OAuth for Okta").
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import shlex
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from okta_magic.errors import ConfigError, InsufficientScope, OktaApiError, RequestError
from okta_magic.scopes import Catalogue, Operation, catalogue, is_own_user, missing_scopes, scope_covers

if TYPE_CHECKING:
    from okta_magic.tokens import Token

OIDC_SCOPE_MEANING = {
    "openid": "an ID token: who signed in (OpenID Connect)",
    "profile": "the user's name and profile claims in the ID token / userinfo",
    "email": "the user's email claims",
    "offline_access": "a refresh token, so the one-hour access token is renewed without a prompt",
}


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "unknown"
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_token(token: Token, now: float) -> str:
    """One line for a status bar: who, scopes, time left (never the token)."""
    claims = token.claims() or {}
    if token.token_type == "SSWS":
        return "Using an SSWS API token (acts with its creator's admin role; Okta recommends OAuth instead)"
    who = token.subject or claims.get("uid") or "unknown subject"
    scopes = " ".join(token.scopes_granted) or "(scopes unknown)"
    if token.expires_at is None:
        left = "expiry unknown"
    elif token.is_expired(now):
        left = "EXPIRED: sign in again with %okta_login"
    else:
        left = f"{int((token.expires_in(now) or 0) // 60)} min left"
    bound = " · DPoP-bound" if token.token_type == "DPoP" else ""
    return f"Signed in as {who} · scopes: {scopes} · {left}{bound}"


def token_report(token: Token, now: float) -> str:
    """The safe summary ``%okta_token`` prints: issuer, client, subject, scopes, times, claims."""
    claims = token.claims() or {}
    lines = [
        f"Token type : {token.token_type} (the token itself stays in kernel memory and is never shown)",
        f"Issuer     : {token.issuer or claims.get('iss') or 'unknown'}",
        f"Client     : {token.client_id or claims.get('cid') or 'unknown'}",
        f"Subject    : {token.subject or claims.get('uid') or 'unknown'}",
        f"Issued     : {_when(token.issued_at)}",
        f"Expires    : {_when(token.expires_at)}"
        + ("" if token.expires_at is None else
           f" ({'expired' if token.is_expired(now) else f'{int((token.expires_in(now) or 0) // 60)} min left'})"),
        f"Refreshable: {'yes (offline_access)' if token.refresh_token else 'no'}",
    ]
    if token.dpop_key is not None:
        lines.append(f"Bound to   : DPoP key {token.dpop_key.thumbprint()} (RFC 9449; the key never leaves this "
                     "kernel, every request carries a proof signed with it)")
    lines += ["", *compare_scopes(token.scopes_requested, token.scopes_granted)]
    if claims:
        lines += ["", "Claims (decoded without the signature; Okta says org tokens are opaque to clients):"]
        width = max(len(k) for k in claims)
        for key, value in claims.items():
            if key in ("iat", "exp", "auth_time") and isinstance(value, (int, float)):
                value = f"{value} ({_when(float(value))})"
            lines.append(f"  {key.ljust(width)} : {value}")
    return "\n".join(lines)


def compare_scopes(requested: Sequence[str], granted: Sequence[str]) -> list[str]:
    """Explain every difference between the scopes asked for and the scopes the token holds."""
    requested, granted = list(requested), list(granted)
    lines = [f"Scopes requested: {' '.join(requested) or '(none recorded)'}",
             f"Scopes granted  : {' '.join(granted) or '(none)'}"]
    if not requested:
        return lines
    for scope in requested:
        if scope in granted:
            continue
        if any(scope_covers(g, scope) for g in granted):
            lines.append(f"  {scope}: not in the token, but a granted .manage scope covers it.")
        elif scope in OIDC_SCOPE_MEANING and scope != "offline_access":
            lines.append(f"  {scope}: an OpenID Connect scope; Okta leaves it out of the access token's scp "
                         "when it only shapes the ID token.")
        elif scope == "offline_access":
            lines.append("  offline_access: not granted, so there is no refresh token; enable the Refresh "
                         "Token grant type for the app.")
        else:
            lines.append(f"  {scope}: requested but NOT granted. In the Admin Console open the app > Okta API "
                         f"Scopes and Grant {scope} (a super admin can), then sign in again.")
    for scope in granted:
        if scope not in requested:
            lines.append(f"  {scope}: granted although not requested (the server added it).")
    if len(lines) == 2:
        lines.append("  Every requested scope was granted.")
    return lines


def scope_differences(requested: Sequence[str], granted: Sequence[str]) -> list[str]:
    """Only the explanations of compare_scopes (empty when every requested scope was granted)."""
    lines = [line.strip() for line in compare_scopes(requested, granted)[2:]]
    return [line for line in lines if line != "Every requested scope was granted."]


def scopes_overview(held: Sequence[str], cat: Catalogue | None = None) -> str:
    """The scopes a token holds and what each unlocks, grouped by API area."""
    cat = cat or catalogue()
    if not held:
        return "The token holds no scopes. Sign in with %okta_login --scopes 'okta.users.read …'."
    lines = [f"Scopes held ({len(held)}), from the Management API catalogue (Okta spec {cat.version}):"]
    for scope in held:
        if scope in OIDC_SCOPE_MEANING:
            lines.append(f"\n{scope}: {OIDC_SCOPE_MEANING[scope]}")
            continue
        ops = cat.operations_for_scope(scope)
        if not ops:
            lines.append(f"\n{scope}: unlocks no Management API operation in the catalogue.")
            continue
        lines.append(f"\n{scope}: {cat.scope_descriptions.get(scope, '')} ({len(ops)} operations)")
        by_tag: dict[str, list[str]] = defaultdict(list)
        for op in ops:
            by_tag[op.tag].append(f"{op.method} {op.path}")
        for tag, names in sorted(by_tag.items()):
            shown = ", ".join(names[:4]) + (f", … (+{len(names) - 4})" if len(names) > 4 else "")
            lines.append(f"  {tag}: {shown}")
    return "\n".join(lines)


def scope_check(method: str, path: str, held: Sequence[str] | None, cat: Catalogue | None = None) -> str:
    """Which scope a request needs and whether the held scopes cover it."""
    cat = cat or catalogue()
    op = cat.resolve(method, path)
    if op is None:
        return (f"{method.upper()} {path} is not in the catalogue (Okta spec {cat.version}); "
                "it may be newer or not a Management API path.")
    if not op.scopes:
        return f"{op} ({op.operation_id}) takes no OAuth scope: it is public or needs an SSWS API token."
    need = " and ".join(op.scopes)
    line = f"{op} ({op.operation_id}: {op.summary}) needs {need}."
    if held is None:
        return line + " Not signed in, so there is no token to check."
    missing = missing_scopes(held, op.scopes, path=path)
    if not missing:
        covered = [h for h in held for s in op.scopes if scope_covers(h, s, own_user=is_own_user(path))]
        return line + f" The token has it ({', '.join(dict.fromkeys(covered))})."
    return line + f" The token lacks {', '.join(missing)}: {login_line(list(held) + missing)}"


_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_SCOPE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.:-]*")


def request_parts(text: str) -> tuple[str, str]:
    """``"GET /api/v1/users"`` -> ``("GET", "/api/v1/users")``; a bare path means GET.

    Raises:
        RequestError: the text is empty, a method alone, or has no path.
    """
    parts = text.split(None, 1)
    if not parts:
        raise RequestError('An empty request: write a method and a path, e.g. "GET /api/v1/users".')
    if len(parts) == 1 and parts[0].upper() in _METHODS:
        raise RequestError(f"Give the path too, e.g. %okta_scopes {parts[0].upper()} /api/v1/users")
    method, path = (parts[0], parts[1].strip()) if len(parts) == 2 else ("GET", parts[0])
    if not path.startswith(("/", "http://", "https://")):
        raise RequestError(f"{text.strip()[:60]!r} is neither a request (e.g. GET /api/v1/users) nor a scope "
                           "(e.g. okta.users.read)")
    return method.upper(), path


def is_scope_name(word: str) -> bool:
    """True for a word written like a scope (``okta.users.read``, ``openid``), not a method or a path."""
    return word in OIDC_SCOPE_MEANING or ("." in word and bool(_SCOPE_NAME.fullmatch(word)))


def minimal_scopes_line(requests: Iterable[str], cat: Catalogue | None = None) -> str:
    """The smallest scope set for requests like "GET /api/v1/users", as a ready %okta_login line."""
    cat = cat or catalogue()
    pairs: list[tuple[str, str]] = []
    unknown: list[tuple[str, str]] = []
    for text in requests:
        method, path = request_parts(text)
        (pairs if cat.resolve(method, path) else unknown).append((method, path))
    scopes = cat.minimal_scopes(pairs)
    lines = []
    for method, path in pairs:
        lines.append(f"  {method} {path}: {' and '.join(cat.scopes_for(method, path)) or 'no scope'}")
    for method, path in unknown:
        lines.append(f"  {method} {path}: not in the catalogue")
    lines.append(f"Ask for: {' '.join(scopes) or '(nothing)'}")
    lines.append(login_line(scopes))
    return "\n".join(lines)


def _resource(path: str) -> str:
    """The resource an operation belongs to: its path up to the first placeholder (``/api/v1/users``)."""
    if path.startswith("/api/v1/users/me"):
        return "/api/v1/users/me"
    return path.split("/{", 1)[0] or "/"


def _holding(scope: str, held: Sequence[str] | None) -> str:
    """Whether the token holds ``scope`` (or a scope covering it), as a sentence."""
    if held is None:
        return "Not signed in, so there is no token to check."
    if scope in held:
        return f"The token holds {scope}."
    full = scope[: -len(".self")] if scope.endswith(".self") else scope  # a full scope covers its .self
    covering = [h for h in held if scope_covers(h, full)]
    if covering:
        return f"The token holds it through {covering[0]}."
    return f"The token does not hold it; to ask for it: {login_line([*held, scope])}"


def describe_scope(scope: str, held: Sequence[str] | None, cat: Catalogue | None = None) -> str:
    """What a scope unlocks (every operation, grouped by resource path) and whether the token holds it.

    Raises:
        ConfigError: the name is no scope of the catalogue (the message suggests the nearest).
    """
    cat = cat or catalogue()
    if scope in OIDC_SCOPE_MEANING:
        meaning = OIDC_SCOPE_MEANING[scope]
        return f"{scope}: {meaning}; it unlocks no Management API operation.\n{_holding(scope, held)}"
    base = scope[: -len(".self")] if scope.endswith(".self") else scope
    if base not in cat.scope_descriptions:
        near = difflib.get_close_matches(base, [*cat.scope_descriptions, *OIDC_SCOPE_MEANING], n=1)
        hint = f"; did you mean {near[0]}?" if near else "; %okta_scopes lists the scopes the token holds."
        raise ConfigError(f"{scope[:80]!r} is not a scope of the catalogue (Okta spec {cat.version}){hint}")
    own = scope != base  # a .self scope: the same operations, about the signed-in user only
    lines = [f"{scope}: " + (f"{base} limited to the signed-in user (requests under /api/v1/users/me)."
                             if own else cat.scope_descriptions[base].rstrip(".") + "."),
             _holding(scope, held)]
    alone: list[tuple[Operation, tuple[str, ...]]] = []
    shared: list[tuple[Operation, tuple[str, ...]]] = []
    for op in cat.operations:
        if own and not op.path.startswith("/api/v1/users/{"):
            continue
        if any(scope_covers(base, needed) for needed in op.scopes):
            others = tuple(n for n in op.scopes if not scope_covers(base, n))
            (shared if others else alone).append((op, others))
    for title, ops in (("It unlocks", alone), ("With another scope as well, it unlocks", shared)):
        if not ops:
            continue
        lines += ["", f"{title} {len(ops)} operation{'s' if len(ops) > 1 else ''}, by resource:"]
        by_resource: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for op, others in ops:
            path = re.sub(r"^/api/v1/users/\{[^}]+\}", "/api/v1/users/me", op.path) if own else op.path
            also = f" (also needs {' and '.join(others)})" if others else ""
            by_resource[_resource(path)].append((op.method, path, op.summary + also))
        for resource, entries in sorted(by_resource.items()):
            lines.append(f"  {resource}")
            entries.sort(key=lambda e: (e[1], _METHODS.index(e[0]) if e[0] in _METHODS else len(_METHODS)))
            width = min(max(len(f"{m} {p}") for m, p, _ in entries), 72)
            lines.extend(f"    {f'{m} {p}'.ljust(width)}  {summary}" for m, p, summary in entries)
    if not alone and not shared:
        lines.append("It unlocks no operation of the catalogue.")
    return "\n".join(lines)


def login_line(scopes: Sequence[str]) -> str:
    """The exact %okta_login command that asks for ``scopes`` (plus openid)."""
    wanted = list(dict.fromkeys(["openid", *scopes]))
    return f"%okta_login --scopes {shlex.quote(' '.join(wanted))}"


def request_warning(method: str, path: str, held: Sequence[str] | None, cat: Catalogue | None = None) -> str | None:
    """A warning (not a block) when the token lacks the scope a request needs."""
    if not held:
        return None
    needed = (cat or catalogue()).scopes_for(method, path)
    missing = missing_scopes(held, needed, path=path)
    if not missing:
        return None
    return (f"Warning: {method.upper()} {path.split('?')[0]} needs {', '.join(missing)}, which this token lacks; "
            f"sending anyway (the catalogue may be older than your org).")


def explain_api_error(exc: OktaApiError, held: Sequence[str]) -> str:
    """The message for a failed request, with the fix a person can paste (the error's own fix in notebook words)."""
    from okta_magic.advice import NOTEBOOK, render

    base = render(exc, NOTEBOOK)
    if isinstance(exc, InsufficientScope):
        scopes = [s for s in held if s] + [s for s in exc.needed if s not in held]
        return f"{base} Fix: {login_line(scopes)}"
    return base  # PermissionDenied (E0000006) already says it is the admin role, not the scope


class FlowExplainer:
    """The ``%okta_login --explain`` view: each step of the sign-in, numbered, as it happens.

    Receives the flow's teaching steps (``LoginFlow(on_step=...)``), whose
    details already have secrets masked, and hands the whole text to ``render``
    after each step so a single output area grows in place (or, with
    ``incremental``, only the new step, for outputs that cannot be replaced).
    """

    def __init__(self, render: Callable[[str], object], *, incremental: bool = False) -> None:
        self._render = render
        self._incremental = incremental
        self._blocks: list[str] = []

    def on_step(self, step: Any) -> None:
        lines = [f"{len(self._blocks) + 1}. {step.title}"]
        details = dict(step.details)
        width = max((len(k) for k in details), default=0)
        for key, value in details.items():
            text = str(value)
            if "\n" in text:
                lines.append(f"   {key}:")
                lines.extend(f"      {part}" for part in text.splitlines())
            else:
                lines.append(f"   {key.ljust(width)} : {text}")
        self._blocks.append("\n".join(lines))
        self._render(self._blocks[-1] + "\n" if self._incremental else "\n\n".join(self._blocks))

    @property
    def text(self) -> str:
        return "\n\n".join(self._blocks)
