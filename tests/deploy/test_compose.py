"""The compose stack and the image, checked without a Docker engine (none runs on our machines).

``docker-compose.yml`` is validated against the Compose Specification's own JSON schema (the copy
that ``check-jsonschema`` ships), then against what the schema cannot know: that references between
services and volumes resolve, that each Fordra process is served once, that Kafka runs in KRaft mode
and that the URLs the processes get point at the services that exist.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import shlex
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
import yaml
from jsonschema import Draft202012Validator

from fordra.app.bootstrap import SERVICES

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "deploy" / "Dockerfile"
COLLECTOR = ROOT / "deploy" / "otel-collector.yaml"

# What `fordra serve NAME` runs: every context that owns an event store, the projections, the API.
PROCESSES = frozenset(SERVICES)
CONDITIONS = frozenset({"service_started", "service_healthy", "service_completed_successfully"})
PORT = re.compile(r"^\d{1,5}:\d{1,5}$")

Service = dict[str, Any]


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} is not a mapping"
    return data


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Service]:
    found: dict[str, Service] = compose["services"]
    return found


@pytest.fixture(scope="module")
def fordra(services: dict[str, Service]) -> dict[str, Service]:
    """The services that run a Fordra process (``serve NAME``)."""
    return {name: s for name, s in services.items() if _command(s)[:1] == ["serve"]}


def _command(service: Service) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def _environment(service: Service) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def _depends_on(service: Service) -> dict[str, dict[str, Any]]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return {name: {"condition": "service_started"} for name in deps}
    return dict(deps)


def _option(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


def _compose_schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    schema: dict[str, Any] = json.loads(vendor.joinpath("compose-spec.json").read_text("utf-8"))
    return schema


# -- the Compose Specification -------------------------------------------------------------------


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = _compose_schema()
    assert schema["title"] == "Compose Specification"
    validator = Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors
    )


@pytest.mark.parametrize(
    "broken",
    [
        {"services": {"api": {"image": "fordra", "prots": ["8000:8000"]}}},
        {"services": {"api": {"image": "fordra", "depends_on": {"db": {"condition": "ready"}}}}},
        {"servces": {"api": {"image": "fordra"}}},
    ],
    ids=["misspelt-key", "unknown-condition", "misspelt-top-level"],
)
def test_the_schema_rejects_a_broken_file(broken: dict[str, Any]) -> None:
    # The check above is only worth something if the schema really constrains the file.
    assert list(Draft202012Validator(_compose_schema()).iter_errors(broken))


# -- references the schema cannot check ----------------------------------------------------------


def test_every_service_has_an_image_or_a_build(services: dict[str, Service]) -> None:
    missing = [name for name, s in services.items() if "image" not in s and "build" not in s]
    assert not missing, f"services with neither image nor build: {missing}"


def test_every_dependency_names_a_service_and_can_be_met(services: dict[str, Service]) -> None:
    for name, service in services.items():
        for target, spec in _depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target!r}"
            assert target != name, f"{name} depends on itself"
            condition = spec.get("condition", "service_started")
            assert condition in CONDITIONS, f"{name} -> {target}: unknown condition {condition!r}"
            if condition == "service_healthy":
                assert "healthcheck" in services[target], (
                    f"{name} waits for {target} to be healthy, but {target} has no healthcheck"
                )


def test_the_dependencies_have_no_cycle(services: dict[str, Service]) -> None:
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for target in _depends_on(services[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in services:
        visit(name, ())


def _mounts(service: Service) -> list[tuple[str, str]]:
    """(source, target) of each mount; a named volume's source is its bare name."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            mounts.append((source, rest.split(":", 1)[0]))
        else:
            mounts.append((str(volume.get("source", "")), str(volume["target"])))
    return mounts


def _is_named(source: str) -> bool:
    return bool(source) and not source.startswith(("/", ".", "~", "$"))


def test_every_named_volume_is_declared_and_used(
    compose: dict[str, Any], services: dict[str, Service]
) -> None:
    declared = set(compose.get("volumes") or {})
    used = set()
    for name, service in services.items():
        for source, _target in _mounts(service):
            if _is_named(source):
                assert source in declared, f"{name} mounts undeclared volume {source!r}"
                used.add(source)
    assert declared == used, f"declared but never mounted: {sorted(declared - used)}"


def test_every_bind_mount_names_a_file_in_the_repository(services: dict[str, Service]) -> None:
    for name, service in services.items():
        for source, _target in _mounts(service):
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"


def test_postgres_keeps_its_data_in_a_named_volume(services: dict[str, Service]) -> None:
    targets = {target: source for source, target in _mounts(services["postgres"])}
    assert _is_named(targets["/var/lib/postgresql/data"])


