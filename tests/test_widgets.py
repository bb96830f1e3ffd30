"""The login panel driven from code (values, clicks) through its states, against the sandbox org over real HTTP.

Also the secret check: no widget trait, display output or log line ever holds the token.
"""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote

import pytest
from _login_fixtures import Browser

from okta_magic import api
from okta_magic.session import OktaSession
from okta_magic.widgets import LoginPanel


@pytest.fixture
def session():
    s = OktaSession()
    s.start_sandbox(users=200)
    yield s
    s.close()


def _panel(session: OktaSession, **overrides) -> LoginPanel:
    settings = {**session.sandbox_settings("native"), "scopes": "openid okta.users.read", **overrides}

    def start(values):
        merged = {**settings, **{k: v for k, v in values.items() if v}}
        api.begin(session, session.resolve_config(merged), timeout=60)

    panel = LoginPanel(session, settings, start, tick_seconds=3600)
    panel.begin()
    return panel


def _until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def _href(panel: LoginPanel) -> str:
    html = panel.sign_in.value
    assert 'class="okta-magic-sign-in"' in html and 'target="_blank"' in html
    return html.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


def _password(session: OktaSession, user: str) -> str:
    return session.sandbox.demo_users[user].password


def test_panel_shows_a_sign_in_link_then_signs_in_through_the_browser(session):
    panel = _panel(session)
    url = _href(panel)
    assert "code_challenge_method=S256" in url and "state=" in url and session.config.client_id in url
    assert "okta-magic-wait" in panel.status.value
    assert panel.sign_out.disabled

    browser = Browser("helpdesk", _password(session, "helpdesk"))
    outcome = browser.sign_in(url, session.config.redirect_uri)
    assert outcome.delivered is not None and "Return to your notebook" in outcome.delivered.text
    _until(lambda: "okta-magic-ok" in panel.status.value)
    assert "Signed in as helpdesk@example.com" in panel.status.value
    assert "okta.users.read" in panel.status.value and "min left" in panel.status.value
    assert panel.sign_in.value == ""  # the link is gone once it has been used
    assert not panel.sign_out.disabled

    panel.sign_out.click()
    assert session.token is None
    assert "Signed out" in panel.status.value
    panel.close()


def test_pasted_redirect_url_signs_in_and_the_field_is_cleared(session):
    panel = _panel(session)
    browser = Browser("admin", _password(session, "admin"))
    outcome = browser.sign_in(_href(panel), session.config.redirect_uri, deliver=False)
    assert outcome.redirect_url and "code=" in outcome.redirect_url
    panel.paste.value = outcome.redirect_url
    _until(lambda: "okta-magic-ok" in panel.status.value)
    assert "Signed in as admin@example.com" in panel.status.value
    assert panel.paste.value == ""  # the code never stays in widget state
    panel.close()


def test_a_forged_paste_is_refused_and_the_sign_in_keeps_waiting(session):
    panel = _panel(session)
    url = _href(panel)
    panel.paste.value = session.config.redirect_uri + "?code=stolen&state=not-ours"
    assert "okta-magic-error" in panel.status.value and "state" in panel.status.value
    assert session.flow is not None and not session.flow.done
    # The real sign-in still completes afterwards.
    Browser("user", _password(session, "user")).sign_in(url, session.config.redirect_uri)
    _until(lambda: "okta-magic-ok" in panel.status.value)
    panel.close()


def test_cancel_on_the_sign_in_page_shows_the_providers_error(session):
    panel = _panel(session)
    Browser("admin", press="cancel").sign_in(_href(panel), session.config.redirect_uri)
    _until(lambda: "okta-magic-error" in panel.status.value)
    assert "access_denied" in panel.status.value or "denied" in panel.status.value.lower()
    panel.restart.click()  # a new sign-in is one click away
    assert "okta-magic-wait" in panel.status.value
    panel.close()


def test_editing_a_field_restarts_the_sign_in_and_bad_values_show_one_line(session):
    panel = _panel(session)
    first = _href(panel)
    panel.scopes.value = ["openid", "okta.users.read", "okta.groups.read"]
    second = _href(panel)
    assert second != first and "okta.groups.read" in second
    panel.org_url.value = "https://dev-1.okta.com/oauth2/default"
    assert "okta-magic-error" in panel.status.value and "custom authorization server" in panel.status.value
    assert panel.sign_in.value == ""
    panel.close()


def test_the_redirect_uri_can_be_edited_to_match_the_app(session, free_port):
    panel = _panel(session)
    uri = f"http://localhost:{free_port}/callback"
    session.sandbox.add_redirect_uri("native", uri)  # registered in the app, as an admin would
    panel.redirect_uri.value = uri
    url = _href(panel)
    assert f"redirect_uri={quote(uri, safe='')}" in url and session.config.redirect_uri == uri
    outcome = Browser("user", _password(session, "user")).sign_in(url, uri)  # the new listener answers
    assert outcome.delivered is not None and "Return to your notebook" in outcome.delivered.text
    _until(lambda: "okta-magic-ok" in panel.status.value)
    panel.close()


def test_common_scope_toggles_edit_the_scope_list(session):
    panel = _panel(session)
    toggle = next(b for b in panel.common.children if b.description == "okta.logs.read")
    toggle.value = True
    assert "okta.logs.read" in panel.scopes.value
    toggle.value = False
    assert "okta.logs.read" not in panel.scopes.value
    panel.close()


def _all_widget_state(widget) -> str:
    """Every synced trait of the panel and its descendants, as the front end (and a saved notebook) sees it."""
    states = []
    pending = [widget]
    while pending:
        model = pending.pop()
        states.append(model.get_state())
        pending.extend(getattr(model, "children", ()))
    return json.dumps(states, default=str)


def test_no_widget_trait_display_or_log_holds_the_token(session, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    panel = _panel(session, scopes="openid okta.users.read")
    Browser("admin", _password(session, "admin")).sign_in(_href(panel), session.config.redirect_uri)
    _until(lambda: "okta-magic-ok" in panel.status.value)
    token = session.current_token()
    users = api.run_request(session, "GET /api/v1/users?limit=5", {}, max_pages=1, progress=False).value
    assert len(users) == 5
    secret = token.access_token
    state = _all_widget_state(panel)
    out = capsys.readouterr()
    for text in (state, out.out, out.err, caplog.text, repr(token), str(token), repr(session.client),
                 repr(panel), repr(users)):
        assert secret not in text
        assert secret[-12:] not in text
    panel.close()


def test_scopes_granted_differently_from_those_requested_are_explained_in_the_panel(session):
    import dataclasses

    panel = _panel(session)
    Browser("admin", _password(session, "admin")).sign_in(_href(panel), session.config.redirect_uri)
    _until(lambda: "okta-magic-ok" in panel.status.value)
    assert "okta-magic-note" not in panel.status.value  # everything asked for was granted
    # A server may grant less than was asked (here: as a token response without offline_access would).
    token = dataclasses.replace(session.token, scopes_requested=("openid", "okta.users.read", "offline_access"))
    session.use_token(token)
    assert "okta-magic-note" in panel.status.value
    assert "offline_access: not granted, so there is no refresh token" in panel.status.value
    panel.close()
