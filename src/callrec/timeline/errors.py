"""The timeline package's domain error (drawing a call, verifying recordings)."""

from __future__ import annotations


class TimelineError(Exception):
    """A call's picture could not be drawn, or recordings could not be verified."""
