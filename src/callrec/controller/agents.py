"""The agent pool: who is free, who is ringing or talking.

Busy is tracked per agent name, by the channel callrec created for the agent. The pool forgets a channel
only when Asterisk reports it destroyed, so an agent is never offered a second call while any leg of
theirs is alive, even if the call it belonged to has already been cleaned up.

The list of agents (the store's, changed by `callrec agents add/remove` from another process) may be
kept for ``ttl`` seconds: under load every waiting call hunts, and reading every agent's row for each
one costs the controller more than the call's own events.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agent:
    name: str
    dial_string: str


LoadAgents = Callable[[], Awaitable[Sequence[Agent]]]


class AgentPool:
    def __init__(self, load: LoadAgents, *, ttl: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._load = load
        self._ttl = ttl  # 0: read the list on every hunt
        self._clock = clock
        self._agents: tuple[Sequence[Agent], float] | None = None  # the list, and when it was read
        self._busy: dict[str, str] = {}  # channel id -> agent name

    async def free(self, exclude: set[str] | frozenset[str] = frozenset()) -> list[Agent]:
        agents = await self._current()
        busy = set(self._busy.values())
        return [a for a in agents if a.name not in busy and a.name not in exclude]

    async def _current(self) -> Sequence[Agent]:
        now = self._clock()
        if self._agents is None or now - self._agents[1] >= self._ttl:
            self._agents = (await self._load(), now)
        return self._agents[0]

    def acquire(self, agent: Agent, channel_id: str) -> bool:
        """Claim the agent for a new leg; False if someone else got them first."""
        if agent.name in self._busy.values():
            return False
        self._busy[channel_id] = agent.name
        return True

    def acquire_name(self, name: str, channel_id: str) -> None:
        """Mark an agent busy on a channel found alive after a restart."""
        self._busy[channel_id] = name

    def channel_gone(self, channel_id: str) -> None:
        self._busy.pop(channel_id, None)

    def busy_names(self) -> set[str]:
        return set(self._busy.values())
