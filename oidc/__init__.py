"""The OpenID Connect protocol: discovery, keys, authorize, token, userinfo, the SSO session."""
