"""End-to-end fixtures: callrec running in-process against the real sandbox (see tests/conftest.py).

Package-scoped: other suites (tests/faults) run `callrec serve` as a separate process, and only one
controller may own the ARI application at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from callrec.app import Service, running_service
from callrec.config import Config
from callrec.store import Store
from tests.conftest import asterisk_up


@pytest_asyncio.fixture(scope="package")
async def service(e2e_config: Config) -> AsyncIterator[Service]:
    """callrec running in this event loop for the whole session, as `callrec serve` runs it."""
    await asterisk_up(e2e_config)
    ready: asyncio.Future[Service] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            async with running_service(e2e_config) as svc:
                ready.set_result(svc)
                await stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            raise

    task = asyncio.get_running_loop().create_task(run(), name="callrec-service")
    svc = await asyncio.wait_for(ready, 30)
    await asyncio.wait_for(svc.controller.connected.wait(), 10)
    yield svc
    stop.set()
    await asyncio.wait_for(task, 30)


@pytest_asyncio.fixture
async def store(service: Service) -> Store:
    return service.store
