"""Fault injection on the real sandbox: callrec runs as its own `callrec serve` process here, so the
tests can kill it (-9), restart it, and watch what it does with the calls it left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from callrec.config import Config
from callrec.store import Store
from tests.conftest import asterisk_up


class ControllerProcess:
    """`callrec serve` as a child process, configured for the sandbox's tone prompts."""

    def __init__(self, config: Config, state_dir: Path) -> None:
        self.config = config
        self.env = {**os.environ, "CALLREC_DATABASE_DSN": config.database.dsn,
                    "CALLREC_STATE_DIR": str(state_dir),
                    "CALLREC_INBOUND_ANNOUNCEMENT": config.inbound.announcement,
                    "CALLREC_INBOUND_CLIENT_NUMBER_PROMPT": config.inbound.client_number_prompt,
                    "CALLREC_INBOUND_INVALID_PROMPT": config.inbound.invalid_prompt,
                    "CALLREC_INBOUND_FALLBACK_PROMPT": config.inbound.fallback_prompt,
                    "CALLREC_INBOUND_DIGIT_TIMEOUT": str(config.inbound.digit_timeout),
                    "CALLREC_INBOUND_RING_TIMEOUT": str(config.inbound.ring_timeout)}
        self.proc: subprocess.Popen[bytes] | None = None
        self._starts = 0

    async def start(self) -> None:
        exe = Path(sys.executable).with_name("callrec")
        self.proc = subprocess.Popen([str(exe), "-vv", "serve"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=open(  # noqa: SIM115
                                         Path(self.env["CALLREC_STATE_DIR"]) / "serve.log", "ab"))
        await self._registered()

    async def _registered(self, timeout: float = 20) -> None:
        """Until the controller's WebSocket is up. Asterisk's `/applications/{app}` is no proof: an
        application that still holds subscriptions (a bridge) is listed while inactive, and a call
        sent to it then fails with "Stasis app not active"."""
        log = Path(self.env["CALLREC_STATE_DIR"]) / "serve.log"
        async with asyncio.timeout(timeout):
            while True:
                assert self.proc is not None and self.proc.poll() is None, "callrec serve died"
                if log.read_text().count("ARI connected") > self._starts:
                    self._starts += 1
                    return
                await asyncio.sleep(0.05)

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly like a crash."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture
def controller(e2e_config: Config, tmp_path: Path) -> Iterator[ControllerProcess]:
    process = ControllerProcess(e2e_config, tmp_path)
    yield process
    process.stop()


@pytest_asyncio.fixture
async def store(e2e_config: Config) -> AsyncIterator[Store]:
    await asterisk_up(e2e_config)
    async with await Store.open(e2e_config.database.dsn) as opened:
        await opened.migrate()
        yield opened
