"""Channels in our ARI application that no call accounts for after a restart. Pure.

The evidence writer holds facts for up to 50 ms before writing them (app.EVIDENCE_LINGER). A
controller killed in that instant can leave a caller it had just taken, or an agent or client leg it
had just originated, with no row in PostgreSQL: recovery from the open calls never names them.
Asterisk keeps them in the application, silent, until they hang up; `GET /applications/{app}` lists
them. So, once the open calls are settled:

* a caller our dialplan sent us (``Stasis(<app>,inbound)``) -> taken as a new call: out of any bridge
  it was left in, then the announcement, as if it had just arrived (its earlier time is not ours to
  prove);
* a leg we originated (``callrec-agent-*``, ``callrec-client-*``) -> hung up: its call is unknown,
  nothing may be recorded or said on it;
* anything else (an Announcer channel playing into a bridge, the ``Local`` half of a transfer in
  flight) -> left alone: it is Asterisk's, or a live call claims it within moments.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from enum import Enum

from callrec.ari import Channel

AGENT_PREFIX, CLIENT_PREFIX = "callrec-agent-", "callrec-client-"


class Orphan(Enum):
    CALLER = "caller"  # take it as a new call
    LEG = "leg"        # hang it up


def classify(channel: Channel, app: str) -> Orphan | None:
    """What an unaccounted-for channel in application ``app`` is; None: not ours to touch."""
    if channel.id.startswith((AGENT_PREFIX, CLIENT_PREFIX)):
        return Orphan.LEG
    args = channel.app_data.split(",")
    if args[:2] == [app, "inbound"]:
        return Orphan.CALLER
    return None


def orphans(in_app: Iterable[str], owned: Container[str], live: Mapping[str, Channel],
            app: str) -> list[tuple[Channel, Orphan]]:
    """The channels of ``in_app`` (the application's channel ids) that no call owns, still alive,
    with what to do about each."""
    found = []
    for channel_id in in_app:
        channel = live.get(channel_id)
        if channel_id in owned or channel is None:
            continue
        kind = classify(channel, app)
        if kind is not None:
            found.append((channel, kind))
    return found
