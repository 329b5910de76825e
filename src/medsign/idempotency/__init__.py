"""idempotency package."""
