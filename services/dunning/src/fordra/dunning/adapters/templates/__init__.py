"""Jinja2 templates of the dunning letters (a package so that a wheel ships them as package data,
as invoicing's templates)."""
