"""End to end in a real browser: ``%okta_login --sandbox``'s panel in JupyterLab, a person's sign-in, then ``%okta``.

JupyterLab serves a fresh notebook; Debian's Chromium (driven by Playwright) runs its
cells with the keyboard, clicks the panel's "Sign in with Okta" link, signs in on the
sandbox org's own page (reading the demo password off that page, as a person would),
and checks what a person checks: the "Signed in" page, the panel's status, and the
users table ``%okta GET /api/v1/users`` renders.

Two ways back from the browser to the kernel:

* redirect: the browser follows Okta's redirect to the kernel's loopback listener
  (RFC 8252 §7.3);
* paste: the browser cannot reach the listener (a remote kernel); the person copies
  the URL it was redirected to into the panel's paste field.

The panel also tells the kernel the page's own location (origin and path, never
Lab's ``?token=``). And a second ``%okta_login`` for another app: the older panel says it was replaced
(no link, controls off) and the newer panel's link signs in to the newer app.

A page at a host that is not loopback: a Chromium of its own reaches Lab as
``http://lab.okta-magic.test:<port>`` (``--host-resolver-rules`` maps the name to
127.0.0.1), as a browser on another machine would; the kernel shows no other sign of
being elsewhere (tests/_beside_kernel.py). The panel first offers the loopback
redirect, hears the page's location, switches to the device grant on its own and says
why; the code is entered on the sandbox's activation page the panel's link opens.

Screenshots of every step go to ``test-artifacts/browser/<case>/NN-step.png``.
Without /usr/bin/chromium the tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ is not a package

import _lab  # noqa: E402
from _lab import KERNEL_MS, PAGE_MS, STEP_MS, JupyterLab, NotebookPage, Shots  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page, Playwright

pytestmark = pytest.mark.browser

ARTIFACTS = _lab.REPO / "test-artifacts" / "browser"
DEMO_USER = "admin"
ELSEWHERE = "lab.okta-magic.test"  # what one browser calls the Lab server: not a loopback name (mapped to 127.0.0.1)
# A kernel with no sign of running away from the browser (no container file, no SSH, no OKTA_SIGN_IN_FLOW).
BESIDE_KERNEL = ("python3-beside", "Python 3 (beside the browser)")

CELLS = [
    "%load_ext okta_magic\n%okta_login --sandbox",
    "%okta GET /api/v1/users",
    "import okta_magic\nprint('org users:', len(okta_magic.current_session().sandbox.user_ids()))",
    "print('page:', okta_magic.current_session().page_location)",
]


def _need_chromium() -> None:
    if Path(_lab.CHROMIUM).exists():
        return
    message = f"{_lab.CHROMIUM} is missing (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the browser tests", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, playwright: Playwright,
        free_port: Callable[[], int]) -> Iterator[JupyterLab]:
    root = tmp_path_factory.mktemp("notebooks")
    server = JupyterLab(root, tmp_path_factory.mktemp("jupyter-home"), free_port())
    server.add_kernel(*BESIDE_KERNEL, [sys.executable, str(Path(__file__).resolve().parent / "_beside_kernel.py"),
                                       "-f", "{connection_file}"])
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser(playwright: Playwright, tmp_path: Path) -> Iterator[BrowserContext]:
    context = _lab.launch_chromium(playwright, tmp_path / "chromium-profile")
    context.set_default_timeout(STEP_MS)
    try:
        yield context
    finally:
        context.close()


def _open_panel(
    lab: JupyterLab, browser: BrowserContext, case: str, shots: Shots, cells: list[str] = CELLS
) -> tuple[NotebookPage, Locator]:
    """Open a fresh notebook, run its first cell (``%okta_login --sandbox``); the panel waits with its Sign-in link."""
    _lab.write_notebook(lab.root / f"{case}.ipynb", cells)
    page = browser.pages[0] if browser.pages else browser.new_page()  # the window Chromium opened with
    notebook = NotebookPage(page).open(lab.notebook_url(f"{case}.ipynb"))
    shots.take(page, "notebook-open")
    return notebook, _waiting_panel(notebook, 0, shots)


def _waiting_panel(notebook: NotebookPage, index: int, shots: Shots) -> Locator:
    """Run the cell holding ``%okta_login``; its panel waits with a Sign-in link."""
    panel = notebook.run(index, timeout=KERNEL_MS)
    link = panel.locator("a.okta-magic-sign-in")
    link.wait_for(timeout=KERNEL_MS)
    status = panel.locator(".okta-magic-status")
    assert "okta-magic-wait" in (status.get_attribute("class") or ""), status.inner_text()
    assert link.inner_text().startswith("Sign in with Okta")
    assert link.get_attribute("target") == "_blank"
    shots.take(notebook.page, "panel-waiting", locator=panel)
    return panel


def _sign_in_page(browser: BrowserContext, link: Locator, shots: Shots) -> Page:
    """Click the panel's link; the sandbox's sign-in page opens in a new tab."""
    with browser.expect_page(timeout=STEP_MS) as opened:
        link.click()
    signin = opened.value
    signin.locator("form#okta-sign-in").wait_for(timeout=PAGE_MS)
    assert signin.url.split("?")[0].endswith("/oauth2/v1/authorize")
    shots.take(signin, "sign-in-page", locator=signin.locator("main"))
    return signin


def _type_credentials(signin: Page, user: str, shots: Shots) -> None:
    """Type the demo user's name and the password the page itself shows for it."""
    signin.locator("#okta-sign-in input[name=username]").fill(user)
    signin.locator("#okta-sign-in input[name=password]").press_sequentially(_lab.demo_password(signin, user))
    shots.take(signin, "sign-in-filled", locator=signin.locator("main"))


