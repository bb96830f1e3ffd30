"""The ``WWW-Authenticate`` header read as RFC 9110 §11.6.1 writes it: several challenges, each with params.

    parse_www_authenticate('Bearer realm="x", error="insufficient_scope", scope="okta.users.read"')
    # {"": "Bearer", "realm": "x", "error": "insufficient_scope", "scope": "okta.users.read"}
"""

from __future__ import annotations

import re

__all__ = ["parse_challenges", "parse_www_authenticate"]

# RFC 9110 §11.6.1: challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ];
# auth-param = token BWS "=" BWS ( token / quoted-string ); several challenges are comma-separated.
_TCHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
_SCHEME = re.compile(rf"[\s,]*({_TCHAR}+)")
_AUTH_PARAM = re.compile(rf'[\s,]*({_TCHAR}+)[ \t]*=[ \t]*("(?:[^"\\]|\\.)*"|{_TCHAR}+)[ \t]*(?=,|$)')
_TOKEN68 = re.compile(r"[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*(?=,|$)")
_QUOTED_PAIR = re.compile(r"\\(.)")


def parse_challenges(value: str | None) -> list[tuple[str, dict[str, str]]]:
    """Every challenge of ``WWW-Authenticate`` lines (joined or not): (scheme, params with lower-case names).

    Quoted strings may hold commas, ``=`` and escaped quotes (RFC 9110 §5.6.4); a token68
    is kept under ``"token68"``.
    """
    challenges: list[tuple[str, dict[str, str]]] = []
    if not value:
        return challenges
    pos, end = 0, len(value)
    while pos < end:
        scheme = _SCHEME.match(value, pos)
        if scheme is None:
            pos += 1  # not a token: skip it
            continue
        if _AUTH_PARAM.match(value, scheme.start()):  # params with no scheme before them
            name, pos = "", scheme.start()
        else:
            name, pos = scheme.group(1), scheme.end()
        params: dict[str, str] = {}
        token68 = _TOKEN68.match(value, pos)
        if token68 is not None:
            params["token68"], pos = token68.group(1), token68.end()
        while (param := _AUTH_PARAM.match(value, pos)) is not None:
            raw = param.group(2)
            if raw.startswith('"'):
                raw = _QUOTED_PAIR.sub(r"\1", raw[1:-1])
            params.setdefault(param.group(1).lower(), raw)
            pos = param.end()
        challenges.append((name, params))
    return challenges


def parse_www_authenticate(value: str | None) -> dict[str, str]:
    """The auth-params of the challenge that matters in ``WWW-Authenticate`` (RFC 9110 §11.6.1, RFC 6750 §3).

    That is the first challenge carrying an ``error``, else the first Bearer one, else the first.
    The scheme is returned under the key ``""``.
    """
    challenges = parse_challenges(value)
    if not challenges:
        return {}
    chosen = next((c for c in challenges if "error" in c[1]), None) or next(
        (c for c in challenges if c[0].lower() == "bearer"), challenges[0])
    return {"": chosen[0], **chosen[1]}
