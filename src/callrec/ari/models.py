"""Typed, immutable views of the ARI JSON objects callrec uses, and the event parser.

Only the fields callrec needs are lifted into attributes; the full decoded object of an event
stays available as ``AriEvent.raw``. Parsing is strict about *types* (a ``channel`` that is not an
object is malformed) but lenient about *optional* fields, because Asterisk omits empty ones.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from callrec.ari.errors import MalformedEvent

# Asterisk writes "2024-05-01T12:00:00.123+0000": ISO 8601 but with no colon in the UTC offset.
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?(?:Z|[+-][0-9]{2}:?[0-9]{2})",
    re.ASCII,
)

# Keys that hold a Channel object in the events callrec consumes (StasisStart, ChannelXxx,
# BridgeBlindTransfer, BridgeAttendedTransfer, Dial).
_CHANNEL_KEYS = (
    "channel",
    "replace_channel",
    "transferee",
    "transfer_target",
    "transferer_first_leg",
    "transferer_second_leg",
    "peer",
)


def parse_timestamp(text: object) -> datetime:
    """Parse an Asterisk timestamp into an aware UTC datetime (MalformedEvent if it is not one)."""
    if not isinstance(text, str) or _TIMESTAMP.fullmatch(text) is None:
        raise MalformedEvent(f"not an Asterisk timestamp: {text!r:.80}")
    try:
        return datetime.fromisoformat(text).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise MalformedEvent(f"invalid timestamp {text!r:.80}: {exc}") from None


def _object(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MalformedEvent(f"{what} is not a JSON object")
    return value


def _sub_object(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return {} if value is None else _object(value, f"field {key!r}")


def _text(obj: Mapping[str, Any], key: str, *, required: bool = False) -> str:
    value = obj.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise MalformedEvent(f"field {key!r} is not a string")
    return value


def _optional_text(obj: Mapping[str, Any], key: str) -> str | None:
    return _text(obj, key) if obj.get(key) is not None else None


def _strings(obj: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = obj.get(key)
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise MalformedEvent(f"field {key!r} is not a list of strings")
    return tuple(value)


def _flag(obj: Mapping[str, Any], key: str) -> bool:
    """An optional boolean; absent is false."""
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise MalformedEvent(f"field {key!r} is not a boolean")
    return value


def _optional_int(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    # bool is an int subclass in Python, but never a valid ARI integer.
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedEvent(f"field {key!r} is not an integer")
    return value


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    state: str
    caller_number: str
    caller_name: str
    connected_number: str
    exten: str
    context: str
    creationtime: datetime | None
    # The dialplan application it runs and its arguments: "Stasis" / "callrec,inbound" for a
    # caller our dialplan sent us (how a restarted controller recognises one nobody accounts for).
    app_data: str = ""

    @classmethod
    def from_json(cls, value: object) -> Channel:
        obj = _object(value, "channel")
        caller = _sub_object(obj, "caller")
        connected = _sub_object(obj, "connected")
        dialplan = _sub_object(obj, "dialplan")
        created = obj.get("creationtime")
        return cls(
            id=_text(obj, "id", required=True),
            name=_text(obj, "name"),
            state=_text(obj, "state"),
            caller_number=_text(caller, "number"),
            caller_name=_text(caller, "name"),
            connected_number=_text(connected, "number"),
            exten=_text(dialplan, "exten"),
            context=_text(dialplan, "context"),
            creationtime=None if created is None else parse_timestamp(created),
            app_data=_text(dialplan, "app_data"),
        )


@dataclass(frozen=True)
class Bridge:
    id: str
    bridge_type: str
    channels: tuple[str, ...]
    name: str

    @classmethod
    def from_json(cls, value: object) -> Bridge:
        obj = _object(value, "bridge")
        return cls(
            id=_text(obj, "id", required=True),
            bridge_type=_text(obj, "bridge_type"),
            channels=_strings(obj, "channels"),
            name=_text(obj, "name"),
        )


@dataclass(frozen=True)
class Playback:
    id: str
    state: str
    target_uri: str
    media_uri: str

    @classmethod
    def from_json(cls, value: object) -> Playback:
        obj = _object(value, "playback")
        return cls(
            id=_text(obj, "id", required=True),
            state=_text(obj, "state"),
            target_uri=_text(obj, "target_uri"),
            media_uri=_text(obj, "media_uri"),
        )


def _optional(parse: Any, raw: Mapping[str, Any], key: str) -> Any:
    value = raw.get(key)
    return None if value is None else parse(value)


@dataclass(frozen=True)
class AriEvent:
    """One ARI WebSocket event. Constructing it validates every field callrec reads, so the
    properties below never raise on an event that exists."""

    type: str
    timestamp: datetime
    application: str | None
    raw: Mapping[str, Any] = field(repr=False)
    _channels: Mapping[str, Channel] = field(init=False, repr=False, compare=False)
    _bridge: Bridge | None = field(init=False, repr=False, compare=False)
    _playback: Playback | None = field(init=False, repr=False, compare=False)
    _args: tuple[str, ...] = field(init=False, repr=False, compare=False)
    _cause: int | None = field(init=False, repr=False, compare=False)
    _soft: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        raw = self.raw
        channels = {k: Channel.from_json(raw[k]) for k in _CHANNEL_KEYS if raw.get(k) is not None}
        object.__setattr__(self, "_channels", MappingProxyType(channels))
        object.__setattr__(self, "_bridge", _optional(Bridge.from_json, raw, "bridge"))
        object.__setattr__(self, "_playback", _optional(Playback.from_json, raw, "playback"))
        object.__setattr__(self, "_args", _strings(raw, "args"))
        object.__setattr__(self, "_cause", _optional_int(raw, "cause"))
        object.__setattr__(self, "_soft", _flag(raw, "soft"))
        for key in ("digit", "result", "destination_bridge"):
            _optional_text(raw, key)

    @classmethod
    def from_json(cls, value: object) -> AriEvent:
        obj = _object(value, "event")
        event_type = obj.get("type")
        if not isinstance(event_type, str) or not event_type:
            raise MalformedEvent("event has no type")
        application = obj.get("application")
        if application is not None and not isinstance(application, str):
            raise MalformedEvent("field 'application' is not a string")
        return cls(
            type=event_type,
            timestamp=parse_timestamp(obj.get("timestamp")),
            application=application,
            raw=MappingProxyType(dict(obj)),
        )

    @property
    def channel(self) -> Channel | None:
        return self._channels.get("channel")

    @property
    def replace_channel(self) -> Channel | None:
        """StasisStart / transfers: the channel this one replaces (e.g. after a masquerade)."""
        return self._channels.get("replace_channel")

    @property
    def transferee(self) -> Channel | None:
        return self._channels.get("transferee")

    @property
    def transfer_target(self) -> Channel | None:
        return self._channels.get("transfer_target")

    @property
    def transferer_first_leg(self) -> Channel | None:
        return self._channels.get("transferer_first_leg")

    @property
    def transferer_second_leg(self) -> Channel | None:
        return self._channels.get("transferer_second_leg")

    @property
    def transferer_channel_id(self) -> str | None:
        """The channel that performed a transfer.

        BridgeBlindTransfer names it ``channel``; BridgeAttendedTransfer has two transferer legs
        and the first leg is the one that was talking to the transferee (the original call).
        """
        leg = self._channels.get("channel") or self._channels.get("transferer_first_leg")
        return None if leg is None else leg.id

    @property
    def bridge(self) -> Bridge | None:
        return self._bridge

    @property
    def playback(self) -> Playback | None:
        return self._playback

    @property
    def args(self) -> tuple[str, ...]:
        """StasisStart: the application arguments (``Stasis(app,arg1,arg2)``)."""
        return self._args

    @property
    def soft(self) -> bool:
        """ChannelHangupRequest: a soft hang-up request (AMI/ARI hangup), not the far end's."""
        return self._soft

    @property
    def digit(self) -> str | None:
        """ChannelDtmfReceived: the digit."""
        return _optional_text(self.raw, "digit")

    @property
    def cause(self) -> int | None:
        """ChannelDestroyed / ChannelHangupRequest: the Q.850 hangup cause."""
        return self._cause

    @property
    def result(self) -> str | None:
        """BridgeBlindTransfer / BridgeAttendedTransfer: "Success", "Fail", "Invalid", ..."""
        return _optional_text(self.raw, "result")

    @property
    def destination_bridge(self) -> str | None:
        """BridgeAttendedTransfer with destination_type "bridge": the surviving bridge id."""
        return _optional_text(self.raw, "destination_bridge")


def parse_event(text: str | bytes) -> AriEvent:
    """Decode one WebSocket message. Raises MalformedEvent - and nothing else - if it is not an
    ARI event."""
    try:
        decoded = json.loads(text)
    except (ValueError, TypeError, RecursionError) as exc:
        # ValueError covers JSONDecodeError, UnicodeDecodeError and the int-digits limit.
        raise MalformedEvent(f"not JSON: {exc}") from None
    return AriEvent.from_json(decoded)