def _expect_signed_in(notebook: NotebookPage, panel: Locator, shots: Shots, scope: str = "okta.users.read") -> str:
    """The panel's status turns to "Signed in as …" and its Sign-in link goes away."""
    notebook.page.bring_to_front()
    ok = panel.locator(".okta-magic-status.okta-magic-ok")
    ok.wait_for(timeout=KERNEL_MS)
    text = ok.inner_text()
    assert text.startswith(f"Signed in as {DEMO_USER}"), text
    assert scope in text and "min left" in text, text
    assert panel.locator("a.okta-magic-sign-in").count() == 0
    shots.take(notebook.page, "panel-signed-in", locator=panel)
    return text


def _users_table(notebook: NotebookPage, index: int, shots: Shots) -> Locator:
    """The cell ``%okta GET /api/v1/users…`` renders a DataFrame's table of users; returns the cell's output."""
    output = notebook.run(index, timeout=KERNEL_MS)
    table = output.locator("table.dataframe")
    try:
        table.wait_for(timeout=KERNEL_MS)
    except Exception:
        raise AssertionError(f"the users request rendered no table; its output:\n{output.inner_text()}") from None
    assert table.locator("tbody tr").count() > 0
    headers = table.locator("thead th").all_inner_texts()
    assert "id" in headers and "status" in headers, headers
    assert table.locator("tbody td", has_text=re.compile(r"^00u")).count() > 0  # Okta user ids
    shots.take(notebook.page, "users-table", locator=output)
    return output


def _expect_users_table(notebook: NotebookPage, shots: Shots) -> None:
    """``%okta GET /api/v1/users`` renders the DataFrame's table, holding every user of the org."""
    output = _users_table(notebook, 1, shots)
    shape = re.search(r"([\d,]+) rows × (\d+) columns", output.inner_text())
    assert shape, "the table has no 'N rows × M columns' footer"
    counted = notebook.run(2, timeout=KERNEL_MS).locator(".jp-OutputArea-output").first.inner_text()
    org_users = int(re.search(r"org users: (\d+)", counted).group(1))  # type: ignore[union-attr]
    assert int(shape.group(1).replace(",", "")) == org_users  # every page was followed


