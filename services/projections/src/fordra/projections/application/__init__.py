"""Projections and their queries."""
