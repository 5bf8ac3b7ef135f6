"""AMI with hostile content both ways. From Asterisk: whatever arrives (a buggy or compromised peer,
or text a caller controls -- caller IDs, channel names -- echoed back in events and replies) is
parsed, routed and answered with no exception but AmiError. To Asterisk: no value, wherever it
comes from, adds a line to an action we send (AMI is line-based and panoramisk joins the headers
with raw CRLF: one line break in a value is an extra header, two are a whole second action)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, assume, example, find, given, settings
from hypothesis import strategies as st
from panoramisk import actions
from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from callrec.ami import AmiError, AmiGateway, AmiMessage
from callrec.ami.manager import StoppableManager
from callrec.ami.message import Value
from callrec.ami.routing import EventRouter
from tests.ami.fake_ami import FakeAmi, running
from tests.hostile.strategies import (
    ami_event_name,
    ami_header_name,
    ami_text,
    ami_value,
    any_case,
    either,
    hostile,
    line_breaking,
)

SUCCESS = ("Success", "Follows", "Goodbye")  # the replies the gateway takes for success
FUZZ = settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
TARGET = "PJSIP/agent-0000002a"


def joined(value: Any) -> str:
    """A header's text as AmiMessage.text documents it: a repeated header's values one a line."""
    return "\n".join(value) if isinstance(value, list) else value


def breaks_line(text: str) -> bool:
    return "\r" in text or "\n" in text


def sendable(text: str) -> bool:
    """UTF-8 encodable: a lone surrogate is not, and the gateway refuses it (panoramisk would send
    nothing and leave the action to time out)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def refused_rightly(exc: AmiError, broken: bool, texts: list[str]) -> bool:
    """The gateway's refusal names a real reason: a line break, or text that cannot be sent."""
    if "line break" in exc.message:
        return broken
    return "not UTF-8" in exc.message and not all(sendable(t) for t in texts)


def header_texts(headers: dict[str, Any]) -> list[str]:
    return [text for key, value in headers.items()
            for text in [key, *(value if isinstance(value, (list, tuple)) else [value])]]


def is_text_headers(message: AmiMessage) -> bool:
    return all(isinstance(key, str) and (isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)))
        for key, value in message.items())


# -- AmiMessage: the one view of everything Asterisk sends -----------------------------------------

name_headers = st.lists(st.tuples(any_case(("Event", "Response")), either(
    st.sampled_from(["", "Hangup", "Success"]), ami_value)), max_size=2)  # what .name is made of


@given(st.lists(st.tuples(ami_header_name, ami_value), max_size=8), name_headers)
def test_any_headers_make_one_consistent_case_insensitive_message(
        pairs: list[tuple[str, Value]], names: list[tuple[str, Value]]) -> None:
    headers = dict(pairs + names)
    expected: dict[str, Value] = {}  # of names differing only in case, the last one wins
    for key, value in headers.items():
        expected[key.lower()] = list(value) if isinstance(value, list) else value
    message = AmiMessage(headers)
    for value in headers.values():  # a copy: changing what it was built from changes nothing
        if isinstance(value, list):
            value.append("Injected: 1")

    assert len(message) == len(expected) == len(list(message))
    assert {key.lower() for key in message} == set(expected)
    for key in headers:
        for spelling in {key, key.lower(), key.upper() if key.isascii() else key}:
            assert message[spelling] == expected[key.lower()]
            assert message.text(spelling) == joined(expected[key.lower()])
    absent = "x" * (1 + max(map(len, expected), default=0))
    assert absent not in message and message.get(absent) is None and message.text(absent) == ""
    assert message.name == (joined(expected.get("event", "")) or joined(expected.get("response", "")))
    assert is_text_headers(message)
    repr(message)


# -- the wire: bytes from Asterisk through panoramisk to the gateway's listeners -------------------

raw_value = st.one_of(ami_text.map(lambda text: text.encode("utf-8", "surrogatepass")),
                      st.binary(max_size=40))  # non-UTF-8 too: panoramisk decodes, dropping it
raw_line = st.one_of(
    st.tuples(ami_header_name, raw_value).map(
        lambda kv: kv[0].encode("utf-8", "surrogatepass") + b": " + kv[1]),
    st.binary(max_size=40))  # not a header at all