def test_sign_in_in_the_browser_redirects_to_the_kernel(lab: JupyterLab, browser: BrowserContext) -> None:
    shots = Shots(ARTIFACTS / "redirect")
    with _lab.evidence_on_failure(browser, lab, shots):
        _redirect_case(lab, browser, shots)


def _redirect_case(lab: JupyterLab, browser: BrowserContext, shots: Shots) -> None:
    notebook, panel = _open_panel(lab, browser, "redirect", shots)
    redirect_uri = _redirect_uri(panel)
    signin = _sign_in_page(browser, panel.locator("a.okta-magic-sign-in"), shots)
    _type_credentials(signin, DEMO_USER, shots)
    signin.locator("#okta-signin-submit").click()

    done = signin.get_by_role("heading", name="Signed in")
    done.wait_for(timeout=KERNEL_MS)
    assert signin.url.startswith(redirect_uri + "?")
    assert "Return to your notebook" in signin.locator("body").inner_text()
    shots.take(signin, "listener-signed-in", clip={"x": 0, "y": 0, "width": 1280, "height": 300})

    _expect_signed_in(notebook, panel, shots)
    _expect_users_table(notebook, shots)
    _expect_page_location(lab, notebook, "redirect")


def _expect_page_location(lab: JupyterLab, notebook: NotebookPage, case: str) -> None:
    """The panel told the kernel the page's location: its origin and path, never the query holding Lab's token."""
    said = notebook.run(3, timeout=KERNEL_MS).inner_text()
    assert f"page: {lab.url}/lab/tree/{case}.ipynb" in said.split("\n"), said
    assert lab.token not in said and "?" not in said and "reset" not in said, said


def test_sign_in_by_pasting_the_redirected_url(lab: JupyterLab, browser: BrowserContext) -> None:
    shots = Shots(ARTIFACTS / "paste")
    with _lab.evidence_on_failure(browser, lab, shots):
        _paste_case(lab, browser, shots)


def _paste_case(lab: JupyterLab, browser: BrowserContext, shots: Shots) -> None:
    notebook, panel = _open_panel(lab, browser, "paste", shots)
    redirect_uri = _redirect_uri(panel)
    signin = _sign_in_page(browser, panel.locator("a.okta-magic-sign-in"), shots)
    blocked = _unreachable(browser, signin, redirect_uri)
    _type_credentials(signin, DEMO_USER, shots)
    signin.locator("#okta-signin-submit").click()

    signin.wait_for_url(re.compile(r"^chrome-error://"), timeout=STEP_MS)  # "This site can't be reached"
    assert len(blocked) == 1
    redirected = blocked[0]
    assert redirected.startswith(redirect_uri + "?")
    query = parse_qs(urlsplit(redirected).query)
    assert query.get("code") and query.get("state"), redirected
    shots.take(signin, "redirect-unreachable", clip={"x": 0, "y": 0, "width": 1280, "height": 400})

    # The listener never heard of it: the panel still waits.
    notebook.page.bring_to_front()
    assert "okta-magic-wait" in (panel.locator(".okta-magic-status").get_attribute("class") or "")
    field = panel.get_by_placeholder("paste the URL your browser was redirected to")
    field.fill(redirected)
    shots.take(notebook.page, "url-pasted", locator=panel)
    panel.get_by_role("button", name="Use pasted URL").click()

    _expect_signed_in(notebook, panel, shots)
    assert field.input_value() == ""  # the pasted URL held a code: the panel does not keep it
    _expect_users_table(notebook, shots)


def _redirect_uri(panel: Locator) -> str:
    """The loopback redirect URI the sign-in uses: the link's ``redirect_uri``, shown in the panel too."""
    href = panel.locator("a.okta-magic-sign-in").get_attribute("href") or ""
    redirect_uri = parse_qs(urlsplit(href).query)["redirect_uri"][0]
    shown = panel.locator(".widget-text", has=panel.page.locator("label", has_text="Redirect URI")).locator("input")
    assert shown.input_value() == redirect_uri
    assert urlsplit(redirect_uri).hostname in ("127.0.0.1", "localhost")
    return redirect_uri


