"""Adapters of the read side."""
