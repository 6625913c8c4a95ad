"""Jinja2 templates of the invoicing outputs (a package so that a wheel ships them as package data:
pyproject's rule includes *.html of every package)."""
