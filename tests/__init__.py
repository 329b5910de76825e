"""medsign test suite."""
