"""A small relying party served at /demo, to try sign-in end to end (authorization code + PKCE)."""
