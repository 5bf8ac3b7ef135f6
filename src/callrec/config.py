"""Configuration: one TOML file, every key overridable from the environment.

Lookup order for each key: ``CALLREC_<SECTION>_<KEY>`` environment variable, then the TOML file
(``--config``, else ``$CALLREC_CONFIG``, else ``./callrec.toml`` if present), then the default below.
Defaults match the sandbox (`scripts/sandbox.sh`), so a bare checkout talks to it with no file at all.
The documented example is ``callrec.example.toml``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any, get_type_hints

from callrec.dialer.errors import DialerConfigError
from callrec.dialer.settings import DialerConfig, dialer_config
from callrec.governance.errors import GovernanceError
from callrec.governance.settings import (
    AccessConfig,
    EncryptionConfig,
    RetentionConfig,
    retention_config,
)


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class AsteriskConfig:
    ari_url: str = "http://127.0.0.1:8088"
    ari_user: str = "callrec"
    ari_password: str = "callrec"
    app: str = "callrec"
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "callrec"
    ami_secret: str = "callrec"
    ami_timeout: float = 3.0
    # How REST requests travel: "http" (one HTTP request each, in parallel; any Asterisk) or
    # "websocket" (over the event WebSocket, Asterisk 20.14/21.9/22.4 and later; Asterisk answers
    # them one at a time). No CPU saving beyond the noise was measured for the controller on the
    # 2-core sandbox (docs/benchmarks-load-rounds.md), so HTTP stays the default.
    ari_rest: str = "http"


ARI_REST_TRANSPORTS = ("websocket", "http")


@dataclass(frozen=True)
class DatabaseConfig:
    dsn: str = "postgresql://callrec@127.0.0.1:55432/callrec"
    pool_max: int = 10


@dataclass(frozen=True)
class RecordingsConfig:
    # Where MixMonitor writes, as Asterisk sees it, and the same directory as callrec sees it. They
    # differ when Asterisk runs in a chroot or container (the sandbox) and are equal on a plain install.
    asterisk_dir: str = "/var/spool/asterisk/callrec"
    local_dir: str = "/var/tmp/callrec/rootfs/var/spool/asterisk/callrec"
    finalise_timeout: float = 10.0
    # MixMonitor ignores write errors: below this much free space, alarm and follow disk_policy.
    min_free_bytes: int = 1 << 30
    disk_policy: str = "carry_on"  # "refuse": do not start a recording on a nearly full disk
    # A file shorter than the agent's time in the bridge by more than this was cut short (250 ms
    # covers the sandbox's simulated phones, which start sending audio ~200 ms after answering).
    cut_short_tolerance_ms: int = 250
    sweep_interval: float = 300.0  # seconds between sweeps for crash-truncated files


@dataclass(frozen=True)
class InboundConfig:
    announcement: str = "sound:callrec/announcement"
    announcement_text: str = "This call will be recorded for training and quality purposes."
    client_number_prompt: str = "sound:callrec/enter-client-number"
    invalid_prompt: str = "sound:callrec/invalid-client-number"
    fallback_prompt: str = "sound:callrec/no-client-number"
    client_number_pattern: str = r"^[0-9]{4,12}$"
    digit_timeout: float = 5.0
    max_attempts: int = 3
    ring_timeout: int = 20
    moh_class: str = "callrec"
    # Dialplan context holding the numbers agents may blind-transfer to; used when callrec carries
    # out a REFER itself (the agent's channel has PJSIP_TRANSFER_HANDLING(ari-only)).
    transfer_context: str = "callrec-transfer"
    queue: str = "general"
    business_unit: str = ""


@dataclass(frozen=True)
class AgentEntry:
    name: str
    dial_string: str


@dataclass(frozen=True)
class Config:
    asterisk: AsteriskConfig = field(default_factory=AsteriskConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    recordings: RecordingsConfig = field(default_factory=RecordingsConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    encryption: EncryptionConfig = field(default_factory=EncryptionConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    dialer: DialerConfig = field(default_factory=DialerConfig)
    agents: tuple[AgentEntry, ...] = ()
    shutdown_timeout: float = 10.0
    # Controller state on local disk: the evidence journal kept while PostgreSQL is unreachable.
    state_dir: str = "/var/tmp/callrec/state"
    # The asyncio event loop `callrec serve` runs on: "uvloop" (libuv; less CPU per ARI event,
    # docs/benchmarks-load.md) or "asyncio" (the standard library's).
    event_loop: str = "uvloop"


EVENT_LOOPS = ("uvloop", "asyncio")


def load(path: str | os.PathLike[str] | None = None,
         environ: dict[str, str] | None = None) -> Config:
    environ = dict(os.environ if environ is None else environ)
    data = _read_file(path or environ.get("CALLREC_CONFIG") or _default_path())
    config = Config()
    sections: dict[str, Any] = {}
    for f in fields(Config):
        default = getattr(config, f.name)
        if f.name == "dialer":  # nested tables (business units, windows): parsed on their own
            try:
                sections["dialer"] = dialer_config(data.pop("dialer", {}), environ)
            except DialerConfigError as exc:
                raise ConfigError(str(exc)) from exc
        elif f.name == "retention":  # tables of classes, not flat keys: parsed on their own
            try:
                sections["retention"] = retention_config(data.pop("retention", {}))
            except GovernanceError as exc:
                raise ConfigError(str(exc)) from exc
        elif is_dataclass(default):
            raw = data.pop(f.name, {})
            if not isinstance(raw, dict):
                raise ConfigError(f"[{f.name}] must be a table")
            sections[f.name] = _section(f.name, type(default), raw, environ)
    agents = tuple(_agent(a) for a in data.pop("agents", []))
    shutdown = float(environ.get("CALLREC_SHUTDOWN_TIMEOUT", data.pop("shutdown_timeout", 10.0)))
    state_dir = str(environ.get("CALLREC_STATE_DIR", data.pop("state_dir", config.state_dir)))
    if sections["asterisk"].ari_rest not in ARI_REST_TRANSPORTS:
        raise ConfigError(f"asterisk.ari_rest must be one of {', '.join(ARI_REST_TRANSPORTS)}, "
                          f"not {sections['asterisk'].ari_rest!r}")
    event_loop = str(environ.get("CALLREC_EVENT_LOOP", data.pop("event_loop", config.event_loop)))
    if event_loop not in EVENT_LOOPS:
        raise ConfigError(f"event_loop must be one of {', '.join(EVENT_LOOPS)}, not {event_loop!r}")
    if data:
        raise ConfigError(f"unknown configuration keys: {', '.join(sorted(data))}")
    return replace(config, **sections, agents=agents, shutdown_timeout=shutdown,
                   state_dir=state_dir, event_loop=event_loop)


def _default_path() -> str | None:
    return "callrec.toml" if Path("callrec.toml").exists() else None


def _read_file(path: str | os.PathLike[str] | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"configuration file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _section(name: str, cls: type, raw: dict[str, Any], environ: dict[str, str]) -> Any:
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"[{name}] unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key in known:
        env_key = f"CALLREC_{name.upper()}_{key.upper()}"
        if env_key in environ:
            values[key] = _coerce(env_key, environ[env_key], hints[key])
        elif key in raw:
            values[key] = _coerce(f"[{name}] {key}", raw[key], hints[key])
    return cls(**values)


def _coerce(where: str, value: Any, kind: Any) -> Any:
    try:
        if kind is bool and isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: cannot read {value!r} as {getattr(kind, '__name__', kind)}") from exc


def _agent(raw: Any) -> AgentEntry:
    if not isinstance(raw, dict) or set(raw) != {"name", "dial_string"}:
        raise ConfigError("each [[agents]] entry needs exactly: name, dial_string")
    return AgentEntry(str(raw["name"]), str(raw["dial_string"]))
