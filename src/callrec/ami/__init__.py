"""Thin AMI gateway: every action bounded by a timeout; every failure an AmiError."""

from callrec.ami.errors import AmiError, AmiNotConnected, AmiOutcomeUnknown
from callrec.ami.gateway import AmiGateway, EventCallback, Predicate
from callrec.ami.message import AmiMessage

__all__ = ["AmiError", "AmiGateway", "AmiMessage", "AmiNotConnected", "AmiOutcomeUnknown",
           "EventCallback", "Predicate"]
