"""The sandbox's person-facing HTML: the sign-in page, the device activation page, error pages.

Plain server-rendered HTML, every value escaped; the only script is the
``form_post`` auto-submit. The sign-in form's ids and names are a documented
interface (tests and browser automation rely on them): ``form#okta-sign-in``
posting to ``/oauth2/v1/authorize/login`` with a hidden ``txn``, inputs
``username`` and ``password``, ``button#okta-signin-submit`` and a ``cancel``
button. Behind jupyter-server-proxy the pages are served under a path prefix
(``/user/alice/proxy/<port>``, the proxy's ``X-Forwarded-Context``): ``base`` puts the
forms' actions under it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape

from okta_magic.sandbox.data import DemoUser

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;background:#f4f5f7;margin:0;color:#1d1d21}
main{max-width:460px;margin:40px auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px #0002;padding:28px 32px}
h1{font-size:1.3em;margin:0 0 4px}.org{color:#6e6e78;font-size:.85em;margin-bottom:18px;word-break:break-all}
label{display:block;font-weight:600;margin:12px 0 4px}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;
padding:8px;border:1px solid #8c8c96;border-radius:4px;font-size:1em}
.buttons{display:flex;gap:8px;margin-top:18px}button{padding:9px 16px;border-radius:4px;border:1px solid #1662dd;
font-size:1em;cursor:pointer}#okta-signin-submit{background:#1662dd;color:#fff;flex:1}
button[name=cancel]{background:#fff;color:#1662dd}
.error{background:#fdecea;border:1px solid #e0a09c;color:#8c1d18;padding:8px 12px;border-radius:4px;margin:12px 0}
table{border-collapse:collapse;width:100%;font-size:.85em;margin-top:8px}
td,th{text-align:left;padding:4px 6px;border-bottom:1px solid #e5e5ea}
code{background:#f0f0f3;padding:1px 4px;border-radius:3px}
.scopes{font-size:.85em;color:#444}.note{font-size:.8em;color:#6e6e78}
"""


_BASE = re.compile(r"(/[A-Za-z0-9._~%!$&'()*+,;=:@-]+)*")


def base_path(forwarded_context: str | None) -> str:
    """The path prefix a proxy serves the org under (its ``X-Forwarded-Context``), "" when none or not a plain path."""
    value = (forwarded_context or "").strip().rstrip("/")
    return value if value and _BASE.fullmatch(value) else ""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style>'
        f"</head><body><main>{body}</main></body></html>"
    )


def _demo_table(users: Iterable[DemoUser]) -> str:
    rows = "".join(
        f"<tr><td><code>{escape(u.name)}</code></td><td><code>{escape(u.password)}</code></td>"
        f"<td>{escape(u.role or 'no admin role')}</td></tr>"
        for u in users
    )
    return (
        "<details open><summary>Demo people of this sandbox org</summary><table><tr><th>Username</th>"
        f"<th>Password</th><th>Admin role</th></tr>{rows}</table>"
        '<p class="note">The full logins (e.g. <code>admin@example.com</code>) work too.</p></details>'
    )


def sign_in_page(
    *,
    org_url: str,
    app_label: str,
    scopes: list[str],
    txn: str,
    users: Iterable[DemoUser],
    error: str | None = None,
    username: str = "",
    base: str = "",
) -> str:
    """The page a person sees at ``/oauth2/v1/authorize`` (``base``: the proxy's path prefix, see base_path)."""
    scope_items = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes)
    err = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    body = (
        "<h1>Sign in to the okta_magic sandbox org</h1>"
        f'<div class="org">{escape(org_url)}</div>'
        f'<p><strong>{escape(app_label)}</strong> asks for:</p><ul class="scopes">{scope_items}</ul>{err}'
        f'<form id="okta-sign-in" method="post" action="{escape(base)}/oauth2/v1/authorize/login">'
        f'<input type="hidden" name="txn" value="{escape(txn)}">'
        '<label for="okta-signin-username">Username</label>'
        f'<input type="text" id="okta-signin-username" name="username" value="{escape(username)}" '
        'autocomplete="username" autofocus>'
        '<label for="okta-signin-password">Password</label>'
        '<input type="password" id="okta-signin-password" name="password" autocomplete="current-password">'
        '<div class="buttons"><button type="submit" id="okta-signin-submit">Sign in</button>'
        '<button type="submit" name="cancel" value="1">Cancel</button></div></form>'
        f"{_demo_table(users)}"
    )
    return _page("Sign in - okta_magic sandbox", body)


def error_page(*, title: str, message: str, error_code: str = "400") -> str:
    """Okta's error page for requests that cannot be redirected back (bad client or redirect URI)."""
    body = (
        f'<h1 id="okta-error-title">{escape(title)}</h1>'
        f'<div class="error" id="okta-error-message">{escape(message)}</div>'
        f'<p class="note">Error code: <code id="okta-error-code">{escape(error_code)}</code></p>'
    )
    return _page(title, body)


def activate_page(
    *, org_url: str, user_code: str, users: Iterable[DemoUser], error: str | None = None, done: str | None = None,
    base: str = "",
) -> str:
    """The device activation page (RFC 8628 §3.3) where a person enters the user code and signs in."""
    if done:
        return _page(
            "Device activated",
            f'<h1 id="okta-activate-result">{escape(done)}</h1>'
            "<p>You can close this window and go back to your device.</p>",
        )
    err = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
    body = (
        "<h1>Activate your device</h1>"
        f'<div class="org">{escape(org_url)}</div>{err}'
        f'<form id="okta-activate" method="post" action="{escape(base)}/activate">'
        '<label for="user_code">Activation code</label>'
        f'<input type="text" id="user_code" name="user_code" value="{escape(user_code)}">'
        '<label for="okta-signin-username">Username</label>'
        '<input type="text" id="okta-signin-username" name="username">'
        '<label for="okta-signin-password">Password</label>'
        '<input type="password" id="okta-signin-password" name="password">'
        '<div class="buttons"><button type="submit" id="okta-signin-submit">Sign in</button>'
        '<button type="submit" name="cancel" value="1">Cancel</button></div></form>'
        f"{_demo_table(users)}"
    )
    return _page("Activate - okta_magic sandbox", body)


def message_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def form_post_page(action: str, params: dict[str, str]) -> str:
    """OAuth 2.0 Form Post Response Mode: a form that carries the response to the redirect URI.

    The page's script submits it at once, as the specification's example does;
    without scripts a person presses Continue.
    """
    fields = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">' for name, value in params.items()
    )
    return _page(
        "Submit this form",
        f'<form method="post" action="{escape(action)}">{fields}'
        '<noscript><p>Press Continue to go back to the app.</p><button type="submit">Continue</button></noscript>'
        "</form><script>document.forms[0].submit()</script>",
    )
