"""Utility disconnection: electricity (ellagen 11 kap.) and water (LAV 43 §) under strict legal
steps, social services told first (domain.md §6-§7).

Not built yet. The folder has the four rooms every context has."""
