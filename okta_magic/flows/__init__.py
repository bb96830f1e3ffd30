"""A person's sign-in as it runs: the browser with a loopback listener or paste-back, the device grant.

``browser`` (Authorization Code + PKCE, RFC 6749 §4.1 / RFC 8252), ``loopback`` (the redirect's
listener), ``device`` (an RFC 8628 device sign-in polling for its token) and ``where`` (where the
kernel runs, and so which flow reaches the person).
"""
