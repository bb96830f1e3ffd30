"""A real JupyterHub on loopback for the hub browser test: its proxy, a dummy authenticator, local spawns.

``JupyterHub`` writes a ``jupyterhub_config.py`` into a temporary folder (database, cookie secret,
pid file and each user's home live there too) and starts ``jupyterhub`` in a process group of its
own: configurable-http-proxy (npm, from tests/hub/node_modules) on the public port, the hub's API on
another free port, DummyAuthenticator, and SimpleLocalProcessSpawner starting each user's
single-user JupyterLab from this Python environment (with jupyter-server-proxy, which registers
itself as a server extension). The hub's ``public_url`` is ``http://<public host>:<port>/``, the
address the browser uses (a name mapped to 127.0.0.1 in Chromium), so the single-user servers see
``JUPYTERHUB_PUBLIC_URL`` as on a real hub. ``stop()`` ends the hub, which stops the single-user
servers and the proxy; whatever is left of the process group is killed.

Imported by tests/test_jupyterhub.py through ``sys.path`` (tests/ is not a package).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROXY = REPO / "tests" / "hub" / "node_modules" / ".bin" / "configurable-http-proxy"
HUB_START_S = 90.0

_CONFIG = """\
import sys
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.public_url = {public_url!r}
c.JupyterHub.db_url = {db_url!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.pid_file = {pid_file!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.auth_token = {proxy_token!r}
c.ConfigurableHTTPProxy.debug = False
c.SimpleLocalProcessSpawner.home_dir_template = {home_template!r}
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.Spawner.args = {args!r}
c.Spawner.environment = {environment!r}
"""


class JupyterHub:
    """``jupyterhub`` with its proxy and local single-user servers, public at ``http://<public_host>:<port>``."""

    def __init__(self, folder: Path, public_host: str, ports: tuple[int, int, int]) -> None:
        self.folder = folder
        self.public_host = public_host
        self.port, self.hub_port, self.proxy_api_port = ports
        self.password = secrets.token_urlsafe(12)
        self.log_path = folder / "jupyterhub.log"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def public_url(self) -> str:
        """The hub as the browser reaches it (through the mapped host name)."""
        return f"http://{self.public_host}:{self.port}"

    @property
    def local_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def home(self, user: str) -> Path:
        """The user's home folder, which the single-user server serves."""
        path = self.folder / "home" / user
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _single_user_environment(self) -> dict[str, str]:
        """Private Jupyter folders per hub (a person's own settings never leak in), this checkout importable."""
        env: dict[str, str] = {}
        for name, sub in (
            ("JUPYTER_CONFIG_DIR", "config"),
            ("JUPYTER_DATA_DIR", "data"),
            ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
            ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces"),
            ("IPYTHONDIR", "ipython"),
        ):
            path = self.folder / "jupyter" / sub
            path.mkdir(parents=True, exist_ok=True)
            env[name] = str(path)
        settings = self.folder / "jupyter" / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True, exist_ok=True)
        (settings / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
        )
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
        return env

    def _write_config(self) -> Path:
        args = [
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--allow-root")  # CI containers run as root; Jupyter refuses that otherwise
        text = _CONFIG.format(
            port=self.port,
            hub_port=self.hub_port,
            public_url=self.public_url + "/",
            db_url=f"sqlite:///{self.folder / 'jupyterhub.sqlite'}",
            cookie_secret=str(self.folder / "jupyterhub_cookie_secret"),
            pid_file=str(self.folder / "jupyterhub.pid"),
            password=self.password,
            proxy=str(PROXY),
            proxy_api_port=self.proxy_api_port,
            proxy_token=secrets.token_hex(16),
            home_template=str(self.folder / "home" / "{username}"),
            args=args,
            environment=self._single_user_environment(),
        )
        path = self.folder / "jupyterhub_config.py"
        path.write_text(text, encoding="utf-8")
        return path

    def start(self) -> JupyterHub:
        config = self._write_config()
        env = dict(os.environ)
        env.pop("JUPYTER_PATH", None)
        env["PATH"] = os.pathsep.join((str(Path(sys.executable).parent), env.get("PATH", "")))
        log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        log.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + HUB_START_S
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise RuntimeError(f"jupyterhub exited with {self._proc.returncode}:\n{self.log()}")
            try:
                # through the proxy, so that both the proxy and the hub are up
                with urllib.request.urlopen(f"{self.local_url}/hub/api/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.25)  # polling servers that are starting; there is no event to wait on
        raise RuntimeError(f"jupyterhub did not answer within {HUB_START_S:.0f} s:\n{self.log()}")

    def log(self, tail: int = 8000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM the hub (it stops the single-user servers and the proxy), then kill what is left of its group."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this module started: hub, proxy, servers, kernels
        except (ProcessLookupError, PermissionError):
            pass
        if proc.poll() is None:
            proc.wait(timeout=10)


def proxy_installed() -> bool:
    """True when configurable-http-proxy is installed under tests/hub (``make test`` does it) and Node.js runs."""
    return PROXY.exists() and shutil.which("node") is not None
