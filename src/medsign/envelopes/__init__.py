"""envelopes package."""