@st.composite
def raw_message(draw: st.DrawFn) -> bytes:
    first = draw(st.one_of(
        st.tuples(st.just(b"Event: "), ami_event_name),
        st.tuples(st.just(b"Response: "), either(any_case(SUCCESS), hostile)),
        st.tuples(st.just(b""), hostile)))
    lines = [first[0] + first[1].encode("utf-8", "surrogatepass"),
             *draw(st.lists(raw_line, max_size=5))]
    end = draw(st.sampled_from([b"\r\n\r\n", b"\r\n\r\n", b"\n\n", b"\r\n"]))
    return b"\r\n".join(lines) + end


@st.composite
def ami_stream(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    """Messages as bytes, and the same bytes cut into the pieces data_received gets. The cuts fall
    before ASCII bytes only, so that no UTF-8 character is split (panoramisk decodes each piece on
    its own, dropping what does not decode) and the whole stream parses to the same messages."""
    data = b"".join(draw(st.lists(raw_message(), max_size=6)))
    cuts = sorted({cut for cut in draw(st.lists(st.integers(0, len(data)), max_size=5))
                   if cut == len(data) or data[cut] < 0x80})
    return data, [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]


def panoramisk_parse(data: bytes) -> list[Message]:
    """What panoramisk's AMIProtocol makes of the whole stream at once (the oracle)."""
    blocks = data.decode("utf-8", "ignore").split("\r\n\r\n")[:-1]  # the last waits for more
    return [m for m in (Message.from_line(block.strip()) for block in blocks) if m is not None]


class Transport:
    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


def wired_to(gateway: AmiGateway) -> AMIProtocol:
    """A panoramisk protocol feeding ``gateway`` the way AmiGateway.connect wires its Manager."""
    manager = StoppableManager(gateway._on_login_result, loop=asyncio.get_running_loop(),
                               on_disconnect=gateway._on_disconnect)
    manager.stopped = True  # a Shutdown event must not start a real reconnect
    manager.register_event("*", gateway._dispatch)
    protocol = AMIProtocol()
    protocol.connection_made(Transport())
    protocol.factory, protocol.encoding, protocol.version = manager, "utf8", "9.0.0"
    manager.protocol = protocol
    return protocol


@FUZZ
@given(ami_stream())
async def test_whatever_asterisk_sends_reaches_listeners_as_text_and_raises_nothing(
        stream: tuple[bytes, list[bytes]]) -> None:
    data, pieces = stream
    parsed = panoramisk_parse(data)
    # panoramisk 1.4's own limit: see test_a_header_panoramisk_cannot_take_twice_costs_the_connection
    assume(not any(isinstance(m.get(key), list) for m in parsed
                   for key in ("Event", "ActionID", "CommandID")))
    gateway = AmiGateway("127.0.0.1", 1, "u", "s")
    seen: list[AmiMessage] = []

    async def listener(event: AmiMessage) -> None:
        seen.append(event)

    gateway.on_event("*", listener)
    protocol = wired_to(gateway)
    for piece in pieces:
        protocol.data_received(piece)
    await asyncio.sleep(0)
    await asyncio.gather(*list(gateway._tasks))

    events = [m for m in parsed if "Event" in m]
    assert len(seen) == len(events)
    for got, sent in zip(seen, events, strict=True):
        assert is_text_headers(got)
        assert got.name == (sent["Event"] or joined(sent.get("Response", "")))
        for key, value in sent.items():
            if key == "content" and not value:
                assert "content" not in got  # panoramisk's empty body is not a header
            else:
                assert got[key] == value


@pytest.mark.parametrize("repeated", [
    {"Event": ["Hangup", "Hangup"], "Channel": "PJSIP/a-1"},
    {"Event": "Newchannel", "ActionID": ["a", "b"]},
    {"Response": "Success", "CommandID": ["a", "b"]},
], ids=["Event", "ActionID", "CommandID"])
async def test_a_header_panoramisk_cannot_take_twice_costs_the_connection_not_the_gateway(
        repeated: dict[str, str | list[str]]) -> None:
    """panoramisk 1.4 raises inside data_received on a repeated Event, ActionID or CommandID header
    (a list where it wants a string), and asyncio drops the connection. That costs a reconnect (and
    whatever was in flight, as AmiOutcomeUnknown), never the gateway: it logs in again and works."""
    fake = FakeAmi()
    hangups: list[str] = []

    async def on_hangup(event: AmiMessage) -> None:
        hangups.append(event.text("Channel"))

    async with running(fake), AmiGateway("127.0.0.1", fake.port, fake.username, fake.secret,
                                         action_timeout=0.5, reconnect_delay=0.1) as ami:
        ami.on_event("Hangup", on_hangup)
        fake.emit(repeated)
        async with asyncio.timeout(5):
            while not (fake.connections == 2 and ami.connected):
                await asyncio.sleep(0.01)
        [pong] = await ami.send({"Action": "Ping"})
        fake.emit({"Event": "Hangup", "Channel": "PJSIP/b-2"})
        async with asyncio.timeout(5):
            while not hangups:
                await asyncio.sleep(0.01)
    assert pong.name == "Success" and hangups == ["PJSIP/b-2"]


# -- routing: event names and headers anyone could set ----------------------------------------------

event_headers = st.dictionaries(ami_header_name, ami_value, max_size=4)
ROUTED = ("Hangup", "OriginateResponse", "MixMonitorStart", "MixMonitorStop")


@st.composite
def events(draw: st.DrawFn) -> AmiMessage:
    # Mostly the names waited for below, with what their waiters look at: hostile ones otherwise.
    kind = draw(st.sampled_from([*ROUTED, "other"]))
    name = draw(ami_event_name if kind == "other" else any_case((kind,)))
    headers: dict[str, Value] = {"Event": name}
    headers.update(draw(event_headers))  # may repeat Event, in another case: the last one wins
    if draw(st.booleans()):
        headers["Channel"] = draw(either(st.sampled_from([TARGET, TARGET.lower()]), ami_value))
    if kind == "OriginateResponse" and draw(st.sampled_from([True, True, True, False])):
        headers["Reason"] = draw(either(st.sampled_from(["0", "4", " 4", "5"]), ami_value))
    return AmiMessage(headers)


def named(pattern: str, name: str) -> bool:
    """The oracle: pattern is a literal name, or a prefix and "*"; letter case is ignored."""
    regex = re.escape(pattern[:-1]) + ".*" if pattern.endswith("*") else re.escape(pattern)
    return re.fullmatch(regex, name, re.IGNORECASE | re.DOTALL) is not None


@FUZZ
@given(st.lists(events(), max_size=8))
async def test_routing_hostile_events_never_raises_and_wakes_only_what_they_match(
        stream: list[AmiMessage]) -> None:
    spawned: list[Awaitable[None]] = []
    router = EventRouter(lambda coroutine, what: spawned.append(coroutine))
    everything: list[AmiMessage] = []
    monitors: list[AmiMessage] = []
    broken: list[AmiMessage] = []

    async def every(event: AmiMessage) -> None:
        everything.append(event)

    async def monitor(event: AmiMessage) -> None:
        monitors.append(event)

    async def buggy(event: AmiMessage) -> None:
        broken.append(event)
        raise RuntimeError("a bug in a listener")

    router.on_event("*", every)
    router.on_event("MixMonitor*", monitor)
    router.on_event("Hangup", buggy)
    hangup = router.expect_event("Hangup", lambda e: e.text("Channel") == TARGET)
    # A waiter's own predicate may choke on what Asterisk sent: it fails that waiter, nothing else.
    originated = router.expect_event("OriginateResponse", lambda e: int(e.text("Reason")) == 4)

    for event in stream:
        router.dispatch(event)
    for coroutine in spawned:
        await coroutine  # a failing listener is logged, never raised

    assert everything == stream
    assert monitors == [e for e in stream if named("MixMonitor*", e.name)]
    assert broken == [e for e in stream if named("Hangup", e.name)]
    first = next((e for e in stream if named("Hangup", e.name) and e.text("Channel") == TARGET), None)
    assert (hangup.result() if hangup.done() else None) is first
    expected: AmiMessage | type[Exception] | None = None
    for event in (e for e in stream if named("OriginateResponse", e.name)):
        try:
            if int(event.text("Reason")) == 4:
                expected = event
                break
        except ValueError:
            expected = ValueError
            break
    if expected is None:
        assert not originated.done()
    elif expected is ValueError:
        assert isinstance(originated.exception(), ValueError)
    else:
        assert originated.result() is expected
    router.cancel_waiters()


# -- actions: nothing hostile adds a line -----------------------------------------------------------

class CapturingManager:
    """Stands in for panoramisk's logged-in Manager: keeps each action sent (``str(action)`` is
    exactly what AMIProtocol.send encodes and writes) and answers it with ``answer(action)``."""

    protocol = None

    def __init__(self, answer: Callable[[actions.Action], Message | list[Message]] | None = None
                 ) -> None:
        self.sent: list[actions.Action] = []
        self.answer = answer or (lambda action: Message({"Response": "Success",
                                                         "ActionID": action.action_id}))

    def send_action(self, action: actions.Action, as_list: bool | None = None
                    ) -> asyncio.Future[Any]:
        self.sent.append(action)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(self.answer(action))
        return future


def logged_in(manager: CapturingManager) -> AmiGateway:
    gateway = AmiGateway("127.0.0.1", 1, "callrec", "callrec")
    gateway._manager = manager  # type: ignore[assignment]
    gateway._logged_in.set()
    return gateway


def asterisk_lines(action: actions.Action) -> list[str]:
    """The header lines Asterisk reads from the action as written (manager.c ends a line at CRLF
    or at a bare LF, and the action at the first empty line), checked to be exactly one line per
    header value: none split in two, none added, no early end."""
    wire = str(action)
    assert wire.endswith("\r\n\r\n")
    lines = re.split(r"\r?\n", wire[:-len("\r\n\r\n")])
    assert "" not in lines  # an empty line would end the action early: the rest is another one
    assert not any("\r" in line for line in lines)
    values = sum(len(v) if isinstance(v, (list, tuple)) else 1 for v in action.values())
    assert len(lines) == values  # one line per header value: nothing split, nothing added
    return lines


def scrub(value: Any) -> Any:
    """Hostile, but with no line break (the strategies put one in where the test says)."""
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v) for v in value)
    return value.replace("\r", "").replace("\n", "")


