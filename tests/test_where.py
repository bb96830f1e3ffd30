"""Where the kernel runs (okta_magic.flows.where): each environment detected, the flow chosen for it, the proxied URI."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from okta_magic.flows.where import (
    Environment,
    choose_flow,
    detect,
    flow_for,
    is_loopback_host,
    page_location,
    paste_instead,
    proxied_redirect_uri,
)


def no_files(path: str) -> bool:
    """No marker file exists (not in a container)."""
    return False


def only(*paths: str) -> Callable[[str], bool]:
    """A file-exists check that finds exactly these paths."""
    return lambda path: path in paths


def where(env: dict[str, str] | None = None, page: str | None = None,
          exists: Callable[[str], bool] = no_files) -> Environment:
    """detect() over a given environment, page location and file system."""
    return detect(env or {}, page, exists=exists)


def flows(environment: Environment) -> tuple[str, str]:
    """The flow chosen with and without a device endpoint."""
    return choose_flow(environment, True)[0], choose_flow(environment, False)[0]


HUB = {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "JUPYTERHUB_API_URL": "http://127.0.0.1:8081/hub/api",
       "JUPYTERHUB_USER": "alice"}


# -- each environment ----------------------------------------------------------------------------------


def test_a_plain_local_kernel_uses_the_loopback_redirect() -> None:
    env = where({"HOME": "/home/ann", "VSCODE_PID": "1234"})  # local VS Code sets VSCODE_* too
    assert (env.kind, env.browser_reaches_kernel, env.signals) == ("local", True, ())
    flow, reason = choose_flow(env, True)
    assert flow == "loopback" and reason.startswith("Loopback redirect: Nothing says the kernel runs away")


@pytest.mark.parametrize("page", ["http://localhost:8888/lab/tree/a.ipynb", "http://127.0.0.1:8888/lab",
                                  "http://[::1]:8888/notebooks/a.ipynb", "http://jupyter.localhost/lab"])
def test_a_page_on_this_machine_reaches_the_listener(page: str) -> None:
    env = where({}, page)
    assert env.kind == "local" and env.browser_reaches_kernel and env.service_prefix == "/"
    flow, reason = choose_flow(env, True)
    assert flow == "loopback" and "the notebook page is on this machine" in reason.lower()


@pytest.mark.parametrize("variable", ["JUPYTERHUB_SERVICE_PREFIX", "JUPYTERHUB_API_URL", "JUPYTERHUB_USER"])
def test_jupyterhub_is_named_by_any_of_its_variables(variable: str) -> None:
    env = where({variable: HUB[variable]})
    assert env.kind == "jupyterhub" and env.label == "JupyterHub" and not env.browser_reaches_kernel
    assert flows(env) == ("device", "paste")
    flow, reason = choose_flow(env, True)
    assert reason == (f"Device grant: The kernel runs on JupyterHub ({variable} is set), so the browser cannot "
                      "reach the kernel's sign-in listener; the provider offers the device grant, so you sign in "
                      "on any browser with a code.")


def test_jupyterhub_seen_from_a_students_browser() -> None:
    env = where(HUB, "https://hub.example.org/user/alice/lab/tree/lesson.ipynb")
    assert env.kind == "jupyterhub" and not env.browser_reaches_kernel
    assert env.page_origin == "https://hub.example.org" and env.service_prefix == "/user/alice/"
    assert "the notebook page is at hub.example.org" in env.situation
    assert proxied_redirect_uri(env, 8765) == "https://hub.example.org/user/alice/proxy/8765/callback"


def test_a_hub_on_this_machine_seen_on_localhost_reaches_the_listener() -> None:
    env = where(HUB, "http://localhost:8000/user/alice/lab")
    assert env.kind == "jupyterhub" and env.browser_reaches_kernel
    assert choose_flow(env, True)[0] == "loopback"


@pytest.mark.parametrize("extra", [{"BINDER_SERVICE_HOST": "10.0.0.1"},
                                   {"BINDER_REF_URL": "https://github.com/o/r/tree/main"},
                                   {"BINDER_LAUNCH_HOST": "https://mybinder.org/"},
                                   {"REPO_DIR": "/home/jovyan"}])
def test_binder_wins_over_the_hub_it_runs_on(extra: dict[str, str]) -> None:
    env = where({**HUB, **extra})
    assert env.kind == "binder" and [s.kind for s in env.signals] == ["binder", "jupyterhub"]
    assert flows(env) == ("device", "paste") and "on Binder" in choose_flow(env, True)[1]


def test_repo_dir_alone_is_not_binder() -> None:
    assert where({"REPO_DIR": "/home/jovyan"}).kind == "local"  # a repo2docker image run by hand


@pytest.mark.parametrize("variable", ["COLAB_RELEASE_TAG", "COLAB_GPU", "COLAB_BACKEND_VERSION"])
def test_colab(variable: str) -> None:
    env = where({variable: "release-colab_20250101"})
    assert env.kind == "colab" and env.label == "Google Colab" and flows(env) == ("device", "paste")
    env = where({variable: "1"}, "https://colab.research.google.com/drive/abc")
    assert not env.browser_reaches_kernel and "colab.research.google.com" in env.situation


@pytest.mark.parametrize("variable", ["SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY"])
def test_an_ssh_login(variable: str) -> None:
    env = where({variable: "10.0.0.5 51000 10.0.0.9 22"})
    assert env.kind == "ssh" and flows(env) == ("device", "paste")
    assert f"over SSH ({variable} is set)" in choose_flow(env, False)[1]


def test_ssh_port_forwarding_shows_the_page_on_localhost_but_the_listener_stays_remote() -> None:
    env = where({"SSH_CONNECTION": "10.0.0.5 51000 10.0.0.9 22"}, "http://localhost:8888/lab")
    assert env.kind == "ssh" and not env.browser_reaches_kernel
    assert "port is forwarded" in env.situation and choose_flow(env, True)[0] == "device"


@pytest.mark.parametrize("variable", ["REMOTE_CONTAINERS", "REMOTE_CONTAINERS_IPC", "CODESPACES",
                                      "VSCODE_REMOTE_CONTAINERS_SESSION", "VSCODE_AGENT_FOLDER"])
def test_a_vs_code_remote_wins_over_the_ssh_it_runs_over(variable: str) -> None:
    env = where({variable: "true", "VSCODE_PID": "1", "SSH_CONNECTION": "10.0.0.5 51000 10.0.0.9 22"})
    assert env.kind == "vscode-remote" and [s.kind for s in env.signals] == ["vscode-remote", "ssh"]
    assert flows(env) == ("device", "paste") and "in a VS Code remote" in choose_flow(env, True)[1]


def test_a_vs_code_webview_location_is_not_a_page_location() -> None:
    env = where({}, "vscode-webview://1f2e3d/index.html?id=abc")
    assert env.kind == "local" and env.browser_reaches_kernel and env.page_origin is None


@pytest.mark.parametrize("marker", ["/.dockerenv", "/run/.containerenv"])
def test_a_container(marker: str) -> None:
    env = where({}, exists=only(marker))
    assert env.kind == "docker" and env.label == "a container" and flows(env) == ("device", "paste")
    assert f"in a container ({marker} exists)" in choose_flow(env, True)[1]


def test_a_container_with_a_published_port_shows_localhost_but_its_loopback_is_its_own() -> None:
    env = where({}, "http://127.0.0.1:8888/lab", exists=only("/.dockerenv"))
    assert env.kind == "docker" and not env.browser_reaches_kernel and "port is forwarded" in env.situation


def test_a_hub_spawning_into_containers_is_named_jupyterhub() -> None:
    env = where(HUB, exists=only("/.dockerenv"))
    assert env.kind == "jupyterhub" and [s.kind for s in env.signals] == ["jupyterhub", "docker"]
    local_hub = where(HUB, "http://localhost:8000/user/alice/lab", exists=only("/.dockerenv"))
    assert not local_hub.browser_reaches_kernel  # the container's loopback is not the browser's


def test_a_page_on_another_host_means_the_browser_is_elsewhere() -> None:
    env = where({}, "http://gpu-box.example.net:8888/lab/tree/a.ipynb")
    assert (env.kind, env.browser_reaches_kernel) == ("remote-page", False)
    assert env.label == "a Jupyter server at gpu-box.example.net"
    flow, reason = choose_flow(env, False)
    assert flow == "paste" and reason.startswith("Paste-back: The notebook page is at gpu-box.example.net")
    assert "paste the address the browser lands on" in reason


def test_detect_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    assert "jupyterhub" in {s.kind for s in detect(exists=no_files).signals}


@pytest.mark.parametrize("env", [{}, HUB, {"COLAB_GPU": "0"}, {"SSH_TTY": "/dev/pts/1"}],
                         ids=["local", "hub", "colab", "ssh"])
@pytest.mark.parametrize("device", [True, False])
def test_every_reason_is_one_line_without_magic_syntax(env: dict[str, str], device: bool) -> None:
    _, reason = choose_flow(where(env), device)
    assert "\n" not in reason and "%" not in reason and reason.endswith(".")


def test_paste_back_in_the_device_grants_place_says_why_and_knows_where_it_runs() -> None:
    container = where(exists=only("/.dockerenv"))
    chosen = choose_flow(container, True)
    assert chosen == ("device", chosen[1]) and chosen.environment == container  # a pair, as it always unpacked
    flow, why = paste_instead(container, "the app 0oa1 may not use the device grant (the org answered "
                                         "unauthorized_client)")
    assert flow == "paste" and why == (
        "Paste-back: The kernel runs in a container (/.dockerenv exists), so the browser cannot reach the kernel's "
        "sign-in listener, and the app 0oa1 may not use the device grant (the org answered unauthorized_client); "
        "sign in (Authorization Code + PKCE), then paste the address the browser lands on.")
    # only what the rules chose knows where it runs; a flow the variable names does not
    assert flow_for({"OKTA_SIGN_IN_FLOW": "device"}, only("/.dockerenv"), lambda: True).environment is None
    assert flow_for({}, only("/.dockerenv"), lambda: True).environment == container


# -- the proxied redirect URI --------------------------------------------------------------------------


def test_proxied_redirect_uri_without_a_page_uses_the_hubs_public_url_or_the_path() -> None:
    assert proxied_redirect_uri(where(HUB), 8765) == "/user/alice/proxy/8765/callback"
    public = where({**HUB, "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/user/alice/"})
    assert proxied_redirect_uri(public, 8765) == "https://hub.example.org/user/alice/proxy/8765/callback"
    assert where({**HUB, "JUPYTERHUB_PUBLIC_URL": ""}).public_url is None  # set but unknown to the hub


def test_proxied_redirect_uri_on_a_plain_jupyter_server_takes_the_base_from_the_page() -> None:
    env = where({}, "http://gpu-box.example.net:8888/jupyter/lab/tree/a.ipynb")
    assert env.service_prefix == "/jupyter/"
    assert proxied_redirect_uri(env, 9000) == "http://gpu-box.example.net:8888/jupyter/proxy/9000/callback"
    assert proxied_redirect_uri(where({}, "http://box:8888/lab"), 9000) == "http://box:8888/proxy/9000/callback"
    assert proxied_redirect_uri(where({}), 9000) == "/proxy/9000/callback"  # a server's default base URL


def test_the_service_prefix_is_normalised_and_the_port_checked() -> None:
    assert where({"JUPYTERHUB_SERVICE_PREFIX": "/user/bob"}).service_prefix == "/user/bob/"
    assert where({"JUPYTERHUB_SERVICE_PREFIX": "user/bob/"}).service_prefix == "/user/bob/"
    assert where({}, "http://localhost:8888/some/odd/page").service_prefix is None
    with pytest.raises(ValueError, match="port"):
        proxied_redirect_uri(where(HUB), 0)


@pytest.mark.parametrize(("host", "loopback"), [("localhost", True), ("LOCALHOST.", True), ("127.0.0.1", True),
                                                ("127.8.9.10", True), ("::1", True), ("[::1]", True),
                                                ("app.localhost", True), ("10.0.0.1", False),
                                                ("hub.example.org", False), ("localhost.example.org", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


# -- the page location a front end reports ----------------------------------------------------------------


@pytest.mark.parametrize(("reported", "kept"), [
    ("http://127.0.0.1:8888/lab/tree/a.ipynb?token=0123abcd&reset", "http://127.0.0.1:8888/lab/tree/a.ipynb"),
    ("https://hub.example.org/user/alice/lab/tree/l.ipynb#cell-3", "https://hub.example.org/user/alice/lab/tree/l.ipynb"),
    ("https://ann:hunter2@gpu-box.example.net:8443/lab?x=1", "https://gpu-box.example.net:8443/lab"),
    ("http://[::1]:8888", "http://[::1]:8888/"),
])
def test_a_page_location_is_kept_without_its_query_fragment_or_password(reported: str, kept: str) -> None:
    assert page_location(reported) == kept
    for secret in ("token", "0123abcd", "hunter2", "cell-3", "reset"):
        assert secret not in (page_location(reported) or "")


@pytest.mark.parametrize("reported", ["vscode-webview://1f2e3d/index.html?id=abc", "file:///home/ann/a.html",
                                      "null/lab", "", "http://", "not a url at all"])
def test_anything_but_an_http_page_is_no_location(reported: str) -> None:
    assert page_location(reported) is None


def test_the_origin_of_a_page_never_carries_a_password() -> None:
    env = where({}, "https://ann:hunter2@gpu-box.example.net:8888/lab/tree/a.ipynb")
    assert env.page_origin == "https://gpu-box.example.net:8888" and "hunter2" not in env.situation
    assert proxied_redirect_uri(env, 8765) == "https://gpu-box.example.net:8888/proxy/8765/callback"


def test_the_flow_choice_takes_the_page_location() -> None:
    asked: list[bool] = []

    def device() -> bool:
        asked.append(True)
        return True

    assert flow_for({}, no_files, device)[0] == "loopback" and not asked  # nothing says otherwise
    flow, why = flow_for({}, no_files, device, "https://jupyter.example.net/lab/tree/a.ipynb?token=s")
    assert flow == "device" and asked and "the notebook page is at jupyter.example.net" in why.lower()
    assert "token" not in why
    assert flow_for({}, no_files, device, "http://localhost:8888/lab")[0] == "loopback"
    named = flow_for({"OKTA_SIGN_IN_FLOW": "loopback"}, no_files, device, "https://jupyter.example.net/lab")
    assert named == ("loopback", "Loopback redirect: OKTA_SIGN_IN_FLOW=loopback says so.")
