"""The two governance ports a release goes through: may this actor export this recording, and the
audit log every attempt is written to.

The real implementations (live grants, the hash-chained audit log) live in ``callrec.governance``;
this package depends only on these Protocols, so it does not care how they are stored, and tests
pass explicit fakes. Outcome names follow the governance audit log.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

log = logging.getLogger(__name__)

ACTION_EXPORT = "recordings.export"  # governance's Action.RECORDINGS_EXPORT: a client release
GRANTED, REFUSED = "granted", "refused"  # a rule allowed / said no
FAILED = "failed"  # allowed, but the machinery broke (disk, ffmpeg, database)


class AuditSink(Protocol):
    async def record(self, actor: str, action: str, target: str, outcome: str,
                     detail: dict[str, Any]) -> None: ...


class Authoriser(Protocol):
    async def refusal(self, actor: str, recording_id: UUID) -> str | None:
        """None when `actor` may export the recording now, else the reason why not."""
        ...


@dataclass(frozen=True)
class Governance:
    audit: AuditSink
    authoriser: Authoriser


class LoggingAuditSink:
    """Writes attempts to the log. A stand-in until the governance audit log is wired in: NOT
    tamper-evident, not what production may run with (it warns on every use)."""

    async def record(self, actor: str, action: str, target: str, outcome: str,
                     detail: dict[str, Any]) -> None:
        log.warning("audit NOT persisted (governance not wired): %s %s %s -> %s %s",
                    actor, action, target, outcome, detail)


class UnguardedAuthoriser:
    """Allows everything, loudly. A stand-in until governance grants are wired in."""

    async def refusal(self, actor: str, recording_id: UUID) -> str | None:
        log.warning("export of %s by %s NOT checked against grants (governance not wired)",
                    recording_id, actor)
        return None


def unwired() -> Governance:
    return Governance(LoggingAuditSink(), UnguardedAuthoriser())
