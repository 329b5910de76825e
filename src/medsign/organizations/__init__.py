"""organizations package."""
