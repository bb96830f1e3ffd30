"""OAuth 2.0 and OpenID Connect, one module per specification, as the org's endpoints speak them.

``discovery`` (OIDC Discovery / RFC 8414), ``authorize`` (RFC 6749 §4.1 with RFC 7636 PKCE),
``client_auth`` (RFC 6749 §2.3, RFC 7523 private_key_jwt), ``token_endpoint`` (RFC 6749 §4-6),
``device_grant`` (RFC 8628), ``revocation`` (RFC 7009), ``idtoken`` (OIDC Core §3.1.3.7) and
``curl`` (the same requests shown as curl lines, for teaching). They raise structured errors.
"""
