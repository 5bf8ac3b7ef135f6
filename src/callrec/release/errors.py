"""The release package's domain errors: every failure of building a client copy is a ReleaseError."""

from __future__ import annotations


class ReleaseError(Exception):
    """A client copy could not (or must not) be produced: refused, bad input, I/O, ffmpeg, store."""


class ReleaseRefused(ReleaseError):
    """A rule said no (not reviewed, unknown recording, evidence hash mismatch...): the request
    was understood and must not be carried out. Other ReleaseErrors are failures of machinery."""


class PlanError(ReleaseRefused, ValueError):
    """The requested edits do not fit the recording (a span beyond its end, a malformed span...).

    Also a ``ValueError``: it is the caller's input that is wrong, not the machinery.
    """
