"""Unit tests of the storage package (no I/O)."""
