"""Where the kernel runs, and which sign-in flow that allows: pure decisions over the environment.

The loopback redirect works only when the browser that signs in can reach the kernel's one-shot listener
on 127.0.0.1. ``detect`` reads the environment variables (and, when the front end reports it, the
notebook page's own location, ``window.location.href``) and names where the kernel runs: JupyterHub,
Binder, Google Colab, a VS Code remote, an SSH login, a container, or this machine. ``choose_flow``
turns that into the flow to use (loopback, else the device grant when the provider offers it, else
paste-back) and one line saying why; ``paste_instead`` is paste-back in the device grant's place, when the app
may not use that grant or a redirect URI was given. ``proxied_redirect_uri`` is the redirect URI a Jupyter
server with jupyter-server-proxy serves for a listener port. Nothing here imports IPython or does I/O
beyond the file-exists check it is given; docs/remote-kernels.md states the rules in words.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from okta_magic.errors import ConfigError

Flow = Literal["loopback", "device", "paste"]

# (kind, label, where it runs, the variables any one of which says so), most specific first: Binder runs
# on JupyterHub, a VS Code remote over SSH, and a hub may spawn into containers.
_BY_VARIABLE: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("colab", "Google Colab", "on Google Colab", ("COLAB_RELEASE_TAG", "COLAB_GPU", "COLAB_BACKEND_VERSION")),
    ("binder", "Binder", "on Binder", ("BINDER_SERVICE_HOST", "BINDER_REF_URL", "BINDER_LAUNCH_HOST",
                                       "BINDER_REPO_URL", "BINDER_REQUEST", "BINDER_PERSISTENT_REQUEST")),
    ("jupyterhub", "JupyterHub", "on JupyterHub", ("JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_URL",
                                                   "JUPYTERHUB_USER")),
    ("vscode-remote", "a VS Code remote", "in a VS Code remote", ("REMOTE_CONTAINERS", "REMOTE_CONTAINERS_IPC",
                                                                 "CODESPACES", "VSCODE_REMOTE_CONTAINERS_SESSION",
                                                                 "VSCODE_AGENT_FOLDER")),
    ("ssh", "an SSH login", "over SSH", ("SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY")),
)
_HUB_VARIABLES = _BY_VARIABLE[2][3]
_BY_FILE: tuple[tuple[str, str, str, str], ...] = (
    ("docker", "a container", "in a container", "/.dockerenv"),
    ("docker", "a container", "in a container", "/run/.containerenv"),  # Podman's marker
)
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
# the first path segment of a Jupyter front end's pages: what comes before it is the server's base URL
_FRONT_END_SEGMENTS = frozenset({"lab", "tree", "notebooks", "doc", "edit", "view", "voila", "nbclassic",
                                 "retro", "consoles", "terminals"})
FLOW_VARIABLE = "OKTA_SIGN_IN_FLOW"  # names the flow outright where the rules cannot tell (host networking)
_FLOW_WORDS = {"loopback": "Loopback redirect", "device": "Device grant", "paste": "Paste-back"}


@dataclass(frozen=True)
class Signal:
    """One sign of where the kernel runs: its kind, a label and a place a person reads, and the evidence."""

    kind: str
    label: str
    where: str
    evidence: str


@dataclass(frozen=True)
class Environment:
    """Where the kernel runs and whether the signing-in browser can reach its loopback listener.

    ``kind`` is the most specific sign (``jupyterhub``, ``binder``, ``colab``, ``vscode-remote``, ``ssh``,
    ``docker``), ``remote-page`` for a page on another host with no other sign, else ``local``.
    ``situation`` is a clause a person reads; ``service_prefix`` the Jupyter server's base path
    (``/user/alice/``) when known; ``public_url`` the server's public URL when the hub publishes it.
    """

    kind: str
    label: str
    browser_reaches_kernel: bool
    situation: str
    signals: tuple[Signal, ...] = ()
    page_origin: str | None = None
    service_prefix: str | None = None
    public_url: str | None = None


class Choice(tuple[Flow, str]):
    """A flow and the line saying why (a pair, as it unpacks), and the environment the rules chose it for.

    ``environment`` is None when no rule chose it: ``OKTA_SIGN_IN_FLOW`` named the flow.
    """

    environment: Environment | None

    def __new__(cls, flow: Flow, why: str, environment: Environment | None = None) -> Choice:
        choice = super().__new__(cls, (flow, why))
        choice.environment = environment
        return choice


@dataclass(frozen=True)
class _Page:
    """The parts of a reported page location that matter here."""

    origin: str
    host: str
    netloc: str
    path: str
    loopback: bool


def is_loopback_host(host: str) -> bool:
    """True for localhost names, ``*.localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").rstrip(".").lower()
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _page(location: str | None) -> _Page | None:
    """The page location the front end reported, when it is an http(s) page (a VS Code webview is not)."""
    if not location:
        return None
    try:
        parts = urlsplit(location.strip())
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    netloc = parts.netloc.rpartition("@")[2]  # never a user:password written into the address
    return _Page(f"{parts.scheme}://{netloc}", host, netloc, parts.path or "/", is_loopback_host(host))


