"""The HTML of every printed document of Fordra (domain.md §2 "Invoice content"; §4 "Reminder";
seed 001): one Jinja2 environment per context's templates, over the kernel's
``templates/document_base.html`` (the page, its style, Skatteverket's forwarding sheet, the
window, the sender's footer), which the context's template extends.

Autoescaping is on (what departmental systems send is text, never markup) and an undefined name
fails the rendering instead of printing nothing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

__all__ = ["document_environment"]

_KERNEL_TEMPLATES: Final[Path] = Path(__file__).resolve().parent / "templates"


@cache
def document_environment(templates: Path) -> Environment:
    """An environment loading the context's own ``templates`` first, then the kernel's base;
    one per folder, built on first use, not at import (style.md: nothing happens at import
    time)."""
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(templates), FileSystemLoader(_KERNEL_TEMPLATES)]),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
