"""A thin AMI gateway on panoramisk 1.4: every action bounded by a timeout, one error type.

What panoramisk 1.4 does on its own, and what this module changes:

* An action sent while the socket is down is written into a closed transport and its future
  never resolves. Here every action is wrapped in ``asyncio.timeout`` and refused outright while
  the gateway knows it is disconnected.
* On connection loss panoramisk queues unanswered actions and replays them after the next
  login. Replaying a MixMonitor or Originate minutes later would be wrong (the caller already got
  an error and decided what to do), so pending actions fail at once and are never replayed.
* It reconnects (fixed delay) after a loss, but keeps no handle on the scheduled reconnect, so a
  closed Manager could come back to life; ``StoppableManager`` adds a stop flag.
* It sends Pings but never checks the answers, so a half-open socket goes unnoticed. Here a
  timed-out action triggers a Ping probe; if that times out too the socket is aborted, which
  starts panoramisk's reconnect.
* An action that got no answer (timeout, or the connection dropped under it) raises
  ``AmiOutcomeUnknown``: Asterisk may have carried it out. Callers re-check once reconnected
  (``wait_answering``) instead of assuming success or failure; ``AmiNotConnected`` means nothing
  was sent.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Mapping
from types import TracebackType
from typing import Any, Self

from panoramisk import Manager, actions
from panoramisk.message import Message

from callrec.ami.errors import AmiError, AmiNotConnected, AmiOutcomeUnknown
from callrec.ami.manager import StoppableManager
from callrec.ami.message import AmiMessage, Value
from callrec.ami.routing import EventCallback, EventRouter, Predicate

log = logging.getLogger(__name__)

# panoramisk's Message.success_responses: "Follows" is the pre-Asterisk-14 Command reply.
_SUCCESS = ("Success", "Follows", "Goodbye")


class _NoResponse(AmiOutcomeUnknown):
    """The action timed out (the connection may be half-open)."""


def _error_text(reply: AmiMessage) -> str:
    # A failed Command says "Command output follows" and puts the real reason in Output.
    parts = [reply.text("Message"), reply.text("Output")]
    return ": ".join(part for part in parts if part) or f"Response: {reply.name or '?'}"


def _refuse_line_breaks(action: Mapping[str, Value], name: str) -> None:
    """AMI is line-based and panoramisk joins headers with raw CRLF: a value carrying a line break
    would smuggle in headers or a whole second action. Nothing legitimate needs one. Text that is
    not encodable as UTF-8 (a lone surrogate, which ARI's JSON can carry in a channel name) is
    refused too: panoramisk would log it, send nothing, and leave us waiting out the timeout for an
    answer that cannot come."""
    for key, value in action.items():
        values = value if isinstance(value, (list, tuple)) else [value]
        texts = [str(v) for v in [key, *values]]
        if any("\r" in t or "\n" in t for t in texts):
            raise AmiError(f"refusing a line break in AMI header {key!r}", name)
        try:
            for text in texts:
                text.encode("utf-8")
        except UnicodeEncodeError:
            raise AmiError(f"refusing text that is not UTF-8 in AMI header {key!r}",
                           name) from None


def _lookup(action: Mapping[str, Value], key: str) -> str:
    for name, value in action.items():
        if name.lower() == key.lower():
            return value if isinstance(value, str) else ",".join(value)
    return ""


class AmiGateway:
    """One AMI login. ``async with AmiGateway(...) as ami:`` or ``connect()`` / ``close()``."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        action_timeout: float = 3.0,
        connect_timeout: float = 5.0,
        reconnect_delay: float = 1.0,
        ping_interval: float = 10.0,
        events: bool = True,
    ) -> None:
        """``events=False`` logs in with ``Events: off``: a controller that only sends actions
        should not parse the ~90 events Asterisk would push per call."""
        self._events = events
        self._address = (host, port)
        self._credentials = (username, secret)
        self._action_timeout = action_timeout
        self._connect_timeout = connect_timeout
        self._reconnect_delay = reconnect_delay
        self._ping_interval = ping_interval
        self._manager: StoppableManager | None = None
        self._probing: Any = None  # the connection a liveness Ping is out for (one at a time)
        self._logged_in = asyncio.Event()
        self._first_login: asyncio.Future[None] | None = None
        self._pending: set[asyncio.Future[Any]] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._router = EventRouter(self._spawn)

    @property
    def connected(self) -> bool:
        """Logged in on a live socket (as far as we know: half-open sockets show up on use)."""
        return self._logged_in.is_set()

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- lifecycle --------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect and log in, or raise AmiError leaving nothing running. After a successful
        connect, lost connections are re-established in the background until close()."""
        if self._manager is not None:
            raise AmiError("already connected", "Login")
        loop = asyncio.get_running_loop()
        self._first_login = loop.create_future()
        (host, port), (username, secret) = self._address, self._credentials
        self._manager = StoppableManager(
            self._on_login_result, loop=loop, host=host, port=port, username=username,
            secret=secret,
            on_disconnect=self._on_disconnect, log=logging.getLogger("callrec.ami.panoramisk"),
            events="on" if self._events else "off",
        )
        # panoramisk int()s its reconnect_timeout option; the attribute itself takes a float.
        self._manager.reconnect_timeout = self._reconnect_delay
        self._manager.register_event("*", self._dispatch)
        try:
            async with asyncio.timeout(self._connect_timeout):
                connecting = self._manager.connect()
                assert connecting is not None  # not stopped: we just created it
                await connecting
                await self._first_login
            self._spawn(self._heartbeat(), "heartbeat")
        except (OSError, AmiError) as exc:  # TimeoutError is an OSError
            await self.close()
            if isinstance(exc, AmiError):
                raise
            raise AmiError(f"cannot log in to {host}:{port}: {exc!r}", "Login") from None

    async def close(self) -> None:
        """Log off the socket and stop reconnecting. Pending actions fail with AmiError."""
        self._logged_in.clear()
        manager, self._manager = self._manager, None
        if manager is not None:
            manager.stopped = True
            manager.close()
        self._fail_pending("AMI gateway closed")  # may have been carried out: unknown
        self._router.cancel_waiters()
        for task in list(self._tasks):
            task.cancel()
        if self._first_login is not None and not self._first_login.done():
            self._first_login.cancel()

    async def wait_answering(self, timeout: float) -> bool:
        """Until Asterisk answers a Ping, reconnecting meanwhile if it must; False after
        ``timeout`` seconds. WHY a Ping and not just "logged in": right after a timed-out action
        the gateway still believes a half-open socket is up; the unanswered Ping drops it."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    await self._logged_in.wait()
                    manager = self._manager
                    if manager is not None and await self._ping_or_drop(manager, manager.protocol):
                        return True
                    await asyncio.sleep(0.05)  # being replaced: let the reconnect get going
        except TimeoutError:
            return False

    def _on_login_result(self, ok: bool, message: str) -> None:
        first = self._first_login
        if ok:
            log.info("AMI logged in to %s:%s", *self._address)
            self._logged_in.set()
            if first is not None and not first.done():
                first.set_result(None)
        elif first is not None and not first.done():
            first.set_exception(AmiError(message or "login refused", "Login"))
        else:
            log.error("AMI login refused after reconnect: %s", message)

    def _on_disconnect(self, manager: Manager, exc: object) -> None:
        log.warning("AMI connection to %s:%s lost (%s); reconnecting", *self._address, exc)
        self._logged_in.clear()
        self._fail_pending("connection to Asterisk lost")
        manager.awaiting_actions.clear()  # never replay (see module docstring)

    def _fail_pending(self, reason: str) -> None:
        for future in list(self._pending):
            if not future.done():
                future.set_exception(AmiOutcomeUnknown(reason))
        self._pending.clear()

    # -- actions ----------------------------------------------------------------------------

    async def send(self, action: Mapping[str, Value], *, as_list: bool | None = None) -> list[AmiMessage]:
        """Send one action; its response first, then any events that belong to it.

        ``as_list=False`` completes on the first response (panoramisk otherwise guesses from the
        reply whether more messages follow). Raises AmiError on ``Response: Error``, on timeout
        and when not connected.
        """
        name = _lookup(action, "Action")
        _refuse_line_breaks(action, name)
        manager = self._manager
        if manager is None or not self._logged_in.is_set():
            raise AmiNotConnected("not connected to Asterisk", name)
        request = dict(action)
        if not _lookup(request, "ActionID"):
            request["ActionID"] = f"callrec-{uuid.uuid4().hex}"
        klass = actions.Command if _lookup(request, "Action").lower() == "command" else actions.Action
        outgoing = klass(request, as_list=as_list)
        future = manager.send_action(outgoing, as_list=as_list)
        self._pending.add(future)
        try:
            async with asyncio.timeout(self._action_timeout):
                result = await future
        except TimeoutError:
            self._forget(manager, outgoing)
            raise _NoResponse(f"no response within {self._action_timeout:g} s", name) from None
        except AmiError as exc:
            raise type(exc)(exc.message, name) from None  # the kind tells callers what to re-check
        finally:
            self._pending.discard(future)
        replies = [AmiMessage.from_panoramisk(m) for m in (result if isinstance(result, list) else [result])]
        if replies[0].text("Response") not in _SUCCESS:
            raise AmiError(_error_text(replies[0]), name)
        return replies

    def _forget(self, manager: Manager, action: actions.Action) -> None:
        """Drop a timed-out action from panoramisk's table and check the socket is alive."""
        protocol = manager.protocol
        if protocol is not None:
            for key in {action.id, action.action_id}:
                protocol.responses.pop(key, None)
        name = _lookup(action, "Action")
        # Several actions timing out on one dead socket need one probe, not one each (each would
        # drop the socket and say so again).
        if name.lower() != "ping" and self._probing is not protocol:
            self._probing = protocol
            self._spawn(self._probe(manager, protocol), f"probe after {name}")

    async def _heartbeat(self) -> None:
        """A Ping every ``ping_interval`` seconds, its answer checked: a connection that died while
        idle (no FIN: a cable, a firewall, a frozen Asterisk) is dropped and re-established
        before an action needs it, instead of costing that action its whole timeout."""
        while self._manager is not None:
            await asyncio.sleep(self._ping_interval)
            manager = self._manager
            protocol = manager.protocol if manager is not None else None
            if manager is None or protocol is None or not self.connected:
                continue  # panoramisk is reconnecting
            if self._probing is not protocol:
                self._probing = protocol
                await self._probe(manager, protocol)

    async def _probe(self, manager: Manager, protocol: Any) -> None:
        try:
            await self._ping_or_drop(manager, protocol)
        finally:
            if self._probing is protocol:
                self._probing = None

    async def _ping_or_drop(self, manager: Manager, protocol: Any) -> bool:
        """True if Asterisk answers a Ping; if it does not, the half-open socket is aborted, which
        starts panoramisk's reconnect."""
        try:
            await self.send({"Action": "Ping"})
            return True
        except _NoResponse:
            if manager.protocol is protocol and protocol is not None and not protocol.closed:
                log.error("AMI does not answer Ping: dropping the half-open socket to reconnect")
                protocol.transport.abort()
        except AmiError:
            pass  # already disconnected: panoramisk is reconnecting
        return False

    async def mixmonitor_start(self, channel: str, file: str, *, options: str = "") -> str | None:
        """Start MixMonitor on ``channel``. ``options`` is the complete MixMonitor option string,
        passed through untouched; include ``i(VARNAME)`` to get the MixMonitorID back (Asterisk
        only reports it then)."""
        action = {"Action": "MixMonitor", "Channel": channel, "File": file}
        if options:
            action["Options"] = options
        replies = await self.send(action)
        return replies[0].text("MixMonitorID") or None

    async def mixmonitor_stop(self, channel: str, mixmonitor_id: str | None = None) -> None:
        """Stop one MixMonitor (by ID) or all MixMonitors on ``channel``."""
        action = {"Action": "StopMixMonitor", "Channel": channel}
        if mixmonitor_id:
            action["MixMonitorID"] = mixmonitor_id
        await self.send(action)

    async def getvar(self, channel: str, variable: str) -> str:
        """A channel variable or function ("" when unset: AMI cannot tell unset from empty)."""
        replies = await self.send({"Action": "Getvar", "Channel": channel, "Variable": variable})
        return replies[0].text("Value")

    async def setvar(self, channel: str, variable: str, value: str) -> None:
        await self.send({"Action": "Setvar", "Channel": channel, "Variable": variable, "Value": value})

    async def originate(
        self,
        channel: str,
        *,
        context: str | None = None,
        exten: str | None = None,
        priority: int = 1,
        application: str | None = None,
        data: str | None = None,
        variables: Mapping[str, str] | None = None,
        caller_id: str | None = None,
        timeout_ms: int = 30000,
        action_id: str | None = None,
        channel_id: str | None = None,
    ) -> str:
        """Queue an asynchronous Originate and return its ActionID.

        With ``Async: true`` Asterisk answers "Originate successfully queued" at once; the
        outcome arrives later as an ``OriginateResponse`` event carrying the same ActionID. To
        see it, call ``expect_event("OriginateResponse", ...)`` *before* originating, with your
        own ``action_id``: a fast failure can arrive in the same packet as the response.
        """
        if (application is None) == (context is None or exten is None):
            raise ValueError("originate needs either application or context+exten")
        action: dict[str, Value] = {
            "Action": "Originate", "Channel": channel, "Async": "true",
            "Timeout": str(timeout_ms), "ActionID": action_id or f"callrec-{uuid.uuid4().hex}",
        }
        if application is not None:
            action.update({"Application": application, "Data": data or ""})
        else:
            action.update({"Context": context or "", "Exten": exten or "", "Priority": str(priority)})
        if caller_id:
            action["CallerID"] = caller_id
        if channel_id:
            action["ChannelId"] = channel_id
        if variables:
            action["Variable"] = [f"{key}={value}" for key, value in variables.items()]
        # as_list=False: complete on the immediate response, not on the OriginateResponse.
        await self.send(action, as_list=False)
        return str(action["ActionID"])

    async def command(self, cli: str) -> str:
        """Run a CLI command and return its output."""
        reply = (await self.send({"Action": "Command", "Command": cli}))[0]
        # Asterisk >= 14 returns the output as Output: headers; older ones as a body.
        return reply.text("Output") or reply.text("content")

    async def hangup(self, channel: str, cause: int | None = None) -> None:
        action = {"Action": "Hangup", "Channel": channel}
        if cause is not None:
            action["Cause"] = str(cause)
        await self.send(action)

    # -- events (routing.py) ------------------------------------------------------------------

    def on_event(self, pattern: str, callback: EventCallback) -> None:
        self._router.on_event(pattern, callback)

    def expect_event(self, pattern: str,
                     predicate: Predicate | None = None) -> asyncio.Future[AmiMessage]:
        return self._router.expect_event(pattern, predicate)

    async def wait_event(self, pattern: str, predicate: Predicate | None = None,
                         timeout: float = 5.0) -> AmiMessage:
        return await self._router.wait_event(pattern, predicate, timeout)

    def _dispatch(self, manager: Manager, message: Message) -> None:
        # Called synchronously from panoramisk's data_received: must never raise.
        self._router.dispatch(AmiMessage.from_panoramisk(message))

    def _spawn(self, coro: Awaitable[None], what: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(f"ami: {what}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
