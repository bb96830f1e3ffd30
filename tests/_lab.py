"""A real JupyterLab server and a real Chromium for the panel's end-to-end test.

``JupyterLab`` starts ``jupyter lab`` on a free loopback port with a random token,
its own config, data, runtime, settings and workspace folders (so a person's own
Lab settings, open tabs or IPython profile never leak in), while the kernel spec
and the widgets lab extension are still found where the environment installed them
(``sys.prefix/share/jupyter``); ``add_kernel`` adds a kernel spec of the test's own.
The server listens on loopback only but answers any Host name, so a browser may reach
it under a name mapped to 127.0.0.1 (as from another machine). ``launch_chromium``
drives the system Chromium through Playwright, headless, with a fresh profile (and
such names mapped). ``NotebookPage`` runs cells the way a person does (select,
Shift+Enter) and waits on concrete selectors only; ``demo_password`` and
``activate_device`` do what a person does on the sandbox's pages.

This module is imported by tests/test_e2e_jupyterlab.py and tests/test_jupyterhub.py
through ``sys.path`` (tests/ is not a package).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page, Playwright

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Generous but bounded waits (milliseconds, Playwright's unit).
LAB_START_S = 90.0
PAGE_MS = 60_000  # JupyterLab's first load compiles nothing but fetches ~10 MB of bundles
KERNEL_MS = 60_000  # kernel start, first import of the package, sandbox start
STEP_MS = 30_000  # one click or one cell that does little


class JupyterLab:
    """``jupyter lab`` in a child process group, serving ``root``; stop() ends it and its kernels."""

    def __init__(self, root: Path, home: Path, port: int) -> None:
        self.root = root
        self.home = home
        self.port = port
        self.token = secrets.token_hex(16)
        self.log_path = home / "jupyter-lab.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_kernel(self, name: str, display_name: str, argv: list[str]) -> None:
        """A kernel spec in the server's private data folder (``argv`` holds ``{connection_file}``)."""
        folder = self.home / "data" / "kernels" / name
        folder.mkdir(parents=True, exist_ok=True)
        spec = {"argv": argv, "display_name": display_name, "language": "python"}
        (folder / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")

    def _environ(self) -> dict[str, str]:
        env = dict(os.environ)
        # Only the per-user folders are private; sys.prefix/share/jupyter (kernel spec,
        # @jupyter-widgets/jupyterlab-manager) stays on Jupyter's search path.
        for name, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTER_RUNTIME_DIR", "runtime"),
            ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
            ("IPYTHONDIR", "ipython"),
        ):
            path = self.home / sub
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_PREFER_ENV_PATH", None)
        # The kernel imports okta_magic from this checkout even when it is not pip-installed.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # keeps the kernel's debugger warning out of cell outputs
        return env

    def _quiet_settings(self) -> None:
        """No news prompt or update check toasts over the screenshots (and no network)."""
        folder = self.home / "lab-settings" / "@jupyterlab" / "apputils-extension"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
        )

    def start(self) -> JupyterLab:
        self._quiet_settings()
        command = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            # Still on loopback only; but a page under another name mapped to 127.0.0.1 (a browser's view of a
            # server on another machine) is answered too, where Jupyter would refuse a Host that is not local.
            "--ServerApp.allow_remote_access=True",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.open_browser=False",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp lets the test wait for the kernel's real connection (the toolbar's
            # indicator reads "idle" before the kernel's websocket even opens).
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root; Jupyter refuses that otherwise
        log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            command, cwd=self.root, env=self._environ(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + LAB_START_S
        status = f"{self.url}/api/status?token={self.token}"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self._proc.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(status, timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)  # polling a server that is starting; there is no event to wait on
        raise RuntimeError(f"jupyter lab did not answer within {LAB_START_S:.0f} s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-6000:]
        except OSError:
            return "(no log)"

    def notebook_url(self, name: str, host: str | None = None) -> str:
        """The notebook's address with the token; at ``host`` (a name mapped to 127.0.0.1) when given."""
        base = f"http://{host}:{self.port}" if host else self.url
        return f"{base}/lab/tree/{name}?token={self.token}&reset"

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)  # jupyter server: shut its kernels down, then exit
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this module started: server + kernels
            proc.wait(timeout=10)


def write_notebook(path: Path, cells: list[str], kernel: tuple[str, str] = ("python3", "Python 3 (ipykernel)")) -> Path:
    """An .ipynb with these code cells and a kernel (name, display name): the environment's python3 when not given."""
    import nbformat

    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.metadata["kernelspec"] = {"name": kernel[0], "display_name": kernel[1], "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]  # type: ignore[no-untyped-call]
    nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]
    return path


def launch_chromium(playwright: Playwright, profile: Path, *, width: int = 1280, height: int = 900,
                    hosts: Iterable[str] = ()) -> BrowserContext:
    """Debian's Chromium, headless, fresh profile (the system browser, not a downloaded one).

    ``hosts``: names this browser resolves to 127.0.0.1 (``--host-resolver-rules``), so that a server on
    loopback is reached under a name that is not a loopback one, as from another machine.
    """
    rules = ", ".join(f"MAP {host} 127.0.0.1" for host in hosts)
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, *([f"--host-resolver-rules={rules}"] if rules else [])],
        viewport={"width": width, "height": height},
        device_scale_factor=1,
    )


