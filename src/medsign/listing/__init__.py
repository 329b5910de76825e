"""Polling: list endpoints with keyset (cursor) pagination and change filters."""
