"""The outbound dialer: call tasks, their pure schedule (at most three attempts, inside calling
hours, paced), the voicemail scripts, number validation, CSV import, and its tables.

The telephony half (dialling, AMD, disclosure, voicemail drop on Asterisk) lives in the
controller; everything here runs without Asterisk.
"""

from callrec.dialer.errors import (
    DialerConfigError,
    DialerError,
    InvalidNumber,
    PromptError,
    SchedulingError,
)
from callrec.dialer.schedule import (
    MAX_ATTEMPTS,
    Attempt,
    Outcome,
    Status,
    Task,
    VoicemailMode,
    after_attempt,
    begin_attempt,
    cancel,
    due,
)
from callrec.dialer.settings import BusinessUnit, DialerConfig, Window, dialer_config

__all__ = [
    "MAX_ATTEMPTS", "Attempt", "BusinessUnit", "DialerConfig", "DialerConfigError",
    "DialerError", "InvalidNumber", "Outcome", "PromptError", "SchedulingError", "Status", "Task",
    "VoicemailMode", "Window", "after_attempt", "begin_attempt", "cancel", "dialer_config", "due",
]
