"""Test doubles for the controller shell, and builders of ARI events shaped like Asterisk 22's.

The fakes stand in for OUR gateways (AriClient, Recorder, Store), never for Asterisk itself: every call
is checked against the real gateway's signature, so a renamed or mistyped argument in the shell fails
here instead of in production.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import json
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from uuid import UUID

from callrec.ari import AriClient, AriEvent, Bridge, Channel, Playback, parse_event
from callrec.audio import FileFacts
from callrec.config import InboundConfig
from callrec.controller.agents import Agent, AgentPool
from callrec.controller.controller import Controller
from callrec.controller.deps import Deps
from callrec.controller.diskspace import DiskVerdict
from callrec.controller.evidence import EvidenceWriter, store_applier
from callrec.controller.recorder import Finalised, RecordingFiles
from callrec.controller.session import CallSession
from callrec.store import Store, StoreError

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


# ---------------------------------------------------------------------------------- ARI events
def asterisk_time(at: datetime) -> str:
    """Asterisk's own format: milliseconds and a colon-less UTC offset."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+0000"


def channel(channel_id: str, name: str, number: str = "", state: str = "Up") -> dict[str, Any]:
    return {
        "id": channel_id, "name": name, "state": state, "protocol_id": "",
        "caller": {"name": "", "number": number}, "connected": {"name": "", "number": ""},
        "accountcode": "", "language": "en", "creationtime": asterisk_time(T0),
        "dialplan": {"context": "callrec-inbound", "exten": "0800100", "priority": 1,
                     "app_name": "Stasis", "app_data": "callrec,inbound"},
    }


def bridge(bridge_id: str, channels: Iterable[str] = (), bridge_type: str = "mixing") -> dict[str, Any]:
    return {"id": bridge_id, "technology": "simple_bridge", "bridge_type": bridge_type,
            "bridge_class": "stasis", "creator": "Stasis", "name": "callrec",
            "channels": list(channels), "creationtime": asterisk_time(T0), "video_mode": "none"}


def playback(playback_id: str, media: str, target: str, state: str = "done") -> dict[str, Any]:
    return {"id": playback_id, "media_uri": media, "target_uri": f"channel:{target}",
            "language": "en", "state": state}


def ari_event(kind: str, at: datetime = T0, **fields: Any) -> AriEvent:
    """Parse a message through the real parser, exactly as the WebSocket would deliver it."""
    message = {"type": kind, "timestamp": asterisk_time(at), "application": "callrec",
               "asterisk_id": "02:42:ac:11:00:02", **fields}
    return parse_event(json.dumps(message))


# ---------------------------------------------------------------------------------- journal
@dataclass(frozen=True)
class Action:
    who: str  # "ari" | "ami" | "store"
    name: str
    args: Mapping[str, Any]


@dataclass
class Journal:
    """Every outside action of the shell, in the order it happened."""

    actions: list[Action] = field(default_factory=list)

    def add(self, who: str, name: str, args: Mapping[str, Any]) -> None:
        self.actions.append(Action(who, name, dict(args)))

    def of(self, who: str, name: str | None = None) -> list[Action]:
        return [a for a in self.actions if a.who == who and (name is None or a.name == name)]

    def since(self, mark: int) -> list[Action]:
        return self.actions[mark:]


