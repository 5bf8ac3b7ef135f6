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

# The audit log knows two outcomes: something was granted, or it was not. A caller's "failed"
# (allowed, but its own machinery broke: nothing was handed out) is stored as refused, with
# failed=true in the detail, so the log never claims a copy left that did not.
_OUTCOMES = {"granted": audit.GRANTED, "refused": audit.REFUSED, "failed": audit.REFUSED}


class ChainedAuditSink:
    def __init__(self, db: Database, clock: Clock = utc_now) -> None:
        self._db = db
        self._clock = clock

    async def record(self, actor: str, action: str, target: str, outcome: str,
                     detail: dict[str, Any]) -> None:
        if outcome not in _OUTCOMES:
            raise ValueError(f"unknown audit outcome {outcome!r}")
        extra = {"failed": True} if outcome == "failed" else {}
        await audit.append_alone(self._db, at=self._clock(), actor=actor, action=action,
                                 target=target, outcome=_OUTCOMES[outcome],
                                 detail={**detail, **extra})


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
