"""Text as a request may carry it: names, addresses and free text that end up on letters, in PDF
and XML invoices, in bank files and in both stores.

JSON lets a string hold any code point, escaped: NUL, a terminal's escape sequences, C1 controls,
and lone surrogates, which are not text at all (UTF-8 cannot encode them, so storing one failed
with a 500). None of them belongs in a name or an address, so these types refuse them where they
come in, naming the field. Free text (a reason, a note) may hold line breaks and tabs; nothing
else of the control characters. Events keep plain ``str``: an event once stored must always load.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

# C0 controls, DEL and C1 controls (Unicode category Cc), and the surrogate code points (Cs).
_CONTROL_OR_SURROGATE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, less tab, line feed and carriage return.
_CONTROL_IN_FREE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# The JSON Schema patterns that say the same to clients (and to the API fuzzer): the surrogates
# cannot be written in a schema that is itself JSON text, and a JSON string holding one is
# refused before validation anyway (fordra.kernel.web.StrictJsonBodies).
_LINE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
_FREE_TEXT_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"


def _refuse(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found is not None:
            raise PydanticCustomError(
                "text_control_character",
                "{what} may not hold the control character or lone surrogate U+{code} "
                "(at position {position})",
                {"what": what, "code": f"{ord(found.group()):04X}", "position": found.start()},
            )
        return value

    return AfterValidator(check)


# A name, an address line, a description: one line of printable text.
SingleLine = Annotated[
    str,
    _refuse(_CONTROL_OR_SURROGATE, "a single line of text"),
    Field(json_schema_extra={"pattern": _LINE_PATTERN}),
]
# A reason or a note: printable text, line breaks and tabs allowed.
FreeText = Annotated[
    str,
    _refuse(_CONTROL_IN_FREE_TEXT, "text"),
    Field(json_schema_extra={"pattern": _FREE_TEXT_PATTERN}),
]