def bind(cls: type, name: str, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name; TypeError if the real method would reject them."""
    bound = inspect.signature(getattr(cls, name)).bind(None, *args, **kwargs)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k != "self"}


class FakeAri:
    """Records ARI REST calls; ``fail[name]`` makes that call raise once."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.fail: dict[str, Exception] = {}
        self.alive: list[Channel] = []  # what GET /channels answers
        self.bridges: list[Bridge] = []  # what GET /bridges answers
        self.app = "callrec"
        self.app_channels: list[str] = []  # GET /applications/callrec: its channel_ids

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(getattr(AriClient, name, None)):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            arguments = bind(AriClient, name, args, kwargs)
            self.journal.add("ari", name, arguments)
            if name in self.fail:
                raise self.fail.pop(name)
            if name == "list_channels":
                return list(self.alive)
            if name == "list_bridges":
                return list(self.bridges)
            if name == "application":
                return {"name": self.app, "channel_ids": list(self.app_channels)}
            return _ari_result(name, arguments)
        return call


def _ari_result(name: str, a: Mapping[str, Any]) -> Any:
    if name == "play":
        return Playback(a["playback_id"], "queued", f"channel:{a['channel_id']}", str(a["media"]))
    if name == "create_bridge":
        return Bridge(a["bridge_id"], a["bridge_type"], (), a["name"])
    if name == "originate":
        return Channel(a["channel_id"], "", "Down", "", "", "", "", "", None)
    return None


class FakeRecorder:
    """The Recorder's interface; MixMonitor IDs are "mm-1", "mm-2", ..."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._ids = itertools.count(1)
        self.start_error: Exception | None = None
        self.disk = DiskVerdict(True, None)
        self.recorded_ms = 1000  # what finalise reports as the file's duration
        self.cut_short_tolerance_ms = 10**9  # off unless a test sets it
        self.retrying: list[asyncio.Future[bool]] = []  # stops being sent again (Recorder.stop)

    async def disk_verdict(self) -> DiskVerdict:
        return self.disk

    async def retries_sent(self) -> None:
        await asyncio.gather(*self.retrying)

    def files(self, recording_id: UUID, started_at: datetime) -> RecordingFiles:
        return RecordingFiles.for_recording(recording_id, started_at, "/spool", "/local")

    async def start(self, channel_name: str, files: RecordingFiles) -> str | None:
        self.journal.add("ami", "start", {"channel_name": channel_name, "files": files})
        if self.start_error is not None:
            raise self.start_error
        return f"mm-{next(self._ids)}"

    async def stop(self, channel_name: str, asterisk_id: str | None) -> bool:
        self.journal.add("ami", "stop", {"channel_name": channel_name, "asterisk_id": asterisk_id})
        return True

    async def discard(self, channel_name: str, asterisk_id: str | None,
                      files: RecordingFiles) -> None:
        self.journal.add("ami", "discard", {"channel_name": channel_name,
                                            "asterisk_id": asterisk_id, "files": files})

    async def finalise(self, files: RecordingFiles) -> Finalised:
        facts = FileFacts(Path(files.local_mix), 8 * self.recorded_ms, 8000, 1, self.recorded_ms,
                          16 * self.recorded_ms + 44, "ab" * 32)
        return Finalised(facts, None, True)


class FakeStore:
    """Any Store method: recorded (after checking the real signature accepts the arguments).
    Reads answer from ``results`` (no open calls left over from a previous run by default)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.results: dict[str, Any] = {"open_calls": []}
        self.down = False  # True: every call fails as PostgreSQL unreachable would

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(getattr(Store, name, None)):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise StoreError("connection refused", transient=True)
            self.journal.add("store", name, bind(Store, name, args, kwargs))
            return self.results.get(name)
        return call


# ---------------------------------------------------------------------------------- helpers
def sequential_ids(start: int = 1) -> Callable[[], UUID]:
    counter = itertools.count(start)
    return lambda: UUID(int=next(counter))


def ticking_clock(step_ms: int = 1) -> Callable[[], datetime]:
    ticks = itertools.count()
    return lambda: T0 + timedelta(milliseconds=step_ms * next(ticks))


async def until(condition: Callable[[], object], what: str, timeout: float = 2.0) -> None:
    """Bounded polling: the shell works in its own tasks, so the test waits for an observable."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.001)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what}") from None


def in_order(actions: list[Action], expected: list[tuple[str, str, dict[str, Any]]]) -> bool:
    """True if ``expected`` (who, name, subset of args) occur in ``actions`` in this order."""
    remaining = iter(actions)
    return all(any(a.who == who and a.name == name
                   and all(a.args.get(k) == v for k, v in args.items()) for a in remaining)
               for who, name, args in expected)


# ---------------------------------------------------------------------------------- the rig
CALLER = channel("1763805600.1", "PJSIP/caller-00000001", number="0612345678")
LOCAL = channel("1763805600.9", "Local/2002@callrec-transfer-00000001;1")
ALICE = Agent("alice", "PJSIP/agent1/sip:agent-hangup@127.0.0.1:5070")
INBOUND = InboundConfig(digit_timeout=0.05, max_attempts=2)


class Rig:
    """The real Controller, CallSession, Effects, policy and EvidenceWriter over fake gateways.

    Events go in through ``Controller.dispatch`` (routing included), in the order Asterisk sends them,
    each stamped 100 ms after the previous one.
    """

    def __init__(self, *, settle_seconds: float = 30.0) -> None:
        self.journal = Journal()
        self.ari = FakeAri(self.journal)
        store = self.store = FakeStore(self.journal)
        self._state = tempfile.TemporaryDirectory(prefix="callrec-rig-")
        self.evidence = EvidenceWriter(store_applier(store),
                                       Path(self._state.name) / "evidence.journal", max_backoff=0.01)

        async def agents() -> list[Agent]:
            return [ALICE]

        self.recorder = FakeRecorder(self.journal)
        self.deps = Deps(ari=self.ari, recorder=self.recorder,  # type: ignore[arg-type]
                         store=store, evidence=self.evidence,  # type: ignore[arg-type]
                         pool=AgentPool(agents), inbound=INBOUND, new_id=sequential_ids(),
                         now=ticking_clock(), settle_seconds=settle_seconds, hunt_retry_seconds=0.05)
        self.deps.connected.set()  # the application is connected unless a test says otherwise
        self.controller = Controller(self.deps)
        self.sessions: list[CallSession] = []
        self._ticks = itertools.count()
        self._writer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._writer = asyncio.create_task(self.evidence.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.controller.shutdown(0)
        for session in self.sessions:  # a test that failed half-way leaves a call's tasks running
            session.cancel_tasks("")
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
        self._state.cleanup()

    # ------------------------------------------------------------------------------- driving
    def at(self) -> datetime:
        return T0 + timedelta(milliseconds=100 * next(self._ticks))

    async def send(self, kind: str, **fields: Any) -> AriEvent:
        event = ari_event(kind, self.at(), **fields)
        await self.controller.dispatch(event)
        return event

    async def call_arrives(self) -> CallSession:
        await self.send("StasisStart", channel=CALLER, args=["inbound"])
        [session] = self.controller.calls.values()
        self.sessions.append(session)
        return session

    async def finish_playback(self, n: int, media: str) -> None:
        """Wait for the n-th (1-based) play, check its media, then report it finished."""
        await until(lambda: len(self.journal.of("ari", "play")) >= n, f"play #{n} ({media})")
        play = self.journal.of("ari", "play")[n - 1].args
        assert (play["channel_id"], play["media"]) == (CALLER["id"], media)
        await self.send("PlaybackFinished",
                        playback=playback(play["playback_id"], media, CALLER["id"]))

    async def key(self, keys: str) -> None:
        for digit in keys:
            await self.send("ChannelDtmfReceived", channel=CALLER, digit=digit, duration_ms=100)

    async def reach_waiting(self, number: str = "48213#") -> None:
        await self.finish_playback(1, INBOUND.announcement)
        await until(lambda: len(self.journal.of("ari", "play")) >= 2, "the number prompt")
        await self.key(number)
        await self.finish_playback(2, INBOUND.client_number_prompt)
        await until(lambda: self.journal.of("ari", "bridge_start_moh"), "music on hold")
        await self.send("ChannelEnteredBridge", channel=CALLER, bridge=bridge(f"{self.mix()}-hold"))

    async def agent_rung(self) -> dict[str, Any]:
        await until(lambda: self.journal.of("ari", "originate"), "the agent being rung")
        channel_id = self.journal.of("ari", "originate")[-1].args["channel_id"]
        return channel(channel_id, "PJSIP/agent1-00000002")

    async def connect(self, *, expect_recording: bool = True) -> dict[str, Any]:
        """From arrival to the agent in the mix bridge and its segment recording."""
        await self.reach_waiting()
        agent = await self.agent_rung()
        call_id, leg_id = self.journal.of("ari", "originate")[-1].args["app_args"].split(",")[1:]
        await self.send("StasisStart", channel=agent, args=["agent", call_id, leg_id])
        await until(lambda: self.added(agent["id"]), "the agent moved into the mix bridge")
        await self.send("ChannelLeftBridge", channel=CALLER, bridge=bridge(f"{self.mix()}-hold"))
        await self.send("ChannelEnteredBridge", channel=CALLER, bridge=bridge(self.mix()))
        await self.send("ChannelEnteredBridge", channel=agent, bridge=bridge(self.mix()))
        if expect_recording:
            await until(lambda: self.sessions[-1].effects.running, "the segment recording")
        return agent

    async def handled(self) -> None:
        """Every event sent so far has been handled by its call. The fakes never suspend, so a call's
        task, once it took an event from its inbox, finishes handling it before the loop moves on."""
        await until(lambda: all(s._inbox.empty() for s in self.sessions), "calls to take events")

    # ------------------------------------------------------------------------------- looking
    def mix(self) -> str:
        return self.sessions[-1].mix_bridge

    def added(self, channel_id: str) -> bool:
        return any(a.args["channel_id"] == channel_id and a.args["bridge_id"] == self.mix()
                   for a in self.journal.of("ari", "add_channel"))

    def hung_up(self, channel_id: str) -> bool:
        return any(a.args["channel_id"] == channel_id for a in self.journal.of("ari", "hangup"))

    def telephony_since(self, mark: int) -> list[Action]:
        return [a for a in self.journal.since(mark) if a.who in ("ari", "ami")]

    async def ended(self, session: CallSession) -> None:
        await until(lambda: session.call_id not in self.controller.calls, "the call to end")
        async with asyncio.timeout(2):
            await self.evidence.drained()

    def stored(self, name: str) -> list[Mapping[str, Any]]:
        return [a.args for a in self.journal.of("store", name)]
