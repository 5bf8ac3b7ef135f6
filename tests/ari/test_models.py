"""parse_event: typed views of ARI events, and MalformedEvent - never anything else - for junk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callrec.ari import AriEvent, Bridge, Channel, MalformedEvent, parse_event, parse_timestamp

CHANNEL = {
    "id": "1714564800.12",
    "name": "PJSIP/caller-00000001",
    "state": "Ring",
    "caller": {"name": "Alice", "number": "0612345678"},
    "connected": {"name": "", "number": "2001"},
    "dialplan": {"context": "from-trunk", "exten": "100", "priority": 3, "app_name": "Stasis",
                 "app_data": "callrec,inbound,q1"},
    "creationtime": "2024-05-01T14:00:00.000+0200",
    "language": "en",
}


def message(event_type: str, **fields: Any) -> str:
    body = {"type": event_type, "timestamp": "2024-05-01T12:00:00.123+0000", "application": "callrec"}
    return json.dumps(body | fields)


def test_asterisk_timestamps_without_offset_colon_become_aware_utc() -> None:
    assert parse_timestamp("2024-05-01T14:00:00.123+0200") == datetime(
        2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC
    )
    assert parse_timestamp("2024-05-01T12:00:00.123+0000").tzinfo == UTC


@pytest.mark.parametrize("text", ["2024-05-01T12:00:00", "2024-05-01", "yesterday", "", 17, None])
def test_timestamps_without_offset_or_not_strings_are_malformed(text: object) -> None:
    with pytest.raises(MalformedEvent):
        parse_timestamp(text)


def test_stasis_start_exposes_channel_args_and_replace_channel() -> None:
    replaced = CHANNEL | {"id": "1714564800.9"}
    event = parse_event(message("StasisStart", args=["inbound", "q1"], channel=CHANNEL,
                                replace_channel=replaced))
    assert event.type == "StasisStart"
    assert event.application == "callrec"
    assert event.timestamp == datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)
    assert event.args == ("inbound", "q1")
    assert event.channel == Channel(
        id="1714564800.12", name="PJSIP/caller-00000001", state="Ring", caller_number="0612345678",
        caller_name="Alice", connected_number="2001", exten="100", context="from-trunk",
        creationtime=datetime(2024, 5, 1, 12, tzinfo=UTC), app_data="callrec,inbound,q1",
    )
    assert event.replace_channel is not None and event.replace_channel.id == "1714564800.9"
    assert event.raw["channel"]["language"] == "en"


def test_bytes_are_accepted_like_text() -> None:
    assert parse_event(message("StasisEnd", channel=CHANNEL).encode()).channel is not None


def test_dtmf_cause_bridge_and_playback_accessors() -> None:
    assert parse_event(message("ChannelDtmfReceived", digit="5", duration_ms=100,
                               channel=CHANNEL)).digit == "5"
    assert parse_event(message("ChannelDestroyed", cause=16, cause_txt="Normal Clearing",
                               channel=CHANNEL)).cause == 16
    entered = parse_event(message("ChannelEnteredBridge", channel=CHANNEL, bridge={
        "id": "b1", "technology": "simple_bridge", "bridge_type": "mixing",
        "bridge_class": "stasis", "creator": "Stasis", "name": "call-1",
        "channels": ["1714564800.12", "1714564800.13"], "creationtime": "2024-05-01T12:00:00.000+0000",
    }))
    assert entered.bridge == Bridge(id="b1", bridge_type="mixing",
                                    channels=("1714564800.12", "1714564800.13"), name="call-1")
    started = parse_event(message("PlaybackStarted", playback={
        "id": "pb1", "media_uri": "sound:beep", "target_uri": "channel:1714564800.12",
        "language": "en", "state": "playing",
    }))
    assert started.playback is not None and started.playback.state == "playing"
    assert started.channel is None and started.digit is None and started.cause is None
    assert started.args == ()


def test_a_hangup_request_says_whether_it_was_soft() -> None:
    """Asterisk marks an explicit (AMI/ARI) hang-up request soft; the far end's BYE is not."""
    assert parse_event(message("ChannelHangupRequest", cause=16, soft=True, channel=CHANNEL)).soft
    assert not parse_event(message("ChannelHangupRequest", cause=16, channel=CHANNEL)).soft