clean_text = ami_text.map(scrub)
clean_values = either(ami_value, st.tuples(ami_text, ami_text)).map(scrub)


@st.composite
def actions_maybe_broken(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    """An action, and whether one line break was put in it: in a header's name, its value, one
    of a repeated header's values (a list or a tuple), or nowhere."""
    action: dict[str, Any] = {
        "Action": draw(any_case(("Setvar", "Originate", "MixMonitor", "Command", "Ping"))),
        **draw(st.dictionaries(ami_header_name.map(scrub), clean_values, max_size=5))}
    where = draw(st.sampled_from(["name", "value", "list", "tuple"])) if draw(st.booleans()) \
        else "nowhere"
    name, value, broken = draw(ami_header_name.map(scrub)), draw(clean_text), draw(line_breaking)
    if where == "name":
        action[broken] = value
    elif where != "nowhere":
        action[name] = {"value": broken, "list": [value, broken], "tuple": (broken, value)}[where]
    return action, where != "nowhere"


@FUZZ
@given(actions_maybe_broken())
@example(({"Action": "Setvar", "Event": "\ud800"}, False))  # a lone surrogate: refused, not sent
async def test_a_line_break_anywhere_in_an_action_refuses_it_before_anything_is_sent(
        case: tuple[dict[str, Any], bool]) -> None:
    action, broken = case
    assert broken == any(breaks_line(text) for text in header_texts(action))
    manager = CapturingManager()
    try:
        await logged_in(manager).send(action)
    except AmiError as exc:
        assert refused_rightly(exc, broken, header_texts(action)) and not manager.sent
        return
    assert not broken and all(sendable(t) for t in header_texts(action))
    [sent] = manager.sent
    asterisk_lines(sent)


ARGUMENTS = {"mixmonitor_start": 3, "mixmonitor_stop": 2, "getvar": 2, "setvar": 3, "hangup": 1,
             "command": 1, "originate": 8}  # text arguments; originate's last two: a variable's


@st.composite
def gateway_calls(draw: st.DrawFn) -> tuple[Callable[[AmiGateway], Awaitable[Any]], bool,
                                            list[str]]:
    """A call of one of the gateway's action methods with hostile text arguments, one of them
    with a line break or none; whether one has; the header lines the action must then carry."""
    kind = draw(st.sampled_from(sorted(ARGUMENTS)))
    texts = draw(st.lists(clean_text, min_size=8, max_size=8))
    spot = draw(st.sampled_from(range(ARGUMENTS[kind]))) if draw(st.booleans()) else None
    if spot is not None:
        texts[spot] = draw(line_breaking)
    channel, a, b, c, app, data, key, value = texts
    if kind == "mixmonitor_start":
        lines = [f"Channel: {channel}", f"File: {a}"] + ([f"Options: {b}"] if b else [])
        return lambda g: g.mixmonitor_start(channel, a, options=b), spot is not None, lines
    if kind == "mixmonitor_stop":
        lines = [f"Channel: {channel}"] + ([f"MixMonitorID: {a}"] if a else [])
        return lambda g: g.mixmonitor_stop(channel, a), spot is not None, lines
    if kind == "getvar":
        lines = [f"Channel: {channel}", f"Variable: {a}"]
        return lambda g: g.getvar(channel, a), spot is not None, lines
    if kind == "setvar":
        lines = [f"Channel: {channel}", f"Variable: {a}", f"Value: {b}"]
        return lambda g: g.setvar(channel, a, b), spot is not None, lines
    if kind == "hangup":
        cause = draw(st.none() | st.integers(-(2 ** 70), 2 ** 70))
        lines = [f"Channel: {channel}"] + ([] if cause is None else [f"Cause: {cause}"])
        return lambda g: g.hangup(channel, cause), spot is not None, lines
    if kind == "command":
        return lambda g: g.command(channel), spot is not None, [f"Command: {channel}"]
    variables = {**draw(st.dictionaries(clean_text, clean_text, max_size=2)), key: value}
    lines = [f"Channel: {channel}", *(f"Variable: {k}={v}" for k, v in variables.items()),
             *([f"CallerID: {a}"] if a else []), *([f"ActionID: {b}"] if b else []),
             *([f"ChannelId: {c}"] if c else [])]
    if draw(st.booleans()):
        return (lambda g: g.originate(channel, application=app, data=data, variables=variables,
                                      caller_id=a, action_id=b, channel_id=c),
                spot is not None, [*lines, f"Application: {app}", f"Data: {data}"])
    return (lambda g: g.originate(channel, context=app, exten=data, variables=variables,
                                  caller_id=a, action_id=b, channel_id=c),
            spot is not None, [*lines, f"Context: {app}", f"Exten: {data}"])


@FUZZ
@given(gateway_calls())
async def test_hostile_arguments_to_the_action_methods_never_add_a_line(
        case: tuple[Callable[[AmiGateway], Awaitable[Any]], bool, list[str]]) -> None:
    call, broken, expected_lines = case
    manager = CapturingManager()
    try:
        await call(logged_in(manager))
    except AmiError as exc:
        assert refused_rightly(exc, broken, expected_lines) and not manager.sent
        return
    assert not broken
    [sent] = manager.sent
    assert set(expected_lines) <= set(asterisk_lines(sent))


# -- replies: whatever Asterisk answers ---------------------------------------------------------------

@st.composite
def replies(draw: st.DrawFn) -> Message | list[Message]:
    def reply() -> Message:
        headers: dict[str, Value] = draw(event_headers)
        if draw(st.booleans()):  # half of them succeed, so that what follows a success is fuzzed
            headers["Response"] = draw(st.sampled_from(SUCCESS))
        elif draw(st.booleans()):
            headers["Response"] = draw(st.one_of(st.sampled_from(["Error", "Fail", "Failure"]),
                                                 any_case(SUCCESS), ami_value))
        if draw(st.booleans()):
            headers["MixMonitorID"] = draw(ami_value)
        return Message(headers, draw(st.one_of(st.just(""), ami_text)))
    first = reply()  # a list when panoramisk collected several (an EventList, say)
    return [first, *(reply() for _ in range(draw(st.integers(0, 2))))] if draw(st.booleans()) else first


@FUZZ
@given(replies())
async def test_any_reply_is_a_result_or_an_amierror(answer: Message | list[Message]) -> None:
    gateway = logged_in(CapturingManager(lambda action: answer))
    first = answer[0] if isinstance(answer, list) else answer
    succeeded = joined(first.get("Response", "")) in SUCCESS  # exactly: "success" is not success
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "send": lambda: gateway.send({"Action": "CoreStatus"}),
        "getvar": lambda: gateway.getvar(TARGET, "CALLREC_MIXMONITOR"),
        "command": lambda: gateway.command("core show version"),
        "mixmonitor_start": lambda: gateway.mixmonitor_start(TARGET, "/spool/a.wav",
                                                             options="bi(CALLREC_MIXMONITOR)"),
        "originate": lambda: gateway.originate(TARGET, application="Stasis", data="callrec"),
        "hangup": lambda: gateway.hangup(TARGET, 16),
    }
    for method, call in calls.items():
        try:
            result = await call()
        except AmiError as exc:
            assert not succeeded, method
            assert isinstance(exc.message, str) and exc.message
            assert joined(first.get("Message", "")) in exc.message  # Asterisk's reason, if any
            continue
        assert succeeded, method
        if method == "send":
            assert len(result) == (len(answer) if isinstance(answer, list) else 1)
            assert all(isinstance(reply, AmiMessage) and is_text_headers(reply) for reply in result)
        elif method == "getvar":
            assert result == joined(first.get("Value", ""))
        elif method == "command":
            assert result == (joined(first.get("Output", "")) or first.get("content", ""))
        elif method == "mixmonitor_start":
            assert result == (joined(first.get("MixMonitorID", "")) or None)
            await stop_with_the_id(result)


