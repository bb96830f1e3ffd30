"""The answer to a Management API operation that Okta has and the sandbox org does not model.

A learner who sends ``GET /api/v1/users/{id}/factors/catalog`` to the sandbox must not read
``404 E0000007 Not found``, which says their id or path is wrong: the path is right, the sandbox simply
does not serve it. Such a request is answered ``501 Not Implemented`` with Okta's error object naming the
operation (its operationId and the OAuth scope Okta's spec gives it) and saying so. Which paths Okta has comes
from the scope catalogue packaged with okta_magic (``okta_magic/data/operations.json``, generated from
Okta's Management API spec by ``scripts/build_scope_catalogue.py``), so nothing outside the package is read
at run time; a path in no spec keeps the real ``404 E0000007``.
"""

from __future__ import annotations

import re

from starlette.responses import Response

from okta_magic.sandbox.responses import okta_error
from okta_magic.scopes import Operation, catalogue

NOT_MODELLED = "SANDBOX_NOT_MODELLED"  # not an Okta code: it can only come from the sandbox
NOT_MODELLED_STATUS = 501  # RFC 9110 §15.6.2: the server does not support the functionality required


def operation(method: str, path: str) -> Operation | None:
    """Okta's operation for a request, or None when Okta's Management API spec has no such path."""
    return catalogue().resolve(method, path)


def shape(template: str) -> str:
    """A path template with its parameter names dropped (``/users/{}/factors``), to compare templates."""
    return re.sub(r"\{[^}/]+\}", "{}", template.removeprefix("/api/v1"))


def answer(op: Operation) -> Response:
    """501 with Okta's error object: which operation this is, its scope, and that the sandbox lacks it."""
    scope = " and ".join(op.scopes) if op.scopes else "no OAuth scope (an SSWS API token only)"
    summary = (f"Not modelled by the sandbox org: {op.method} {op.path} is Okta's {op.operation_id} "
               f"(scope {scope}). The path is right; the sandbox does not serve this operation "
               "(docs/sandbox.md lists the ones it does). A real Okta org answers it.")
    return okta_error(NOT_MODELLED_STATUS, NOT_MODELLED, summary,
                      (f"operationId: {op.operation_id}", f"scope: {scope}", f"tag: {op.tag}"))
