"""Settings of the outbound dialer (TOML table [dialer]).

The table holds nested tables (business units with their calling hours, agents' display names,
script templates), which callrec.config's flat section reader cannot coerce, so `dialer_config()`
parses the raw table itself -- like governance.settings.retention_config -- and applies
``CALLREC_DIALER_<KEY>`` overrides to the flat keys::

    [dialer]
    max_concurrent = 2              # outbound calls at once (0 pauses the dialer)
    retry_minutes = 30              # after an unsuccessful attempt
    organisation = "Ministry of Social Development"
    callback_number = "0800 559 009"   # said in the voicemail scripts
    default_business_unit = "default"
    numbers = "nz"                  # "nz" (national or +64) or "e164" (any +CC...)
    allow_international = false     # with numbers = "nz": accept other countries' +CC numbers
    client_name = "omit"            # "omit": never say the client's name; "task": the task's name
    default_agent_name = "a case manager"   # said when the agent has no display name
    # Placing the calls (the Asterisk half):
    dial_template = "PJSIP/{number}@phones"   # the client's dial string; {number} is E.164
    ring_seconds = 30               # how long the client's phone rings
    amd_context = "callrec-outbound"          # dialplan running AMD() (see docs/dialer.md)
    amd_options = ""                # AMD() arguments, "" = amd.conf; e.g. "2500,1500,800,5000"
    verdict_timeout = 40.0          # s from answer to AMD's verdict (and the greeting's end)
    disclosure_text = "Before we proceed with this call I need to inform you ..."
    disclosure_prompt = ""          # "": disclosure_text rendered into prompt_dir at start-up
    #   (prompts.resolve_disclosure); else the operator's own recording ("sound:..."), played as
    #   is, and disclosure_text is the operator's statement of its words (the proof cites it)
    prompt_dir = "/var/tmp/callrec/rootfs/usr/share/asterisk/sounds/callrec/vm"  # rendered scripts
    prompt_media = "sound:callrec/vm"         # how Asterisk names prompt_dir
    poll_seconds = 2.0              # how often the dialer looks for due tasks

    [dialer.agent_names]            # agent (as in `callrec agents`) = first name said in scripts
    alice = "Aroha"

    [dialer.business_units.default]
    timezone = "Pacific/Auckland"   # IANA zone the hours are in
    caller_id = "0800559009"        # the number the client sees
    callback_number = ""            # "" = [dialer] callback_number
    organisation = ""               # "" = [dialer] organisation
    [dialer.business_units.default.hours]   # mon..sun override weekdays/weekend override daily
    weekdays = "08:00-20:00"        # or ["08:00-12:00", "13:00-20:00"]; "" = closed
    sat = "09:00-13:00"

    [dialer.scripts]                # voicemail templates; placeholders in SCRIPT_FIELDS
    try_again = "..."
    final = "..."
    minimal = "..."
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from callrec.dialer.errors import DialerConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # index = datetime.weekday()
_DAY_GROUPS = {"daily": range(7), "weekdays": range(5), "weekend": range(5, 7)}
NUMBER_POLICIES = ("nz", "e164")
CLIENT_NAME_POLICIES = ("omit", "task")
SCRIPT_FIELDS = frozenset({"client", "agent", "organisation", "callback_number",
                           "first_attempt", "second_attempt"})

# The Ministry of Social Development's scripts for unsuccessful outbound contact, word for word
# apart from the placeholders (seed 003: "Unsuccessful contact ... when voicemail identifies
# client" / "does not identify client").
TRY_AGAIN_SCRIPT = ("Kia ora {client}. It's {agent} from {organisation}. We're trying to contact "
                    "you regarding your request for assistance. We will try you again shortly.")
FINAL_SCRIPT = ("Kia ora {client}. It's {agent} from {organisation}. We're trying to contact you "
                "regarding your request for assistance. We've tried twice at {first_attempt} and "
                "{second_attempt}. If you still need help, please call us on {callback_number}.")
MINIMAL_SCRIPT = ("Kia ora {client}, this is {agent} from {organisation}, could you give us a "
                  "call on {callback_number}.")


# The seed's outbound privacy procedure, said before anything personal (004: "Outbound calling").
DISCLOSURE_TEXT = ("Before we proceed with this call I need to inform you that this call may be "
                   "recorded or listened to for quality and coaching purposes.")
_AMD_OPTIONS = re.compile(r"(|[0-9]{1,5}(,[0-9]{1,5}){0,8})")


@dataclass(frozen=True)
class Window:
    """Calls may start on `weekday` (0 = Monday) from `start` up to, not including, `end`,
    local time of the business unit. Windows never cross midnight: split them."""

    weekday: int
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise DialerConfigError(f"weekday {self.weekday} is not 0 (Monday) .. 6 (Sunday)")
        if not self.start < self.end:
            raise DialerConfigError(f"calling window {self.start:%H:%M}-{self.end:%H:%M} on "
                                    f"{WEEKDAYS[self.weekday]}: the end must be after the start")


def weekday_windows(start: time = time(8), end: time = time(20)) -> tuple[Window, ...]:
    return tuple(Window(day, start, end) for day in range(5))


@dataclass(frozen=True)
class BusinessUnit:
    name: str
    timezone: str = "Pacific/Auckland"
    windows: tuple[Window, ...] = field(default_factory=weekday_windows)
    # MSD staff prefix '25' so that the client sees 0800 559 009 (seed 003): the number shown.
    caller_id: str = "0800559009"
    callback_number: str = ""
    organisation: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise DialerConfigError("a business unit needs a name")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise DialerConfigError(
                f"business unit {self.name!r}: unknown time zone {self.timezone!r}") from exc
        if not self.windows:
            raise DialerConfigError(f"business unit {self.name!r} has no calling hours at all")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances: this is a dict lookup


@dataclass(frozen=True)
class ScriptTemplates:
    try_again: str = TRY_AGAIN_SCRIPT
    final: str = FINAL_SCRIPT
    minimal: str = MINIMAL_SCRIPT

    def __post_init__(self) -> None:
        for f in fields(self):
            unknown = template_fields(getattr(self, f.name)) - SCRIPT_FIELDS
            if unknown:
                raise DialerConfigError(
                    f"[dialer.scripts] {f.name}: unknown placeholders {sorted(unknown)}; "
                    f"known: {sorted(SCRIPT_FIELDS)}")


def template_fields(template: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:  # an unmatched brace
        raise DialerConfigError(f"script template {template!r}: {exc}") from exc


@dataclass(frozen=True)
class DialerConfig:
    enabled: bool = False
    max_concurrent: int = 1
    retry_minutes: float = 30.0
    organisation: str = "Ministry of Social Development"
    callback_number: str = "0800 559 009"
    default_business_unit: str = "default"
    numbers: str = "nz"
    allow_international: bool = False
    client_name: str = "omit"
    default_agent_name: str = "a case manager"
    business_units: tuple[BusinessUnit, ...] = (BusinessUnit("default"),)
    agent_names: tuple[tuple[str, str], ...] = ()
    scripts: ScriptTemplates = field(default_factory=ScriptTemplates)
    dial_template: str = "PJSIP/{number}@phones"
    ring_seconds: int = 30
    amd_context: str = "callrec-outbound"
    amd_options: str = ""
    verdict_timeout: float = 40.0
    # "" = render disclosure_text (what is played follows what the proof says was said); a media
    # URI = the operator's own recording, whose words disclosure_text must state.
    disclosure_prompt: str = ""
    disclosure_text: str = DISCLOSURE_TEXT
    prompt_dir: str = "/var/tmp/callrec/rootfs/usr/share/asterisk/sounds/callrec/vm"
    prompt_media: str = "sound:callrec/vm"
    poll_seconds: float = 2.0

    def __post_init__(self) -> None:
        if self.max_concurrent < 0:
            raise DialerConfigError("[dialer] max_concurrent must not be negative")
        if not self.retry_minutes > 0:
            raise DialerConfigError("[dialer] retry_minutes must be positive")
        if "{number}" not in self.dial_template:
            raise DialerConfigError("[dialer] dial_template must contain {number}")
        if not 5 <= self.ring_seconds <= 120:
            raise DialerConfigError("[dialer] ring_seconds must be between 5 and 120")
        if not _AMD_OPTIONS.fullmatch(self.amd_options):
            raise DialerConfigError("[dialer] amd_options: up to nine comma-separated integers "
                                    f"(AMD()'s arguments), got {self.amd_options!r}")
        if not self.poll_seconds > 0 or not self.verdict_timeout > 0:
            raise DialerConfigError("[dialer] poll_seconds and verdict_timeout must be positive")
        if not self.disclosure_text.strip():
            raise DialerConfigError("[dialer] disclosure_text must not be empty: it is what is "
                                    "said (or stated to be said) before a call is recorded")
        _one_of("numbers", self.numbers, NUMBER_POLICIES)
        _one_of("client_name", self.client_name, CLIENT_NAME_POLICIES)
        names = [u.name for u in self.business_units]
        if len(set(names)) != len(names):
            raise DialerConfigError(f"[dialer] business units named twice: {names}")
        if self.default_business_unit not in names:
            raise DialerConfigError(f"[dialer] default_business_unit "
                                    f"{self.default_business_unit!r} is not among {names}")

    @property
    def retry_interval(self) -> timedelta:
        return timedelta(minutes=self.retry_minutes)

    def unit(self, name: str) -> BusinessUnit | None:
        return next((u for u in self.business_units if u.name == name), None)

    def unit_names(self) -> tuple[str, ...]:
        return tuple(u.name for u in self.business_units)

    def agent_display_name(self, agent: str | None) -> str:
        return dict(self.agent_names).get(agent or "", self.default_agent_name)

    def organisation_of(self, unit: BusinessUnit) -> str:
        return unit.organisation or self.organisation

    def callback_number_of(self, unit: BusinessUnit) -> str:
        return unit.callback_number or self.callback_number


def _one_of(key: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise DialerConfigError(f"[dialer] {key} must be one of {', '.join(allowed)}: {value!r}")


# ----------------------------------------------------------------------------------- parsing
_FLAT = {"enabled": bool, "max_concurrent": int, "retry_minutes": float, "organisation": str,
         "callback_number": str, "default_business_unit": str, "numbers": str,
         "allow_international": bool, "client_name": str, "default_agent_name": str,
         "dial_template": str, "ring_seconds": int, "amd_context": str, "amd_options": str,
         "verdict_timeout": float, "disclosure_prompt": str, "disclosure_text": str,
         "prompt_dir": str, "prompt_media": str, "poll_seconds": float}
_TABLES = {"business_units", "agent_names", "scripts"}
_UNIT_KEYS = {"timezone", "caller_id", "callback_number", "organisation", "hours"}


def dialer_config(raw: Mapping[str, Any], environ: Mapping[str, str] | None = None
                  ) -> DialerConfig:
    """Parse the [dialer] TOML table (see the module docstring), then CALLREC_DIALER_<KEY>."""
    env = os.environ if environ is None else environ
    unknown = set(raw) - set(_FLAT) - _TABLES
    if unknown:
        raise DialerConfigError(f"[dialer] unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, kind in _FLAT.items():
        env_key = f"CALLREC_DIALER_{key.upper()}"
        if env_key in env:
            values[key] = _coerce(env_key, env[env_key], kind)
        elif key in raw:
            values[key] = _coerce(f"[dialer] {key}", raw[key], kind)
    if "business_units" in raw:
        units = _table(raw, "business_units")
        values["business_units"] = tuple(_unit(name, body) for name, body in sorted(units.items()))
        values.setdefault("default_business_unit", _sole_unit(values["business_units"]))
    values["agent_names"] = tuple(sorted((str(k), _text(f"[dialer.agent_names] {k}", v))
                                         for k, v in _table(raw, "agent_names").items()))
    values["scripts"] = _scripts(_table(raw, "scripts"))
    return DialerConfig(**values)


def _sole_unit(units: tuple[BusinessUnit, ...]) -> str:
    """With one configured unit it is the default; with several, say which."""
    if len(units) == 1:
        return units[0].name
    return DialerConfig.default_business_unit


def _unit(name: str, body: Any) -> BusinessUnit:
    where = f"[dialer.business_units.{name}]"
    if not isinstance(body, Mapping):
        raise DialerConfigError(f"{where} must be a table")
    unknown = set(body) - _UNIT_KEYS
    if unknown:
        raise DialerConfigError(f"{where} unknown keys: {', '.join(sorted(unknown))}")
    base = BusinessUnit(name)
    hours = body.get("hours")
    return BusinessUnit(
        name=name,
        timezone=_text(f"{where} timezone", body.get("timezone", base.timezone)),
        windows=base.windows if hours is None else parse_hours(where, hours),
        caller_id=_text(f"{where} caller_id", body.get("caller_id", base.caller_id)),
        callback_number=_text(f"{where} callback_number", body.get("callback_number", "")),
        organisation=_text(f"{where} organisation", body.get("organisation", "")),
    )


def parse_hours(where: str, hours: Any) -> tuple[Window, ...]:
    """{daily|weekdays|weekend|mon..sun: "HH:MM-HH:MM" | [..] | ""}: the most specific key wins
    for a day (a day name over weekdays/weekend over daily)."""
    if not isinstance(hours, Mapping):
        raise DialerConfigError(f"{where} hours must be a table")
    unknown = set(hours) - set(_DAY_GROUPS) - set(WEEKDAYS)
    if unknown:
        raise DialerConfigError(f"{where} hours: unknown days {', '.join(sorted(unknown))}")
    per_day: dict[int, Any] = {}
    for key in ("daily", "weekdays", "weekend", *WEEKDAYS):
        if key in hours:
            days = _DAY_GROUPS.get(key, [WEEKDAYS.index(key)] if key in WEEKDAYS else [])
            per_day.update({day: hours[key] for day in days})
    return tuple(Window(day, start, end) for day, spec in sorted(per_day.items())
                 for start, end in _spans(f"{where} hours.{WEEKDAYS[day]}", spec))


def _spans(where: str, spec: Any) -> list[tuple[time, time]]:
    items = [spec] if isinstance(spec, str) else spec
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise DialerConfigError(f"{where}: expected \"HH:MM-HH:MM\" or a list of them")
    return [_span(where, item) for item in items if item.strip()]


def _span(where: str, text: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    if not sep:
        raise DialerConfigError(f"{where}: {text!r} is not HH:MM-HH:MM")
    return _clock(where, start), _clock(where, end)


def _clock(where: str, text: str) -> time:
    text = text.strip()
    if text == "24:00":  # "until midnight"; windows are half-open, so the last minute counts
        return time(23, 59, 59, 999999)
    if len(text) == 5 and text[2] == ":":
        try:
            return time.fromisoformat(text)
        except ValueError:
            pass
    raise DialerConfigError(f"{where}: {text!r} is not a time HH:MM")


def _scripts(raw: Mapping[str, Any]) -> ScriptTemplates:
    known = {f.name for f in fields(ScriptTemplates)}
    unknown = set(raw) - known
    if unknown:
        raise DialerConfigError(f"[dialer.scripts] unknown keys: {', '.join(sorted(unknown))}")
    return ScriptTemplates(**{k: _text(f"[dialer.scripts] {k}", v) for k, v in raw.items()})


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    table = raw.get(key, {})
    if not isinstance(table, Mapping):
        raise DialerConfigError(f"[dialer.{key}] must be a table")
    return table


def _text(where: str, value: Any) -> str:
    if not isinstance(value, str):
        raise DialerConfigError(f"{where}: expected text, got {value!r}")
    return value


def _coerce(where: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on",
                                                                "0", "false", "no", "off"}:
            return value.strip().lower() in {"1", "true", "yes", "on"}
        raise DialerConfigError(f"{where}: cannot read {value!r} as a boolean")
    if isinstance(value, bool) or (kind is str and not isinstance(value, str)):
        raise DialerConfigError(f"{where}: cannot read {value!r} as {kind.__name__}")
    try:
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise DialerConfigError(f"{where}: cannot read {value!r} as {kind.__name__}") from exc
