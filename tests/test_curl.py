"""The curl text a token request is shown as, for teaching: secrets masked."""

from __future__ import annotations

from _oauth_fixtures import ISSUER, META, NOW, REQ, SECRET

from okta_magic.oauth.client_auth import ClientAuth
from okta_magic.oauth.curl import curl_command
from okta_magic.oauth.token_endpoint import token_request


def test_curl_command_masks_secrets_but_shows_the_verifier() -> None:
    auth = ClientAuth("0oaWEB", "client_secret_basic", client_secret=SECRET)
    url, body, headers = token_request(
        META,
        auth,
        {"grant_type": "authorization_code", "code": "code-value-123456", "code_verifier": REQ.code_verifier},
        now=NOW,
    )
    text = curl_command(url, body, headers)
    assert text.startswith(f"curl -X POST {ISSUER}/oauth2/v1/token")
    assert "'Authorization: Basic [masked]'" in text
    assert SECRET not in text and "code-value-123456" not in text and headers["Authorization"] not in text
    assert f"code_verifier={REQ.code_verifier}" in text
