"""The whole transition table (inbound and outbound) and ``decide``.

``decide(state, event) -> (state, commands)`` has no I/O, no asyncio and no clock. A pair found in
neither the transitions nor the ignored set is a bug in the table (a test checks there is none).
"""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from .commands import Decision, Handler
from .events import Event, UnexpectedEvent
from .outbound import OUTBOUND_IGNORED, OUTBOUND_TRANSITIONS, cut_off_disclosure
from .rules import INBOUND_IGNORED, INBOUND_TRANSITIONS
from .state import CallState, Phase

TRANSITIONS: Mapping[tuple[Phase, type], Handler] = {**INBOUND_TRANSITIONS, **OUTBOUND_TRANSITIONS}
IGNORED: frozenset[tuple[Phase, type]] = INBOUND_IGNORED | OUTBOUND_IGNORED


def initial_state(call_id: UUID) -> CallState:
    return CallState(call_id=call_id)


def decide(state: CallState, event: Event) -> Decision:
    """Apply one event; return the new state and the commands for the shell, in order."""
    key = (state.phase, type(event))
    handler = TRANSITIONS.get(key)
    if handler is not None:
        new, commands = handler(state, event)
        if state.disclosing:
            return cut_off_disclosure(state, new, commands, event.at)
        return new, commands
    if key in IGNORED:
        return state, ()
    raise UnexpectedEvent(f"{type(event).__name__} in phase {state.phase}")
