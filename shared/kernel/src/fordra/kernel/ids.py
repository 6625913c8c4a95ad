"""New ids for events and aggregates: UUIDv7, time-ordered.

A UUIDv7 starts with the millisecond it was made (RFC 9562 §5.7), so ids made one after another
sort together. The stores index ``event_id`` and ``stream_id`` (``invoice-<id>``) in B-trees: a
random uuid4 lands on a random page of each index and a large store reads and dirties a page per
insert, a time-ordered id appends to the right-hand pages that are already in the cache
(docs/performance.md, "issue 12: write side"). The ids stay unguessable enough for what they name:
74 random bits after the timestamp, and no id grants access on its own.

Python's own ``uuid.uuid7`` arrives in 3.14; until then ``uuid_utils`` makes them (and ten times
faster than ``uuid.uuid4``).
"""

from __future__ import annotations

import uuid_utils


def new_id() -> str:
    """A new id in the canonical text form (``xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx``)."""
    return str(uuid_utils.uuid7())
