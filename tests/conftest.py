"""Shared fixtures: an in-process IPython shell with the extension loaded, and a free port."""

from __future__ import annotations

import socket

import pytest


@pytest.fixture
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def shell():
    """A fresh InteractiveShell with okta_magic loaded; unloaded (sandbox, listener stopped) afterwards."""
    from IPython.core.interactiveshell import InteractiveShell

    ip = InteractiveShell.instance(history_length=0)
    ip.history_manager.enabled = False
    ip.run_line_magic("load_ext", "okta_magic")
    try:
        yield ip
    finally:
        ip.run_line_magic("unload_ext", "okta_magic")
        ip.user_ns.clear()
        ip.init_user_ns()
