"""`make demo`: one complete inbound call and two outbound calls through the sandbox, shown through
the callrec CLI.

Inbound: the caller hears the recording announcement, keys in a client number, waits with music on
hold while the first agent's phone rings out, the second agent answers and talks, then
blind-transfers the caller (SIP REFER) to another number. Recording covers exactly the second
agent's time in the bridge.

Outbound: the dialer (inside `callrec serve`) brings an agent in, calls a client who answers (the
recording opens with the spoken disclosure, the agent muted until it ends), then an answering
machine (AMD says MACHINE: the first attempt's voicemail script is left, nothing is recorded).
Both are checked: the demo exits non-zero when the recording does not open with the configured
disclosure (found by correlation with the file rendered from [dialer] disclosure_text, which the
proof must cite), the agent is heard before it ended, or the machine got no script.

Assumes the sandbox is up (`make demo` runs `scripts/sandbox.sh up` first).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import aiohttp
import soundfile as sf

from callrec.ami import AmiGateway
from callrec.ari import basic_authorization
from callrec.audio import dtmf_present, tones_present
from callrec.audio.correlate import locate
from callrec.audio.stereo import AGENT as AGENT_CHANNEL
from callrec.config import load
from callrec.dialer.prompts import resolve_disclosure
from callrec.dialer.settings import DialerConfig
from callrec.dialer.store import DialStore
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
# The dialer's settings for the demo: enabled, and a business unit that may call around the clock
# (the real default is weekdays 08:00-20:00 Pacific/Auckland), one attempt shown per client.
DEMO_CONFIG = DEMO_DIR / "callrec.toml"
DIALER_TOML = """\
[dialer]
enabled = true
max_concurrent = 1
retry_minutes = 30
poll_seconds = 1
ring_seconds = 15

[dialer.business_units.default]
timezone = "UTC"
caller_id = "0800559009"

