"""Evidence facts as data, and a durable on-disk journal for them while PostgreSQL is unavailable.

A fact is one store operation and its arguments (``Fact("agent_left", (leg_id, at, "agent_hangup"))``)
so that it can be written to disk and applied later, in order. The journal is an append-only JSON-lines
file: ``{"fact": …}`` lines, and ``{"done": 1}`` lines once the oldest pending fact was applied. Each
line is fsync'd: a crash loses nothing it acknowledged, and replays at most the one fact that was being
applied. Replaying a fact must therefore change nothing: an INSERT keyed by our own UUID is refused by
its primary key, an UPDATE sets the same values again, and a row with no key of ours (a call event)
takes the fact's own ``id``, minted with the fact and journalled with it, as its idempotency key.
"""

from __future__ import annotations

import json
import os
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4


@dataclass(frozen=True)
class Fact:
    op: str  # a Store method name
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    id: UUID = field(default_factory=uuid4)  # this fact, not a row: the same on every replay

    def to_json(self) -> dict[str, Any]:
        return {"op": self.op, "id": str(self.id), "args": [_encode(a) for a in self.args],
                "kwargs": {k: _encode(v) for k, v in self.kwargs.items()}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Fact:
        # A line journalled before facts had ids gets a fresh one: it replays as it always did.
        fact_id = UUID(data["id"]) if "id" in data else uuid4()
        return cls(str(data["op"]), tuple(_decode(a) for a in data["args"]),
                   {k: _decode(v) for k, v in data["kwargs"].items()}, fact_id)


def _encode(value: Any) -> Any:
    if isinstance(value, UUID):
        return {"$uuid": str(value)}
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dict):
        return {"$dict": {k: _encode(v) for k, v in value.items()}}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "$uuid" in value:
            return UUID(value["$uuid"])
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$dict" in value:
            return {k: _decode(v) for k, v in value["$dict"].items()}
    return value


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._pending: deque[Fact] = deque()
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        facts: list[Fact] = []
        done = 0
        for line in self.path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line from a crash mid-write: it was never acknowledged
            if "fact" in entry:
                facts.append(Fact.from_json(entry["fact"]))
            elif "done" in entry:
                done += 1
        self._pending.extend(facts[done:])

    def __len__(self) -> int:
        return len(self._pending)

    def head(self) -> Fact:
        return self._pending[0]

    def append(self, fact: Fact) -> None:
        self._write({"fact": fact.to_json()})
        self._pending.append(fact)

    def advance(self) -> None:
        """The head fact was applied (or refused for good)."""
        self._pending.popleft()
        if self._pending:
            self._write({"done": 1})
        else:
            self.path.unlink(missing_ok=True)  # all applied: start the next outage afresh

    def _write(self, entry: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, separators=(",", ":")) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
