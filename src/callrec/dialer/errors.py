"""The dialer's one domain error (and the refinements callers may want to tell apart)."""

from __future__ import annotations


class DialerError(Exception):
    """Anything the outbound dialer refuses or fails to do: bad settings, an invalid number, a
    malformed import file, an attempt the schedule does not allow, a prompt that did not render."""


class DialerConfigError(DialerError):
    """The [dialer] settings are inconsistent or unreadable."""


class InvalidNumber(DialerError):
    """A phone number that is not dialable under the configured numbering rules."""


class SchedulingError(DialerError):
    """An attempt or state change the schedule does not allow (the guard behind every dial)."""


class PromptError(DialerError):
    """espeak-ng or sox could not render a voicemail prompt."""
