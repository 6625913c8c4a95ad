"""Invoicing: the customer register and the invoices departmental systems publish (domain.md §2)."""
