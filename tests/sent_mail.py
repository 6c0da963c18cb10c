"""Typed views of sent mail for tests.

django.core.mail.outbox is typed as a list of plain EmailMessages, but everything the app
sends is an AnymailMessage; anymail's test backend also records the ESP payload on it.
"""

from __future__ import annotations

import email.message
from typing import Any, Protocol, cast

from anymail.message import AnymailMessage
from django.core.mail import EmailMessage


class _RecordedByTestBackend(Protocol):
    anymail_test_params: dict[str, Any]


def anymail_message(message: EmailMessage) -> AnymailMessage:
    """An outbox item as the AnymailMessage the app built."""
    assert isinstance(message, AnymailMessage)
    return message


def first_alternative(message: EmailMessage) -> str:
    """The content of the message's first alternative part (the app attaches one: the HTML)."""
    content = anymail_message(message).alternatives[0][0]
    assert isinstance(content, str)
    return content


def html_alternative(message: EmailMessage) -> str:
    """The content of the message's text/html alternative part."""
    content = next(
        body for body, mimetype in anymail_message(message).alternatives if mimetype == "text/html"
    )
    assert isinstance(content, str)
    return content


def esp_params(message: EmailMessage) -> dict[str, Any]:
    """What anymail's test backend would have posted to the ESP for this message
    (it sets `anymail_test_params` on each message it sends; the stubs cannot know)."""
    return cast(_RecordedByTestBackend, message).anymail_test_params


def mime_body(message: email.message.EmailMessage, subtype: str) -> str:
    """The decoded text of a parsed message's text/<subtype> body part."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, subtype
    content = part.get_content()
    assert isinstance(content, str)
    return content
