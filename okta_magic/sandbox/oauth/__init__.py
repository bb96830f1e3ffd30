"""The sandbox's Org Authorization Server: one module per endpoint, over one store of grants.

``discovery`` and ``keys`` describe the server; ``authorize`` signs a person in and
answers with a code or tokens; ``token`` exchanges grants (``issue`` builds what a
grant yields); ``device`` runs RFC 8628; ``revoke``, ``introspect``, ``userinfo`` and
``logout`` are the rest. ``clients`` authenticates the calling client; ``grants`` holds
what is in flight. The route table is in ``okta_magic.sandbox.app``.
"""
