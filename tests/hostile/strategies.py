"""Hostile text for the hostile-input tests: what a caller, a SIP peer or an operator could put into
a caller ID, a channel name, a DTMF event, a command-line argument."""

from __future__ import annotations

from hypothesis import strategies as st

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