def page_location(location: str | None) -> str | None:
    """The page location as kept: an http(s) URL's origin and path, None for anything else (a VS Code webview).

    The query and the fragment are dropped, and any user:password: a Jupyter page's ``?token=`` is a secret.
    """
    page = _page(location)
    return None if page is None else page.origin + page.path


def signals(environ: Mapping[str, str], exists: Callable[[str], bool]) -> tuple[Signal, ...]:
    """Every sign of a kernel away from the browser, most specific first (one per kind)."""
    found: list[Signal] = []
    for kind, label, where, names in _BY_VARIABLE:
        evidence = next((f"{n} is set" for n in names if n in environ), None)
        if evidence is None and kind == "binder" and "REPO_DIR" in environ:  # repo2docker's image, on a hub
            hub = next((n for n in _HUB_VARIABLES if n in environ), None)
            evidence = f"REPO_DIR and {hub} are set" if hub else None
        if evidence is not None:
            found.append(Signal(kind, label, where, evidence))
    for kind, label, where, path in _BY_FILE:
        if kind not in {s.kind for s in found} and exists(path):
            found.append(Signal(kind, label, where, f"{path} exists"))
    return tuple(found)


def service_prefix(environ: Mapping[str, str], page_path: str | None = None) -> str | None:
    """The Jupyter server's base path: ``JUPYTERHUB_SERVICE_PREFIX``, else what precedes ``/lab`` (etc.) in the page."""
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix:
        return "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    if page_path is None:
        return None
    segments = page_path.split("/")
    for index, segment in enumerate(segments):
        if segment in _FRONT_END_SEGMENTS and index > 0:
            base = "/".join(segments[:index]).strip("/")
            return f"/{base}/" if base else "/"
    return None


def detect(
    environ: Mapping[str, str] | None = None,
    page_location: str | None = None,
    *,
    exists: Callable[[str], bool] = os.path.exists,
) -> Environment:
    """Where the kernel runs, from the environment and the page location the front end reported (if any)."""
    env = os.environ if environ is None else environ
    found = signals(env, exists)
    page = _page(page_location)
    first = found[0] if found else None
    if page is not None and not page.loopback:
        reaches = False
        away = f"the kernel runs {first.where} and " if first else ""
        situation = f"{away}the notebook page is at {page.host} (your browser is on another machine)"
    elif page is not None:
        tunnel = next((s for s in found if s.kind != "jupyterhub"), None)
        reaches = tunnel is None
        situation = (f"the notebook page is on this machine ({page.netloc})" if tunnel is None else
                     f"the notebook page is at {page.netloc} but the kernel runs {tunnel.where} "
                     f"({tunnel.evidence}), so that port is forwarded and the kernel's own loopback is not")
    else:
        reaches = first is None
        situation = (f"the kernel runs {first.where} ({first.evidence})" if first else
                     "nothing says the kernel runs away from your browser")
    if first is not None:
        kind, label = first.kind, first.label
    elif page is not None and not page.loopback:
        kind, label = "remote-page", f"a Jupyter server at {page.host}"
    else:
        kind, label = "local", "this machine"
    public = env.get("JUPYTERHUB_PUBLIC_URL") or None
    return Environment(kind, label, reaches, situation, found, page.origin if page else None,
                       service_prefix(env, page.path if page else None), public)


