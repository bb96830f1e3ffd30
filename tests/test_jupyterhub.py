"""End to end on a real JupyterHub: a student's browser on another machine signs in from a hub notebook.

JupyterHub (with configurable-http-proxy, DummyAuthenticator and SimpleLocalProcessSpawner, all on
loopback) spawns a single-user JupyterLab with jupyter-server-proxy. Chromium reaches the hub as
``http://hub.example.test:<port>`` (``--host-resolver-rules`` maps the name to 127.0.0.1), so the
page is not on a loopback name: the browser's view is that of a student on another machine.

* device: a standalone sandbox org; ``%okta_login`` with no flow option picks the device grant on
  its own (the kernel runs under JupyterHub), the test reads the code from the output, enters it on
  the org's activation page as a demo user, and ``%okta GET /api/v1/users`` renders rows. The page
  told the kernel its own location (the hub's name as the browser sees it, no query), and a later
  ``okta_magic.login()`` chooses with it: its line names the page's host.
* proxied: ``%okta_login --sandbox``: the in-kernel sandbox's sign-in page and the redirect back to
  the kernel's listener both come through ``/user/<name>/proxy/<port>/...``; the panel turns signed in.

Screenshots of every step go to ``test-artifacts/hub/<case>/NN-step.png``. Without Chromium, the
npm proxy (``make test`` installs it under tests/hub) or the hub's Python packages the tests skip,
except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/ is not a package

import _hub  # noqa: E402
import _lab  # noqa: E402
from _lab import KERNEL_MS, PAGE_MS, STEP_MS, NotebookPage, Shots  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Playwright

    from okta_magic.sandbox import Sandbox

pytestmark = [pytest.mark.hub, pytest.mark.browser]

ARTIFACTS = _lab.REPO / "test-artifacts" / "hub"
PUBLIC_HOST = "hub.example.test"  # what the student's browser calls the hub; Chromium maps it to 127.0.0.1
STUDENT = "alice"
DEMO_USER = "admin"
SPAWN_MS = 120_000  # the hub spawns JupyterLab for the student (first import of everything)
SCOPES = "openid okta.users.read"


def _need(condition: bool, message: str) -> None:
    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(message + "; CI must run the JupyterHub test", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _need(Path(_lab.CHROMIUM).exists(), f"{_lab.CHROMIUM} is missing (apt-get install chromium)")
    _need(_hub.proxy_installed(), "configurable-http-proxy is not installed under tests/hub (run make test)")
    for module in ("jupyterhub", "jupyter_server_proxy"):
        _need(importlib.util.find_spec(module) is not None, f"{module} is missing (pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, playwright: Playwright,
        free_port: Callable[[], int]) -> Iterator[_hub.JupyterHub]:
    server = _hub.JupyterHub(tmp_path_factory.mktemp("jupyterhub"), PUBLIC_HOST, (free_port(), free_port(),
                                                                                  free_port()))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def org() -> Iterator[Sandbox]:
    """A standalone sandbox org (not the kernel's), calm: no latency and no injected faults."""
    from conftest import _start

    started = _start(users=300, calm=True)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def student(playwright: Playwright, hub: _hub.JupyterHub,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A student's Chromium, signed in to the hub as ``alice``, with the single-user server running."""
    context = _lab.launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"), hosts=[PUBLIC_HOST])
    context.set_default_timeout(STEP_MS)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto(f"{hub.public_url}/hub/login", timeout=PAGE_MS)
        page.locator("#username_input").fill(STUDENT)
        page.locator("#password_input").fill("any password: the dummy authenticator takes it")
        page.locator("#login_submit").click()
        try:
            page.wait_for_url(re.compile(rf"/user/{STUDENT}/lab"), timeout=SPAWN_MS)
        except Exception:
            print(f"--- jupyterhub log (tail) ---\n{hub.log()}")
            raise
        yield context
    finally:
        context.close()


def _open(hub: _hub.JupyterHub, student: BrowserContext, case: str, cells: list[str], shots: Shots) -> NotebookPage:
    """Write a notebook into the student's home and open it on the hub, at the hub's public name."""
    _lab.write_notebook(hub.home(STUDENT) / f"{case}.ipynb", cells)
    page = student.pages[0]
    notebook = NotebookPage(page).open(f"{hub.public_url}/user/{STUDENT}/lab/tree/{case}.ipynb?reset")
    assert page.url.startswith(f"http://{PUBLIC_HOST}:"), page.url
    shots.take(page, "notebook-on-the-hub")
    return notebook


def _expect_users_table(notebook: NotebookPage, index: int, shots: Shots, org_users: int) -> None:
    """``%okta GET /api/v1/users`` renders the DataFrame's table with every user of the org."""
    output = notebook.run(index, timeout=KERNEL_MS)
    table = output.locator("table.dataframe")
    try:
        table.wait_for(timeout=KERNEL_MS)
    except Exception:
        raise AssertionError(f"%okta GET /api/v1/users rendered no table; its output:\n{output.inner_text()}") from None
    assert table.locator("tbody td", has_text=re.compile(r"^00u")).count() > 0  # Okta user ids
    shots.take(notebook.page, "users-table", locator=output)
    shape = re.search(r"([\d,]+) rows × (\d+) columns", output.inner_text())
    assert shape, "the table has no 'N rows × M columns' footer"
    assert int(shape.group(1).replace(",", "")) == org_users, shape.group(0)


def _evidence(student: BrowserContext, hub: _hub.JupyterHub, shots: Shots) -> AbstractContextManager[None]:
    """On failure: a screenshot of every tab and the hub's log (with its single-user servers')."""
    return _lab.evidence_on_failure(student, hub, shots)  # type: ignore[arg-type]


def test_device_grant_chosen_on_the_hub(hub: _hub.JupyterHub, student: BrowserContext, org: Sandbox) -> None:
    shots = Shots(ARTIFACTS / "device")
    with _evidence(student, hub, shots):
        _device_case(hub, student, org, shots)


def _device_case(hub: _hub.JupyterHub, student: BrowserContext, org: Sandbox, shots: Shots) -> None:
    client_id = org.apps["native"].client_id
    cells = [
        f'%load_ext okta_magic\n%okta_login --org-url {org.url} --client-id {client_id} --scopes "{SCOPES}"',
        "%okta GET /api/v1/users",
        "%okta_token",
        "import okta_magic\nprint('page:', okta_magic.current_session().page_location)",
        f"progress = okta_magic.login(org_url={org.url!r}, client_id={client_id!r}, scopes={SCOPES!r}, wait=False)\n"
        "progress.cancel()",
    ]
    notebook = _open(hub, student, "device", cells, shots)
    output = notebook.run(0, timeout=KERNEL_MS)
    said = output.locator(".jp-OutputArea-output").filter(has_text=re.compile(r"enter the code"))
    try:
        said.first.wait_for(timeout=STEP_MS)
    except Exception:
        pytest.fail("%okta_login with no flow option did not choose the device grant in a kernel JupyterHub "
                    f"spawned; its output was:\n{output.inner_text()}", pytrace=False)
    text = output.inner_text()
    assert re.search(r"device", text, re.IGNORECASE), text
    found = re.search(r"open (\S+) and enter the code ([A-Z0-9-]+)", text)
    assert found, f"no activation address and code in:\n{text}"
    verification_uri, user_code = found.group(1), found.group(2)
    assert verification_uri.startswith(org.url), verification_uri
    shots.take(notebook.page, "device-code", locator=output)

    activate = student.new_page()
    activate.goto(verification_uri, timeout=PAGE_MS)
    _lab.activate_device(activate, user_code, DEMO_USER, shots)
    activate.close()

    notebook.page.bring_to_front()
    panel_ok = output.locator(".okta-magic-status.okta-magic-ok")
    if output.locator(".okta-magic-status").count():  # a panel follows the device sign-in: it turns signed in
        panel_ok.wait_for(timeout=KERNEL_MS)
        assert panel_ok.inner_text().startswith(f"Signed in as {DEMO_USER}"), panel_ok.inner_text()
        shots.take(notebook.page, "panel-signed-in", locator=output)
    _expect_users_table(notebook, 1, shots, len(org.user_ids()))
    report = notebook.run(2, timeout=KERNEL_MS).inner_text()
    assert re.search(rf"Subject\s*:\s*{DEMO_USER}@", report), report
    shots.take(notebook.page, "signed-in")
    _expect_page_location_used(hub, notebook, shots)


def _expect_page_location_used(hub: _hub.JupyterHub, notebook: NotebookPage, shots: Shots) -> None:
    """The kernel learned the page's location from the browser, and the next sign-in's flow choice used it."""
    learned = notebook.run(3, timeout=KERNEL_MS).inner_text()
    page = f"{hub.public_url}/user/{STUDENT}/lab/tree/device.ipynb"
    assert f"page: {page}" in learned.splitlines(), learned  # the hub's name as the browser sees it, no ?reset
    said = notebook.run(4, timeout=KERNEL_MS)
    line = said.locator(".jp-OutputArea-output").filter(has_text="Device grant:")
    line.first.wait_for(timeout=STEP_MS)
    text = said.inner_text()
    assert (f"Device grant: The kernel runs on JupyterHub and the notebook page is at {PUBLIC_HOST} (your browser "
            "is on another machine)") in text, text
    assert "enter the code" in text and "login() and requests wait" in text, text
    shots.take(notebook.page, "script-login-chooses-with-the-page", locator=said)


def test_sandbox_sign_in_through_jupyter_server_proxy(hub: _hub.JupyterHub, student: BrowserContext) -> None:
    shots = Shots(ARTIFACTS / "proxied")
    with _evidence(student, hub, shots):
        _proxied_case(hub, student, shots)


def _proxied_case(hub: _hub.JupyterHub, student: BrowserContext, shots: Shots) -> None:
    cells = [
        f'%load_ext okta_magic\n%okta_login --sandbox --scopes "{SCOPES}"',
        "%okta GET /api/v1/users",
        "import okta_magic.sandbox\nprint('org users:', len(okta_magic.sandbox.current().user_ids()))",
    ]
    notebook = _open(hub, student, "proxied", cells, shots)
    panel = notebook.run(0, timeout=KERNEL_MS)
    link = panel.locator("a.okta-magic-sign-in")
    other = panel.locator(".jp-OutputArea-output").filter(has_text=re.compile(r"enter the code|Error|error"))
    link.or_(other).first.wait_for(timeout=KERNEL_MS)  # the panel's link, or what came instead
    if not link.count():
        pytest.fail(f"%okta_login --sandbox showed no sign-in link on the hub; its output was:\n{panel.inner_text()}",
                    pytrace=False)
    assert "jupyter-server-proxy" in panel.inner_text(), panel.inner_text()  # the line saying which flow and why
    proxied = f"{hub.public_url}/user/{STUDENT}/proxy/"
    href = link.get_attribute("href") or ""
    assert href.startswith(proxied) and "/oauth2/v1/authorize?" in href, href
    redirect = re.search(r"redirect_uri=([^&]+)", href)
    assert redirect, href
    redirect_uri = unquote(redirect.group(1))
    assert re.fullmatch(re.escape(proxied) + r"\d+/callback", redirect_uri), redirect_uri
    shots.take(notebook.page, "panel-waiting", locator=panel)

    with student.expect_page(timeout=STEP_MS) as opened:
        link.click()
    signin = opened.value
    signin.locator("form#okta-sign-in").wait_for(timeout=PAGE_MS)
    assert signin.url.startswith(proxied), signin.url
    signin.locator("#okta-sign-in input[name=username]").fill(DEMO_USER)
    signin.locator("#okta-sign-in input[name=password]").press_sequentially(_lab.demo_password(signin, DEMO_USER))
    shots.take(signin, "sign-in-page-through-the-proxy", locator=signin.locator("main"))
    signin.locator("#okta-signin-submit").click()
    done = signin.get_by_role("heading", name="Signed in")
    try:
        done.wait_for(timeout=KERNEL_MS)
    except Exception:
        raise AssertionError(f"the redirect through the proxy did not sign in: {signin.url}\n"
                             f"{signin.locator('body').inner_text()[:600]}") from None
    assert signin.url.startswith(redirect_uri + "?"), signin.url
    shots.take(signin, "listener-signed-in-through-the-proxy", clip={"x": 0, "y": 0, "width": 1280, "height": 300})
    signin.close()

    notebook.page.bring_to_front()
    ok = panel.locator(".okta-magic-status.okta-magic-ok")
    ok.wait_for(timeout=KERNEL_MS)
    assert ok.inner_text().startswith(f"Signed in as {DEMO_USER}"), ok.inner_text()
    shots.take(notebook.page, "panel-signed-in", locator=panel)
    counted = notebook.run(2, timeout=KERNEL_MS).inner_text()
    org_users = re.search(r"org users: (\d+)", counted)
    assert org_users, counted
    _expect_users_table(notebook, 1, shots, int(org_users.group(1)))

