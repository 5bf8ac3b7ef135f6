"""Realistic inbound calls as policy event sequences, in the proportions a contact centre sees.

The shapes follow tests/policy: the happy path with and without a hold, the caller hanging up at
each stage, blind / attended / controller transfers (with the duplicate departure signs Asterisk
sends), a requeue to a second agent, and an unexplained departure settled by the timer.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from callrec import policy as p
from callrec.policy import StopReason

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
Scenario = Callable[[int, datetime], list[p.Event]]


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def _joined(call: int, n: int, at: datetime) -> p.AgentJoined:
    return p.AgentJoined(at, UUID(int=call * 16 + n), f"agent-{call}-{n}", f"agent{n}",
                         UUID(int=(1 << 64) + call * 16 + n), f"mm-{call}-{n}")


def _to_queue(start: datetime) -> list[p.Event]:
    return [p.CallArrived(start), p.AnnouncementFinished(_at(start, 6)),
            p.ClientIdentified(_at(start, 14), "1234567")]


def agent_hangs_up(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)),
            p.AgentLeft(_at(t, 300), f"agent-{call}-1", StopReason.AGENT_HANGUP),
            p.CallerLeft(_at(t, 300.02))]  # the caller's own hangup arrives after: ignored


def agent_hangs_up_after_hold(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)), p.HoldStarted(_at(t, 120)),
            p.HoldEnded(_at(t, 150)),
            p.AgentLeft(_at(t, 300), f"agent-{call}-1", StopReason.AGENT_HANGUP)]


def caller_hangs_up(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)), p.CallerLeft(_at(t, 200)),
            p.AgentLeft(_at(t, 200.05), f"agent-{call}-1", StopReason.AGENT_HANGUP)]


def blind_transfer(call: int, t: datetime) -> list[p.Event]:
    agent = f"agent-{call}-1"
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)),
            p.AgentLeft(_at(t, 250), agent, StopReason.LEFT_BRIDGE),
            p.AgentLeft(_at(t, 250.01), agent, StopReason.LEFT_BRIDGE),  # StasisStart replace
            p.AgentLeft(_at(t, 250.03), agent, StopReason.BLIND_TRANSFER, "2002"),
            p.AgentLeft(_at(t, 250.5), agent, StopReason.AGENT_HANGUP),
            p.TransfereeLeft(_at(t, 400))]


def attended_transfer(call: int, t: datetime) -> list[p.Event]:
    agent = f"agent-{call}-1"
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)), p.HoldStarted(_at(t, 200)),
            p.AgentLeft(_at(t, 260), agent, StopReason.ATTENDED_TRANSFER, "2003"),
            p.AgentLeft(_at(t, 260.2), agent, StopReason.AGENT_HANGUP),
            p.TransfereeLeft(_at(t, 500))]


def controller_transfer(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)),
            p.TransferRequested(_at(t, 180), "PJSIP/2000"),
            p.AgentLeft(_at(t, 180.1), f"agent-{call}-1", StopReason.AGENT_HANGUP),
            p.TransfereeLeft(_at(t, 400))]


def requeued(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)), p.RequeueRequested(_at(t, 120)),
            p.AgentLeft(_at(t, 120.1), f"agent-{call}-1", StopReason.REQUEUE),
            _joined(call, 2, _at(t, 160)),
            p.AgentLeft(_at(t, 400), f"agent-{call}-2", StopReason.AGENT_HANGUP)]


def unexplained_departure(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), _joined(call, 1, _at(t, 40)),
            p.AgentLeft(_at(t, 100), f"agent-{call}-1", StopReason.LEFT_BRIDGE),
            p.SettleTimeout(_at(t, 102)), _joined(call, 2, _at(t, 130)),
            p.CallerLeft(_at(t, 300))]


def abandoned_waiting(call: int, t: datetime) -> list[p.Event]:
    return [*_to_queue(t), p.CallerLeft(_at(t, 90))]


def abandoned_announcing(call: int, t: datetime) -> list[p.Event]:
    return [p.CallArrived(t), p.CallerLeft(_at(t, 3))]


def _dialled(call: int, t: datetime) -> list[p.Event]:
    return [p.DialStarted(t), _joined(call, 1, _at(t, 4))]


def outbound_answered(call: int, t: datetime) -> list[p.Event]:
    return [*_dialled(call, t),
            p.ClientAnswered(_at(t, 20), "HUMAN", UUID(int=(2 << 64) + call), f"mm-{call}-o"),
            p.DisclosureFinished(_at(t, 28)), p.CallerLeft(_at(t, 240)),
            p.AgentLeft(_at(t, 240.05), f"agent-{call}-1", StopReason.AGENT_HANGUP)]


def outbound_machine(call: int, t: datetime) -> list[p.Event]:
    return [*_dialled(call, t),
            p.ClientAnswered(_at(t, 24), "MACHINE", UUID(int=(2 << 64) + call), f"mm-{call}-o"),
            p.AgentLeft(_at(t, 24.1), f"agent-{call}-1", StopReason.AGENT_HANGUP),
            p.VoicemailLeft(_at(t, 40), True)]


def outbound_no_answer(call: int, t: datetime) -> list[p.Event]:
    return [*_dialled(call, t), p.CallerLeft(_at(t, 34)), p.DialFailed(_at(t, 34), "no_answer")]


# Weights: most calls are answered and end with a hangup; a tenth are abandoned in the queue; a
# sixth are the dialer's (answered, a machine, or nobody there).
MIX: tuple[tuple[Scenario, int], ...] = (
    (agent_hangs_up, 30), (agent_hangs_up_after_hold, 12), (caller_hangs_up, 20),
    (blind_transfer, 8), (attended_transfer, 4), (controller_transfer, 4), (requeued, 5),
    (unexplained_departure, 2), (abandoned_waiting, 11), (abandoned_announcing, 4),
    (outbound_answered, 10), (outbound_machine, 4), (outbound_no_answer, 6),
)


def call_mix(calls: int, seed: int = 6) -> list[tuple[UUID, list[p.Event]]]:
    """``calls`` calls drawn from MIX (seeded, so every run replays the same events)."""
    rng = random.Random(seed)
    scenarios = rng.choices([s for s, _ in MIX], weights=[w for _, w in MIX], k=calls)
    return [(UUID(int=i + 1), scenario(i, _at(T0, i * 7.0)))
            for i, scenario in enumerate(scenarios)]
