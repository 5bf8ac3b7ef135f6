"""Seeing a call: its timeline as data and as a picture, and the check of every recording against
its call's timeline (`callrec verify`)."""

from callrec.timeline.draw import draw_call
from callrec.timeline.errors import TimelineError
from callrec.timeline.model import Marker, RecordedSpan, Span, TimelineModel, build_timeline
from callrec.timeline.verify import FileObservation, Finding, check_recording
from callrec.timeline.verify_run import VerifyReport, verify_all

__all__ = [
    "FileObservation",
    "Finding",
    "Marker",
    "RecordedSpan",
    "Span",
    "TimelineError",
    "TimelineModel",
    "VerifyReport",
    "build_timeline",
    "check_recording",
    "draw_call",
    "verify_all",
]
