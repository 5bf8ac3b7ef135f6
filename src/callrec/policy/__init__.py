"""The recording policy: ``decide(state, event) -> (state, commands)``, pure (see ``rules``)."""

from .table import IGNORED, TRANSITIONS, decide, initial_state
from .types import *
from .types import __all__ as _types_all

# The types module owns its export list; repeating it here would let the two drift apart.
__all__ = ["IGNORED", "TRANSITIONS", "decide", "initial_state", *_types_all]  # noqa: PLE0604
