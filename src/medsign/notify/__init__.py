"""Notification backends: the ports and one module per channel backend."""

from medsign.notify.ports import Channel, DeliveryError, Message, Sender
from medsign.notify.sms_http import HttpSmsSender
from medsign.notify.smtp import SmtpSender

__all__ = ["Channel", "DeliveryError", "HttpSmsSender", "Message", "Sender", "SmtpSender"]
