"""Session fixtures ``postgres_server`` and ``kafka_server``: the real servers of the distributed
engine, for tests marked ``distributed``.

Each server is had, in this order, from
  1. an environment variable: ``FORDRA_TEST_POSTGRES_URL`` (a ``postgresql+asyncpg://`` URL) and
     ``FORDRA_TEST_KAFKA_BOOTSTRAP`` (``host:port``), for servers someone else runs;
  2. testcontainers, when a Docker engine answers (``docker info`` within a few seconds);
  3. ``LocalPostgres`` / ``LocalKafka`` (fordra.devtools.localservers) under a 0755 directory in
     /tmp (not pytest's tmp_path: /tmp/pytest-of-root is 0700, and PostgreSQL runs as the `postgres`
     user, which could not enter it), removed at the end of the session.
A server that cannot be had fails the tests that need it (never a skip): CI must not go green
without them, and a developer should know too.

Startup cost: when the collected tests need both servers, the first fixture starts both at once,
in two threads (Kafka's JVM dominates: about 4 s; PostgreSQL about 1 s).

Fault tests take ``server.local`` (a LocalPostgres / LocalKafka, or None for an external server or
a container, where they cannot kill the server and should fail or be written otherwise).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fordra.devtools.localservers import LocalKafka, LocalPostgres, make_server_dir

POSTGRES_URL_ENV = "FORDRA_TEST_POSTGRES_URL"
KAFKA_BOOTSTRAP_ENV = "FORDRA_TEST_KAFKA_BOOTSTRAP"
# Images for the Docker path only. Kafka: testcontainers' KafkaContainer drives Confluent's image
# scripts; 7.9 is the newest line it is written for (Kafka 3.9, whose protocol our clients share).
POSTGRES_IMAGE = os.environ.get("FORDRA_TEST_POSTGRES_IMAGE", "postgres:15")
KAFKA_IMAGE = os.environ.get("FORDRA_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:7.9.0")


@dataclass(frozen=True)
class PostgresServer:
    url: str  # postgresql+asyncpg://… (SQLAlchemy)
    local: LocalPostgres | None = None
    source: str = "local"  # "env", "docker" or "local"

    @property
    def dsn(self) -> str:
        """The URL without the driver, for asyncpg.connect and libpq."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)


@dataclass(frozen=True)
class KafkaServer:
    bootstrap: str  # host:port
    local: LocalKafka | None = None
    source: str = "local"


_FIXTURE_OF = {"postgres": "postgres_server", "kafka": "kafka_server"}


def _docker_engine_answers() -> bool:
    # The docker CLI may exist without an engine (as on our machines); `docker info` asks the
    # engine and fails at once when there is none.
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@dataclass
class _Servers:
    """The session's servers: started at most once each, stopped when pytest ends."""

    futures: dict[str, Future[Any]] = field(default_factory=dict)
    cleanups: list[Callable[[], None]] = field(default_factory=list)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="fordra-server")
    )
    base: Path | None = None
    docker: bool | None = None

    def get(self, kind: str, session: pytest.Session) -> Any:
        if kind not in self.futures:
            # Start every server that the collected tests need now, in parallel, not one after
            # the other as each fixture is first requested. A test marked `distributed` needs both
            # (the marker says so; the `engine` fixture asks for them only at run time).
            needed: set[str] = set()
            for item in session.items:
                if item.get_closest_marker("distributed") is not None:
                    needed.update(_FIXTURE_OF)
                names = getattr(item, "fixturenames", ())
                needed.update(kind for kind, fixture in _FIXTURE_OF.items() if fixture in names)
            for name in sorted(needed | {kind}):
                if name not in self.futures:
                    self.futures[name] = self.executor.submit(self._start, name)
        return self.futures[kind].result()

    def _start(self, kind: str) -> PostgresServer | KafkaServer:
        if kind == "postgres" and (url := os.environ.get(POSTGRES_URL_ENV)):
            return PostgresServer(url, source="env")
        if kind == "kafka" and (bootstrap := os.environ.get(KAFKA_BOOTSTRAP_ENV)):
            return KafkaServer(bootstrap, source="env")
        if self.docker is None:
            self.docker = _docker_engine_answers()
        if self.docker:
            return self._start_container(kind)
        return self._start_local(kind)

    def _start_container(self, kind: str) -> PostgresServer | KafkaServer:
        if kind == "postgres":
            from testcontainers.community.postgres import PostgresContainer  # noqa: PLC0415 - Docker only

            pg = PostgresContainer(
                POSTGRES_IMAGE, username="fordra", password="fordra", dbname="fordra"
            )
            pg.with_command("postgres -c fsync=on -c max_connections=200 -c shared_buffers=128MB")
            pg.start()
            self.cleanups.append(pg.stop)
            return PostgresServer(pg.get_connection_url(driver="asyncpg"), source="docker")
        from testcontainers.community.kafka import KafkaContainer  # noqa: PLC0415 - Docker only

        kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
        # The same broker settings as LocalKafka: topics are created by the code, never on use.
        for key, value in {
            "KAFKA_AUTO_CREATE_TOPICS_ENABLE": "false",
            "KAFKA_NUM_PARTITIONS": "3",
            "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR": "1",
            "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR": "1",
        }.items():
            kafka.with_env(key, value)
        kafka.start(timeout=120)
        self.cleanups.append(kafka.stop)
        return KafkaServer(kafka.get_bootstrap_server(), source="docker")

    def _start_local(self, kind: str) -> PostgresServer | KafkaServer:
        if self.base is None:
            self.base = make_server_dir("fordra-test-")
        if kind == "postgres":
            pg = LocalPostgres(self.base / "postgres")
            self.cleanups.append(pg.stop)
            pg.start()
            return PostgresServer(pg.url, local=pg)
        kafka = LocalKafka(self.base / "kafka")
        self.cleanups.append(kafka.stop)
        kafka.start()
        return KafkaServer(kafka.bootstrap, local=kafka)

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        for cleanup in reversed(self.cleanups):
            try:
                cleanup()
            except Exception as exc:  # noqa: BLE001 - stop the others, say what failed
                print(f"fordra test servers: stopping failed: {exc}")
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)


_SERVERS = pytest.StashKey[_Servers]()


def _servers(request: pytest.FixtureRequest) -> _Servers:
    config = request.config
    if _SERVERS not in config.stash:
        servers = _Servers()
        config.stash[_SERVERS] = servers
        # Config cleanup runs after the last test, also when a server was started for tests that
        # then never asked for it (skipped, or stopped by -x).
        config.add_cleanup(servers.close)
    return config.stash[_SERVERS]


def _need(kind: str, request: pytest.FixtureRequest) -> Any:
    try:
        return _servers(request).get(kind, request.session)
    except Exception as exc:  # noqa: BLE001 - every cause fails the same way, with its message
        error = f"{type(exc).__name__}: {exc}"
    # Outside the except block, so that the report shows the message, not a chained traceback.
    env = POSTGRES_URL_ENV if kind == "postgres" else KAFKA_BOOTSTRAP_ENV
    pytest.fail(
        f"no {kind} server for the distributed tests: {error}\n"
        f"(run `bash deploy/install-servers.sh`, or set {env} to a running server)",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    # Stopped by the session's config cleanup (see _servers), not here: a server started in
    # parallel for another fixture must be stopped even if that fixture never runs.
    server: PostgresServer = _need("postgres", request)
    return server


@pytest.fixture(scope="session")
def kafka_server(request: pytest.FixtureRequest) -> KafkaServer:
    server: KafkaServer = _need("kafka", request)
    return server
