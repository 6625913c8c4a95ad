"""The distributed engine's servers are real and usable: PostgreSQL answers SQL as role ``fordra``,
and Kafka takes an idempotent producer's messages and gives them back to a consumer group, with
the settings the relays and consumers use."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from tests.utils.servers import KafkaServer, PostgresServer

pytestmark = pytest.mark.distributed


async def test_postgres_answers_as_the_fordra_role(postgres_server: PostgresServer) -> None:
    conn = await asyncpg.connect(postgres_server.dsn, timeout=10)
    try:
        version = await conn.fetchval("SELECT version()")
        user, database = await conn.fetchrow("SELECT current_user, current_database()")
    finally:
        await conn.close()
    assert str(version).startswith("PostgreSQL ")
    assert (user, database) == ("fordra", "fordra")


async def test_kafka_round_trip_with_idempotent_producer_and_group(
    kafka_server: KafkaServer,
) -> None:
    topic = f"fordra.test.{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_server.bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()

    sent = {f"m{i}".encode() for i in range(10)}
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_server.bootstrap, enable_idempotence=True, acks="all"
    )
    await producer.start()
    try:
        for i, value in enumerate(sorted(sent)):
            await producer.send_and_wait(topic, value, key=f"k{i}".encode())
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_server.bootstrap,
        group_id=f"{topic}.group",
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: list[bytes] = []
    try:
        async with asyncio.timeout(30):
            while len(received) < len(sent):
                batches = await consumer.getmany(timeout_ms=500)
                received.extend(m.value for ms in batches.values() for m in ms if m.value)
        await consumer.commit()
    finally:
        await consumer.stop()
    assert sorted(received) == sorted(sent)
