"""Real PostgreSQL and Kafka servers on this machine, for the distributed engine and its tests.

No Docker and no server running as root: each server is a process started here, listening on
127.0.0.1 at a free port, with its data, configuration and log under one ``data_dir``.

- ``LocalPostgres`` runs the PostgreSQL server binaries of the machine (Debian: ``postgresql``). The
  server refuses to run as root, so as root it runs as the ``postgres`` OS user (created by the
  Debian package; a dedicated system user is created only when there is none). That user must be
  able to enter every parent of ``data_dir``: use a base such as ``make_server_dir()`` (a 0755
  directory under /tmp), never one under /root or pytest's 0700 temporary base. Nothing here
  changes the mode of a parent directory.
- ``LocalKafka`` runs the Apache Kafka 4 broker from the jars that ``deploy/kafka/fetch-jars.sh``
  fetches with Maven, as a single KRaft node (broker and controller in one JVM).

Both are synchronous (subprocess, sockets): they are called from test fixtures and fault tests,
some of which already run inside an event loop, where ``asyncio.run`` would be refused.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import struct
import subprocess
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

# The repository's deploy/kafka (pom.xml, fetch-jars.sh, log4j2.properties). LocalKafka needs a
# checkout: the broker jars and its logging configuration live there, not in the Python package.
# The dev tools are installed editable from the clone (devtools/src/fordra/devtools/ -> the root).
KAFKA_DEPLOY_DIR = Path(__file__).resolve().parents[4] / "deploy" / "kafka"

# A dedicated OS user, created only when running as root on a machine without a `postgres` user.
_FALLBACK_PG_USER = "fordra-postgres"
_PG_APT_HINT = "install them with `apt-get install -y postgresql` (Debian 12: postgresql-15)"


class LocalServerError(RuntimeError):
    """A local server could not be found, started or stopped; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now.

    The kernel picks it for a socket bound to port 0; the socket is closed before the server binds
    the port, so another process could take it in between, which a test machine makes unlikely.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_server_dir(prefix: str = "fordra-servers-") -> Path:
    """A new directory under /tmp with mode 0755, for servers' data directories.

    /tmp is world-traversable on every Linux machine, unlike $TMPDIR, /root or pytest's
    /tmp/pytest-of-USER (0700), which the `postgres` OS user cannot enter.
    """
    # Not $TMPDIR on purpose (see above); mkdtemp makes the name unpredictable and the directory
    # ours, which is what S108 worries about.
    tmp = Path("/tmp")  # noqa: S108
    base = tmp if tmp.is_dir() else Path(tempfile.gettempdir())
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    path.chmod(0o755)  # mkdtemp creates 0700
    return path


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log at {path}: {exc.strerror})"
    kept = text.splitlines()[-lines:]
    return "\n".join(kept) if kept else f"(log {path} is empty)"


def _failure(what: str, log: Path | None, detail: str = "") -> LocalServerError:
    detail = f"\n{detail.strip()}" if detail.strip() else ""
    tail = f"\n--- last lines of {log} ---\n{_tail(log)}" if log is not None else ""
    return LocalServerError(f"{what}{detail}{tail}")


