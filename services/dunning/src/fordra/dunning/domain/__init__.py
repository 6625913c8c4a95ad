"""Pure rules of this context: no I/O."""
