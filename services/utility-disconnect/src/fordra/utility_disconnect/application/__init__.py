"""Use cases of this context: one function per command."""
