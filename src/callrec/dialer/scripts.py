"""PURE choice and rendering of the voicemail message left for a client (seed 003's scripts).

Which script (`choose`):
  greeting identifies the client -> attempts 1-2 "we will try you again shortly",
                                    attempt 3 "we've tried twice at ... and ...";
  number known to be the client's, greeting does not identify them -> the minimal script;
  not sure the number is the client's -> no message at all.

What may be said: the agent's configured first name, the organisation, the callback number, the
times of earlier attempts, and the client's name only when `[dialer] client_name = "task"`. No
other personal detail ("No further detail should be given in case someone else intercepts the
voice message").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from callrec.dialer.errors import DialerError, SchedulingError
from callrec.dialer.schedule import MAX_ATTEMPTS, Task, VoicemailMode
from callrec.dialer.settings import DialerConfig

MAX_NAME_CHARS = 40
_NAME = re.compile(r"[^\W\d_]+(?:[ '\-\u2019][^\W\d_]+)*")  # letters; inner space ' - ’
# Within a week the weekday is unambiguous; older attempts also get their date.
_WEEKDAY_ONLY = timedelta(days=6)


class ScriptKind(StrEnum):
    TRY_AGAIN = "try_again"
    FINAL = "final"
    MINIMAL = "minimal"
    NONE = "none"


@dataclass(frozen=True)
class Voicemail:
    kind: ScriptKind
    text: str  # "" for ScriptKind.NONE: nothing is left


def choose(mode: VoicemailMode, attempt: int) -> ScriptKind:
    if not 1 <= attempt <= MAX_ATTEMPTS:
        raise SchedulingError(f"there is no attempt {attempt}")
    if mode is VoicemailMode.NONE:
        return ScriptKind.NONE
    if mode is VoicemailMode.MINIMAL:
        return ScriptKind.MINIMAL
    return ScriptKind.FINAL if attempt == MAX_ATTEMPTS else ScriptKind.TRY_AGAIN


def voicemail_for(task: Task, agent: str | None, at: datetime,
                  config: DialerConfig) -> Voicemail:
    """The message for the task's attempt in progress, left by `agent` at `at`."""
    attempt = task.last
    if attempt is None or attempt.outcome is not None:
        raise SchedulingError(f"task {task.id} has no attempt in progress")
    kind = choose(task.voicemail, attempt.n)
    if kind is ScriptKind.NONE:
        return Voicemail(kind, "")
    unit = config.unit(task.business_unit)
    if unit is None:
        raise DialerError(f"business unit {task.business_unit!r} is not configured")
    earlier = [spoken_time(a.started_at, at, unit.zone) for a in task.attempts[:-1]]
    if kind is ScriptKind.FINAL and len(earlier) < 2:
        raise SchedulingError(f"task {task.id}: the final script needs two earlier attempts")
    template = {ScriptKind.TRY_AGAIN: config.scripts.try_again,
                ScriptKind.FINAL: config.scripts.final,
                ScriptKind.MINIMAL: config.scripts.minimal}[kind]
    text = template.format(
        client=task.client_name if config.client_name == "task" and task.client_name else "",
        agent=config.agent_display_name(agent),
        organisation=config.organisation_of(unit),
        callback_number=config.callback_number_of(unit),
        first_attempt=earlier[0] if earlier else "",
        second_attempt=earlier[1] if len(earlier) > 1 else "")
    return Voicemail(kind, tidy(text))


def spoken_time(when: datetime, now: datetime, zone: ZoneInfo) -> str:
    """"2:15 pm on Tuesday" (plus the date when over six days before `now`), local to `zone`."""
    local = when.astimezone(zone)
    hour = local.hour % 12 or 12
    clock = f"{hour}:{local.minute:02d} {'am' if local.hour < 12 else 'pm'}"
    day = f"{local:%A}"
    if now - when > _WEEKDAY_ONLY:
        day = f"{day} {local.day} {local:%B}"
    return f"{clock} on {day}"


def tidy(text: str) -> str:
    """Close the gaps an omitted placeholder leaves ("Kia ora ." -> "Kia ora.")."""
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ([.,;:!?])", r"\1", text)


def clean_name(text: str) -> str:
    """A client display name fit to be spoken: letters with inner spaces, hyphens, apostrophes."""
    name = re.sub(" +", " ", text.strip(" "))  # only spaces: a tab or newline is refused
    if len(name) > MAX_NAME_CHARS or not _NAME.fullmatch(name):
        raise DialerError(f"client name {text!r}: up to {MAX_NAME_CHARS} letters, spaces, "
                          f"hyphens or apostrophes")
    return name