def choose_flow(environment: Environment, provider_metadata_has_device_endpoint: bool) -> Choice:
    """The sign-in flow for where the kernel runs, and one line saying why.

    Loopback when the browser can reach the kernel's listener; otherwise the device grant when the
    provider's discovery document offers it (``device_authorization_endpoint``); otherwise paste-back.
    """
    situation = environment.situation[:1].upper() + environment.situation[1:]
    if environment.browser_reaches_kernel:
        return Choice("loopback", f"Loopback redirect: {situation}, so the browser can reach the kernel's sign-in "
                                  "listener.", environment)
    if provider_metadata_has_device_endpoint:
        return Choice("device", f"Device grant: {situation}, so the browser cannot reach the kernel's sign-in "
                                "listener; the provider offers the device grant, so you sign in on any browser with "
                                "a code.", environment)
    return paste_instead(environment, "the provider offers no device grant")


def paste_instead(environment: Environment, because: str) -> Choice:
    """Paste-back where the browser cannot reach the kernel's listener and ``because`` rules the device grant out.

    Paste-back is Authorization Code + PKCE, which every app made for a notebook has: the browser is sent to the
    redirect URI and fails to load it, and the person pastes the address it landed on (it carries the code).
    """
    situation = environment.situation[:1].upper() + environment.situation[1:]
    return Choice("paste", f"Paste-back: {situation}, so the browser cannot reach the kernel's sign-in listener, and "
                           f"{because}; sign in (Authorization Code + PKCE), then paste the address the browser lands "
                           "on.", environment)


def _importable(module: str) -> bool:
    """True when ``module`` can be imported in this Python (found, not imported)."""
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def has_server_proxy(environ: Mapping[str, str] | None = None, *,
                     importable: Callable[[str], bool] = _importable) -> bool:
    """True when the kernel runs under a JupyterHub single-user server that has jupyter-server-proxy.

    The signs: ``JUPYTERHUB_SERVICE_PREFIX`` is set (the server's base path) and ``jupyter_server_proxy``
    is importable (the kernel runs in the server's environment, where the extension is installed).
    """
    env = os.environ if environ is None else environ
    return bool(env.get("JUPYTERHUB_SERVICE_PREFIX")) and importable("jupyter_server_proxy")


def proxied_url(environment: Environment, port: int) -> str | None:
    """The absolute address jupyter-server-proxy serves a loopback ``port`` at (no trailing slash), None if unknown.

    Absolute only when the page's origin or the hub's public URL is known; a browser needs the whole address.
    """
    uri = proxied_redirect_uri(environment, port, "")
    return uri.rstrip("/") if "://" in uri else None


def proxied_redirect_uri(environment: Environment, port: int, path: str = "callback") -> str:
    """The redirect URI jupyter-server-proxy serves for a listener on ``port``: ``<base>proxy/<port>/callback``.

    Absolute when the page's origin is known (or the hub publishes the server's public URL); otherwise the
    path alone, which is what to append to the address the notebook is served from.
    """
    if not 0 < port < 65536:
        raise ValueError(f"port: 1 to 65535; got {port}")
    tail = f"proxy/{port}/{path.lstrip('/')}"
    prefix = environment.service_prefix or "/"
    if environment.page_origin:
        return f"{environment.page_origin}{prefix}{tail}"
    if environment.public_url:
        return environment.public_url.rstrip("/") + "/" + tail
    return prefix + tail


