"""Named profiles: several sessions side by side in one kernel, one of them active for the notebook.

A ``Profiles`` holds the default (unnamed) session and the named ones, each a ``Session`` of its own
(another org, or the same org as another person or app). The notebook's requests go to the active
one unless a request names another. Sandbox profiles share the one in-kernel sandbox org, and every
profile knows the notebook page's location once a front end reported it (``report_page``), for the
sign-in flow it chooses. Like a session, a ``Profiles`` stays in memory: it refuses pickling, and
nothing here writes a file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from okta_magic.errors import ConfigError
from okta_magic.sessions.session import Session
from okta_magic.tokens import InMemoryOnly

if TYPE_CHECKING:
    from okta_magic.sandbox import Sandbox

DEFAULT = "default"  # the unnamed session's name
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def check_name(name: str) -> str:
    """A profile name: letters, digits, ``_ . -``, at most 64 characters, starting with a letter or digit."""
    name = (name or "").strip()
    if not _NAME.fullmatch(name):
        raise ConfigError(f"A profile name is letters, digits, _ . or - (e.g. helpdesk), not {name!r}.")
    return name


class Profiles(InMemoryOnly):
    """The default session and the named ones, and which of them is active."""

    def __init__(self, default: Session, factory: Callable[[str], Session] | None = None) -> None:
        """``factory`` makes a named profile's new session (``Session(name=...)`` when not given)."""
        self._default = default
        self._pacers = default.pacers  # one pacer per org for every profile (Okta limits the org, not a session)
        self._factory = factory or (lambda name: Session(name=name))
        self._named: dict[str, Session] = {}
        self._active = DEFAULT
        self._page: str | None = None  # the notebook page's own location, as last reported (no query, no fragment)
        self._lock = threading.RLock()

    @property
    def default(self) -> Session:
        """The unnamed session (the one ``okta_magic.get()`` uses unless told otherwise)."""
        return self._default

    @property
    def active_name(self) -> str:
        """The name of the profile the notebook's requests go to."""
        return self._active

    @property
    def active(self) -> Session:
        """The session the notebook's requests go to."""
        with self._lock:
            return self.get(self._active)

    def names(self) -> list[str]:
        """Every profile's name, the default first."""
        with self._lock:
            return [DEFAULT, *self._named]

    def get(self, name: str) -> Session:
        """The profile ``name``; an unknown name is one ConfigError line naming the profiles there are."""
        with self._lock:
            if name == DEFAULT:
                return self._default
            if name in self._named:
                return self._named[name]
            raise ConfigError(f"No profile {name!r}; the profiles are {', '.join(self.names())}.").with_fix(
                "new_profile", name=name)

    def ensure(self, name: str) -> Session:
        """The profile ``name``, made (not signed in) when there is none yet."""
        with self._lock:
            if name == DEFAULT or name in self._named:
                return self.get(name)
            session = self._factory(check_name(name))
            session.pacers = self._pacers
            sandbox = self.sandbox()
            if sandbox is not None:
                session.kernel_sandbox.share(sandbox)
            if self._page is not None:
                session.page_location = self._page
            self._named[name] = session
            return session

    def activate(self, name: str) -> Session:
        """Make the profile ``name`` the active one (it must exist)."""
        with self._lock:
            session = self.get(name)
            self._active = name
            return session

    def sandbox(self) -> Sandbox | None:
        """The sandbox org one of the profiles started or shares, if any (the one they all share)."""
        with self._lock:
            return next((s.sandbox for s in (self._default, *self._named.values()) if s.sandbox is not None), None)

    def share_sandbox(self, session: Session) -> None:
        """Give ``session`` the sandbox another profile runs, so that every profile signs in to the same org."""
        sandbox = self.sandbox()
        if sandbox is not None and session.sandbox is None:
            session.kernel_sandbox.share(sandbox)

    @property
    def page_location(self) -> str | None:
        """The notebook page's own location as a front end last reported it (origin and path), else None."""
        return self._page

    def report_page(self, location: str) -> str | None:
        """Record the page's location (``window.location``) for every profile's flow choice; returns what is kept.

        Only an http(s) page's origin and path are kept (``where.page_location``): never its query or fragment,
        which may carry a token. Anything else (a VS Code webview, not a URL) is ignored and None returned.
        """
        from okta_magic.flows.where import page_location

        kept = page_location(location)
        if kept is None:
            return None
        with self._lock:
            self._page = kept
            for session in (self._default, *self._named.values()):
                session.page_location = kept
        return kept

    def rows(self, now: float) -> list[dict[str, object]]:
        """One row per profile: name, active, org, who, scopes, time left (never a token)."""
        with self._lock:
            return [_row(name, self.get(name), name == self._active, now) for name in self.names()]

    def table(self, now: float) -> str:
        """The profiles as a text table (the active one starred)."""
        rows = self.rows(now)
        columns = ("profile", "org", "who", "scopes", "time left")
        cells = [[("* " if r["active"] else "  ") + str(r["profile"]), *(str(r[c]) for c in columns[1:])] for r in rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
        header = ["  " + columns[0], *columns[1:]]
        widths[0] = max(widths[0], len(header[0]))  # the star's room
        lines = ["  ".join(text.ljust(width) for text, width in zip(row, widths, strict=False)).rstrip()
                 for row in (header, *cells)]
        return "\n".join(lines)

    def close(self) -> None:
        """Close every profile's session (listeners, clients, the sandbox) and forget the named ones."""
        with self._lock:
            named, self._named, self._active = list(self._named.values()), {}, DEFAULT
        for session in sorted((*named, self._default), key=lambda s: s.kernel_sandbox.owns):
            session.close()


def _row(name: str, session: Session, active: bool, now: float) -> dict[str, object]:
    """What ``--list`` shows of one profile."""
    token = session.token
    if token is None:
        who, scopes, left = "(not signed in)", "", ""
    elif token.token_type == "SSWS":
        who, scopes, left = "(SSWS API token)", "", "no expiry"
    else:
        claims = token.claims() or {}
        who = str(token.subject or claims.get("uid") or "unknown")
        scopes = " ".join(token.scopes_granted)
        seconds = token.expires_in(now)
        left = "unknown" if seconds is None else "expired" if seconds <= 0 else _duration(seconds)
    return {"profile": name, "active": active, "org": session.org_url or "", "who": who,
            "scopes": scopes, "time left": left}


def _duration(seconds: float) -> str:
    """``59 min``, ``1 h 5 min``, ``45 s``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"