class Shots:
    """Numbered screenshots of each step, in a folder named after the case."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.png"):
            old.unlink()
        self._n = 0
        print(f"\nscreenshots: {folder}")

    def take(self, page: Page, step: str, *, locator: Locator | None = None, **options: Any) -> Path:
        self._n += 1
        path = self.folder / f"{self._n:02d}-{step}.png"
        if locator is not None:
            locator.screenshot(path=str(path), **options)
        else:
            page.screenshot(path=str(path), **options)
        return path


_KERNEL_READY = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = widget && widget.sessionContext && widget.sessionContext.session
                 && widget.sessionContext.session.kernel;
  return !!kernel && kernel.connectionStatus === "connected" && kernel.status === "idle";
}"""


class NotebookPage:
    """A notebook open in JupyterLab, driven the way a person would."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def open(self, url: str) -> NotebookPage:
        self.page.goto(url, timeout=PAGE_MS)
        self.page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=PAGE_MS)
        self.wait_kernel_idle(KERNEL_MS)
        # More room for outputs (and the screenshots): fold the file browser away.
        self.page.evaluate("() => window.jupyterapp.shell.collapseLeft()")
        self.page.locator("#jp-left-stack").wait_for(state="hidden", timeout=STEP_MS)
        return self

    def wait_kernel_idle(self, timeout: float = KERNEL_MS) -> None:
        """Until the notebook's kernel is connected and idle (keys pressed earlier can be lost)."""
        self.page.wait_for_function(_KERNEL_READY, timeout=timeout)

    def cell(self, index: int) -> Locator:
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Locator:
        return self.cell(index).locator(".jp-OutputArea")

    def run(self, index: int, timeout: float = KERNEL_MS) -> Locator:
        """Select the cell, Shift+Enter, wait until its prompt shows an execution count; returns its output area."""
        cell = self.cell(index)
        cell.locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Shift+Enter")
        # "[*]:" while it runs, "[n]:" when done.
        cell.locator(".jp-InputPrompt").filter(has_text=re.compile(r"\[\d+\]")).wait_for(timeout=timeout)
        return self.output(index)


def demo_password(page: Page, user: str) -> str:
    """The demo user's password as the sandbox's own page lists it (a person reads it there)."""
    row = page.locator("tr").filter(has=page.locator("td:first-child code", has_text=re.compile(f"^{user}$")))
    password = row.locator("td").nth(1).inner_text().strip()
    assert password, f"the page shows no password for the demo user {user}"
    return password


def activate_device(page: Page, user_code: str, user: str, shots: Shots) -> None:
    """On the sandbox's activation page: the code (unless the page has it already), the demo user, Sign in."""
    page.locator("form#okta-activate").wait_for(timeout=PAGE_MS)
    field = page.locator("#user_code")
    shown = field.input_value()
    if shown:  # the link held the code: the page shows it (without its dash)
        assert shown == user_code.replace("-", ""), f"the activation page shows the code {shown}, not {user_code}"
    else:
        field.fill(user_code)
    page.locator("#okta-signin-username").fill(user)
    page.locator("#okta-signin-password").press_sequentially(demo_password(page, user))
    shots.take(page, "activation-filled", locator=page.locator("main"))
    page.locator("#okta-signin-submit").click()
    page.locator("#okta-activate-result").filter(has_text="Device activated").wait_for(timeout=STEP_MS)
    shots.take(page, "device-activated", locator=page.locator("main"))


@contextlib.contextmanager
def evidence_on_failure(context: BrowserContext, lab: JupyterLab, shots: Shots) -> Iterator[None]:
    """If the block fails: a screenshot of every open tab and the server's (and kernels') log."""
    try:
        yield
    except BaseException:
        for n, page in enumerate(context.pages):
            try:
                page.screenshot(path=str(shots.folder / f"failed-tab{n}.png"), full_page=True)
            except Exception:  # the evidence is best effort; the original failure is what matters
                pass
        print(f"--- jupyter lab log (tail) ---\n{lab.log()}")
        raise
