"""The ARI events one answered inbound call delivers to its session, as Asterisk 22 words them.

Not only the events that matter to the policy: the session sees every event about its channels
(variables set by the dialplan, DTMF, playbacks, bridge moves), and translate() must dismiss those
cheaply too. Shapes follow tests/controller/fakes.py (which mirror what the sandbox sends).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from benchmarks.calls import T0
from callrec.controller.translate import AgentLegRef, Roles


def _time(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def _channel(channel_id: str, name: str, number: str = "") -> dict[str, Any]:
    return {
        "id": channel_id, "name": name, "state": "Up", "protocol_id": "",
        "caller": {"name": "", "number": number}, "connected": {"name": "", "number": ""},
        "accountcode": "", "language": "en", "creationtime": _time(T0),
        "dialplan": {"context": "callrec-inbound", "exten": "0800100", "priority": 1,
                     "app_name": "Stasis", "app_data": "callrec,inbound"},
    }


def _bridge(bridge_id: str, channels: list[str]) -> dict[str, Any]:
    return {"id": bridge_id, "technology": "simple_bridge", "bridge_type": "mixing",
            "bridge_class": "stasis", "creator": "Stasis", "name": "callrec",
            "channels": channels, "creationtime": _time(T0), "video_mode": "none"}


def _message(kind: str, at: datetime, **fields: Any) -> str:
    return json.dumps({"type": kind, "timestamp": _time(at), "application": "callrec",
                       "asterisk_id": "02:42:ac:11:00:02", **fields})


def answered_call(call: int) -> tuple[Roles, list[str]]:
    """Roles of the call once its agent was offered, and the event texts of the whole call."""
    start = T0 + timedelta(seconds=call * 7)
    mix, hold = f"callrec-{UUID(int=call)}", f"callrec-{UUID(int=call)}-hold"
    leg = UUID(int=(2 << 64) + call)
    caller = _channel(f"1763805600.{call * 4}", f"PJSIP/caller-{call:08x}", "0612345678")
    agent = _channel(f"callrec-agent-{leg}", f"PJSIP/alice-{call:08x}")

    def at(seconds: float) -> datetime:
        return start + timedelta(seconds=seconds)

    events = [
        _message("StasisStart", at(0), channel=caller, args=["inbound"], replace_channel=None),
        *(_message("ChannelVarset", at(0.01), channel=caller, variable=f"V{i}", value="x")
          for i in range(4)),
        _message("PlaybackStarted", at(0.1), playback={
            "id": f"pb-{call}", "media_uri": "sound:callrec/announcement",
            "target_uri": f"channel:{caller['id']}", "language": "en", "state": "playing"}),
        _message("PlaybackFinished", at(6), playback={
            "id": f"pb-{call}", "media_uri": "sound:callrec/announcement",
            "target_uri": f"channel:{caller['id']}", "language": "en", "state": "done"}),
        *(_message("ChannelDtmfReceived", at(8 + i), channel=caller, digit=str(i), duration_ms=120)
          for i in range(7)),
        _message("ChannelEnteredBridge", at(14), channel=caller, bridge=_bridge(hold, [caller["id"]])),
        _message("ChannelLeftBridge", at(40), channel=caller, bridge=_bridge(hold, [])),
        _message("ChannelEnteredBridge", at(40), channel=caller, bridge=_bridge(mix, [caller["id"]])),
        _message("StasisStart", at(40), channel=agent, args=["agent"]),
        _message("ChannelEnteredBridge", at(40.01), channel=agent,
                 bridge=_bridge(mix, [caller["id"], agent["id"]])),
        _message("ChannelHold", at(120), channel=agent),
        _message("ChannelUnhold", at(150), channel=agent),
        _message("ChannelLeftBridge", at(300), channel=agent, bridge=_bridge(mix, [caller["id"]])),
        _message("ChannelHangupRequest", at(300), channel=agent, cause=16),
        _message("StasisEnd", at(300.01), channel=agent),
        _message("ChannelHangupRequest", at(300.02), channel=caller, cause=16),
        _message("StasisEnd", at(300.03), channel=caller),
    ]
    roles = Roles(caller["id"], mix, {agent["id"]: AgentLegRef(leg, "alice", agent["id"])})
    return roles, events
