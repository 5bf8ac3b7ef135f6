"""Fault injection on the real sandbox: callrec runs as its own `callrec serve` process here, so the
tests can kill it (-9), restart it, and watch what it does with the calls it left behind."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from callrec.config import Config
from callrec.store import Store
from tests.conftest import _unavailable, asterisk_up
from tests.e2e.harness import Phones
from tests.faults.calls import quiesce
from tests.faults.evidence import Outcome
from tests.faults.sandbox import PrivatePostgres, private_postgres


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

    def configure(self, **env: str) -> None:
        """More CALLREC_* settings for the next start (e.g. an ARI URL through a proxy)."""
        self.env.update(env)

    @property
    def log(self) -> Path:
        return Path(self.env["CALLREC_STATE_DIR"]) / "serve.log"

    def log_count(self, marker: str) -> int:
        return self.log.read_text(errors="replace").count(marker) if self.log.exists() else 0

    async def logged(self, marker: str, *, more_than: int, timeout: float) -> float:
        """Until ``marker`` appears in the log more than ``more_than`` times; the monotonic time it
        was seen (polled every 20 ms)."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(timeout):
            while self.log_count(marker) <= more_than:
                assert self.proc is not None and self.proc.poll() is None, "callrec serve died"
                await asyncio.sleep(0.02)
        return loop.time()

    async def start(self, timeout: float = 20) -> None:
        """Until the controller's WebSocket is up. Asterisk's `/applications/{app}` is no proof: an
        application that still holds subscriptions (a bridge) is listed while inactive, and a call
        sent to it then fails with "Stasis app not active"."""
        connects = self.log_count("ARI connected")
        self.proc = self._spawn()
        await self.logged("ARI connected", more_than=connects, timeout=timeout)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # Popen, not asyncio's subprocess: the test kills it -9 and restarts it at will.
        exe = Path(sys.executable).with_name("callrec")
        with open(self.log, "ab") as log:
            return subprocess.Popen([*DIE_WITH_PARENT, str(exe), "-vv", "serve"], env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=log)

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


# SIGKILL the controller when the test process dies (util-linux's setpriv, in Debian's base). A pytest
# killed mid-run would otherwise leave its controller running, and that one reconnects as our ARI
# application whenever Asterisk restarts, taking it (ApplicationReplaced) from the next run's.
DIE_WITH_PARENT = ("setpriv", "--pdeathsig", "KILL", "--")


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


# ---------------------------------------------------------------------------- repeated trials
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fault(name): the fault a trial injects, as reported by "
                            "`make faults` (docs/reliability.md)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking ``trial`` runs FAULT_TRIALS times (once by default): `make faults` repeats
    the same tests that `make test` runs once (benchmarks/faults)."""
    if "trial" in metafunc.fixturenames:
        count = int(os.environ.get("FAULT_TRIALS", "1"))
        metafunc.parametrize("trial", range(count), ids=lambda n: f"trial{n}")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """FAULT_ONLY=a,b (set by benchmarks/faults): only the trials of these faults run."""
    only = os.environ.get("FAULT_ONLY")
    if not only:
        return
    wanted = set(only.split(","))
    keep = [i for i in items if (m := i.get_closest_marker("fault")) and m.args[0] in wanted]
    config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[object]:
    report = yield
    if call.when == "call":
        item.stash[_FAILURE] = call.excinfo.exconly() if call.excinfo is not None else None
    return report


_FAILURE = pytest.StashKey[str | None]()


@pytest.fixture
def outcome(request: pytest.FixtureRequest) -> Iterator[Outcome]:
    """The trial's measurements. With FAULT_RECORD set (by benchmarks/faults) each trial appends
    them as one JSON line, including trials that failed before measuring anything."""
    fault = request.node.get_closest_marker("fault")
    measured = Outcome(fault.args[0] if fault else request.node.originalname)
    started = time.monotonic()
    yield measured
    measured.trial_s = round(time.monotonic() - started, 2)
    target = os.environ.get("FAULT_RECORD")
    if not target:
        return
    failure = request.node.stash.get(_FAILURE, None)
    if failure and not measured.violations():
        measured.error = failure[:500]
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(measured.as_json()) + "\n")


@pytest_asyncio.fixture
async def idle_phones(phones: Phones) -> AsyncIterator[Phones]:
    """The phones, idle before and after the test: whatever a failed trial left is hung up."""
    await quiesce(phones)
    yield phones
    await quiesce(phones)


@pytest_asyncio.fixture(scope="session")
async def private_pg() -> AsyncIterator[PrivatePostgres]:
    """A PostgreSQL of the faults tests' own, to stop and start at will. Not under pytest's
    tmp_path: its root is private to root, and PostgreSQL runs as the postgres user."""
    try:
        async with private_postgres(Path("/var/tmp/callrec")) as cluster:
            yield cluster
    except (FileNotFoundError, AssertionError) as exc:
        _unavailable(f"a private PostgreSQL cluster ({exc})")