def _run(
    argv: Sequence[str],
    what: str,
    log: Path | None,
    *,
    timeout: float,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> str:
    """Run a command to completion; raise with its output and the server log's tail if it fails."""
    try:
        done = subprocess.run(  # noqa: S603 - argv is built here, never from a shell string
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise _failure(f"{what}: no answer after {timeout:.0f} s", log) from exc
    except OSError as exc:
        raise _failure(f"{what}: cannot run {argv[0]}: {exc}", log) from exc
    if done.returncode != 0:
        raise _failure(
            f"{what} failed (exit {done.returncode}): {' '.join(argv)}",
            log,
            done.stdout + done.stderr,
        )
    return done.stdout


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc, or None when there is no such process."""
    try:
        # After "(command name)": state, ppid, ... The name may hold spaces and parentheses.
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid: int) -> bool:
    """Whether the process runs. A zombie (dead, not yet reaped) does not, although kill(pid, 0)
    still finds it: our servers are no children of ours, so init reaps them, when it gets to it."""
    info = _proc_stat(pid)
    return info is not None and info[0] != "Z"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _proc_stat(int(entry.name))) and info[1] == pid:
            found.append(int(entry.name))
    return found


def _wait_gone(pids: Sequence[int], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _wait_port_open(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            time.sleep(0.1)
    return False


# --------------------------------------------------------------------------------------------------
# PostgreSQL


def find_postgres_bindir() -> Path:
    """The directory with ``initdb``, ``pg_ctl``, ``postgres`` and ``psql``.

    Looked for in order: $FORDRA_PG_BINDIR, ``pg_config --bindir``, the newest
    /usr/lib/postgresql/N/bin (Debian puts the server there, off PATH), then PATH.
    """
    candidates: list[Path] = []
    if env := os.environ.get("FORDRA_PG_BINDIR"):
        candidates.append(Path(env))
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run(  # noqa: S603 - fixed argv
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=False
            )
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.TimeoutExpired):
            pass
    versioned = [p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()]
    candidates.extend(sorted(versioned, key=lambda p: int(p.parent.name), reverse=True))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    needed = ("initdb", "pg_ctl", "postgres", "psql")
    for bindir in candidates:
        if all(os.access(bindir / name, os.X_OK) for name in needed):
            return bindir
    raise LocalServerError(
        "no PostgreSQL server binaries (initdb, pg_ctl, postgres, psql) found via "
        "$FORDRA_PG_BINDIR, pg_config, /usr/lib/postgresql/*/bin or PATH: " + _PG_APT_HINT
    )


def _postgres_os_user() -> pwd.struct_passwd | None:
    """The OS user the server runs as, or None to run it as ourselves (we are not root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", _FALLBACK_PG_USER):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    # Binaries without the Debian package (which creates `postgres`): a system user of our own,
    # without a home or a login shell; it owns only the data directory.
    _run(
        [
            "useradd",
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            _FALLBACK_PG_USER,
        ],
        f"creating the OS user {_FALLBACK_PG_USER} for PostgreSQL",
        None,
        timeout=30,
    )
    return pwd.getpwnam(_FALLBACK_PG_USER)


def _can_enter(path: Path, user: pwd.struct_passwd) -> bool:
    st = path.stat()
    if st.st_uid == user.pw_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in os.getgrouplist(user.pw_name, user.pw_gid):
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class LocalPostgres:
    """A PostgreSQL server of our own, on 127.0.0.1:``port``, with its files in ``data_dir``.

    Layout: ``pgdata/`` (the cluster), ``run/`` (the unix socket), ``postgres.log``, and
    ``password`` (the ``fordra`` role's password, 0600, kept so a restart keeps the URL).

    Authentication: the role ``fordra`` (owner of database ``fordra``, with CREATEDB so tests may
    make databases of their own) logs in over TCP from 127.0.0.1 only, with a password generated
    at the first start (scram-sha-256): another user of the machine cannot connect without
    reading the 0600 file. The superuser ``postgres`` has trust on the unix socket only, whose
    directory is 0700 and owned by the server's OS user; no other entry exists in pg_hba.conf.
    """

    role = "fordra"
    database = "fordra"

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port if port is not None else free_port()
        self.bindir = find_postgres_bindir()
        self.pgdata = self.data_dir / "pgdata"
        self.socket_dir = self.data_dir / "run"
        self.log_path = self.data_dir / "postgres.log"
        self._password_file = self.data_dir / "password"
        self._ready_marker = self.data_dir / "pgdata-fordra-ready"
        self.password = (
            self._password_file.read_text().strip()
            if self._password_file.exists()
            else secrets.token_hex(16)  # hex: nothing to escape in SQL or in a URL
        )
        self._user_resolved = False
        self._os_user: pwd.struct_passwd | None = None

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of database ``fordra`` as role ``fordra``."""
        return (
            f"postgresql+asyncpg://{self.role}:{self.password}@127.0.0.1:{self.port}/"
            f"{self.database}"
        )

    @property
    def dsn(self) -> str:
        """The same as ``url`` for asyncpg or libpq, which do not take a driver name."""
        return self.url.replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while it runs, else None (also after ``kill()``)."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _alive(pid) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self, timeout: float = 60) -> None:
        """Create the cluster if new, start the server, and return once it accepts connections."""
        if self.running:
            # Started before, maybe by another process: the URL must name the port it listens on
            # (the fourth line of postmaster.pid), not the one this instance picked.
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.port = int((self.pgdata / "postmaster.pid").read_text().split("\n")[3])
            return
        self._prepare_dirs()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb(timeout)
        self._write_runtime_conf()
        _run(
            self._as_server_user(
                self._bin("pg_ctl"),
                "start",
                "--pgdata",
                str(self.pgdata),
                "--log",
                str(self.log_path),
                "--wait",
                f"--timeout={int(timeout)}",
                "--silent",
            ),
            f"starting PostgreSQL on 127.0.0.1:{self.port}",
            self.log_path,
            timeout=timeout + 10,
            cwd=self.data_dir,
        )
        # pg_ctl --wait returns when the postmaster says "ready"; the TCP check proves the
        # listen address and port are the ones the URL names.
        if not _wait_port_open(self.port, timeout):
            raise _failure(f"PostgreSQL started but 127.0.0.1:{self.port} refuses", self.log_path)
        if not self._ready_marker.exists():
            self._create_role_and_database(timeout)
            self._ready_marker.touch()

    def stop(self, timeout: float = 60) -> None:
        """Stop the server cleanly (fast mode: sessions are cut, a checkpoint is written)."""
        if not self.running:
            return
        _run(
            self._as_server_user(
                self._bin("pg_ctl"),
                "stop",
                "--pgdata",
                str(self.pgdata),
                "--mode=fast",
                "--wait",
                f"--timeout={int(timeout)}",
                "--silent",
            ),
            "stopping PostgreSQL",
            self.log_path,
            timeout=timeout + 10,
            cwd=self.data_dir,
        )

    def kill(self, timeout: float = 30) -> None:
        """SIGKILL the postmaster and all its children, as a crash of the machine would (fault
        tests). The next ``start()`` runs crash recovery from the WAL.

        Each child of the postmaster leads a process group of its own (PostgreSQL calls setsid in
        them), so a group kill would miss them; and a backend that outlives its postmaster for a
        moment still holds the shared memory, which makes the next postmaster refuse to start. So
        the postmaster is stopped first (it forks no new child then), and its children and itself
        are killed one by one.
        """
        pid = self.pid
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            return
        victims = [*_children(pid), pid]
        for victim in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(victim, signal.SIGKILL)
        if not _wait_gone(victims, timeout):
            raise _failure(f"PostgreSQL (pid {pid}) still runs after SIGKILL", self.log_path)
        # The postmaster is no child of ours (pg_ctl exited), so init reaps it, which here takes up
        # to 2 s. Until then kill(pid, 0) finds the zombie, and the next postmaster would
        # take the lock files (data directory's and socket's) for a live server's and refuse to
        # start. No process of the server runs any more, so they are stale: drop them. Crash
        # recovery does not need them (the WAL and pg_control say what to redo), and the next
        # postmaster finds and removes the old shared memory segment by its key, as after a crash.
        (self.pgdata / "postmaster.pid").unlink(missing_ok=True)
        for lock in self.socket_dir.glob(".s.PGSQL.*.lock"):
            lock.unlink(missing_ok=True)

    def restart(self, timeout: float = 60) -> None:
        """Stop (if it runs) and start again on the same port with the same data."""
        self.stop(timeout)
        self.start(timeout)

    # -- helpers -----------------------------------------------------------------------------------

    def _bin(self, name: str) -> str:
        return str(self.bindir / name)

    @property
    def _user(self) -> pwd.struct_passwd | None:
        # Resolved on first use, not in __init__: that may create an OS user, and an instance made
        # only to read ``pid`` or to ``stop()`` a server started by another process needs none.
        if not self._user_resolved:
            self._os_user = _postgres_os_user()
            self._user_resolved = True
        return self._os_user

    def _as_server_user(self, *argv: str) -> list[str]:
        user = self._user
        if user is None:
            return list(argv)
        # runuser (util-linux) switches user without PAM prompts or a login shell; it exists only
        # for root, which is exactly this case.
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", user.pw_name, "--", *argv]

    def _prepare_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self._user
        if user is None:
            self.pgdata.mkdir(mode=0o700, exist_ok=True)
            self.socket_dir.mkdir(mode=0o700, exist_ok=True)
            self.log_path.touch(exist_ok=True)
            return
        # data_dir is ours to open for traversal (its contents stay private: pgdata and run are
        # 0700); its parents are not, so they are checked and reported, never changed.
        mode = self.data_dir.stat().st_mode
        if not mode & stat.S_IXOTH:
            self.data_dir.chmod(stat.S_IMODE(mode) | 0o005)
        for parent in reversed(self.data_dir.parents):
            if not _can_enter(parent, user):
                raise LocalServerError(
                    f"PostgreSQL runs as OS user {user.pw_name!r} (it refuses root), which cannot "
                    f"enter {parent} (mode {stat.S_IMODE(parent.stat().st_mode):04o}), a parent of "
                    f"{self.data_dir}. Put the data under a world-traversable directory, e.g. one "
                    "from fordra.devtools.localservers.make_server_dir() (under /tmp)."
                )
        for path in (self.pgdata, self.socket_dir):
            path.mkdir(mode=0o700, exist_ok=True)
            os.chown(path, user.pw_uid, user.pw_gid)
        self.log_path.touch(exist_ok=True)
        os.chown(self.log_path, user.pw_uid, user.pw_gid)

    def _initdb(self, timeout: float) -> None:
        _run(
            self._as_server_user(
                self._bin("initdb"),
                "--pgdata",
                str(self.pgdata),
                "--username=postgres",
                "--encoding=UTF8",
                # C collation: no dependency on the machine's generated locales, and stable sort
                # order of text across machines.
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                # Skips initdb's own flush of the new files (about a second); the server itself runs
                # with fsync=on, and a crash before the first start only loses an empty cluster.
                "--no-sync",
                "--no-instructions",
            ),
            "initdb",
            self.log_path,
            timeout=timeout * 2,
            cwd=self.data_dir,
        )
        self._password_file.write_text(self.password + "\n")
        self._password_file.chmod(0o600)
        (self.pgdata / "pg_hba.conf").write_text(
            "# Written by fordra.devtools.localservers.LocalPostgres.\n"
            "# TYPE  DATABASE  USER      ADDRESS        METHOD\n"
            "local   all       postgres                 trust\n"
            f"host    all       {self.role:<9} 127.0.0.1/32   scram-sha-256\n"
        )
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# fordra (LocalPostgres)\n"
                "listen_addresses = '127.0.0.1'\n"
                "fsync = on\n"
                "max_connections = 200\n"
                "shared_buffers = 128MB\n"
                "password_encryption = 'scram-sha-256'\n"
                # Port and socket directory change with each LocalPostgres; rewritten every start.
                "include 'fordra-runtime.conf'\n"
            )

    def _write_runtime_conf(self) -> None:
        path = self.pgdata / "fordra-runtime.conf"
        path.write_text(
            f"port = {self.port}\nunix_socket_directories = {_sql_literal(str(self.socket_dir))}\n"
        )
        if (user := self._user) is not None:
            os.chown(path, user.pw_uid, user.pw_gid)
            for name in ("pg_hba.conf", "postgresql.conf"):
                os.chown(self.pgdata / name, user.pw_uid, user.pw_gid)

    def _create_role_and_database(self, timeout: float) -> None:
        # Given on stdin, so the password never shows in a process list; idempotent, so a start
        # that died between the two statements is finished by the next one.
        # The names are class constants; the password is quoted as an SQL literal.
        role, database, password = self.role, self.database, _sql_literal(self.password)
        script = f"""
            SELECT 'CREATE ROLE {role} LOGIN CREATEDB'
             WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') \\gexec
            ALTER ROLE {role} PASSWORD {password};
            SELECT 'CREATE DATABASE {database} OWNER {role}'
             WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{database}') \\gexec
        """  # noqa: S608
        _run(
            self._as_server_user(
                self._bin("psql"),
                "--no-psqlrc",
                "--quiet",
                "--set=ON_ERROR_STOP=1",
                f"--host={self.socket_dir}",
                f"--port={self.port}",
                "--username=postgres",
                "--dbname=postgres",
                "--file=-",
            ),
            f"creating role and database {self.database!r}",
            self.log_path,
            timeout=timeout,
            stdin=script,
            cwd=self.data_dir,
        )


# --------------------------------------------------------------------------------------------------
# Kafka


def find_java() -> str:
    """``$JAVA_HOME/bin/java`` or ``java`` on PATH; Kafka 4 needs Java 17 or newer."""
    if home := os.environ.get("JAVA_HOME"):
        java = Path(home) / "bin" / "java"
        if os.access(java, os.X_OK):
            return str(java)
    if java_on_path := shutil.which("java"):
        return java_on_path
    raise LocalServerError(
        "no `java` (Kafka 4 needs Java 17+): apt-get install -y openjdk-17-jre-headless"
    )


def fetch_kafka_libs(timeout: float = 900) -> Path:
    """Run deploy/kafka/fetch-jars.sh (a no-op when the cache is full); return the jars' folder."""
    script = KAFKA_DEPLOY_DIR / "fetch-jars.sh"
    if not script.is_file():
        raise LocalServerError(f"{script} is missing: LocalKafka needs the repository's deploy/")
    out = _run(["bash", str(script)], "fetching the Kafka jars", None, timeout=timeout)
    return Path(out.strip().splitlines()[-1])


def kafka_libs_cached() -> Path | None:
    """The jars' folder when deploy/kafka/fetch-jars.sh has fetched them for the pom as it is
    (its stamp holds the pom's checksum), else None; fetches nothing."""
    pom = KAFKA_DEPLOY_DIR / "pom.xml"
    try:
        text = pom.read_text(encoding="utf-8")
    except OSError:
        return None
    found = re.search(r"<kafka.version>(.*?)</kafka.version>", text)
    if found is None:
        return None
    default = Path.home() / ".cache" / "fordra" / f"kafka-{found.group(1)}" / "libs"
    libs = Path(os.environ.get("FORDRA_KAFKA_LIBS") or default)
    stamp = libs / ".fordra-fetched"
    try:
        fetched = stamp.read_text(encoding="ascii").strip()
    except OSError:
        return None
    if fetched != hashlib.sha256(pom.read_bytes()).hexdigest():
        return None
    return libs if any(libs.glob("kafka_2.13-*.jar")) else None


def _kafka_cluster_id() -> str:
    """A cluster id as Kafka's ``Uuid.randomUuid()`` makes them: 16 random bytes in URL-safe
    base64 without padding, never starting with '-' (a command line would take it for an option).
    Making it here saves a JVM start (``kafka-storage random-uuid``)."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def kafka_broker_answers(host: str, port: int, timeout: float = 2) -> bool:
    """Whether a Kafka broker on host:port answers a Metadata request and lists a live broker.

    An open port is not enough: the KRaft broker accepts connections before it has caught up with
    the metadata log and registered itself. This speaks the wire protocol directly (Metadata v4,
    all topics) so it works without an event loop; Kafka 4 still serves v4.
    """
    client_id = b"fordra-probe"
    header = struct.pack(">hhih", 3, 4, 1, len(client_id)) + client_id
    body = struct.pack(">ib", -1, 0)  # topics: null (all), allow_auto_topic_creation: false
    request = header + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(struct.pack(">i", len(request)) + request)
            size = struct.unpack(">i", _recv_exactly(sock, 4))[0]
            if size < 12:
                return False
            # correlation_id, throttle_time_ms, then the brokers array's length
            fields: tuple[int, int, int] = struct.unpack(">iii", _recv_exactly(sock, 12))
    except (OSError, struct.error):
        return False
    correlation, _throttle, brokers = fields
    return correlation == 1 and brokers >= 1


def _recv_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


class LocalKafka:
    """A single-node Kafka 4 (KRaft: broker and controller in one JVM) on 127.0.0.1.

    Layout of ``data_dir``: ``server.properties`` (rewritten at each start), ``kafka-logs/`` (the
    partitions and the metadata log; formatted at the first start), ``kafka.log`` (the JVM's
    output, at WARN per deploy/kafka/log4j2.properties).

    Topics are not created on first use (``auto.create.topics.enable=false``): the relays and
    consumers create theirs with an admin client, with the partition count they mean, so a
    misspelt topic fails loudly instead of appearing empty. ``num.partitions=3`` is the default of
    an admin-created topic that does not say.

    The controller quorum is static (``controller.quorum.voters``), which Kafka 4 still takes:
    unlike the dynamic quorum (``controller.quorum.bootstrap.servers`` with
    ``format --standalone``) it writes no controller address into the formatted storage, so the
    data directory does not depend on the ports.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        controller_port: int | None = None,
        libs: Path | None = None,
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port if port is not None else free_port()
        self.controller_port = controller_port if controller_port is not None else free_port()
        while self.controller_port == self.port:
            self.controller_port = free_port()
        self.libs = libs
        self.log_dirs = self.data_dir / "kafka-logs"
        self.properties = self.data_dir / "server.properties"
        self.log_path = self.data_dir / "kafka.log"
        self.log4j_config = KAFKA_DEPLOY_DIR / "log4j2.properties"
        self.pid_file = self.data_dir / "kafka.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        """The broker JVM's process id while it runs, else None.

        Also for a broker that another process started on this data_dir (``kafka.pid``), so that
        ``stop()`` and ``kill()`` work from a later command, as LocalPostgres's do.
        """
        if self._process is not None:
            return self._process.pid if self._process.poll() is None else None
        try:
            pid = int(self.pid_file.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (OSError, ValueError):
            return None
        # The pid may have been reused since that broker ended.
        return pid if b"kafka.Kafka" in cmdline and _alive(pid) else None

    @property
    def running(self) -> bool:
        return self.pid is not None

    def start(self, timeout: float = 60) -> None:
        """Format the storage if new, start the broker, return once it answers metadata requests."""
        if self.running:
            return
        libs = self._resolve_libs()
        java = find_java()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._write_properties()
        classpath = str(libs / "*")
        logging = f"-Dlog4j2.configurationFile={self.log4j_config}"
        if not (self.log_dirs / "meta.properties").exists():
            with self.log_path.open("ab") as log:
                log.write(b"--- kafka-storage format ---\n")
            _run(
                [
                    java,
                    # A one-shot tool: the JIT's top tier and a parallel GC only slow its start.
                    "-XX:TieredStopAtLevel=1",
                    "-XX:+UseSerialGC",
                    logging,
                    "-cp",
                    classpath,
                    "kafka.tools.StorageTool",
                    "format",
                    "--cluster-id",
                    _kafka_cluster_id(),
                    "--config",
                    str(self.properties),
                    "--ignore-formatted",
                ],
                "formatting the Kafka storage",
                self.log_path,
                timeout=timeout,
                cwd=self.data_dir,
            )
        with self.log_path.open("ab") as log:
            log.write(b"--- kafka.Kafka ---\n")
            self._process = subprocess.Popen(  # noqa: S603 - argv is built here
                [
                    java,
                    "-Xmx512m",
                    "-Xms256m",
                    "-Djava.awt.headless=true",
                    logging,
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(self.properties),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                # Its own process group: a Ctrl-C in the terminal does not reach it, and kill()
                # reaches the whole JVM.
                start_new_session=True,
            )
        self.pid_file.write_text(f"{self._process.pid}\n")
        self._wait_ready(timeout)

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM (Kafka then flushes and closes its logs), and SIGKILL if it hangs."""
        pid = self.pid
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            self.kill()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash would (fault tests); its data stays for ``restart()``."""
        pid = self.pid
        if pid is None:
            return
        # The JVM leads its own process group (start_new_session); it forks nothing, but the
        # group signal leaves no doubt.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if not self._wait_exit(pid, 30):
            raise _failure(f"Kafka (pid {pid}) still runs after SIGKILL", self.log_path)

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._process is not None and self._process.pid == pid:
            try:
                self._process.wait(timeout)  # ours: reap it at once
            except subprocess.TimeoutExpired:
                return False
            return True
        return _wait_gone([pid], timeout)

    def restart(self, timeout: float = 60) -> None:
        """Stop (if it runs) and start again on the same ports with the same data."""
        self.stop()
        self.start(timeout)

    # -- helpers -----------------------------------------------------------------------------------

    def _resolve_libs(self) -> Path:
        if self.libs is None:
            self.libs = fetch_kafka_libs()
        if not any(self.libs.glob("kafka_2.13-*.jar")):
            raise LocalServerError(
                f"no kafka_2.13-*.jar in {self.libs}: run deploy/kafka/fetch-jars.sh "
                "(or pass libs=None to let LocalKafka run it)"
            )
        if not self.log4j_config.is_file():
            raise LocalServerError(f"{self.log4j_config} is missing: LocalKafka needs deploy/kafka")
        return self.libs

    def _write_properties(self) -> None:
        settings = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dirs),
            "auto.create.topics.enable": "false",
            "num.partitions": "3",
            # One node: the internal topics cannot have more replicas than brokers.
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Consumer groups form at once instead of waiting 3 s for more members.
            "group.initial.rebalance.delay.ms": "0",
            # A restarted broker registers anew, and the controller refuses that until the session
            # of the previous incarnation expires (9 s by default): a restart took 13 s instead of
            # 4. With one node there is no network to tolerate, so a short session is safe.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "2000",
        }
        self.properties.write_text(
            "# Written by fordra.devtools.localservers.LocalKafka at each start.\n"
            + "".join(f"{key}={_escape_property(value)}\n" for key, value in settings.items())
        )

    def _wait_ready(self, timeout: float) -> None:
        process = self._process
        assert process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise _failure(
                    f"Kafka exited with code {process.returncode} while starting", self.log_path
                )
            if kafka_broker_answers("127.0.0.1", self.port, timeout=2):
                return
            time.sleep(0.2)
        self.kill()
        raise _failure(
            f"Kafka on {self.bootstrap} did not answer a metadata request within {timeout:.0f} s",
            self.log_path,
        )


def _escape_property(value: str) -> str:
    # java.util.Properties treats backslash as an escape; paths here have none on Linux, but a
    # value with one must not be silently changed.
    return re.sub(r"\\", r"\\\\", value)
