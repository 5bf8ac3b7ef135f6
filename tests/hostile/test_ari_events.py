"""ARI events carrying hostile values (caller IDs, channel names, extensions, digits are set by
whoever places the call): the parser refuses only with MalformedEvent, translation never raises,
and nothing the caller controls can name a recording or an agent we did not ring."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from callrec import policy as p
from callrec.ari import AriEvent, MalformedEvent, parse_event
from callrec.controller.translate import AgentLegRef, Roles, translate
from tests.hostile.strategies import hostile

MINTED = UUID("6f0a3c1e-0000-4000-8000-000000000001")
TYPES = ("StasisStart", "StasisEnd", "ChannelEnteredBridge", "ChannelLeftBridge",
         "ChannelHangupRequest", "ChannelDestroyed", "ChannelHold", "ChannelUnhold",
         "BridgeBlindTransfer", "BridgeAttendedTransfer", "ChannelDtmfReceived",
         "PlaybackFinished", "ChannelUserevent")
TIMESTAMP = "2026-11-22T10:00:00.000+0000"
WRONG_TYPES = st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(),
                        st.lists(st.integers(), max_size=2), st.just({}))


def channel(ids: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "id": ids, "name": hostile, "state": hostile,
        "caller": st.fixed_dictionaries({"number": hostile, "name": hostile}),
        "connected": st.fixed_dictionaries({"number": hostile}),
        "dialplan": st.fixed_dictionaries({"exten": hostile, "context": hostile}),
    })


_ABSENT = object()


def maybe(value: st.SearchStrategy[Any], *, wrong: bool) -> st.SearchStrategy[Any]:
    """Absent, null, or the value -- and, when ``wrong``, sometimes a value of the wrong JSON type."""
    options = [st.just(_ABSENT), st.none(), value]
    return st.one_of(*options, WRONG_TYPES) if wrong else st.one_of(*options)


def usually(value: st.SearchStrategy[Any], *, wrong: bool) -> st.SearchStrategy[Any]:
    """Always there in well-formed mode: so that hostile ids often meet the call's roles."""
    return maybe(value, wrong=True) if wrong else value


@st.composite
def scenario(draw: st.DrawFn, wrong: bool = False) -> tuple[str, Roles]:
    """A message whose ids come from the same hostile pool the call's roles were built from."""
    pool = draw(st.lists(hostile, min_size=1, max_size=3))
    ids = st.sampled_from(pool)
    agents = draw(st.lists(ids, max_size=3))
    roles = Roles(draw(ids), draw(ids),
                  {a: AgentLegRef(UUID(int=i + 1), draw(hostile), a) for i, a in enumerate(agents)},
                  frozenset(draw(st.lists(ids, max_size=2))))
    fields = {
        "channel": usually(channel(ids), wrong=wrong),
        "replace_channel": maybe(channel(ids), wrong=wrong),
        "transferer_first_leg": maybe(channel(ids), wrong=wrong),
        "transferer_second_leg": maybe(channel(ids), wrong=wrong),
        "bridge": usually(st.fixed_dictionaries({"id": ids, "channels": st.lists(ids, max_size=3),
                                                 "name": hostile}), wrong=wrong),
        "playback": maybe(st.fixed_dictionaries({"id": ids, "media_uri": hostile}), wrong=wrong),
        "args": maybe(st.lists(hostile, max_size=3), wrong=wrong),
        "digit": maybe(hostile, wrong=wrong),
        "exten": maybe(hostile, wrong=wrong),
        "result": maybe(st.one_of(st.just("Success"), hostile), wrong=wrong),
        "cause": maybe(st.integers(-(2 ** 70), 2 ** 70), wrong=wrong),
        "userevent": maybe(st.dictionaries(hostile, hostile, max_size=3), wrong=wrong),
    }
    kind = draw(st.sampled_from((*TYPES, None)))
    message: dict[str, Any] = {"type": draw(hostile) if kind is None else kind,
                               "timestamp": TIMESTAMP, "application": "callrec"}
    for key, strategy in fields.items():
        value = draw(strategy)
        if value is not _ABSENT:
            message[key] = value
    return json.dumps(message), roles


def check_translation(event: AriEvent, roles: Roles) -> None:
    result = translate(event, roles, lambda: MINTED)
    assert result is None or isinstance(result, p.Event.__args__)  # type: ignore[attr-defined]
    if isinstance(result, p.AgentJoined):
        # Recording ids (and so file names) are minted by us, never taken from the event.
        assert (result.recording_id, result.mixmonitor_id) == (MINTED, f"callrec-{MINTED}")
        assert result.channel_id in roles.agent_legs
    if isinstance(result, p.AgentLeft):
        assert result.channel_id in roles.agent_legs  # only an agent we rang can "leave"


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_hostile_values_in_a_well_formed_event_never_break_translation(
        case: tuple[str, Roles]) -> None:
    message, roles = case
    try:
        event = parse_event(message)
    except MalformedEvent:
        return  # e.g. an empty channel id is not ARI; refusing it is the parser's job
    check_translation(event, roles)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(wrong=True))
def test_fields_of_the_wrong_type_are_malformed_events_and_nothing_else(
        case: tuple[str, Roles]) -> None:
    message, roles = case
    for raw in (message, message.encode("utf-8", "surrogatepass")):
        try:
            event = parse_event(raw)
        except MalformedEvent:
            continue
        check_translation(event, roles)


@given(hostile)
def test_a_hostile_timestamp_is_malformed(value: str) -> None:
    message = json.dumps({"type": "StasisStart", "timestamp": value})
    try:
        parse_event(message)
    except MalformedEvent:
        return
    raise AssertionError(f"accepted timestamp {value!r}")


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # 10k-char reprs
@pytest.mark.parametrize("kind", [p.AgentJoined, p.AgentLeft, p.CallerLeft, p.TransfereeLeft,
                                  p.HoldStarted])
def test_the_generator_reaches_the_translations_that_matter(kind: type) -> None:
    """The fuzzing above is only worth something if hostile ids really meet the call's roles."""
    def translates_to_kind(case: tuple[str, Roles]) -> bool:
        try:
            event = parse_event(case[0])
        except MalformedEvent:
            return False
        return isinstance(translate(event, case[1], lambda: MINTED), kind)

    find(scenario(), translates_to_kind,
         settings=settings(max_examples=5000, database=None, phases=[Phase.generate],
                           suppress_health_check=list(HealthCheck)))  # found is enough: no shrinking
