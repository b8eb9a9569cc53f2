"""Every write of the inbound app: storing what arrives, processing it, and staff review."""

from inbound.services.intake import Received, receive_message
from inbound.services.processing import process_message, process_waiting_messages
from inbound.services.review import accept_held_message, dismiss_messages, retry_messages

__all__ = [
    "Received",
    "accept_held_message",
    "dismiss_messages",
    "process_message",
    "process_waiting_messages",
    "receive_message",
    "retry_messages",
]
