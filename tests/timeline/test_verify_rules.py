"""`check_recording`, the pure rule behind `callrec verify`, as a table: one recording, its agent
leg and what was found on disk -> the findings (codes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callrec.audio import FileFacts
from callrec.timeline import FileObservation, check_recording
from tests.timeline.values import at, leg, ms, recording

SHA = "a" * 64


def facts(**changes: Any) -> FileFacts:
    base = {"path": Path("/spool/r.wav"), "frames": 359_920, "samplerate": 8000, "channels": 1,
            "duration_ms": 44_990, "bytes": 719_884, "sha256": SHA}
    return FileFacts(**{**base, **changes})


def seen(silent: bool = False, **changes: Any) -> FileObservation:
    return FileObservation("/spool/r.wav", facts(**changes), silent)


GOOD = seen()


@pytest.mark.parametrize(
    ("case", "rec", "agent", "file", "codes"),
    [
        ("consistent", {}, {}, GOOD, []),
        ("starts exactly one frame before the join", {"started_at": at(15) - ms(20)}, {}, GOOD,
         []),
        ("starts more than a frame before the join", {"started_at": at(15) - ms(21)}, {}, GOOD,
         ["started_before_agent_joined"]),
        ("stop request one frame after leaving", {"stop_requested_at": at(60) + ms(20),
                                                  "stopped_at": at(60) + ms(20)}, {}, GOOD, []),
        ("stopped after the agent left", {"stop_requested_at": at(60) + ms(25),
                                          "stopped_at": at(60) + ms(40)}, {}, GOOD,
         ["stopped_after_agent_left"]),
        ("the stop request counts, not the later sealing", {"stopped_at": at(61)}, {}, GOOD, []),
        ("only a stop time, late", {"stop_requested_at": None, "stopped_at": at(60.1)}, {}, GOOD,
         ["stopped_after_agent_left"]),
        ("no stop time at all", {"stop_requested_at": None, "stopped_at": None}, {}, GOOD,
         ["no_stop_time"]),
        ("longer than the bridge", {"duration_ms": 45_021}, {}, seen(duration_ms=45_021),
         ["longer_than_bridge"]),
        ("exactly one frame longer than the bridge", {"duration_ms": 45_020}, {},
         seen(duration_ms=45_020), []),
        ("agent never joined", {}, {"joined_at": None}, GOOD, ["agent_never_joined"]),
        ("agent leaving unknown on a sealed recording", {}, {"left_at": None}, GOOD,
         ["agent_leave_unknown"]),
        ("file missing", {}, {}, FileObservation("/spool/r.wav", None, None, "missing"),
         ["file_missing"]),
        ("no observation at all", {}, {}, None, ["file_missing"]),
        ("file empty", {}, {}, FileObservation("/spool/r.wav", None, None, "empty"),
         ["file_empty"]),
        ("file unreadable", {}, {}, FileObservation("/spool/r.wav", None, None, "unreadable",
                                                    "not a RIFF/WAVE file"),
         ["file_unreadable"]),
        ("header only: no audio", {"duration_ms": 0}, {}, seen(frames=0, duration_ms=0),
         ["file_empty"]),
        ("silent", {}, {}, seen(silent=True), ["file_silent"]),
        ("hash mismatch", {}, {}, seen(sha256="b" * 64), ["hash_mismatch"]),
        ("no fingerprint", {"sha256": None, "status": "incomplete"}, {}, GOOD,
         ["incomplete", "no_fingerprint"]),
        ("duration differs from the stored one", {}, {}, seen(duration_ms=44_000),
         ["duration_mismatch"]),
        ("failed: the status is the finding, no file expected", {"status": "failed",
                                                                 "sha256": None}, {},
         FileObservation("/spool/r.wav", None, None, "missing"), ["failed"]),
        ("interrupted", {"status": "interrupted"}, {}, GOOD, ["interrupted"]),
        ("stuck open after the agent left", {"status": "stopping"}, {}, GOOD,
         ["not_finalised"]),
        ("several at once", {"started_at": at(14), "stop_requested_at": at(61),
                             "stopped_at": at(61)}, {}, seen(silent=True, sha256="c" * 64),
         ["started_before_agent_joined", "stopped_after_agent_left", "file_silent",
          "hash_mismatch"]),
    ],
)
def test_findings(case: str, rec: dict[str, Any], agent: dict[str, Any],
                  file: FileObservation | None, codes: list[str]) -> None:
    r = recording(**rec)
    findings = check_recording(r, leg(**agent), file)
    assert [f.code for f in findings] == codes, case
    assert all(f.recording_id == r.id and f.call_id == r.call_id and f.message
               for f in findings)


def test_no_agent_leg_is_a_finding() -> None:
    assert [f.code for f in check_recording(recording(agent_leg_id=None), None, GOOD)] == [
        "no_agent_leg"]


@pytest.mark.parametrize("status", ["recording", "stopping", "finalising"])
def test_a_recording_in_progress_is_not_judged_yet(status: str) -> None:
    rec = recording(status=status, stop_requested_at=None, stopped_at=None, sha256=None,
                    duration_ms=None)
    assert check_recording(rec, leg(left_at=None), None) == []


def test_a_purged_recording_is_skipped() -> None:
    assert check_recording(recording(status="purged"), leg(), None) == []


def test_messages_say_by_how_much() -> None:
    [finding] = check_recording(recording(started_at=at(15) - ms(250)), leg(), GOOD)
    assert finding.message == "started 250 ms before alice joined"
