"""The recording policy: ``decide(state, event) -> (state, commands)``, pure (see ``rules``)."""

from . import commands, events, state
from .commands import *
from .events import *
from .state import *
from .table import IGNORED, TRANSITIONS, decide, initial_state

# Each module owns its export list; repeating the names here would let the lists drift apart.
__all__ = ["IGNORED", "TRANSITIONS", "decide", "initial_state",  # noqa: PLE0604
           *state.__all__, *events.__all__, *commands.__all__]
