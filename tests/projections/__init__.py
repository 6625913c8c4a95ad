"""Tests of the read side (services/projections)."""
