"""A projections process for the fault tests: a ``KafkaBus`` feeding the suite's additive
``LedgerProjection`` (events per stream, amounts per tenant: a lost or doubled event shows).

    python -m tests.distributed.projection_worker URL BOOTSTRAP NAMESPACE UPSTREAM SCHEMA
        [--block-at POSITION] [--batch-size N]

``--block-at P`` makes ``apply`` hang on position P *after* its effects, inside the batch's open
transaction (it prints ``blocked P`` first), so that the test can SIGKILL the process between the
effect and the commit. Prints ``running`` once the bus has started; stops on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from sqlalchemy.ext.asyncio import AsyncConnection

from fordra.kernel.codec import EnvelopeCodec
from fordra.kernel.envelope import Envelope
from fordra.kernel.kafka_bus import KafkaBus
from fordra.kernel.personal_data import InMemoryKeyRing, PersonalDataSealer
from fordra.kernel.projection import ProjectionRunner, ReadModelDatabase
from tests.kernel.contracts.subscriptions import LedgerProjection


class BlockingLedger(LedgerProjection):
    def __init__(self, block_at: int | None) -> None:
        super().__init__()
        self.block_at = block_at

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None:
        await super().apply(conn, event)
        if event.position == self.block_at:
            print(f"blocked {event.position}", flush=True)
            await asyncio.Event().wait()  # the transaction stays open until the process dies


async def run(args: argparse.Namespace) -> None:
    codec = EnvelopeCodec(args.upstream, PersonalDataSealer(InMemoryKeyRing()))
    db = ReadModelDatabase(args.url, schema=args.schema)
    runner = ProjectionRunner(BlockingLedger(args.block_at), db)
    bus = KafkaBus(
        args.bootstrap,
        {args.upstream: codec},
        namespace=args.namespace,
        batch_size=args.batch_size,
        retry_delay=0.05,
    )
    bus.subscribe(runner, args.upstream)
    await db.start()
    await bus.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("running", flush=True)
    try:
        await stop.wait()
    finally:
        await bus.stop()
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("bootstrap")
    parser.add_argument("namespace")
    parser.add_argument("upstream")
    parser.add_argument("schema")
    parser.add_argument("--block-at", type=int)
    parser.add_argument("--batch-size", type=int, default=500)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
