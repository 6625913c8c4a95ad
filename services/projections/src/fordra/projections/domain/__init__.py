"""Pure rules of the read side."""
