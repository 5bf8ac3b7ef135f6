"""translate(): what each ARI event means to the recording policy, for one call.

Events are built as Asterisk 22 sends them and go through the real parser. Roles: one caller, one agent
leg ("alice"), one transferee (the Local;1 a blind transfer put in our bridge), and a stranger.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec import policy as p
from callrec.ari import AriEvent
from callrec.controller.translate import AgentLegRef, Roles, translate
from callrec.policy import StopReason
from tests.controller.fakes import T0, ari_event, bridge, channel, playback

CALL = UUID(int=1)
LEG = UUID(int=5)
RID = UUID(int=99)
MIX = f"callrec-{CALL}"
HOLD = f"{MIX}-hold"
CALLER = channel("1763805600.1", "PJSIP/caller-00000001", number="0612345678")
AGENT = channel(f"callrec-agent-{LEG}", "PJSIP/agent1-00000002")
LOCAL = channel("1763805600.9", "Local/2002@callrec-transfer-00000001;1")
STRANGER = channel("1763805600.7", "PJSIP/agent2-00000003")
TARGET = channel("1763805600.8", "PJSIP/target-00000004")

ROLES = Roles(CALLER["id"], MIX, {AGENT["id"]: AgentLegRef(LEG, "alice", AGENT["id"])},
              frozenset({LOCAL["id"]}))


def blind(transferer: dict[str, Any], result: str = "Success") -> AriEvent:
    return ari_event("BridgeBlindTransfer", channel=transferer, bridge=bridge(MIX), exten="2002",
                     context="callrec-transfer", result=result, is_external=True,
                     transferee=CALLER, replace_channel=LOCAL)


def attended(first: dict[str, Any], second: dict[str, Any], result: str = "Success") -> AriEvent:
    return ari_event("BridgeAttendedTransfer", transferer_first_leg=first,
                     transferer_second_leg=second, transferee=CALLER, transfer_target=TARGET,
                     transferer_first_leg_bridge=bridge(MIX), result=result, is_external=True,
                     destination_type="bridge", destination_bridge=MIX)


def entered(who: dict[str, Any], bridge_id: str) -> AriEvent:
    return ari_event("ChannelEnteredBridge", channel=who, bridge=bridge(bridge_id, [who["id"]]))


def left(who: dict[str, Any], bridge_id: str) -> AriEvent:
    return ari_event("ChannelLeftBridge", channel=who, bridge=bridge(bridge_id))


def gone(kind: str, who: dict[str, Any]) -> AriEvent:
    extra: dict[str, Any] = {"cause": 16} if kind != "StasisEnd" else {}
    if kind == "ChannelDestroyed":
        extra["cause_txt"] = "Normal Clearing"
    return ari_event(kind, channel=who, **extra)


GONE = ["ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"]
AGENT_ID = AGENT["id"]

CASES: list[tuple[str, AriEvent, p.Event | None]] = [
    ("agent enters our mix bridge", entered(AGENT, MIX),
     p.AgentJoined(T0, LEG, AGENT_ID, "alice", RID, f"callrec-{RID}")),
    ("agent enters the holding bridge", entered(AGENT, HOLD), None),
    ("agent leaves our mix bridge", left(AGENT, MIX),
     p.AgentLeft(T0, AGENT_ID, StopReason.LEFT_BRIDGE)),
    ("agent leaves another bridge", left(AGENT, HOLD), None),
    *((f"agent {kind}", gone(kind, AGENT), p.AgentLeft(T0, AGENT_ID, StopReason.AGENT_HANGUP))
      for kind in GONE),
    ("blind transfer by the agent", blind(AGENT),
     p.AgentLeft(T0, AGENT_ID, StopReason.BLIND_TRANSFER, "2002")),
    ("failed blind transfer", blind(AGENT, result="Fail"), None),
    ("blind transfer by someone else", blind(STRANGER), None),
    # The target of an attended transfer: what the agent's consultation leg (the other one) dialled.
    ("attended transfer, agent on the first leg", attended(AGENT, STRANGER),
     p.AgentLeft(T0, AGENT_ID, StopReason.ATTENDED_TRANSFER, STRANGER["dialplan"]["exten"])),
    ("attended transfer, agent on the second leg", attended(STRANGER, AGENT),
     p.AgentLeft(T0, AGENT_ID, StopReason.ATTENDED_TRANSFER, STRANGER["dialplan"]["exten"])),
    ("failed attended transfer", attended(AGENT, STRANGER, result="Fail"), None),
    ("attended transfer by others", attended(STRANGER, TARGET), None),
    # A sign to stop; what kind of transfer, and to where, the transfer event says (or the settle timer).
    ("replacement of the agent enters Stasis",
     ari_event("StasisStart", channel=LOCAL, args=[], replace_channel=AGENT),
     p.AgentLeft(T0, AGENT_ID, StopReason.LEFT_BRIDGE)),
    ("replacement of someone else enters Stasis",
     ari_event("StasisStart", channel=LOCAL, args=[], replace_channel=STRANGER), None),
    ("Local;1 enters Stasis without arguments", ari_event("StasisStart", channel=LOCAL, args=[]),
     None),
    ("agent leg answers", ari_event("StasisStart", channel=AGENT, args=["agent", str(CALL), str(LEG)]),
     None),
    *((f"caller {kind}", gone(kind, CALLER), p.CallerLeft(T0)) for kind in GONE),
    ("caller moved out of the mix bridge", left(CALLER, MIX), None),
    ("caller enters the mix bridge", entered(CALLER, MIX), None),
    *((f"transferee {kind}", gone(kind, LOCAL), p.TransfereeLeft(T0)) for kind in GONE),
    ("transferee leaves the mix bridge", left(LOCAL, MIX), p.TransfereeLeft(T0)),
    ("transferee enters the mix bridge", entered(LOCAL, MIX), None),
    ("agent puts on hold", ari_event("ChannelHold", channel=AGENT, musicclass="default"),
     p.HoldStarted(T0)),
    ("agent takes off hold", ari_event("ChannelUnhold", channel=AGENT), p.HoldEnded(T0)),
    ("caller puts on hold", ari_event("ChannelHold", channel=CALLER), None),
    ("stranger puts on hold", ari_event("ChannelHold", channel=STRANGER), None),
    ("stranger enters our bridge", entered(STRANGER, MIX), None),
    ("stranger hangs up", gone("ChannelHangupRequest", STRANGER), None),
    ("prompt finished",
     ari_event("PlaybackFinished", playback=playback("pb-1", "sound:x", CALLER["id"])), None),
    ("caller keys a digit",
     ari_event("ChannelDtmfReceived", channel=CALLER, digit="5", duration_ms=120), None),
    ("agent keys a digit",
     ari_event("ChannelDtmfReceived", channel=AGENT, digit="#", duration_ms=120), None),
]


class CountingIds:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> UUID:
        self.calls += 1
        return RID


@pytest.mark.parametrize(("event", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_translation(event: AriEvent, expected: p.Event | None) -> None:
    new_id = CountingIds()
    assert translate(event, ROLES, new_id) == expected
    # A recording ID is minted only for a recording that may start, never for other events.
    assert new_id.calls == (1 if isinstance(expected, p.AgentJoined) else 0)


def test_each_join_gets_a_fresh_recording_id() -> None:
    ids = iter([UUID(int=7), UUID(int=8)])
    first = translate(entered(AGENT, MIX), ROLES, lambda: next(ids))
    second = translate(entered(AGENT, MIX), ROLES, lambda: next(ids))
    assert isinstance(first, p.AgentJoined) and isinstance(second, p.AgentJoined)
    assert (first.recording_id, second.recording_id) == (UUID(int=7), UUID(int=8))
    assert first.mixmonitor_id != second.mixmonitor_id


def test_an_armed_agents_join_carries_the_id_minted_when_its_mixmonitor_was_armed() -> None:
    armed = Roles(ROLES.caller_channel, MIX, ROLES.agent_legs, ROLES.transferees,
                  armed={AGENT["id"]: UUID(int=42)})
    new_id = CountingIds()
    joined = translate(entered(AGENT, MIX), armed, new_id)
    assert isinstance(joined, p.AgentJoined)
    assert (joined.recording_id, joined.mixmonitor_id) == (UUID(int=42), f"callrec-{UUID(int=42)}")
    assert new_id.calls == 0


def test_events_carry_asterisks_timestamp() -> None:
    at = T0.replace(second=42, microsecond=123000)
    event = ari_event("ChannelHangupRequest", at=at, channel=AGENT, cause=16)
    assert translate(event, ROLES, CountingIds()) == p.AgentLeft(at, AGENT_ID,
                                                                 StopReason.AGENT_HANGUP)


# ------------------------------------------------------------------------------------ property
PARTIES = {"caller": CALLER, "agent": AGENT, "stranger": STRANGER}
BRIDGES = [MIX, HOLD, "some-other-bridge"]


@st.composite
def ari_events(draw: st.DrawFn) -> AriEvent:
    party = st.sampled_from(sorted(PARTIES)).map(lambda k: PARTIES[k])
    kind = draw(st.sampled_from([
        "StasisStart", "StasisEnd", "ChannelEnteredBridge", "ChannelLeftBridge",
        "ChannelHangupRequest", "ChannelDestroyed", "BridgeBlindTransfer", "BridgeAttendedTransfer",
        "ChannelHold", "ChannelUnhold", "PlaybackFinished", "ChannelDtmfReceived",
        "ChannelStateChange", "ChannelVarset"]))
    fields: dict[str, Any] = {}
    # Attended transfers name their legs instead (a channel may or may not be there too).
    if kind != "PlaybackFinished" and (kind != "BridgeAttendedTransfer" or draw(st.booleans())):
        fields["channel"] = draw(party)
    if kind in ("ChannelEnteredBridge", "ChannelLeftBridge", "BridgeBlindTransfer"):
        fields["bridge"] = bridge(draw(st.sampled_from(BRIDGES)))
    if kind == "StasisStart":
        fields["args"] = draw(st.sampled_from([[], ["inbound"], ["agent", str(CALL), str(LEG)]]))
        if draw(st.booleans()):
            fields["replace_channel"] = draw(party)
    if kind in ("BridgeBlindTransfer", "BridgeAttendedTransfer"):
        fields["result"] = draw(st.sampled_from(["Success", "Fail", "Invalid", "Not Permitted"]))
        fields["is_external"] = draw(st.booleans())
        fields["transferee"] = draw(party)
        if draw(st.booleans()):
            fields["exten"] = draw(st.sampled_from(["2002", "+31201234567", ""]))
    if kind == "BridgeAttendedTransfer":
        fields["transferer_first_leg"] = draw(party)
        fields["transferer_second_leg"] = draw(party)
        fields["destination_type"] = draw(st.sampled_from(["bridge", "link", "threeway", "fail"]))
    if kind == "PlaybackFinished":
        fields["playback"] = playback("pb", "sound:x", CALLER["id"])
    if kind == "ChannelDtmfReceived":
        fields["digit"] = draw(st.sampled_from(list("0123456789*#")))
    return ari_event(kind, **fields)


@settings(max_examples=300, deadline=None)
@given(st.lists(ari_events(), max_size=25), st.booleans())
def test_any_event_sequence_translates_to_policy_events_only(events: list[AriEvent],
                                                            with_transferee: bool) -> None:
    roles = Roles(CALLER["id"], MIX, ROLES.agent_legs,
                  frozenset({STRANGER["id"]}) if with_transferee else frozenset())
    for event in events:
        result = translate(event, roles, lambda: RID)
        assert result is None or isinstance(result, p.EVENT_TYPES)
        if isinstance(result, (p.AgentJoined, p.AgentLeft)):
            assert result.channel_id == AGENT_ID  # only our agent's leg can start or stop a segment
        if isinstance(result, p.AgentJoined):
            assert event.type == "ChannelEnteredBridge"
            assert event.bridge is not None and event.bridge.id == MIX


def refer(source: dict[str, Any], destination: str, **refer_to: Any) -> AriEvent:
    """ChannelTransfer: an agent's REFER that Asterisk leaves to the app (ari-only handling)."""
    return ari_event("ChannelTransfer", state="requested",
                     referred_by={"source_channel": source},
                     refer_to={"requested_destination": {"protocol_id": "x",
                                                         "destination": destination}, **refer_to})


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (refer(AGENT, "sip:2000@pbx.example;transport=udp"),
         p.TransferRequested(T0, "Local/2000@callrec-transfer", StopReason.BLIND_TRANSFER)),
        (refer(AGENT, "target"),
         p.TransferRequested(T0, "Local/target@callrec-transfer", StopReason.BLIND_TRANSFER)),
        (refer(AGENT, "sip:../../etc@x"), p.AgentLeft(T0, AGENT_ID, StopReason.LEFT_BRIDGE)),
        (refer(AGENT, "sip:2000@x", destination_channel=STRANGER),
         p.AgentLeft(T0, AGENT_ID, StopReason.LEFT_BRIDGE)),
        (refer(STRANGER, "sip:2000@x"), None),
    ],
    ids=["blind", "bare-exten", "undiallable-stops-anyway", "attended-stops-anyway", "not-ours"],
)
def test_a_refer_left_to_callrec(event: AriEvent, expected: p.Event | None) -> None:
    assert translate(event, ROLES, lambda: UUID(int=99)) == expected
