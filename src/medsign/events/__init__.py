"""Domain events for webhooks, written in the same transaction as the change."""
