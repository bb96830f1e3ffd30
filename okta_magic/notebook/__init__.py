"""The notebook front end: the magics, how their lines are read, the sign-in panel, the demo.

``magics`` (``%okta_login``, ``%okta`` ... as thin shells over the script API's layers), ``options``
(how a ``%okta`` line is read), ``widgets`` (the sign-in panel) and ``demo`` (the quickstart run end
to end against the sandbox, ``make demo``). IPython, traitlets and ipywidgets live only here.
"""
