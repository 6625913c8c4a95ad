"""A writer process for the concurrency tests: appends to one stream, racing other processes.

    python -m tests.distributed.append_worker URL CONTEXT STREAM COUNT TAG START_AT

Waits until the wall-clock time START_AT (so that racing processes begin together), then appends
COUNT events one at a time to STREAM, each after reading the stream's version, as a use case
does; a ``ConcurrencyConflict`` (another process took that version) means read again and retry.
Any other error ends the process with a traceback. Prints ``done`` and a JSON summary:
``{"appended": [positions...], "conflicts": N}``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import orjson

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.errors import ConcurrencyConflict
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.postgres_eventstore import PostgresEventStore
from tests.kernel.contracts.eventstore import stream_append


async def run(args: argparse.Namespace) -> None:
    codec = EnvelopeCodec(args.context, PersonalDataSealer(InMemoryKeyRing()))
    store = PostgresEventStore(args.url, args.context, codec)
    await store.start()
    positions: list[int] = []
    conflicts = 0
    try:
        print("running", flush=True)
        await asyncio.sleep(max(0.0, args.start_at - time.time()))
        n = 0
        while n < args.count:
            version = await store.stream_version(args.stream)
            append = stream_append(
                args.stream,
                version,
                [{"amount": 1000 + n, "writer": args.tag, "n": n}],
                context=args.context,
            )
            try:
                (stored,) = await store.append([append])
            except ConcurrencyConflict as conflict:
                # the other process took that version: decide again on fresh state
                if (conflict.stream_id, conflict.expected) != (args.stream, version):
                    raise
                if conflict.actual <= version:
                    raise
                conflicts += 1
                continue
            positions.append(stored.position)
            n += 1
    finally:
        await store.close()
    print("done " + orjson.dumps({"appended": positions, "conflicts": conflicts}).decode())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("context")
    parser.add_argument("stream")
    parser.add_argument("count", type=int)
    parser.add_argument("tag")
    parser.add_argument("start_at", type=float)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
