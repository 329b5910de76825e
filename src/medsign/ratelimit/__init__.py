"""Rate limits per API token: an in-process token bucket (see :mod:`.bucket`)."""
