"""An outbound call's end, as the attempt's outcome (what `callrec dial show` says happened)."""

from __future__ import annotations

import pytest

from callrec.controller.outbound import unanswered_reason
from callrec.dialer.outcome import attempt_outcome
from callrec.dialer.schedule import Outcome


@pytest.mark.parametrize(("verdict", "reason", "left", "expected"), [
    ("HUMAN", "caller_hangup", False, Outcome.ANSWERED_HUMAN),
    ("HUMAN", "agent_hangup", False, Outcome.ANSWERED_HUMAN),
    ("MACHINE", "machine_voicemail_left", True, Outcome.MACHINE_VOICEMAIL_LEFT),
    ("MACHINE", "machine_hung_up", False, Outcome.MACHINE_NO_MESSAGE),
    ("MACHINE", "machine_no_message", False, Outcome.MACHINE_NO_MESSAGE),
    ("NOTSURE", "amd_notsure", False, Outcome.UNSURE),
    ("HANGUP", "amd_hangup", False, Outcome.UNSURE),
    (None, "hangup_during_screening", False, Outcome.UNSURE),
    (None, "screening_timeout", False, Outcome.UNSURE),
    (None, "busy", False, Outcome.BUSY),
    (None, "no_answer", False, Outcome.NO_ANSWER),
    (None, "failed", False, Outcome.FAILED),
    (None, "agent_left_before_client_answered", False, Outcome.FAILED),
])
def test_attempt_outcome(verdict: str | None, reason: str, left: bool, expected: Outcome) -> None:
    assert attempt_outcome(verdict, reason, left) is expected


@pytest.mark.parametrize(("cause", "reason"), [
    (17, "busy"), (19, "no_answer"), (18, "no_answer"), (16, "no_answer"), (0, "no_answer"),
    (21, "failed"), (34, "failed"), (None, "failed"),
])
def test_q850_cause_of_a_phone_that_never_answered(cause: int | None, reason: str) -> None:
    assert unanswered_reason(cause) == reason
