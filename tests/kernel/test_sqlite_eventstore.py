"""``SqliteEventStore`` against the event-store contract, plus what only a file-backed store has:
reopening, and a process killed in the middle of its group commits."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import defaultdict
from pathlib import Path

import pytest

from fordra.kernel.codec import ROW_COLUMNS, EnvelopeCodec
from fordra.kernel.eventstore import EventStore
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.sqlite_eventstore import SqliteEventStore
from tests.kernel.contracts.eventstore import (
    EventStoreContract,
    assert_gap_free,
    read_whole_log,
    stream_append,
)
from tests.kernel.contracts.refused_rows import RefusedRowContract


class TestSqliteEventStore(EventStoreContract, RefusedRowContract):
    @pytest.fixture(autouse=True)
    def _files(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    async def make_store(self, context: str) -> EventStore:
        store = SqliteEventStore(
            self.tmp_path / f"{context}.sqlite", context, EnvelopeCodec(context, self.sealer)
        )
        await store.start()
        return store

    async def raw_row_bytes(self, store: EventStore, event_id: str) -> bytes:
        assert isinstance(store, SqliteEventStore)
        with sqlite3.connect(store.path) as conn:
            row = conn.execute(
                f"SELECT {', '.join(ROW_COLUMNS)} FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
        assert row is not None
        return b"\x00".join(v if isinstance(v, bytes) else str(v).encode() for v in row)


def _store(path: Path, context: str = "ledger") -> SqliteEventStore:
    return SqliteEventStore(
        path, context, EnvelopeCodec(context, PersonalDataSealer(InMemoryKeyRing()))
    )


async def test_positions_continue_after_close_and_start(tmp_path: Path) -> None:
    # Given a store file with 3 events, closed
    path = tmp_path / "ledger.sqlite"
    store = _store(path)
    await store.start()
    await store.append([stream_append("s", 0, [{"n": 1}, {"n": 2}, {"n": 3}])])
    await store.close()

    # When the same store is started again, and another store object opens the file later
    await store.start()
    try:
        assert await store.max_position() == 3
        (fourth,) = await store.append([stream_append("s", 3, [{"n": 4}])])
    finally:
        await store.close()
    reopened = _store(path)
    await reopened.start()
    try:
        # Then positions and versions continue from the file
        assert fourth.position == 4
        assert await reopened.max_position() == 4
        stored = await reopened.append([stream_append("s", 4, [{"n": 5}])])
        assert [e.position for e in stored] == [5]
        assert [e.payload["n"] for e in await reopened.read_stream("s")] == [1, 2, 3, 4, 5]
        # and a waiter knows the head from the file: nothing above 5 yet
        started = time.monotonic()
        await reopened.wait_for_events(4, timeout=5.0)
        assert time.monotonic() - started < 1.0
    finally:
        await reopened.close()


# Appends batches of 1..40 events to 6 streams, concurrently, until killed. Every event carries
# its batch and the batch size, so that a torn batch is visible afterwards.
_WRITER = textwrap.dedent(
    """
    import asyncio, random, sys
    from fordra.kernel.codec import EnvelopeCodec
    from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
    from fordra.kernel.sqlite_eventstore import SqliteEventStore
    from tests.kernel.contracts.eventstore import stream_append

    async def main(path):
        codec = EnvelopeCodec("ledger", PersonalDataSealer(InMemoryKeyRing()))
        store = SqliteEventStore(path, "ledger", codec)
        await store.start()

        async def writer(w):
            version = await store.stream_version(f"s{w}")
            batch = 0
            while True:
                size = random.randint(1, 40)
                batch += 1
                payloads = [{"batch": f"{w}-{version}", "size": size} for _ in range(size)]
                await store.append([stream_append(f"s{w}", version, payloads)])
                version += size
                if batch == 3:
                    print("writing", flush=True)

        await asyncio.gather(*(writer(w) for w in range(6)))

    asyncio.run(main(sys.argv[1]))
    """
)


def _check_consistent(path: Path) -> int:
    """Check the file after a crash; answer how many events it holds."""

    async def check() -> int:
        store = _store(path)
        await store.start()
        try:
            log = await read_whole_log(store)
            assert_gap_free([e.position for e in log])
            by_stream: dict[str, list[int]] = defaultdict(list)
            batches: dict[str, list[int]] = defaultdict(list)
            for env in log:
                by_stream[env.stream_id].append(env.version)
                batches[env.payload["batch"]].append(env.position)
                assert env.payload["size"] > 0
            for stream_id, versions in by_stream.items():
                assert versions == list(range(1, len(versions) + 1)), stream_id
            for batch, positions in batches.items():
                size = log[positions[0] - 1].payload["size"]
                assert len(positions) == size, f"batch {batch} is torn"
                assert_gap_free(positions, after=positions[0] - 1)
            # and the store takes appends again, continuing the log
            stream = next(iter(by_stream), "s0")
            check = {"batch": f"check-{len(log)}", "size": 1}
            stored = await store.append([stream_append(stream, len(by_stream[stream]), [check])])
            assert stored[0].position == len(log) + 1
            return len(log)
        finally:
            await store.close()

    return asyncio.run(check())


@pytest.mark.slow
def test_killed_in_the_middle_of_group_commits_leaves_a_consistent_log(tmp_path: Path) -> None:
    # Given a process appending concurrently to one store file
    path = tmp_path / "ledger.sqlite"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    counts = []
    for _round in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.strip() == "writing", proc.stderr.read() if proc.stderr else ""
            # When it is killed at a random moment while appending
            time.sleep(random.uniform(0.05, 0.6))
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(10)
            if proc.stdout:
                proc.stdout.close()
            if proc.stderr:
                proc.stderr.close()

        # Then the file opens with a gap-free log, whole batches and whole streams
        counts.append(_check_consistent(path))

    assert 0 < counts[0] < counts[1]
