"""Sessions: one org's sign-in each, several side by side.

``session`` (a ``Session``: configuration, token keeper, sign-in in flight, clients), ``profiles``
(the default session and the named ones), ``signin`` (a sign-in from start to finish for every front
end) and ``kernel_sandbox`` (the in-kernel sandbox org a session starts or shares).
"""
