"""An outbox relay process for the fault tests, reporting what it does.

    python -m tests.distributed.relay_worker URL BOOTSTRAP NAMESPACE CONTEXT

Runs one ``OutboxRelay`` for CONTEXT's store (what ``fordra serve CONTEXT`` runs) and prints
``running``, then a line ``lease=0|1 published=N position=P`` each time one of those changes, so
that a test can tell the leader from the standby and see that the standby publishes nothing.
Stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.kafka_relay import OutboxRelay
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.postgres_eventstore import PostgresEventStore


async def run(args: argparse.Namespace) -> None:
    codec = EnvelopeCodec(args.context, PersonalDataSealer(InMemoryKeyRing()))
    store = PostgresEventStore(args.url, args.context, codec)
    await store.start()
    relay = OutboxRelay(store, codec, args.bootstrap, namespace=args.namespace, idle_wait=0.1)
    await relay.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("running", flush=True)
    last: tuple[bool, int, int] | None = None
    try:
        while not stop.is_set():
            now = (relay.has_lease, relay.published, relay.position)
            if now != last:
                print(f"lease={int(now[0])} published={now[1]} position={now[2]}", flush=True)
                last = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.01)
    finally:
        await relay.stop()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("bootstrap")
    parser.add_argument("namespace")
    parser.add_argument("context")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
