"""Domain rules: state machines, policy and value objects. Standard library only."""
