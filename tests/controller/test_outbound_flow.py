"""One outbound call through the real controller shell, with ARI events in the order Asterisk 22 sends
them: what is done to the outside world, and in which order. Above all: the client is dialled only
after the attempt row is written and the agent is in the bridge and muted; recording starts only once
the client is in the bridge, and the disclosure is played after it started; a machine is never
recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from callrec.controller.outbound import OutboundPlan, OutboundSession
from tests.controller.fakes import ALICE, Journal, Rig, bridge, channel, in_order, playback, until

CALL = UUID(int=0xCA11)
CLIENT_ID = f"callrec-client-{CALL}"
CLIENT = channel(CLIENT_ID, "PJSIP/phones-00000007", "+64210112345")
DISCLOSURE = "sound:callrec/disclosure"
SCRIPT = "sound:callrec/vm/vm-0123"


class Hooks:
    def __init__(self, journal: Journal, *, allow: bool = True) -> None:
        self.journal, self.allow = journal, allow

    async def begin(self, agent: str | None) -> bool:
        self.journal.add("dialer", "begin", {"agent": agent})
        return self.allow

    async def voicemail(self) -> str | None:
        return SCRIPT

    async def voicemail_left(self, at: datetime) -> None:
        self.journal.add("dialer", "voicemail_left", {"at": at})


def plan(hooks: Hooks) -> OutboundPlan:
    return OutboundPlan(
        call_id=CALL, number="+64210112345", endpoint="PJSIP/+64210112345@trunk",
        caller_id="0800559009", business_unit="default", agent=None,
        amd_context="callrec-outbound", amd_options="", ring_seconds=30, verdict_timeout=30,
        disclosure_prompt=DISCLOSURE, disclosure_text="Before we proceed...", hooks=hooks)


async def dial(rig: Rig, *, allow: bool = True) -> tuple[OutboundSession, dict[str, Any]]:
    """Up to the client's phone ringing: the agent answered, is in the bridge, muted."""
    rig.controller.connected.set()
    session = await rig.controller.start_outbound(plan(Hooks(rig.journal, allow=allow)))
    rig.sessions.append(session)
    agent = await rig.agent_rung()
    _, call_id, leg_id = rig.journal.of("ari", "originate")[-1].args["app_args"].split(",")
    await rig.send("StasisStart", channel=agent, args=["agent", call_id, leg_id])
    await until(lambda: rig.added(agent["id"]), "the agent in the bridge")
    await rig.send("ChannelEnteredBridge", channel=agent, bridge=bridge(session.mix_bridge))
    await until(lambda: rig.journal.of("dialer", "begin"), "the attempt row")
    return session, agent


async def screened(rig: Rig, verdict: str) -> None:
    await until(lambda: len(rig.journal.of("ari", "originate")) == 2, "the client dialled")
    await rig.send("StasisStart", channel=CLIENT, args=["dialled", str(CALL)])
    await until(lambda: rig.journal.of("ari", "continue_in_dialplan"), "the client sent to AMD")
    await rig.send("StasisStart", channel=CLIENT, args=["screened", str(CALL), verdict, "x"])


