"""web api package."""
