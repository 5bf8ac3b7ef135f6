"""The governed operations: each one looks up the facts, asks the rules (governance.access), does
the work and appends its audit row in ONE transaction; a refusal rolls the work back and is then
audited on its own.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from callrec.governance import audit
from callrec.governance import store as q
from callrec.governance.access import (
    AccessRequest,
    Action,
    Decision,
    Grant,
    Role,
    User,
    decide,
    first_user,
    grant_expiry,
)
from callrec.governance.errors import AccessRefused, GovernanceError
from callrec.governance.listing import (
    RecordingFilter,
    RecordingRow,
    get_recording_row,
    list_recordings,
)
from callrec.governance.settings import AccessConfig
from callrec.store.pool import Database

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Refusal(Exception):
    """Raised inside an attempt to roll it back; the attempt audits it and raises `error`."""

    def __init__(self, reason: str, detail: Mapping[str, Any] | None = None,
                 error: type[GovernanceError] = AccessRefused) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = dict(detail or {})
        self.error = error


@dataclass
class Attempt:
    """One governed action in progress: its transaction, its clock reading and who acts."""

    conn: AsyncConnection
    at: datetime
    action: Action
    target: str | None
    actor: str
    user: User | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def require(self, decision: Decision, **detail: Any) -> None:
        if not decision.allowed:
            raise Refusal(decision.reason, detail)

    async def granted(self, **detail: Any) -> audit.AuditEntry:
        return await audit.append(self.conn, at=self.at, actor=self.actor, action=self.action,
                                  target=self.target, outcome=audit.GRANTED,
                                  detail={**self.detail, **detail})


@dataclass(frozen=True)
class Evidence:
    """`recordings show`: the recording, its call's evidence, its legal holds and disposal."""

    row: RecordingRow
    call: Any  # callrec.store.CallDetail
    legal_holds: tuple[q.LegalHold, ...]
    disposal: q.Disposal | None


