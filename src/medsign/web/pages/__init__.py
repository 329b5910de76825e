"""web pages package."""
