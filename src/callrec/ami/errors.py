"""The one domain error of the AMI gateway."""

from __future__ import annotations


class AmiError(Exception):
    """A failed AMI action: Asterisk answered ``Response: Error``, the action timed out, or the
    gateway is not connected. ``message`` is Asterisk's own ``Message:`` when there is one."""

    def __init__(self, message: str, action: str = "") -> None:
        self.message = message
        self.action = action
        super().__init__(f"AMI {action}: {message}" if action else f"AMI: {message}")


class AmiNotConnected(AmiError):
    """Refused before anything was sent: the gateway knows it is not logged in. Asterisk did nothing."""


class AmiOutcomeUnknown(AmiError):
    """The action was sent but no answer came (timed out, or the connection dropped while waiting):
    Asterisk may or may not have carried it out. Check before assuming either."""
