"""Shared pieces for the sign-in tests: a browser stand-in (free ports come from conftest.py's ``free_port``).

Imported explicitly (``from _login_fixtures import Browser``); not a conftest plugin.
The stand-in does what a person's browser does during a sign-in: it follows the
authorize URL's redirects, fills in and submits the HTML forms it is shown (login,
consent), and finally requests the redirect URI, which is the loopback listener.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type", "text") in ("submit", "button"):
                self.forms[-1].buttons[a["name"]] = a.get("value", "")
            else:
                self.forms[-1].fields[a["name"]] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1].buttons[a["name"]] = a.get("value", "")


@dataclass
class Outcome:
    """Where the stand-in ended: the redirect to the app (and what the listener answered), or a page."""

    redirect_url: str | None
    delivered: httpx.Response | None
    last_page: httpx.Response | None
    visited: list[str]


class Browser:
    """Follows a sign-in in the way a browser would, with a cookie jar.

    Args:
        username, password: typed into ``username``/``login`` and ``password`` fields.
        press: the name of a form button to press (e.g. ``cancel``), else the default submit.
    """

    def __init__(self, username: str = "admin", password: str = "", *, press: str | None = None) -> None:
        self.username = username
        self.password = password
        self.press = press
        self.http = httpx.Client(follow_redirects=False, timeout=30)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def sign_in(self, authorize_url: str, redirect_uri: str, *, deliver: bool = True, max_steps: int = 20) -> Outcome:
        """Start at ``authorize_url``; stop at the first redirect to ``redirect_uri``.

        With ``deliver`` the redirect is requested (the listener receives it), else only returned
        (for paste-back).
        """
        visited = [authorize_url]
        response = self.http.get(authorize_url)
        for _ in range(max_steps):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    delivered = self.http.get(location) if deliver else None
                    return Outcome(location, delivered, None, visited)
                visited.append(location)
                response = self.http.get(location)
                continue
            forms = _FormParser()
            forms.feed(response.text)
            if response.status_code != 200 or not forms.forms:
                return Outcome(None, None, response, visited)
            form = forms.forms[0]
            data = dict(form.fields)
            for name in ("username", "login"):
                if name in data:
                    data[name] = self.username
            if "password" in data:
                data["password"] = self.password
            if self.press and self.press in form.buttons:
                data[self.press] = form.buttons[self.press]
            target = urljoin(str(response.url), form.action or str(response.url))
            visited.append(target)
            response = (
                self.http.post(target, data=data) if form.method == "post" else self.http.get(target, params=data)
            )
        raise AssertionError(f"the sign-in did not reach the redirect URI in {max_steps} steps: {visited}")


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    """Poll ``condition`` for up to ``seconds``; its last answer (for an assert with a clear line)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
