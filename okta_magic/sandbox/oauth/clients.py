"""Who is calling a client endpoint: form parsing and client authentication (RFC 6749 §2.3, RFC 7523 §2.2).

Public clients send only their ``client_id``; the ``web`` app a secret by HTTP Basic
or in the form; API service apps a ``private_key_jwt`` assertion. Failures are 401
``invalid_client``, with a ``WWW-Authenticate: Basic`` challenge when the client used
HTTP Basic (RFC 6749 §5.2).
"""

from __future__ import annotations

import base64
import binascii
import hmac
from urllib.parse import parse_qs, unquote

import jwt
from starlette.requests import Request
from starlette.responses import Response

from okta_magic.sandbox.data import DemoApp
from okta_magic.sandbox.responses import oauth_error
from okta_magic.sandbox.state import OrgState

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"  # RFC 7523 §2.2
# OSPEC OAuthError400InvalidRequest_MultipleClientCreds
MULTIPLE_CREDENTIALS = (
    "Can't supply multiple client credentials. Use one of the following: credentials in the Authorization header, "
    "credentials in the post body, or a `client_assertion` in the post body."
)


def single_params(pairs: dict[str, list[str]]) -> tuple[dict[str, str], str | None]:
    """Parameters as single values; RFC 6749 §3.1: a parameter must not be sent more than once."""
    duplicate = next((name for name, values in pairs.items() if len(values) > 1), None)
    return {name: values[0] for name, values in pairs.items()}, duplicate


def query_params(request: Request) -> tuple[dict[str, str], str | None]:
    """The query's parameters as single values, and the first one sent twice (if any)."""
    return single_params(parse_qs(request.url.query, keep_blank_values=True))


async def body_params(request: Request) -> tuple[dict[str, str], str | None]:
    """A form body's parameters as single values, and the first one sent twice (if any)."""
    return single_params(parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))


async def read_form(request: Request) -> tuple[dict[str, str], Response | None]:
    """A client's form POST (RFC 6749 §3.2: ``application/x-www-form-urlencoded``), or its error answer."""
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        return {}, oauth_error("invalid_request", "The request body must be application/x-www-form-urlencoded.")
    form, duplicate = await body_params(request)
    if duplicate:
        return {}, oauth_error("invalid_request", f"The '{duplicate}' parameter was sent more than once.")
    return form, None


def client_refused(org: OrgState, description: str, *, basic: bool) -> Response:
    """401 invalid_client; RFC 6749 §5.2: a client that used HTTP Basic gets a matching WWW-Authenticate."""
    headers = {"WWW-Authenticate": f'Basic realm="{org.url}"'} if basic else None
    return oauth_error("invalid_client", description, 401, headers)


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    """The client id and secret of an HTTP Basic header (RFC 6749 §2.3.1), or None without one.

    Raises ValueError when the header is not base64 of UTF-8 text.
    """
    header = request.headers.get("authorization", "")
    if header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("malformed Basic credentials") from exc
    raw_id, _, raw_secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return unquote(raw_id.replace("+", " ")), unquote(raw_secret.replace("+", " "))


def _claimed_client_id(form: dict[str, str], basic_id: str | None, assertion: str | None) -> str | None:
    """The client id a request claims: from Basic, the form, or (RFC 7523 §3) the assertion's ``iss``."""
    client_id = basic_id if basic_id is not None else form.get("client_id")
    if client_id is None and assertion:
        try:
            client_id = str(jwt.decode(assertion, options={"verify_signature": False}).get("iss"))
        except jwt.PyJWTError:
            client_id = None
    return client_id


def authenticate_client(org: OrgState, request: Request, form: dict[str, str]) -> DemoApp | Response:
    """RFC 6749 §2.3 / RFC 7523 §2.2: the calling client, or a 401 invalid_client answer."""
    try:
        credentials = _basic_credentials(request)
    except ValueError:
        return client_refused(org, "The client credentials are malformed.", basic=True)
    basic = credentials is not None
    basic_id, basic_secret = credentials if credentials is not None else (None, None)

    def refused(description: str) -> Response:
        """401 invalid_client, challenged with Basic if the client used it."""
        return client_refused(org, description, basic=basic)

    assertion = form.get("client_assertion")
    if sum((basic, bool(form.get("client_secret")), bool(assertion))) > 1:
        return oauth_error("invalid_request", MULTIPLE_CREDENTIALS)
    if assertion and form.get("client_assertion_type") != ASSERTION_TYPE:
        # OSPEC OAuthError400InvalidRequest_AssertionTypeInvalid
        return oauth_error("invalid_request", "The `client_assertion_type` is invalid.")
    client_id = _claimed_client_id(form, basic_id, assertion)
    if not client_id:
        # OSPEC OAuthError401InvalidClient_NoCreds
        return refused("No client credentials found.")
    app = org.clients.get(client_id)
    if app is None:
        return refused("Invalid value for 'client_id' parameter.")
    method = app.token_endpoint_auth_method
    if method == "none":
        if basic_secret or form.get("client_secret") or assertion:
            return refused("Client authentication failed: this public client must not send client credentials.")
        return app
    if method in ("client_secret_basic", "client_secret_post"):
        secret = basic_secret if basic else form.get("client_secret")
        if not secret:
            return refused("Client authentication failed. Either the client or the client credentials are invalid.")
        if not hmac.compare_digest(secret.encode(), (app.client_secret or "").encode()):
            return refused("The client secret supplied for a confidential client is invalid.")
        return app
    # private_key_jwt: the only method for API service apps with Okta scopes.
    if not assertion:
        return refused(
            "Client authentication failed: this client must use "
            "private_key_jwt (client_assertion and client_assertion_type)."
        )
    path = request.url.path
    reason = org.authority.verify_client_assertion(
        assertion,
        client_id=app.client_id,
        public_key_pem=app.public_key_pem or "",
        audience=f"{org.url}/oauth2/v1/token" if path.endswith("/token") else f"{org.url}{path}",
    )
    if reason is not None:
        return oauth_error("invalid_client", reason, 401)
    return app


async def client_form(org: OrgState, request: Request) -> tuple[dict[str, str], DemoApp] | Response:
    """The form of a client's POST and the client it authenticates as, or the error answer."""
    form, problem = await read_form(request)
    if problem:
        return problem
    client = authenticate_client(org, request, form)
    if isinstance(client, Response):
        return client
    return form, client
