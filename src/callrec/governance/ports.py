"""Governance behind the ports other packages declare (structural: nothing is imported from them).

`callrec.release` asks "may this actor export this recording now?" (`GrantAuthoriser`) and writes
each attempt to an audit sink (`ChainedAuditSink`). Wire them with
`release.ports.Governance(ChainedAuditSink(db), GrantAuthoriser(db))`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from callrec.governance import audit
from callrec.governance import store as q
from callrec.governance.access import Action, decide
from callrec.governance.service import Clock, utc_now
from callrec.store.pool import Database

# Granted, refused by a rule, or failed: allowed, but the caller's own machinery broke and nothing
# was handed out (migration 008; earlier such rows read refused with failed=true in the detail).
_OUTCOMES = frozenset({audit.GRANTED, audit.REFUSED, audit.FAILED})


class ChainedAuditSink:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def record(self, actor: str, action: str, target: str, outcome: str,
                     detail: dict[str, Any]) -> None:
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}")
        await audit.append_alone(self._db, at=self._clock(), actor=actor, action=action,
                                 target=target, outcome=outcome, detail=detail)


class GrantAuthoriser:
    """Export follows the fetch rule: a known, enabled user with a live grant on the recording."""

    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def refusal(self, actor: str, recording_id: UUID) -> str | None:
        async with q.transaction(self._db, "check export grant") as conn:
            user = await q.get_user(conn, actor)
            grant = await q.newest_grant(conn, actor, recording_id)
        decision = decide(Action.RECORDINGS_EXPORT, user, self._clock(), grant=grant,
                          recording_id=recording_id)
        return None if decision.allowed else decision.reason
