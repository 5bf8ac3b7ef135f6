"""The access rules as a table: who may do what, four eyes on approvals, grants that expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from callrec.governance.access import (
    ROLES_FOR,
    AccessRequest,
    Action,
    Grant,
    Role,
    User,
    decide,
    first_user,
    grant_expiry,
)

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
REC: UUID = uuid4()
OTHER_REC: UUID = uuid4()

viewer = User("vera", Role.VIEWER)
approver = User("amos", Role.APPROVER)
auditor = User("aud", Role.AUDITOR)
admin = User("root", Role.ADMIN)
disabled_admin = User("old", Role.ADMIN, enabled=False)


def request_by(requester: str, status: str = "pending") -> AccessRequest:
    return AccessRequest(uuid4(), REC, requester, "complaint 42", NOW - timedelta(hours=1),
                         status, None if status == "pending" else "april")


def grant_to(grantee: str, *, expires_in: timedelta = timedelta(hours=1),
             recording: UUID = REC) -> Grant:
    return Grant(uuid4(), uuid4(), recording, grantee, "amos", NOW - timedelta(hours=1),
                 NOW + expires_in)


# (case, action, actor, extra facts, allowed, words in the reason)
CASES = [
    ("unknown user gets nothing", Action.RECORDINGS_LIST, None, {}, False, "unknown user"),
    ("disabled user gets nothing", Action.RECORDINGS_LIST, disabled_admin, {}, False, "disabled"),
    ("viewer lists", Action.RECORDINGS_LIST, viewer, {}, True, ""),
    ("auditor shows", Action.RECORDINGS_SHOW, auditor, {}, True, ""),
    ("viewer requests access", Action.ACCESS_REQUEST, viewer, {}, True, ""),
    ("auditor does not request access", Action.ACCESS_REQUEST, auditor, {}, False, "auditor"),
    ("viewer cannot approve", Action.ACCESS_APPROVE, viewer,
     {"request": request_by("amos")}, False, "viewer"),
    ("approver approves someone else's request", Action.ACCESS_APPROVE, approver,
     {"request": request_by("vera")}, True, ""),
    ("approver cannot approve own request", Action.ACCESS_APPROVE, approver,
     {"request": request_by("amos")}, False, "other than its requester"),
    ("admin cannot approve own request either", Action.ACCESS_APPROVE, admin,
     {"request": request_by("root")}, False, "other than its requester"),
    ("approver cannot deny own request", Action.ACCESS_DENY, approver,
     {"request": request_by("amos")}, False, "other than its requester"),
    ("a decided request is not decided again", Action.ACCESS_APPROVE, approver,
     {"request": request_by("vera", "approved")}, False, "already approved"),
    ("approving a missing request", Action.ACCESS_APPROVE, admin, {}, False, "no such"),
    ("fetch without grant", Action.RECORDINGS_FETCH, viewer, {"recording_id": REC}, False,
     "no access grant"),
    ("fetch with live grant", Action.RECORDINGS_FETCH, viewer,
     {"grant": grant_to("vera"), "recording_id": REC}, True, ""),
    ("admin also needs a grant", Action.RECORDINGS_FETCH, admin, {"recording_id": REC}, False,
     "no access grant"),
    ("grant expired a second ago", Action.RECORDINGS_FETCH, viewer,
     {"grant": grant_to("vera", expires_in=timedelta(seconds=-1)), "recording_id": REC}, False,
     "expired"),
    ("grant expiring exactly now is expired", Action.RECORDINGS_FETCH, viewer,
     {"grant": grant_to("vera", expires_in=timedelta(0)), "recording_id": REC}, False,
     "expired"),
    ("someone else's grant", Action.RECORDINGS_FETCH, viewer,
     {"grant": grant_to("amos"), "recording_id": REC}, False, "another user"),
    ("grant for another recording", Action.RECORDINGS_FETCH, viewer,
     {"grant": grant_to("vera", recording=OTHER_REC), "recording_id": REC}, False,
     "another user or recording"),
    ("export follows the fetch rule", Action.RECORDINGS_EXPORT, viewer,
     {"recording_id": REC}, False, "no access grant"),
    ("auditor reads the audit log", Action.AUDIT_LIST, auditor, {}, True, ""),
    ("viewer does not read the audit log", Action.AUDIT_VERIFY, viewer, {}, False, "viewer"),
    ("approver places a legal hold", Action.HOLD_ADD, approver, {}, True, ""),
    ("viewer cannot remove a legal hold", Action.HOLD_REMOVE, viewer, {}, False, "viewer"),
    ("only admins purge", Action.RETENTION_PURGE, approver, {}, False, "approver"),
    ("admin purges", Action.RETENTION_PURGE, admin, {}, True, ""),
    ("only admins add users", Action.USERS_ADD, auditor, {}, False, "auditor"),
]


@pytest.mark.parametrize(("action", "actor", "facts", "allowed", "words"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rules(action: Action, actor: User | None, facts: dict, allowed: bool,
               words: str) -> None:
    decision = decide(action, actor, NOW, **facts)
    assert decision.allowed is allowed
    assert words in decision.reason


def test_every_action_names_the_roles_that_may_attempt_it() -> None:
    assert set(ROLES_FOR) == set(Action)
    assert all(ROLES_FOR[a] for a in Action)


def test_admin_may_attempt_everything_and_a_viewer_only_the_basics() -> None:
    assert all(Role.ADMIN in roles for roles in ROLES_FOR.values())
    viewer_actions = {a for a, roles in ROLES_FOR.items() if Role.VIEWER in roles}
    assert viewer_actions == {Action.RECORDINGS_LIST, Action.RECORDINGS_SHOW,
                              Action.RECORDINGS_FETCH, Action.RECORDINGS_EXPORT,
                              Action.ACCESS_REQUEST, Action.ACCESS_LIST}


@pytest.mark.parametrize(("role", "allowed"), [(Role.ADMIN, True), (Role.VIEWER, False),
                                               (Role.APPROVER, False), (Role.AUDITOR, False)])
def test_the_first_user_must_be_an_admin(role: Role, allowed: bool) -> None:
    assert first_user(role).allowed is allowed


def test_a_grant_lasts_the_configured_hours() -> None:
    assert grant_expiry(NOW, 24) == NOW + timedelta(hours=24)
    assert grant_expiry(NOW, 0.5) == NOW + timedelta(minutes=30)
    with pytest.raises(ValueError):
        grant_expiry(NOW, 0)
