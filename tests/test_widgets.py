"""The login panel driven from code (values, clicks) through its states, against the sandbox org over real HTTP.

Also the secret check: no widget trait, display output or log line ever holds the token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from _login_fixtures import Browser

from okta_magic.pulls.pull import run_request
from okta_magic.sessions.session import Session
from okta_magic.notebook.widgets import LoginPanel


@pytest.fixture
def session():
    s = Session()
    s.kernel_sandbox.start(users=200)
    yield s
    s.close()


def _panel(session: Session, **overrides) -> LoginPanel:
    settings = {**session.kernel_sandbox.settings("native"), "scopes": "openid okta.users.read", **overrides}

    def start(values):
        merged = {**settings, **{k: v for k, v in values.items() if v}}
        session.sign_in_browser(session.resolve_config(merged), timeout=60)

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


def _password(session: Session, user: str) -> str:
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
    uri = f"http://localhost:{free_port()}/callback"
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
    users = run_request(session, "GET /api/v1/users?limit=5", {}, max_pages=1, progress=False).value
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
    session.adopt(token)
    assert "okta-magic-note" in panel.status.value
    assert "offline_access: not granted, so there is no refresh token" in panel.status.value
    panel.close()


def _sign_in_panel(session: Session, app: str, scopes: str) -> LoginPanel:
    """What ``%okta_login --sandbox --app APP --scopes SCOPES`` shows in a notebook."""
    layers = [{"scopes": scopes}, session.kernel_sandbox.settings(app)]  # the sandbox's org, app and redirect URI win
    config = session.resolve_config(*layers)

    def restart(fields=None):
        return session.sign_in_browser(session.resolve_config(*layers, fields) if fields else config, timeout=60)

    restart()
    settings = {"org_url": config.org_url, "client_id": config.client_id, "scopes": " ".join(config.scopes),
                "redirect_uri": config.redirect_uri}
    return LoginPanel(session, settings, restart, tick_seconds=3600)


def test_a_second_login_replaces_the_first_panel_which_never_drives_the_new_sign_in(session):
    first = _sign_in_panel(session, "users-only", "openid okta.users.read")
    second = _sign_in_panel(session, "native", "openid okta.groups.read")
    native, users_only = session.sandbox.apps["native"].client_id, session.sandbox.apps["users-only"].client_id
    flow = session.flow
    url = _href(second)
    assert f"client_id={native}" in url and "okta.groups.read" in url and users_only not in url
    assert flow.client_id == native and session.config.client_id == native
    assert second.redirect_uri.value == flow.redirect_uri == session.config.redirect_uri

    # The first panel says it was replaced; its link is gone and its controls are off.
    assert first.replaced and not second.replaced
    assert "okta-magic-replaced" in first.status.value and "Replaced by a newer %okta_login" in first.status.value
    assert first.sign_in.value == "" and first.paste_row.layout.display == "none"
    assert all(c.disabled for c in (first.org_url, first.client_id, first.redirect_uri, first.restart,
                                    first.sign_out, first.use_paste, *first.common.children))
    assert first.scopes not in first._scopes_row.children  # shown read-only instead
    # Nothing done to the old panel touches the session's sign-in.
    first.redirect_uri.value = "http://127.0.0.1:9/callback"
    first.scopes.value = ["openid"]
    first.restart.click()
    first.refresh()
    assert session.flow is flow and not flow.done and _href(second) == url

    outcome = Browser("admin", _password(session, "admin")).sign_in(url, flow.redirect_uri)
    assert outcome.delivered is not None and "Return to your notebook" in outcome.delivered.text
    _until(lambda: "okta-magic-ok" in second.status.value)
    assert "okta.groups.read" in second.status.value and session.token.client_id == native
    assert "okta-magic-replaced" in first.status.value
    first.close()
    second.close()


def test_a_blank_redirect_uri_shows_the_one_the_sign_in_uses_without_starting_another(session):
    settings = {**session.kernel_sandbox.settings("native"), "scopes": "openid okta.users.read"}
    chosen = settings.pop("redirect_uri")  # what the start picks when the field is blank
    starts = []

    def start(values):
        starts.append(values)
        merged = {**settings, **{k: v for k, v in values.items() if v}}
        session.sign_in_browser(session.resolve_config({"redirect_uri": chosen}, merged), timeout=60)

    panel = LoginPanel(session, settings, start, tick_seconds=3600)
    panel.begin()
    assert len(starts) == 1 and starts[0]["redirect_uri"] is None
    assert panel.redirect_uri.value == chosen == session.flow.redirect_uri
    panel.close()


# -- in a real kernel ------------------------------------------------------------------------------


def _widget_tree(state: dict[str, dict], model_id: str) -> list[dict]:
    """A widget's state and all its descendants' (as nbclient recorded them from the kernel's messages)."""
    found, pending = [], [model_id]
    while pending:
        model = state[pending.pop()]
        found.append(model)
        pending += [c.removeprefix("IPY_MODEL_") for c in model.get("children", [])]
    return found


def _panel_state(client, cell) -> dict[str, object]:
    """What the front end shows of the panel a cell displayed: status, link, which controls are disabled."""
    (view,) = [o["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] for o in cell.outputs
               if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    tree = _widget_tree(client.widget_state, view)
    html_values = [m.get("value", "") for m in tree if m.get("_model_name") == "HTMLModel"]
    status = next(v for v in html_values if "okta-magic-status" in v)
    links = [v for v in html_values if "okta-magic-sign-in" in v]
    controls = [m for m in tree if m.get("_model_name") in ("TextModel", "ButtonModel", "ToggleButtonModel")
                and m.get("description") != "Sign out"]  # Sign out is off whenever nobody is signed in
    return {"status": status, "href": links[0].split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            if links else None, "disabled": [bool(m.get("disabled")) for m in controls],
            "tags": [m for m in tree if m.get("_model_name") == "TagsInputModel"]}


def test_in_a_kernel_the_newer_panel_drives_the_sign_in_and_the_older_says_it_was_replaced(tmp_path):
    import tempfile

    import nbformat
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in (
        '%load_ext okta_magic\n%okta_login --sandbox --app users-only --scopes "openid okta.users.read"',
        '%okta_login --sandbox --app native --scopes "openid okta.groups.read"',
        "import okta_magic\n"
        "session = okta_magic.current_session()\n"
        "print(okta_magic.advice.coach.describe_token(session.current_token(), __import__('time').time()))\n"
        "print('client:', session.token.client_id)\n"
        "print('groups:', len(okta_magic.get('/api/v1/groups', max_pages=1)))",
    )]
    with tempfile.TemporaryDirectory() as sockets:
        km = KernelManager(kernel_name="python3", transport="ipc", ip=f"{sockets}/kernel")
        client = NotebookClient(nb, km=km, timeout=120, resources={"metadata": {"path": str(tmp_path)}})
        with client.setup_kernel():
            client.execute_cell(nb.cells[0], 0)
            first_before = _panel_state(client, nb.cells[0])
            assert first_before["href"] and not any(first_before["disabled"])
            client.execute_cell(nb.cells[1], 1)
            first, second = _panel_state(client, nb.cells[0]), _panel_state(client, nb.cells[1])

            # The newer panel's link is its own sign-in: the native app, with okta.groups.read.
            href = second["href"]
            assert href and "okta-magic-wait" in second["status"] and not any(second["disabled"])
            assert "okta.groups.read" in href and "okta.users.read" not in href
            assert parse_qs(urlsplit(href).query)["client_id"] != parse_qs(urlsplit(first_before["href"]).query)[
                "client_id"]
            # The older panel shows it was replaced: no link, every control off, scopes shown read-only.
            assert "okta-magic-replaced" in first["status"], first["status"]
            assert "Replaced by a newer %okta_login" in first["status"]
            assert first["href"] is None and all(first["disabled"]) and not first["tags"]
            # The link completes: the org accepts it (a wrong app answers 400) and redirects to the kernel.
            redirect_uri = parse_qs(urlsplit(href).query)["redirect_uri"][0]
            with Browser() as browser:
                outcome = browser.sign_in(f"{href}&sandbox_user=admin", redirect_uri)
            assert outcome.last_page is None, outcome.last_page and outcome.last_page.text[:300]
            assert outcome.delivered is not None and "Return to your notebook" in outcome.delivered.text
            client.execute_cell(nb.cells[2], 2)
    text = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "Signed in as admin" in text and "okta.groups.read" in text, text
    client_id = parse_qs(urlsplit(href).query)["client_id"][0]
    assert f"client: {client_id}" in text and "groups: " in text, text


def test_a_logout_elsewhere_turns_the_panel_signed_out(session):
    """%okta_logout in another cell (or okta_magic.logout()) must not leave the panel saying "Signed in"."""
    panel = _panel(session)
    outcome = Browser("helpdesk", _password(session, "helpdesk")).sign_in(_href(panel), session.config.redirect_uri)
    assert outcome.delivered is not None
    _until(lambda: "okta-magic-ok" in panel.status.value)
    session.logout()
    _until(lambda: "Signed out" in panel.status.value)
    assert "okta-magic-ok" not in panel.status.value and panel.sign_out.disabled
    panel.close()


def _tickers() -> set[threading.Thread]:
    """The panels' ticker threads alive now."""
    return {t for t in threading.enumerate() if t.name == "okta-panel" and t.is_alive()}


def _signed_in_panel(session: Session) -> LoginPanel:
    panel = _panel(session)
    outcome = Browser("helpdesk", _password(session, "helpdesk")).sign_in(_href(panel), session.flow.redirect_uri)
    assert outcome.delivered is not None
    _until(lambda: "okta-magic-ok" in panel.status.value)
    return panel


def _ended(threads: set[threading.Thread]) -> bool:
    for thread in threads:
        thread.join(10)  # told to stop, a ticker ends at once; the bound only keeps a broken one from hanging
    return not any(thread.is_alive() for thread in threads)


def test_a_panel_ticks_only_while_it_shows_a_token_and_stops_when_signed_out_replaced_or_closed(session):
    before = _tickers()
    waiting = _panel(session)
    assert _tickers() == before  # nothing to count down yet
    waiting.close()

    signed_out = _signed_in_panel(session)
    assert len(_tickers() - before) == 1 and "min left" in signed_out.status.value  # the time left is kept honest
    signed_out.sign_out.click()
    assert "Signed out" in signed_out.status.value and _ended(_tickers() - before)

    replaced = _signed_in_panel(session)
    assert len(_tickers() - before) == 1
    newer = _panel(session)  # a newer %okta_login, still waiting for its sign-in
    assert replaced.replaced and "okta-magic-wait" in newer.status.value and _ended(_tickers() - before)

    closed = _signed_in_panel(session)
    assert len(_tickers() - before) == 1
    closed.close()
    assert _ended(_tickers() - before)
    for panel in (signed_out, replaced, newer):
        panel.close()
