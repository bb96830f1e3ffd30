"""The ``curl`` command a token request is equivalent to, for teaching (the scope coach, ``--explain``).

Owns: writing an HTTP form POST (RFC 6749 §3.2 token requests) as one shell-quoted ``curl``
line with every credential masked, so that a person can see, and repeat by hand, what the
sign-in sent. Front-end neutral: no notebook syntax.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from okta_magic.held import mask_secret
from okta_magic.oauth.token_endpoint import MASKED_FIELDS

__all__ = ["curl_command"]


def curl_command(url: str, data: Mapping[str, str], headers: Mapping[str, str]) -> str:
    """An equivalent ``curl`` command with secrets masked (the code verifier is shown)."""
    parts = ["curl", "-X", "POST", shlex.quote(url)]
    for name, value in headers.items():
        # RFC 7617: Basic credentials are the client secret in base64, so only the scheme is shown
        shown = f"{value.split(' ', 1)[0]} [masked]" if name.lower() == "authorization" else value
        parts += ["-H", shlex.quote(f"{name}: {shown}")]
    for name, value in data.items():
        shown = mask_secret(value) if name in MASKED_FIELDS else value
        parts += ["--data-urlencode", shlex.quote(f"{name}={shown}")]
    return " ".join(parts)
