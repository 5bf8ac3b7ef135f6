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
DEMO_DIR = Path("/var/tmp/callrec/demo")
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


def run_cli(*args: str, user: str = "root", check: bool = True) -> str:
    """Run `callrec` as `user` (CALLREC_ACTING_USER), echo it like a terminal, return its stdout."""
    print(f"[{user}]$ callrec {' '.join(args)}", flush=True)
    done = subprocess.run([CALLREC, *args], env={**ENV, "CALLREC_ACTING_USER": user},
                          capture_output=True, text=True)
    print(done.stdout + done.stderr, end="", flush=True)
    if check and done.returncode != 0:
        raise SystemExit(f"demo: callrec {args[0]} {args[1] if len(args) > 1 else ''} failed")
    return done.stdout


def operations(call_id: str, recording_id: str) -> None:
    """What operations staff do next, under approval and audit (see README, Operations)."""
    out = DEMO_DIR
    out.mkdir(parents=True, exist_ok=True)
    step("people: an admin, a viewer who serves the client, an approver, an auditor")
    for name, role in (("root", "admin"), ("olivia", "viewer"), ("amos", "approver"),
                       ("aud", "auditor")):
        run_cli("users", "add", name, "--role", role, check=False)  # already there on a re-run
    step("find the recording, ask for it, get it approved by someone else")
    run_cli("recordings", "list", "--call", call_id, user="olivia")
    request = run_cli("access", "request", recording_id, "--reason",
                      "client asked for a copy of their call", user="olivia").split()[1]
    run_cli("access", "approve", request, user="amos")
    step("fetch: only under the live grant, SHA-256 verified before the copy is written")
    run_cli("recordings", "fetch", recording_id, "-o", str(out / f"{recording_id}.wav"), "--force",
            user="olivia")
    step("release a copy to the client: holds cut, reviewed in full, recorded against the request")
    run_cli("release", "create", recording_id, "--request-ref", f"DEMO-{int(time.time())}",
            "--reviewed", "-o", str(out / f"release-{int(time.time())}.mp3"), user="olivia")
    step("the call as a picture: phases, the recorded span, the waveform")
    run_cli("calls", "timeline", call_id, "-o", str(out / "call.png"), user="olivia")
    print(f"timeline picture: {out / 'call.png'} (its data: {out / 'call.png.json'})")
    step("the audit trail of all of the above, and its hash chain checked")
    run_cli("audit", "list", "--limit", "8", user="aud", check=False)
    run_cli("audit", "verify", user="aud")


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
    step("what is in the recording (FFT over the file)")
    for rec in detail.recordings if detail else ():
        found = tones_present(Path(rec.file_mix), TONES)
        print(f"{Path(rec.file_mix).name}: {', '.join(TONES[f] for f in sorted(found)) or 'speech'}"
              f"; DTMF: {'yes' if dtmf_present(Path(rec.file_mix)) else 'none'}")
        print(f"  stereo copy (caller left, agent right): {rec.file_stereo}")
    if detail and detail.recordings:
        operations(call_id, str(detail.recordings[0].id))
    print("\nOnly the agent's conversation was recorded; the announcement, number entry and music"
          " on hold were not.")


if __name__ == "__main__":
    asyncio.run(main())
