"""Who may do what: the access rules, pure (no I/O, no clock: `now` comes in).

`decide(action, actor, now, ...)` answers allow/refuse with a reason a person can read. The shell
(`governance.service`) looks the facts up, asks here, and writes the answer to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from uuid import UUID


class Role(StrEnum):
    VIEWER = "viewer"  # finds recordings, asks for access
    APPROVER = "approver"  # also approves others' requests, places legal holds
    AUDITOR = "auditor"  # reads and verifies the audit log; finds recordings
    ADMIN = "admin"  # everything, including users and retention


class Action(StrEnum):
    RECORDINGS_LIST = "recordings.list"
    RECORDINGS_SHOW = "recordings.show"
    RECORDINGS_FETCH = "recordings.fetch"
    RECORDINGS_EXPORT = "recordings.export"  # a client release: needs a grant like a fetch
    RECORDINGS_ENCRYPT = "recordings.encrypt"
    ACCESS_REQUEST = "access.request"
    ACCESS_APPROVE = "access.approve"
    ACCESS_DENY = "access.deny"
    ACCESS_LIST = "access.list"
    AUDIT_LIST = "audit.list"
    AUDIT_VERIFY = "audit.verify"
    HOLD_ADD = "hold.add"
    HOLD_REMOVE = "hold.remove"
    RETENTION_PLAN = "retention.plan"  # --dry-run
    RETENTION_PURGE = "retention.purge"
    USERS_ADD = "users.add"
    USERS_DISABLE = "users.disable"
    USERS_LIST = "users.list"


_ANYONE: Final = frozenset(Role)
_DECIDERS: Final = frozenset({Role.APPROVER, Role.ADMIN})
_AUDITORS: Final = frozenset({Role.AUDITOR, Role.ADMIN})
_ADMINS: Final = frozenset({Role.ADMIN})

# The roles that may attempt each action. Further conditions (a live grant, four eyes) follow.
ROLES_FOR: Final[dict[Action, frozenset[Role]]] = {
    Action.RECORDINGS_LIST: _ANYONE,
    Action.RECORDINGS_SHOW: _ANYONE,
    Action.RECORDINGS_FETCH: _ANYONE,
    Action.RECORDINGS_EXPORT: _ANYONE,
    Action.RECORDINGS_ENCRYPT: _ADMINS,
    Action.ACCESS_REQUEST: frozenset({Role.VIEWER, Role.APPROVER, Role.ADMIN}),
    Action.ACCESS_APPROVE: _DECIDERS,
    Action.ACCESS_DENY: _DECIDERS,
    Action.ACCESS_LIST: _ANYONE,
    Action.AUDIT_LIST: _AUDITORS,
    Action.AUDIT_VERIFY: _AUDITORS,
    Action.HOLD_ADD: _DECIDERS,
    Action.HOLD_REMOVE: _DECIDERS,
    Action.RETENTION_PLAN: _ADMINS,
    Action.RETENTION_PURGE: _ADMINS,
    Action.USERS_ADD: _ADMINS,
    Action.USERS_DISABLE: _ADMINS,
    Action.USERS_LIST: _ADMINS,
}
_NEEDS_GRANT: Final = frozenset({Action.RECORDINGS_FETCH, Action.RECORDINGS_EXPORT})
_DECISIONS: Final = frozenset({Action.ACCESS_APPROVE, Action.ACCESS_DENY})


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    enabled: bool = True


@dataclass(frozen=True)
class AccessRequest:
    id: UUID
    recording_id: UUID
    requester: str
    reason: str
    requested_at: datetime
    status: str  # pending | approved | denied
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


@dataclass(frozen=True)
class Grant:
    id: UUID
    request_id: UUID
    recording_id: UUID
    grantee: str
    approved_by: str
    granted_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str


ALLOWED: Final = Decision(True, "allowed")


def refused(reason: str) -> Decision:
    return Decision(False, reason)


def decide(
    action: Action,
    actor: User | None,
    now: datetime,
    *,
    request: AccessRequest | None = None,
    grant: Grant | None = None,
    recording_id: UUID | None = None,
) -> Decision:
    """May `actor` do `action` now? For approve/deny pass the request; for fetch/export the
    newest grant of the actor on `recording_id` (None if there is none)."""
    if actor is None:
        return refused("unknown user: ask an administrator to add you (callrec users add)")
    if not actor.enabled:
        return refused(f"user {actor.name} is disabled")
    if actor.role not in ROLES_FOR[action]:
        return refused(f"role {actor.role} may not {action}")
    if action in _DECISIONS:
        return _decide_on_request(actor, request)
    if action in _NEEDS_GRANT:
        return _check_grant(actor, now, grant, recording_id)
    return ALLOWED


def _decide_on_request(actor: User, request: AccessRequest | None) -> Decision:
    if request is None:
        return refused("no such access request")
    if request.status != "pending":
        return refused(f"request already {request.status} by {request.decided_by}")
    if request.requester == actor.name:
        return refused("a request must be decided by someone other than its requester")
    return ALLOWED


def _check_grant(
    actor: User, now: datetime, grant: Grant | None, recording_id: UUID | None
) -> Decision:
    if grant is None:
        return refused("no access grant: request access first (callrec access request)")
    if grant.grantee != actor.name or grant.recording_id != recording_id:
        return refused("the grant is for another user or recording")
    if now >= grant.expires_at:
        return refused(f"access grant expired at {grant.expires_at.isoformat()}")
    return ALLOWED


def first_user(role: Role) -> Decision:
    """Bootstrap: while no user exists anyone may create the first one, which must be an admin
    (otherwise nobody could ever add the next)."""
    if role != Role.ADMIN:
        return refused("the first user must be an admin")
    return ALLOWED


def grant_expiry(now: datetime, hours: float) -> datetime:
    if hours <= 0:
        raise ValueError(f"grant hours must be positive, got {hours}")
    return now + timedelta(hours=hours)
