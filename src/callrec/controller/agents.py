"""The agent pool: who is free, who is ringing or talking.

Busy is tracked per agent name, by the channel callrec created for the agent. The pool forgets a channel
only when Asterisk reports it destroyed, so an agent is never offered a second call while any leg of
theirs is alive, even if the call it belonged to has already been cleaned up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agent:
    name: str
    dial_string: str


LoadAgents = Callable[[], Awaitable[Sequence[Agent]]]


class AgentPool:
    def __init__(self, load: LoadAgents) -> None:
        self._load = load
        self._busy: dict[str, str] = {}  # channel id -> agent name

    async def free(self, exclude: set[str] | frozenset[str] = frozenset()) -> list[Agent]:
        busy = set(self._busy.values())
        return [a for a in await self._load() if a.name not in busy and a.name not in exclude]

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
