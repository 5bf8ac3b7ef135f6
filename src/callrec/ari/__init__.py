"""Thin typed ARI gateway: REST calls raise AriError; events() streams AriEvent/Connected/Disconnected."""

from callrec.ari.client import AriClient, basic_authorization
from callrec.ari.errors import AriConflict, AriError, AriNotFound, MalformedEvent
from callrec.ari.events import Backoff, Connected, Disconnected, StreamItem
from callrec.ari.models import AriEvent, Bridge, Channel, Playback, parse_event, parse_timestamp

__all__ = [
    "AriClient",
    "AriConflict",
    "AriError",
    "AriEvent",
    "AriNotFound",
    "Backoff",
    "Bridge",
    "Channel",
    "Connected",
    "Disconnected",
    "MalformedEvent",
    "Playback",
    "StreamItem",
    "basic_authorization",
    "parse_event",
    "parse_timestamp",
]
