"""okta_magic: sign in to an Okta org from a notebook and query its Management API.

In a notebook::

    %load_ext okta_magic
    %okta_login --sandbox --as admin          # or --org-url/--client-id for a real org
    users = %okta GET /api/v1/users

In a script (no IPython needed)::

    import okta_magic
    okta_magic.login_sandbox("admin")         # or okta_magic.login(org_url=..., client_id=...)
    users = okta_magic.get("/api/v1/users")
    other = okta_magic.session("helpdesk")    # a second sign-in beside the default one
    okta_magic.login_sandbox("helpdesk", session=other)

Heavy modules (pandas, the HTTP client, the sandbox) load on first use so that
``%load_ext okta_magic`` stays fast.
"""

from __future__ import annotations

import sys
import types
from typing import TYPE_CHECKING, Any

from okta_magic.version import __version__

_API = ("login", "login_sandbox", "finish_login", "use_token", "logout", "get", "get_each", "request", "http_client",
        "current_session", "current_profiles", "session", "profile", "close_current_session", "Session", "audit",
        "sync", "sql", "snapshot")
__all__ = [*_API, "load_ipython_extension", "unload_ipython_extension", "__version__"]

if TYPE_CHECKING:
    from okta_magic.api import (
        Session,
        audit,
        close_current_session,
        current_profiles,
        current_session,
        finish_login,
        get,
        get_each,
        http_client,
        login,
        login_sandbox,
        logout,
        profile,
        request,
        session,
        snapshot,
        sql,
        sync,
        use_token,
    )


def __getattr__(name: str) -> Any:
    """The script API (``api.py``), imported on first use so that ``import okta_magic`` stays light."""
    if name in _API:
        from okta_magic import api

        return getattr(api, name)
    raise AttributeError(f"module 'okta_magic' has no attribute {name!r}")


class _Package(types.ModuleType):
    """This package as a module object whose script-API names no submodule import can take over."""

    def __setattr__(self, name: str, value: object) -> None:
        # Importing a submodule binds it on its package (importlib: setattr(parent, child, module)): a submodule
        # named like a script-API function (a module session.py once hid okta_magic.session(NAME)) must never
        # take the name over; the module stays reachable through sys.modules and `from ... import`.
        if name in _API and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics on ``ipython`` (``%load_ext okta_magic``), handing them the script API's default session.

    So ``%okta_login`` and ``okta_magic.get(...)`` in the same notebook share one sign-in.
    """
    from okta_magic.api import current_profiles
    from okta_magic.notebook.audit import add_magic as add_audit
    from okta_magic.notebook.magics import OktaMagics
    from okta_magic.notebook.snapshot import add_magics

    magics = OktaMagics(ipython, profiles=current_profiles())
    add_magics(magics)  # %okta_sync, %okta_sql and %%okta_sql (notebook/snapshot.py)
    add_audit(magics)  # %okta_audit (notebook/audit.py)
    ipython.register_magics(magics)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics and close their session (listener, clients, sandbox); the default starts afresh."""
    from okta_magic.api import close_current_session

    # IPython has no API to take magics out again: MagicsManager offers register, register_function,
    # register_alias and register_lazy and no inverse, and ExtensionManager.unload_extension only calls this
    # function. So this undoes what register() did (the registry entry, each name in the magics table) and what
    # Magics.__init__ did (shell.configurables), reading the names from the instance's own table (magics.magics):
    # a name another extension has since taken over stays.
    magics = ipython.magics_manager.registry.pop("OktaMagics", None)
    if magics is not None:
        magics.close()
        close_current_session(only=magics.profiles.default)
        for kind, table in ipython.magics_manager.magics.items():
            for name, function in magics.magics.get(kind, {}).items():
                if table.get(name) == function:
                    del table[name]
    else:
        close_current_session()
    ipython.configurables[:] = [c for c in ipython.configurables if type(c).__name__ != "OktaMagics"]
