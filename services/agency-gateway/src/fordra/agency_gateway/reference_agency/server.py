"""The reference agency served in this process (the tests, ``fordra run --demo``), on a real
port, so that Fordra's HTTP adapter reaches it as it reaches any agency."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import uvicorn

from fordra.agency_gateway.reference_agency.app import (
    ReferenceAgencyStore,
    create_reference_agency,
)

__all__ = ["ReferenceAgencyServer"]


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
        self._server = uvicorn.Server(config)
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
        await task
