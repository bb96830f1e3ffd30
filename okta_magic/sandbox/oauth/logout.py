"""``/oauth2/v1/logout`` (OIDC RP-Initiated Logout §2-3): sign out, then back to a registered app if asked."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from okta_magic.sandbox import pages
from okta_magic.sandbox.oauth.authorize import with_params
from okta_magic.sandbox.oauth.clients import query_params
from okta_magic.sandbox.state import OrgState


async def logout(org: OrgState, request: Request) -> Response:
    """A redirect to ``post_logout_redirect_uri`` (with ``state``) when it belongs to a demo app, else a page."""
    params, _ = query_params(request)
    target = params.get("post_logout_redirect_uri")
    if target and any(
        target.split("?")[0].startswith(u.rsplit("/", 1)[0]) for a in org.apps.values() for u in a.redirect_uris
    ):
        return RedirectResponse(with_params(target, {"state": params.get("state")}, False), status_code=302)
    return HTMLResponse(pages.message_page("Signed out", "You are signed out of the sandbox org."))