async def test_a_person_is_bridged_then_recorded_then_told() -> None:
    async with Rig() as rig:
        session, agent = await dial(rig)
        await screened(rig, "HUMAN")
        await until(lambda: rig.journal.of("ari", "play_on_bridge"), "the disclosure")
        [client_dial] = rig.journal.of("ari", "originate")[1:]
        assert client_dial.args["channel_id"] == CLIENT_ID
        assert client_dial.args["caller_id"] == "0800559009"
        assert client_dial.args["variables"]["CALLREC_CALL"] == str(CALL)
        mix = session.mix_bridge
        assert in_order(rig.journal.actions, [
            ("ari", "create_bridge", {"bridge_id": mix}),
            ("ari", "originate", {"endpoint": ALICE.dial_string}),
            ("ari", "add_channel", {"bridge_id": mix, "channel_id": agent["id"]}),
            ("ari", "mute", {"channel_id": agent["id"], "direction": "in"}),
            ("dialer", "begin", {"agent": ALICE.name}),
            ("ari", "originate", {"channel_id": CLIENT_ID}),
            ("ari", "continue_in_dialplan", {"channel_id": CLIENT_ID,
                                             "context": "callrec-outbound", "extension": "amd"}),
            ("ari", "add_channel", {"bridge_id": mix, "channel_id": CLIENT_ID}),
            ("ami", "start", {"channel_name": agent["name"]}),
            ("ari", "play_on_bridge", {"bridge_id": mix, "media": DISCLOSURE}),
        ])
        assert len(rig.journal.of("ami", "start")) == 1  # nothing armed while the agent waited
        await until(lambda: rig.stored("announcement_started"), "the disclosure's proof")
        [told] = rig.stored("announcement_started")
        assert (told["kind"], told["prompt"]) == ("outbound_disclosure", DISCLOSURE)

        play = rig.journal.of("ari", "play_on_bridge")[0].args
        await rig.send("PlaybackFinished", playback=playback(play["playback_id"], DISCLOSURE, mix))
        await until(lambda: rig.journal.of("ari", "unmute"), "the agent unmuted")
        await rig.send("ChannelHangupRequest", channel=CLIENT)
        await rig.ended(session)
        assert [a["outcome"] for a in rig.stored("announcement_ended")] == ["finished"]
        assert session.result.verdict == "HUMAN" and session.result.began
        assert session.result.recording_id is not None


async def test_a_machine_gets_the_script_and_is_never_recorded() -> None:
    async with Rig() as rig:
        session, agent = await dial(rig)
        await screened(rig, "MACHINE")
        await until(lambda: rig.journal.of("ari", "play"), "the voicemail script")
        [script] = rig.journal.of("ari", "play")
        assert (script.args["channel_id"], script.args["media"]) == (CLIENT_ID, SCRIPT)
        assert rig.hung_up(agent["id"])  # the agent is free before the message is left
        await rig.send("PlaybackFinished",
                       playback=playback(script.args["playback_id"], SCRIPT, CLIENT_ID))
        await rig.ended(session)
        assert rig.journal.of("dialer", "voicemail_left")
        assert rig.hung_up(CLIENT_ID)
        assert not rig.journal.of("ami", "start") and not rig.stored("recording_started")
        assert (session.result.reason, session.result.voicemail_left) == (
            "machine_voicemail_left", True)


async def test_a_busy_line_ends_the_call_without_screening() -> None:
    async with Rig() as rig:
        session, agent = await dial(rig)
        await until(lambda: len(rig.journal.of("ari", "originate")) == 2, "the client dialled")
        await rig.send("ChannelDestroyed", channel=CLIENT, cause=17, cause_txt="User busy")
        await rig.ended(session)
        assert session.result.reason == "busy" and session.result.began
        assert not rig.journal.of("ari", "continue_in_dialplan")
        assert rig.hung_up(agent["id"])


async def test_a_refused_attempt_dials_nobody() -> None:
    async with Rig() as rig:
        session, agent = await dial(rig, allow=False)
        await rig.ended(session)
        assert len(rig.journal.of("ari", "originate")) == 1  # the agent only
        assert (session.result.began, session.result.reason) == (False, "refused")
        assert rig.hung_up(agent["id"])


async def test_a_client_is_not_dialled_into_a_disconnected_application() -> None:
    """Disconnected after the agent joined: no attempt row, no originate; the dialer tries later."""
    async with Rig() as rig:
        rig.controller.connected.set()
        session = await rig.controller.start_outbound(plan(Hooks(rig.journal)))
        rig.sessions.append(session)
        agent = await rig.agent_rung()
        _, call_id, leg_id = rig.journal.of("ari", "originate")[-1].args["app_args"].split(",")
        await rig.send("StasisStart", channel=agent, args=["agent", call_id, leg_id])
        await until(lambda: rig.added(agent["id"]), "the agent in the bridge")
        rig.controller.connected.clear()
        await rig.send("ChannelEnteredBridge", channel=agent, bridge=bridge(session.mix_bridge))
        await rig.ended(session)
        assert not rig.journal.of("dialer", "begin")
        assert len(rig.journal.of("ari", "originate")) == 1  # the agent only
        assert (session.result.began, session.result.reason) == (False, "ari_disconnected")
