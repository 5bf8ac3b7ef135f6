"""`make demo`: one complete inbound call through the sandbox, shown through the callrec CLI.

The caller hears the recording announcement, keys in a client number, waits with music on hold while
the first agent's phone rings out, the second agent answers and talks, then blind-transfers the caller
(SIP REFER) to another number. Recording covers exactly the second agent's time in the bridge.

Assumes the sandbox is up (`make demo` runs `scripts/sandbox.sh up` first).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from callrec.ami import AmiGateway
from callrec.audio import dtmf_present, tones_present
from callrec.config import load
from callrec.store import Store

ROOT = Path(__file__).resolve().parent.parent
CALLREC = str(Path(sys.executable).with_name("callrec"))
AGENTS = {  # listed in name order: the controller offers calls to free agents in that order
    "amy": "PJSIP/agent1/sip:agent-noanswer@127.0.0.1:5070",  # rings, never answers
    "zoe": "PJSIP/agent2/sip:agent-blind@127.0.0.1:5070",  # answers, talks 3 s, blind-transfers
}
TONES = {400.0: "caller", 550.0: "agent", 2400.0: "transfer target", 1800.0: "music on hold",
         2800.0: "IVR prompt"}
ENV = {**os.environ, "CALLREC_INBOUND_RING_TIMEOUT": "4",
       "CALLREC_INBOUND_ANNOUNCEMENT": "sound:callrec/announcement",
       "CALLREC_INBOUND_CLIENT_NUMBER_PROMPT": "sound:callrec/enter-client-number"}


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run_cli(*args: str) -> None:
    print(f"$ callrec {' '.join(args)}", flush=True)
    subprocess.run([CALLREC, *args], check=True, env=ENV)


async def wait_for_app(url: str, auth: aiohttp.BasicAuth, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(auth=auth) as http:
        while time.monotonic() < deadline:
            try:
                async with http.get(f"{url}/ari/applications/callrec") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("demo: the controller did not register its ARI application in time")


async def place_call() -> str:
    number = f"6{int(time.time()) % 10_000_000:07d}"
    async with AmiGateway("127.0.0.1", 5039, "phones", "phones") as phones:
        # The caller waits 9 s (announcement + prompt) before keying, then talks for 25 s.
        await phones.originate("PJSIP/0800100@pbx", context="caller", exten="s",
                               variables={"PRE": "9", "DIGITS": "482913#", "STAY": "25"},
                               caller_id=f'"Demo caller" <{number}>')
    return number


async def wait_for_call(store: Store, number: str, timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        calls = [c for c in await store.list_calls(limit=20) if c.caller_number == number]
        if calls and calls[0].ended_at is not None:
            detail = await store.get_call(calls[0].id)
            if detail and all(r.status in ("complete", "incomplete", "failed")
                              for r in detail.recordings):
                return str(calls[0].id)
        await asyncio.sleep(0.5)
    raise SystemExit(f"demo: the call from {number} did not finish within {timeout:.0f} s")


async def main() -> None:
    config = load()
    a = config.asterisk
    step("starting the controller: callrec serve")
    serve = subprocess.Popen([CALLREC, "-v", "serve"], env=ENV, cwd=ROOT)
    try:
        await wait_for_app(a.ari_url, aiohttp.BasicAuth(a.ari_user, a.ari_password))
        step("agent pool")
        async with await Store.open(config.database.dsn) as store:
            for existing in await store.list_agents():
                await store.remove_agent(existing.name)
        for name, dial in AGENTS.items():
            run_cli("agents", "add", name, dial)
        run_cli("agents", "list")
        step("a client calls the contact centre (watch the controller's log above)")
        number = await place_call()
        async with await Store.open(config.database.dsn) as store:
            call_id = await wait_for_call(store, number)
            detail = await store.get_call(call_id)  # type: ignore[arg-type]
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=30)
    step("the call, its timeline and its recording")
    run_cli("calls", "show", call_id)
    run_cli("recordings", "list", "--call", call_id)
    step("what is in the recording (FFT over the file)")
    for rec in detail.recordings if detail else ():
        found = tones_present(Path(rec.file_mix), TONES)
        print(f"{Path(rec.file_mix).name}: {', '.join(TONES[f] for f in sorted(found))}; "
              f"DTMF: {'yes' if dtmf_present(Path(rec.file_mix)) else 'none'}")
        print(f"  stereo copy (caller left, agent right): {rec.file_stereo}")
    print("\nThe demo call's speech prompts are the real espeak-ng announcement; only the agent's"
          " conversation was recorded.")


if __name__ == "__main__":
    asyncio.run(main())
