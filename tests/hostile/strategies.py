"""Hostile text for the hostile-input tests: what a caller, a SIP peer or an operator could put into
a caller ID, a channel name, a DTMF event, a command-line argument."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import strategies as st

T = TypeVar("T")

NASTY = (
    "", " ", "../", "../../etc/passwd", "/etc/passwd", "..\\..\\windows", "\x00", "a\x00b", "'", '"',
    "`", "'; DROP TABLE calls;--", "' OR 1=1 --", "%s", "%(x)s", "{0}", "${HOME}", "$(reboot)",
    "r(/tmp/x)", "b,i(X)", "|", "\n", "\r\n", "\t", "\u202e", "\ufeff", "\U0001f600", "\ud800",
    "PJSIP/alice-00000001", "Local/1000@ctx-0001;1", "callrec-", "callrec-agent-", "x" * 10_000,
)

# Lone surrogates (Cs) and controls (Cc) too: JSON can carry them; hypothesis' default text can't.
_ODD_CHARS = st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Lo", "So", "P"])

hostile = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.text(_ODD_CHARS, max_size=40),
    st.builds(lambda s, n: s * n, st.sampled_from(["../", "\x00", "'", "9"]),
              st.integers(1, 5000)),
)

# AMI (test_ami_messages.py). Header and event names the gateway reads or waits for, in any letter
# case (Asterisk is not consistent about case); values that end the line, as a hostile caller ID or
# channel name could try; a header Asterisk repeats (``Output:``, ``Variable:``) arrives as a list.
AMI_HEADERS = ("Event", "Response", "ActionID", "CommandID", "Message", "Output", "Channel",
               "Uniqueid", "MixMonitorID", "Variable", "Value", "Reason", "content")
AMI_EVENTS = ("Hangup", "OriginateResponse", "MixMonitorStart", "MixMonitorStop", "FullyBooted",
              "Newchannel", "UserEvent", "Shutdown")
LINE_BREAKS = ("\r\n", "\n", "\r", "\r\n\r\n", "\n\r",
               "\r\nAction: Originate\r\nChannel: Local/1@evil\r\n\r\n")


def any_case(words: tuple[str, ...]) -> st.SearchStrategy[str]:
    """One of ``words`` with the case of each letter flipped or not."""
    return st.sampled_from(words).flatmap(lambda word: st.lists(
        st.booleans(), min_size=len(word), max_size=len(word)).map(
        lambda flips: "".join(c.swapcase() if flip else c for c, flip in zip(word, flips))))


def either(first: st.SearchStrategy[T], second: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Half from each (st.one_of flattens nested one_ofs and picks among all their branches, so
    ``one_of(x, hostile)`` would draw x a fifth of the time)."""
    return st.booleans().flatmap(lambda pick: first if pick else second)


line_breaking = st.builds(lambda before, brk, after: before + brk + after,
                          hostile, st.sampled_from(LINE_BREAKS), hostile)
ami_text = st.one_of(hostile, line_breaking)
ami_value = either(ami_text, st.lists(ami_text, min_size=2, max_size=3))
ami_header_name = either(any_case(AMI_HEADERS), hostile)
ami_event_name = either(any_case(AMI_EVENTS), hostile)