async def stop_with_the_id(mixmonitor_id: str | None) -> None:
    """The ID Asterisk gave goes back in StopMixMonitor: a line break in it (a repeated header is
    joined with one) refuses the stop rather than adding a line to it."""
    manager = CapturingManager()
    try:
        await logged_in(manager).mixmonitor_stop(TARGET, mixmonitor_id)
    except AmiError as exc:
        assert mixmonitor_id is not None and breaks_line(mixmonitor_id)
        assert "line break" in exc.message and not manager.sent
        return
    [sent] = manager.sent
    assert (f"MixMonitorID: {mixmonitor_id}" in asterisk_lines(sent)) == bool(mixmonitor_id)


@FUZZ
@given(replies().map(lambda r: r[0] if isinstance(r, list) else r),
       st.sampled_from(["answered", "failed", "cancelled"]))
async def test_a_login_answer_logs_in_or_is_refused_as_an_amierror(answer: Message,
                                                                   how: str) -> None:
    loop = asyncio.get_running_loop()
    gateway = AmiGateway("127.0.0.1", 1, "callrec", "callrec")
    gateway._first_login = loop.create_future()
    manager = StoppableManager(gateway._on_login_result, loop=loop)
    future: asyncio.Future[Message] = loop.create_future()
    if how == "answered":
        future.set_result(answer)
    elif how == "failed":
        future.set_exception(ConnectionResetError())
    else:
        future.cancel()
    try:
        ok = manager.login(future)
    finally:
        if manager.pinger is not None:
            manager.pinger.cancel()
    first_login = gateway._first_login
    if how != "answered":
        assert ok is False and not first_login.done()  # connect()'s own timeout ends the wait
        return
    assert ok is bool(answer.success)  # panoramisk's verdict, passed on
    if ok:
        assert first_login.result() is None and gateway.connected
    else:
        exc = first_login.exception()
        assert isinstance(exc, AmiError) and exc.action == "Login" and exc.message
        assert joined(answer.get("Message", "")) in exc.message
        assert not gateway.connected


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")  # 10k-char reprs
@pytest.mark.parametrize("case", ["hangup for the target", "unreadable Reason", "Reason 4",
                                  "succeeded", "MixMonitorID with a line break"])
