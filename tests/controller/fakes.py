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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from callrec.ari import AriClient, AriEvent, Bridge, Channel, Playback, parse_event
from callrec.audio import FileFacts
from callrec.controller.recorder import Finalised, RecordingFiles
from callrec.store import Store

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

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(getattr(AriClient, name, None)):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            arguments = bind(AriClient, name, args, kwargs)
            self.journal.add("ari", name, arguments)
            if name in self.fail:
                raise self.fail.pop(name)
            return _ari_result(name, arguments)
        return call


def _ari_result(name: str, a: Mapping[str, Any]) -> Any:
    if name == "play":
        return Playback(a["playback_id"], "queued", f"channel:{a['channel_id']}", str(a["media"]))
    if name == "create_bridge":
        return Bridge(a["bridge_id"], a["bridge_type"], (), a["name"])
    if name == "originate":
        return Channel(a["channel_id"], "", "Down", "", "", "", "", "", None)
    if name == "list_channels":
        return []
    return None


class FakeRecorder:
    """The Recorder's interface; MixMonitor IDs are "mm-1", "mm-2", ..."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self._ids = itertools.count(1)

    def files(self, recording_id: UUID, started_at: datetime) -> RecordingFiles:
        return RecordingFiles.for_recording(recording_id, started_at, "/spool", "/local")

    async def start(self, channel_name: str, files: RecordingFiles) -> str | None:
        self.journal.add("ami", "start", {"channel_name": channel_name, "files": files})
        return f"mm-{next(self._ids)}"

    async def stop(self, channel_name: str, asterisk_id: str | None) -> bool:
        self.journal.add("ami", "stop", {"channel_name": channel_name, "asterisk_id": asterisk_id})
        return True

    async def finalise(self, files: RecordingFiles) -> Finalised:
        facts = FileFacts(Path(files.local_mix), 8000, 8000, 1, 1000, 16044, "ab" * 32)
        return Finalised(facts, None, True)


class FakeStore:
    """Any Store method: recorded (after checking the real signature accepts the arguments)."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def __getattr__(self, name: str) -> Callable[..., Any]:
        if not inspect.iscoroutinefunction(getattr(Store, name, None)):
            raise AttributeError(name)

        async def call(*args: Any, **kwargs: Any) -> None:
            self.journal.add("store", name, bind(Store, name, args, kwargs))
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
