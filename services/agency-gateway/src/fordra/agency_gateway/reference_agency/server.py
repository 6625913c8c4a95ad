"""The reference agency served in this process (the tests, ``fordra run --demo``), on a real
port, so that Fordra's HTTP adapter reaches it as it reaches any agency."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Generator
from pathlib import Path

import httpx
import uvicorn

from fordra.agency_gateway.reference_agency.app import (
    ReferenceAgencyStore,
    create_reference_agency,
)

__all__ = ["ReferenceAgencyServer"]


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves the signals to its host process: Ctrl-C stops ``fordra run``,
    which then stops this server, rather than this server raising the signal again on its way
    out (uvicorn's own habit, right for a process of its own)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ReferenceAgencyServer:
    def __init__(
        self,
        db_path: Path,
        *,
        secret: str,
        fordra_url: str,
        host: str = "127.0.0.1",
        port: int = 8090,
        webhook_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = ReferenceAgencyStore(db_path)
        self.app = create_reference_agency(
            self.store, secret=secret, fordra_url=fordra_url, webhook_client=webhook_client
        )
        config = uvicorn.Config(
            self.app, host=host, port=port, log_config=None, access_log=False, lifespan="off"
        )
        self._server = _EmbeddedServer(config)
        self._task: asyncio.Task[None] | None = None
        self._address = (host, port)
        self.url = f"http://{host}:{port}"

    async def start(self, timeout: float = 10.0) -> None:
        """Listen and serve; ``OSError`` when the port is taken (bound here, so that uvicorn
        never fails to bind inside its task, where it would exit the process)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(self._address)
        except OSError:
            sock.close()
            raise
        sock.set_inheritable(True)
        self._task = asyncio.create_task(
            self._server.serve(sockets=[sock]), name="reference-agency"
        )
        async with asyncio.timeout(timeout):
            while not self._server.started:
                if self._task.done():
                    self._task.result()  # raises why it could not start (the port is taken)
                    raise RuntimeError(f"the reference agency did not start on {self.url}")
                await asyncio.sleep(0.02)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._server.should_exit = True
        # Ctrl-C reaches the host's uvicorn, which raises it again on its way out, and asyncio
        # then cancels the host's task while it stops us here: finish stopping all the same,
        # so that the host's own clean-up after this still runs.
        with contextlib.suppress(asyncio.CancelledError):
            await task
