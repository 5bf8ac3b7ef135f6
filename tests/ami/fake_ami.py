"""A tiny fake Asterisk Manager Interface server (asyncio TCP) for unit-testing AmiGateway.

It speaks the AMI wire format (``Key: Value`` lines, a blank line ends a message), checks the
login, answers a handful of actions the way Asterisk 22 does, and can be told to go silent
(half-open), drop every connection, emit events, or carry out an action and die before answering it
(``lose_reply_to``: the connection drops with the action in flight).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

EOL = "\r\n"
Action = dict[str, str | list[str]]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def render(headers: Action) -> bytes:
    lines: list[str] = []
    for key, value in headers.items():
        lines.extend(f"{key}: {item}" for item in (value if isinstance(value, list) else [value]))
    return (EOL.join(lines) + EOL + EOL).encode()


def parse(block: str) -> Action:
    action: Action = {}
    for line in block.split(EOL):
        key, _, value = line.partition(": ")
        if key in action:
            previous = action[key]
            action[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            action[key] = value
    return action


@dataclass
class FakeAmi:
    username: str = "callrec"
    secret: str = "callrec"
    port: int = field(default_factory=free_port)
    channel_vars: dict[str, dict[str, str]] = field(default_factory=dict)
    silent: bool = False
    originate_outcome_delay: float = 0.0
    actions: list[Action] = field(default_factory=list)
    connections: int = 0
    lose_reply_to: set[str] = field(default_factory=set)  # action names (lower case), once each
    monitors: dict[str, str] = field(default_factory=dict)  # running MixMonitor ID -> channel
    _monitor_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(0x7f3c2c001234))
    _writers: list[asyncio.StreamWriter] = field(default_factory=list)
    _half_open: set[asyncio.StreamWriter] = field(default_factory=set)

    def received(self, name: str) -> list[Action]:
        return [a for a in self.actions if str(a.get("Action", "")).lower() == name.lower()]

    def half_open(self) -> None:
        """The current connections go silent for good (peer gone, no FIN); new ones work."""
        self._half_open.update(self._writers)

    def drop_all(self) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._writers.clear()

    def emit(self, event: Action) -> None:
        for writer in self._writers:
            writer.write(render(event))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        writer.write(b"Asterisk Call Manager/9.0.0" + EOL.encode())
        try:
            while True:
                raw = await reader.readuntil((EOL + EOL).encode())
                action = parse(raw.decode().strip())
                self.actions.append(action)
                name = str(action.get("Action", "")).lower()
                if name in self.lose_reply_to:
                    self.lose_reply_to.discard(name)
                    self.answer(action)  # carried out...
                    writer.transport.abort()  # ...but the answer never leaves
                    return
                if not self.silent and writer not in self._half_open:
                    for message in self.answer(action):
                        writer.write(render(message))
                if action.get("Action") == "Login" and not self._authenticated(action):
                    writer.close()  # Asterisk drops the session after a refused login
                    return
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            if writer in self._writers:
                self._writers.remove(writer)
            writer.close()

    def _authenticated(self, action: Action) -> bool:
        return (action.get("Username"), action.get("Secret")) == (self.username, self.secret)

    def answer(self, action: Action) -> list[Action]:
        """What Asterisk 22 would send back (responses echo the ActionID)."""
        name = str(action.get("Action", "")).lower()
        reply = getattr(self, f"_on_{name}", self._on_unknown)(action)
        action_id = action.get("ActionID")
        if action_id is not None:
            reply[0] = {"Response": reply[0].pop("Response"), "ActionID": action_id} | reply[0]
        return reply

    def _on_login(self, action: Action) -> list[Action]:
        if not self._authenticated(action):
            return [{"Response": "Error", "Message": "Authentication failed"}]
        return [
            {"Response": "Success", "Message": "Authentication accepted"},
            {"Event": "FullyBooted", "Privilege": "system,all", "Uptime": "10", "Status": "Fully Booted"},
        ]

    def _on_ping(self, action: Action) -> list[Action]:
        return [{"Response": "Success", "Ping": "Pong", "Timestamp": "1714564800.000000"}]

    def _on_getvar(self, action: Action) -> list[Action]:
        channel = str(action.get("Channel"))
        if channel not in self.channel_vars:
            return [{"Response": "Error", "Message": "No such channel"}]
        variable = str(action.get("Variable"))
        return [{"Response": "Success", "Variable": variable,
                 "Value": self.channel_vars[channel].get(variable, "")}]

    def _on_setvar(self, action: Action) -> list[Action]:
        channel = str(action.get("Channel"))
        if channel not in self.channel_vars:
            return [{"Response": "Error", "Message": "No such channel"}]
        self.channel_vars[channel][str(action["Variable"])] = str(action["Value"])
        return [{"Response": "Success", "Message": "Variable Set"}]

    def _on_mixmonitor(self, action: Action) -> list[Action]:
        channel = str(action.get("Channel"))
        if channel not in self.channel_vars:
            return [{"Response": "Error", "Message": "No such channel"}]
        # Like app_mixmonitor: MIXMONITOR_FILENAME names the file, i(VAR) stores the new ID.
        monitor_id = f"{next(self._monitor_ids):#x}"
        self.monitors[monitor_id] = channel
        self.channel_vars[channel]["MIXMONITOR_FILENAME"] = str(action.get("File"))
        reply: Action = {"Response": "Success"}
        if found := re.search(r"i\((\w+)\)", str(action.get("Options", ""))):
            self.channel_vars[channel][found.group(1)] = monitor_id
            reply["MixMonitorID"] = monitor_id
        return [reply]

    def _on_stopmixmonitor(self, action: Action) -> list[Action]:
        monitor_id = action.get("MixMonitorID")
        if monitor_id is None:
            channel = str(action.get("Channel"))
            self.monitors = {k: v for k, v in self.monitors.items() if v != channel}
        elif self.monitors.pop(str(monitor_id), None) is None:
            return [{"Response": "Error", "Message": "Could not stop specified MixMonitor"}]
        return [{"Response": "Success", "Message": "Stopped MixMonitor"}]

    def _on_hangup(self, action: Action) -> list[Action]:
        return [{"Response": "Success", "Message": "Channel Hungup"}]

    def _on_command(self, action: Action) -> list[Action]:
        if action.get("Command") == "core show version":
            return [{"Response": "Success", "Message": "Command output follows",
                     "Output": "Asterisk 22.10.1 built by fake"}]
        return [{"Response": "Error", "Message": "Command output follows",
                 "Output": f"No such command '{action.get('Command')}'"}]

    def _on_originate(self, action: Action) -> list[Action]:
        # Async: the response comes at once, the outcome later as an OriginateResponse event.
        # With no delay it goes out in the very same packet: the worst case for a client that
        # registers its waiter late.
        outcome: Action = {"Event": "OriginateResponse", "ActionID": action.get("ActionID", ""),
                           "Response": "Failure", "Channel": str(action.get("Channel")),
                           "Reason": "0", "Uniqueid": "<null>"}
        if self.originate_outcome_delay:
            asyncio.get_running_loop().call_later(self.originate_outcome_delay, self.emit, outcome)
            return [{"Response": "Success", "Message": "Originate successfully queued"}]
        return [{"Response": "Success", "Message": "Originate successfully queued"}, outcome]

    def _on_unknown(self, action: Action) -> list[Action]:
        return [{"Response": "Error", "Message": "Invalid/unknown command"}]


@asynccontextmanager
async def running(fake: FakeAmi) -> AsyncIterator[FakeAmi]:
    server = await asyncio.start_server(fake.handle, "127.0.0.1", fake.port)
    try:
        yield fake
    finally:
        server.close()
        fake.drop_all()
        await server.wait_closed()
