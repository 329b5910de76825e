"""branches package: an organization's branches and the branch scope of API tokens."""
