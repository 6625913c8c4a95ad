"""``make up`` / ``make down``: the distributed engine on this machine, without root or Docker.

PostgreSQL (run as an unprivileged OS user, as it insists) and a single-node Kafka in KRaft mode,
then every service as a process of its own (``fordra serve NAME``), the API on 127.0.0.1:PORT.
Everything lives under the data directory (default ``var/cluster/``): the servers' files, the
services' logs, the instance's secrets, and ``cluster.json`` recording what runs, so that
``make down`` (another process) stops exactly what ``make up`` started.
"""

from __future__ import annotations

import contextlib
import os
import secrets as secret_tokens
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from fordra.app.auth import InstanceSecrets, TokenService
from fordra.app.bootstrap import SERVICES
from fordra.app.settings import load_settings
from fordra.devtools.localservers import LocalKafka, LocalPostgres
from fordra.kernel.auth import Role

STATE_FILE = "cluster.json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_state(data_dir: Path) -> dict[str, Any]:
    path = data_dir / STATE_FILE
    if not path.exists():
        return {}
    state: dict[str, Any] = orjson.loads(path.read_bytes())
    return state


def _write_state(data_dir: Path, state: dict[str, Any]) -> None:
    (data_dir / STATE_FILE).write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(url, timeout=2) as response,  # noqa: S310 - our own URL
        ):
            if response.status == 200:
                return True
        time.sleep(0.3)
    return False


def cluster_up(data_dir: Path, *, port: int = 8000, timeout: float = 120) -> int:
    data_dir = data_dir.absolute()
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)  # the PostgreSQL OS user must be able to enter postgres/ below
    state = _read_state(data_dir)
    running = [n for n, pid in state.get("services", {}).items() if _alive(pid)]
    if running:
        print(f"already up ({', '.join(running)}); `make down` first", file=sys.stderr)
        return 1
    pg_state = state.get("postgres", {})
    postgres = LocalPostgres(data_dir / "postgres", port=pg_state.get("port"))
    kafka_state = state.get("kafka", {})
    kafka = LocalKafka(
        data_dir / "kafka",
        port=kafka_state.get("port"),
        controller_port=kafka_state.get("controller_port"),
    )
    print(f"starting PostgreSQL on 127.0.0.1:{postgres.port} ...", flush=True)
    postgres.start()
    print(f"starting Kafka on {kafka.bootstrap} ...", flush=True)
    kafka.start()
    state = {
        "postgres": {"port": postgres.port},
        "kafka": {"port": kafka.port, "controller_port": kafka.controller_port, "pid": kafka.pid},
        "api_port": port,
        "services": {},
    }
    _write_state(data_dir, state)
    # Secrets before the services, so that they do not race to create them.
    secrets = InstanceSecrets.load_or_create(data_dir)
    env = {
        **os.environ,
        "FORDRA_STORE": postgres.url,
        "FORDRA_BUS": f"kafka://{kafka.bootstrap}",
        "FORDRA_DATA_DIR": str(data_dir),
        # The reference agency's secret (issue 15): the services refuse to start without one;
        # a fresh one each `make up` unless given, since the agency starts with them.
        "FORDRA_AGENCY_REFERENCE_SECRET": os.environ.get("FORDRA_AGENCY_REFERENCE_SECRET")
        or secret_tokens.token_hex(32),
    }
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    for service in SERVICES:
        argv = [sys.executable, "-m", "fordra.app.cli", "serve", service]
        if service == "api":
            argv += ["--host", "127.0.0.1", "--port", str(port)]
        with (logs / f"{service}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - argv is built here
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        state["services"][service] = process.pid
        _write_state(data_dir, state)
    base = f"http://127.0.0.1:{port}"
    # The reference agency (issue 15), where the settings say the `reference` agency listens.
    agency_url = urlsplit(
        load_settings(data_dir=data_dir).agency.agencies["reference"].url or "http://127.0.0.1:8090"
    )
    agency_argv = [
        sys.executable, "-m", "fordra.agency_gateway.reference_agency.cli",
        "--host", agency_url.hostname or "127.0.0.1", "--port", str(agency_url.port or 8090),
        "--fordra-url", base, "--db", str(data_dir / "reference-agency.sqlite"),
    ]  # fmt: skip
    with (logs / "reference-agency.log").open("ab") as log:
        agency = subprocess.Popen(  # noqa: S603 - argv is built here
            agency_argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    state["services"]["reference-agency"] = agency.pid
    _write_state(data_dir, state)
    if not _wait_http(f"{base}/healthz", timeout):
        print(f"the API did not answer on {base}; see {logs}/api.log", file=sys.stderr)
        return 1
    settings = load_settings(data_dir=data_dir)
    token = TokenService(secrets, settings.municipality, settings.tokens).issue(
        Role.OPS_LEAD, subject="ops"
    )
    print(f"Fordra (distributed) serves on {base}", flush=True)
    print(f"  services:   {', '.join(SERVICES)} (logs in {logs})", flush=True)
    print(f"  agency:     the reference agency on {agency_url.geturl()}", flush=True)
    print(f"  PostgreSQL: 127.0.0.1:{postgres.port}   Kafka: {kafka.bootstrap}", flush=True)
    print(f"  ops token:  {token}", flush=True)
    print(f"  more:       fordra token --role ROLE --data-dir {data_dir}", flush=True)
    return 0


def _terminate(pids: dict[str, int], timeout: float) -> None:
    for pid in pids.values():
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids.values()):
        time.sleep(0.2)
    for pid in pids.values():
        if _alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


def cluster_down(data_dir: Path) -> int:
    data_dir = data_dir.absolute()
    state = _read_state(data_dir)
    if not state:
        print(f"nothing recorded in {data_dir / STATE_FILE}: nothing to stop")
        return 0
    _terminate(state.get("services", {}), timeout=20)
    kafka_pid = state.get("kafka", {}).get("pid")
    if kafka_pid:
        _terminate({"kafka": kafka_pid}, timeout=30)
    pg_port = state.get("postgres", {}).get("port")
    if (data_dir / "postgres").exists():
        pid = LocalPostgres(data_dir / "postgres", port=pg_port).pid
        if pid is not None:
            # SIGINT is PostgreSQL's "fast" shutdown; signalling the postmaster needs no
            # `pg_ctl`, which refuses to run as root.
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 60
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
    state["services"] = {}
    state.get("kafka", {}).pop("pid", None)
    _write_state(data_dir, state)
    print(f"stopped the services, Kafka and PostgreSQL (data kept in {data_dir})")
    return 0


def cluster_status(data_dir: Path) -> int:
    state = _read_state(data_dir.absolute())
    for name, pid in state.get("services", {}).items():
        print(f"{name:20} pid {pid:>7}  {'running' if _alive(pid) else 'stopped'}")
    return 0
