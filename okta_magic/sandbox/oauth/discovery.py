"""Discovery: ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``.

OIDC Discovery 1.0 §4 and RFC 8414 §3 answer the same metadata; Okta also takes an
optional ``client_id`` that must name a client.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.oauth.grants import DEVICE_GRANT, OIDC_SCOPES
from okta_magic.sandbox.responses import error_body, json_response
from okta_magic.sandbox.state import OrgState

# OSPEC ResponseMode: the modes Okta accepts; the sandbox answers the first three.
OKTA_RESPONSE_MODES = ("query", "fragment", "form_post", "okta_post_message")
SANDBOX_RESPONSE_MODES = ("query", "fragment", "form_post")
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
# The claims Okta's org authorization server lists (OIDC Discovery §3 claims_supported).
CLAIMS = (
    "iss",
    "ver",
    "sub",
    "aud",
    "iat",
    "exp",
    "jti",
    "auth_time",
    "amr",
    "idp",
    "nonce",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "preferred_username",
    "locale",
    "zoneinfo",
    "updated_at",
    "at_hash",
)


def metadata(org: OrgState) -> dict[str, Any]:
    """The server's metadata (RFC 8414 §2, OIDC Discovery §3), with the endpoints and values the sandbox offers."""
    base = org.url
    scopes = sorted({s for app in org.apps.values() for s in app.scopes} | set(OIDC_SCOPES))
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/oauth2/v1/authorize",
        "token_endpoint": f"{base}/oauth2/v1/token",
        "userinfo_endpoint": f"{base}/oauth2/v1/userinfo",
        "registration_endpoint": f"{base}/oauth2/v1/clients",
        "jwks_uri": f"{base}/oauth2/v1/keys",
        "response_types_supported": ["code", "token", "id_token", "id_token token"],
        "response_modes_supported": list(SANDBOX_RESPONSE_MODES),
        "grant_types_supported": [
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials",
            DEVICE_GRANT,
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "claims_supported": list(CLAIMS),
        "code_challenge_methods_supported": ["S256"],
        "introspection_endpoint": f"{base}/oauth2/v1/introspect",
        "introspection_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "revocation_endpoint": f"{base}/oauth2/v1/revoke",
        "revocation_endpoint_auth_methods_supported": list(CLIENT_AUTH_METHODS),
        "end_session_endpoint": f"{base}/oauth2/v1/logout",
        "request_parameter_supported": False,
        "device_authorization_endpoint": f"{base}/oauth2/v1/device/authorize",
        "dpop_signing_alg_values_supported": ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"],
    }


async def discovery(org: OrgState, request: Request) -> Response:
    """OIDC Discovery; OSPEC: an optional ``client_id`` that must name a client (400 invalid_client otherwise)."""
    client_id = request.query_params.get("client_id")
    if client_id is not None and client_id not in org.clients:
        # OSPEC Error400InvalidClientId / ErrorInvalidClientId: Okta's error object, not RFC 6749's.
        return Response(
            error_body("invalid_client", "Invalid value for `client_id` parameter"),
            status_code=400,
            media_type="application/json",
        )
    return json_response(metadata(org))
