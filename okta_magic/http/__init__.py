"""The HTTP layer: the Management API client and what it is made of.

``client`` (the org's client: auth, retries, pacing, paging), ``stream`` (a paged pull as a page
iterator, fetched ahead), ``page`` (one answer's body and headers), ``orgauth`` (the token goes to the
org's origin only), ``pacer`` and ``ratelimit`` (Okta's rate limits), ``progress`` (bars and waits),
``apierrors`` and ``neterrors`` (what went wrong, as structured errors). Nothing here knows a notebook.
"""