class Governance:
    def __init__(self, db: Database, actor: str, *, access: AccessConfig | None = None,
                 clock: Clock = utc_now) -> None:
        self.db = db
        self.actor = actor
        self.access = access or AccessConfig()
        self.clock = clock

    @asynccontextmanager
    async def attempt(self, action: Action, target: str | UUID | None = None
                      ) -> AsyncIterator[Attempt]:
        """A transaction in which the actor is looked up and `action` decided (by role only;
        callers add their own `require` checks). Commits on success; a Refusal rolls back, is
        audited as refused, and surfaces as AccessRefused (or the Refusal's error type)."""
        at = self.clock()
        text = None if target is None else str(target)
        try:
            async with q.transaction(self.db, str(action)) as conn:
                att = Attempt(conn, at, action, text, self.actor)
                att.user = await q.get_user(conn, self.actor)
                yield att
        except Refusal as r:
            await audit.append_alone(self.db, at=at, actor=self.actor, action=action.value,
                                     target=text, outcome=audit.REFUSED,
                                     detail={"reason": r.reason, **r.detail})
            raise r.error(r.reason) from None

    # ------------------------------------------------------------------------------- users
    async def add_user(self, name: str, role: Role) -> None:
        async with self.attempt(Action.USERS_ADD, name) as att:
            bootstrap = not await q.any_user(att.conn)
            decision = first_user(role) if bootstrap else decide(Action.USERS_ADD, att.user, att.at)
            att.require(decision, role=role.value)
            if not name.strip():
                raise Refusal("a user name must not be blank")
            await q.insert_user(att.conn, name, role, att.at, self.actor)
            await att.granted(role=role.value, bootstrap=bootstrap)

    async def disable_user(self, name: str) -> None:
        async with self.attempt(Action.USERS_DISABLE, name) as att:
            att.require(decide(Action.USERS_DISABLE, att.user, att.at))
            if not await q.disable_user(att.conn, name):
                raise Refusal(f"no user named {name!r}")
            await att.granted()

    async def list_users(self) -> list[dict[str, Any]]:
        async with self.attempt(Action.USERS_LIST) as att:
            att.require(decide(Action.USERS_LIST, att.user, att.at))
            users = await q.list_users(att.conn)
            await att.granted(count=len(users))
            return users

    # -------------------------------------------------------------------------- recordings
    async def list_recordings(self, f: RecordingFilter) -> list[RecordingRow]:
        async with self.attempt(Action.RECORDINGS_LIST) as att:
            att.require(decide(Action.RECORDINGS_LIST, att.user, att.at))
            rows = await list_recordings(att.conn, f)
            await att.granted(filter=_set_fields(f), count=len(rows))
            return rows

    async def show_recording(self, id: UUID) -> Evidence:
        from callrec.store import Store  # the controller's store owns the call's evidence reads

        async with self.attempt(Action.RECORDINGS_SHOW, id) as att:
            att.require(decide(Action.RECORDINGS_SHOW, att.user, att.at))
            row = await get_recording_row(att.conn, id)
            if row is None:
                raise Refusal("no such recording")
            holds = tuple(await q.holds_of(att.conn, id))
            disposal = await q.get_disposal(att.conn, id)
            await att.granted()
        call = await Store(self.db).get_call(row.recording.call_id)
        return Evidence(row, call, holds, disposal)

    async def existing_recording(self, att: Attempt, id: UUID, *, lock: bool = False
                                 ) -> q.RecordingRef:
        ref = await q.recording_ref(att.conn, id, lock=lock)
        if ref is None:
            raise Refusal("no such recording")
        return ref

    # ------------------------------------------------------------------------------ access
    async def request_access(self, recording_id: UUID, reason: str) -> AccessRequest:
        async with self.attempt(Action.ACCESS_REQUEST, recording_id) as att:
            att.require(decide(Action.ACCESS_REQUEST, att.user, att.at), reason=reason)
            if not reason.strip():
                raise Refusal("a reason is required")
            ref = await self.existing_recording(att, recording_id)
            if ref.status == "purged":
                raise Refusal("the recording was purged")
            request = AccessRequest(uuid.uuid4(), recording_id, self.actor, reason.strip(),
                                    att.at, "pending")
            await q.insert_request(att.conn, request)
            await att.granted(request=request.id, reason=request.reason)
            return request

    async def approve(self, request_id: UUID, hours: float | None = None) -> Grant:
        async with self.attempt(Action.ACCESS_APPROVE, request_id) as att:
            request = await q.get_request(att.conn, request_id, lock=True)
            att.require(decide(Action.ACCESS_APPROVE, att.user, att.at, request=request))
            assert request is not None
            expires = grant_expiry(att.at, hours or self.access.grant_hours)
            grant = Grant(uuid.uuid4(), request.id, request.recording_id, request.requester,
                          self.actor, att.at, expires)
            await q.decide_request(att.conn, request.id, "approved", self.actor, att.at, None)
            await q.insert_grant(att.conn, grant)
            await att.granted(recording=request.recording_id, grantee=request.requester,
                              grant=grant.id, expires_at=expires)
            return grant

    async def deny(self, request_id: UUID, note: str) -> None:
        async with self.attempt(Action.ACCESS_DENY, request_id) as att:
            request = await q.get_request(att.conn, request_id, lock=True)
            att.require(decide(Action.ACCESS_DENY, att.user, att.at, request=request))
            await q.decide_request(att.conn, request_id, "denied", self.actor, att.at, note)
            await att.granted(note=note)

    async def list_requests(self, *, pending: bool = False, limit: int = 100
                            ) -> list[AccessRequest]:
        """Approvers, auditors and admins see every request; viewers their own."""
        async with self.attempt(Action.ACCESS_LIST) as att:
            att.require(decide(Action.ACCESS_LIST, att.user, att.at))
            assert att.user is not None
            mine = self.actor if att.user.role == Role.VIEWER else None
            rows = await q.list_requests(att.conn, requester=mine, pending=pending, limit=limit)
            await att.granted(count=len(rows), pending_only=pending)
            return rows

    # -------------------------------------------------------------------------- legal holds
    async def hold_add(self, recording_id: UUID, reason: str) -> q.LegalHold:
        async with self.attempt(Action.HOLD_ADD, recording_id) as att:
            att.require(decide(Action.HOLD_ADD, att.user, att.at), reason=reason)
            if not reason.strip():
                raise Refusal("a reason is required")
            ref = await self.existing_recording(att, recording_id, lock=True)
            if ref.status == "purged":
                raise Refusal("the recording was already purged")
            if await q.active_hold(att.conn, recording_id) is not None:
                raise Refusal("the recording is already under a legal hold")
            hold_id = uuid.uuid4()
            await q.insert_hold(att.conn, hold_id, recording_id, reason.strip(), self.actor,
                                att.at)
            await att.granted(hold=hold_id, reason=reason.strip())
            return q.LegalHold(hold_id, recording_id, reason.strip(), self.actor, att.at,
                               None, None, None)

    async def hold_remove(self, recording_id: UUID, reason: str) -> None:
        async with self.attempt(Action.HOLD_REMOVE, recording_id) as att:
            att.require(decide(Action.HOLD_REMOVE, att.user, att.at), reason=reason)
            if not reason.strip():
                raise Refusal("a reason is required")
            hold = await q.active_hold(att.conn, recording_id)
            if hold is None:
                raise Refusal("the recording is not under a legal hold")
            await q.release_hold(att.conn, hold.id, self.actor, att.at, reason.strip())
            await att.granted(hold=hold.id, reason=reason.strip())

    # -------------------------------------------------------------------------------- audit
    async def audit_list(self, **filters: Any) -> list[audit.AuditEntry]:
        async with self.attempt(Action.AUDIT_LIST) as att:
            att.require(decide(Action.AUDIT_LIST, att.user, att.at))
            # Read before this attempt's own row is appended: the listing shows what was there.
            rows = await audit.list_entries(self.db, **filters)
            await att.granted(filter={k: v for k, v in filters.items() if v is not None},
                              count=len(rows))
            return rows

    async def audit_verify(self, anchor: tuple[int, str] | None = None) -> audit.ChainReport:
        async with self.attempt(Action.AUDIT_VERIFY) as att:
            att.require(decide(Action.AUDIT_VERIFY, att.user, att.at))
        report = await audit.verify(self.db, anchor)
        # Recorded after the walk (its own row is not part of what it checked).
        async with self.attempt(Action.AUDIT_VERIFY) as att:
            await att.granted(ok=report.ok, rows=report.rows, problem=report.problem,
                              head_seq=report.head_seq, head_hash=report.head_hash)
        return report


def _set_fields(f: RecordingFilter) -> dict[str, Any]:
    defaults = RecordingFilter()
    return {k: v for k, v in vars(f).items() if v != getattr(defaults, k)}


__all__ = ["Attempt", "Clock", "Evidence", "Governance", "Refusal", "utc_now"]
