"""How an outbound call's end becomes the attempt's outcome. Pure."""

from __future__ import annotations

from callrec.dialer.schedule import Outcome

# EndCall reasons of a call whose client never answered (controller.outbound.unanswered_reason).
_UNANSWERED = {"busy": Outcome.BUSY, "no_answer": Outcome.NO_ANSWER}
# Answered, but nobody could be told apart: the line hung up or went quiet while AMD listened.
_UNSURE_REASONS = frozenset({"hangup_during_screening", "screening_timeout"})


def attempt_outcome(verdict: str | None, reason: str, voicemail_left: bool) -> Outcome:
    """`verdict` is AMD's AMDSTATUS (None when the client never answered), `reason` the call's
    end reason, `voicemail_left` whether the whole script was played to a machine."""
    if verdict == "HUMAN":
        return Outcome.ANSWERED_HUMAN
    if verdict == "MACHINE":
        return Outcome.MACHINE_VOICEMAIL_LEFT if voicemail_left else Outcome.MACHINE_NO_MESSAGE
    if verdict or reason in _UNSURE_REASONS:  # NOTSURE, HANGUP
        return Outcome.UNSURE
    return _UNANSWERED.get(reason, Outcome.FAILED)
