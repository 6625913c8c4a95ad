"""Fixtures of the fault and concurrency tests: a fresh database, a Kafka namespace of its own and
a place for the processes a test starts (all SIGKILLed at teardown, whatever happened)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.distributed.harness import Services, Stack, new_namespace
from tests.utils.platform import fresh_database
from tests.utils.servers import KafkaServer, PostgresServer


@pytest.fixture
async def stack(
    postgres_server: PostgresServer, kafka_server: KafkaServer, tmp_path: Path
) -> Stack:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return Stack(
        url=await fresh_database(postgres_server.url),
        bootstrap=kafka_server.bootstrap,
        namespace=new_namespace(),
        data_dir=data_dir,
    )


@pytest.fixture
def services(stack: Stack, tmp_path: Path) -> Iterator[Services]:
    logs = tmp_path / "logs"
    logs.mkdir()
    started = Services(stack, logs)
    try:
        yield started
    finally:
        started.kill_all()
