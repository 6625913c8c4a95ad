"""``Sums``: what a batch of events adds to a read model, summed per key and written with one
additive upsert (the customer ledger's and dunning's claims' payments)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import BigInteger, Boolean, Column, MetaData, String, Table, select

from fordra.kernel.projection import ReadModelDatabase, Sums


def _table() -> Table:
    return Table(
        "paid",
        MetaData(),
        Column("invoice_id", String(64), primary_key=True),
        Column("capital_ore", BigInteger, nullable=False),
        Column("other_ore", BigInteger, nullable=False),
        Column("failed", Boolean, nullable=False),
    )


async def test_a_batch_is_summed_per_key_and_added_to_what_is_stored(tmp_path: Path) -> None:
    # Given a stored row for one invoice, marked by an earlier event
    table = _table()
    db = ReadModelDatabase(f"sqlite+aiosqlite:///{tmp_path / 'sums'}.sqlite")
    await db.start()
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(
                table.insert(),
                [{"invoice_id": "a", "capital_ore": 100, "other_ore": 0, "failed": True}],
            )
            # When a batch adds to it and to a new invoice, a reversal among them
            sums = Sums(
                table, ["invoice_id"], add=["capital_ore", "other_ore"], defaults={"failed": False}
            )
            sums.add(("a",), "capital_ore", 50)
            sums.add(("b",), "capital_ore", 30)
            sums.add(("a",), "other_ore", 7)
            sums.add(("b",), "capital_ore", -10)
            await sums.flush(conn)
            # and a flush with nothing gathered writes nothing
            await sums.flush(conn)
            rows = (await conn.execute(select(table).order_by(table.c.invoice_id))).all()
    finally:
        await db.close()

    # Then each invoice holds the sum of what was added; the stored row keeps its own other
    # columns and the new one gets the defaults
    assert [tuple(row) for row in rows] == [("a", 150, 7, True), ("b", 20, 0, False)]
