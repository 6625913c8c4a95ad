"""Pure rules of invoicing: no I/O, only the standard library, pydantic and the kernel."""
