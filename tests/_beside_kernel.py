"""An IPython kernel that shows no sign of running away from the browser, for the page-location browser test.

The sign-in flow rules (``okta_magic.flows.where``) read environment variables (JupyterHub, Binder, Colab, a VS Code
remote, SSH, ``OKTA_SIGN_IN_FLOW``) and container marker files. Where the tests run, in a container or over SSH,
they would choose the device grant before the page has said anything, and the test run names the loopback redirect
outright (tests/conftest.py). The browser the tests drive runs beside the kernel, so this kernel drops those
variables and does not see the marker files: it stands for a kernel on a person's own machine, where nothing but
the notebook page's location tells the rules that the browser is elsewhere.

JupyterLab starts it from a kernel spec (``JupyterLab.add_kernel``) as ``python _beside_kernel.py -f <connection
file>``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

_real_exists = os.path.exists
_markers: set[str] = set()


def _exists(path: Any) -> bool:
    """``os.path.exists``, except that the container marker files are not there."""
    return path not in _markers and _real_exists(path)


def main() -> None:
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # this folder (the tests) is not on a kernel's path
    os.path.exists = _exists  # before okta_magic.flows.where binds it as a default
    from okta_magic.flows import where

    # the rules' own tables of signs, so that a sign added there is dropped here too
    _markers.update(path for *_, path in where._BY_FILE)
    signs = {name for *_, names in where._BY_VARIABLE for name in names}
    for name in (*signs, "REPO_DIR", where.FLOW_VARIABLE):
        os.environ.pop(name, None)
    assert not where.signals(os.environ, os.path.exists), "the kernel still shows a sign of running elsewhere"

    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
