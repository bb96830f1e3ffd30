"""okta_magic: sign in to an Okta org from a notebook and query its Management API.

    %load_ext okta_magic
    %okta_login --sandbox --as admin
    users = %okta GET /api/v1/users

The plain Python API (``okta_magic.login``, ``okta_magic.get`` …) works without
IPython; the magics are a thin layer over it.
"""

from __future__ import annotations

__version__ = "0.1.0"
