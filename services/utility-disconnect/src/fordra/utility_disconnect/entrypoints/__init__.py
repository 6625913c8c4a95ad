"""Entrypoints of this context: HTTP routers and consumers."""
