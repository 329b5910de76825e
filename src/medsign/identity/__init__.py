"""Identity providers (OpenID Connect, ESIA-style): registration, the login that
becomes a signature, and the verified identities it leaves on patient records."""
