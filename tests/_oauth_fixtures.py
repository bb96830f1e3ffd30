"""What the protocol tests share: an issuer, a client's keys, a recording MockTransport, token and
discovery bodies, ID tokens signed with the test key, and a traceback printer that shows locals."""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from okta_magic.oauth.authorize import AuthorizationRequest
from okta_magic.oauth.discovery import ProviderMetadata
from okta_magic.tokens import Token

ISSUER = "https://example.okta.com"
META = ProviderMetadata.okta_org_defaults(ISSUER)
NOW = 1_750_000_000.0
SECRET = "s3cr3t/with+special&chars=yes"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
REDIRECT = "http://127.0.0.1:8765/callback"
REQ = AuthorizationRequest.new("0oaNATIVE", REDIRECT, ["openid", "okta.users.read"])


class Recorder:
    """A MockTransport handler that records requests and answers from a queue or a function."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answer(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))

    def form(self, i: int = -1) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.requests[i].content.decode(), keep_blank_values=True).items()}


def token_body(**extra: object) -> dict[str, object]:
    body: dict[str, object] = {
        "token_type": "Bearer",
        "expires_in": 3600,
        "access_token": "at-" + "x" * 40,
        "scope": "openid okta.users.read",
    }
    body.update(extra)
    return body


def ok_token(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json=token_body())


def discovery_doc(issuer: str = ISSUER, **extra: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/v1/authorize",
        "token_endpoint": f"{issuer}/oauth2/v1/token",
        "revocation_endpoint": f"{issuer}/oauth2/v1/revoke",
        "jwks_uri": f"{issuer}/oauth2/v1/keys",
        "device_authorization_endpoint": f"{issuer}/oauth2/v1/device/authorize",
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        "code_challenge_methods_supported": ["S256"],
    }
    doc.update(extra)
    return doc


def held_token() -> Token:
    return Token.from_token_response(
        token_body(refresh_token="rt-" + "r" * 40),
        issuer=ISSUER,
        client_id="c",
        scopes_requested=["openid", "offline_access"],
        now=NOW,
    )


def id_token(**claims: object) -> str:
    base: dict[str, object] = {
        "iss": ISSUER,
        "aud": "0oaNATIVE",
        "sub": "00u1",
        "exp": int(NOW) + 3600,
        "iat": int(NOW),
        "nonce": "N",
    }
    base.update(claims)
    return jwt.encode(base, KEY, algorithm="RS256", headers={"kid": "k1"})


def jwks() -> dict[str, object]:
    key = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    key.update(kid="k1", use="sig", alg="RS256")
    return {"keys": [key]}


def id_claims(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {"iss": ISSUER, "aud": "0oaNATIVE", "sub": "00u1", "exp": int(NOW) + 60, "iat": int(NOW),
                               "nonce": "N"}
    base.update(extra)
    return base


def with_locals(exc: BaseException | None, test_file: str) -> str:
    """The traceback as pytest --showlocals or IPython's Verbose mode shows it, every frame's locals (and those
    of the exceptions it was raised from), leaving out the frames of ``test_file`` and of this module (the test
    holds the secrets)."""
    import traceback

    shown = []
    while exc is not None:
        frames = [(f, n) for f, n in traceback.walk_tb(exc.__traceback__)
                  if f.f_code.co_filename not in (test_file, __file__)]
        shown += traceback.StackSummary.extract(iter(frames), capture_locals=True).format()
        shown.append(f"{type(exc).__name__}: {exc}\n")
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
    return "".join(shown)