def _unreachable(browser: BrowserContext, page: Page, redirect_uri: str) -> list[str]:
    """Make the loopback listener unreachable from this tab, as from a browser on another machine.

    Playwright's own routing never sees a redirect's target, so this uses the
    DevTools Fetch domain, which pauses every request including redirect hops,
    and fails the ones to the listener as "connection refused". Returns the list
    the refused URLs are added to.
    """
    cdp = browser.new_cdp_session(page)
    refused: list[str] = []

    def paused(event: dict[str, Any]) -> None:
        refused.append(event["request"]["url"])
        cdp.send("Fetch.failRequest", {"requestId": event["requestId"], "errorReason": "ConnectionRefused"})

    cdp.on("Fetch.requestPaused", paused)
    cdp.send("Fetch.enable", {"patterns": [{"urlPattern": redirect_uri + "*", "requestStage": "Request"}]})
    return refused


REPLACED_CELLS = [
    '%load_ext okta_magic\n%okta_login --sandbox --app users-only --scopes "openid okta.users.read"',
    '%okta_login --sandbox --app native --scopes "openid okta.groups.read"',
    "%okta GET /api/v1/groups",
]


def test_a_second_login_replaces_the_first_panel(lab: JupyterLab, browser: BrowserContext) -> None:
    shots = Shots(ARTIFACTS / "replaced")
    with _lab.evidence_on_failure(browser, lab, shots):
        _replaced_case(lab, browser, shots)


def _replaced_case(lab: JupyterLab, browser: BrowserContext, shots: Shots) -> None:
    notebook, old = _open_panel(lab, browser, "replaced", shots, REPLACED_CELLS)
    old_href = old.locator("a.okta-magic-sign-in").get_attribute("href") or ""
    new = _waiting_panel(notebook, 1, shots)

    # The newer panel's link is the newer sign-in: the native app, asking for okta.groups.read.
    href = new.locator("a.okta-magic-sign-in").get_attribute("href") or ""
    query, old_query = parse_qs(urlsplit(href).query), parse_qs(urlsplit(old_href).query)
    assert query["client_id"] != old_query["client_id"] and "okta.groups.read" in query["scope"][0], href

    # The older panel says it was replaced, and nothing in it can be clicked or typed into any more.
    replaced = old.locator(".okta-magic-status.okta-magic-replaced")
    replaced.wait_for(timeout=STEP_MS)
    assert "Replaced by a newer %okta_login" in replaced.inner_text()
    assert old.locator("a.okta-magic-sign-in").count() == 0
    controls = old.locator("input, button")
    assert controls.count() > 0
    assert controls.evaluate_all("els => els.every(e => e.disabled)"), "a control of the replaced panel is enabled"
    shots.take(notebook.page, "panel-replaced", locator=old)

    # The newer link opens the newer app's sign-in page and completes.
    redirect_uri = _redirect_uri(new)
    signin = _sign_in_page(browser, new.locator("a.okta-magic-sign-in"), shots)
    asks = signin.locator("main").inner_text()
    assert "okta_magic notebooks (native)" in asks and "okta.groups.read" in asks, asks
    _type_credentials(signin, DEMO_USER, shots)
    signin.locator("#okta-signin-submit").click()
    signin.get_by_role("heading", name="Signed in").wait_for(timeout=KERNEL_MS)
    assert signin.url.startswith(redirect_uri + "?")

    _expect_signed_in(notebook, new, shots, scope="okta.groups.read")
    assert old.locator(".okta-magic-status.okta-magic-replaced").count() == 1  # still replaced, not "signed in"
    output = notebook.run(2, timeout=KERNEL_MS)
    table = output.locator("table.dataframe")
    table.wait_for(timeout=KERNEL_MS)
    assert table.locator("tbody td", has_text=re.compile(r"^00g")).count() > 0  # Okta group ids
    shots.take(notebook.page, "groups-table", locator=output)