def _port_nodes(root: yaml.MappingNode) -> list[tuple[str, yaml.ScalarNode]]:
    """Each service's port entries as YAML nodes, to see how they were written."""
    found = []
    top = {key.value: value for key, value in root.value}
    for service_key, service_node in top["services"].value:
        for key, value in service_node.value:
            if key.value == "ports":
                found += [(service_key.value, item) for item in value.value]
    return found


def test_ports_are_quoted_host_container_strings(services: dict[str, Service]) -> None:
    # Unquoted, YAML 1.1 reads some "a:b" as a base-60 number (22:22 is 1342).
    root = yaml.compose(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(root, yaml.MappingNode)
    nodes = _port_nodes(root)
    assert len(nodes) == sum(len(s.get("ports", [])) for s in services.values()), (
        "ports must be written on the service itself, not merged in from an anchor"
    )
    for name, node in nodes:
        assert isinstance(node, yaml.ScalarNode), f"{name}: write ports as 'host:container'"
        assert node.style in {'"', "'"}, f"{name}: quote the port {node.value}"
        assert PORT.match(node.value), f"{name}: {node.value!r} is not 'host:container'"


# -- the Fordra processes ------------------------------------------------------------------------


def test_each_fordra_process_is_served_once_by_its_own_service(
    fordra: dict[str, Service],
) -> None:
    served = {name: _command(s)[1] for name, s in fordra.items()}
    assert set(served.values()) == PROCESSES
    for name, process in served.items():
        assert process == name, f"service {name!r} serves {process!r}"


def test_the_fordra_services_are_built_from_the_dockerfile(
    services: dict[str, Service], fordra: dict[str, Service]
) -> None:
    for name, service in services.items():
        build = service.get("build")
        if name in fordra or build is not None:
            assert isinstance(build, dict), f"{name}: build needs context and dockerfile"
            assert (ROOT / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE


def test_the_fordra_services_use_the_postgres_store_and_the_kafka_bus(
    services: dict[str, Service], fordra: dict[str, Service]
) -> None:
    postgres = _environment(services["postgres"])
    kafka = _environment(services["kafka"])
    for name, service in fordra.items():
        command = _command(service)
        store = urlsplit(_option(command, "--store"))
        assert store.scheme == "postgresql+asyncpg", name
        assert (store.hostname, store.port) == ("postgres", 5432), name
        assert store.username == postgres["POSTGRES_USER"], name
        assert store.password == postgres["POSTGRES_PASSWORD"], name
        assert store.path.lstrip("/") == postgres["POSTGRES_DB"], name
        bus = urlsplit(_option(command, "--bus"))
        assert bus.scheme == "kafka", name
        assert f"PLAINTEXT://{bus.hostname}:{bus.port}" in kafka["KAFKA_ADVERTISED_LISTENERS"]
        deps = _depends_on(service)
        assert deps["postgres"]["condition"] == "service_healthy", name
        assert deps["kafka"]["condition"] == "service_healthy", name


def test_every_fordra_process_shares_the_instance_secrets(
    services: dict[str, Service], fordra: dict[str, Service]
) -> None:
    # One secrets.json for all: a token printed by one process must be accepted by the API.
    for name, service in {**fordra, "fordra-init": services["fordra-init"]}.items():
        data_dir = _environment(service)["FORDRA_DATA_DIR"]
        volumes = {target: source for source, target in _mounts(service)}
        assert _is_named(volumes[data_dir]), f"{name}: {data_dir} is not on a named volume"
        assert volumes[data_dir] == "fordra-data", name
    init = _command(services["fordra-init"])
    assert init[0] == "token"
    assert _option(init, "--data-dir") == _environment(services["fordra-init"])["FORDRA_DATA_DIR"]
    for name, service in fordra.items():
        condition = _depends_on(service)["fordra-init"]["condition"]
        assert condition == "service_completed_successfully", name


def test_the_api_is_published_on_port_8000(services: dict[str, Service]) -> None:
    api = services["api"]
    assert "8000:8000" in api["ports"]
    command = _command(api)
    # `serve` binds 127.0.0.1 unless told otherwise: unreachable through a published port.
    assert _option(command, "--host") == "0.0.0.0"
    assert _option(command, "--port") == "8000"
    assert "/healthz" in " ".join(api["healthcheck"]["test"])


# -- Kafka ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    name: str
    host: str
    port: int


def _listeners(value: str) -> dict[str, Listener]:
    found = {}
    for item in value.split(","):
        name, _, address = item.partition("://")
        host, _, port = address.rpartition(":")
        found[name] = Listener(name, host, int(port))
    return found


def test_kafka_runs_in_kraft_mode_as_one_controller_and_broker(
    services: dict[str, Service],
) -> None:
    kafka = services["kafka"]
    image, _, tag = str(kafka["image"]).partition(":")
    assert image == "apache/kafka"
    # The same broker version as the distributed tests, which fetch it with Maven.
    pom = ElementTree.parse(ROOT / "deploy" / "kafka" / "pom.xml").getroot()
    version = pom.find("m:properties/m:kafka.version", {"m": "http://maven.apache.org/POM/4.0.0"})
    assert version is not None
    assert tag == version.text
    env = _environment(kafka)
    assert not [k for k in env if "ZOOKEEPER" in k], "KRaft needs no ZooKeeper"
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}

    node_id = env["KAFKA_NODE_ID"]
    listeners = _listeners(env["KAFKA_LISTENERS"])
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in listeners
    voter_id, _, voter = env["KAFKA_CONTROLLER_QUORUM_VOTERS"].partition("@")
    assert voter_id == node_id
    assert voter == f"kafka:{listeners[controller].port}"

    protocols = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(listeners) <= set(protocols)
    advertised = _listeners(env["KAFKA_ADVERTISED_LISTENERS"])
    assert controller not in advertised, "the controller listener is never advertised"
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    for listener in advertised.values():
        assert listener.port == listeners[listener.name].port

    # A KRaft cluster id is 16 bytes in base64url without padding (`kafka-storage.sh random-uuid`).
    cluster_id = env["CLUSTER_ID"]
    assert len(cluster_id) == 22
    try:
        raw = base64.urlsafe_b64decode(cluster_id + "==")
    except binascii.Error:
        pytest.fail(f"CLUSTER_ID {cluster_id!r} is not base64url")
    assert len(raw) == 16

    # One broker: the internal topics can have one replica at most.
    for key in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
    ):
        assert env[key] == "1"
    # Topics have one partition, so their order is the global log's (docs/adr/0001).
    assert env["KAFKA_NUM_PARTITIONS"] == "1"
    volumes = {target: source for source, target in _mounts(kafka)}
    assert _is_named(volumes[env["KAFKA_LOG_DIRS"]]), "the log directory lives on a named volume"
    assert "healthcheck" in kafka


