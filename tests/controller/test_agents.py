"""AgentPool: an agent is offered a call only while no leg of theirs is alive."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from callrec.controller.agents import Agent, AgentPool

ALICE, BOB, CAROL = (Agent(n, f"PJSIP/{n}") for n in ("alice", "bob", "carol"))
AGENTS = (ALICE, BOB, CAROL)


async def load() -> Sequence[Agent]:
    return AGENTS


async def test_everyone_is_free_at_first_in_configured_order() -> None:
    assert await AgentPool(load).free() == list(AGENTS)


async def test_free_excludes_busy_and_excluded_agents() -> None:
    pool = AgentPool(load)
    assert pool.acquire(ALICE, "callrec-agent-1")
    assert await pool.free() == [BOB, CAROL]
    assert await pool.free(exclude={"bob"}) == [CAROL]
    assert await pool.free(exclude=frozenset({"bob", "carol"})) == []


async def test_an_agent_cannot_be_acquired_twice() -> None:
    pool = AgentPool(load)
    assert pool.acquire(ALICE, "callrec-agent-1")
    assert not pool.acquire(ALICE, "callrec-agent-2")  # another call got her first
    assert pool.busy_names() == {"alice"}
    pool.channel_gone("callrec-agent-2")  # the refused leg was never hers: still busy
    assert pool.busy_names() == {"alice"}


async def test_channel_gone_frees_the_agent() -> None:
    pool = AgentPool(load)
    assert pool.acquire(ALICE, "callrec-agent-1")
    pool.channel_gone("callrec-agent-1")
    assert await pool.free() == list(AGENTS)
    assert pool.acquire(ALICE, "callrec-agent-2")


async def test_channel_gone_is_idempotent_and_ignores_strangers() -> None:
    pool = AgentPool(load)
    assert pool.acquire(BOB, "callrec-agent-1")
    pool.channel_gone("1763805600.9")  # e.g. the Local;1 of a transfer
    pool.channel_gone("callrec-agent-1")
    pool.channel_gone("callrec-agent-1")
    assert pool.busy_names() == set()


async def test_the_agent_list_is_read_each_time() -> None:
    current: list[Agent] = [ALICE]

    async def changing() -> Sequence[Agent]:
        return list(current)

    pool = AgentPool(changing)
    assert await pool.free() == [ALICE]
    current.append(BOB)  # an agent added with `callrec agents add` while running
    assert await pool.free() == [ALICE, BOB]


async def test_with_a_ttl_the_list_is_read_again_only_once_it_expired() -> None:
    current: list[Agent] = [ALICE]
    reads, now = 0, 100.0

    async def changing() -> Sequence[Agent]:
        nonlocal reads
        reads += 1
        return list(current)

    pool = AgentPool(changing, ttl=1.0, clock=lambda: now)
    assert await pool.free() == [ALICE]
    current.append(BOB)
    now += 0.9
    assert await pool.free() == [ALICE] and reads == 1  # within the TTL: the list read before
    assert pool.acquire(ALICE, "callrec-agent-1")
    assert await pool.free() == []  # who is busy is never cached
    now += 0.1
    assert await pool.free() == [BOB] and reads == 2


class PoolModel(RuleBasedStateMachine):
    """Random acquire / channel_gone traffic; channel IDs are fresh per leg, as callrec mints them."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = AgentPool(load)
        self.live: dict[str, str] = {}  # live channel -> agent, as the model sees it
        self.minted = 0

    @rule(agent=st.sampled_from(AGENTS))
    def acquire(self, agent: Agent) -> None:
        self.minted += 1
        channel_id = f"callrec-agent-{self.minted}"
        expected = agent.name not in self.live.values()
        assert self.pool.acquire(agent, channel_id) == expected
        if expected:
            self.live[channel_id] = agent.name

    @precondition(lambda self: self.minted > 0)
    @rule(data=st.data())
    def channel_gone(self, data: st.DataObject) -> None:
        # Any channel ever minted, live or not (StasisEnd and ChannelDestroyed both report it).
        channel_id = f"callrec-agent-{data.draw(st.integers(1, self.minted))}"
        self.pool.channel_gone(channel_id)
        self.live.pop(channel_id, None)

    @invariant()
    def never_two_live_legs_per_agent(self) -> None:
        names = list(self.live.values())
        assert len(names) == len(set(names))
        assert self.pool.busy_names() == set(names)


TestPoolModel = PoolModel.TestCase
TestPoolModel.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
