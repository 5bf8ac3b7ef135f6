"""Turning what an operator typed (one `dial add`, or one CSV row) into a Task, or a reason why
not. Shared by the command line and the CSV import so both refuse exactly the same things."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from callrec.dialer.errors import DialerError
from callrec.dialer.numbers import NumberRules, normalise
from callrec.dialer.schedule import ACTIVE, Task, VoicemailMode, new_task
from callrec.dialer.scripts import clean_name
from callrec.dialer.settings import DialerConfig

MAX_CLIENT_REF = 64
T = TypeVar("T")


@dataclass(frozen=True)
class Intake:
    """What a new task is checked against: the settings, the agents that exist, the clock."""

    config: DialerConfig
    known_agents: frozenset[str]
    now: datetime

    def task(self, *, id: UUID, number: str, client_ref: str, agent: str = "",
             business_unit: str = "", voicemail: str = "", client_name: str = "") -> Task:
        """A new open task from raw text fields ("" = not given); DialerError names the first
        field that is wrong."""
        return new_task(
            self.config, id=id, created_at=self.now,
            number=_field("number", lambda: normalise(number, NumberRules.from_config(
                self.config))),
            client_ref=_field("client_ref", lambda: check_client_ref(client_ref)),
            business_unit=_field("business_unit", lambda: self._unit(business_unit)),
            agent=_field("agent", lambda: self._agent(agent)),
            client_name=_field("client_name", lambda: clean_name(client_name)
                               if client_name.strip() else None),
            voicemail=_field("voicemail", lambda: voicemail_mode(voicemail)))

    def _unit(self, name: str) -> str:
        name = name.strip() or self.config.default_business_unit
        if self.config.unit(name) is None:
            raise DialerError(f"unknown business unit {name!r}; configured: "
                              f"{', '.join(self.config.unit_names())}")
        return name

    def _agent(self, name: str) -> str | None:
        name = name.strip()
        if name and name not in self.known_agents:
            raise DialerError(f"no enabled agent named {name!r} (see `callrec agents list`)")
        return name or None


def _field(name: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except DialerError as exc:
        raise DialerError(f"{name}: {exc}") from exc


def check_client_ref(text: str) -> str:
    ref = text.strip()
    if not ref:
        raise DialerError("empty")
    if len(ref) > MAX_CLIENT_REF:
        raise DialerError(f"longer than {MAX_CLIENT_REF} characters")
    if any(unicodedata.category(c)[0] in ("C", "Z") and c != " " for c in ref):
        raise DialerError("contains control, invisible or unusual space characters")
    return ref


def voicemail_mode(text: str) -> VoicemailMode:
    value = text.strip().lower()
    if not value:
        return VoicemailMode.MINIMAL  # the seed's default when the greeting is not known
    try:
        return VoicemailMode(value)
    except ValueError:
        choices = ", ".join(m.value for m in VoicemailMode)
        raise DialerError(f"{text!r} is not one of {choices}") from None


def duplicate_of(task: Task, others: Iterable[Task]) -> str | None:
    """Why `task` would duplicate an open task (same number or same client), else None."""
    for other in others:
        if other.status not in ACTIVE:
            continue
        if other.number == task.number:
            return f"{task.number} already has an open task ({other.id})"
        if other.client_ref == task.client_ref:
            return f"client {task.client_ref} already has an open task ({other.id})"
    return None
