"""Thin AMI gateway: every action bounded by a timeout; every failure an AmiError."""

from callrec.ami.errors import AmiError, AmiNotConnected, AmiOutcomeUnknown
from callrec.ami.gateway import AmiGateway
from callrec.ami.message import AmiMessage
from callrec.ami.routing import EventCallback, Predicate

__all__ = ["AmiError", "AmiGateway", "AmiMessage", "AmiNotConnected", "AmiOutcomeUnknown",
           "EventCallback", "Predicate"]
