"""The timeline model built from a call's evidence (pure: no database, no files)."""

from __future__ import annotations

import uuid

import pytest

from callrec.store import Announcement, CallDetail, CallEvent, Hold, Transfer
from callrec.timeline import Marker, Span, build_timeline
from tests.timeline.values import CALL_ID, LEG_ID, at, call, leg, recording


def events(*phases: tuple[str, float]) -> tuple[CallEvent, ...]:
    return tuple(CallEvent(i, CALL_ID, at(t), f"phase:{p}", {}) for i, (p, t) in
                 enumerate(phases))


def detail(evs: tuple[CallEvent, ...], **parts: object) -> CallDetail:
    base: dict[str, object] = {"call": call(), "events": evs, "legs": (leg(),),
                               "recordings": (recording(),), "holds": (), "announcements": (),
                               "transfers": ()}
    return CallDetail(**{**base, **parts})  # type: ignore[arg-type]


STANDARD = events(("announcing", 0), ("identifying", 4), ("waiting", 9), ("connected", 15),
                  ("ended", 60))


def test_phases_follow_each_other_and_end_is_a_moment_not_a_span() -> None:
    model = build_timeline(detail(STANDARD))
    assert model.phases == (Span("announcing", 0, 4), Span("identifying", 4, 9),
                            Span("waiting", 9, 15), Span("connected", 15, 60))
    assert model.end_s == 60


def test_recorded_span_runs_from_start_to_the_stop_request() -> None:
    model = build_timeline(detail(STANDARD))
    [rec] = model.recorded
    assert (rec.start_s, rec.end_s, rec.segment, rec.file) == (15.006, 60, 1, "/spool/r.wav")


@pytest.mark.parametrize(
    ("changes", "end_s"),
    [
        ({"stop_requested_at": at(59.5), "stopped_at": at(59.9)}, 59.5),
        ({"stop_requested_at": None, "stopped_at": at(59.9)}, 59.9),
        ({"stop_requested_at": None, "stopped_at": None, "duration_ms": 10_000}, 25.006),
        ({"stop_requested_at": None, "stopped_at": None, "duration_ms": None}, 60),
    ],
)
def test_recorded_span_end_uses_the_best_evidence_there_is(changes: dict[str, object],
                                                           end_s: float) -> None:
    model = build_timeline(detail(STANDARD, recordings=(recording(**changes),)))
    assert model.recorded[0].end_s == end_s


def test_stereo_file_is_what_the_waveform_is_drawn_from() -> None:
    model = build_timeline(detail(STANDARD, recordings=(recording(file_stereo="/s.wav"),)))
    assert model.recorded[0].file == "/s.wav"


def test_blind_transfer_shows_unattended_transferred_and_a_marker() -> None:
    evs = events(("announcing", 0), ("identifying", 4), ("waiting", 9), ("connected", 15),
                 ("unattended", 40), ("transferred", 40.05), ("ended", 60))
    transfer = Transfer(uuid.uuid4(), CALL_ID, "blind", LEG_ID, "PJSIP/2400", at(40.03))
    model = build_timeline(detail(evs, transfers=(transfer,), legs=(leg(left_at=at(40)),)))
    assert [p.label for p in model.phases] == ["announcing", "identifying", "waiting",
                                               "connected", "unattended", "transferred"]
    assert model.phases[-1] == Span("transferred", 40.05, 60)
    assert model.transfers == (Marker("blind transfer to PJSIP/2400", 40.03),)
    assert model.agents == (Span("alice", 15, 40),)


def test_repeated_phase_extends_instead_of_duplicating() -> None:
    evs = events(("announcing", 0), ("waiting", 5), ("waiting", 8), ("connected", 15),
                 ("ended", 60))
    assert [(p.label, p.start_s, p.end_s) for p in build_timeline(detail(evs)).phases] == [
        ("announcing", 0, 5), ("waiting", 5, 15), ("connected", 15, 60)]


def test_holds_and_announcements_are_spans_an_open_hold_lasts_to_the_recording_end() -> None:
    rec = recording()
    holds = (Hold(uuid.uuid4(), CALL_ID, rec.id, at(20), at(25), 4994, 9994),
             Hold(uuid.uuid4(), CALL_ID, rec.id, at(50), None, 34_994, None))
    ann = Announcement(uuid.uuid4(), CALL_ID, "inbound_announcement", "sound:a", None, at(0.2),
                       at(3.9), "finished")
    model = build_timeline(detail(STANDARD, holds=holds, announcements=(ann,)))
    assert model.holds == (Span("hold", 20, 25), Span("hold", 50, 60))
    assert model.announcements == (Span("inbound_announcement", 0.2, 3.9),)


def test_a_call_still_running_ends_at_its_latest_evidence() -> None:
    evs = events(("announcing", 0), ("identifying", 4), ("waiting", 9))
    ringing = leg(answered_at=None, joined_at=None, left_at=None, left_reason=None, outcome=None)
    model = build_timeline(detail(evs, call=call(ended_at=None), legs=(ringing,),
                                  recordings=()))
    assert model.end_s == 11  # the agent being offered the call is the latest evidence
    assert model.phases[-1] == Span("waiting", 9, 11)
    assert model.agents == ()


def test_agent_offered_but_never_in_the_bridge_is_not_drawn_as_talking() -> None:
    model = build_timeline(detail(STANDARD, legs=(leg(), leg(id=uuid.uuid4(), agent_name="bob",
                                                           joined_at=None, left_at=None))))
    assert [a.label for a in model.agents] == ["alice"]


def test_model_json_is_plain_data() -> None:
    data = build_timeline(detail(STANDARD)).as_json()
    assert data["call_id"] == str(CALL_ID) and data["origin"] == "2025-03-03T09:00:00+00:00"
    assert data["phases"][0] == {"label": "announcing", "start_s": 0, "end_s": 4}
    assert data["recorded"][0]["recording_id"] == str(recording().id)
