"""What the stores on a database promise beyond the contract: a row the table itself refuses (an
event id stored already), or one the codec cannot encode when the store writes it (personal data
of a forgotten person), fails its own append only, even when the group commit writes the group's
rows with one statement. The in-memory store has no such table and encodes up front, so it is not
held to this."""

from __future__ import annotations

import asyncio
import dataclasses

from fordra.kernel.eventstore import StreamAppend
from tests.kernel.contracts.eventstore import (
    _TIMEOUT,
    StoreHarness,
    assert_gap_free,
    envelope,
    stream_append,
)


class RefusedRowContract(StoreHarness):
    async def test_an_event_id_stored_twice_fails_its_own_append_only(self) -> None:
        # Given a store holding one event
        store = await self.open_store()
        (first,) = await store.append([stream_append("first", 0, [{"n": 0}])])

        # When 20 appends to new streams and 1 whose event reuses the stored event's id are
        # fired at once (so that the writer takes them as one group)
        (fresh,) = stream_append("twin", 0, [{"n": -1}]).events
        twin = StreamAppend("twin", 0, [dataclasses.replace(fresh, event_id=first.event_id)])
        results = await asyncio.wait_for(
            asyncio.gather(
                *(store.append([stream_append(f"fresh-{i}", 0, [{"i": i}])]) for i in range(10)),
                store.append([twin]),
                *(
                    store.append([stream_append(f"fresh-{i}", 0, [{"i": i}])])
                    for i in range(10, 20)
                ),
                return_exceptions=True,
            ),
            _TIMEOUT,
        )

        # Then only that append failed; the 20 others are committed, the log has no gap
        assert isinstance(results[10], Exception)
        committed = [r for i, r in enumerate(results) if i != 10]
        assert all(isinstance(r, list) and len(r) == 1 for r in committed), committed
        assert await store.max_position() == 21
        assert_gap_free([e.position for e in await store.read_log(0)])
        assert await store.read_stream("twin") == []
        # and the store still takes appends
        (after,) = await store.append([stream_append("twin", 0, [{"n": 1}])])
        assert after.position == 22

    async def test_personal_data_of_a_forgotten_person_fails_its_own_append_only(self) -> None:
        # Given a store, and a person whose key has been forgotten (no new personal data for them)
        store = await self.open_store()
        self.sealer.forget("cust-gone")

        # When 20 appends to new streams and 1 carrying that person's data are fired at once
        gone = envelope(
            "customer-gone",
            1,
            {"customer_id": "cust-gone"},
            personal={"name": "A"},
            subject="cust-gone",
        )
        results = await asyncio.wait_for(
            asyncio.gather(
                *(store.append([stream_append(f"fresh-{i}", 0, [{"i": i}])]) for i in range(10)),
                store.append([StreamAppend("customer-gone", 0, [gone])]),
                *(
                    store.append([stream_append(f"fresh-{i}", 0, [{"i": i}])])
                    for i in range(10, 20)
                ),
                return_exceptions=True,
            ),
            _TIMEOUT,
        )

        # Then that append is refused, saying why; the 20 others are committed without a gap
        assert isinstance(results[10], ValueError)
        assert "forgotten" in str(results[10])
        committed = [r for i, r in enumerate(results) if i != 10]
        assert all(isinstance(r, list) and len(r) == 1 for r in committed), committed
        assert_gap_free([e.position for e in await store.read_log(0)])
        assert await store.max_position() == 20
        assert await store.read_stream("customer-gone") == []