ELSEWHERE_CELLS = [
    "%load_ext okta_magic\n%okta_login --sandbox",
    "%okta GET /api/v1/users?limit=3",
]


def test_a_page_at_another_host_switches_the_panel_to_the_device_grant(
    lab: JupyterLab, playwright: Playwright, tmp_path: Path
) -> None:
    shots = Shots(ARTIFACTS / "page-elsewhere")
    context = _lab.launch_chromium(playwright, tmp_path / "chromium-profile", hosts=[ELSEWHERE])
    context.set_default_timeout(STEP_MS)
    try:
        with _lab.evidence_on_failure(context, lab, shots):
            _elsewhere_case(lab, context, shots)
    finally:
        context.close()


def _elsewhere_case(lab: JupyterLab, browser: BrowserContext, shots: Shots) -> None:
    _lab.write_notebook(lab.root / "elsewhere.ipynb", ELSEWHERE_CELLS, kernel=BESIDE_KERNEL)
    page = browser.pages[0] if browser.pages else browser.new_page()
    notebook = NotebookPage(page).open(lab.notebook_url("elsewhere.ipynb", host=ELSEWHERE))
    assert urlsplit(page.url).hostname == ELSEWHERE, page.url
    shots.take(page, "notebook-open")

    panel = notebook.run(0, timeout=KERNEL_MS)
    # Before the page said where it is, nothing told the kernel the browser is elsewhere: the loopback redirect.
    chosen = panel.locator(".jp-OutputArea-output").filter(has_text=re.compile(r"^(Loopback redirect|Device grant|"
                                                                               r"Paste-back):"))
    chosen.first.wait_for(timeout=KERNEL_MS)
    first = chosen.first.inner_text()
    assert first.startswith("Loopback redirect: Nothing says the kernel runs away from your browser"), first

    # The page reported its location: the panel switched to the device grant and says why in one line.
    why = panel.locator(".okta-magic-flow")
    try:
        why.wait_for(timeout=KERNEL_MS)
    except Exception:
        pytest.fail(f"the panel did not switch to the device grant for a page at {ELSEWHERE}; it shows:\n"
                    f"{panel.inner_text()}", pytrace=False)
    line = why.inner_text()
    assert line.startswith(f"Device grant: The notebook page is at {ELSEWHERE} (your browser is on another machine), "
                           "so the browser cannot reach the kernel's sign-in listener"), line
    assert "\n" not in line.strip() and lab.token not in line, line
    status = panel.locator(".okta-magic-status.okta-magic-wait")
    status.wait_for(timeout=STEP_MS)
    found = re.fullmatch(r"Open (\S+) on any device and enter the code ([A-Z0-9]{4}-?[A-Z0-9]{4})\.?",
                         status.inner_text().strip())
    assert found, status.inner_text()
    activation, user_code = found.group(1), found.group(2)
    link = panel.locator("a.okta-magic-sign-in")
    href = link.get_attribute("href") or ""
    assert href.startswith(activation + "?") and user_code in href, href  # the activation page, its code filled in
    assert not panel.get_by_placeholder("paste the URL your browser was redirected to").is_visible()
    shots.take(page, "panel-device-grant", locator=panel)

    # The person follows the panel's link and signs in there; the kernel's polling picks the token up.
    with browser.expect_page(timeout=STEP_MS) as opened:
        link.click()
    activate = opened.value
    assert activate.url.startswith(activation), activate.url
    _lab.activate_device(activate, user_code, DEMO_USER, shots)
    activate.close()
    _expect_signed_in(notebook, panel, shots)
    assert why.inner_text() == line  # the line saying why stays beside the status

    _users_table(notebook, 1, shots)
