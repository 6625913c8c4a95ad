"""Adapters of invoicing."""
