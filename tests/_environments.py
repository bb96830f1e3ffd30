"""The environment variables each place a kernel may run in sets, for the flow-choice tests of the magic
(tests/test_profiles.py) and of the script API (tests/test_api.py)."""

from __future__ import annotations

SIGNS: dict[str, dict[str, str]] = {
    "local": {},
    "jupyterhub": {"JUPYTERHUB_SERVICE_PREFIX": "/user/alice/", "JUPYTERHUB_USER": "alice"},
    "binder": {"BINDER_REPO_URL": "https://github.com/o/r", "JUPYTERHUB_USER": "jovyan-x"},
    "colab": {"COLAB_RELEASE_TAG": "release-1"},
    "ssh": {"SSH_CONNECTION": "10.0.0.2 50000 10.0.0.1 22"},
    "vscode-remote": {"REMOTE_CONTAINERS": "true"},
}