def test_postgres_answers_a_healthcheck(services: dict[str, Service]) -> None:
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


# -- the OpenTelemetry Collector -----------------------------------------------------------------


def test_the_collector_pipelines_use_only_declared_components(
    services: dict[str, Service],
) -> None:
    config = _load(COLLECTOR)
    assert "otlp" in config["receivers"]
    assert "batch" in config["processors"]
    assert {"debug", "prometheus"} <= set(config["exporters"])
    pipelines = config["service"]["pipelines"]
    assert {"traces", "metrics", "logs"} <= set(pipelines)
    for name, pipeline in pipelines.items():
        for kind in ("receivers", "processors", "exporters"):
            unknown = set(pipeline.get(kind, [])) - set(config[kind])
            assert not unknown, f"pipeline {name} uses undeclared {kind}: {sorted(unknown)}"
    assert "prometheus" in pipelines["metrics"]["exporters"]

    collector = services["otel-collector"]
    mounts = dict(_mounts(collector))
    assert mounts["./deploy/otel-collector.yaml"] in " ".join(_command(collector))


# -- the Dockerfile ------------------------------------------------------------------------------


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    found = []
    for entry in logical:
        keyword, _, arguments = entry.partition(" ")
        found.append((keyword.upper(), arguments.strip()))
    return found


def _all(keyword: str) -> list[str]:
    return [arguments for kw, arguments in _instructions() if kw == keyword]


def test_the_image_starts_from_python_311_slim() -> None:
    assert _instructions()[0] == ("FROM", "python:3.11-slim")


def test_the_image_entrypoint_is_fordra() -> None:
    entrypoints = _all("ENTRYPOINT")
    assert len(entrypoints) == 1
    assert json.loads(entrypoints[0]) == ["fordra"]


def test_the_image_installs_the_locked_versions_without_the_devtools() -> None:
    copied = [source for arguments in _all("COPY") for source in arguments.split()[:-1]]
    assert "uv.lock" in copied
    runs = " ".join(_all("RUN"))
    # Exactly the lock's versions, only the app and what it depends on, as wheels (not editable).
    sync = re.search(r"uv sync ([^&]*)", runs)
    assert sync, runs
    for flag in ("--frozen", "--no-dev", "--no-editable", "--package fordra-app"):
        assert flag in sync.group(1), f"uv sync lacks {flag}"
    assert "devtools/src" not in " ".join(copied), "the image must not install fordra-devtools"
    # What the build reads must be in the build context: the repository root.
    for source in copied:
        if not source.startswith("--"):
            assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"


def test_the_image_runs_as_a_user_of_its_own() -> None:
    users = _all("USER")
    assert users, "the image must not run as root"
    assert users[-1] not in {"root", "0"}
