"""Adapters of this context (files, external APIs)."""
