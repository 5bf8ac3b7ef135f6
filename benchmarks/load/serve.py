"""`callrec serve` as a child process (as tests/faults/conftest.py runs it), on a throwaway database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

TONE_PROMPTS = {  # the sandbox's short tone prompts (tests/conftest.py e2e_config)
    "CALLREC_INBOUND_ANNOUNCEMENT": "sound:callrec/tone-announcement",
    "CALLREC_INBOUND_CLIENT_NUMBER_PROMPT": "sound:callrec/tone-prompt",
    "CALLREC_INBOUND_INVALID_PROMPT": "sound:callrec/tone-prompt",
    "CALLREC_INBOUND_FALLBACK_PROMPT": "sound:callrec/tone-prompt",
    "CALLREC_INBOUND_DIGIT_TIMEOUT": "1.5",
    "CALLREC_INBOUND_RING_TIMEOUT": "15",
}


class ServeProcess:
    def __init__(self, dsn: str, state_dir: Path, *, pool_max: int = 10, verbosity: str = "-vv") -> None:
        self.verbosity = verbosity
        self.log_path = state_dir / "serve.log"
        self.env = {**os.environ, **TONE_PROMPTS, "CALLREC_DATABASE_DSN": dsn,
                    "CALLREC_DATABASE_POOL_MAX": str(pool_max),
                    "CALLREC_STATE_DIR": str(state_dir), "CALLREC_SHUTDOWN_TIMEOUT": "5"}
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, timeout: float = 30) -> None:
        self.proc = self._spawn()
        # WHY the log line and not GET /applications: an app still holding subscriptions is listed
        # while inactive (tests/faults/conftest.py).
        async with asyncio.timeout(timeout):
            while "ARI connected" not in self.log_path.read_text(errors="replace"):
                if self.proc.poll() is not None:
                    raise RuntimeError(f"callrec serve died: {self.log_tail()}")
                await asyncio.sleep(0.05)

    def _spawn(self) -> subprocess.Popen[bytes]:
        """WHY Popen and not asyncio's subprocess: the child must outlive no event loop of ours and
        be signalled from synchronous cleanup (stop()); spawning takes a few ms."""
        exe = Path(sys.executable).with_name("callrec")
        with open(self.log_path, "ab") as log:
            return subprocess.Popen([str(exe), self.verbosity, "serve"], env=self.env,
                                    stdout=subprocess.DEVNULL, stderr=log)

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
