"""The anymail test backend as the ESP, minus its memory: messages are counted, not kept."""

from __future__ import annotations

import itertools
from typing import Any

from anymail.backends.test import EmailBackend as AnymailTestBackend
from django.core import mail

_ids = itertools.count(1)
SENT = {"messages": 0, "recipients": 0}


def reset() -> None:
    SENT.update(messages=0, recipients=0)


class CountingBackend(AnymailTestBackend):
    """Runs anymail's full payload building and status parsing, then forgets the message
    (anymail's test backend keeps every message in django.core.mail.outbox)."""

    def get_esp_message_id(self, message: Any) -> str:
        return f"bench-{next(_ids)}"

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        response = super().post_to_esp(payload, message)
        mail.outbox.clear()
        message.anymail_test_params = None
        SENT["messages"] += 1
        SENT["recipients"] += len(payload.recipient_emails)
        return response
