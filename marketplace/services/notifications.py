"""Telling shoppers: email through Django's mail (console backend in the demo) and SMS through
an adapter named in settings.SMS_SENDER (a console implementation in the demo)."""

from __future__ import annotations

import logging
from typing import Protocol

from django.conf import settings
from django.core.mail import send_mail
from django.utils import translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


class SmsSender(Protocol):
    def send(self, *, mobile: str, text: str) -> None: ...


class ConsoleSmsSender:
    """Prints the message with the number masked (the demo has no SMS gateway)."""

    sent: list[tuple[str, str]] = []  # kept for tests and the demo's eyes

    def send(self, *, mobile: str, text: str) -> None:
        ConsoleSmsSender.sent.append((mobile, text))
        logger.info("SMS to %s******%s: %s", mobile[:3], mobile[-2:], text)


def sms_sender() -> SmsSender:
    return import_string(settings.SMS_SENDER)()


def notify_released(order) -> None:
    """Released: the goods can be collected (or are on their way). Never raises."""
    with translation.override(order.language or settings.LANGUAGE_CODE):
        if order.delivery_mode == "pickup":
            text = _(
                "Bondport: order %(number)s is released by customs. Collect it at counter "
                "%(counter)s with your resident ID."
            ) % {"number": order.number, "counter": order.counter_code}
        else:
            text = _(
                "Bondport: order %(number)s is released by customs and leaves the bonded zone "
                "for delivery in 3 to 4 days."
            ) % {"number": order.number}
        subject = _("Order %(number)s released") % {"number": order.number}
    user = order.shopper.user
    try:
        if user.email:
            send_mail(subject, text, None, [user.email])
        sms_sender().send(mobile=order.shopper.mobile, text=text)
    except Exception:  # telling the shopper must never undo the release
        logger.exception("could not notify the shopper of %s", order.number)
