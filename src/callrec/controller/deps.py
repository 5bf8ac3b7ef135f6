"""What a call needs from the outside world, passed in explicitly (no module-level singletons)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from callrec.ari import AriClient
from callrec.audio import FileFacts
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
    # Set while our ARI application is connected (the controller keeps it): nothing is originated
    # into the application otherwise, as its StasisStart would reach nobody.
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    def record(self, op: str, *args: Any, **kwargs: Any) -> None:
        """Queue one evidence fact: the Store method ``op`` applied to these arguments."""
        self.evidence.submit(Fact(op, args, kwargs))

    def record_sealed(self, recording_id: UUID, stopped_at: datetime, mix: FileFacts | None,
                      stereo: FileFacts | None, status: str) -> None:
        """A recording's files are closed and measured: the one mapping onto its row."""
        self.record("recording_finalised", recording_id, stopped_at=stopped_at,
                    duration_ms=mix.duration_ms if mix else None,
                    bytes=mix.bytes if mix else None, sha256=mix.sha256 if mix else None,
                    file_stereo=str(stereo.path) if stereo else None,
                    stereo_sha256=stereo.sha256 if stereo else None, status=status)
