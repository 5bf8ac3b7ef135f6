"""Channels in our application that no call accounts for after a restart (a kill in the instant
between taking a call and writing its row): a caller our dialplan sent us is taken as a new call, a
leg we originated is hung up, anything else is left to Asterisk."""

from __future__ import annotations

from callrec.ari import Bridge, Channel
from callrec.controller.orphans import Orphan, classify, orphans
from tests.controller.fakes import CALLER, INBOUND, Rig, channel, until

AGENT = channel("callrec-agent-0000", "PJSIP/agent1-00000003")
ANNOUNCER = channel("1763805600.30", "Announcer/ARI-0001;1")
ANNOUNCER["dialplan"] = {"context": "default", "exten": "s", "priority": 1,
                         "app_name": "", "app_data": ""}
OLD_HOLD = "callrec-00000000-0000-0000-0000-00000000dead-hold"


def test_what_an_unaccounted_channel_is() -> None:
    assert classify(Channel.from_json(CALLER), "callrec") is Orphan.CALLER
    assert classify(Channel.from_json(CALLER), "another-app") is None
    assert classify(Channel.from_json(AGENT), "callrec") is Orphan.LEG
    assert classify(Channel.from_json(ANNOUNCER), "callrec") is None


def test_only_live_channels_nobody_owns_are_orphans() -> None:
    live = {c["id"]: Channel.from_json(c) for c in (CALLER, AGENT, ANNOUNCER)}
    found = orphans([CALLER["id"], AGENT["id"], ANNOUNCER["id"], "gone"], {AGENT["id"]}, live,
                    "callrec")
    assert [(c.id, k) for c, k in found] == [(CALLER["id"], Orphan.CALLER)]


async def restarted_with(rig: Rig, *channels: dict[str, object]) -> None:
    rig.ari.app_channels = [str(c["id"]) for c in channels]
    rig.ari.alive = [Channel.from_json(c) for c in channels]
    await rig.controller.reconcile()


async def test_a_caller_no_call_names_is_taken_as_a_new_call_from_the_announcement() -> None:
    async with Rig() as rig:
        rig.ari.bridges = [Bridge(OLD_HOLD, "holding", (CALLER["id"],), "callrec-hold")]
        await restarted_with(rig, CALLER)
        await until(lambda: rig.controller.calls, "the caller taken as a call")
        [session] = rig.controller.calls.values()
        rig.sessions.append(session)
        await rig.finish_playback(1, INBOUND.announcement)  # as if it had just arrived
        [created] = rig.stored("create_call")
        assert (created["channel_id"], created["direction"]) == (CALLER["id"], "inbound")
        [removed] = rig.journal.of("ari", "remove_channel")
        assert removed.args == {"bridge_id": OLD_HOLD, "channel_id": CALLER["id"]}
        assert [a.args["bridge_id"] for a in rig.journal.of("ari", "destroy_bridge")] == [OLD_HOLD]
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)


async def test_a_leg_of_an_unknown_call_is_hung_up_and_asterisks_own_are_left_alone() -> None:
    async with Rig() as rig:
        await restarted_with(rig, AGENT, ANNOUNCER)
        await until(lambda: rig.hung_up(AGENT["id"]), "the orphaned agent leg hung up")
        assert not rig.hung_up(ANNOUNCER["id"])
        assert not rig.controller.calls and not rig.stored("create_call")


async def test_a_caller_a_live_call_owns_is_no_orphan() -> None:
    async with Rig() as rig:
        session = await rig.call_arrives()
        await restarted_with(rig, CALLER)  # a reconnect: the call is ours and goes on
        assert list(rig.controller.calls.values()) == [session]
        assert len(rig.journal.of("ari", "answer")) == 1  # answered once, when it arrived
        await rig.send("ChannelHangupRequest", channel=CALLER, cause=16)
        await rig.ended(session)
