"""What a call needs from the outside world, passed in explicitly (no module-level singletons)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from callrec.ari import AriClient
from callrec.config import InboundConfig
from callrec.controller.agents import AgentPool
from callrec.controller.evidence import EvidenceWriter
from callrec.controller.journal import Fact
from callrec.controller.recorder import Recorder
from callrec.store import Store


@dataclass(frozen=True)
class Deps:
    ari: AriClient
    recorder: Recorder
    store: Store
    evidence: EvidenceWriter
    pool: AgentPool
    inbound: InboundConfig
    new_id: Callable[[], UUID]
    now: Callable[[], datetime]
    settle_seconds: float = 2.0
    hunt_retry_seconds: float = 2.0

    def record(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Queue one evidence fact: the Store method ``op`` applied to these arguments."""
        self.evidence.submit(Fact(op, args, kwargs))
