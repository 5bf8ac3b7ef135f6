"""Settings of access control, retention and encryption at rest (TOML sections [access],
[retention], [encryption]).

`AccessConfig` and `EncryptionConfig` are flat, so callrec.config's generic section reader (with its
CALLREC_<SECTION>_<KEY> overrides) handles them. `RetentionConfig` holds tables (class -> days,
queue -> class, business unit -> class), which that reader cannot coerce: `retention_config()`
parses the raw [retention] table instead.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from callrec.governance.errors import GovernanceError

# Names the acting user for one command, over the config and the OS user. Meant for tests and for
# an administrator acting on someone's behalf; it is only as trustworthy as whoever sets the
# environment (see docs/governance.md).
ACTING_USER_ENV = "CALLREC_ACTING_USER"
# The encryption key itself (64 hex digits or base64 of 32 bytes); wins over encryption.key_file.
ENCRYPTION_KEY_ENV = "CALLREC_ENCRYPTION_KEY"


@dataclass(frozen=True)
class AccessConfig:
    grant_hours: float = 24.0  # how long an approved request lets its requester fetch
    acting_user: str = ""  # "" = the OS user running the command


@dataclass(frozen=True)
class EncryptionConfig:
    key_file: str = ""  # 32 raw bytes, or 64 hex digits / base64 text; "" = only the env var
    chunk_size: int = 64 * 1024  # plaintext bytes per GCM chunk (memory bound while streaming)


@dataclass(frozen=True)
class RetentionConfig:
    """Classes are (name, days); a recording's class comes from its call's queue, else its
    business unit, else `default_class`."""

    default_class: str = "default"
    classes: tuple[tuple[str, int], ...] = (("default", 90), ("seven_years", 2557))
    queues: tuple[tuple[str, str], ...] = ()
    business_units: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        known = {name for name, _ in self.classes}
        for name, days in self.classes:
            if days < 0:
                raise GovernanceError(f"retention class {name!r}: days must not be negative")
        wanted = {self.default_class} | {c for _, c in self.queues + self.business_units}
        missing = wanted - known
        if missing:
            raise GovernanceError(f"retention: undefined classes {', '.join(sorted(missing))}")

    def days(self, class_name: str) -> int:
        return dict(self.classes)[class_name]


def retention_config(raw: Mapping[str, Any]) -> RetentionConfig:
    """Parse the [retention] TOML table::

        default_class = "default"
        [retention.classes]          # name = days
        default = 90
        seven_years = 2557
        [retention.queues]           # queue = class (wins over the business unit)
        [retention.business_units]   # business unit = class
    """
    unknown = set(raw) - {"default_class", "classes", "queues", "business_units"}
    if unknown:
        raise GovernanceError(f"[retention] unknown keys: {', '.join(sorted(unknown))}")
    base = RetentionConfig()
    classes = _table(raw, "classes", int) if "classes" in raw else base.classes
    return RetentionConfig(
        default_class=str(raw.get("default_class", base.default_class)),
        classes=classes,
        queues=_table(raw, "queues", str),
        business_units=_table(raw, "business_units", str),
    )


def _table(raw: Mapping[str, Any], key: str, kind: type) -> tuple[tuple[str, Any], ...]:
    table = raw.get(key, {})
    if not isinstance(table, Mapping):
        raise GovernanceError(f"[retention.{key}] must be a table")
    try:
        return tuple(sorted((str(k), kind(v)) for k, v in table.items()))
    except (TypeError, ValueError) as exc:
        raise GovernanceError(f"[retention.{key}]: {exc}") from exc


def from_env(cls: type[Any], section: str, environ: Mapping[str, str]) -> Any:
    """A flat config section from CALLREC_<SECTION>_<KEY> variables only: the fallback used until
    the section is part of callrec.config.Config."""
    values: dict[str, Any] = {}
    for f in fields(cls):
        raw = environ.get(f"CALLREC_{section.upper()}_{f.name.upper()}")
        if raw is not None:
            kind = type(getattr(cls(), f.name))
            try:
                values[f.name] = kind(raw)
            except ValueError as exc:
                raise GovernanceError(f"CALLREC_{section.upper()}_{f.name.upper()}: {exc}") from exc
    return cls(**values)


def acting_user(config: AccessConfig, environ: Mapping[str, str] | None = None) -> str:
    """Who is acting: $CALLREC_ACTING_USER, else [access] acting_user, else the OS user."""
    env = os.environ if environ is None else environ
    named = env.get(ACTING_USER_ENV, "").strip() or config.acting_user.strip()
    return named or getpass.getuser()