def test_blind_transfer_names_the_transferer_and_transferee() -> None:
    event = parse_event(message(
        "BridgeBlindTransfer", channel=CHANNEL, transferee=CHANNEL | {"id": "caller"},
        exten="2002", context="agents", result="Success", is_external=False,
    ))
    assert event.transferer_channel_id == "1714564800.12"
    assert event.transferee is not None and event.transferee.id == "caller"
    assert event.result == "Success"


def test_attended_transfer_exposes_both_legs_and_target() -> None:
    event = parse_event(message(
        "BridgeAttendedTransfer",
        transferer_first_leg=CHANNEL | {"id": "agent-leg1"},
        transferer_second_leg=CHANNEL | {"id": "agent-leg2"},
        transferee=CHANNEL | {"id": "caller"},
        transfer_target=CHANNEL | {"id": "target"},
        result="Success", is_external=False, destination_type="bridge", destination_bridge="b1",
    ))
    assert event.transferer_channel_id == "agent-leg1"
    assert event.transferer_second_leg is not None and event.transferer_second_leg.id == "agent-leg2"
    assert event.transfer_target is not None and event.transfer_target.id == "target"
    assert event.destination_bridge == "b1"


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '"StasisStart"',
        "{}",
        '{"type": "StasisStart"}',
        '{"type": 7, "timestamp": "2024-05-01T12:00:00.123+0000"}',
        '{"type": "", "timestamp": "2024-05-01T12:00:00.123+0000"}',
        '{"type": "X", "timestamp": "2024-05-01 12:00"}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "application": 5}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "channel": "abc"}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "channel": {"name": "n"}}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "channel": {"id": "1", "caller": []}}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "args": "a,b"}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "cause": true}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "digit": 5}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "soft": 1}',
        '{"type": "X", "timestamp": "2024-05-01T12:00:00.123+0000", "bridge": {"id": "b", "channels": [1]}}',
        "[" * 100_000,
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_messages_raise_malformed_event(text: str | bytes) -> None:
    with pytest.raises(MalformedEvent):
        parse_event(text)


def _parse_or_malformed(text: str | bytes) -> AriEvent | None:
    try:
        return parse_event(text)
    except MalformedEvent:
        return None


# No per-example deadline: on a loaded CI box a single slow example is not a parser bug.
FUZZ = settings(deadline=None)


@FUZZ
@given(st.text())
def test_any_text_parses_or_is_malformed(text: str) -> None:
    _parse_or_malformed(text)


@FUZZ
@given(st.binary())
def test_any_bytes_parse_or_are_malformed(data: bytes) -> None:
    _parse_or_malformed(data)


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
JSON_VALUES = st.recursive(
    JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
KNOWN_KEYS = st.sampled_from([
    "type", "timestamp", "application", "channel", "replace_channel", "bridge", "playback", "args",
    "digit", "cause", "transferee", "transfer_target", "transferer_first_leg",
    "transferer_second_leg", "peer", "result", "destination_bridge",
])
CHANNEL_KEYS = st.sampled_from(["id", "name", "state", "caller", "connected", "dialplan", "creationtime"])
FUZZED_CHANNEL = st.dictionaries(CHANNEL_KEYS, JSON_VALUES | st.just("2024-05-01T12:00:00.1+0000"))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KNOWN_KEYS | st.text(), JSON_VALUES | FUZZED_CHANNEL, max_size=8))
def test_any_json_object_parses_or_is_malformed(obj: dict[str, Any]) -> None:
    _parse_or_malformed(json.dumps(obj))


def _asterisk_format(moment: datetime) -> str:
    """How Asterisk prints a timestamp: milliseconds and a +HHMM offset."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    return text + moment.strftime("%z")


@FUZZ
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=-12 * 60, max_value=14 * 60),
    st.text(min_size=1),
    st.lists(st.text()),
)
def test_well_formed_events_keep_their_values(
    naive: datetime, offset_minutes: int, channel_id: str, args: list[str]
) -> None:
    moment = naive.replace(microsecond=naive.microsecond // 1000 * 1000,
                           tzinfo=timezone(timedelta(minutes=offset_minutes)))
    event = parse_event(json.dumps({
        "type": "StasisStart", "timestamp": _asterisk_format(moment), "args": args,
        "channel": {"id": channel_id},
    }))
    assert event.timestamp == moment and event.timestamp.utcoffset() == timedelta(0)
    assert event.args == tuple(args)
    assert event.channel is not None and event.channel.id == channel_id
