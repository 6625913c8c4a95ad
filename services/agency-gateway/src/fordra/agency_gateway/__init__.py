"""The agency gateway: claims handed to a collection agency and its statuses back (domain.md §5).

Not built yet. The folder has the four rooms every context has."""
