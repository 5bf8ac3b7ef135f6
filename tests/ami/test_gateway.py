"""AmiGateway against a fake AMI server: login, actions, AmiError for every failure mode,
no hanging while disconnected, reconnect, events."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from callrec.ami import AmiError, AmiGateway, AmiMessage

from .fake_ami import FakeAmi, free_port, running

WAIT = 5.0


def gateway_for(fake: FakeAmi, **kwargs: Any) -> AmiGateway:
    options: dict[str, Any] = {"action_timeout": 0.5, "connect_timeout": 2.0, "reconnect_delay": 0.1}
    return AmiGateway("127.0.0.1", fake.port, fake.username, fake.secret, **(options | kwargs))


async def until(condition: Callable[[], bool], timeout: float = WAIT) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_connect_logs_in_and_close_disconnects() -> None:
    fake = FakeAmi()
    async with running(fake):
        ami = gateway_for(fake)
        assert not ami.connected
        async with ami:
            assert ami.connected
            [login] = fake.received("Login")
            assert (login["Username"], login["Secret"], login["Events"]) == ("callrec", "callrec", "on")
        assert not ami.connected


async def test_refused_login_raises_with_asterisks_message_and_does_not_retry() -> None:
    fake = FakeAmi()
    async with running(fake):
        ami = AmiGateway("127.0.0.1", fake.port, "callrec", "wrong", reconnect_delay=0.05)
        with pytest.raises(AmiError) as caught:
            await ami.connect()
        assert caught.value.message == "Authentication failed"
        assert caught.value.action == "Login"
        assert not ami.connected
        with pytest.raises(TimeoutError):  # bounded wait for a reconnect that must not happen
            await until(lambda: fake.connections > 1, timeout=0.5)


async def test_unreachable_asterisk_raises_amierror() -> None:
    ami = AmiGateway("127.0.0.1", free_port(), "u", "p", connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(AmiError, match="cannot log in"):
        await ami.connect()
    assert time.monotonic() - started < 1.5


async def test_actions_are_sent_as_documented_and_replies_returned() -> None:
    fake = FakeAmi(channel_vars={"PJSIP/agent-00000002": {"CALLREC_ID": "42"}})
    async with running(fake), gateway_for(fake) as ami:
        chan = "PJSIP/agent-00000002"
        assert await ami.getvar(chan, "CALLREC_ID") == "42"
        assert await ami.getvar(chan, "UNSET") == ""
        await ami.setvar(chan, "X", "y")
        mixmonitor_id = await ami.mixmonitor_start(chan, "/rec/a.wav", options="bi(MIXID)")
        assert await ami.mixmonitor_start(chan, "/rec/b.wav") is None
        await ami.mixmonitor_stop(chan, mixmonitor_id)
        await ami.hangup(chan, cause=16)
        assert "22.10.1" in await ami.command("core show version")
        [reply] = await ami.send({"Action": "Ping"})
    assert mixmonitor_id == "0x7f3c2c001234"
    assert fake.channel_vars[chan]["X"] == "y"
    start = fake.received("MixMonitor")[0]
    assert (start["Channel"], start["File"], start["Options"]) == (chan, "/rec/a.wav", "bi(MIXID)")
    assert "Options" not in fake.received("MixMonitor")[1]
    assert fake.received("StopMixMonitor")[0]["MixMonitorID"] == "0x7f3c2c001234"
    assert fake.received("Hangup")[0]["Cause"] == "16"
    assert isinstance(reply, AmiMessage) and reply["ping"] == "Pong"


async def test_error_responses_raise_amierror_with_asterisks_message() -> None:
    fake = FakeAmi()
    async with running(fake), gateway_for(fake) as ami:
        with pytest.raises(AmiError) as missing:
            await ami.getvar("PJSIP/gone-00000009", "X")
        with pytest.raises(AmiError) as bad_command:
            await ami.command("frobnicate")
        assert ami.connected
    assert (missing.value.message, missing.value.action) == ("No such channel", "Getvar")
    assert "No such command 'frobnicate'" in bad_command.value.message


@pytest.mark.parametrize("outcome_delay", [0.0, 1.0], ids=["same-packet", "after-action-timeout"])
async def test_originate_is_async_and_its_outcome_arrives_as_an_event(outcome_delay: float) -> None:
    fake = FakeAmi(originate_outcome_delay=outcome_delay)
    async with running(fake), gateway_for(fake, action_timeout=0.5) as ami:
        outcome = ami.expect_event("OriginateResponse", lambda e: e.get("ActionID") == "orig-1")
        action_id = await ami.originate(
            "PJSIP/2001", context="agents", exten="s", variables={"A": "1", "B": "2"},
            caller_id="Queue <100>", action_id="orig-1",
        )
        async with asyncio.timeout(WAIT):
            event = await outcome
    assert action_id == "orig-1"
    assert event["Response"] == "Failure"
    [sent] = fake.received("Originate")
    assert (sent["Async"], sent["Context"], sent["Exten"], sent["Priority"]) == ("true", "agents", "s", "1")
    assert sent["Variable"] == ["A=1", "B=2"] and sent["Timeout"] == "30000"


async def test_silent_asterisk_times_out_as_amierror() -> None:
    fake = FakeAmi()
    async with running(fake), gateway_for(fake, action_timeout=0.3) as ami:
        fake.silent = True
        started = time.monotonic()
        with pytest.raises(AmiError, match="no response within"):
            await ami.send({"Action": "Ping"})
    assert time.monotonic() - started < 1.0


async def test_actions_while_disconnected_fail_fast_and_work_again_after_reconnect() -> None:
    fake = FakeAmi(channel_vars={"Local/1@x-00000001;1": {"V": "ok"}})
    async with running(fake), gateway_for(fake, reconnect_delay=1.0) as ami:
        fake.drop_all()
        await until(lambda: not ami.connected)
        started = time.monotonic()
        with pytest.raises(AmiError):
            await ami.mixmonitor_start("Local/1@x-00000001;1", "/rec/x.wav")
        assert time.monotonic() - started < 0.6  # at most the action timeout, never a hang
        await until(lambda: ami.connected and fake.connections == 2)
        assert await ami.getvar("Local/1@x-00000001;1", "V") == "ok"
    # the failed MixMonitor was not replayed behind the caller's back after the reconnect
    assert len(fake.received("MixMonitor")) <= 1


async def test_action_pending_when_the_connection_drops_fails_and_is_not_replayed() -> None:
    fake = FakeAmi(channel_vars={"PJSIP/a-1": {}})
    async with running(fake), gateway_for(fake, action_timeout=3.0) as ami:
        fake.silent = True
        pending = asyncio.ensure_future(ami.mixmonitor_start("PJSIP/a-1", "/rec/a.wav"))
        await until(lambda: bool(fake.received("MixMonitor")))
        fake.silent = False
        started = time.monotonic()
        fake.drop_all()
        with pytest.raises(AmiError, match="lost"):
            await pending
        assert time.monotonic() - started < 1.0
        await until(lambda: ami.connected)
        await ami.send({"Action": "Ping"})
    assert len(fake.received("MixMonitor")) == 1


async def test_half_open_socket_is_detected_and_replaced() -> None:
    fake = FakeAmi()
    async with running(fake), gateway_for(fake, action_timeout=0.3) as ami:
        fake.half_open()  # the socket stays open but nothing comes back, pings included
        with pytest.raises(AmiError):
            await ami.send({"Action": "CoreStatus"})
        await until(lambda: fake.connections == 2 and ami.connected)
        [reply] = await ami.send({"Action": "Ping"})
    assert reply.name == "Success"


async def test_a_connection_that_dies_while_idle_is_found_and_replaced_by_the_heartbeat() -> None:
    fake = FakeAmi()
    async with running(fake), gateway_for(fake, action_timeout=0.3, ping_interval=0.2) as ami:
        fake.half_open()  # no action is sent: only the heartbeat can notice
        await until(lambda: fake.connections == 2 and ami.connected, timeout=3.0)
        [reply] = await ami.send({"Action": "Ping"})
    assert reply.name == "Success"


async def test_actions_timing_out_together_send_one_probe_and_drop_the_socket_once(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeAmi()
    async with running(fake), gateway_for(fake, action_timeout=0.3) as ami:
        fake.half_open()
        lost = await asyncio.gather(ami.send({"Action": "CoreStatus"}),
                                    ami.send({"Action": "CoreSettings"}), return_exceptions=True)
        assert all(isinstance(outcome, AmiError) for outcome in lost)
        await until(lambda: fake.connections == 2 and ami.connected)
    assert len(fake.received("Ping")) == 1
    assert sum("does not answer Ping" in r.getMessage() for r in caplog.records) == 1


async def test_events_reach_matching_callbacks_and_a_failing_callback_is_contained() -> None:
    fake = FakeAmi()
    seen: list[str] = []

    async def broken(event: AmiMessage) -> None:
        raise RuntimeError("bug in a callback")

    async def record(event: AmiMessage) -> None:
        seen.append(event.text("Event") + ":" + event.text("Channel"))

    async with running(fake), gateway_for(fake) as ami:
        ami.on_event("MixMonitor*", broken)
        ami.on_event("mixmonitor*", record)
        fake.emit({"Event": "Newchannel", "Channel": "PJSIP/a-1"})
        fake.emit({"Event": "MixMonitorStart", "Channel": "PJSIP/a-1"})
        fake.emit({"Event": "MixMonitorStop", "Channel": "PJSIP/a-1"})
        await until(lambda: len(seen) == 2)
        hangup = await asyncio.gather(
            ami.wait_event("Hangup", lambda e: e.get("Channel") == "PJSIP/b-2", timeout=WAIT),
            _emit(fake, {"Event": "Hangup", "Channel": "PJSIP/a-1"}, {"Event": "Hangup", "Channel": "PJSIP/b-2"}),
        )
    assert seen == ["MixMonitorStart:PJSIP/a-1", "MixMonitorStop:PJSIP/a-1"]
    assert hangup[0]["Channel"] == "PJSIP/b-2"


async def test_wait_event_times_out_as_amierror() -> None:
    fake = FakeAmi()
    async with running(fake), gateway_for(fake) as ami:
        with pytest.raises(AmiError, match="no matching Hangup event"):
            await ami.wait_event("Hangup", timeout=0.2)


async def _emit(fake: FakeAmi, *events: dict[str, str | list[str]]) -> None:
    # The events reach the gateway a network round trip later, after wait_event has registered.
    for event in events:
        fake.emit(event)


async def test_text_that_cannot_be_sent_is_refused_at_once_not_timed_out() -> None:
    gateway = AmiGateway("127.0.0.1", 1, "u", "s")  # never connected: refusal comes first
    with pytest.raises(AmiError, match="not UTF-8"):
        await gateway.send({"Action": "Setvar", "Channel": "PJSIP/caller-\ud800", "Value": "1"})


async def test_a_value_with_a_line_break_is_refused_before_anything_is_sent() -> None:
    gateway = AmiGateway("127.0.0.1", 1, "u", "s")  # never connected: refusal comes first
    with pytest.raises(AmiError, match="line break"):
        await gateway.send({"Action": "Setvar", "Channel": "x",
                            "Value": "1\r\nAction: Originate\r\nChannel: PJSIP/evil"})
