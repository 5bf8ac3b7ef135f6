"""A dialer's conversation found live after a controller restart: resumed, and the agent is heard
only after a disclosure that finished.

Asterisk keeps the agent's ARI mute across our restart and plays on a disclosure we started, but the
new process hears of neither. So a disclosure whose proof says `finished` gets the unmute that may
never have been sent; one still open is closed `cut_off`, stopped, and played again whole before the
agent is unmuted.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from callrec.ari import Bridge, Channel
from callrec.controller.recovery import DISCLOSURE, mix_bridge_id
from callrec.controller.session import CallSession
from callrec.store import AgentLeg, Announcement, Call, CallDetail, Recording
from tests.controller.fakes import T0, Rig, channel, in_order, playback, until

CALL = UUID(int=0xCA12)
CLIENT = channel(f"callrec-client-{CALL}", "PJSIP/phones-00000009", "+64210112345")
AGENT = channel("callrec-agent-7", "PJSIP/agent1-0000000a")
MIX = mix_bridge_id(CALL)
PROMPT = "sound:callrec/vm/disclosure-abc"
OLD = UUID(int=0xD15C)


def evidence(disclosure: str | None) -> CallDetail:
    """An outbound call mid-conversation: agent leg in, segment 1 recording, its disclosure proof
    (``disclosure``: its outcome, None while it was playing)."""
    call = Call(CALL, "outbound", "+64210112345", None, None, "default", CLIENT["id"], T0, T0,
                None, None, None)
    leg = AgentLeg(UUID(int=1), CALL, "alice", AGENT["id"], T0, T0, T0, None, None, None)
    rec = Recording(UUID(int=2), CALL, leg.id, 1, "callrec-mm", "m", "c", "a", None, T0, None,
                    None, None, None, None, None, "recording")
    told = Announcement(OLD, CALL, DISCLOSURE, PROMPT, "Before we proceed...", T0,
                        T0 + timedelta(seconds=8) if disclosure else None, disclosure)
    return CallDetail(call, (), (leg,), (rec,), (), (told,), ())


async def restarted(rig: Rig, disclosure: str | None) -> None:
    """The controller comes up and finds the call above live in its bridge."""
    detail = evidence(disclosure)
    rig.store.results.update(open_calls=[detail.call], get_call=detail)
    rig.ari.alive = [Channel.from_json(CLIENT), Channel.from_json(AGENT)]
    rig.ari.bridges = [Bridge(MIX, "mixing", (CLIENT["id"], AGENT["id"]), "callrec")]
    rig.controller.connected.set()
    await rig.controller.reconcile()
    await until(lambda: CALL in rig.controller.calls, "the call adopted")


def adopted(rig: Rig) -> CallSession:
    session = rig.controller.calls[CALL]
    rig.sessions.append(session)
    return session


async def test_a_finished_disclosure_gets_the_unmute_the_crash_may_have_lost() -> None:
    async with Rig() as rig:
        await restarted(rig, "finished")
        session = adopted(rig)
        await until(lambda: rig.journal.of("ari", "unmute"), "the agent unmuted")
        [unmute] = rig.journal.of("ari", "unmute")
        assert unmute.args == {"channel_id": AGENT["id"], "direction": "in"}
        assert not rig.journal.of("ari", "play_on_bridge")
        assert not rig.stored("announcement_ended")
        await rig.send("ChannelHangupRequest", channel=CLIENT)
        await rig.ended(session)


async def test_a_disclosure_cut_by_the_crash_is_played_again_whole_before_the_agent_speaks() -> None:
    async with Rig() as rig:
        await restarted(rig, None)
        session = adopted(rig)
        await until(lambda: rig.journal.of("ari", "play_on_bridge"), "the disclosure again")
        [again] = rig.journal.of("ari", "play_on_bridge")
        assert (again.args["bridge_id"], again.args["media"]) == (MIX, PROMPT)
        assert not rig.journal.of("ari", "unmute")  # not before it finished
        ended = rig.stored("announcement_ended")
        assert [(e["id"], e["outcome"]) for e in ended] == [(OLD, "cut_off")]
        assert in_order(rig.journal.actions, [
            ("ari", "stop_playback", {"playback_id": str(OLD)}),
            ("ari", "mute", {"channel_id": AGENT["id"], "direction": "in"}),
            ("ari", "play_on_bridge", {"bridge_id": MIX}),
        ])
        [started] = rig.stored("announcement_started")
        assert again.args["playback_id"] == str(started["id"])
        assert (started["kind"], started["prompt"]) == (DISCLOSURE, PROMPT)

        await rig.send("PlaybackFinished",
                       playback=playback(again.args["playback_id"], PROMPT, MIX))
        await until(lambda: rig.journal.of("ari", "unmute"), "the agent unmuted")
        assert [e["outcome"] for e in rig.stored("announcement_ended")] == ["cut_off", "finished"]
        assert not rig.journal.of("ami", "stop")  # the conversation and its recording go on
        await rig.send("ChannelHangupRequest", channel=CLIENT)
        await rig.ended(session)
        assert rig.journal.of("ami", "stop")


async def test_a_client_leaving_during_the_replayed_disclosure_leaves_it_cut_off() -> None:
    async with Rig() as rig:
        await restarted(rig, None)
        session = adopted(rig)
        await until(lambda: rig.journal.of("ari", "play_on_bridge"), "the disclosure again")
        await rig.send("ChannelHangupRequest", channel=CLIENT)
        await rig.ended(session)
        assert [e["outcome"] for e in rig.stored("announcement_ended")] == ["cut_off", "cut_off"]
        assert not rig.journal.of("ari", "unmute")
