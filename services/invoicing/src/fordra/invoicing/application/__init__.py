"""Invoicing's use cases: one function per command."""
