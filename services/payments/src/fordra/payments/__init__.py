"""Payments: bank files in (camt.054, BgMax, Autogiro), matched and allocated (domain.md §3, §9).

Not built yet: its issue follows invoicing. The folder has the four rooms every context has."""
