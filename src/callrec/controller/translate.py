"""ARI events -> policy events, for one call. Pure: the roles of the call's channels come in as data.

Several ARI events can report the same departure of an agent (ChannelLeftBridge, ChannelHangupRequest,
StasisEnd, a transfer event, StasisStart of the replacement with ``replace_channel``). Each is translated
on its own; the policy stops the recording on the first and ignores the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from uuid import UUID

from callrec import policy as p
from callrec.ari import AriEvent

# ChannelHangupRequest / StasisEnd / ChannelDestroyed all mean "this channel is going away"; the first
# one to arrive wins. ChannelHangupRequest is usually first and lets us stop before the BYE is answered.
GONE = frozenset({"ChannelHangupRequest", "StasisEnd", "ChannelDestroyed"})


@dataclass(frozen=True)
class AgentLegRef:
    leg_id: UUID
    agent_name: str
    channel_id: str


@dataclass(frozen=True)
class Roles:
    """Who is who in one call, as the shell knows it when the event arrives."""

    caller_channel: str
    mix_bridge: str
    agent_legs: Mapping[str, AgentLegRef] = field(default_factory=dict)  # by channel id
    transferees: frozenset[str] = frozenset()  # channels the caller was handed to
    transfer_context: str = "callrec-transfer"  # where agents' blind-transfer numbers are dialled
    # agent channel id -> the recording id minted when its MixMonitor was armed (at answer)
    armed: Mapping[str, UUID] = field(default_factory=dict)




def translate(event: AriEvent, roles: Roles, new_id: Callable[[], UUID]) -> p.Event | None:
    """The policy event this ARI event means for the call, or None if it means nothing to the policy."""
    channel = event.channel
    channel_id = channel.id if channel else None
    if event.type in _TRANSFERS:
        return _transfer(event, roles)
    if event.type == "ChannelTransfer":
        return _refer_left_to_us(event, roles)
    if event.type == "StasisStart" and event.replace_channel is not None:
        replaced = event.replace_channel.id
        if replaced in roles.agent_legs:
            # The agent was swapped out of our bridge by a transfer (Local;1 for a blind REFER). A
            # sign to stop; which kind of transfer, and to where, BridgeBlind/AttendedTransfer says.
            return p.AgentLeft(event.timestamp, replaced, p.StopReason.LEFT_BRIDGE)
        return None
    if channel_id is None:
        return None
    if channel_id == roles.caller_channel and event.type in GONE:
        return p.CallerLeft(event.timestamp)
    if channel_id in roles.transferees and (event.type in GONE or _left_mix(event, roles)):
        return p.TransfereeLeft(event.timestamp)
    leg = roles.agent_legs.get(channel_id)
    if leg is None:
        return None
    return _agent_event(event, roles, leg, new_id)


def _agent_event(event: AriEvent, roles: Roles, leg: AgentLegRef,
                 new_id: Callable[[], UUID]) -> p.Event | None:
    at = event.timestamp
    if event.type == "ChannelEnteredBridge" and _in_mix(event, roles):
        # The segment is the armed MixMonitor's (its files already carry that id); with nothing
        # armed, a fresh id for the MixMonitor started now.
        recording_id = roles.armed.get(leg.channel_id) or new_id()
        return p.AgentJoined(at, leg.leg_id, leg.channel_id, leg.agent_name, recording_id,
                             f"callrec-{recording_id}")
    if _left_mix(event, roles):
        return p.AgentLeft(at, leg.channel_id, p.StopReason.LEFT_BRIDGE)
    if event.type in GONE:
        return p.AgentLeft(at, leg.channel_id, p.StopReason.AGENT_HANGUP)
    if event.type == "ChannelHold":
        return p.HoldStarted(at)
    if event.type == "ChannelUnhold":
        return p.HoldEnded(at)
    return None


_TRANSFERS: Mapping[str, p.StopReason] = {
    "BridgeBlindTransfer": p.StopReason.BLIND_TRANSFER,
    "BridgeAttendedTransfer": p.StopReason.ATTENDED_TRANSFER,
}


def _transfer(event: AriEvent, roles: Roles) -> p.Event | None:
    if event.result not in (None, "Success"):
        return None  # a failed transfer leaves the agent in the bridge: keep recording
    legs = [c.id for c in (event.channel, event.transferer_first_leg, event.transferer_second_leg)
            if c is not None and c.id in roles.agent_legs]
    if not legs:
        return None
    return p.AgentLeft(event.timestamp, legs[0], _TRANSFERS[event.type], _target(event, roles))


def _target(event: AriEvent, roles: Roles) -> str | None:
    """Where the caller went: a blind transfer names the extension; for an attended one it is the
    number the agent's consultation call dialled (the transferer leg that is not our agent's)."""
    exten = event.raw.get("exten")
    if isinstance(exten, str) and exten:
        return exten
    consult = [c for c in (event.transferer_first_leg, event.transferer_second_leg)
               if c is not None and c.id not in roles.agent_legs]
    return (consult[0].exten or consult[0].name) if consult else None


def _in_mix(event: AriEvent, roles: Roles) -> bool:
    return event.bridge is not None and event.bridge.id == roles.mix_bridge


def _left_mix(event: AriEvent, roles: Roles) -> bool:
    return event.type == "ChannelLeftBridge" and _in_mix(event, roles)


_DIALLABLE = re.compile(r"[A-Za-z0-9+*#_.-]{1,64}")


def _refer_left_to_us(event: AriEvent, roles: Roles) -> p.Event | None:
    """ChannelTransfer: with PJSIP_TRANSFER_HANDLING(ari-only) Asterisk only reports the agent's
    REFER and does nothing; the caller stays in our bridge until we move them. A blind REFER becomes
    a move the controller carries out (stopping the recording first); anything else (an attended
    REFER, an unusable destination) still stops the recording at once as a departure."""
    source = _path(event.raw, "referred_by", "source_channel", "id")
    if source not in roles.agent_legs:
        return None
    destination = _path(event.raw, "refer_to", "requested_destination", "destination")
    user = destination.removeprefix("sip:").removeprefix("sips:").split("@", 1)[0].split(";")[0]
    if _path(event.raw, "refer_to", "destination_channel", "id") or not _DIALLABLE.fullmatch(user):
        return p.AgentLeft(event.timestamp, source, p.StopReason.LEFT_BRIDGE)
    return p.TransferRequested(event.timestamp, f"Local/{user}@{roles.transfer_context}",
                               p.StopReason.BLIND_TRANSFER)


def _path(raw: Mapping[str, object], *keys: str) -> str:
    """A nested string field of the raw event, or "" (ChannelTransfer is not parsed into models)."""
    value: object = raw
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value if isinstance(value, str) else ""