def proxy_listener(redirect_uri: str | None, environ: Mapping[str, str] | None = None, *,
                   importable: Callable[[str], bool] = _importable) -> str | None:
    """The loopback address jupyter-server-proxy forwards ``redirect_uri`` to, when that URI is this server's
    ``<prefix>proxy/<port>/<path>`` (one registered in the org's app for a single-user server); else None.

    ``https://hub.example.org/user/alice/proxy/8765/callback`` on alice's server gives
    ``http://127.0.0.1:8765/callback``; another user's prefix, a server without the proxy, or a port that
    is not one give None (the redirect URI is then used as it is).
    """
    env = os.environ if environ is None else environ
    if not redirect_uri or not has_server_proxy(env, importable=importable):
        return None
    parts = urlsplit(redirect_uri)
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    prefix = prefix if prefix.endswith("/") else prefix + "/"
    if parts.scheme not in ("http", "https") or not parts.path.startswith(prefix + "proxy/"):
        return None
    port, _, path = parts.path[len(prefix) + len("proxy/"):].partition("/")
    if not port.isdigit() or not 0 < int(port) < 65536 or not path:
        return None
    return f"http://127.0.0.1:{int(port)}/{path}"


def through_proxy(redirect_uri: str | None, environ: Mapping[str, str], *,
                  sandbox: bool = False) -> tuple[Flow, str] | None:
    """The loopback flow and why, for the in-kernel sandbox's proxied redirect URI (``sandbox``) or one that is
    this server's proxy address (``proxy_listener``), unless ``OKTA_SIGN_IN_FLOW`` names a flow; else None."""
    if environ.get(FLOW_VARIABLE):
        return None
    if sandbox:
        return "loopback", ("Loopback redirect through jupyter-server-proxy: the kernel runs on JupyterHub, and its "
                            "server carries the sandbox's sign-in page and the redirect back to the kernel's listener "
                            f"at {redirect_uri}.")
    local = proxy_listener(redirect_uri, environ)
    if local is None:
        return None
    return "loopback", (f"Loopback redirect through jupyter-server-proxy: the redirect URI {redirect_uri} is this "
                        f"server's proxy address for the kernel's listener ({local}).")


def flow_for(environ: Mapping[str, str], exists: Callable[[str], bool],
             has_device_endpoint: Callable[[], bool], page_location: str | None = None) -> Choice:
    """The flow ``OKTA_SIGN_IN_FLOW`` names, else ``choose_flow`` over ``detect`` (ValueError for an unknown name).

    ``has_device_endpoint`` (which reads the provider's discovery document) is asked only when the browser cannot
    reach the kernel's listener; ``page_location`` is the notebook page's own, when the front end reported it.
    """
    named = environ.get(FLOW_VARIABLE, "").strip().lower()
    if named:
        if named not in _FLOW_WORDS:
            raise ValueError(f"{FLOW_VARIABLE}={named!r} is not a flow: use loopback, device or paste.")
        return Choice(named, f"{_FLOW_WORDS[named]}: {FLOW_VARIABLE}={named} says so.")  # type: ignore[arg-type]
    environment = detect(environ, page_location, exists=exists)
    return choose_flow(environment, not environment.browser_reaches_kernel and has_device_endpoint())


def for_kernel(redirect_uri: str | None, environ: Mapping[str, str] | None, exists: Callable[[str], bool] | None,
               has_device_endpoint: Callable[[], bool], page_location: str | None = None, *,
               sandbox: bool = False) -> tuple[Flow, str]:
    """The sign-in flow for where the kernel runs and one line saying why (``Session.choose_flow``).

    A redirect through jupyter-server-proxy first (the in-kernel sandbox's, ``sandbox``, or one registered for this
    server's proxy: ``through_proxy``), else ``flow_for``; ``environ`` and ``exists`` default to the process's
    environment and file system. A ConfigError for a flow ``OKTA_SIGN_IN_FLOW`` names that is none.
    """
    environ = os.environ if environ is None else environ
    proxied = through_proxy(redirect_uri, environ, sandbox=sandbox)
    if proxied is not None:
        return proxied
    try:
        return flow_for(environ, exists or os.path.exists, has_device_endpoint, page_location)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
