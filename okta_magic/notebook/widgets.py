"""The ``%okta_login`` panel: fields, a Sign-in link, live status, paste-back, Sign out.

The panel only lays out widgets and forwards events to a ``Session``; it
does no HTTP and no OAuth itself. The Sign-in control is a plain link to the
authorize URL, so a click opens the user's own browser even when the kernel
runs on another machine. No widget ever holds a token: the status shows who is
signed in, the scopes and the time left, and the paste field is cleared as
soon as its URL has been used.

A panel drives only the sign-in it started. When anything else starts a sign-in
in the session (a newer ``%okta_login``, ``okta_magic.login()`` …), the panel
says it was replaced, disables its controls and drops its link for good. Errors show in the
status line in notebook words (``advice.render``).

``PageLocation`` (an anywidget: a small ES module, no front-end build) tells the kernel the
notebook page's own location when a front end shows it: ``window.location``'s origin and path,
never its query or fragment. The panel carries one; when its sign-in changes flow because of
the location (a loopback redirect the page's browser cannot reach becomes the device grant),
the panel shows the new sign-in and one line saying why.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import anywidget
import ipywidgets as w

from okta_magic import advice
from okta_magic.advice.coach import describe_token, scope_differences
from okta_magic.config import COMMON_SCOPES, parse_scopes
from okta_magic.errors import OktaMagicError

if TYPE_CHECKING:
    from okta_magic.sessions.session import Session

# Runs in the page: its origin and path only (a Jupyter URL's query may hold ?token=...), once per view shown.
_REPORT_LOCATION = """
export default {
  render({ model, el }) {
    el.style.display = "none";
    model.send({ location: window.location.origin + window.location.pathname });
  },
};
"""
_STYLE = {"description_width": "90px"}
_WIDE = "34em"  # the width of the text fields (each field gets a Layout of its own)


def _header(profile: str, *, device: bool) -> str:
    """The panel's title line: the profile and the grant its sign-in uses."""
    grant = "Device Authorization Grant, RFC 8628" if device else "Authorization Code + PKCE"
    return f"<b>Sign in to Okta</b> · profile <code>{html.escape(profile)}</code> (Org Authorization Server, {grant})"


class PageLocation(anywidget.AnyWidget):
    """An invisible widget: once a front end shows it, ``on_location`` hears the notebook page's own location."""

    _esm = _REPORT_LOCATION

    def __init__(self, on_location: Callable[[str], object]) -> None:
        super().__init__()

        def heard(_widget: object, content: object, _buffers: object) -> None:
            location = content.get("location") if isinstance(content, dict) else None
            if isinstance(location, str):
                on_location(location)

        self.on_msg(heard)


