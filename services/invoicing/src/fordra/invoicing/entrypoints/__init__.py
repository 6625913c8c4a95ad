"""Invoicing's entrypoints: the HTTP router."""