def test_the_generators_reach_the_cases_that_matter(case: str) -> None:
    """The fuzzing above is only worth something if the interesting cases are drawn at all."""
    def unreadable_reason(stream: list[AmiMessage]) -> bool:  # there, but not a number
        reasons = [e.text("Reason") for e in stream
                   if named("OriginateResponse", e.name) and "Reason" in e]
        return any(not r.strip().lstrip("+-").isdigit() for r in reasons)

    def first(answer: Message | list[Message]) -> Message:
        return answer[0] if isinstance(answer, list) else answer

    found: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], bool]]] = {
        "hangup for the target": (st.lists(events(), max_size=8), lambda stream: any(
            named("Hangup", e.name) and e.text("Channel") == TARGET for e in stream)),
        "unreadable Reason": (st.lists(events(), max_size=8), unreadable_reason),
        "Reason 4": (st.lists(events(), max_size=8), lambda stream: any(
            named("OriginateResponse", e.name) and e.text("Reason") == "4" for e in stream)),
        "succeeded": (replies(), lambda r: joined(first(r).get("Response", "")) in SUCCESS),
        "MixMonitorID with a line break": (replies(), lambda r: joined(first(r).get("Response", ""))
                                           in SUCCESS and breaks_line(joined(first(r).get(
                                               "MixMonitorID", "")))),
    }
    strategy, condition = found[case]
    find(strategy, condition, settings=settings(max_examples=5000, database=None,
                                                phases=[Phase.generate],
                                                suppress_health_check=list(HealthCheck)))