class LoginPanel(w.VBox):  # type: ignore[misc]
    """Sign in to an Okta org with Authorization Code + PKCE, in the user's own browser."""

    def __init__(
        self,
        session: Session,
        settings: Mapping[str, object],
        start: Callable[[Mapping[str, object]], object],
        *,
        clock: Callable[[], float] = time.time,
        tick_seconds: float = 30.0,
        located: Callable[[str], str | None] | None = None,
    ) -> None:
        """``start`` (re)starts the sign-in with the fields' values; ``located`` hears the page's location (a
        ``PageLocation`` reports it) and returns the line saying why the sign-in changed flow, if it did."""
        self._session = session
        self._start = start
        self._located = located
        self._clock = clock
        # The sign-in this panel drives (the magic started it already; begin() starts the next one).
        self._remember()
        self._starting = False  # our own start is running: the session's changes are ours
        self._quiet = False  # the panel itself is writing a field: no restart
        self._replaced = False
        self._replacing = threading.Lock()  # notifications come from several threads: retire once
        scopes = list(parse_scopes(settings.get("scopes"))) or ["openid", "okta.users.read"]  # type: ignore[arg-type]
        self.org_url = w.Text(value=str(settings.get("org_url") or ""), description="Org URL",
                              placeholder="https://your-org.okta.com", style=_STYLE, layout=w.Layout(width=_WIDE),
                              continuous_update=False)
        self.client_id = w.Text(value=str(settings.get("client_id") or ""), description="Client ID",
                                placeholder="0oa… (your OIDC app's Client ID)", style=_STYLE,
                                layout=w.Layout(width=_WIDE),
                                continuous_update=False)
        self.scopes = w.TagsInput(value=scopes, allowed_tags=[], allow_duplicates=False)
        self._scopes_row = w.HBox([w.Label("Scopes", layout=w.Layout(width="94px")), self.scopes])
        self.common = w.HBox([self._scope_toggle(s, s in scopes) for s in COMMON_SCOPES],
                             layout=w.Layout(flex_flow="row wrap"))
        self.redirect_uri = w.Text(value=str(settings.get("redirect_uri") or ""), description="Redirect URI",
                                   placeholder="exactly as registered in the app (Okta matches it exactly)",
                                   style=_STYLE, layout=w.Layout(width=_WIDE), continuous_update=False)
        self.sign_in = w.HTML()  # a link: opens the authorize URL in the user's own browser
        self.restart = w.Button(description="New sign-in", icon="refresh", tooltip="Start a fresh sign-in")
        self.sign_out = w.Button(description="Sign out", icon="sign-out", disabled=True)
        self.status = w.HTML()
        self.flow_note = w.HTML()  # why the sign-in changed flow, once the page's location changed it
        self.paste = w.Text(placeholder="…or paste the URL your browser was redirected to",
                            layout=w.Layout(width=_WIDE),
                            continuous_update=False)
        self.use_paste = w.Button(description="Use pasted URL")
        self.paste_row = w.HBox([self.paste, self.use_paste])
        self.restart.on_click(lambda _: self.begin())
        self.sign_out.on_click(lambda _: self._sign_out())
        self.use_paste.on_click(lambda _: self._submit_paste())
        self.paste.observe(lambda _: self._submit_paste() if self.paste.value.strip() else None, "value")
        self.header = w.HTML(_header(session.name, device=False))
        super().__init__([
            self.header,
            self.org_url, self.client_id,
            self._scopes_row,
            w.HBox([w.Label("", layout=w.Layout(width="94px")), self.common]),
            self.redirect_uri,
            w.HBox([self.sign_in, self.restart, self.sign_out]),
            self.flow_note,
            self.status,
            self.paste_row,
            *([PageLocation(self._on_location)] if located is not None else []),
        ])
        for field in (self.org_url, self.client_id, self.scopes, self.redirect_uri):
            field.observe(lambda _: None if self._quiet else self.begin(), "value")
        self._tick_seconds = tick_seconds
        self._ticker: threading.Event | None = None  # set, it ends the ticker thread; None while there is none
        self._ticker_lock = threading.Lock()
        self._unsubscribe = session.subscribe(lambda _s: self.refresh())
        self.refresh()

    def _scope_toggle(self, scope: str, on: bool) -> w.ToggleButton:
        button = w.ToggleButton(value=on, description=scope, layout=w.Layout(width="auto"))

        def flip(change: Mapping[str, object]) -> None:
            current = list(self.scopes.value)
            if change["new"] and scope not in current:
                self.scopes.value = [*current, scope]
            elif not change["new"] and scope in current:
                self.scopes.value = [s for s in current if s != scope]

        button.observe(flip, "value")
        return button

    # -- actions -----------------------------------------------------------------

    def settings(self) -> dict[str, object]:
        """What the fields say now."""
        return {"org_url": self.org_url.value, "client_id": self.client_id.value,
                "scopes": " ".join(self.scopes.value), "redirect_uri": self.redirect_uri.value or None}

    def _remember(self) -> None:
        """Take the session's sign-in now (its flow, configuration and attempt) as this panel's own."""
        session = self._session
        self._flow, self._config, self._attempt = session.flow, session.config, session.attempt

    def begin(self) -> None:
        """(Re)start the sign-in with the fields' values and show its link (a replaced panel does nothing)."""
        if self._replaced:
            return
        self._starting = True
        try:
            try:
                self._start(self.settings())
            finally:
                # Whatever the session now holds was started here, on this thread: it is this panel's.
                self._remember()
        except OktaMagicError as exc:
            self._session.cancel_login()  # an old link must not stay usable beside new values
            self._show_link(None)
            self._set_status("error", advice.render(exc, advice.NOTEBOOK))
            return
        finally:
            self._starting = False
        self.refresh()

    def _on_location(self, location: str) -> None:
        """The page reported its location: when that changes the flow, show the new sign-in and the line why."""
        if self._replaced or self._located is None:
            return
        self._starting = True  # a new sign-in started here is this panel's own
        try:
            line = self._located(location)
            if line is not None:
                self._remember()
        except OktaMagicError as exc:
            self._show_link(None)
            self._set_status("error", advice.render(exc, advice.NOTEBOOK))
            return
        finally:
            self._starting = False
        if line is not None:
            self.flow_note.value = f'<div class="okta-magic-flow" style="color:#444">{html.escape(line)}</div>'
        self.refresh()

    def _submit_paste(self) -> None:
        url, self.paste.value = self.paste.value.strip(), ""  # the URL holds a code: never keep it
        if not url or self._replaced:
            return
        try:
            self._session.sign_in_paste(url)
        except OktaMagicError as exc:
            self._set_status("error", advice.render(exc, advice.NOTEBOOK))
        else:
            self.refresh()

    def _sign_out(self) -> None:
        if self._replaced:
            return
        message = self._session.logout()
        self._show_link(None)
        self._set_status("idle", message)

    # -- display ---------------------------------------------------------------

    @property
    def replaced(self) -> bool:
        """True once another sign-in took the session over; the panel then stays inert."""
        return self._replaced

    def refresh(self) -> None:
        """Show this panel's sign-in: waiting, signed in (who, scopes, time left), the error, or replaced."""
        session = self._session
        if self._replaced or self._starting:
            return  # begin() shows the outcome of its own start
        flow, token = session.flow, session.token
        if flow is not self._flow or session.attempt != self._attempt:  # another sign-in started or a token was adopted
            self._retire()
            return
        self.sign_out.disabled = token is None
        shows_token = False
        if flow is not None and flow.status.phase == "failed":
            self._show_link(None)
            error = flow.status.error
            self._set_status("error", advice.render(error, advice.NOTEBOOK) if error else flow.status.message)
        elif token is not None and (flow is None or flow.status.phase == "signed_in"):
            self._show_link(None)
            notes = scope_differences(token.scopes_requested, token.scopes_granted)
            self._set_status("ok", describe_token(token, self._clock()), notes)
            shows_token = True
        elif flow is not None and flow.status.phase in ("waiting", "exchanging"):
            # a browser sign-in's authorize URL, or a device sign-in's activation page (its code filled in)
            self._show_link(getattr(flow, "authorize_url", None) or getattr(flow, "verification_uri_complete", None)
                            or getattr(flow, "verification_uri", None))
            self._set_status("wait", flow.status.message or "Waiting for you to sign in in your browser…")
        elif flow is not None and flow.status.phase == "cancelled":
            self._show_link(None)
            self._set_status("idle", "Sign-in cancelled. Click New sign-in to start again.")
        elif token is None and (flow is None or flow.status.phase == "signed_in"):  # a logout from another cell
            self._show_link(None)
            self._set_status("idle", "Signed out. Click New sign-in to sign in again.")
        self._keep_ticking(shows_token)
        # A device sign-in (chosen, or switched to when the page's location came) has no redirect: say which grant.
        device = flow is not None and hasattr(flow, "user_code")
        self.header.value = _header(session.name, device=device)
        self.redirect_uri.layout.display = "none" if device else None
        waiting = flow is not None and flow.status.phase in ("waiting", "exchanging")
        pastable = waiting and hasattr(flow, "submit_redirect_url")  # mid browser sign-in: not for a device code
        self.paste_row.layout.display = None if pastable else "none"
        if self._config is not None and not self.redirect_uri.value.strip():
            self._quiet = True  # show the redirect URI the sign-in uses, without starting another
            try:
                self.redirect_uri.value = self._config.redirect_uri
            finally:
                self._quiet = False

    def _retire(self) -> None:
        """Another sign-in replaced this panel's: stop listening, drop the link, disable every control."""
        with self._replacing:
            if self._replaced:
                return
            self._replaced = True
        unsubscribe, self._unsubscribe = self._unsubscribe, None  # type: ignore[assignment]
        if unsubscribe is not None:
            unsubscribe()
        self._keep_ticking(False)
        self._show_link(None)
        self._set_status("replaced", "Replaced by a newer %okta_login: this panel no longer signs in.")
        self.paste_row.layout.display = "none"
        for control in (self.org_url, self.client_id, self.redirect_uri, self.paste, self.restart,
                        self.sign_out, self.use_paste, *self.common.children):
            control.disabled = True
        # TagsInput cannot be disabled: show the scopes as a read-only field instead.
        label = self._scopes_row.children[0]
        self._scopes_row.children = [label, w.Text(value=" ".join(self.scopes.value), disabled=True,
                                                   layout=w.Layout(width=_WIDE))]

    def _show_link(self, url: str | None) -> None:
        if url is None:
            self.sign_in.value = ""
            return
        href = html.escape(url, quote=True)
        self.sign_in.value = (
            f'<a class="okta-magic-sign-in" href="{href}" target="_blank" rel="noopener" '
            'style="display:inline-block;padding:4px 14px;background:#1662dd;color:white;'
            'border-radius:3px;text-decoration:none;font-weight:600">Sign in with Okta ↗</a>')

    def _set_status(self, kind: str, message: str, notes: Sequence[str] = ()) -> None:
        colour = {"ok": "#0a7a2f", "error": "#b00020", "wait": "#6b4e00"}.get(kind, "#444")
        extra = "".join(f'<div class="okta-magic-note" style="color:#444;font-size:90%">{html.escape(n)}</div>'
                        for n in notes)
        self.status.value = (f'<div class="okta-magic-status okta-magic-{kind}" style="color:{colour}">'
                             f"{html.escape(message)}</div>{extra}")

    def _keep_ticking(self, on: bool) -> None:
        """Start the ticker that keeps "time left" honest while the panel shows a token, or stop it.

        One thread at most per panel, and none while it shows no token (waiting, failed, signed out, replaced,
        closed): a panel that stays in a notebook's outputs costs no thread once it is done.
        """
        with self._ticker_lock:
            if on and self._ticker is None and self._unsubscribe is not None:  # not once replaced or closed
                self._ticker = threading.Event()
                threading.Thread(target=self._tick, args=(self._ticker,), daemon=True, name="okta-panel").start()
            elif not on and self._ticker is not None:
                self._ticker.set()
                self._ticker = None

    def _tick(self, stop: threading.Event) -> None:
        # A countdown, not a poll of the server: redraw the time left until told to stop (at once, not a tick later).
        while not stop.wait(self._tick_seconds):
            self.refresh()

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None  # type: ignore[assignment]
        self._keep_ticking(False)
        super().close()
