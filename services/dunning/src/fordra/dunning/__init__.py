"""Dunning: reminders, late interest, payment plans and hand-over to the agency (domain.md §3-§5).

Not built yet: its issue follows payments. The folder has the four rooms every context has."""
