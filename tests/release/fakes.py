"""Explicit governance fakes: an audit log that remembers every attempt, and an authoriser that
allows everyone except the actors it was told to refuse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from callrec.release import Governance


@dataclass(frozen=True)
class Entry:
    actor: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any]


@dataclass
class RecordingAudit:
    entries: list[Entry] = field(default_factory=list)

    async def record(self, actor: str, action: str, target: str, outcome: str,
                     detail: dict[str, Any]) -> None:
        self.entries.append(Entry(actor, action, target, outcome, detail))

    @property
    def outcomes(self) -> list[str]:
        return [e.outcome for e in self.entries]


@dataclass
class Gate:
    refused: dict[str, str] = field(default_factory=dict)  # actor -> reason

    async def refusal(self, actor: str, recording_id: UUID) -> str | None:
        return self.refused.get(actor)


@dataclass(frozen=True)
class FakeGovernance(Governance):
    audit: RecordingAudit = field(default_factory=RecordingAudit)
    authoriser: Gate = field(default_factory=Gate)