[dialer.business_units.default.hours]
daily = "00:00-24:00"
"""
OUTBOUND_AGENT = ("kiri", "PJSIP/agent3/sip:agent-stay@127.0.0.1:5070")  # answers, stays
SOUNDS = Path("/var/tmp/callrec/rootfs/usr/share/asterisk/sounds")  # Asterisk's "sound:" media
SILENCE = 10 ** (-50 / 20)  # callrec.audio.analysis.SILENCE_DBFS, as a sample amplitude
ENV = {**os.environ, "CALLREC_CONFIG": str(DEMO_CONFIG), "CALLREC_INBOUND_RING_TIMEOUT": "4",
       "CALLREC_INBOUND_ANNOUNCEMENT": "sound:callrec/announcement",
       "CALLREC_INBOUND_CLIENT_NUMBER_PROMPT": "sound:callrec/enter-client-number"}


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run_cli(*args: str, user: str = "root", check: bool = True) -> str:
    """Run `callrec` as `user` (CALLREC_ACTING_USER), echo it like a terminal, return its stdout."""
    print(f"[{user}]$ callrec {' '.join(args)}", flush=True)
    done = subprocess.run([CALLREC, *args], env={**ENV, "CALLREC_ACTING_USER": user},
                          capture_output=True, text=True, check=False)
    print(done.stdout + done.stderr, end="", flush=True)
    if check and done.returncode != 0:
        raise SystemExit(f"demo: callrec {args[0]} {args[1] if len(args) > 1 else ''} failed")
    return done.stdout


def operations(call_id: str, recording_id: str) -> None:
    """What operations staff do next, under approval and audit (see README, Operations)."""
    out = DEMO_DIR
    out.mkdir(parents=True, exist_ok=True)
    step("people: an admin, a viewer who serves the client, an approver, an auditor")
    done = subprocess.run([CALLREC, "users", "list", "--json"], env=ENV, capture_output=True,
                          text=True, check=False)
    known = {u["name"] for u in json.loads(done.stdout or "[]")} if done.returncode == 0 else set()
    for name, role in (("root", "admin"), ("olivia", "viewer"), ("amos", "approver"),
                       ("aud", "auditor")):
        if name not in known:  # a re-run of the demo finds them there
            run_cli("users", "add", name, "--role", role)
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


async def wait_for_app(url: str, authorization: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(headers={"Authorization": authorization}) as http:
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


def add_task(number: str, ref: str, *extra: str) -> str:
    out = run_cli("dial", "add", "--number", number, "--client-ref", ref, "--agent",
                  OUTBOUND_AGENT[0], *extra, "--json")
    return str(json.loads(out)["id"])


async def wait_for_attempt(store: Store, task_id: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ended = await store.database.fetch_value(
            "demo: attempts", "SELECT count(*) FROM dial_attempts WHERE task_id = %s "
            "AND ended_at IS NOT NULL", (task_id,))
        if ended:
            return
        await asyncio.sleep(0.5)
    raise SystemExit(f"demo: no attempt on task {task_id} ended within {timeout:.0f} s")


@dataclass(frozen=True)
class Outbound:
    """What the two outbound tasks left behind, as the database has it (checked in the end)."""

    person: str
    machine: str
    answered: str | None  # the person's attempt outcome
    proof: tuple[str, str | None, str | None] | None  # disclosure row: prompt, text, outcome
    mix: str | None
    stereo: str | None
    left: str | None  # the machine's attempt outcome
    script: tuple[str | None, str | None]  # script kind and prompt left on the machine


async def outbound(store: Store) -> Outbound:
    """The dialer calls a person, then an answering machine (phones' +6421 01/02 numbers)."""
    step("outbound: the dialer calls a client who answers, then one whose machine answers")
    run_cli("agents", "add", *OUTBOUND_AGENT, check=False)
    suffix = f"{int(time.time()) % 100000:05d}"
    person = add_task(f"+642101{suffix}", f"DEMO-P{suffix}")
    await wait_for_attempt(store, person)
    machine = add_task(f"+642102{suffix}", f"DEMO-M{suffix}", "--voicemail", "identifies_client")
    await wait_for_attempt(store, machine)
    dials = DialStore(store.database)
    answered, voicemail = await dials.get(UUID(person)), await dials.get(UUID(machine))
    if answered is None or voicemail is None or not answered.attempts or not voicemail.attempts:
        raise SystemExit("demo: the dialer's tasks or their attempts are missing")
    hello, tape = answered.attempts[0], voicemail.attempts[0]
    detail = await store.get_call(hello.call_id) if hello.call_id else None
    recording = detail.recordings[0] if detail and detail.recordings else None
    proofs = await store.database.fetch_dicts(
        "demo: the disclosure's proof", "SELECT prompt, text, outcome FROM announcements "
        "WHERE call_id = %s AND kind = 'outbound_disclosure'", (hello.call_id,))
    proof = (proofs[0]["prompt"], proofs[0]["text"], proofs[0]["outcome"]) if proofs else None
    return Outbound(person, machine, hello.outcome, proof,
                    recording.file_mix if recording else None,
                    recording.file_stereo if recording else None,
                    tape.outcome, (tape.script_kind, tape.prompt))


def show_outbound(done: Outbound, dialer: DialerConfig) -> None:
    step("the answered call: attempt, AMD verdict, the disclosure's proof, the recording")
    run_cli("dial", "show", done.person)
    run_cli("recordings", "list", "--direction", "outbound", "--limit", "1")
    check_disclosure(done, dialer)
    step("the answering machine: the script left on attempt 1, nothing recorded")
    run_cli("dial", "show", done.machine)
    run_cli("dial", "cancel", done.machine, "--reason", "demo over")
    kind, prompt = done.script
    if done.left != "machine_voicemail_left" or not kind or not prompt:
        raise SystemExit(f"demo: the answering machine got no voicemail script (attempt "
                         f"outcome {done.left}, script {kind}, prompt {prompt})")
    if not played(prompt).is_file():
        raise SystemExit(f"demo: the voicemail script {prompt} left no file at {played(prompt)}")
    print(f"voicemail script {kind!r} left on the machine's tape: {prompt}")


def played(media: str) -> Path:
    """The sandbox file Asterisk plays for a "sound:" media name."""
    return SOUNDS / f"{media.removeprefix('sound:')}.wav"


def check_disclosure(done: Outbound, dialer: DialerConfig) -> None:
    """The recording opens with the disclosure the dialer was configured with, the proof cites
    it, and the agent's side of the file is silent until it ended: else the demo fails."""
    if done.answered != "answered_human":
        raise SystemExit(f"demo: the client's call was not answered by a person ({done.answered})")
    if done.mix is None:
        raise SystemExit("demo: the answered outbound call left no recording")
    # What `callrec serve` resolved at start-up (the file exists: only a stat() now).
    expected = resolve_disclosure(dialer)
    if done.proof is None:
        raise SystemExit("demo: the answered call has no disclosure proof (announcements row)")
    prompt, text, outcome = done.proof
    if (prompt, text, outcome) != (expected.disclosure_prompt, expected.disclosure_text,
                                   "finished"):
        raise SystemExit(f"demo: the disclosure's proof {done.proof} is not the configured "
                         f"{expected.disclosure_prompt} ({expected.disclosure_text!r}), finished")
    found = locate(done.mix, played(prompt), exclude_hz=[550.0, 1300.0])
    if found.score <= 0.6 or found.offset_s >= 0.5:
        raise SystemExit(f"demo: the recording does not open with the disclosure {prompt}: best "
                         f"match {found.offset_s:.2f} s in, correlation {found.score:.2f} "
                         f"(need > 0.60 within 0.50 s)")
    told = found.offset_s + found.prompt_s
    if done.stereo is None:
        raise SystemExit("demo: no stereo file: the agent's side cannot be checked")
    audio, rate = sf.read(done.stereo, dtype="float64", always_2d=True)
    # 60 ms: the unmute follows PlaybackFinished by up to a few 20 ms frames (tests/e2e).
    before = audio[: max(0, int((told - 0.06) * rate)), AGENT_CHANNEL]
    if before.size and abs(before).max() >= SILENCE:
        at = int((abs(before) >= SILENCE).argmax()) / rate
        raise SystemExit(f"demo: the agent is in the recording at {at:.2f} s, before the "
                         f"disclosure ended at {told:.2f} s")
    print(f"disclosure {prompt} found {found.offset_s:.2f} s into the recording (correlation "
          f"{found.score:.2f}), its proof cites {text!r}; the agent's side of the recording is "
          f"silent until it ended at {told:.2f} s")


async def main() -> None:
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    DEMO_CONFIG.write_text(DIALER_TOML)
    os.environ["CALLREC_CONFIG"] = str(DEMO_CONFIG)
    config = load()
    a = config.asterisk
    step("starting the controller: callrec serve")
    # Popen returns at once (it never waits for the child); the demo keeps the handle to signal it.
    serve = subprocess.Popen([CALLREC, "-v", "serve"], env=ENV, cwd=ROOT)  # noqa: ASYNC220
    try:
        await wait_for_app(a.ari_url, basic_authorization(a.ari_user, a.ari_password))
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
            done = await outbound(store)
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
    show_outbound(done, config.dialer)
    if detail and detail.recordings:
        operations(call_id, str(detail.recordings[0].id))
    print("\nOnly the agent's conversation was recorded; the announcement, number entry and music"
          " on hold were not.")


if __name__ == "__main__":
    asyncio.run(main())
